use super::connection_cap;

#[test]
fn the_connection_cap_fits_under_the_open_file_limit() {
    assert_eq!(
        connection_cap(4096, Some(1024)),
        1024 - 128,
        "a usual soft limit"
    );
    assert_eq!(
        connection_cap(4096, Some(1_048_576)),
        4096,
        "a raised limit"
    );
    assert_eq!(connection_cap(10, Some(64)), 1, "never below one");
    assert_eq!(connection_cap(0, None), 1, "at least one");
    assert_eq!(connection_cap(4096, None), 4096, "no limit known");
}
