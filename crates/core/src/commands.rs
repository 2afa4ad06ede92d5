//! Every command the core answers, declared once: its name, its arguments, its answer, the
//! [`Client`] method that runs it and a line of help. From that one table come
//! [`dispatch`] (which the Tauri shell's one `core` command, the browser bridge and the
//! CLI all call), [`COMMANDS`] (the CLI's `outpost commands`) and the UI's typed
//! `Commands` (`ui/src/lib/api/bindings.ts`, by `typescript`), so a command added,
//! renamed or retyped here reaches every shell, and the UI fails to type-check until it
//! follows.

use serde_json::Value;
use ts_rs::TS as _;

use crate::api::{
    ApiError, AppModuleInfo, AppUpdate, CommandArgs, CommandResult, DraftKey, DraftRow,
    DraftUpdateArgs, ErrorCode, LookupSearchArgs, RecentListArgs, RecordCreateArgs, RecordDetail,
    RecordKey, RecordListArgs, RecordRow, RecordUpdateArgs, RecoveryInfo, RecoveryRestoreArgs,
    ScriptBatchArgs, ScriptChangeResult, ScriptQueryArgs, SearchArgs, SearchHitRow, SessionStatus,
    SignInArgs, SignOutArgs, SyncErrorResolveArgs, SyncErrorRow, SyncReport, SyncStatus, Unsent,
    ViewInfo, ViewPageArgs, ViewPageResult, Why,
};
use crate::{Client, CoreError};
use outpost_domain::{Fields, Metadata};

fn parse<T: serde::de::DeserializeOwned>(args: Value) -> Result<T, ApiError> {
    serde_json::from_value(args).map_err(|e| ApiError {
        code: ErrorCode::InvalidInput,
        message: format!("invalid arguments: {e}"),
    })
}

fn json<T: serde::Serialize>(result: Result<T, CoreError>) -> Result<Value, ApiError> {
    let value = result.map_err(ApiError::from)?;
    serde_json::to_value(value).map_err(|e| ApiError {
        code: ErrorCode::Internal,
        message: e.to_string(),
    })
}

/// The call of one command: its method (the command's own name unless one is given),
/// with its arguments parsed when it takes some.
macro_rules! call {
    ($client:ident, $args:ident, $name:ident = $method:ident, [$($ty:ty)?]) => {
        $client.$method($(parse::<$ty>($args)?)?).await
    };
    ($client:ident, $args:ident, $name:ident, [$($ty:ty)?]) => {
        $client.$name($(parse::<$ty>($args)?)?).await
    };
}

/// The TypeScript type of a command's arguments: `void` when it takes none.
macro_rules! ts_args {
    ($cfg:ident) => {
        "void".to_owned()
    };
    ($cfg:ident, $ty:ty) => {
        <$ty>::name($cfg)
    };
}

/// Declares the commands: `name(Args) -> Answer [= method], "help";`.
macro_rules! commands {
    ($($name:ident($($args:ty)?) -> $out:ty $(= $method:ident)?, $help:literal;)*) => {
        /// Every command [`dispatch`] knows, with what it does (the CLI's `outpost
        /// commands`).
        pub const COMMANDS: &[(&str, &str)] = &[$((stringify!($name), $help)),*];

        /// Runs one command by name with its arguments as JSON; its answer as JSON, or
        /// the error as the UI receives it.
        pub async fn dispatch(
            client: &Client,
            command: &str,
            args: Value,
        ) -> Result<Value, ApiError> {
            match command {
                $(c if c == stringify!($name) => {
                    json::<$out>(call!(client, args, $name $(= $method)?, [$($args)?]))
                })*
                other => Err(ApiError {
                    code: ErrorCode::NotFound,
                    message: format!("no command `{other}`"),
                }),
            }
        }

        /// The UI's `Commands`: each command's name with its arguments and answer.
        pub(crate) fn typescript(cfg: &ts_rs::Config) -> String {
            let mut out = String::from(
                "/** Every command the core answers (`outpost_core::commands`): its arguments and its answer. */\nexport interface Commands {\n",
            );
            $(
                out.push_str(&format!(
                    "  /** {} */\n  {}: [{}, {}];\n",
                    // A help text must not end the comment it is written in.
                    $help.replace("*/", "*\\/"),
                    stringify!($name),
                    ts_args!(cfg $(, $args)?),
                    <$out>::name(cfg),
                ));
            )*
            out.push_str("}\n");
            out
        }
    };
}

