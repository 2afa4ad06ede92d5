use std::path::Path;

use super::{demo_password, demo_password_kept, server_command};

#[test]
fn a_demo_password_carries_at_least_128_random_bits_in_one_word() {
    outpost_testkit::assert_strong_password(demo_password);
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .expect("it exists")
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn the_demo_password_is_kept_where_only_its_owner_may_read_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().expect("a temp folder");
    let home = tmp.path().join("outpost-dev");
    let password = demo_password_kept(&home).expect("a password is made");
    let file = home.join("demo-password");
    assert_eq!(
        (mode(&home), mode(&file)),
        (0o700, 0o600),
        "the folder is the owner's alone, and the file only they read"
    );
    // An older run left both open to everyone.
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).expect("opened");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("opened");
    assert_eq!(
        demo_password_kept(&home).expect("the password is read"),
        password,
        "the same password is kept across runs"
    );
    assert_eq!(
        (mode(&home), mode(&file)),
        (0o700, 0o600),
        "a folder and file left open are made private again"
    );
}

#[test]
fn the_server_is_given_the_demo_password_in_its_environment_not_its_command_line() {
    let password = "0123456789abcdef0123456789abcdef";
    let server = server_command(
        Path::new("target/debug"),
        Path::new("data"),
        "127.0.0.1:0",
        password,
    );
    let args: Vec<String> = server
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    assert!(
        args.iter().all(|a| !a.contains(password)),
        "the password is not on the command line, which every user sees in ps: {args:?}"
    );
    assert!(
        server
            .get_envs()
            .any(|(name, value)| name == "OUTPOST_DEMO_PASSWORD"
                && value.is_some_and(|v| v == password)),
        "the server reads it from OUTPOST_DEMO_PASSWORD"
    );
}
