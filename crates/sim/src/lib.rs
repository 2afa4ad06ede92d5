//! `outpost-sim`: the reliability test of record (DESIGN §10, issue 14).
//!
//! One seed drives one run: a few devices (the real core [`outpost_core::Client`] on real
//! SQLCipher files), the real server (its router in-process over an SQLite file, or over a
//! real PostgreSQL with [`Options::postgres`] — a seed takes the same course on both), and a
//! simulated network ([`net`]), keychain, clock and disk. Users edit, create, delete,
//! resolve conflicts, run commands (qualify, close won or lost, resolve a case, complete
//! an activity), move records through their flows, follow and unfollow, keep drafts,
//! share a tablet, sign out with work pending; administrators edit the same records,
//! reassign them, change field security, give and take security roles, assign and
//! republish offline profiles, narrow and widen entity filters, revoke and wipe devices,
//! deprovision; faults drop, duplicate, delay and reorder requests, cut devices off, crash
//! devices at any request and restart the server, lose keychain entries, move clocks on
//! by days and fill a device's disk in the middle of a pull page or an edit. Then every
//! fault heals, every device syncs until quiet, and an independent model ([`model`],
//! [`scope`]) checks what must hold: every operation a user made is applied exactly once
//! or kept as a sync error still holding its data (none lost, none doubled), what applied
//! commands, flow moves and follows did is on the server, every draft is on its device
//! or saved as the user left it, devices hold the server's values, exactly their user's
//! scope and no field they may not read, parked operations wait only behind their own
//! records, and every store passes `PRAGMA integrity_check`.
//!
//! [`outpost_domain::mutant`] re-introduces known bugs; [`run`] with one must find a
//! violation (`cargo xtask sim --mutant NAME`).

// A test tool, not a library anyone builds on: its public items are documented where it
// helps the reader of a failing run, not field by field.
#![allow(missing_docs)]

pub mod model;
pub mod net;
pub mod scope;
mod world;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use outpost_domain::mutant::Mutant;
use rand::SeedableRng as _;

/// The run's one source of randomness, shared by the network and the world.
#[derive(Clone)]
pub struct Rng(Arc<Mutex<rand::rngs::StdRng>>);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(
            seed,
        ))))
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut rand::rngs::StdRng) -> T) -> T {
        f(&mut net::lock(&self.0))
    }
}

/// What one run found.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub seed: u64,
    /// A hash of everything the run did and saw: the same seed gives the same hash.
    pub trace_hash: String,
    /// The last lines of the trace, for a failing seed.
    pub trace: Vec<String>,
    /// Invariants that did not hold.
    pub violations: Vec<String>,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// Operations users made.
    pub ops: u64,
}

/// How a run is set up.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Steps before the run heals and checks.
    pub steps: u32,
    /// The re-introduced bug, if any.
    pub mutant: Option<Mutant>,
    /// The port of a PostgreSQL server (user `outpost`, trusted on loopback) to keep the
    /// server's data on, in a database of the run's own; `None`: an SQLite file.
    pub postgres: Option<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            steps: 120,
            mutant: None,
            postgres: None,
        }
    }
}

/// Runs one seed on its own single-threaded runtime with a paused clock.
///
/// # Errors
/// When the world cannot be set up (a temp dir, the server's database).
pub fn run(seed: u64, options: Options) -> anyhow::Result<RunReport> {
    // The mutant switch is process-wide: runs in one process take turns.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = net::lock(&ONE_AT_A_TIME);
    outpost_domain::mutant::set(options.mutant);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let result = runtime.block_on(world::run(seed, options));
    outpost_domain::mutant::set(None);
    result
}
