//! Integration tests of `outpost-domain` through its public API, one module per module of
//! `src/`.

mod query;