commands! {
    session_status() -> SessionStatus, "who is signed in and how sync stands";
    session_sign_in(SignInArgs) -> SessionStatus, "sign in: server_url, username, password";
    session_sign_out(SignOutArgs) -> SessionStatus,
        "sign out [wipe=true [discard.changes=N discard.sync_errors=N discard.resolutions=N discard.drafts=N]]";
    session_unsent() -> Unsent,
        "what deleting the offline data would lose: changes, sync errors, resolutions, drafts";
    recovery_list() -> Vec<RecoveryInfo>,
        "sealed recovery files: work a wipe ordered by the server could not send";
    recovery_restore(RecoveryRestoreArgs) -> Unsent,
        "put a recovery file's work back into your outbox: id";
    app_modules() -> Vec<AppModuleInfo>, "the app modules you may open";
    metadata_get() -> Metadata, "the org metadata the local database is made from";
    metadata_accept() -> SyncReport, "accept the metadata update that waits, then sync";
    view_list(RecordListArgs) -> Vec<ViewInfo>, "the system views of an entity: entity";
    view_page(ViewPageArgs) -> ViewPageResult,
        "a page of a view: entity [view_id] [search] [after] [limit]";
    record_list(RecordListArgs) -> Vec<RecordRow>, "every local record of an entity: entity";
    record_get(RecordKey) -> RecordDetail, "one record with its form's extras: entity, id";
    record_why(RecordKey) -> Why, "why a record is on this device: entity, id";
    record_create(RecordCreateArgs) -> RecordRow,
        "create a record: entity, fields.<name>=<value>…";
    record_update(RecordUpdateArgs) -> RecordRow,
        "change a record: entity, id, fields.<name>=<value>…";
    record_delete(RecordKey) -> (), "delete a record: entity, id";
    command_run(CommandArgs) -> CommandResult,
        "a command or flow move: command=<lead_qualify|…> and its fields";
    search(SearchArgs) -> Vec<SearchHitRow>, "search quick-find columns: text [entities] [limit]";
    lookup_search(LookupSearchArgs) -> Vec<SearchHitRow>,
        "the choices of a lookup: entity, field [text] [limit]";
    sync_now() -> SyncReport, "send offline work and fetch the server's changes";
    sync_status() -> SyncStatus, "the footer's status: state, entities, last sync";
    sync_errors() -> Vec<SyncErrorRow>, "the changes the server refused";
    sync_error_resolve(SyncErrorResolveArgs) -> (),
        "resolve one: op_id, resolution.action=keep_mine|take_server|resubmit";
    server_probe() -> bool, "is the server reachable now";
    update_check() -> Option<AppUpdate>,
        "ask the org server for a newer release of the app (the installed app only)";
    update_install() -> (),
        "install the release offered and restart (waits for a sync under way; the installed app only)";
    script_is_offline_enabled(RecordListArgs) -> bool, "scripting API: entity";
    script_create(RecordCreateArgs) -> RecordRow = record_create,
        "scripting API: entity, fields.<name>=<value>…";
    script_retrieve(RecordKey) -> Fields, "scripting API: entity, id";
    script_retrieve_multiple(ScriptQueryArgs) -> Vec<Fields>,
        "scripting API: entity, options=?$select=…&$filter=…";
    script_update(RecordUpdateArgs) -> RecordRow = record_update,
        "scripting API: entity, id, fields.<name>=<value>…";
    script_delete(RecordKey) -> () = record_delete, "scripting API: entity, id";
    script_execute_multiple(ScriptBatchArgs) -> Vec<ScriptChangeResult>,
        "scripting API: changes applied in order in one transaction, each kept or refused alone: changes (JSON list of {kind: create|update|delete, entity, id, fields})";
    recent_open(RecordKey) -> RecordRow,
        "drafts modules: open a record (server online, kept for offline): entity, id";
    recent_list(RecentListArgs) -> Vec<RecordRow>,
        "drafts modules: the recently used records kept offline [entity]";
    draft_list() -> Vec<DraftRow>, "drafts modules: the drafts waiting to be saved";
    draft_create(RecordCreateArgs) -> DraftRow,
        "drafts modules: a new record as a draft: entity, fields.<name>=<value>…";
    draft_update(DraftUpdateArgs) -> DraftRow,
        "drafts modules: change a draft: id, fields.<name>=<value>…";
    draft_delete(DraftKey) -> (), "drafts modules: delete a draft: id";
    draft_save(DraftKey) -> RecordRow,
        "drafts modules: save one draft to the server (online): id";
}

#[cfg(test)]
mod tests;
