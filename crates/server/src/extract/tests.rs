use super::*;

/// The client `TrustedProxies` of 10.0.0.0/8 and fd00::/8 names for a request from
/// `peer` with these `X-Forwarded-For` headers.
fn client(peer: &str, forwarded_for: &[&str]) -> String {
    let proxies: TrustedProxies = ["10.0.0.0/8", " fd00::/8 "]
        .into_iter()
        .map(TrustedProxies::range)
        .collect::<Result<_, _>>()
        .expect("ranges parse");
    let mut headers = HeaderMap::new();
    for value in forwarded_for {
        headers.append("x-forwarded-for", value.parse().expect("a header value"));
    }
    proxies
        .client(peer.parse().expect("an address"), &headers)
        .to_string()
}

#[test]
fn the_client_is_the_rightmost_forwarded_address_no_trusted_proxy_owns() {
    for (peer, chain, expected, what) in [
        (
            "203.0.113.7",
            &["198.51.100.1"][..],
            "203.0.113.7",
            "an untrusted peer's header is ignored",
        ),
        (
            "10.0.0.1",
            &[],
            "10.0.0.1",
            "a trusted peer that forwards for no one is the client",
        ),
        ("10.0.0.1", &["203.0.113.7"], "203.0.113.7", "one proxy"),
        (
            "10.0.0.1",
            &["198.51.100.1, 203.0.113.7, 10.0.0.2"],
            "203.0.113.7",
            "what the client wrote left of its own address is ignored",
        ),
        (
            "10.0.0.1",
            &["198.51.100.1", "203.0.113.7,10.0.0.2"],
            "203.0.113.7",
            "several headers read as one list, in order",
        ),
        (
            "10.0.0.1",
            &["10.0.0.3, 10.0.0.2"],
            "10.0.0.3",
            "all trusted: the leftmost",
        ),
        (
            "10.0.0.1",
            &["203.0.113.7:4711"],
            "203.0.113.7",
            "an entry with a port",
        ),
        (
            "10.0.0.1",
            &["[2001:db8::7]:4711"],
            "2001:db8::7",
            "an IPv6 entry with a port",
        ),
        (
            "::ffff:10.0.0.1",
            &["203.0.113.7"],
            "203.0.113.7",
            "a peer as an IPv4-mapped IPv6 address",
        ),
        (
            "fd00::1",
            &["::ffff:203.0.113.7"],
            "203.0.113.7",
            "an IPv6 proxy forwarding a mapped address",
        ),
        (
            "10.0.0.1",
            &["198.51.100.1, unknown, 10.0.0.2"],
            "10.0.0.2",
            "junk stops the walk at the last trusted hop",
        ),
        ("10.0.0.1", &[""], "10.0.0.1", "an empty header"),
    ] {
        assert_eq!(
            client(peer, chain),
            expected,
            "{what}: {peer} with {chain:?}"
        );
    }
}

#[test]
fn a_trusted_range_is_a_cidr_or_one_address() {
    assert_eq!(
        TrustedProxies::range("192.0.2.9").map(|r| r.to_string()),
        Ok("192.0.2.9/32".to_owned()),
        "one address is a range of one"
    );
    assert!(
        TrustedProxies::range("10.0.0.0/33").is_err() && TrustedProxies::range("proxy").is_err(),
        "anything else is refused"
    );
}

#[test]
fn a_forwarded_chain_holding_bytes_that_are_not_text_keeps_the_addresses_the_proxies_appended() {
    let proxies: TrustedProxies = std::iter::once("10.0.0.0/8")
        .map(TrustedProxies::range)
        .collect::<Result<_, _>>()
        .expect("ranges parse");
    let mut headers = HeaderMap::new();
    headers.append(
        "x-forwarded-for",
        axum::http::HeaderValue::from_bytes(b"caf\xe9, 203.0.113.7").expect("a header value"),
    );
    assert_eq!(
        proxies
            .client("10.0.0.1".parse().expect("an address"), &headers)
            .to_string(),
        "203.0.113.7",
        "the client the proxy appended counts, not the proxy"
    );
}
