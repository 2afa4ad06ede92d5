//! One Tauri command per core function, named as in `outpost_core::bridge::dispatch`.
//! Each only takes its arguments, calls the core and maps the error to `{code, message}`.

use std::sync::Arc;

use outpost_core::api::{
    RecordListArgs, RecordRow, RecordUpdateArgs, SessionStatus, SignInArgs, SyncReport,
};
use outpost_core::{ApiError, Client};
use tauri::State;

type Core<'a> = State<'a, Arc<Client>>;

#[tauri::command]
pub async fn session_status(core: Core<'_>) -> Result<SessionStatus, ApiError> {
    Ok(core.session_status().await?)
}

#[tauri::command]
pub async fn session_sign_in(core: Core<'_>, args: SignInArgs) -> Result<SessionStatus, ApiError> {
    Ok(core.session_sign_in(args).await?)
}

#[tauri::command]
pub async fn record_list(core: Core<'_>, args: RecordListArgs) -> Result<Vec<RecordRow>, ApiError> {
    Ok(core.record_list(args).await?)
}

#[tauri::command]
pub async fn record_update(core: Core<'_>, args: RecordUpdateArgs) -> Result<RecordRow, ApiError> {
    Ok(core.record_update(args).await?)
}

#[tauri::command]
pub async fn sync_now(core: Core<'_>) -> Result<SyncReport, ApiError> {
    Ok(core.sync_now().await?)
}
