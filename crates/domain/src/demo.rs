//! The demo org (metadata and generator): being written on the `ops` branch.
