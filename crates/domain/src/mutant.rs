//! Known bugs, re-introduced on purpose: the simulation (`crates/sim`) turns one on to show
//! that its invariants catch that class of bug (issue 14). Each hook in the product reads
//! [`active`]; without the `mutants` feature it is a constant `false` the compiler removes,
//! and only the simulation's build turns the feature on. Nothing but the simulation ever
//! calls [`set`].

/// One re-introduced bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutant {
    /// Another user's sign-in deletes the previous user's store, unsent work and all.
    SignInOtherUserWipes,
    /// A sign-in whose server address is spelled otherwise than the store's deletes it.
    ServerSpellingWipes,
    /// A server-ordered wipe deletes what it cannot send instead of sealing it.
    WipeDropsUnsent,
    /// A field-security change never reaches devices (the access fingerprint ignores it).
    FieldSecurityStale,
    /// A resent operation is applied again instead of answered from its stored outcome.
    DoubleApply,
    /// A pull's checkpoint passes changes the page did not carry (on PostgreSQL, a change
    /// committed late with a lower version; here, a page cut short by its size).
    PullSkipsLateCommit,
    /// The device ignores the manager hierarchy's write rule.
    DeviceIgnoresHierarchy,
}

impl Mutant {
    /// Every mutant, in a fixed order.
    pub const ALL: [Mutant; 7] = [
        Mutant::SignInOtherUserWipes,
        Mutant::ServerSpellingWipes,
        Mutant::WipeDropsUnsent,
        Mutant::FieldSecurityStale,
        Mutant::DoubleApply,
        Mutant::PullSkipsLateCommit,
        Mutant::DeviceIgnoresHierarchy,
    ];

    /// Its name on the command line (`cargo xtask sim --mutant NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Mutant::SignInOtherUserWipes => "sign_in_other_user_wipes",
            Mutant::ServerSpellingWipes => "server_spelling_wipes",
            Mutant::WipeDropsUnsent => "wipe_drops_unsent",
            Mutant::FieldSecurityStale => "field_security_stale",
            Mutant::DoubleApply => "double_apply",
            Mutant::PullSkipsLateCommit => "pull_skips_late_commit",
            Mutant::DeviceIgnoresHierarchy => "device_ignores_hierarchy",
        }
    }

    /// The mutant named `name`.
    pub fn parse(name: &str) -> Option<Mutant> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

#[cfg(feature = "mutants")]
static ACTIVE: std::sync::Mutex<Option<Mutant>> = std::sync::Mutex::new(None);

/// Whether `mutant` is on (never, without the `mutants` feature).
#[inline]
pub fn active(mutant: Mutant) -> bool {
    #[cfg(feature = "mutants")]
    {
        ACTIVE.lock().map(|m| *m == Some(mutant)).unwrap_or(false)
    }
    #[cfg(not(feature = "mutants"))]
    {
        let _ = mutant;
        false
    }
}

/// Turns `mutant` on (or every one off) for the whole process.
#[cfg(feature = "mutants")]
pub fn set(mutant: Option<Mutant>) {
    if let Ok(mut active) = ACTIVE.lock() {
        *active = mutant;
    }
}
