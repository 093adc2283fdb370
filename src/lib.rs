//! portcullis: a terminal UI firewall manager for Linux nftables.
//!
//! The pure core (`policy`, `nft::compile`, `nft::render`, `nft::live`, `diff`) never does IO;
//! `nft::backend` runs the `nft` binary; `cli` is the headless front end.

#![forbid(unsafe_code)]

pub mod cli;
pub mod diff;
pub mod duration;
pub mod nft;
pub mod policy;
