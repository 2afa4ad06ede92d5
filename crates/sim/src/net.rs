//! The simulated network: every device's requests reach the real server's router
//! in-process, through faults drawn from the run's one seeded RNG — dropped before the
//! server saw them, or after it committed (the answer lost), duplicated, delayed (on the
//! paused clock, so requests of devices syncing together reorder), partitions, a server
//! that is down, and a device that crashes while it waits for an answer.
//!
//! The server takes one request at a time (a fair lock): which request goes first is
//! decided by the simulated delays alone, so a seed replays exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use outpost_core::{HttpRequest, HttpResponse, Sent, Transport};
use rand::Rng as _;
use tower::ServiceExt as _;

use crate::Rng;

/// How likely each fault is, per request.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub delay: f64,
    pub drop_before: f64,
    pub drop_after: f64,
    pub duplicate: f64,
}

impl FaultRates {
    pub const NONE: FaultRates = FaultRates {
        delay: 0.0,
        drop_before: 0.0,
        drop_after: 0.0,
        duplicate: 0.0,
    };
    pub const FULL: FaultRates = FaultRates {
        delay: 0.3,
        drop_before: 0.04,
        drop_after: 0.04,
        duplicate: 0.03,
    };
}

/// What the network shares between devices.
pub struct Net {
    rng: Rng,
    router: Mutex<Option<Router>>,
    rates: Mutex<FaultRates>,
    partitioned: Mutex<BTreeSet<usize>>,
    /// The server's one-at-a-time lock (FIFO).
    server: tokio::sync::Mutex<()>,
    /// Faults injected, by kind.
    pub faults: Mutex<BTreeMap<&'static str, u64>>,
    /// What reached the server, in order: each pushed operation the first time (its id
    /// and JSON), each resolution, each administrator's change (noted by the world).
    pub delivered: Mutex<Vec<Delivered>>,
    /// A device told to crash at its next request that reaches this point: `before` the
    /// server sees it or `after` it answered.
    crash: Mutex<BTreeMap<usize, (u32, bool)>>,
    crashed: Mutex<BTreeSet<usize>>,
    /// Devices syncing together take turns here ([`Turnstile`]).
    together: Mutex<Option<Turnstile>>,
    /// Each pushed op's answer the first time the server gave one: a resend must get the
    /// same (exactly once, seen on the wire).
    answers: Mutex<BTreeMap<String, String>>,
    /// What the network saw break while the run went on.
    pub violations: Mutex<Vec<String>>,
}

/// Devices syncing at the same time reach the server in an order decided by their
/// simulated delays alone: a request waits until every device of the group is waiting
/// (or done), then the one with the smallest delay goes. No real time decides anything,
/// so a seed replays exactly however busy the machine is.
#[derive(Default)]
struct Turnstile {
    participants: BTreeSet<usize>,
    finished: BTreeSet<usize>,
    waiting: BTreeMap<(u64, usize), tokio::sync::oneshot::Sender<()>>,
    running: bool,
}

impl Turnstile {
    fn release(&mut self) {
        let active = self.participants.len() - self.finished.len();
        if self.running || self.waiting.is_empty() || self.waiting.len() < active {
            return;
        }
        if let Some((_, go)) = self.waiting.pop_first() {
            self.running = true;
            let _ = go.send(());
        }
    }
}

impl Net {
    pub fn new(rng: Rng) -> Arc<Self> {
        Arc::new(Self {
            rng,
            router: Mutex::new(None),
            rates: Mutex::new(FaultRates::FULL),
            partitioned: Mutex::new(BTreeSet::new()),
            server: tokio::sync::Mutex::new(()),
            faults: Mutex::new(BTreeMap::new()),
            delivered: Mutex::new(Vec::new()),
            crash: Mutex::new(BTreeMap::new()),
            crashed: Mutex::new(BTreeSet::new()),
            together: Mutex::new(None),
            answers: Mutex::new(BTreeMap::new()),
            violations: Mutex::new(Vec::new()),
        })
    }

    pub fn count(&self, kind: &'static str) {
        *lock(&self.faults).entry(kind).or_default() += 1;
    }

    pub fn set_router(&self, router: Option<Router>) {
        *lock(&self.router) = router;
    }

    pub fn set_rates(&self, rates: FaultRates) {
        *lock(&self.rates) = rates;
    }

