//! Scenario: two `outpost-server` processes share one PostgreSQL (S16, issue 4 §7); a device
//! alternates between them page by page.
//! Must hold: the pages acknowledged on one process continue on the other; a push resent
//! to the other process is applied once; an admin change made through one is honoured by
//! the other at once; when one process dies, the other serves on.

use std::collections::BTreeSet;

use outpost_testkit::{DEMO_PASSWORD, PgServer, ServerProcess};
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.request(method, url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await?;
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{status}: {body}");
        Ok(body)
    }

    async fn login(
        &self,
        server: &ServerProcess,
        user: &str,
        device: &str,
    ) -> anyhow::Result<String> {
        let body = json!({"username": user, "password": DEMO_PASSWORD, "device_id": device});
        let answer = self
            .send(
                reqwest::Method::POST,
                format!("{}/api/v1/auth/login", server.url()),
                None,
                Some(body),
            )
            .await?;
        Ok(answer["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Pulls to the end, alternating between `servers`; the (entity, id) set held.
    async fn sync(
        &self,
        servers: &[&ServerProcess],
        token: &str,
        checkpoint: &mut u64,
        held: &mut BTreeSet<(String, String)>,
    ) -> anyhow::Result<usize> {
        for page_no in 0..1_000 {
            let server = servers[page_no % servers.len()];
            let url = format!(
                "{}/api/v1/sync/pull?checkpoint={checkpoint}&limit=40",
                server.url()
            );
            let page = self
                .send(reqwest::Method::GET, url, Some(token), None)
                .await?;
            if page["reset"] == true {
                held.clear();
            }
            for r in page["records"].as_array().into_iter().flatten() {
                held.insert((
                    r["entity"].as_str().unwrap_or_default().into(),
                    r["id"].as_str().unwrap_or_default().into(),
                ));
            }
            for r in page["removed"].as_array().into_iter().flatten() {
                held.remove(&(
                    r["entity"].as_str().unwrap_or_default().into(),
                    r["id"].as_str().unwrap_or_default().into(),
                ));
            }
            *checkpoint = page["checkpoint"].as_u64().unwrap_or_default();
            if page["has_more"] != true {
                return Ok(page_no + 1);
            }
        }
        anyhow::bail!("the pull never ended")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_on_one_postgres_serve_the_same_devices() -> anyhow::Result<()> {
    let pg = PgServer::start()?;
    // Started together: they migrate and load the demo org once between them.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ServerProcess::start_on_postgres(&pg.url()));
        let b = s.spawn(|| ServerProcess::start_on_postgres(&pg.url()));
        (a.join(), b.join())
    });
    let mut a = a.map_err(|_| anyhow::anyhow!("server a panicked"))??;
    let b = b.map_err(|_| anyhow::anyhow!("server b panicked"))??;
    let api = Api {
        http: reqwest::Client::new(),
    };

    let token = api.login(&a, "fiona", "tablet").await?;
    let (mut checkpoint, mut held) = (0, BTreeSet::new());
    let pages = api
        .sync(&[&a, &b], &token, &mut checkpoint, &mut held)
        .await?;
    assert!(
        pages > 2,
        "the initial sync took {pages} pages, alternating servers"
    );
    let other = api.login(&b, "fiona", "laptop").await?;
    let (mut other_checkpoint, mut other_held) = (0, BTreeSet::new());
    api.sync(&[&b], &other, &mut other_checkpoint, &mut other_held)
        .await?;
    assert_eq!(
        held, other_held,
        "alternating servers loses and doubles nothing"
    );

    let (first, name) = outpost_tests::first_account();
    let op = json!({"ops": [{"op_id": "x1", "base_version": null, "op": {"kind": "update",
        "entity": "account", "id": first, "changes": {"name": "Renamed via b"}, "before": {"name": name}}}]});
    let push = |server: &ServerProcess| format!("{}/api/v1/sync/push", server.url());
    let first_answer = api
        .send(
            reqwest::Method::POST,
            push(&b),
            Some(&token),
            Some(op.clone()),
        )
        .await?;
    assert_eq!(
        first_answer["outcomes"][0]["result"]["status"], "applied",
        "{first_answer}"
    );
    let resent = api
        .send(reqwest::Method::POST, push(&a), Some(&token), Some(op))
        .await?;
    assert_eq!(
        resent, first_answer,
        "the other process answers the stored outcome"
    );
    let record =
        |server: &ServerProcess| format!("{}/api/v1/records/account/{first}", server.url());
    let on_a = api
        .send(reqwest::Method::GET, record(&a), Some(&token), None)
        .await?;
    assert_eq!(on_a["fields"]["name"], "Renamed via b");
    assert_eq!(
        on_a["row_version"], first_answer["outcomes"][0]["result"]["row_version"],
        "applied once"
    );

    // An admin change through b narrows what every device holds, served by a.
    let admin = api.login(&b, "admin", "console").await?;
    api.send(
        reqwest::Method::PUT,
        format!("{}/api/v1/admin/offline/entities/account", b.url()),
        Some(&admin),
        Some(json!({"enabled": true, "filter": "name eq 'Renamed via b'"})),
    )
    .await?;
    api.sync(&[&a], &other, &mut other_checkpoint, &mut other_held)
        .await?;
    let accounts: Vec<&(String, String)> =
        other_held.iter().filter(|(e, _)| e == "account").collect();
    assert_eq!(
        accounts,
        vec![&("account".to_owned(), first.clone())],
        "a saw b's change at once"
    );

    // One process goes away; the other serves on.
    a.stop();
    api.sync(&[&b], &token, &mut checkpoint, &mut held).await?;
    assert_eq!(held, other_held);
    Ok(())
}
