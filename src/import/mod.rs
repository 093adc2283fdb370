//! Importing another firewall's configuration as a policy: `portcullis import ufw`. The
//! readers turn ufw's rule files and command scripts into an ordered list of rules, and
//! `to_policy` turns that list into policy TOML, listing what it cannot express as comments
//! at the top. Pure: the files are read by the command line (`cli::import`).

pub mod to_policy;
pub mod ufw;
pub mod ufw_script;

pub use to_policy::{Imported, to_policy};
