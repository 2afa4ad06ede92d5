//! System tests: a real `outpost-server` process and several `outpost-core` clients in
//! temp folders, on loopback.

mod admin_cli;
mod drafts;
mod engine;
mod offline_edit;
mod postgres;
mod trust;
mod two_servers;
mod updates;
mod versions;
