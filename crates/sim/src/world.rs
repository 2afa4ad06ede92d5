//! The simulated world: the server, the devices and their users, the administrator, and
//! the steps one seed drives them through.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use anyhow::Context as _;
use axum::Router;
use outpost_core::api::{
    RecordCreateArgs, RecordKey, RecordListArgs, RecordUpdateArgs, RecoveryRestoreArgs, SignInArgs,
    SignOutArgs, SyncErrorAction, SyncErrorResolveArgs,
};
use outpost_core::{Client, ClientConfig, CoreError, Environment, HttpRequest};
use outpost_domain::Fields;
use outpost_domain::demo::Job;
use outpost_server::db::Location;
use outpost_server::seed::DemoOptions;
use outpost_server::{AppState, Db};
use outpost_store::{DatabaseKey, KeyStore, StoreError};
use rand::Rng as _;
use sha2::Digest as _;

use crate::model::{Ledger, OpRecord};

mod mix;
use crate::net::{FaultRates, Net, lock};
use crate::{Options, Rng, RunReport};
use mix::{Disk, SimProfile};

/// The demo org every run starts from (its people and records).
const ORG_SEED: u64 = 3;
const RECORDS: u64 = 300;
const PASSWORD: &str = "simulated-password";
/// Most records a pull page carries.
const PULL_PAGE: u32 = 2;
/// Unix seconds the world's clock starts at (2026-06-01).
const EPOCH: i64 = 1_780_272_000;

/// The world's clock, in milliseconds; devices read it with their own skew.
#[derive(Clone)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn at(&self, skew_ms: i64) -> time::OffsetDateTime {
        let ms = self.0.load(Ordering::SeqCst) + skew_ms;
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

/// A keychain that can lose an entry or be locked.
#[derive(Default)]
struct SimKeys {
    keys: std::sync::Mutex<BTreeMap<String, String>>,
    /// Entries "lost" from the keychain, kept aside to put back when the run heals.
    hidden: std::sync::Mutex<BTreeMap<String, String>>,
    locked: std::sync::atomic::AtomicBool,
}

impl KeyStore for SimKeys {
    fn get(&self, id: &str) -> Result<Option<DatabaseKey>, StoreError> {
        if self.locked.load(Ordering::SeqCst) {
            return Err(StoreError::Keychain("the keychain is locked".into()));
        }
        lock(&self.keys)
            .get(id)
            .map(|hex| DatabaseKey::from_hex(hex))
            .transpose()
    }

    fn set(&self, id: &str, key: &DatabaseKey) -> Result<(), StoreError> {
        if self.locked.load(Ordering::SeqCst) {
            return Err(StoreError::Keychain("the keychain is locked".into()));
        }
        lock(&self.keys).insert(id.to_owned(), key.to_hex());
        Ok(())
    }

    fn delete(&self, id: &str) -> Result<(), StoreError> {
        lock(&self.keys).remove(id);
        lock(&self.hidden).remove(id);
        Ok(())
    }
}

impl SimKeys {
    /// Every database key disappears from the keychain (kept aside).
    fn lose(&self) {
        let mut keys = lock(&self.keys);
        let mut hidden = lock(&self.hidden);
        for (id, key) in std::mem::take(&mut *keys) {
            if id.starts_with("database:") {
                hidden.insert(id, key);
            } else {
                keys.insert(id, key);
            }
        }
    }

    fn heal(&self) {
        self.locked.store(false, Ordering::SeqCst);
        let mut keys = lock(&self.keys);
        keys.extend(std::mem::take(&mut *lock(&self.hidden)));
    }
}

/// A user of the simulation.
pub(crate) struct User {
    pub(crate) id: String,
    pub(crate) username: String,
}

struct Device {
    dir: PathBuf,
    keys: Arc<SimKeys>,
    client: Option<Arc<Client>>,
    skew_ms: i64,
    /// Who the sim last signed in here.
    user: usize,
    /// Users who ever signed in here.
    users: BTreeSet<usize>,
    /// Ids made on this device so far.
    ids: Arc<AtomicU64>,
    /// User → their security generation ([`World::security_gen`]) at the device's last
    /// good sync as them: the device knows what they may do since then.
    synced: BTreeMap<usize, u64>,
    disk: Arc<std::sync::Mutex<Disk>>,
}

pub(crate) struct World {
    _tmp: tempfile::TempDir,
    rng: Rng,
    net: Arc<Net>,
    clock: Clock,
    /// The server's database: an SQLite file, or a database of its own on PostgreSQL.
    server_at: Location,
    db: Option<Db>,
    admin_token: String,
    pub(crate) users: Vec<User>,
    devices: Vec<Device>,
    pub(crate) ledger: Ledger,
    trace: Vec<String>,
    spelled: [&'static str; 2],
    /// Users whose field profile lets them read `account.creditlimit` now.
    pub(crate) finance: BTreeSet<usize>,
    provisioned: bool,
    /// Whether faults are injected (until the run heals).
    faults: bool,
    /// User → how many times the administrator changed their roles.
    security_gen: BTreeMap<usize, u64>,
    /// The offline profiles the simulation made (every simulated user has one).
    profiles: Vec<SimProfile>,
    /// Entities whose narrower org-wide offline filter is on.
    entity_filters: BTreeSet<&'static str>,
}

/// A fresh database for `seed`'s run on the PostgreSQL server at `port` (made again when
/// an earlier run left one): its connection string.
async fn postgres_database(port: u16, seed: u64) -> anyhow::Result<String> {
    let server = format!("host=127.0.0.1 port={port} user=outpost");
    let (client, connection) =
        tokio_postgres::connect(&format!("{server} dbname=postgres"), tokio_postgres::NoTls)
            .await
            .context("connecting to PostgreSQL")?;
    let driver = tokio::spawn(connection);
    let name = format!("sim_{seed}");
    // One statement a query: several would be one transaction, which neither may be in.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("{sql} on PostgreSQL"))?;
    }
    drop(client);
    let _ = driver.await;
    Ok(format!("{server} dbname={name}"))
}

