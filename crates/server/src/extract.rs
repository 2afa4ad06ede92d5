//! Extractors whose rejections are [`ApiError`]s, so a malformed request gets the same
//! `{code, message}` body as every other error; and the client's address, which is the
//! socket peer's unless that peer is a reverse proxy the server was told to trust.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::{ApiError, AppState};

/// `Json<T>` that rejects with [`ApiError`] (`malformed`, or `too_large` → 413).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// The reverse proxies whose `X-Forwarded-For` the server believes (`--trusted-proxy`):
/// address ranges. Empty by default: every header a client sends is ignored.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl FromIterator<IpNet> for TrustedProxies {
    fn from_iter<I: IntoIterator<Item = IpNet>>(ranges: I) -> Self {
        Self(ranges.into_iter().collect())
    }
}

impl TrustedProxies {
    /// One range: a CIDR (`10.0.0.0/8`, `fd00::/8`) or a single address.
    ///
    /// # Errors
    /// Neither, said in words (a command-line flag's parser).
    pub fn range(text: &str) -> Result<IpNet, String> {
        let text = text.trim();
        text.parse::<IpNet>()
            .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| format!("`{text}` is not an address range (CIDR) or address"))
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(&address))
    }

    /// The client behind `peer`: `peer` itself unless it is a trusted proxy; then the
    /// rightmost `X-Forwarded-For` address that is not a trusted proxy, walking right to
    /// left — each trusted proxy appended the address it heard from, so what lies left of
    /// the first untrusted one was written by the client and proves nothing. When every
    /// address is trusted, the leftmost; when the walk meets an entry that is not an
    /// address, the last trusted hop (the client cannot pick its address with junk).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        // Split the raw bytes: a value holding a byte that is not text must not drop the
        // addresses the trusted proxies appended to it (that entry alone is junk).
        let chain: Vec<&[u8]> = headers
            .get_all("x-forwarded-for")
            .iter()
            .flat_map(|value| value.as_bytes().split(|b| *b == b','))
            .collect();
        for hop in chain.into_iter().rev() {
            let Some(address) = std::str::from_utf8(hop).ok().and_then(forwarded_address) else {
                return client;
            };
            client = address;
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry as an address: `192.0.2.1`, `2001:db8::1`, or either
/// with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`) as some proxies write them.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

/// The client's address as sign-in limits count it ([`crate::auth::address_key`]): the
/// socket peer the server was told of (`ConnectInfo`) — or, when that peer is a trusted
/// reverse proxy, the client it forwarded for ([`TrustedProxies::client`]) — or
/// `unknown` when the server was told of no peer (a router driven in-process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress
where
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let proxies = &AppState::from_ref(state).trusted_proxies;
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or_else(
                    || "unknown".to_owned(),
                    |c| crate::auth::address_key(proxies.client(c.0.ip(), &parts.headers)),
                ),
        ))
    }
}

#[cfg(test)]
mod tests;
