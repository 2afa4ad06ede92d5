//! The query language (B7, C20): being written on the `query` branch.
