//! NetworkManager's `State` over D-Bus (`org.freedesktop.NetworkManager`): whether the
//! machine has a network at all. Announced with `PropertiesChanged` on each change.

use anyhow::Context as _;

use super::Watcher;
use super::bus::{Bus, forward};

/// The environment variable that points the network watcher at another bus than the
/// system bus (a D-Bus address); tests run a fake NetworkManager on their session bus.
pub const NETWORK_MANAGER_ADDRESS_VAR: &str = "OUTPOST_NETWORK_MANAGER_ADDRESS";

#[zbus::proxy(
    interface = "org.freedesktop.NetworkManager",
    default_service = "org.freedesktop.NetworkManager",
    default_path = "/org/freedesktop/NetworkManager"
)]
trait Manager {
    /// `NMState`: 10 asleep, 20 disconnected, 30 disconnecting, 40 connecting, 50
    /// connected to the local network only, 60 site, 70 global; 0 unknown.
    #[zbus(property)]
    fn state(&self) -> zbus::Result<u32>;
}

/// Whether an `NMState` means a network the org server may be reached over. A local-only
/// or site-only connection counts (the server may be on the company network); unknown
/// counts too, so a NetworkManager that cannot tell never keeps sync offline.
pub fn network_is_up(state: u32) -> bool {
    state == 0 || state >= 50
}

/// NetworkManager's view of the machine's network: `true` while one is up.
#[derive(Debug, Clone, Default)]
pub struct NetworkManager {
    bus: Bus,
}

impl NetworkManager {
    /// On the system bus, or on the bus at [`NETWORK_MANAGER_ADDRESS_VAR`] when it is set.
    pub fn from_env() -> Self {
        Self {
            bus: Bus::from_env(NETWORK_MANAGER_ADDRESS_VAR),
        }
    }

    /// On the bus at `address` (a D-Bus address such as `unix:path=…`).
    pub fn at(address: impl Into<String>) -> Self {
        Self {
            bus: Bus::at(address),
        }
    }
}

/// Passes states on from the first "up": "down" before it is dropped.
fn once_up(mut on_change: impl FnMut(bool)) -> impl FnMut(bool) {
    let mut seen_up = false;
    move |up| {
        seen_up |= up;
        if seen_up {
            on_change(up);
        }
    }
}

/// Reports the network up, and each change; a machine that is down when watching starts
/// is not reported down until it has been up. NetworkManager may not manage the
/// interface actually in use (systemd-networkd, some VPNs and containers) and then says
/// "disconnected" for good; sync's own probes decide then, instead of a hint that would
/// hold it offline.
impl Watcher for NetworkManager {
    async fn watch(self, on_change: impl FnMut(bool) + Send + 'static) -> anyhow::Result<()> {
        let connection = self.bus.connect().await?;
        let manager = ManagerProxy::new(&connection).await?;
        // Asked once first, so a bus without NetworkManager is an error now rather than a
        // stream that never yields.
        manager.state().await.with_context(|| {
            format!("asking NetworkManager on {} for its state", self.bus.name())
        })?;
        let changes = manager.receive_state_changed().await;
        forward(changes, "State", network_is_up, once_up(on_change)).await
    }
}

#[cfg(test)]
mod tests {
    use super::{network_is_up, once_up};

    #[test]
    fn down_is_passed_on_only_after_the_network_was_up_once() {
        let mut seen = Vec::new();
        let mut pass = once_up(|up| seen.push(up));
        for up in [false, false, true, false, true] {
            pass(up);
        }
        drop(pass);
        assert_eq!(seen, [true, false, true]);
    }

    #[test]
    fn connected_states_and_unknown_are_up_the_rest_down() {
        let up: Vec<u32> = [0, 10, 20, 30, 40, 50, 60, 70]
            .into_iter()
            .filter(|&s| network_is_up(s))
            .collect();
        assert_eq!(up, [0, 50, 60, 70]);
    }
}