    pub fn partition(&self, device: usize, cut: bool) {
        let mut set = lock(&self.partitioned);
        if cut {
            set.insert(device);
        } else {
            set.remove(&device);
        }
    }

    pub fn heal(&self) {
        lock(&self.partitioned).clear();
    }

    pub fn is_partitioned(&self, device: usize) -> bool {
        lock(&self.partitioned).contains(&device)
    }

    /// The device crashes at its `nth` request from now (0: the next), before the server
    /// sees it or after the server answered.
    pub fn crash_at(&self, device: usize, nth: u32, after: bool) {
        lock(&self.crash).insert(device, (nth, after));
    }

    pub fn is_crashed(&self, device: usize) -> bool {
        lock(&self.crashed).contains(&device)
    }

    /// Whether the device crashed (and forgets it).
    pub fn take_crashed(&self, device: usize) -> bool {
        lock(&self.crash).remove(&device);
        lock(&self.crashed).remove(&device)
    }

    /// `devices` sync at the same time from now until [`Net::apart`].
    pub fn together(&self, devices: &[usize]) {
        *lock(&self.together) = Some(Turnstile {
            participants: devices.iter().copied().collect(),
            ..Turnstile::default()
        });
    }

    /// `device` is done syncing with the group.
    pub fn done(&self, device: usize) {
        if let Some(t) = lock(&self.together).as_mut() {
            t.finished.insert(device);
            t.release();
        }
    }

    pub fn apart(&self) {
        *lock(&self.together) = None;
    }

    /// Waits for `device`'s turn when it syncs with a group: `Some(delay)` drawn for it.
    async fn turn(&self, device: usize, delay: u64) {
        let wait = {
            let mut together = lock(&self.together);
            let Some(t) = together.as_mut() else { return };
            if !t.participants.contains(&device) {
                return;
            }
            let (go, wait) = tokio::sync::oneshot::channel();
            t.waiting.insert((delay, device), go);
            t.release();
            wait
        };
        let _ = wait.await;
    }

    /// The request of a device syncing with a group has been answered.
    fn turn_over(&self, device: usize) {
        if let Some(t) = lock(&self.together).as_mut()
            && t.participants.contains(&device)
        {
            t.running = false;
            t.release();
        }
    }

    pub fn transport(self: &Arc<Self>, device: usize) -> Arc<dyn Transport> {
        Arc::new(DeviceNet {
            net: Arc::clone(self),
            device,
        })
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0 && self.rng.with(|r| r.random_bool(p.min(1.0)))
    }

    /// Whether this request crashes the device: `Some(after)`.
    fn crash_now(&self, device: usize) -> Option<bool> {
        let mut crash = lock(&self.crash);
        let (n, after) = crash.get_mut(&device)?;
        if *n > 0 {
            *n -= 1;
            return None;
        }
        let after = *after;
        crash.remove(&device);
        Some(after)
    }

    async fn send(
        self: Arc<Self>,
        device: usize,
        request: HttpRequest,
    ) -> Result<HttpResponse, String> {
        let rates = *lock(&self.rates);
        if self.is_partitioned(device) {
            self.count("partitioned_request");
            return Err("the network is cut".into());
        }
        let mut ms = 0;
        if self.roll(rates.delay) {
            self.count("delay");
            ms = self.rng.with(|r| r.random_range(1..800));
        }
        if lock(&self.together).is_some() {
            // In a group, the delay orders the requests instead of a timer.
            self.turn(device, ms).await;
            let answer = self.deliver(device, request, rates).await;
            self.turn_over(device);
            return answer;
        }
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        self.deliver(device, request, rates).await
    }

    /// Past the delay: the request's fate at and after the server.
    async fn deliver(
        &self,
        device: usize,
        request: HttpRequest,
        rates: FaultRates,
    ) -> Result<HttpResponse, String> {
        let crash = self.crash_now(device);
        if crash == Some(false) {
            self.count("crash_before_send");
            return self.hang(device).await;
        }
        if self.roll(rates.drop_before) {
            self.count("drop_before_server");
            return Err("connection reset before the server read it".into());
        }
        let _one_at_a_time = self.server.lock().await;
        let Some(router) = lock(&self.router).clone() else {
            self.count("server_down_request");
            return Err("connection refused: the server is down".into());
        };
        self.note_delivery(device, &request);
        let mut answer = call(&router, device, &request).await?;
        self.note_answer(&request, &answer);
        if self.roll(rates.duplicate) {
            self.count("duplicate");
            answer = call(&router, device, &request).await?;
            self.note_answer(&request, &answer);
        }
        if crash == Some(true) {
            self.count("crash_after_server");
            drop(_one_at_a_time);
            return self.hang(device).await;
        }
        if self.roll(rates.drop_after) {
            self.count("drop_after_server");
            return Err("connection reset: the answer was lost".into());
        }
        Ok(answer)
    }

