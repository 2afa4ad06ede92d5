use super::demo_password;

#[test]
fn a_demo_password_carries_at_least_128_random_bits_in_one_word() {
    outpost_testkit::assert_strong_password(demo_password);
}
