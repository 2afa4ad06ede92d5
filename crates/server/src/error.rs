//! One error type for every handler, mapped to a status and a machine-readable code.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outpost_protocol::{ErrorBody, FieldError, WireCode};

/// What a request can fail with. The code in the body is what clients branch on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No token, an unknown token, or a revoked one.
    #[error("sign in first")]
    Unauthorized,
    /// The access token is past its lifetime: refresh it.
    #[error("the access token expired; refresh it")]
    TokenExpired,
    /// An administrator revoked this user's session on this device as lost: the device
    /// deletes the user's offline data.
    #[error("this device was reported lost: its offline data for this user must be deleted")]
    DeviceWipe,
    /// Wrong user name or password.
    #[error("wrong user name or password")]
    BadCredentials,
    /// Too many wrong passwords for this user name.
    #[error("too many failed sign-ins; try again in {retry_after} s")]
    RateLimited {
        /// Seconds to wait.
        retry_after: i64,
    },
    /// Too many sign-ins are waiting for a password check: try again shortly.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
    /// The app is too old for this server or org: update it.
    #[error("{0}")]
    UpdateRequired(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing (or one the caller may not see).
    #[error("{0}")]
    NotFound(String),
    /// `If-Match` named a row version the record is no longer at.
    #[error("{0}")]
    Stale(String),
    /// The request conflicts with the current state (e.g. a name in use).
    #[error("{message}")]
    Conflict {
        /// Machine-readable reason.
        code: WireCode,
        /// What a person reads.
        message: String,
    },
    /// The request is malformed or invalid.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable reason.
        code: WireCode,
        /// What a person reads.
        message: String,
    },
    /// A create or update that does not fit the metadata or field security.
    #[error("{message}")]
    Invalid {
        /// Machine-readable reason (`invalid`, `forbidden`, …).
        code: WireCode,
        /// What a person reads.
        message: String,
        /// Each refused field with its code.
        fields: Vec<FieldError>,
    },
    /// The body is larger than the server reads.
    #[error("request body too large")]
    TooLarge,
    /// Something on the server failed; details are logged, not sent.
    #[error("internal error")]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    /// A failure; but a statement the database refused as too large (a query within the
    /// query language's bounds that still asks for too much), or a text it cannot hold,
    /// is the request's fault.
    fn from(e: anyhow::Error) -> Self {
        if let Some(too_complex) = e
            .chain()
            .find_map(|c| c.downcast_ref::<crate::db::TooComplex>())
        {
            return Self::BadRequest {
                code: WireCode::BadQuery,
                message: too_complex.to_string(),
            };
        }
        if e.chain().any(|c| c.is::<crate::db::NulText>()) {
            return Self::invalid(crate::db::NulText.to_string());
        }
        Self::Internal(e)
    }
}

impl ApiError {
    /// A 400 with the code `invalid`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::BadRequest {
            code: WireCode::Invalid,
            message: message.into(),
        }
    }

    /// The code this error travels with.
    pub fn code(&self) -> WireCode {
        match self {
            Self::Unauthorized => WireCode::Unauthorized,
            Self::TokenExpired => WireCode::TokenExpired,
            Self::DeviceWipe => WireCode::DeviceWipe,
            Self::BadCredentials => WireCode::BadCredentials,
            Self::RateLimited { .. } => WireCode::RateLimited,
            Self::Busy => WireCode::Busy,
            Self::UpdateRequired(_) => WireCode::UpdateRequired,
            Self::Forbidden(_) => WireCode::Forbidden,
            Self::NotFound(_) => WireCode::NotFound,
            Self::Stale(_) => WireCode::Stale,
            Self::Conflict { code, .. }
            | Self::BadRequest { code, .. }
            | Self::Invalid { code, .. } => *code,
            Self::TooLarge => WireCode::TooLarge,
            Self::Internal(_) => WireCode::Internal,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unauthorized | Self::TokenExpired | Self::DeviceWipe | Self::BadCredentials => {
                StatusCode::UNAUTHORIZED
            }
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::UpdateRequired(_) => StatusCode::UPGRADE_REQUIRED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Stale(_) => StatusCode::PRECONDITION_FAILED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Invalid { code, .. } if *code == WireCode::Forbidden => StatusCode::FORBIDDEN,
            Self::Invalid { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let (status, code) = (self.status(), self.code());
        let retry_after = match &self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Busy => Some(1),
            _ => None,
        };
        let fields = match &self {
            Self::Invalid { fields, .. } => fields.clone(),
            _ => Vec::new(),
        };
        let body = ErrorBody::new(code, self.to_string(), fields);
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::TooLarge;
        }
        Self::BadRequest {
            code: WireCode::Malformed,
            message: rejection.body_text(),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest {
            code: WireCode::Malformed,
            message: rejection.body_text(),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest {
            code: WireCode::Malformed,
            message: rejection.body_text(),
        }
    }
}
