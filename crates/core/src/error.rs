//! The core's error type and its mapping to the UI's `{code, message}`.

use outpost_protocol::WireCode;
use outpost_store::StoreError;

use crate::api::{ApiError, ErrorCode};

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Nobody is signed in on this device.
    #[error("sign in first")]
    NotSignedIn,
    /// The server refused the credentials or the token.
    #[error("wrong user name or password, or the session has ended")]
    Unauthorized,
    /// The access token expired; a refresh buys a new one. Never reaches the UI: the
    /// client refreshes and retries, or ends the session ([`CoreError::Unauthorized`]).
    #[error("the access token expired")]
    TokenExpired,
    /// The server asked this device to delete its offline data; it was deleted and the
    /// session ended.
    #[error("the server asked this device to delete its offline data; sign in again")]
    Wiped,
    /// An administrator reported this device lost: the server wants this user's offline
    /// data deleted. Never reaches the UI: the client deletes it and answers `Wiped`.
    #[error("this device was reported lost; its offline data must be deleted")]
    DeviceWipe,
    /// Deleting the offline data would lose work that has not reached the server; the
    /// caller must name it to confirm.
    #[error("{} not reached the server; deleting the offline data would lose {}. Confirm by naming them (discard)", .0.describe_have(), .0.it_or_them())]
    UnsentWork(crate::api::Unsent),
    /// A newer org metadata (this version) waits for the user's yes; sync waits (C16).
    #[error("an update of the app's configuration (version {0}) waits for your yes")]
    MetadataPending(u64),
    /// The user's privileges do not allow the action.
    #[error("{0}")]
    Forbidden(String),
    /// The server or the org needs a newer app (`update_required`): nothing was done and
    /// nothing is dropped; the message says which version.
    #[error("{0}")]
    UpdateRequired(String),
    /// The server could not be reached.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with an error; its message is what a person reads.
    #[error("{message}")]
    Server {
        /// The server's code: a [`WireCode`], or a newer server's code this build does
        /// not know (or an HTTP status when the answer had no error body).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The caller's input is invalid.
    #[error("{0}")]
    Invalid(String),
    /// The local database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else (a bug).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CoreError {
    /// The server's code, when the server refused with one this build knows.
    pub fn server_code(&self) -> Option<WireCode> {
        match self {
            Self::Server { code, .. } => WireCode::parse(code),
            _ => None,
        }
    }
}

/// What a refusal of the server means to the UI. Only refusals of an online call arrive
/// here: a sync's refusals become sync errors, and sessions' codes are sorted out when
/// the answer arrives (`remote::decode`).
fn server_error_code(code: Option<WireCode>) -> ErrorCode {
    match code {
        Some(WireCode::Forbidden) => ErrorCode::Forbidden,
        Some(WireCode::NotFound) => ErrorCode::NotFound,
        Some(WireCode::UpdateRequired) => ErrorCode::UpdateRequired,
        Some(WireCode::Invalid | WireCode::Malformed | WireCode::BadQuery) => {
            ErrorCode::InvalidInput
        }
        Some(
            WireCode::AlreadyExists
            | WireCode::InvalidState
            | WireCode::UnknownFlow
            | WireCode::Stale
            | WireCode::AlreadyResolved,
        ) => ErrorCode::Refused,
        Some(
            WireCode::Unauthorized
            | WireCode::TokenExpired
            | WireCode::DeviceWipe
            | WireCode::BadCredentials,
        ) => ErrorCode::Unauthorized,
        // Busy, rate limits, the server's own failures, admin-only codes and codes of a
        // newer server: the server's message says what happened.
        Some(
            WireCode::RateLimited
            | WireCode::Busy
            | WireCode::BadFilter
            | WireCode::BadMetadata
            | WireCode::NameTaken
            | WireCode::InvalidProfile
            | WireCode::OverBudget
            | WireCode::TooLarge
            | WireCode::Internal,
        )
        | None => ErrorCode::Server,
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        if matches!(&e, CoreError::Store(store) if store.is_disk_full()) {
            return Self {
                code: ErrorCode::DiskFull,
                message: "this device's disk is full: the step did not happen and nothing \
                          before it was lost; free some space and try again"
                    .to_owned(),
            };
        }
        let code = match &e {
            CoreError::NotSignedIn => ErrorCode::NotSignedIn,
            CoreError::Unauthorized | CoreError::TokenExpired => ErrorCode::Unauthorized,
            CoreError::Wiped | CoreError::DeviceWipe => ErrorCode::Wiped,
            CoreError::UnsentWork(_) => ErrorCode::UnsentWork,
            CoreError::Unreachable(_) => ErrorCode::ServerUnreachable,
            CoreError::UpdateRequired(_) => ErrorCode::UpdateRequired,
            CoreError::Server { .. } => server_error_code(e.server_code()),
            CoreError::Invalid(_) | CoreError::Store(StoreError::Invalid(_)) => {
                ErrorCode::InvalidInput
            }
            CoreError::MetadataPending(_) => ErrorCode::MetadataPending,
            CoreError::Forbidden(_) | CoreError::Store(StoreError::Forbidden(_)) => {
                ErrorCode::Forbidden
            }
            CoreError::Store(StoreError::Refused(outpost_domain::OpError::NotFound { .. })) => {
                ErrorCode::NotFound
            }
            CoreError::Store(StoreError::Refused(outpost_domain::OpError::Invalid(_))) => {
                ErrorCode::InvalidInput
            }
            CoreError::Store(StoreError::Refused(_)) => ErrorCode::Refused,
            CoreError::Store(StoreError::NotFound { .. }) => ErrorCode::NotFound,
            CoreError::Store(StoreError::WrongKey) => ErrorCode::WrongKey,
            CoreError::Store(StoreError::TooNew { .. }) => ErrorCode::UpdateRequired,
            CoreError::Store(StoreError::MissingKey | StoreError::Keychain(_)) => {
                ErrorCode::Keychain
            }
            CoreError::Store(
                StoreError::Sqlite(_)
                | StoreError::Migration { .. }
                | StoreError::Corrupt(_)
                | StoreError::Wipe(_)
                | StoreError::Private(_)
                | StoreError::WipeRequested,
            )
            | CoreError::Other(_) => {
                tracing::error!(error = %e, "internal error");
                ErrorCode::Internal
            }
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use outpost_store::StoreError;
    use rusqlite::ffi;

    use super::CoreError;
    use crate::api::{ApiError, ErrorCode};

    fn sqlite(code: std::os::raw::c_int) -> CoreError {
        CoreError::Store(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
            ffi::Error::new(code),
            None,
        )))
    }

    #[test]
    fn a_full_disk_reaches_the_ui_as_its_own_kind_and_says_nothing_was_lost() {
        let full = ApiError::from(sqlite(ffi::SQLITE_FULL));
        assert_eq!(full.code, ErrorCode::DiskFull);
        assert!(
            full.message.contains("nothing before it was lost"),
            "{full:?}"
        );
        assert_eq!(
            ApiError::from(sqlite(ffi::SQLITE_IOERR)).code,
            ErrorCode::Internal,
            "another failure of the database stays a bug to look into"
        );
    }
}
