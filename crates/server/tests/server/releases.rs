//! App releases (S19): an administrator uploads signed packages with their notes through
//! the API and the CLI; a package not signed with the org's key for its version is
//! refused; a device gets the newest release for its platform and downloads it, even when
//! its app is too old to sync.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    Answer, Backend, PASSWORD, RECORDS, SEED, assert_refused, call, contract, harness, login,
    put_setting, request, send,
};

contract!(an_administrator_uploads_signed_releases_and_devices_get_the_newest_for_their_platform);

/// The fixtures: a package, signatures of it made with `tauri signer sign` (the org's key
/// for 0.2.0 and 0.3.0, another key, and one naming no version), and both public keys.
fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/server/fixtures/releases")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("a text fixture")
}

/// `PUT` of a package's bytes with its signature (none: no header).
async fn upload(
    h: &crate::Harness,
    token: &str,
    version: &str,
    platform: &str,
    package: &[u8],
    signature: Option<&str>,
) -> Answer {
    let mut req = Request::builder()
        .method("PUT")
        .uri(format!("/api/v1/admin/releases/{version}/{platform}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream");
    if let Some(signature) = signature {
        req = req.header(outpost_protocol::release::SIGNATURE_HEADER, signature);
    }
    send(
        &h.app,
        req.body(Body::from(package.to_vec())).expect("request"),
    )
    .await
}

/// The raw bytes of a `GET`.
async fn download(h: &crate::Harness, token: &str, path: &str) -> (StatusCode, Vec<u8>) {
    use tower::ServiceExt as _;
    let res = h
        .app
        .clone()
        .oneshot(request("GET", path, Some(token), None))
        .await
        .expect("router never fails");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, bytes.to_vec())
}

/// Creates the release `version` with `notes`, which must succeed.
async fn create(h: &crate::Harness, admin: &str, version: &str, notes: &str) {
    let body =
        json!({"notes": notes, "store_format": outpost_store_format(), "min_store_format": 1});
    let path = format!("/api/v1/admin/releases/{version}");
    let created = call(&h.app, "PUT", &path, admin, Some(body)).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
}

/// The device database format the builds of this tree write.
fn outpost_store_format() -> u32 {
    3
}

