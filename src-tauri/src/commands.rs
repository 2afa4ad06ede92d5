//! One Tauri command per core function, named as in [`outpost_core::bridge::COMMANDS`].
//! Each hands the `args` object the UI sent (`invoke(name, { args })`) to
//! [`bridge::dispatch`], which parses it, calls the core and maps the error to
//! `{code, message}`: the app, the browser bridge and the CLI run the same code.

use std::sync::Arc;

use outpost_core::{ApiError, Client, bridge};
use serde_json::Value;
use tauri::State;

/// Runs the core command `name`. A command invoked with no arguments gets `{}`, as it does
/// over the bridge, so commands whose arguments are all optional work either way.
async fn call(client: &Client, name: &str, args: Option<Value>) -> Result<Value, ApiError> {
    let args = match args {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(args) => args,
    };
    bridge::dispatch(client, name, args).await
}

/// Declares one thin command per name, the invoke handler over all of them, and (for the
/// test that keeps this list equal to the core's) the names.
macro_rules! commands {
    ($($name:ident)*) => {
        $(
            #[doc = concat!("The core's `", stringify!($name), "`.")]
            #[tauri::command]
            pub async fn $name(
                core: State<'_, Arc<Client>>,
                args: Option<Value>,
            ) -> Result<Value, ApiError> {
                call(&core, stringify!($name), args).await
            }
        )*

        /// The invoke handler with every command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        /// The names of the commands declared here.
        #[cfg(test)]
        const NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

commands! {
    session_status
    session_sign_in
    session_sign_out
    session_unsent
    recovery_list
    recovery_restore
    app_modules
    metadata_get
    metadata_accept
    view_list
    view_page
    record_list
    record_get
    record_why
    record_create
    record_update
    record_delete
    command_run
    search
    lookup_search
    sync_now
    sync_status
    sync_errors
    sync_error_resolve
    server_probe
    script_is_offline_enabled
    script_create
    script_retrieve
    script_retrieve_multiple
    script_update
    script_delete
    recent_open
    recent_list
    draft_list
    draft_create
    draft_update
    draft_delete
    draft_save
}

#[cfg(test)]
mod tests;
