//! Incremental builds: a catalog change republished in seconds, without
//! reading the events or training anything.
//!
//! A build leaves its [`state::BuildState`] beside the bundle: what the
//! models learned from the events, by product and category, and the HNSW
//! graph. The next build of a changed catalog starts from it:
//!
//! - the catalog, the rules and the search index are built again from the
//!   new inputs (they are cheap, and the search index is built on the
//!   other core while the rest runs);
//! - categories and locations keep their parent's numbers (new ones come
//!   after), so the category-indexed models stay true;
//! - what the events said of each product (interest, trends, sales,
//!   discounts, lists of neighbours, behaviour vectors) follows it by id to
//!   its new ordinal; a removed product leaves every list; a new one has
//!   none yet;
//! - priors are recomputed from that evidence and the new prices,
//!   categories and listing dates;
//! - a new product, or one whose text changed, is placed through the
//!   parent's text map (blended with its behaviour, as a full build
//!   places it) and inserted in the graph; removed ones leave it
//!   ([`crate::train::graph`]).
//!
//! The models themselves are not retrained: that stays a full build, on a
//! schedule ([`Diff::too_large`] and the state's age decide when a change
//! calls for one instead).

pub mod state;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use firstpaint_bundle::{hex, Lineage, SigningKey};
use firstpaint_engine::{CoViewSection, EngineSections, Quantized, SessionsSection};

use crate::build::{self, BuildOptions, BuildReport};
use crate::inputs::Inputs;
use crate::train::graph::level_of;
use crate::train::priors::Evidence;
use crate::train::{embed, learned_queries, search};
use state::{text_digest, BuildState, Products};

/// Above this share of the catalog added, placed again or removed, a
/// change is rebuilt in full: the graph's inserted part and the carried
/// models would drift too far from what a full build makes.
pub const MAX_CHANGED_SHARE: f64 = 0.10;

/// How a catalog differs from the one a state was built from.
#[derive(Debug, Clone)]
pub struct Diff {
    /// Per new ordinal: the product's ordinal in the parent, if it was there.
    old_of_new: Vec<Option<u32>>,
    /// Per parent ordinal: its new ordinal, if it is still there.
    new_of_old: Vec<Option<u32>>,
    /// Per new ordinal: the digest of its text ([`text_digest`]).
    text: Vec<[u8; 8]>,
    /// Per new ordinal: whether it is placed (new, or its text changed).
    placed: Vec<bool>,
}

