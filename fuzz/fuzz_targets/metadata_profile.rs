//! Arbitrary bytes as what an administrator sends: org metadata (`PUT
//! /api/v1/admin/metadata`) and an offline profile definition (a profile's draft), each
//! checked the way the server checks it before storing it, against the demo org. Nothing
//! may panic; a profile that validates is dry-run like a publish does, and its scope SQL
//! must run (a database error there is the server failing on an administrator's input).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use outpost_domain::Metadata;
use outpost_fuzz::{demo_db, runtime, show};
use outpost_protocol::admin::ProfileDef;
use outpost_server::admin::{dry_run, metadata_check, validate};
use outpost_server::org::Org;
use outpost_server::{ApiError, Db};

/// The demo org's database (read only here), the org loaded from it, and the id of its
/// *Field Sales* profile, whose users a dry run measures.
fn demo() -> &'static (Db, Org, String) {
    static DEMO: OnceLock<(Db, Org, String)> = OnceLock::new();
    DEMO.get_or_init(|| {
        runtime().block_on(async {
            let db = demo_db().await;
            let org = db.tx(|c| Org::load(c)).await.expect("the demo org loads");
            let sales = org
                .profiles
                .values()
                .find(|p| p.draft.name == outpost_server::seed::field_sales().name)
                .expect("the demo org has the Field Sales profile")
                .id
                .clone();
            (db, org, sales)
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let (db, org, sales) = demo();
    if let Ok(next) = serde_json::from_slice::<Metadata>(data) {
        let against_demo = metadata_check(&org.metadata, &next);
        // Against itself the shape always matches, so whatever names and views the input
        // holds are checked too, not only those of an input shaped like the demo org.
        let against_itself = metadata_check(&next, &next);
        show(format_args!(
            "metadata: {against_demo:?} / {against_itself:?}"
        ));
        let _ = next.fingerprint();
    }
    if let Ok(def) = serde_json::from_slice::<ProfileDef>(data) {
        let problems = validate(org, &def);
        show(format_args!("profile problems: {problems:?}"));
        if !problems.is_empty() {
            return;
        }
        let (org, sales) = (org.clone(), sales.clone());
        let now = outpost_server::now();
        let run = runtime()
            .block_on(db.tx(move |c| Ok(dry_run(c, &org, &sales, &def, now))))
            .expect("a read transaction runs");
        match run {
            Err(ApiError::Internal(e)) => panic!("the dry run of a valid profile failed: {e:#}"),
            run => show(format_args!("dry run: {run:?}")),
        }
    }
});
