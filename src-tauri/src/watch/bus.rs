//! The D-Bus a source is read from: the system bus, or another one named by an environment
//! variable (tests run fake services on their session bus).

use anyhow::Context as _;

/// Where a system service is reached.
#[derive(Debug, Clone, Default)]
pub(super) struct Bus {
    /// A D-Bus address (`unix:path=…`); `None`: the system bus.
    address: Option<String>,
}

impl Bus {
    /// The bus at the address in `var` when it is set, else the system bus.
    pub(super) fn from_env(var: &str) -> Self {
        Self {
            address: std::env::var(var).ok().filter(|a| !a.is_empty()),
        }
    }

    /// The bus at `address`.
    pub(super) fn at(address: impl Into<String>) -> Self {
        Self {
            address: Some(address.into()),
        }
    }

    /// The bus's name in messages.
    pub(super) fn name(&self) -> &str {
        self.address.as_deref().unwrap_or("the system bus")
    }

    /// A connection to it.
    pub(super) async fn connect(&self) -> anyhow::Result<zbus::Connection> {
        let connection = match &self.address {
            Some(address) => {
                zbus::connection::Builder::address(address.as_str())
                    .build()
                    .await
            }
            None => zbus::Connection::system().await,
        };
        connection.with_context(|| format!("connecting to {}", self.name()))
    }
}

/// Passes each new value of a property on, skipping repeats, until the stream ends. The
/// stream yields the current value first, then each change; zbus keeps only the latest,
/// so a quick change and change back may arrive as one unchanged value (dropped).
pub(super) async fn forward<'a, T>(
    mut changes: zbus::proxy::PropertyStream<'a, T>,
    what: &'static str,
    to_bool: impl Fn(T) -> bool,
    mut on_change: impl FnMut(bool),
) -> anyhow::Result<()>
where
    T: serde::de::DeserializeOwned + zbus::zvariant::Type + Unpin,
{
    use futures_util::StreamExt as _;
    let mut last = None;
    while let Some(change) = changes.next().await {
        let now = to_bool(
            change
                .get()
                .await
                .with_context(|| format!("reading {what}"))?,
        );
        if last != Some(now) {
            last = Some(now);
            on_change(now);
        }
    }
    Ok(())
}
