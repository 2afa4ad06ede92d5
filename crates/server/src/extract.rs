//! Extractors whose rejections are [`ApiError`]s, so a malformed request gets the same
//! `{code, message}` body as every other error; and the client's address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts};
use axum::http::request::Parts;

use crate::ApiError;

/// `Json<T>` that rejects with [`ApiError`] (`malformed`, or `too_large` → 413).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The client's address as sign-in limits count it ([`crate::auth::address_key`]): the
/// socket peer the server was told of (`ConnectInfo`), or `unknown` when it was not (a
/// router driven in-process). Behind a reverse proxy it is the proxy's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || "unknown".to_owned(),
                    |c| crate::auth::address_key(c.0.ip()),
                ),
        ))
    }
}