async fn an_administrator_uploads_signed_releases_and_devices_get_the_newest_for_their_platform(
    backend: Backend,
) {
    let h = harness(backend).await;
    let admin = login(&h.app, "admin", "console").await;
    let fiona = login(&h.app, "fiona", "tablet").await;
    let package = fixture("package.bin");
    let signed = fixture_text("org-0.2.0.sig");

    // The 0.2.0 package for Linux .deb, signed with the org's key, uploaded as `token`.
    let upload_signed = |token: &str| {
        let (h, package, signed, token) = (&h, &package, &signed, token.to_owned());
        async move {
            upload(
                h,
                &token,
                "0.2.0",
                "linux-x86_64-deb",
                package,
                Some(signed),
            )
            .await
        }
    };
    create(&h, &admin, "0.2.0", "Faster sync.\nA new case form.").await;
    let no_key = upload_signed(&admin).await;
    assert_refused(
        &no_key,
        StatusCode::BAD_REQUEST,
        "invalid",
        "no org key yet",
    );
    assert!(
        no_key.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("update_public_key")),
        "it says which setting is missing: {}",
        no_key.body
    );

    let settings = call(&h.app, "GET", "/api/v1/admin/settings", &admin, None).await;
    let mut bad = settings.body.clone();
    bad["update_public_key"] = json!("not a key");
    let refused = call(&h.app, "PUT", "/api/v1/admin/settings", &admin, Some(bad)).await;
    assert_refused(
        &refused,
        StatusCode::BAD_REQUEST,
        "invalid",
        "a key that is none",
    );
    put_setting(
        &h,
        &admin,
        "update_public_key",
        json!(fixture_text("org.key.pub")),
    )
    .await;

    // Only an administrator uploads.
    let by_user = upload_signed(&fiona).await;
    assert_eq!(by_user.status, StatusCode::FORBIDDEN, "{}", by_user.body);
    for (method, path) in [
        ("GET", "/api/v1/admin/releases"),
        ("PUT", "/api/v1/admin/releases/0.2.0"),
        ("DELETE", "/api/v1/admin/releases/0.2.0"),
    ] {
        let body = (method == "PUT")
            .then(|| json!({"notes": "", "store_format": 3, "min_store_format": 1}));
        let answer = call(&h.app, method, path, &fiona, body).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {path} by a user"
        );
    }

    let mut tampered = package.clone();
    tampered[100] ^= 1;
    for (what, version, platform, bytes, signature, says) in [
        (
            "another key's signature",
            "0.2.0",
            "linux-x86_64-deb",
            &package,
            Some(fixture_text("other-0.2.0.sig")),
            "not signed with the org's update key",
        ),
        (
            "a package changed after signing",
            "0.2.0",
            "linux-x86_64-deb",
            &tampered,
            Some(signed.clone()),
            "changed after it was signed",
        ),
        (
            "a signature for another version",
            "0.2.0",
            "linux-x86_64-deb",
            &package,
            Some(fixture_text("org-0.3.0.sig")),
            "signed for version 0.3.0",
        ),
        (
            "a signature for a pre-release of the version",
            "0.2.0",
            "linux-x86_64-deb",
            &package,
            Some(fixture_text("org-0.2.0-rc.1.sig")),
            "signed for version 0.2.0-rc.1",
        ),
        (
            "a signature naming no version",
            "0.2.0",
            "linux-x86_64-deb",
            &package,
            Some(fixture_text("org-unversioned.sig")),
            "--app-version",
        ),
        (
            "no signature",
            "0.2.0",
            "linux-x86_64-deb",
            &package,
            None,
            "outpost-release-signature",
        ),
        (
            "a signature that is none",
            "0.2.0",
            "linux-x86_64-deb",
            &package,
            Some("bm90IGEgc2lnbmF0dXJl".to_owned()),
            "not a minisign signature",
        ),
        (
            "a platform the updater does not name",
            "0.2.0",
            "linux-x86_64-zip",
            &package,
            Some(signed.clone()),
            "not a platform",
        ),
        (
            "a version that is none",
            "two",
            "linux-x86_64-deb",
            &package,
            Some(signed.clone()),
            "major.minor.patch",
        ),
    ] {
        let answer = upload(&h, &admin, version, platform, bytes, signature.as_deref()).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid", what);
        let message = answer.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {message}");
    }
    let unknown = upload(
        &h,
        &admin,
        "0.9.0",
        "linux-x86_64-deb",
        &package,
        Some(&signed),
    )
    .await;
    assert_refused(
        &unknown,
        StatusCode::NOT_FOUND,
        "not_found",
        "no such release",
    );

    let stored = upload_signed(&admin).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    let sha = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&package))
    };
    assert_eq!(stored.body["sha256"], json!(sha));
    assert_eq!(stored.body["size"], json!(package.len()));

    // A device asks for its platform; the url is on this server.
    let check = |current: &str, platform: &str| {
        format!("/api/v1/app/update?platform={platform}&current={current}")
    };
    // What the server offers fiona's app of version `current` on `platform`.
    let offered = |current: &str, platform: &str| {
        let path = check(current, platform);
        let (app, fiona) = (&h.app, &fiona);
        async move { call(app, "GET", &path, fiona, None).await }
    };
    let offer = offered("0.1.0", "linux-x86_64-deb").await;
    assert_eq!(offer.status, StatusCode::OK, "{}", offer.body);
    assert_eq!(offer.body["version"], json!("0.2.0"));
    assert_eq!(offer.body["notes"], json!("Faster sync.\nA new case form."));
    assert_eq!(offer.body["signature"], json!(signed.trim()));
    assert_eq!(offer.body["store_format"], json!(outpost_store_format()));
    assert_eq!(offer.body["min_store_format"], json!(1));
    let url = crate::str(&offer.body["url"]);
    assert_eq!(url, "/api/v1/app/releases/0.2.0/linux-x86_64-deb");
    let (status, bytes) = download(&h, &fiona, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes == package, "the package comes back byte for byte");
    for (current, platform, what) in [
        ("0.2.0", "linux-x86_64-deb", "the same version"),
        ("1.0.0", "linux-x86_64-deb", "a newer app"),
        ("0.1.0", "linux-x86_64-rpm", "another platform"),
    ] {
        let none = offered(current, platform).await;
        assert_eq!(none.status, StatusCode::NO_CONTENT, "{what}: {}", none.body);
    }
    let garbled = offered("0.1.0", "linux").await;
    assert_refused(
        &garbled,
        StatusCode::BAD_REQUEST,
        "invalid",
        "a platform that is none",
    );
    let anonymous = send(
        &h.app,
        request("GET", &check("0.1.0", "linux-x86_64-deb"), None, None),
    )
    .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "only signed-in apps ask"
    );

    // The newest release with a package for the platform wins.
    create(&h, &admin, "0.3.0", "0.3.0").await;
    let without_package = offered("0.1.0", "linux-x86_64-deb").await;
    assert_eq!(
        without_package.body["version"],
        json!("0.2.0"),
        "a release with no package for the platform is not offered"
    );
    let third = upload(
        &h,
        &admin,
        "0.3.0",
        "linux-x86_64-deb",
        &package,
        Some(&fixture_text("org-0.3.0.sig")),
    )
    .await;
    assert_eq!(third.status, StatusCode::OK, "{}", third.body);
    let newest = offered("0.1.0", "linux-x86_64-deb").await;
    assert_eq!(newest.body["version"], json!("0.3.0"));

    // An app too old to sync still reaches its update.
    put_setting(&h, &admin, "min_app_version", json!("0.3.0")).await;
    let as_old = |path: &str| {
        let mut req = request("GET", path, Some(&fiona), None);
        for (name, value) in [
            (outpost_protocol::APP_VERSION_HEADER, "0.1.0"),
            (outpost_protocol::PROTOCOL_HEADER, "1"),
        ] {
            req.headers_mut()
                .insert(name, value.parse().expect("a header value"));
        }
        req
    };
    let pull = send(&h.app, as_old("/api/v1/sync/pull?checkpoint=0&limit=10")).await;
    assert_refused(
        &pull,
        StatusCode::UPGRADE_REQUIRED,
        "update_required",
        "the old app's pull",
    );
    let old_check = send(&h.app, as_old(&check("0.1.0", "linux-x86_64-deb"))).await;
    assert_eq!(old_check.status, StatusCode::OK, "{}", old_check.body);
    let old_download = send(
        &h.app,
        as_old("/api/v1/app/releases/0.3.0/linux-x86_64-deb"),
    )
    .await;
    assert_eq!(old_download.status, StatusCode::OK);
    put_setting(&h, &admin, "min_app_version", json!("")).await;

    let listed = call(&h.app, "GET", "/api/v1/admin/releases", &admin, None).await;
    let versions: Vec<&Value> = listed
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| &r["version"])
        .collect();
    assert_eq!(versions, [&json!("0.3.0"), &json!("0.2.0")], "newest first");
    assert_eq!(
        listed.body[1]["packages"][0]["platform"],
        json!("linux-x86_64-deb")
    );
    let gone = call(
        &h.app,
        "DELETE",
        "/api/v1/admin/releases/0.3.0",
        &admin,
        None,
    )
    .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let back = offered("0.1.0", "linux-x86_64-deb").await;
    assert_eq!(
        back.body["version"],
        json!("0.2.0"),
        "a withdrawn release is not offered"
    );
    let again = call(
        &h.app,
        "DELETE",
        "/api/v1/admin/releases/0.3.0",
        &admin,
        None,
    )
    .await;
    assert_refused(
        &again,
        StatusCode::NOT_FOUND,
        "not_found",
        "withdrawn twice",
    );
}

