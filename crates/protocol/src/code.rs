//! The error codes of the wire: every `code` the server puts in an [`ErrorBody`] or in a
//! pushed operation's error outcome ([`OpResult::Error`]), declared once here. The server
//! builds its errors from these and the device branches on them; `docs/PROTOCOL.md`'s error
//! table lists exactly these (a test reads it).
//!
//! On the wire a code stays plain text (`ErrorBody::code` is a `String`): a device must
//! still decode an error from a newer server whose code this build has never heard of, and
//! treats it as a refusal it shows without acting on it. [`WireCode::parse`] says whether a
//! code is one this build knows.
//!
//! [`ErrorBody`]: crate::ErrorBody
//! [`OpResult::Error`]: crate::OpResult::Error

use outpost_domain::OpError;
use serde::{Deserialize, Serialize};

/// Declares [`WireCode`] with each code's text once: the variant's serde name, its
/// [`WireCode::as_str`] and its place in [`WireCode::ALL`] all come from the same line.
macro_rules! wire_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// A machine-readable error code the server sends; clients branch on it, never on
        /// the message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum WireCode {
            $($(#[doc = $doc])* #[serde(rename = $text)] $variant,)*
        }

        impl WireCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The code as it travels.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }
    };
}

wire_codes! {
    /// 401: no, unknown or revoked token — sign out, keep offline work.
    Unauthorized = "unauthorized",
    /// 401: the access token is past its lifetime — refresh once and retry.
    TokenExpired = "token_expired",
    /// 401: an administrator revoked this user's session on this device as lost — delete
    /// this user's offline data on the device (store and key), then sign out.
    DeviceWipe = "device_wipe",
    /// 401: wrong user name or password at sign-in.
    BadCredentials = "bad_credentials",
    /// 429: too many failed sign-ins (`Retry-After`).
    RateLimited = "rate_limited",
    /// 503: too many sign-ins are waiting for a password check (`Retry-After`).
    Busy = "busy",
    /// 403: privilege or field security; the admin API for non-administrators.
    Forbidden = "forbidden",
    /// 404: no such record, or one the user may not read (never `forbidden`).
    NotFound = "not_found",
    /// 409: a create whose id any record already has.
    AlreadyExists = "already_exists",
    /// 409: the record's state refuses the operation (a closed record, a flow step to
    /// fill first).
    InvalidState = "invalid_state",
    /// 409: no such process flow (or stage) on that entity.
    UnknownFlow = "unknown_flow",
    /// 412: `If-Match` names a row version the record is no longer at.
    Stale = "stale",
    /// 409: the sync error was resolved already (elsewhere).
    AlreadyResolved = "already_resolved",
    /// 400: a body or query that does not parse, or has an unknown field.
    Malformed = "malformed",
    /// 400: out of bounds, or a change that does not fit the metadata (with `fields`).
    Invalid = "invalid",
    /// 400: the query language refused a query (`$filter`, `$orderby`, …).
    BadQuery = "bad_query",
    /// 400: an entity filter of the offline administration that does not check.
    BadFilter = "bad_filter",
    /// 400: a metadata change that is not presentation only.
    BadMetadata = "bad_metadata",
    /// 409: another profile already has that name.
    NameTaken = "name_taken",
    /// 400: publishing a profile that does not validate (`fields`: its problems).
    InvalidProfile = "invalid_profile",
    /// 409: publishing a profile that gives some user more than the budget, unforced.
    OverBudget = "over_budget",
    /// 413: the body is larger than the server reads.
    TooLarge = "too_large",
    /// 426: the app is older than the org allows (its minimum app version) or speaks a
    /// protocol the server no longer does: update it; offline work is kept.
    UpdateRequired = "update_required",
    /// 500: the server failed (logged there).
    Internal = "internal",
}

impl WireCode {
    /// The code `text` names, or `None` for one this build does not know (a newer
    /// server's).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|code| code.as_str() == text)
    }
}

impl std::fmt::Display for WireCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<WireCode> for String {
    fn from(code: WireCode) -> Self {
        code.as_str().to_owned()
    }
}

impl From<&OpError> for WireCode {
    /// How the domain's refusal of an operation travels. A storage failure is the
    /// server's own (`internal`), never the operation's fault.
    fn from(e: &OpError) -> Self {
        match e {
            OpError::NotFound { .. } => Self::NotFound,
            OpError::AlreadyExists { .. } => Self::AlreadyExists,
            OpError::Invalid(_) => Self::Invalid,
            OpError::InvalidState { .. } => Self::InvalidState,
            OpError::UnknownFlow { .. } => Self::UnknownFlow,
            OpError::Storage(_) => Self::Internal,
        }
    }
}
