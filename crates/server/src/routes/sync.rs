//! Pull and push: the sync protocol of DESIGN §4 and `docs/PROTOCOL.md`.

use axum::Json;
use axum::extract::{Query, State};
use outpost_protocol::{
    OpOutcome, PullRequest, PullResponse, PushRequest, PushResponse, RecordRef,
};

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::{ApiError, AppState};

/// Most records a page may carry.
pub const MAX_PAGE: u32 = 5_000;

/// Most operations one push may carry.
pub const MAX_PUSH_OPS: usize = 1_000;

/// `GET /api/v1/sync/pull`: the next page of changes after the device's checkpoint.
pub async fn pull(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<PullRequest>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PullResponse>, ApiError> {
    let Query(req) = query?;
    if req.limit == 0 || req.limit > MAX_PAGE {
        return Err(ApiError::BadRequest {
            code: "invalid",
            message: format!("limit must be 1 to {MAX_PAGE}"),
        });
    }
    let (records, removed, checkpoint, has_more) = state
        .db
        .call(move |db| db.changes_since(req.checkpoint, req.limit))
        .await?;
    Ok(Json(PullResponse {
        records,
        removed: removed
            .into_iter()
            .map(|id| RecordRef {
                entity: "account".to_owned(),
                id,
            })
            .collect(),
        checkpoint,
        has_more,
        metadata_version: state.metadata.version,
        ..PullResponse::default()
    }))
}

/// `POST /api/v1/sync/push`: applies the device's operations in order, each once.
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PushRequest>,
) -> Result<Json<PushResponse>, ApiError> {
    if req.ops.len() > MAX_PUSH_OPS {
        return Err(ApiError::BadRequest {
            code: "invalid",
            message: format!("at most {MAX_PUSH_OPS} operations per push"),
        });
    }
    if let Some(bad) = req
        .ops
        .iter()
        .find(|op| op.op_id.is_empty() || op.op_id.len() > 64)
    {
        return Err(ApiError::BadRequest {
            code: "invalid",
            message: format!("op_id `{}` must be 1 to 64 characters", bad.op_id),
        });
    }
    let metadata = state.metadata.clone();
    let outcomes = state
        .db
        .call(move |db| {
            req.ops
                .iter()
                .map(|op| {
                    Ok(OpOutcome {
                        op_id: op.op_id.clone(),
                        result: db.push_apply(&metadata, &caller, op)?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await?;
    Ok(Json(PushResponse { outcomes }))
}