pub(crate) async fn run(seed: u64, options: Options) -> anyhow::Result<RunReport> {
    let mut world = World::new(seed, options.postgres).await?;
    for step in 0..options.steps {
        world.step(step).await?;
    }
    world.heal().await?;
    let violations = crate::model::check(&mut world).await?;
    if std::env::var_os("OUTPOST_SIM_KEEP").is_some() {
        // For a look at a failing seed's files: the folder stays.
        eprintln!("kept: {}", world._tmp.path().display());
        std::mem::forget(std::mem::replace(&mut world._tmp, tempfile::tempdir()?));
    }
    let mut hasher = sha2::Sha256::new();
    for line in &world.trace {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    let faults = lock(&world.net.faults)
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    Ok(RunReport {
        seed,
        trace_hash: hex::encode(&hasher.finalize()[..8]),
        trace: world.trace.clone(),
        violations,
        faults,
        ops: world.ledger.ops.len() as u64,
    })
}

impl World {
    async fn new(seed: u64, postgres: Option<u16>) -> anyhow::Result<Self> {
        // Memory-backed when the machine has it: every commit is fsynced (ADR 0009), and
        // the simulation tests logic, not the disk — on a disk, fsyncs are most of a run.
        let shm = std::path::Path::new("/dev/shm");
        let tmp = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("outpost-sim")
                .tempdir_in(shm)?
        } else {
            tempfile::tempdir()?
        };
        let rng = Rng::new(seed);
        let net = Net::new(rng.clone());
        let clock = Clock(Arc::new(AtomicI64::new(EPOCH * 1000)));
        let server_at = match postgres {
            None => Location::Sqlite(tmp.path().join("server.db")),
            Some(port) => Location::Postgres(postgres_database(port, seed).await?),
        };
        let org = outpost_domain::demo::demo_org(ORG_SEED);
        let fiona = org.user("fiona").context("the demo has fiona")?;
        let team_mate = org
            .users
            .iter()
            .find(|u| u.job == Job::SalesRep && u.manager == fiona.manager && u.id != fiona.id)
            .context("fiona has a team mate")?;
        // The regional manager above fiona's manager: the manager hierarchy (not their
        // business unit) lets them edit their direct report's records.
        let area_manager = org
            .users
            .iter()
            .find(|u| Some(&u.id) == fiona.manager.as_ref())
            .context("fiona has a manager")?;
        let manager = org
            .users
            .iter()
            .find(|u| Some(&u.id) == area_manager.manager.as_ref())
            .context("fiona's manager has a manager")?;
        let users = [fiona, team_mate, manager]
            .into_iter()
            .map(|u| User {
                id: u.id.clone(),
                username: u.username.clone(),
            })
            .collect();
        let mut world = Self {
            _tmp: tmp,
            rng,
            net,
            clock,
            server_at,
            db: None,
            admin_token: String::new(),
            users,
            devices: Vec::new(),
            ledger: Ledger::default(),
            trace: Vec::new(),
            spelled: ["http://127.0.0.1:7000", "http://localhost:7000/"],
            finance: BTreeSet::new(),
            provisioned: true,
            faults: true,
            security_gen: BTreeMap::new(),
            profiles: Vec::new(),
            entity_filters: BTreeSet::new(),
        };
        world.server_start().await?;
        let db = world.db()?;
        outpost_server::seed::load_demo_if_empty(
            &db,
            &DemoOptions {
                seed: ORG_SEED,
                records: RECORDS,
                password: PASSWORD.to_owned(),
            },
        )
        .await?;
        world.admin_token = world.sign_in_admin().await?;
        world.profiles_make().await?;
        world.records_share().await?;
        // Fiona starts able to read the secured field, so taking it back is a transition
        // every run can meet.
        world.field_security_set(0, true).await?;
        // Fiona's tablet (shared with her team mate), the team mate's laptop, the
        // manager's laptop.
        for (i, user) in [0usize, 1, 2].into_iter().enumerate() {
            let dir = world._tmp.path().join(format!("device-{i}"));
            let skew_ms = world.rng.with(|r| r.random_range(-7_200_000..7_200_000));
            world.devices.push(Device {
                dir,
                keys: Arc::new(SimKeys::default()),
                client: None,
                skew_ms,
                user,
                users: BTreeSet::new(),
                ids: Arc::new(AtomicU64::new(0)),
                synced: BTreeMap::new(),
                disk: Arc::default(),
            });
            world.device_open(i)?;
            world.sign_in(i, user).await;
            world.sync(i).await;
        }
        Ok(world)
    }

    fn db(&self) -> anyhow::Result<Db> {
        self.db.clone().context("the server is down")
    }

    fn log(&mut self, line: String) {
        tracing::debug!("{line}");
        self.trace.push(line);
    }

    async fn server_start(&mut self) -> anyhow::Result<()> {
        let db = Db::open(&self.server_at).await?;
        let clock = self.clock.clone();
        // Small pages: a download takes several, and every page boundary is a transition.
        let state = AppState::new(db.clone())
            .with_clock(Arc::new(move || clock.at(0)))
            .with_pull_page(PULL_PAGE);
        self.net.set_router(Some(outpost_server::app(state)));
        self.db = Some(db);
        Ok(())
    }

    fn router(&self) -> anyhow::Result<Router> {
        let db = self.db()?;
        let clock = self.clock.clone();
        Ok(outpost_server::app(
            AppState::new(db).with_clock(Arc::new(move || clock.at(0))),
        ))
    }

    /// A request of the administrator's console, straight to the server (no faults).
    async fn admin(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let answer = self.admin_once(method, path, body.clone()).await?;
        if answer.0 != 401 {
            return Ok(answer);
        }
        // The console's session expired while the clock ran on: it signs in again.
        self.admin_token = String::new();
        self.admin_token = self.sign_in_admin().await?;
        self.admin_once(method, path, body).await
    }

    async fn admin_once(
        &self,
        method: &'static str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let router = self.router()?;
        let request = HttpRequest {
            method,
            url: format!("http://server{}", path),
            bearer: (!self.admin_token.is_empty()).then(|| self.admin_token.clone()),
            body: body.map(|b| b.to_string().into_bytes()),
            timeout: std::time::Duration::from_secs(60),
            app_version: None,
        };
        let answer = crate::net::call(&router, 199, &request)
            .await
            .map_err(anyhow::Error::msg)?;
        let json = serde_json::from_slice(&answer.body).unwrap_or(serde_json::Value::Null);
        Ok((answer.status, json))
    }

    /// The simulation's offline profiles: the reps take their sales and service records
    /// (they get the technician role too, so cases meet commands), the manager every
    /// account they may read — their reports' too, by the manager hierarchy, so the
    /// hierarchy's rules meet offline edits — and a plain sales profile nobody has yet.
    async fn profiles_make(&mut self) -> anyhow::Result<()> {
        let sales = outpost_server::seed::field_sales();
        let mut both = sales.clone();
        both.name = "Sim Sales and Service".into();
        for item in outpost_server::seed::field_service().items {
            if !both.items.iter().any(|i| i.entity == item.entity) {
                both.items.push(item);
            }
        }
        let mut managers = sales.clone();
        managers.name = "Field Managers".into();
        for item in &mut managers.items {
            if item.entity == "account" {
                item.data = outpost_protocol::admin::ItemData::All;
            }
        }
        let mut plain = sales;
        plain.name = "Sim Sales".into();
        self.profile_make(both, &[0, 1]).await?;
        self.profile_make(managers, &[2]).await?;
        self.profile_make(plain, &[]).await?;
        for u in [0, 1] {
            self.role_set(u, outpost_domain::demo::role::TECHNICIAN, Some(true))
                .await?;
        }
        Ok(())
    }

    /// Gives the simulated users a few open records of each kind commands and flows work
    /// on (the demo spreads them over many people).
    async fn records_share(&mut self) -> anyhow::Result<()> {
        for &entity in mix::COMMANDED {
            let sql = format!(
                "SELECT id FROM {} WHERE _deleted = 0 AND statecode = 0 ORDER BY id LIMIT 6",
                outpost_server::db::entity_table(entity)
            );
            let ids: Vec<String> = self
                .db()?
                .tx(move |c| {
                    c.query(&sql, &[])?
                        .iter()
                        .map(|r| outpost_server::db::string(&r[0]))
                        .collect()
                })
                .await?;
            for (n, id) in ids.iter().enumerate() {
                // Cases go to the reps (the manager's role does not read them).
                let to = if entity == "incident" { n % 2 } else { n % 3 };
                let op = serde_json::json!({
                    "kind": "assign", "entity": entity, "id": id,
                    "owner": {"entity": "systemuser", "id": self.users[to].id}
                });
                let (status, body) = self.admin("POST", "/api/v1/operations", Some(op)).await?;
                anyhow::ensure!(status == 200, "{entity} {id} goes to u{to}: {body}");
            }
        }
        Ok(())
    }

    async fn sign_in_admin(&self) -> anyhow::Result<String> {
        let (status, body) = self
            .admin_once(
                "POST",
                "/api/v1/auth/login",
                Some(serde_json::json!({
                    "username": "admin", "password": PASSWORD, "device_id": "console"
                })),
            )
            .await?;
        anyhow::ensure!(status == 200, "the administrator signs in: {body}");
        Ok(body["access_token"].as_str().unwrap_or_default().to_owned())
    }

    fn device_open(&mut self, d: usize) -> anyhow::Result<()> {
        let device = &self.devices[d];
        let clock = self.clock.clone();
        let skew = device.skew_ms;
        let ids = Arc::clone(&device.ids);
        let disk = Arc::clone(&device.disk);
        let env = Environment {
            clock: Some(Arc::new(move || clock.at(skew))),
            ids: Some(Arc::new(move || {
                let n = ids.fetch_add(1, Ordering::SeqCst);
                format!("51300000-0000-7000-8{d:03x}-{n:012x}")
            })),
            transport: Some(self.net.transport(d)),
            disk: Some(Arc::new(move |pages| lock(&disk).cap(pages))),
            app_version: None,
        };
        let client = Client::open(ClientConfig {
            data_dir: device.dir.clone(),
            keys: Arc::clone(&device.keys) as Arc<dyn KeyStore>,
            default_server_url: None,
            notifier: None,
            env,
            installer: None,
        })
        .map_err(|e| anyhow::anyhow!("device {d} opens: {e}"))?;
        self.devices[d].client = Some(Arc::new(client));
        Ok(())
    }

    fn client(&self, d: usize) -> Option<Arc<Client>> {
        self.devices[d].client.clone()
    }

    async fn sign_in(&mut self, d: usize, user: usize) {
        let Some(client) = self.client(d) else { return };
        let url = self.spelled[self.rng.with(|r| r.random_range(0..2))];
        let result = client
            .session_sign_in(SignInArgs {
                server_url: url.to_owned(),
                username: self.users[user].username.clone(),
                password: PASSWORD.to_owned(),
                download: Some(false),
                allow_http: None,
            })
            .await;
        if result.is_ok() {
            self.devices[d].user = user;
            self.devices[d].users.insert(user);
            // Sign-in brings the user's access as the server holds it now.
            let generation = self.security_gen(user);
            self.devices[d].synced.insert(user, generation);
        }
        let outcome = outcome(&result.map(|_| ()));
        self.log(format!("d{d} sign in u{user} via {url}: {outcome}"));
    }

    /// One step of the run, chosen by the seed.
    async fn step(&mut self, step: u32) -> anyhow::Result<()> {
        self.clock
            .advance(self.rng.with(|r| r.random_range(1_000..60_000)));
        let d = self.rng.with(|r| r.random_range(0..self.devices.len()));
        let roll = self.rng.with(|r| r.random_range(0..1000));
        self.log(format!("step {step} d{d} roll {roll}"));
        // A user who finds themselves signed out mostly signs in again soon.
        if let Some(client) = self.client(d)
            && client.session_status().await.is_ok_and(|s| !s.signed_in)
            && self.rng.with(|r| r.random_bool(0.5))
        {
            let user = self.devices[d].user;
            self.sign_in(d, user).await;
        }
        // A full disk frees up after a while (someone deletes their photos).
        for full in 0..self.devices.len() {
            if lock(&self.devices[full].disk).room.is_some()
                && self.rng.with(|r| r.random_bool(0.08))
            {
                self.disk_free(full);
            }
        }
        match roll {
            0..220 => self.user_edit(d, false).await?,
            220..270 => self.user_create(d).await,
            270..290 => self.user_delete(d).await,
            290..330 => self.user_command(d).await,
            330..350 => self.user_flow(d).await?,
            350..365 => self.user_follow(d).await,
            365..395 => self.user_draft(d).await,
            395..560 => self.sync(d).await,
            560..600 => self.sync_together().await,
            600..650 => self.resolve_errors(d).await,
            650..700 => self.admin_edit().await?,
            700..715 => self.admin_reassign().await?,
            715..745 => self.admin_field_security().await?,
            745..760 => self.admin_role().await?,
            760..770 => self.admin_profile().await?,
            770..775 => self.admin_entity_filter().await?,
            775..785 => self.admin_revoke(d, false).await?,
            785..790 => self.admin_revoke(d, true).await?,
            790..800 => self.admin_provision().await?,
            // The shared tablet changes hands, or a user signs in again (the server's
            // address typed either way).
            800..840 if d == 0 || self.rng.with(|r| r.random_bool(0.5)) => {
                let other = if self.devices[0].user == 0 { 1 } else { 0 };
                self.sign_in(0, other).await;
            }
            800..840 => {
                let user = self.devices[d].user;
                self.sign_in(d, user).await;
            }
            840..852 => self.sign_out(d).await,
            852..876 => {
                let cut = !self.net.is_partitioned(d);
                self.net.partition(d, cut);
                self.log(format!("d{d} network {}", if cut { "cut" } else { "back" }));
            }
            876..895 => {
                self.net.count("server_restart");
                self.net.set_router(None);
                self.db = None;
                self.server_start().await?;
                self.log("server restarted".into());
            }
            895..925 => self.crash_idle(d)?,
            925..970 => {
                let ms = if self.rng.with(|r| r.random_bool(0.1)) {
                    self.net.count("clock_past_refresh_lifetime");
                    40 * 24 * 3_600_000
                } else {
                    self.net.count("clock_jump");
                    self.rng.with(|r| r.random_range(60_000..4 * 3_600_000))
                };
                self.clock.advance(ms);
                self.log(format!("clock +{ms} ms"));
            }
            970..985 => self.disk_fault(d).await?,
            _ => self.keychain_fault(d)?,
        }
        Ok(())
    }

    fn security_gen(&self, u: usize) -> u64 {
        self.security_gen.get(&u).copied().unwrap_or(0)
    }

    /// After a sync of `d`: a good one means the device knows its user's roles.
    fn synced<T>(&mut self, d: usize, result: &Result<T, CoreError>) {
        if result.is_ok() {
            let user = self.devices[d].user;
            let generation = self.security_gen(user);
            self.devices[d].synced.insert(user, generation);
        }
    }

    /// The records of `entity` the signed-in user holds, by id.
    async fn held(&self, d: usize, entity: &str) -> Vec<outpost_core::api::RecordRow> {
        let Some(client) = self.client(d) else {
            return Vec::new();
        };
        let mut rows = client
            .record_list(RecordListArgs {
                entity: entity.to_owned(),
            })
            .await
            .unwrap_or_default();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows
    }

    async fn outbox_ids(&self, d: usize) -> BTreeSet<String> {
        let Some(client) = self.client(d) else {
            return BTreeSet::new();
        };
        client
            .sync_outbox()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|o| o.op_id)
            .collect()
    }

    /// Runs a user's action and books the operations it queued.
    async fn user_action(
        &mut self,
        d: usize,
        what: String,
        token: Option<(String, String, String, String)>,
        action: impl std::future::Future<Output = Result<(), CoreError>>,
    ) -> bool {
        let before = self.outbox_ids(d).await;
        let result = action.await;
        let after = self.outbox_ids(d).await;
        let user = self.devices[d].user;
        let new: Vec<String> = after.difference(&before).cloned().collect();
        for op_id in &new {
            self.ledger.ops.push(OpRecord {
                op_id: op_id.clone(),
                device: d,
                user,
                what: what.clone(),
                token: token.clone(),
                effect: None,
            });
        }
        self.disk_note(d, &what, &result);
        let text = outcome(&result);
        self.log(format!("d{d} u{user} {what}: {text} ({} ops)", new.len()));
        matches!(result, Err(CoreError::Forbidden(_)))
    }

    fn token(&self) -> String {
        format!("sim{}", self.ledger.ops.len() + self.trace.len())
    }

    async fn user_edit(&mut self, d: usize, long: bool) -> anyhow::Result<()> {
        let entity = if self.rng.with(|r| r.random_bool(0.7)) {
            "account"
        } else {
            "contact"
        };
        // Open records: a closed one refuses every edit.
        let held: Vec<_> = self
            .held(d, entity)
            .await
            .into_iter()
            .filter(|r| r.fields.get("statecode").cloned().flatten().as_deref() == Some("0"))
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        let pick = self.rng.with(|r| r.random_range(0..held.len()));
        let record = &held[pick];
        let field = if entity == "account" {
            "telephone1"
        } else {
            "jobtitle"
        };
        let value = self.token();
        let Some(client) = self.client(d) else {
            return Ok(());
        };
        let mut fields = Fields::from([(field.to_owned(), Some(value.clone()))]);
        // Now and then a long note too: a write that needs new pages (a full disk bites).
        if self.rng.with(|r| r.random_bool(0.3)) || long {
            let note: String = format!("{value} ").repeat(400).chars().take(1900).collect();
            fields.insert("description".to_owned(), Some(note));
        }
        let args = RecordUpdateArgs {
            entity: entity.to_owned(),
            id: record.id.clone(),
            fields,
        };
        let token = Some((
            entity.to_owned(),
            record.id.clone(),
            field.to_owned(),
            value,
        ));
        let what = format!("edit {entity} {} {field}", short(&record.id));
        let facts = outpost_domain::security::RecordFacts::from_fields(&record.fields);
        let refused = self
            .user_action(d, what, token, async move {
                client.record_update(args).await.map(|_| ())
            })
            .await;
        // The device refuses only what the server would: the org's own rule, with the
        // record as the device saw it, must say no too.
        // A device that has not synced since the user's roles changed still decides with
        // the roles it knows.
        let user = self.devices[d].user;
        let generation = self.security_gen(user);
        let current = generation == 0 || self.devices[d].synced.get(&user) == Some(&generation);
        if refused && current && self.server_allows_write(d, entity, &facts).await? {
            let user = self.devices[d].user;
            self.ledger.refused_wrongly.push(format!(
                "d{d} u{user} was refused an edit of {entity} {} (owner {}) that the org's rules allow",
                record.id, facts.owner
            ));
        }
        Ok(())
    }

    /// Whether the org's security, as the server holds it now, lets the user signed in on
    /// `d` write a record with these facts.
    async fn server_allows_write(
        &self,
        d: usize,
        entity: &str,
        facts: &outpost_domain::security::RecordFacts,
    ) -> anyhow::Result<bool> {
        let user_id = self.users[self.devices[d].user].id.clone();
        let (entity, facts) = (entity.to_owned(), facts.clone());
        self.db()?
            .tx(move |c| {
                let org = outpost_server::org::Org::load(c)?;
                let def = org.metadata.entity(&entity)?;
                Ok(org.principal(&user_id)?.can(
                    def,
                    outpost_domain::security::Privilege::Write,
                    &facts,
                ))
            })
            .await
    }

    async fn user_create(&mut self, d: usize) {
        let Some(client) = self.client(d) else { return };
        let value = self.token();
        let args = RecordCreateArgs {
            entity: "account".to_owned(),
            fields: Fields::from([("name".to_owned(), Some(value.clone()))]),
        };
        let created = std::sync::Arc::new(std::sync::Mutex::new(None));
        let keep = Arc::clone(&created);
        self.user_action(d, "create account".into(), None, async move {
            let row = client.record_create(args).await?;
            *lock(&keep) = Some(row.id);
            Ok(())
        })
        .await;
        let id = lock(&created).take();
        if let Some(id) = id
            && let Some(op) = self.ledger.ops.last_mut()
            && op.what == "create account"
        {
            op.token = Some(("account".into(), id, "name".into(), value));
        }
    }

    async fn user_delete(&mut self, d: usize) {
        let user = self.devices[d].user;
        // Only what this user made here: deleting is rare and deliberate.
        let mine: Vec<String> = self
            .ledger
            .ops
            .iter()
            .filter(|o| o.device == d && o.user == user && o.what == "create account")
            .filter_map(|o| o.token.as_ref().map(|t| t.1.clone()))
            .collect();
        let held: BTreeSet<String> = self
            .held(d, "account")
            .await
            .into_iter()
            .map(|r| r.id)
            .collect();
        let candidates: Vec<&String> = mine.iter().filter(|id| held.contains(*id)).collect();
        if candidates.is_empty() {
            return;
        }
        let id = candidates[self.rng.with(|r| r.random_range(0..candidates.len()))].clone();
        let Some(client) = self.client(d) else { return };
        let what = format!("delete account {}", short(&id));
        self.user_action(d, what, None, async move {
            client
                .record_delete(RecordKey {
                    entity: "account".into(),
                    id,
                })
                .await
        })
        .await;
    }

    async fn resolve_errors(&mut self, d: usize) {
        let Some(client) = self.client(d) else { return };
        let errors = client.sync_errors().await.unwrap_or_default();
        for error in errors.into_iter().filter(|e| !e.resolving) {
            let choice = self.rng.with(|r| r.random_range(0..3));
            let resolution = match choice {
                0 => SyncErrorAction::KeepMine,
                1 => SyncErrorAction::TakeServer,
                _ if error.kind == "update" => SyncErrorAction::Resubmit {
                    fields: error.changes.clone(),
                },
                _ => SyncErrorAction::KeepMine,
            };
            let name = match &resolution {
                SyncErrorAction::KeepMine => "keep_mine",
                SyncErrorAction::TakeServer => "take_server",
                SyncErrorAction::Resubmit { .. } => "resubmit",
            };
            self.ledger
                .resolutions
                .insert(error.op_id.clone(), name.to_owned());
            let client = Arc::clone(&client);
            let args = SyncErrorResolveArgs {
                op_id: error.op_id.clone(),
                resolution,
            };
            let what = format!("resolve {} {name}", short(&error.op_id));
            // A resubmit is a new operation carrying the user's (edited) change.
            let token = self
                .ledger
                .ops
                .iter()
                .find(|o| o.op_id == error.op_id)
                .and_then(|o| o.token.clone());
            let token = token.filter(|_| name == "resubmit");
            self.user_action(d, what, token, async move {
                client.sync_error_resolve(args).await
            })
            .await;
        }
    }

    async fn sync(&mut self, d: usize) {
        let Some(client) = self.client(d) else { return };
        let crash = self.faults && self.rng.with(|r| r.random_bool(0.12));
        if crash {
            let nth = self.rng.with(|r| r.random_range(0..4));
            let after = self.rng.with(|r| r.random_bool(0.5));
            self.net.crash_at(d, nth, after);
        }
        let result = tokio::select! {
            biased;
            r = client.sync_now() => Some(r),
            () = wait_crash(&self.net, d) => None,
        };
        drop(client);
        self.net.take_crashed(d);
        match result {
            Some(result) => {
                self.synced(d, &result);
                self.disk_note(d, "sync", &result);
                let text = outcome(&result);
                self.log(format!("d{d} sync: {text}"));
                if let Err(CoreError::MetadataPending(_)) = result
                    && let Some(client) = self.client(d)
                {
                    self.accept_metadata(d, &client).await;
                }
            }
            None => {
                self.log(format!("d{d} crashed mid-sync"));
                self.devices[d].client = None;
                if let Err(e) = self.device_open(d) {
                    self.log(format!("d{d} reopens: {e}"));
                }
            }
        }
    }

    async fn sync_together(&mut self) {
        let (Some(a), Some(b)) = (self.client(0), self.client(1)) else {
            return;
        };
        let net = Arc::clone(&self.net);
        net.together(&[0, 1]);
        let one = |client: Arc<Client>, d: usize| {
            let net = Arc::clone(&net);
            async move {
                let result = client.sync_now().await;
                net.done(d);
                result
            }
        };
        let (ra, rb) = tokio::join!(one(a, 0), one(b, 1));
        net.apart();
        self.synced(0, &ra);
        self.synced(1, &rb);
        let (oa, ob) = (outcome(&ra.map(|_| ())), outcome(&rb.map(|_| ())));
        self.log(format!("d0+d1 sync together: {oa} / {ob}"));
    }

    fn crash_idle(&mut self, d: usize) -> anyhow::Result<()> {
        self.net.count("crash_idle");
        self.devices[d].client = None;
        self.log(format!("d{d} crashed while idle"));
        self.device_open(d)
    }

    fn keychain_fault(&mut self, d: usize) -> anyhow::Result<()> {
        let keys = Arc::clone(&self.devices[d].keys);
        if self.rng.with(|r| r.random_bool(0.5)) {
            self.net.count("keychain_entry_missing");
            keys.lose();
            self.log(format!("d{d} keychain loses its database keys"));
        } else {
            self.net.count("keychain_locked");
            keys.locked.store(true, Ordering::SeqCst);
            self.log(format!("d{d} keychain locked"));
        }
        // The app starts again with the keychain as it is now.
        self.devices[d].client = None;
        if let Err(e) = self.device_open(d) {
            self.log(format!("d{d} reopens: {e}"));
        }
        Ok(())
    }

    async fn sign_out(&mut self, d: usize) {
        let Some(client) = self.client(d) else { return };
        let wipe = self.rng.with(|r| r.random_bool(0.5));
        let result = client
            .session_sign_out(SignOutArgs {
                wipe,
                discard: None,
            })
            .await;
        let text = outcome(&result);
        self.log(format!("d{d} sign out (wipe {wipe}): {text}"));
        if wipe
            && matches!(result, Err(CoreError::UnsentWork(_)))
            && self.rng.with(|r| r.random_bool(0.3))
        {
            // The user reads what would be lost and says yes to exactly that.
            let unsent = client.session_unsent().await.unwrap_or_default();
            let before = self.outbox_ids(d).await;
            let drafts: Vec<String> = client
                .draft_list()
                .await
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.id)
                .collect();
            let result = client
                .session_sign_out(SignOutArgs {
                    wipe: true,
                    discard: Some(unsent),
                })
                .await;
            if result.is_ok() {
                self.ledger.discarded.extend(before);
                self.ledger.discarded_drafts.extend(drafts);
            }
            let text = outcome(&result.map(|_| ()));
            self.log(format!("d{d} sign out, discarding {unsent:?}: {text}"));
        }
    }

    /// The administrator changes a field of a record devices hold (conflicts).
    async fn admin_edit(&mut self) -> anyhow::Result<()> {
        // Mostly a record some device holds: that is where conflicts and field security
        // bite.
        let d = self.rng.with(|r| r.random_range(0..self.devices.len()));
        let held = self.held(d, "account").await;
        let id = if held.is_empty() || self.rng.with(|r| r.random_bool(0.2)) {
            self.server_pick_account().await?
        } else {
            Some(
                held[self.rng.with(|r| r.random_range(0..held.len()))]
                    .id
                    .clone(),
            )
        };
        let Some(id) = id else {
            return Ok(());
        };
        let value = format!("admin{}", self.trace.len());
        let op = serde_json::json!({
            "kind": "update", "entity": "account", "id": id,
            "changes": {"telephone1": value, "creditlimit": format!("{}.00", self.trace.len())},
            "before": {}
        });
        let changes = op["changes"].clone();
        let (status, body) = self.admin("POST", "/api/v1/operations", Some(op)).await?;
        if status == 200 {
            let version = body["row_version"]
                .as_u64()
                .context("the server's answer to an edit names no row version")?;
            self.net.note_admin("account", &id, changes, version);
        }
        self.log(format!("admin edits account {}: {status}", short(&id)));
        if status != 200 {
            self.log(format!("  {body}"));
        }
        Ok(())
    }

    /// The administrator gives an account to another of the simulated users.
    async fn admin_reassign(&mut self) -> anyhow::Result<()> {
        let Some(id) = self.server_pick_account().await? else {
            return Ok(());
        };
        let to = self.rng.with(|r| r.random_range(0..self.users.len()));
        let op = serde_json::json!({
            "kind": "assign", "entity": "account", "id": id,
            "owner": {"entity": "systemuser", "id": self.users[to].id}
        });
        let (status, _) = self.admin("POST", "/api/v1/operations", Some(op)).await?;
        self.log(format!(
            "admin gives account {} to u{to}: {status}",
            short(&id)
        ));
        Ok(())
    }

    /// An account owned by one of the simulated users.
    async fn server_pick_account(&self) -> anyhow::Result<Option<String>> {
        let owners: Vec<String> = self
            .users
            .iter()
            .map(|u| format!("systemuser:{}", u.id))
            .collect();
        let ids = self
            .db()?
            .tx(move |c| {
                let mut ids = Vec::new();
                let sql = format!(
                    "SELECT id, ownerid FROM {} WHERE _deleted = 0 ORDER BY id",
                    outpost_server::db::entity_table("account")
                );
                for row in c.query(&sql, &[])? {
                    let (id, owner) = (
                        outpost_server::db::string(&row[0])?,
                        outpost_server::db::string(&row[1]).unwrap_or_default(),
                    );
                    if owners
                        .iter()
                        .any(|o| owner.ends_with(o.trim_start_matches("systemuser:")))
                    {
                        ids.push(id);
                    }
                }
                Ok(ids)
            })
            .await?;
        if ids.is_empty() {
            return Ok(None);
        }
        Ok(Some(
            ids[self.rng.with(|r| r.random_range(0..ids.len()))].clone(),
        ))
    }

    /// The administrator grants or takes back the field profile that reads
    /// `account.creditlimit`, for one of the simulated users.
    async fn admin_field_security(&mut self) -> anyhow::Result<()> {
        // The user signed in on some device: a change that must reach a device in use.
        let d = self.rng.with(|r| r.random_range(0..self.devices.len()));
        let u = self.devices[d].user;
        let grant = !self.finance.contains(&u);
        self.field_security_set(u, grant).await
    }

    /// Changes user `u`'s security facts as an administrator would (the org's config
    /// version moves on, so devices learn of it); what `change` answers.
    pub(super) async fn user_security_edit<T: Send + 'static>(
        &self,
        u: usize,
        change: impl FnOnce(&mut outpost_domain::security::User) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let user_id = self.users[u].id.clone();
        self.db()?
            .write(move |c| {
                use outpost_server::org::{bump_config, key, setting, setting_set};
                let text = setting(c, key::SECURITY)?.context("security facts")?;
                let mut security: outpost_domain::security::OrgSecurity =
                    serde_json::from_str(&text)?;
                let user = security
                    .users
                    .get_mut(&user_id)
                    .context("the user has security facts")?;
                let answer = change(user);
                setting_set(c, key::SECURITY, &serde_json::to_string(&security)?)?;
                bump_config(c)?;
                Ok(answer)
            })
            .await
    }

    async fn field_security_set(&mut self, u: usize, grant: bool) -> anyhow::Result<()> {
        self.user_security_edit(u, move |user| {
            if grant {
                user.field_profiles
                    .insert(outpost_domain::demo::FINANCE_PROFILE.to_owned());
            } else {
                user.field_profiles
                    .remove(outpost_domain::demo::FINANCE_PROFILE);
            }
        })
        .await?;
        if grant {
            self.finance.insert(u);
        } else {
            self.finance.remove(&u);
        }
        self.log(format!(
            "admin {} u{u} reading account.creditlimit",
            if grant { "lets" } else { "stops" }
        ));
        Ok(())
    }

    /// The administrator revokes the device of the user signed in on `d` — reported lost
    /// (`wipe`) or not.
    async fn admin_revoke(&mut self, d: usize, lost: bool) -> anyhow::Result<()> {
        let Some(client) = self.client(d) else {
            return Ok(());
        };
        let Ok(status) = client.session_status().await else {
            return Ok(());
        };
        let (Some(device_id), Some(user_id)) = (status.device_id, status.user_id) else {
            return Ok(());
        };
        let body = serde_json::json!({"user": user_id, "wipe": lost});
        let (code, answer) = self
            .admin(
                "POST",
                &format!("/api/v1/admin/devices/{device_id}/revoke"),
                Some(body),
            )
            .await?;
        let u = self.devices[d].user;
        let done = (200..300).contains(&code);
        if lost && done {
            // A lost device's store goes with nothing kept: that is what "lost" means.
            self.ledger.lost.insert((d, u));
        }
        self.net.count(if lost {
            "device_lost"
        } else {
            "device_revoked"
        });
        self.log(format!(
            "admin revokes d{d} of u{u} (lost {lost}): {code} {}",
            if done {
                String::new()
            } else {
                answer.to_string()
            }
        ));
        Ok(())
    }

    /// The administrator switches offline off for the whole org (devices are told to
    /// wipe), or on again.
    async fn admin_provision(&mut self) -> anyhow::Result<()> {
        let on = !self.provisioned;
        let (_, mut settings) = self.admin("GET", "/api/v1/admin/settings", None).await?;
        settings["provisioned"] = serde_json::json!(on);
        let (code, body) = self
            .admin("PUT", "/api/v1/admin/settings", Some(settings))
            .await?;
        if code == 200 {
            self.provisioned = on;
            self.net
                .count(if on { "reprovision" } else { "deprovision" });
        }
        self.log(format!("admin provisions offline {on}: {code} {body}"));
        Ok(())
    }

    /// Every fault heals; every device signs in as its users in turn, restores what was
    /// sealed, and syncs until nothing is left to send.
    async fn heal(&mut self) -> anyhow::Result<()> {
        self.log("heal".into());
        self.net.set_rates(FaultRates::NONE);
        self.faults = false;
        self.net.heal();
        if self.db.is_none() {
            self.server_start().await?;
        }
        if !self.provisioned {
            self.admin_provision().await?;
        }
        for d in 0..self.devices.len() {
            if lock(&self.devices[d].disk).room.is_some() {
                self.disk_free(d);
            }
            self.devices[d].keys.heal();
            self.devices[d].client = None;
            self.device_open(d)?;
        }
        // Rounds until quiet: what one device sends, the others receive in the next; the
        // last round reads every store back.
        for round in 0..3 {
            for d in 0..self.devices.len() {
                let users: Vec<usize> = {
                    let device = &self.devices[d];
                    let mut users: Vec<usize> = device.users.iter().copied().collect();
                    // The last user last, so they are the one signed in at the end.
                    users.retain(|u| *u != device.user);
                    users.push(device.user);
                    users
                };
                for u in users {
                    self.heal_user(d, u).await;
                    if round == 2
                        && let Some(snap) = crate::model::snapshot(self, d).await
                    {
                        let accounts = snap.records.get("account").map_or(&[][..], Vec::as_slice);
                        let secret = accounts
                            .iter()
                            .filter(|r| r.fields.get("creditlimit").is_some_and(Option::is_some))
                            .count();
                        self.log(format!(
                            "d{d} u{u} holds {} accounts ({secret} with creditlimit), {} operations in its log; may read creditlimit: {}",
                            accounts.len(),
                            snap.outbox.len(),
                            self.finance.contains(&u)
                        ));
                        self.ledger.snapshots.insert((d, u), snap);
                    }
                }
            }
        }
        Ok(())
    }

    /// Signs `u` in on `d` unless they are still signed in there (signing in again would
    /// fetch their access afresh and hide a device that never learned of a change), puts
    /// back what was sealed, and syncs until nothing waits to be sent.
    async fn heal_user(&mut self, d: usize, u: usize) {
        let signed_in = match self.client(d) {
            Some(client) => client.session_status().await.ok().is_some_and(|s| {
                s.signed_in && s.username.as_deref() == Some(self.users[u].username.as_str())
            }),
            None => false,
        };
        if !signed_in {
            self.sign_in(d, u).await;
        }
        self.restore(d).await;
        for _ in 0..4 {
            let Some(client) = self.client(d) else { return };
            let result = client.sync_now().await;
            self.synced(d, &result);
            let text = outcome(&result);
            self.log(format!("d{d} heal sync: {text}"));
            match result {
                Err(CoreError::MetadataPending(_)) => self.accept_metadata(d, &client).await,
                // The session ended while the device was away: the user signs in again.
                Err(CoreError::NotSignedIn | CoreError::Unauthorized | CoreError::Wiped) => {
                    self.sign_in(d, u).await;
                    self.restore(d).await;
                }
                _ => {}
            }
            let waiting = client
                .sync_outbox()
                .await
                .unwrap_or_default()
                .iter()
                .any(|o| o.state == "pending" || o.state == "resolving");
            if !waiting && result.is_ok() {
                return;
            }
        }
    }

    /// The user says yes to the metadata update that waits.
    async fn accept_metadata(&mut self, d: usize, client: &Client) {
        let text = outcome(&client.metadata_accept().await);
        self.log(format!("d{d} accepts the metadata: {text}"));
    }

    /// Puts back every recovery file of the signed-in user (their choice, always yes).
    async fn restore(&mut self, d: usize) {
        let Some(client) = self.client(d) else { return };
        for file in client.recovery_list().await.unwrap_or_default() {
            if !file.restorable {
                let unsent = file.unsent;
                self.log(format!(
                    "d{d} keeps a recovery file it cannot restore: {unsent:?}"
                ));
                continue;
            }
            let result = client
                .recovery_restore(RecoveryRestoreArgs {
                    id: file.id.clone(),
                })
                .await;
            let text = outcome(&result.map(|_| ()));
            self.log(format!("d{d} restores a recovery file: {text}"));
        }
    }

    /// The world's time now (the server's clock).
    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.clock.at(0)
    }

    pub(crate) fn device_client(&self, d: usize) -> Option<Arc<Client>> {
        self.client(d)
    }

    pub(crate) fn server_db(&self) -> anyhow::Result<Db> {
        self.db()
    }

    pub(crate) fn net_violations(&self) -> &std::sync::Mutex<Vec<String>> {
        &self.net.violations
    }

    pub(crate) fn delivered(&self) -> Vec<crate::net::Delivered> {
        lock(&self.net.delivered).clone()
    }
}

async fn wait_crash(net: &Net, d: usize) {
    // Polled after every step of the sync future (biased select): a crash shows at once.
    loop {
        if net.is_crashed(d) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

pub(crate) fn short(id: &str) -> &str {
    &id[id.len().saturating_sub(17)..]
}

/// What a result says, without ids or times (the trace must replay exactly).
fn kind(e: &CoreError) -> String {
    match e {
        CoreError::Server { code, .. } => format!("server {code}"),
        other => format!("{other}"),
    }
}

fn outcome<T>(result: &Result<T, CoreError>) -> String {
    match result {
        Ok(_) => "ok".into(),
        Err(e) => kind(e),
    }
}
