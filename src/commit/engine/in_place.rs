//! What a commit in place needs beyond its load: what the apply hands to the moment after
//! the load (the table before, the generation), what that moment records (the shape, the
//! record of the load, the inverse change, since when the rules count), and the guard's
//! test of whether the inverse still fits the table at its rollback.

use std::collections::BTreeMap;

use nftables::schema::{NfListObject, Set};

use super::Engine;
use crate::commit::counting::{Counting, PutBack};
use crate::commit::journal::Pending;
use crate::commit::machine::Event;
use crate::commit::plan::{place, record_of};
use crate::commit::state::scripts::{self, undo_file};
use crate::nft::CompiledTable;
use crate::nft::delta;
use crate::nft::intervals;
use crate::nft::live::{LiveObject, without_elements};

/// What an apply hands to the moment right after its load (kept by the engine, by id).
#[derive(Debug, Clone)]
pub(super) struct Loading {
    id: String,
    /// The ruleset's generation just before the load: the record of the load is made only
    /// if the load was the one transaction since.
    generation: Option<u32>,
    /// The digests of the sets loaded.
    set_digests: BTreeMap<String, String>,
    /// For a change in place, what its inverse is made from.
    inverse: Option<Inverse>,
}

#[derive(Debug, Clone)]
struct Inverse {
    /// The table before, without the elements of the sets the change leaves as they are
    /// (the inverse leaves them too, and 100,000 elements cost to copy).
    before: Vec<LiveObject>,
    /// The sets the change adds or changes, as loaded.
    changed_sets: Vec<Set<'static>>,
}

impl Loading {
    /// For commit `id` of `compiled` over `live`, `in_place` or not, at `generation`.
    pub(super) fn of(
        id: &str,
        compiled: &CompiledTable,
        live: &[LiveObject],
        in_place: bool,
        generation: Option<u32>,
    ) -> Loading {
        let inverse = in_place.then(|| {
            let untouched = |s: &Set<'static>| {
                compiled.objects.iter().any(
                    |c| matches!(c, NfListObject::Set(w) if w.name == s.name && w.elem == s.elem),
                )
            };
            let before = live
                .iter()
                .map(|o| match o {
                    LiveObject::Known(NfListObject::Set(s)) if untouched(s) => {
                        LiveObject::Known(NfListObject::Set(Box::new(without_elements(s))))
                    }
                    other => other.clone(),
                })
                .collect();
            let unchanged_live = |w: &Set<'static>| {
                live.iter().any(|o| {
                    matches!(o, LiveObject::Known(NfListObject::Set(s)) if s.name == w.name && s.elem == w.elem)
                })
            };
            let changed_sets = compiled
                .objects
                .iter()
                .filter_map(|o| match o {
                    NfListObject::Set(w) if !unchanged_live(w) => Some((**w).clone()),
                    _ => None,
                })
                .collect();
            Inverse {
                before,
                changed_sets,
            }
        });
        Loading {
            id: id.to_string(),
            generation,
            set_digests: compiled.set_digests.clone(),
            inverse,
        }
    }
}

