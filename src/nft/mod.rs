//! Everything about nftables: compiling a policy to a ruleset, rendering it as nft text,
//! reading the live ruleset back, and (in `backend`) running the `nft` binary.

pub mod backend;
pub mod compile;
pub mod counters;
pub mod delta;
pub mod droplog;
pub mod grants;
pub mod intervals;
pub mod live;
pub mod netlink;
pub mod render;
pub mod script;
pub mod set_names;
pub mod skim;
pub mod tables;

pub use compile::{CompiledTable, compile};
