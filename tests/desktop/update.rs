//! The app's updates from the org server, driven like a user (S19): the footer offers the
//! release an administrator uploaded, the prompt shows its notes, and a package that is
//! not signed with the org key this app was built with is refused with a clear message —
//! nothing is installed and the app goes on working.

use outpost_testkit::ServerProcess;
use outpost_tests::{Release, admin_setting, publish_release, release_fixture};
use serde_json::json;

use crate::app::{Driver, click, gone, shown, sign_in_and_open_sales, wait_text};

#[tokio::test]
async fn the_app_offers_the_orgs_update_and_refuses_a_package_not_signed_with_its_key()
-> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let server = ServerProcess::start()?;
    // The org's key on this server is not the one the app was built with: the package
    // the server hands out checks on the server and must still be refused by the app.
    let key = String::from_utf8(release_fixture("other.key.pub")?)?;
    admin_setting(&server.url(), "update_public_key", json!(key.trim())).await?;
    // Both Linux packages: the binary the bundler patched last says which it is.
    publish_release(
        &server.url(),
        &Release {
            version: "0.2.0",
            notes: "Faster sync for large territories.",
            store_format: outpost_store::FORMAT,
            min_store_format: outpost_store::MIN_FORMAT,
            package: release_fixture("package.bin")?,
            signature: release_fixture("other-0.2.0.sig")?,
            platforms: &["linux-x86_64-deb", "linux-x86_64-rpm"],
        },
    )
    .await?;
    let data = tempfile::tempdir()?;
    let driver = Driver::start(data.path(), &server.url(), &[])?;
    let c = driver.session().await?;
    let result = async {
        sign_in_and_open_sales(&c).await?;
        click(&c, "download-start").await?;
        wait_text(&c, "status-last-sync", |t| !t.contains("Never")).await?;
        wait_text(&c, "status-update-available", |t| t.contains("0.2.0")).await?;
        click(&c, "status-update-available").await?;
        shown(&c, "update-prompt").await?;
        wait_text(&c, "update-notes", |t| t.contains("Faster sync")).await?;
        click(&c, "update-install").await?;
        let refused = wait_text(&c, "update-failed", |t| !t.is_empty()).await?;
        anyhow::ensure!(
            refused.contains("not signed with your organization's update key")
                && refused.contains("Nothing was installed"),
            "the refusal says why and that nothing changed: {refused:?}"
        );
        click(&c, "update-later").await?;
        gone(&c, "update-prompt").await?;
        // The offer stays in the footer, to try again.
        wait_text(&c, "status-update-available", |t| t.contains("0.2.0")).await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    c.close().await?;
    drop(driver);
    result?;
    if let Ok(installed) = std::env::var(outpost_testkit::APP_BINARY_VAR) {
        let version = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "outpost"])
            .output()?;
        assert_eq!(
            String::from_utf8_lossy(&version.stdout),
            outpost_core::APP_VERSION,
            "the installed app ({installed}) is still this version"
        );
    }
    Ok(())
}
