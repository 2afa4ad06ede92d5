//! The records API (S5): list with the query language, read, create, update, delete —
//! with privileges and field security enforced, validation errors per field, `ETag` row
//! versions and `If-Match` (412 `stale` on a stale write). Online changes go through the
//! same [`crate::ops::apply`] as pushed offline work; they never conflict field by field
//! (the caller sees the current record), they use `If-Match` instead.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outpost_domain::query::QueryText;
use outpost_domain::security::{Principal, Privilege, RecordFacts};
use outpost_domain::{Fields, Operation};
use outpost_protocol::{CreateBody, RecordBody, WireCode};
use serde::Deserialize;

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::ops::{Actor, Refusal, apply_unchecked};
use crate::records;
use crate::{ApiError, AppState, new_id};

/// Query options of a list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(rename = "$select")]
    select: Option<String>,
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$orderby")]
    order_by: Option<String>,
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$skip")]
    skip: Option<u32>,
}

/// `PATCH` body of an update.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// The fields to change.
    changes: Fields,
}

fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_owned()
        })
        .unwrap_or_default();
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::BadRequest {
            code: WireCode::Malformed,
            message: "If-Match must be a row version in quotes, as the ETag gave it".to_owned(),
        })
}

fn refused(r: Refusal) -> ApiError {
    match r.code {
        WireCode::NotFound => ApiError::NotFound(r.message),
        WireCode::Stale => ApiError::Stale(r.message),
        WireCode::AlreadyExists | WireCode::InvalidState | WireCode::UnknownFlow => {
            ApiError::Conflict {
                code: r.code,
                message: r.message,
            }
        }
        code => ApiError::Invalid {
            code,
            message: r.message,
            fields: r.fields,
        },
    }
}

/// Reads one record as the caller may see it.
fn read_visible(
    conn: &mut dyn crate::db::Conn,
    principal: &Principal,
    org: &crate::org::Org,
    entity: &str,
    id: &str,
) -> Result<RecordBody, ApiError> {
    let def = org
        .metadata
        .entity(entity)
        .map_err(|_| ApiError::NotFound(format!("no entity {entity}")))?;
    let missing = || ApiError::NotFound(format!("record not found: {entity} {id}"));
    let (mut fields, version) = records::get(conn, def, id)?.ok_or_else(missing)?;
    if !principal.can(def, Privilege::Read, &RecordFacts::from_fields(&fields)) {
        return Err(missing());
    }
    principal.redact(def, &mut fields);
    Ok(RecordBody {
        id: id.to_owned(),
        row_version: version,
        fields,
    })
}

fn with_etag(status: StatusCode, body: RecordBody) -> Response {
    let tag = etag(body.row_version);
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// `GET /api/v1/records/{entity}?$filter&$select&$orderby&$top&$skip`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(entity): Path<String>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RecordBody>>, ApiError> {
    let Query(q) = query?;
    let org = state.org().await?;
    let now = state.now();
    let def = org
        .metadata
        .entity(&entity)
        .map_err(|_| ApiError::NotFound(format!("no entity {entity}")))?
        .clone();
    let principal = org.principal(&caller.user_id)?;
    let text = QueryText {
        select: q.select.as_deref(),
        filter: q.filter.as_deref(),
        order_by: q.order_by.as_deref(),
        top: q.top.as_deref(),
    };
    let (parsed, top) = records::list_query(&principal, &def, text)?;
    let skip = q.skip.unwrap_or(0);
    let rows = state
        .db
        .tx(move |conn| {
            let page = (top, skip);
            records::list(conn, &org, &principal, &def, &parsed, page, now)
        })
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, fields, row_version)| RecordBody {
                id,
                row_version,
                fields,
            })
            .collect(),
    ))
}

/// `GET /api/v1/records/{entity}/{id}` with an `ETag`.
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((entity, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let org = state.org().await?;
    let body = state
        .db
        .tx(move |conn| {
            let principal = org.principal(&caller.user_id)?;
            Ok(read_visible(conn, &principal, &org, &entity, &id))
        })
        .await??;
    Ok(with_etag(StatusCode::OK, body))
}

/// Applies an online operation and answers the target record as it is now.
async fn online(
    state: AppState,
    caller: Caller,
    op: Operation,
    expected: Option<i64>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let org = state.org().await?;
    let now = state.now();
    let deleted = matches!(op, Operation::Delete { .. });
    let outcome = state
        .db
        .write(move |conn| {
            let principal = org.principal(&caller.user_id)?;
            let actor = Actor {
                org: &org,
                principal: &principal,
            };
            let outcome = apply_unchecked(conn, &actor, &op, expected, now)?;
            let (entity, id) = op.target();
            Ok(match outcome {
                Ok(()) if deleted => Ok(None),
                // Assigned away: applied, and no longer the caller's to see (204).
                Ok(()) => match read_visible(conn, &principal, &org, entity, id) {
                    Err(ApiError::NotFound(_)) => Ok(None),
                    other => other.map(Some),
                },
                Err(r) => Err(refused(r)),
            })
        })
        .await??;
    Ok(match outcome {
        Some(body) => with_etag(status, body),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /api/v1/records/{entity}`: creates a record (201 with its `ETag`).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(entity): Path<String>,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<Response, ApiError> {
    // The id is checked with every other id an operation carries (`Operation::ids_check`).
    let id = body.id.unwrap_or_else(new_id);
    let op = Operation::Create {
        entity,
        id,
        fields: body.fields,
    };
    online(state, caller, op, None, StatusCode::CREATED).await
}

/// `PATCH /api/v1/records/{entity}/{id}`: changes fields; `If-Match` makes it conditional.
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((entity, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let op = Operation::Update {
        entity,
        id,
        changes: body.changes,
        before: Fields::new(),
    };
    online(state, caller, op, expected, StatusCode::OK).await
}

/// `DELETE /api/v1/records/{entity}/{id}`; `If-Match` makes it conditional.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((entity, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let op = Operation::Delete {
        entity,
        id,
        before: Fields::new(),
    };
    online(state, caller, op, expected, StatusCode::NO_CONTENT).await
}

/// `POST /api/v1/operations`: any operation online (commands, flow moves, follows).
pub async fn operation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(op): ApiJson<Operation>,
) -> Result<Response, ApiError> {
    online(state, caller, op, None, StatusCode::OK).await
}
