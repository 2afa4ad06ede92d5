//! Passwords: Argon2id PHC strings, and checking them a bounded few at a time.
//!
//! A check costs [`Params::DEFAULT_M_COST`] KiB (19 MiB) of memory and a core for a
//! moment, and anyone may ask for one by signing in — with a user name that does not
//! exist too, which is checked against a fixed hash at the same cost. So checks run
//! through [`PasswordChecks`]: at most as many at once as it has slots (one memory area
//! each, allocated once and reused, so the memory a burst of sign-ins costs is bounded by
//! the slots, never by the burst), a bounded queue waits for a slot, and past it a
//! sign-in is answered `busy` (503 with `Retry-After`) at once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Sign-ins that may wait for a slot, per slot.
pub const QUEUE_PER_SLOT: usize = 32;

/// Hashes a password into a PHC string (Argon2id, default parameters, a fresh random
/// salt).
///
/// # Errors
/// When hashing fails (it does not with the default parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// A random password for the demo org's users when none is given: 128 random bits as 32
/// lowercase hex digits (one word: a double-click selects it whole).
pub fn demo_password() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    hex::encode(bytes)
}

/// A hash that no password matches, checked when the user name is unknown so that a
/// wrong name and a wrong password cost the same.
pub static UNKNOWN_USER_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&crate::auth::new_token()).unwrap_or_default());

/// Whether `password` matches the PHC string `phc`, computed in `memory` (grown to what
/// the hash's parameters need, then kept for the next check); the outputs are compared
/// in constant time.
pub fn verify_in(password: &str, phc: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..blocks])
        .is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Too many sign-ins are waiting for a password check: answer `busy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Password checks, a bounded few at a time (see the module docs); cheap to clone.
#[derive(Clone)]
pub struct PasswordChecks {
    slots: Arc<tokio::sync::Semaphore>,
    /// The memory areas of free slots (one is taken with each permit).
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Places for checks waiting or running: running ones plus the queue. A place is a
    /// permit held by the sign-in's future, so it is given back however that ends —
    /// answered, or dropped while it waits because its client went away.
    places: Arc<tokio::sync::Semaphore>,
    /// Most checks admitted at once.
    max_admitted: usize,
    /// Checks running now, and the most ever seen running at once.
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl PasswordChecks {
    /// `slots` checks at once (at least 1), and up to `queue` more waiting.
    pub fn new(slots: usize, queue: usize) -> Self {
        let slots = slots.max(1);
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            memory: Arc::new(Mutex::new(Vec::new())),
            places: Arc::new(tokio::sync::Semaphore::new(slots + queue)),
            max_admitted: slots + queue,
            running: Arc::new(AtomicUsize::new(0)),
            peak: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// As many slots as the machine runs threads at once (at least 2), each with
    /// [`QUEUE_PER_SLOT`] waiting.
    pub fn for_this_machine() -> Self {
        let slots = std::thread::available_parallelism()
            .map(std::num::NonZero::get)
            .unwrap_or(2)
            .max(2);
        Self::new(slots, slots * QUEUE_PER_SLOT)
    }

    /// Checks admitted now: running, or waiting for a slot.
    pub fn admitted(&self) -> usize {
        self.max_admitted - self.places.available_permits()
    }

    /// The most checks that ever ran at once.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Runs `work` with a slot's memory on the blocking pool once a slot is free.
    ///
    /// Dropping the future (its client went away) gives its place in the queue back at
    /// once; a check already running still finishes on the blocking pool, holding its
    /// slot (so the memory bound holds) until it does.
    ///
    /// # Errors
    /// [`Busy`] at once when the queue is full; a failed task as `anyhow`.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<Result<T, Busy>> {
        let Ok(_place) = Arc::clone(&self.places).try_acquire_owned() else {
            return Ok(Err(Busy));
        };
        self.run_admitted(work).await.map(Ok)
    }

    async fn run_admitted<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let permit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|e| anyhow::anyhow!("the password slots closed: {e}"))?;
        let memory = Arc::clone(&self.memory);
        let (running, peak) = (Arc::clone(&self.running), Arc::clone(&self.peak));
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let mut area = memory
                .lock()
                .map(|mut free| free.pop().unwrap_or_default())
                .unwrap_or_default();
            let out = work(&mut area);
            if let Ok(mut free) = memory.lock() {
                free.push(area);
            }
            running.fetch_sub(1, Ordering::SeqCst);
            out
        })
        .await
        .map_err(|e| anyhow::anyhow!("a password check failed: {e}"))
    }

    /// Whether `password` matches `phc` ([`verify_in`]), once a slot is free.
    ///
    /// # Errors
    /// See [`PasswordChecks::run`].
    pub async fn verify(
        &self,
        password: String,
        phc: String,
    ) -> anyhow::Result<Result<bool, Busy>> {
        self.run(move |memory| verify_in(&password, &phc, memory))
            .await
    }
}

#[cfg(test)]
mod tests;
