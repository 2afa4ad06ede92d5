//! The real app remembers its window's size between runs: resized through WebDriver, the
//! app saves the geometry shortly after the change (not only on a clean exit, which a
//! killed app never reaches), and the next start opens at that size.

use std::time::{Duration, Instant};

use anyhow::bail;
use outpost_testkit::ServerProcess;

use crate::app::Driver;

#[tokio::test]
async fn the_window_opens_at_the_size_it_had_when_the_app_last_ran() -> anyhow::Result<()> {
    outpost_testkit::require_desktop_session()?;
    let server = ServerProcess::start()?;
    let data = tempfile::tempdir()?;
    let saved = data.path().join("window-state.json");
    let (width, height) = (1024_u64, 700_u64);
    {
        let driver = Driver::start(data.path(), &server.url(), &[])?;
        let c = driver.session().await?;
        c.set_window_size(width as u32, height as u32).await?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&saved).unwrap_or_default();
            let state: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if state["main"]["width"].as_u64() == Some(width) {
                break;
            }
            if Instant::now() > deadline {
                bail!("the app never saved its new size; the file holds {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // The app is killed with the driver: no clean exit to save on.
        let _ = c.close().await;
    }
    let driver = Driver::start(data.path(), &server.url(), &[])?;
    let c = driver.session().await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut size = c.get_window_size().await?;
    while size != (width, height) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        size = c.get_window_size().await?;
    }
    let _ = c.close().await;
    assert_eq!(size, (width, height), "the second start restored the size");
    Ok(())
}
