//! The real backends of the commit engine, opened from the command line's paths: the
//! state directory, the nft binary, guard processes that re-execute this binary, the
//! system's clocks, and the person acting. Shared by the CLI's commands and the terminal
//! UI's worker.

use std::path::PathBuf;

use super::audit::{Actor, Who};
use super::clock::SystemClock;
use super::engine::{Backends, Engine};
use super::guard::{ProcessGuards, absolute};
use super::state::{Create, StateDir, StateError};
use crate::nft::backend::NftProcess;

/// Where the backends are.
#[derive(Debug, Clone)]
pub struct Paths {
    pub state_dir: PathBuf,
    /// The nft binary (a bare name is looked up in PATH).
    pub nft: PathBuf,
}

/// The opened backends.
pub struct RealBackends {
    pub state: StateDir,
    pub nft: NftProcess,
    pub guards: ProcessGuards,
    pub clock: SystemClock,
    pub who: Who,
    pub netns: String,
}

impl RealBackends {
    /// Opens the state directory (creating it if `create` says so) and the rest.
    pub fn open(paths: &Paths, create: Create) -> Result<RealBackends, StateError> {
        let state = StateDir::open(&absolute(&paths.state_dir), create)?;
        let nft = absolute(&paths.nft);
        Ok(RealBackends {
            guards: ProcessGuards {
                exe: std::env::current_exe().unwrap_or_else(|_| "portcullis".into()),
                state: state.clone(),
                nft: nft.clone(),
            },
            nft: NftProcess::new(nft),
            state,
            clock: SystemClock::new(),
            who: Who::from_env(|k| std::env::var(k).ok()),
            netns: crate::system::current_netns(),
        })
    }

    /// The engine, for one operation by `by`.
    pub fn engine(&self, by: Actor) -> Engine<'_> {
        Engine::new(
            Backends {
                state: &self.state,
                nft: &self.nft,
                guards: &self.guards,
                clock: &self.clock,
                who: &self.who,
                netns: self.netns.clone(),
            },
            by,
        )
    }
}
