//! The demo org loaded into an empty database: users to sign in as and accounts to work on.
//! Deterministic, so tests and screenshots see the same org every time.

use outpost_domain::Fields;

use crate::auth::hash_password;
use crate::storage::Store;

/// The demo administrator's user name.
pub const ADMIN_USER: &str = "admin";
/// The demo field user's user name (a sales rep who works offline).
pub const FIELD_USER: &str = "fiona";

const USERS: &[(&str, &str, &str)] = &[
    (
        "00000000-0000-7000-8000-000000000001",
        ADMIN_USER,
        "Avery Admin",
    ),
    (
        "00000000-0000-7000-8000-000000000002",
        FIELD_USER,
        "Fiona Field",
    ),
    ("00000000-0000-7000-8000-000000000003", "sam", "Sam Sales"),
];

const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("Adventure Works", "Seattle", "1250000.00"),
    ("Alpine Ski House", "Innsbruck", "430000.00"),
    ("Blue Yonder Airlines", "Denver", "9800000.00"),
    ("City Power & Light", "Chicago", "15600000.00"),
    ("Coho Winery", "Napa", "720000.00"),
    ("Contoso Pharmaceuticals", "Basel", "22100000.00"),
    ("Fabrikam Inc.", "Lyon", "3400000.00"),
    ("Fourth Coffee", "Portland", "185000.00"),
    ("Litware, Inc.", "Dublin", "2750000.00"),
    ("Margie's Travel", "Lisbon", "640000.00"),
    ("Northwind Traders", "Oslo", "5120000.00"),
    ("Tailspin Toys", "Austin", "910000.00"),
];

/// Loads the demo org into an empty database; every demo user gets `password`.
/// Does nothing when the org already has users.
pub fn seed_demo(db: &mut Store<'_>, password: &str) -> anyhow::Result<bool> {
    if !db.is_empty()? {
        return Ok(false);
    }
    let hash = hash_password(password)?;
    for (id, username, display) in USERS {
        db.user_insert(id, username, display, &hash)?;
    }
    for (i, (name, city, revenue)) in ACCOUNTS.iter().enumerate() {
        let owner = USERS[i % USERS.len()].0;
        let id = format!("00000000-0000-7000-8000-0000000010{i:02}");
        let fields: Fields = [("name", *name), ("city", *city), ("revenue", *revenue)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Some(v.to_owned())))
            .collect();
        db.account_insert(&id, &fields, owner)?;
    }
    Ok(true)
}
