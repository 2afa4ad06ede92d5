//! The schema: the server's own tables (numbered migrations, append only) and one typed
//! table per entity, generated from the metadata and grown in place when it changes.
//!
//! The same SQL serves both engines: `{int}` becomes `INTEGER` / `BIGINT` and `{text}`
//! `TEXT` / `TEXT COLLATE "C"` (byte order on both, as the query language sorts).

use outpost_domain::metadata::{AttributeKind, EntityDef, Metadata};
use outpost_domain::query::column_type;

use super::{Conn, Dialect, SqlParam, int, string, text};

/// The server's own tables. Append, never edit: `schema_version` counts how many ran.
const MIGRATIONS: &[&str] = &[
    r"
CREATE TABLE setting (key {text} PRIMARY KEY, value {text} NOT NULL);
CREATE TABLE row_seq (id {int} PRIMARY KEY, value {int} NOT NULL);
INSERT INTO row_seq (id, value) VALUES (1, 0);
CREATE TABLE org_user (
  id {text} PRIMARY KEY,
  username {text} NOT NULL UNIQUE,
  display_name {text} NOT NULL,
  password_hash {text} NOT NULL,
  is_admin {int} NOT NULL DEFAULT 0,
  disabled {int} NOT NULL DEFAULT 0
);
CREATE TABLE auth_token (
  token_hash {text} PRIMARY KEY,
  kind {text} NOT NULL,
  user_id {text} NOT NULL,
  device_id {text} NOT NULL,
  expires_at {int} NOT NULL,
  revoked {int} NOT NULL DEFAULT 0,
  created_on {text} NOT NULL
);
CREATE INDEX auth_token_device ON auth_token (device_id);
CREATE TABLE login_failure (username {text} NOT NULL, at {int} NOT NULL);
CREATE INDEX login_failure_user ON login_failure (username, at);
CREATE TABLE applied_op (
  device_id {text} NOT NULL,
  op_id {text} NOT NULL,
  user_id {text} NOT NULL,
  outcome {text} NOT NULL,
  PRIMARY KEY (device_id, op_id)
);
CREATE TABLE follow (
  user_id {text} NOT NULL,
  entity {text} NOT NULL,
  record_id {text} NOT NULL,
  following {int} NOT NULL,
  _version {int} NOT NULL,
  PRIMARY KEY (user_id, entity, record_id)
);
CREATE INDEX follow_version ON follow (user_id, _version);
CREATE TABLE device (
  device_id {text} PRIMARY KEY,
  user_id {text} NOT NULL,
  state {text} NOT NULL,
  acked {int} NOT NULL DEFAULT 0,
  issued {int} NOT NULL DEFAULT 0,
  pending {text},
  last_pull_on {text},
  last_push_on {text}
);
CREATE TABLE device_record (
  device_id {text} NOT NULL,
  entity {text} NOT NULL,
  record_id {text} NOT NULL,
  version {int} NOT NULL,
  reason {text} NOT NULL,
  refs {text} NOT NULL,
  PRIMARY KEY (device_id, entity, record_id)
);
CREATE TABLE device_page (
  device_id {text} NOT NULL,
  seq {int} NOT NULL,
  entity {text} NOT NULL,
  record_id {text} NOT NULL,
  version {int},
  reason {text},
  refs {text},
  PRIMARY KEY (device_id, seq)
);
CREATE TABLE sync_error (
  id {text} PRIMARY KEY,
  user_id {text} NOT NULL,
  device_id {text} NOT NULL,
  op_id {text} NOT NULL,
  entity {text} NOT NULL,
  record_id {text} NOT NULL,
  code {text} NOT NULL,
  message {text} NOT NULL,
  operation {text} NOT NULL,
  conflicts {text} NOT NULL,
  state {text} NOT NULL,
  created_on {text} NOT NULL,
  resolved_on {text},
  resolved_by {text},
  _version {int} NOT NULL
);
CREATE INDEX sync_error_user ON sync_error (user_id, state);
CREATE INDEX sync_error_device ON sync_error (device_id, _version);
CREATE TABLE offline_entity (entity {text} PRIMARY KEY, enabled {int} NOT NULL, filter {text});
CREATE TABLE profile (
  id {text} PRIMARY KEY,
  name {text} NOT NULL UNIQUE,
  draft {text} NOT NULL,
  published {text},
  version {int} NOT NULL DEFAULT 0,
  modified_on {text} NOT NULL
);
CREATE TABLE profile_assignment (principal {text} PRIMARY KEY, profile_id {text} NOT NULL);
",
    // 2: an administrator's wipe order for a lost device (one user's tokens on it): those
    // tokens answer `device_wipe` whenever they come back. Revocation is per (user, device).
    r"
ALTER TABLE auth_token ADD COLUMN wipe {int} NOT NULL DEFAULT 0;
CREATE INDEX auth_token_user_device ON auth_token (user_id, device_id);
",
    // 3: a refresh retried after a lost answer: when a token was first used (a refresh
    // token to refresh, an access token on a request) and which refresh token bought it.
    r"
ALTER TABLE auth_token ADD COLUMN used_at {int};
ALTER TABLE auth_token ADD COLUMN bought_by {text};
CREATE INDEX auth_token_bought_by ON auth_token (bought_by);
",
    // 4: sign-in failures are counted per (user name, client address) and per address, so
    // no address can lock out another.
    r"
ALTER TABLE login_failure ADD COLUMN address {text} NOT NULL DEFAULT '';
CREATE INDEX login_failure_at ON login_failure (at);
CREATE INDEX login_failure_address ON login_failure (address, at);
",
    // 5: a pushed op is known by (user, op id), whichever of the user's devices sends it.
    r"
CREATE INDEX applied_op_user ON applied_op (user_id, op_id);
",
    // 6: what a device made and pushed that no page sent back yet, which every delta pull
    // looks at again (only those rows: the index stays as small as they are few).
    r"
CREATE INDEX device_record_pushed ON device_record (device_id, entity, record_id) WHERE version = -1;
",
    // 7: app releases an administrator uploaded (S19): the release (notes, the device
    // database formats its build opens) and one signed package per platform.
    r"
CREATE TABLE app_release (
  version {text} PRIMARY KEY,
  major {int} NOT NULL,
  minor {int} NOT NULL,
  patch {int} NOT NULL,
  notes {text} NOT NULL,
  store_format {int} NOT NULL,
  min_store_format {int} NOT NULL,
  created_on {text} NOT NULL,
  created_by {text} NOT NULL
);
CREATE TABLE app_package (
  version {text} NOT NULL,
  platform {text} NOT NULL,
  signature {text} NOT NULL,
  size {int} NOT NULL,
  sha256 {text} NOT NULL,
  data {text} NOT NULL,
  uploaded_on {text} NOT NULL,
  uploaded_by {text} NOT NULL,
  PRIMARY KEY (version, platform)
);
CREATE INDEX app_package_platform ON app_package (platform);
",
    // 8: a device may hold two pages not yet acknowledged (it asks for the next page while
    // it writes one, ADR 0016): the older one's token and the state after it, and which
    // page each waiting line belongs to (0: a line kept before this, of the one page).
    r"
ALTER TABLE device ADD COLUMN mid {int} NOT NULL DEFAULT 0;
ALTER TABLE device ADD COLUMN mid_pending {text};
ALTER TABLE device_page ADD COLUMN token {int} NOT NULL DEFAULT 0;
",
];