/// The CLI does what the API does, on the database itself.
#[tokio::test]
async fn the_cli_sets_the_org_key_and_uploads_a_signed_release_with_its_notes() {
    let tmp = tempfile::tempdir().expect("a temp folder");
    let db = outpost_server::Db::open_folder(&tmp.path().join("data"))
        .await
        .expect("the database opens");
    let options = outpost_server::seed::DemoOptions {
        seed: SEED,
        records: RECORDS,
        password: PASSWORD.to_owned(),
    };
    outpost_server::seed::load_demo_if_empty(&db, &options)
        .await
        .expect("the demo org loads");
    drop(db);
    let data = tmp.path().join("data");
    let file = |name: &str, bytes: &[u8]| {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).expect("written");
        path.to_string_lossy().into_owned()
    };
    let key = file("org.key.pub", &fixture("org.key.pub"));
    let package = file("Outpost_0.2.0_amd64.deb", &fixture("package.bin"));
    file("Outpost_0.2.0_amd64.deb.sig", &fixture("org-0.2.0.sig"));
    let notes = file("notes.md", b"Faster sync.");
    let manifest = file(
        "outpost-release.json",
        br#"{"version":"0.2.0","protocol":1,"store_format":3,"min_store_format":1}"#,
    );
    let upload = |extra: &[&str]| {
        let mut args = vec![
            "release-upload",
            &package,
            "--platform",
            "linux-x86_64-deb",
            "--manifest",
            &manifest,
        ];
        args.extend_from_slice(extra);
        crate::admin_command_run(&data, &args)
    };
    let refused = upload(&["--notes", &notes]);
    assert!(!refused.status.success(), "no org key yet");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("update_public_key"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let settings = crate::admin_command(&data, &["settings", "--update-public-key", &key]);
    assert_eq!(
        settings["update_public_key"],
        json!(fixture_text("org.key.pub").trim())
    );
    let other_sig = file("other.sig", &fixture("other-0.2.0.sig"));
    let wrong = upload(&["--signature", &other_sig]);
    assert!(
        !wrong.status.success(),
        "another key's signature is refused"
    );
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("not signed with the org's update key"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let ok = upload(&["--notes", &notes]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let releases = crate::admin_command(&data, &["releases"]);
    assert_eq!(releases[0]["version"], json!("0.2.0"));
    assert_eq!(releases[0]["notes"], json!("Faster sync."));
    assert_eq!(releases[0]["store_format"], json!(3));
    assert_eq!(
        releases[0]["packages"][0]["platform"],
        json!("linux-x86_64-deb")
    );
    let min = crate::admin_command(&data, &["settings", "--min-app-version", "0.2.0"]);
    assert_eq!(min["min_app_version"], json!("0.2.0"));
    crate::admin_command(&data, &["release-delete", "0.2.0"]);
    assert_eq!(crate::admin_command(&data, &["releases"]), json!([]));
}
