//! Which app speaks to the server (C23, S19): every request of the field app names its
//! version and the protocol it speaks, so a server can answer a device too old for it
//! with `update_required` instead of a confusing failure.

/// The sync protocol this build speaks (`docs/PROTOCOL.md`). Bumped when an older device
/// and a newer server (or the reverse) would misunderstand each other.
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest protocol this build's server still speaks.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// Request header: the field app's version (`0.1.0`).
pub const APP_VERSION_HEADER: &str = "outpost-app-version";

/// Request header: the protocol version the field app speaks (`1`).
pub const PROTOCOL_HEADER: &str = "outpost-protocol";

/// A version as `major.minor.patch`; a pre-release or build suffix (`-beta.1`, `+abc`) is
/// not compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AppVersion(pub u64, pub u64, pub u64);

impl AppVersion {
    /// Reads `major.minor.patch`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.trim().split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u64>().ok())
                .flatten()
        });
        let version = Self(parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for AppVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::AppVersion;

    #[test]
    fn versions_read_as_three_numbers_and_compare_by_them() {
        assert_eq!(AppVersion::parse("0.1.0"), Some(AppVersion(0, 1, 0)));
        assert_eq!(
            AppVersion::parse(" 1.10.2-beta.1+x "),
            Some(AppVersion(1, 10, 2))
        );
        assert!(AppVersion::parse("1.10.0") > AppVersion::parse("1.9.9"));
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "1.x.3",
            "-1.2.3",
            "1..3",
            "01.2.99999999999999999999",
        ] {
            assert_eq!(AppVersion::parse(bad), None, "{bad:?}");
        }
    }
}