/// `{int}` and `{text}` for the engine.
fn typed(sql: &str, dialect: Dialect) -> String {
    let (int, text) = match dialect {
        Dialect::Sqlite => ("INTEGER", "TEXT"),
        Dialect::Postgres => ("BIGINT", "TEXT COLLATE \"C\""),
    };
    sql.replace("{int}", int).replace("{text}", text)
}

/// Brings the server's own tables up to date. On PostgreSQL an advisory lock makes
/// processes that start together take turns.
pub(super) fn migrate(conn: &mut dyn Conn) -> anyhow::Result<()> {
    let dialect = conn.dialect();
    if dialect == Dialect::Postgres {
        conn.execute("SELECT pg_advisory_xact_lock(7355608)", &[])?;
    }
    conn.batch(&typed(
        "CREATE TABLE IF NOT EXISTS schema_version (id {int} PRIMARY KEY, value {int} NOT NULL)",
        dialect,
    ))?;
    let done = conn
        .query_opt("SELECT value FROM schema_version WHERE id = 1", &[])?
        .map(|row| int(&row[0]))
        .transpose()?
        .unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let n = i64::try_from(i + 1)?;
        if n <= done {
            continue;
        }
        conn.batch(&typed(sql, dialect))?;
        conn.execute(
            "INSERT INTO schema_version (id, value) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET value = excluded.value",
            &[SqlParam::Int(n)],
        )?;
    }
    // The org's identity and recovery keys: made once, whatever the database came from.
    let (secret, public) = outpost_protocol::recovery::org_keypair();
    for (key, value) in [
        (crate::org::key::ORG_ID, crate::new_id()),
        (crate::org::key::RECOVERY_SECRET, hex::encode(secret)),
        (crate::org::key::RECOVERY_PUBLIC, hex::encode(public)),
    ] {
        conn.execute(
            "INSERT INTO setting (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[text(key), text(value)],
        )?;
    }
    Ok(())
}

