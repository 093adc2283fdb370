//! The drop log: what the table's dropping rules log over NFLOG (`nflog`, the only IO
//! here), the packet headers (`packet`), the capped aggregate (`tally`) and what the policy
//! and the sockets say about each line (`explain`).

pub mod explain;
pub mod nflog;
pub mod packet;
pub mod tally;
pub mod ways;

pub use explain::{Attribution, explain};
pub use tally::{Dropped, Entry, Key, Tally};
