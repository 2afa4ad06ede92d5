//! The shell's one Tauri command, `core`: it hands the command name and the `args` object
//! the UI sent (`invoke('core', { command, args })`) to [`commands::dispatch`], which
//! parses them, calls the core and maps the error to `{code, message}`. The app, the
//! browser bridge and the CLI run the same code, and the shell keeps no list of commands
//! to keep equal to the core's (`outpost_core::commands` declares them).

use std::sync::Arc;

use outpost_core::{ApiError, Client, commands};
use serde_json::Value;
use tauri::State;

/// Runs the core command `name`. A command invoked with no arguments gets `{}`, as it does
/// over the bridge, so commands whose arguments are all optional work either way.
async fn call(client: &Client, name: &str, args: Option<Value>) -> Result<Value, ApiError> {
    let args = match args {
        None | Some(Value::Null) => Value::Object(serde_json::Map::new()),
        Some(args) => args,
    };
    commands::dispatch(client, name, args).await
}

/// Any core command by name, with its arguments.
#[tauri::command]
pub async fn core(
    client: State<'_, Arc<Client>>,
    command: String,
    args: Option<Value>,
) -> Result<Value, ApiError> {
    call(&client, &command, args).await
}

/// The invoke handler: the one command.
pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
    tauri::generate_handler![core]
}

#[cfg(test)]
mod tests;
