//! Extractors whose rejections are [`ApiError`]s, so a malformed request gets the same
//! `{code, message}` body as every other error.

use axum::extract::FromRequest;

use crate::ApiError;

/// `Json<T>` that rejects with [`ApiError`] (`malformed`, or `too_large` → 413).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);
