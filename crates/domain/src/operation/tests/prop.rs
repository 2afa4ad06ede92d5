//! Property tests of field-level conflict detection (B1): an update conflicts exactly on
//! the fields both sides changed, writes nothing when it conflicts, and otherwise merges
//! the device's fields into the server's record without touching the others.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;

const FIELDS: [&str; 4] = ["name", "address1_city", "telephone1", "accountnumber"];

fn value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![Just(None), "[ABC]".prop_map(Some)]
}

/// A value for each field; `name` is required, so it is never null.
fn record() -> impl Strategy<Value = Fields> {
    proptest::collection::vec(value(), FIELDS.len()).prop_map(|values| {
        FIELDS
            .iter()
            .zip(values)
            .map(|(f, v)| {
                let v = if *f == "name" {
                    Some(v.unwrap_or_else(|| "N".into()))
                } else {
                    v
                };
                ((*f).to_owned(), v)
            })
            .collect()
    })
}

/// Changes to a random subset of the fields.
fn changes() -> impl Strategy<Value = Fields> {
    (
        record(),
        proptest::collection::vec(any::<bool>(), FIELDS.len()),
    )
        .prop_map(|(values, pick)| {
            values
                .into_iter()
                .zip(pick)
                .filter(|(_, keep)| *keep)
                .map(|(kv, _)| kv)
                .collect()
        })
}

fn field(fields: &Fields, name: &str) -> Option<String> {
    fields.get(name).cloned().flatten()
}

proptest! {
    #[test]
    fn an_update_conflicts_exactly_where_both_sides_changed_a_field(
        server in record(),
        seen in record(),
        mine in changes(),
    ) {
        let mut s = MemoryStorage::default();
        create(&mut s, "account", "a1", &[("name", "N")]);
        let created = s.get("account", "a1").expect("memory").expect("created").fields;
        let mut current = created.clone();
        current.extend(server.clone());
        s.put("account", "a1", &current).expect("memory");
        let before: Fields = mine.keys().map(|k| (k.clone(), field(&seen, k))).collect();
        let op = Operation::Update { entity: "account".into(), id: "a1".into(), changes: mine.clone(), before };
        let expected: BTreeSet<String> = mine
            .iter()
            .filter(|(k, v)| field(&server, k) != field(&seen, k) && field(&server, k) != **v)
            .map(|(k, _)| k.clone())
            .collect();
        let untouched = s.clone();
        match apply(&mut s, &op).expect("a valid update applies or conflicts") {
            Applied::Conflict(conflicts) => {
                let got: BTreeSet<String> = conflicts.iter().map(|c| c.field.clone()).collect();
                prop_assert_eq!(&got, &expected, "conflicts name exactly the fields both sides changed");
                prop_assert!(!expected.is_empty(), "no conflict without a field changed on both sides");
                for c in &conflicts {
                    prop_assert_eq!(&c.server, &field(&server, &c.field), "the server value is reported");
                }
                prop_assert_eq!(s, untouched, "a conflict writes nothing");
            }
            Applied::Done(_) => {
                prop_assert!(expected.is_empty(), "an update with both-sided changes {:?} must conflict", expected);
                let now = s.get("account", "a1").expect("memory").expect("exists").fields;
                for f in FIELDS {
                    let want = if mine.contains_key(f) { field(&mine, f) } else { field(&server, f) };
                    prop_assert_eq!(field(&now, f), want, "field {} merged", f);
                }
            }
        }
    }

    #[test]
    fn with_detection_off_an_update_always_applies(server in record(), seen in record(), mine in changes()) {
        let mut s = MemoryStorage::default();
        create(&mut s, "account", "a1", &[("name", "N")]);
        let mut current = s.get("account", "a1").expect("memory").expect("created").fields;
        current.extend(server);
        s.put("account", "a1", &current).expect("memory");
        let before: Fields = mine.keys().map(|k| (k.clone(), field(&seen, k))).collect();
        let op = Operation::Update { entity: "account".into(), id: "a1".into(), changes: mine.clone(), before };
        let applied = apply_as(&ctx(), &mut s, &op, ConflictCheck::Off).expect("valid");
        prop_assert!(matches!(applied, Applied::Done(_)), "client wins: no conflict");
        let now = s.get("account", "a1").expect("memory").expect("exists").fields;
        for (k, v) in &mine {
            prop_assert_eq!(&field(&now, k), v, "the device's value of {} is in", k);
        }
    }
}