impl Engine<'_> {
    /// What a load left: the table's shape; the record of the load if the ruleset's
    /// generation shows that nothing else changed it in between; for a change in place,
    /// its inverse staged for the rollback (without it a rollback loads the whole
    /// "before"); and since when the rules count.
    pub(super) fn after_load(&self, commit: &Pending) -> Event {
        let generation = self.b.nft.generation();
        let loading = self
            .loading
            .borrow_mut()
            .take()
            .filter(|l| l.id == commit.id);
        let Ok((objects, shape)) = self.listed(&commit.table) else {
            return Event::Loaded {
                shape: None,
                record: None,
            };
        };
        let rules: Vec<(u32, u64)> = crate::nft::counters::live_rules(&objects)
            .iter()
            .filter_map(|r| Some((r.handle?, r.packets.unwrap_or(0))))
            .collect();
        let window = commit.timeout_ms.is_some().then_some(commit.id.as_str());
        self.keep_counting(|previous, place, now| {
            Counting::after_load(
                previous,
                place,
                &commit.table,
                &rules,
                commit.incremental,
                now,
                window,
            )
        });
        let Some(loading) = loading else {
            return Event::Loaded {
                shape,
                record: None,
            };
        };
        let record = match (generation, loading.generation) {
            // Only this load in between: what is live is exactly what it loaded.
            (Some(after), Some(before)) if after == before.wrapping_add(1) => {
                Some(record_of(&commit.table, &loading.set_digests, after))
            }
            _ => None,
        };
        if let Some(inverse) = &loading.inverse
            && let Err(why) = self.stage_inverse(commit, objects, inverse)
        {
            self.warn(format!(
                "cannot stage the inverse of commit {}: {why}; a rollback would put back the \
                 whole table",
                commit.id
            ));
        }
        Event::Loaded { shape, record }
    }

    /// The counting record after a put back, without listing the table (the rollback's
    /// time is the operator's).
    pub(super) fn count_after_put_back(&self, table: &str, how: PutBack) {
        self.keep_counting(|previous, place, now| {
            Counting::after_put_back(previous, place, table, how, now)
        });
    }

    /// Replaces the counting record by what `next` makes of the previous one. For display
    /// only: a failure is a warning.
    fn keep_counting(&self, next: impl FnOnce(Option<&Counting>, &str, u64) -> Counting) {
        let previous = self.b.state.load_counting();
        let counting = next(previous.as_ref(), &place(), self.now().wall_ms);
        if let Err(e) = self.b.state.save_counting(&counting) {
            self.warn(format!("cannot record since when the rules count: {e}"));
        }
    }

    /// The inverse change: from the table as listed after the load (its changed sets
    /// holding what was loaded into them) to the table as it was before, written to the
    /// commit's undo file.
    fn stage_inverse(
        &self,
        commit: &Pending,
        mut after: Vec<LiveObject>,
        inverse: &Inverse,
    ) -> Result<(), String> {
        for object in after.iter_mut() {
            if let LiveObject::Known(NfListObject::Set(set)) = object {
                set.elem = inverse
                    .changed_sets
                    .iter()
                    .find(|s| s.name == set.name)
                    .and_then(|s| s.elem.clone());
            }
        }
        let known = |objects: &[LiveObject]| -> Result<Vec<NfListObject<'static>>, String> {
            objects
                .iter()
                .map(|o| match o {
                    LiveObject::Known(k) => Ok(k.clone()),
                    LiveObject::Unknown { kind, .. } => {
                        Err(format!("the table holds a {kind} portcullis cannot read"))
                    }
                })
                .collect()
        };
        let delta =
            delta::between(&known(&after)?, &known(&inverse.before)?).map_err(|e| e.to_string())?;
        let text = delta::script(&commit.table, &delta);
        self.b
            .state
            .write(
                &undo_file(&commit.id),
                scripts::with_header(&commit.id, &commit.table, &text).as_bytes(),
            )
            .map_err(|e| e.to_string())
    }

    /// The commit's inverse change, if the live table is still exactly what the commit left:
    /// no transaction since its load (which costs no listing at the deadline), or else the
    /// same shape and the same set elements. Else why not.
    pub(super) fn inverse_if_exact(&self, commit: &Pending) -> Result<std::fs::File, String> {
        let file = self.verified_file(&undo_file(&commit.id), None)?;
        let Some(after) = commit.after.as_ref().filter(|a| a.place == place()) else {
            return Err("its load was not the only change to the ruleset since".into());
        };
        if self.b.nft.generation() == Some(after.generation) {
            return Ok(file);
        }
        let (objects, shape) = self.listed(&commit.table)?;
        if shape.is_none() || shape != commit.shape {
            return Err("the table changed since the commit (its rules, chains or sets)".into());
        }
        for object in &objects {
            if let LiveObject::Known(NfListObject::Set(set)) = object {
                let list = self
                    .b
                    .nft
                    .set_intervals(&commit.table, set)
                    .map_err(|e| e.to_string())?;
                if after.sets.get(set.name.as_ref()) != Some(&intervals::digest(&list)) {
                    return Err(format!(
                        "the elements of set {} changed since the commit",
                        set.name
                    ));
                }
            }
        }
        Ok(file)
    }
}