impl Diff {
    /// Compares the products of `inputs` with those of `parent`, by id.
    pub fn between(parent: &BuildState, inputs: &Inputs) -> Diff {
        let ordinal = build::ordinals(&inputs.products);
        let old: HashMap<&str, u32> = parent
            .products
            .ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32))
            .collect();
        let old_of_new: Vec<Option<u32>> = inputs
            .products
            .iter()
            .map(|p| old.get(p.id.as_str()).copied())
            .collect();
        let new_of_old = parent
            .products
            .ids
            .iter()
            .map(|id| ordinal.get(id.as_str()).copied())
            .collect();
        let text: Vec<[u8; 8]> = inputs.products.iter().map(text_digest).collect();
        let placed = old_of_new
            .iter()
            .zip(&text)
            .map(|(old, digest)| {
                old.and_then(|o| parent.products.text.get(o as usize)) != Some(digest)
            })
            .collect();
        Diff {
            old_of_new,
            new_of_old,
            text,
            placed,
        }
    }

    /// Products new to the catalog.
    pub fn added(&self) -> usize {
        self.old_of_new.iter().filter(|o| o.is_none()).count()
    }

    /// Products already there whose text changed (placed again).
    pub fn replaced(&self) -> usize {
        self.placed.iter().filter(|&&p| p).count() - self.added()
    }

    /// Products no longer in the catalog.
    pub fn removed(&self) -> usize {
        self.new_of_old.iter().filter(|n| n.is_none()).count()
    }

    /// Whether the change is too large for an incremental build (see
    /// [`MAX_CHANGED_SHARE`]).
    pub fn too_large(&self) -> bool {
        let changed = self.added() + self.replaced() + self.removed();
        changed as f64 > MAX_CHANGED_SHARE * self.new_of_old.len().max(1) as f64
    }

    /// One line for logs and the lineage.
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} placed again, {} removed",
            self.added(),
            self.replaced(),
            self.removed()
        )
    }

    /// `values` (per parent ordinal) per new ordinal; new products get the
    /// default.
    fn carry<T: Clone + Default>(&self, values: &[T]) -> Vec<T> {
        self.old_of_new
            .iter()
            .map(|o| {
                o.and_then(|o| values.get(o as usize))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Recent sessions renumbered: removed products leave them, and a
    /// session left with fewer than two products leaves the index (new
    /// products are in no session until the next full build).
    fn carry_sessions(&self, sessions: &SessionsSection) -> SessionsSection {
        let mut out = SessionsSection::default();
        for (products, &hour) in sessions.products.iter().zip(&sessions.hours) {
            let renumbered: Vec<u32> = products
                .iter()
                .filter_map(|&p| self.new_of_old.get(p as usize).copied().flatten())
                .collect();
            if renumbered.len() >= 2 {
                out.products.push(renumbered);
                out.hours.push(hour);
            }
        }
        out
    }

    /// Neighbour lists renumbered: rows follow their products, removed
    /// products leave every row, new products start with empty rows.
    fn carry_lists(&self, lists: &CoViewSection) -> CoViewSection {
        let mut out = CoViewSection {
            offsets: Vec::with_capacity(self.old_of_new.len() + 1),
            neighbors: Vec::with_capacity(lists.neighbors.len()),
            scores: Vec::with_capacity(lists.scores.len()),
        };
        out.offsets.push(0);
        for old in &self.old_of_new {
            if let Some(o) = old {
                for (neighbour, score) in lists.row(*o) {
                    if let Some(Some(new)) = self.new_of_old.get(neighbour as usize) {
                        out.neighbors.push(*new);
                        out.scores.push(score);
                    }
                }
            }
            out.offsets.push(out.neighbors.len() as u32);
        }
        out
    }
}

/// Builds the bundle of `inputs` (catalog, rules and synonyms; events are
/// not read) from `parent`, with `diff` = [`Diff::between`] them. Returns
/// the signed bundle, what it took, and the state for the next change.
pub fn rebuild(
    inputs: &Inputs,
    parent: BuildState,
    diff: &Diff,
    key: &SigningKey,
    opts: &BuildOptions,
) -> anyhow::Result<(Vec<u8>, BuildReport, BuildState)> {
    let mut steps: Vec<(&'static str, Duration)> = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |name: &'static str, steps: &mut Vec<(&'static str, Duration)>| {
        steps.push((name, clock.elapsed()));
        clock = Instant::now();
    };
    std::thread::scope(|scope| {
        // The one step that reads every product's text at length runs on
        // the other core meanwhile.
        let learned = learned_queries::to_ordinals(
            &parent.training.learned,
            &build::ordinals(&inputs.products),
        );
        let search = scope.spawn(move || {
            search::build(
                &inputs.products,
                &inputs.synonyms,
                &inputs.related,
                &learned,
            )
        });

        let ordinal = build::ordinals(&inputs.products);
        let catalog = build::catalog_section_after(
            &inputs.products,
            &ordinal,
            parent.categories.clone(),
            parent.locations.clone(),
        );
        let compiled = build::compile_rules(inputs, &catalog, &ordinal, opts, false)?;
        let was = &parent.products.evidence;
        let categories = catalog.categories.len();
        let by_category = |values: &[f32]| {
            let mut values = values.to_vec();
            values.resize(categories, 0.0);
            values
        };
        let evidence = Evidence {
            interest: diff.carry(&was.interest),
            trending: diff.carry(&was.trending),
            daily_sales: diff.carry(&was.daily_sales),
            discount: diff.carry(&was.discount),
            price_response: by_category(&was.price_response),
            refill_days: by_category(&was.refill_days),
            rebuy: by_category(&was.rebuy),
            returns: was.returns.clone(),
            going_back_strength: was.going_back_strength,
        };
        let priors = evidence.priors(&catalog.products, catalog.categories.len(), opts.now);
        let co_view = diff.carry_lists(&parent.co_view);
        let bought_together = diff.carry_lists(&parent.bought_together);
        let recent = diff.carry_sessions(&parent.sessions);
        lap("catalog + carried models", &mut steps);

        let behaviour = diff.carry(&parent.products.behaviour);
        let behaviour_weight = diff.carry(&parent.products.behaviour_weight);
        let mut graph = parent.graph;
        let removed: Vec<bool> = diff
            .new_of_old
            .iter()
            .map(|new| new.is_none_or(|n| diff.placed[n as usize]))
            .collect();
        graph.remove(&removed);
        let survivors: Vec<Option<u32>> = diff
            .new_of_old
            .iter()
            .zip(&removed)
            .map(|(&new, &gone)| new.filter(|_| !gone))
            .collect();
        graph.renumber(&survivors, inputs.products.len())?;
        for (i, p) in inputs.products.iter().enumerate() {
            if !diff.placed[i] {
                continue;
            }
            let text = embed::text_features(p);
            let own = behaviour[i].map(|q| q.embedding());
            let vector = embed::place(&parent.text_map, &text, own, behaviour_weight[i]);
            graph.insert(i as u32, Quantized::new(&vector), level_of(draw(&p.id)));
        }
        let ann = graph.to_ann()?;
        lap("HNSW insert + remove", &mut steps);

        let mut search = search
            .join()
            .map_err(|_| anyhow::anyhow!("the search index build panicked"))??;
        let searched = search::summary(
            &mut search,
            inputs.wordnet.as_deref(),
            &parent.text_map,
            &ann.vectors,
        );
        lap("search index (wait)", &mut steps);

        let mut models = parent.training.models.clone();
        models.retain(|m| !m.starts_with(search::SUMMARY));
        models.push(searched);
        models.push(format!(
            "incremental: {} on parent {}; models trained {} s before this build",
            diff.summary(),
            hex(&parent.bundle_sha256),
            opts.now - parent.training.trained_at
        ));
        let sections = EngineSections {
            catalog,
            ann,
            priors,
            co_view,
            rules: compiled.section,
            bought_together,
            search,
            sessions: recent,
            intent: parent.intent,
            text_map: parent.text_map,
        };
        let header = build::header(
            opts,
            inputs.catalog_sha256,
            parent.training.events_sha256,
            inputs.rules_sha256,
        );
        let mut files = inputs.files.clone();
        files.extend(parent.training.events.clone());
        let lineage = Lineage {
            builder: build::builder(),
            schema: firstpaint_engine::store::sections::SCHEMA,
            inputs: files,
            models: models.clone(),
            parent: Some(hex(&parent.bundle_sha256)),
        };
        let bytes = build::write_bundle(&sections, header, &lineage, key)?;
        lap("encode + sign", &mut steps);

        let products = sections.catalog.products.len();
        let placed = Products {
            ids: inputs.products.iter().map(|p| p.id.clone()).collect(),
            text: diff.text.clone(),
            behaviour,
            behaviour_weight,
            evidence,
        };
        let state = BuildState::new(&bytes, sections, parent.training, placed, graph);
        let report = BuildReport {
            products,
            sessions: 0,
            bytes: bytes.len(),
            steps,
            warnings: compiled.warnings,
            embeddings: Vec::new(),
            models,
        };
        Ok((bytes, report, state))
    })
}

/// A uniform draw in `(0, 1]` from a product id: the layer it is inserted
/// up to does not depend on the order of the changes.
fn draw(id: &str) -> f64 {
    let digest = firstpaint_bundle::sha256(id.as_bytes());
    let mut bits = [0u8; 8];
    bits.copy_from_slice(&digest[..8]);
    ((u64::from_le_bytes(bits) >> 11) as f64 + 1.0) / (1u64 << 53) as f64
}

/// Why the state at `path` cannot be the parent of the bundle at `bundle`
/// built at `now` (a full build follows), or the state.
pub fn parent_of(
    bundle: &std::path::Path,
    now: i64,
    retrain_after: Duration,
) -> Result<BuildState, String> {
    let path = state::path_for(bundle);
    if !path.exists() {
        return Err(format!("no build state at {}", path.display()));
    }
    let state = BuildState::load(&path).map_err(|e| format!("{e:#}"))?;
    let served = std::fs::read(bundle)
        .with_context(|| format!("{}: failed to read", bundle.display()))
        .map_err(|e| format!("{e:#}"))?;
    if firstpaint_bundle::sha256(&served) != state.bundle_sha256 {
        return Err(format!(
            "{} was not built with the state beside it",
            bundle.display()
        ));
    }
    let age = now.saturating_sub(state.training.trained_at);
    if age >= i64::try_from(retrain_after.as_secs()).unwrap_or(i64::MAX) {
        return Err(format!(
            "the models are {age} s old (retrained every {} s)",
            retrain_after.as_secs()
        ));
    }
    Ok(state)
}