    /// A crashed device waits forever: the simulation drops it (all its memory) instead.
    async fn hang(&self, device: usize) -> Result<HttpResponse, String> {
        lock(&self.crashed).insert(device);
        std::future::pending().await
    }

    fn note_delivery(&self, device: usize, request: &HttpRequest) {
        let Some(body) = &request.body else { return };
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return;
        };
        let mut seen = lock(&self.delivered);
        if request.url.ends_with("/sync/push") {
            for op in json["ops"].as_array().into_iter().flatten() {
                let Some(id) = op["op_id"].as_str() else {
                    continue;
                };
                let first = !seen
                    .iter()
                    .any(|s| matches!(s, Delivered::Op { op_id, .. } if op_id == id));
                if first {
                    seen.push(Delivered::Op {
                        device,
                        op_id: id.to_owned(),
                        op: op["op"].clone(),
                    });
                }
            }
        } else if let Some(rest) = request.url.split("/sync/ops/").nth(1) {
            let op_id = rest.trim_end_matches("/resolve").to_owned();
            seen.push(Delivered::Resolve {
                op_id,
                action: json["action"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }

    /// Checks a push's answer against the first answer for each of its ops.
    fn note_answer(&self, request: &HttpRequest, answer: &HttpResponse) {
        if !request.url.ends_with("/sync/push") || answer.status != 200 {
            return;
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&answer.body) else {
            return;
        };
        let mut answers = lock(&self.answers);
        for outcome in json["outcomes"].as_array().into_iter().flatten() {
            let Some(id) = outcome["op_id"].as_str() else {
                continue;
            };
            let result = outcome["result"].to_string();
            match answers.get(id) {
                Some(first) if *first != result => lock(&self.violations).push(format!(
                    "op {id} was answered {first} and, sent again, {result}: not exactly once"
                )),
                Some(_) => {}
                None => {
                    answers.insert(id.to_owned(), result);
                }
            }
        }
    }

    /// Notes a change the administrator made on the server.
    pub fn note_admin(&self, entity: &str, id: &str, changes: serde_json::Value, version: u64) {
        lock(&self.delivered).push(Delivered::Admin {
            entity: entity.to_owned(),
            id: id.to_owned(),
            changes,
            version,
        });
    }
}

/// Something that reached the server.
#[derive(Debug, Clone)]
pub enum Delivered {
    /// A pushed operation, the first time it arrived.
    Op {
        device: usize,
        op_id: String,
        op: serde_json::Value,
    },
    /// A device's resolution of one of its sync errors (`apply` or `discard`).
    Resolve { op_id: String, action: String },
    /// An administrator's change.
    Admin {
        entity: String,
        id: String,
        changes: serde_json::Value,
        /// The row version the server gave the record (the server's order).
        version: u64,
    },
}

struct DeviceNet {
    net: Arc<Net>,
    device: usize,
}

impl Transport for DeviceNet {
    fn send(&self, request: HttpRequest) -> Sent {
        Box::pin(Arc::clone(&self.net).send(self.device, request))
    }
}

/// One request through the router, from the device's own loopback address.
pub async fn call(
    router: &Router,
    device: usize,
    request: &HttpRequest,
) -> Result<HttpResponse, String> {
    let path = request
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
        .ok_or_else(|| format!("not an address: {}", request.url))?;
    let mut builder = axum::http::Request::builder()
        .method(request.method)
        .uri(path);
    if let Some(token) = &request.bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in request.version_headers() {
        builder = builder.header(name, value);
    }
    let body = match &request.body {
        Some(body) => {
            builder = builder.header("content-type", "application/json");
            Body::from(body.clone())
        }
        None => Body::empty(),
    };
    let mut req = builder.body(body).map_err(|e| e.to_string())?;
    let octet = u8::try_from(device % 200).unwrap_or(0) + 10;
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(SocketAddr::from((
            [127, 0, 0, octet],
            40_000,
        ))));
    let res = router
        .clone()
        .oneshot(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    Ok(HttpResponse {
        status,
        body: body.to_vec(),
    })
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