/// The quoted table name of an entity.
pub fn entity_table(entity: &str) -> String {
    format!("\"e_{}\"", entity.replace('"', ""))
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', ""))
}

/// The names of the columns an existing table has (empty when it does not exist).
fn existing_columns(conn: &mut dyn Conn, table: &str) -> anyhow::Result<Vec<String>> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => "SELECT name FROM pragma_table_info($1)",
        Dialect::Postgres => {
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    conn.query(sql, &[text(table)])?
        .iter()
        .map(|row| string(&row[0]))
        .collect()
}

/// Creates the typed table of every entity, and adds the columns of attributes that a
/// newer metadata brought (in place: rows keep their data, new columns start null).
/// Attributes that disappeared keep their column, unused.
pub fn sync_entity_tables(conn: &mut dyn Conn, metadata: &Metadata) -> anyhow::Result<()> {
    let dialect = conn.dialect();
    for entity in &metadata.entities {
        let bare = format!("e_{}", entity.name);
        let have = existing_columns(conn, &bare)?;
        if have.is_empty() {
            create_entity_table(conn, entity)?;
            continue;
        }
        for attr in &entity.attributes {
            if !have.contains(&attr.name) {
                conn.batch(&format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    entity_table(&entity.name),
                    quoted(&attr.name),
                    column_type(&attr.kind, dialect)
                ))?;
                if is_reference(&attr.kind) {
                    conn.batch(&index(&entity.name, &attr.name))?;
                }
            }
        }
    }
    Ok(())
}

fn is_reference(kind: &AttributeKind) -> bool {
    matches!(kind, AttributeKind::Lookup { .. } | AttributeKind::Owner)
}

fn index(entity: &str, column: &str) -> String {
    format!(
        "CREATE INDEX IF NOT EXISTS \"e_{entity}_{column}\" ON {} ({})",
        entity_table(entity),
        quoted(column)
    )
}

fn create_entity_table(conn: &mut dyn Conn, entity: &EntityDef) -> anyhow::Result<()> {
    let dialect = conn.dialect();
    let columns: Vec<String> = entity
        .attributes
        .iter()
        .map(|a| format!("{} {}", quoted(&a.name), column_type(&a.kind, dialect)))
        .collect();
    conn.batch(&typed(
        &format!(
            "CREATE TABLE {} (id {{text}} PRIMARY KEY, {}, _version {{int}} NOT NULL, \
             _deleted {{int}} NOT NULL DEFAULT 0)",
            entity_table(&entity.name),
            columns.join(", ")
        ),
        dialect,
    ))?;
    conn.batch(&index(&entity.name, "_version"))?;
    for attr in entity.attributes.iter().filter(|a| is_reference(&a.kind)) {
        conn.batch(&index(&entity.name, &attr.name))?;
    }
    Ok(())
}
