//! Pull, push and sync errors: the sync protocol of DESIGN §4 and `docs/PROTOCOL.md`.

use axum::Json;
use axum::extract::{Path, Query, State};
use outpost_domain::value::MAX_ID_LEN;
use outpost_protocol::{
    FieldError, PullRequest, PullResponse, PushRequest, PushResponse, ResolutionAction,
    ResolveRequest, SyncErrorInfo,
};

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::{ApiError, AppState};

/// Most records a page may carry.
pub const MAX_PAGE: u32 = 5_000;

/// Longest `resend` list a pull may carry (entity names not in the user's profile are
/// passed over: the device may know metadata older than the server's).
pub const MAX_RESEND: usize = 4_096;

/// Most operations one push may carry.
pub const MAX_PUSH_OPS: usize = 1_000;

/// `GET /api/v1/sync/pull`: the next page for the caller's device.
pub async fn pull(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PullRequest>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PullResponse>, ApiError> {
    let Query(mut req) = query?;
    if req.limit == 0 || req.limit > MAX_PAGE {
        return Err(ApiError::invalid(format!("limit must be 1 to {MAX_PAGE}")));
    }
    if i64::try_from(req.checkpoint).is_err() {
        return Err(ApiError::invalid(format!(
            "checkpoint must be at most {}: this server never issued {}",
            i64::MAX,
            req.checkpoint
        )));
    }
    if req.resend.len() > MAX_RESEND {
        return Err(ApiError::invalid(format!(
            "resend must be at most {MAX_RESEND} characters of entity names"
        )));
    }
    // The server's own cap wins; the device sees `has_more` and asks again. A page holds
    // at least one line, or a device asking for none would be told "more" for ever.
    req.limit = req.limit.min(state.pull_page()).max(1);
    let org = state.org().await?;
    let now = state.now();
    let page = state
        .db
        .tx(move |conn| crate::pull::pull(conn, &org, &caller, req, now))
        .await?;
    Ok(Json(page))
}

/// `POST /api/v1/sync/push`: applies the device's operations in order, each once, in one
/// transaction with a savepoint per operation.
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if req.ops.len() > MAX_PUSH_OPS {
        return Err(ApiError::invalid(format!(
            "at most {MAX_PUSH_OPS} operations per push"
        )));
    }
    // An op id keys the op's stored outcome, so a bad one refuses the whole push (and is
    // not echoed back: it may be anything up to the body limit).
    let bad_op_ids: Vec<FieldError> = req
        .ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let code = if op.op_id.is_empty() {
                "required"
            } else if op.op_id.chars().count() > MAX_ID_LEN {
                "too_long"
            } else if op.op_id.contains('\0') {
                "bad_format"
            } else {
                return None;
            };
            Some(FieldError {
                field: format!("ops[{i}].op_id"),
                code: code.to_owned(),
                message: format!("an op id is 1 to {MAX_ID_LEN} characters, without NUL"),
            })
        })
        .collect();
    if !bad_op_ids.is_empty() {
        return Err(ApiError::Invalid {
            code: outpost_protocol::WireCode::Invalid,
            message: format!("op ids are 1 to {MAX_ID_LEN} characters, without NUL"),
            fields: bad_op_ids,
        });
    }
    let org = state.org().await?;
    let now = state.now();
    let principal = org.principal(&caller.user_id)?;
    // One durable transaction for the batch, a savepoint per operation (ADR 0016): what
    // was answered is committed, each op exactly once per (user, op id).
    let (outcomes, failed) = state
        .db
        .write(move |conn| {
            Ok(crate::push::push_batch(
                conn, &org, &principal, &caller, req.ops, now,
            ))
        })
        .await?;
    match failed {
        // The ops before the failing one are committed and answered again from their
        // stored outcomes when the device sends the batch once more.
        Some(e) => Err(ApiError::from(e)),
        None => Ok(Json(PushResponse { outcomes })),
    }
}

/// Query of `GET /api/v1/sync/errors`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsQuery {
    /// Also resolved ones.
    #[serde(default)]
    pub all: bool,
}

/// `GET /api/v1/sync/errors`: the caller's sync errors.
pub async fn errors(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ErrorsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SyncErrorInfo>>, ApiError> {
    let Query(q) = query?;
    let list = state
        .db
        .tx(move |conn| crate::push::errors_list(conn, Some(&caller.user_id), q.all))
        .await?;
    Ok(Json(list))
}

/// `POST /api/v1/sync/errors/{id}/resolve`: apply the offline change or discard it (the
/// owner, or an administrator).
pub async fn resolve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<SyncErrorInfo>, ApiError> {
    let org = state.org().await?;
    let now = state.now();
    let apply = req.action == ResolutionAction::Apply;
    let outcome = state
        .db
        .write(move |conn| Ok(crate::push::resolve(conn, &org, &caller, &id, apply, now)))
        .await?;
    Ok(Json(outcome?))
}

/// `POST /api/v1/sync/ops/{op_id}/resolve`: the device resolves the sync error of one of
/// its own operations by the op id it made (the user resolved it in the app, C11).
pub async fn resolve_op(
    State(state): State<AppState>,
    caller: Caller,
    Path(op_id): Path<String>,
    ApiJson(req): ApiJson<ResolveRequest>,
) -> Result<Json<SyncErrorInfo>, ApiError> {
    let org = state.org().await?;
    let now = state.now();
    let apply = req.action == ResolutionAction::Apply;
    let outcome = state
        .db
        .write(move |conn| {
            let Some(id) = crate::push::error_of_op(conn, &caller, &op_id)? else {
                return Ok(Err(ApiError::NotFound(format!(
                    "this device has no sync error for operation {op_id}"
                ))));
            };
            Ok(crate::push::resolve(conn, &org, &caller, &id, apply, now))
        })
        .await?;
    Ok(Json(outcome?))
}
