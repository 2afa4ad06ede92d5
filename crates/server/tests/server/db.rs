//! The database on disk: a committed write is on disk before the server answers, and
//! only the server's OS user may open its folder and files (Unix).

use outpost_server::Db;
use outpost_server::db::int;

/// SQLite's `synchronous` levels.
const FULL: i64 = 2;

#[tokio::test]
async fn a_committed_write_is_synced_to_disk_before_sqlite_returns() {
    let tmp = tempfile::tempdir().expect("a temp folder");
    let db = Db::open_folder(tmp.path())
        .await
        .expect("the database opens");
    let (journal, synchronous) = db
        .tx(|c| {
            let journal = outpost_server::db::string(&c.query_value("PRAGMA journal_mode", &[])?)?;
            let synchronous = int(&c.query_value("PRAGMA synchronous", &[])?)?;
            Ok((journal, synchronous))
        })
        .await
        .expect("the pragmas read");
    assert_eq!(
        (journal.as_str(), synchronous),
        ("wal", FULL),
        "WAL with synchronous=FULL: a commit (an acknowledged push) survives power loss"
    );
}

#[tokio::test]
async fn an_expression_too_deep_for_sqlite_is_the_requests_fault_not_the_servers() {
    let db = Db::open(&outpost_server::db::Location::SqliteMemory)
        .await
        .expect("the database opens");
    let deep = format!("SELECT 1 WHERE {}", vec!["1 = 1"; 1_100].join(" OR "));
    let failure = db
        .tx(move |c| c.query(&deep, &[]).map(|_| ()))
        .await
        .expect_err("SQLite refuses an expression 1,100 deep");
    crate::assert_bad_request(failure, "SQLite's expression-depth refusal");
}

#[cfg(unix)]
mod private {
    use std::os::unix::fs::PermissionsExt as _;
    use std::path::Path;

    use outpost_server::Db;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }

    /// Every file in `dir`, with its mode.
    fn files(dir: &Path) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
            .expect("the data folder lists")
            .map(|e| {
                let path = e.expect("an entry").path();
                (
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    format!("{:o}", mode(&path)),
                )
            })
            .collect();
        out.sort();
        out
    }

    #[track_caller]
    fn assert_private(dir: &Path, when: &str) {
        assert_eq!(
            format!("{:o}", mode(dir)),
            "700",
            "{when}: the data folder is the server user's alone"
        );
        let files = files(dir);
        assert!(
            files.iter().any(|(name, _)| name == "org.sqlite3"),
            "{when}: the database is in the folder: {files:?}"
        );
        assert!(
            files.iter().all(|(_, mode)| mode == "600"),
            "{when}: every file of the database (journals too) is the server user's alone: {files:?}"
        );
    }

    #[tokio::test]
    async fn a_new_data_folder_and_database_are_readable_by_the_server_user_only() {
        let tmp = tempfile::tempdir().expect("a temp folder");
        let dir = tmp.path().join("data");
        let db = Db::open_folder(&dir).await.expect("the database opens");
        db.tx(|c| c.current_version()).await.expect("a read");
        assert_private(&dir, "a fresh database, open");
        drop(db);
    }

    #[tokio::test]
    async fn an_existing_world_readable_database_is_made_private_when_opened() {
        let tmp = tempfile::tempdir().expect("a temp folder");
        let dir = tmp.path().join("data");
        drop(Db::open_folder(&dir).await.expect("the database opens"));
        let open_to_all = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .expect("permissions set");
        };
        open_to_all(&dir, 0o755);
        for (name, _) in files(&dir) {
            open_to_all(&dir.join(name), 0o644);
        }
        // A journal left behind world-readable (a crash) is tightened too.
        std::fs::write(dir.join("org.sqlite3-wal"), b"").expect("a journal");
        open_to_all(&dir.join("org.sqlite3-wal"), 0o644);
        let db = Db::open_folder(&dir)
            .await
            .expect("the database opens again");
        db.tx(|c| c.current_version()).await.expect("a read");
        assert_private(&dir, "a 0644 database in a 0755 folder, reopened");
    }

    #[test]
    fn private_files_are_written_readable_by_the_server_user_only() {
        let tmp = tempfile::tempdir().expect("a temp folder");
        let path = tmp.path().join("demo-credentials.txt");
        std::fs::write(&path, "old").expect("an old file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .expect("permissions set");
        outpost_server::private::write(&path, "admin / secret\n").expect("written");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read back"),
            "admin / secret\n",
            "the text is replaced"
        );
        assert_eq!(
            format!("{:o}", mode(&path)),
            "600",
            "a file that existed world-readable is made the server user's alone"
        );
    }
}
