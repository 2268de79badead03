//! What a build leaves beside its bundle for the next incremental build:
//! the models it learned from the events, by product and category, and
//! the HNSW graph in a form that can change. Written by the origin, read
//! by the origin; the edge never sees it.
//!
//! A state names the bundle it was built with (by SHA-256), so it is only
//! used as the parent of the bundle it describes. On disk: the magic
//! `FPST`, [`FORMAT`] (u32 little-endian), then the state encoded by the
//! bundle crate's codec.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use firstpaint_bundle::{codec, InputFile, Tag};
use firstpaint_contracts::Product;
use firstpaint_engine::{
    CoViewSection, EngineSections, IntentSection, Quantized, SessionsSection, TextMapSection,
};
use serde::{Deserialize, Serialize};

use crate::train::graph::Graph;
use crate::train::learned_queries::LearnedById;
use crate::train::priors::Evidence;

/// Version of the state's layout; a state of another is not used (the next
/// build is a full one).
pub const FORMAT: u32 = 6;
const MAGIC: &[u8; 4] = b"FPST";
/// The codec's name for the payload, in its errors.
const TAG: Tag = Tag(*b"STAT");

/// Everything an incremental build reuses from its parent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildState {
    /// SHA-256 of the signed bundle this state was built with.
    pub bundle_sha256: [u8; 32],
    /// How the models were trained.
    pub training: Training,
    /// What each product was placed from and what the events said of it.
    pub products: Products,
    /// Category paths by index, as the bundle numbers them.
    pub categories: Vec<String>,
    /// Fulfilment locations by index.
    pub locations: Vec<String>,
    /// Viewed-together lists, by ordinal.
    pub co_view: CoViewSection,
    /// Bought-together lists, by ordinal.
    pub bought_together: CoViewSection,
    /// Recent sessions, by ordinal.
    pub sessions: SessionsSection,
    /// The session-intent model (category-indexed).
    pub intent: IntentSection,
    /// Text features -> embedding space.
    pub text_map: TextMapSection,
    /// The HNSW graph, nodes by ordinal.
    pub graph: Graph,
}

/// How the models were trained (at the last full build): incremental
/// builds carry it as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Training {
    /// When, unix seconds.
    pub trained_at: i64,
    /// The events file, for the lineage.
    pub events: Option<InputFile>,
    /// SHA-256 of those events, for the bundle header.
    pub events_sha256: [u8; 32],
    /// What the models learned, a line each.
    pub models: Vec<String>,
    /// Search's learned queries, by product id.
    pub learned: Vec<LearnedById>,
}

/// Per product ordinal: what it was placed from, and what the events said
/// of it (with the per-category evidence).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Products {
    /// Its id.
    pub ids: Vec<String>,
    /// [`text_digest`] of what it was placed from.
    pub text: Vec<[u8; 8]>,
    /// Its behaviour vector, if shoppers touched it (quantized as the
    /// bundle stores vectors: a quarter of the bytes).
    pub behaviour: Vec<Option<Quantized>>,
    /// The co-occurrence weight behind that vector.
    pub behaviour_weight: Vec<f32>,
    /// What the events say of each product and category (priors).
    pub evidence: Evidence,
}

/// A digest of the fields a product's embedding is placed from (title,
/// brand, category path, attribute values, description): when it is
/// unchanged, so is the product's place in the graph.
pub fn text_digest(p: &Product) -> [u8; 8] {
    let mut text = String::with_capacity(256);
    for part in [p.title.as_str(), p.brand.as_deref().unwrap_or_default()]
        .into_iter()
        .chain(p.category.iter().map(String::as_str))
        .chain(p.attributes.values().map(String::as_str))
        .chain([p.description.as_str()])
    {
        text.push_str(part);
        text.push('\u{1f}');
    }
    let digest = firstpaint_bundle::sha256(text.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// Where the state of the bundle at `bundle` is kept: beside it, with
/// `.state` added to its name.
pub fn path_for(bundle: &Path) -> PathBuf {
    let mut name = bundle.as_os_str().to_owned();
    name.push(".state");
    PathBuf::from(name)
}

impl BuildState {
    /// The state of the build that signed `bundle` from `sections`, with
    /// its `training`, `products` and `graph`.
    pub fn new(
        bundle: &[u8],
        sections: EngineSections,
        training: Training,
        products: Products,
        graph: Graph,
    ) -> BuildState {
        let EngineSections {
            catalog,
            co_view,
            bought_together,
            sessions,
            intent,
            text_map,
            ..
        } = sections;
        BuildState {
            bundle_sha256: firstpaint_bundle::sha256(bundle),
            training,
            products,
            categories: catalog.categories,
            locations: catalog.locations,
            co_view,
            bought_together,
            sessions,
            intent,
            text_map,
            graph,
        }
    }

    /// The state as its file holds it.
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&FORMAT.to_le_bytes());
        bytes.extend(codec::encode(TAG, self)?);
        Ok(bytes)
    }

    /// Reads the state at `path`, saying what is wrong with one that cannot
    /// be used.
    pub fn load(path: &Path) -> anyhow::Result<BuildState> {
        let bytes =
            std::fs::read(path).with_context(|| format!("{}: failed to read", path.display()))?;
        let (head, payload) = bytes.split_at_checked(8).unwrap_or((&bytes, &[]));
        if head.get(..4) != Some(&MAGIC[..]) {
            bail!("{}: not a build state (no FPST magic)", path.display());
        }
        let format = u32::from_le_bytes(head[4..8].try_into().unwrap_or_default());
        if format != FORMAT {
            bail!(
                "{}: build state format {format}, this build reads {FORMAT}",
                path.display()
            );
        }
        let state: BuildState = codec::decode(TAG, payload)
            .with_context(|| format!("{}: unreadable build state", path.display()))?;
        state
            .check()
            .with_context(|| format!("{}: inconsistent build state", path.display()))?;
        Ok(state)
    }

    /// Checks that the per-product columns agree in length, and that the
    /// recent sessions have a time each and hold only known products.
    fn check(&self) -> anyhow::Result<()> {
        let p = &self.products;
        let n = p.ids.len();
        let columns = [
            ("text digests", p.text.len()),
            ("behaviour vectors", p.behaviour.len()),
            ("behaviour weights", p.behaviour_weight.len()),
            ("interest", p.evidence.interest.len()),
            ("trending", p.evidence.trending.len()),
            ("daily sales", p.evidence.daily_sales.len()),
            ("discounts", p.evidence.discount.len()),
            (
                "viewed-together rows",
                self.co_view.offsets.len().saturating_sub(1),
            ),
            (
                "bought-together rows",
                self.bought_together.offsets.len().saturating_sub(1),
            ),
            ("graph nodes", self.graph.len()),
        ];
        if let Some((what, len)) = columns.iter().find(|(_, len)| *len != n) {
            bail!("{len} {what} for {n} products");
        }
        let sessions = &self.sessions;
        if sessions.hours.len() != sessions.products.len() {
            bail!(
                "{} session times for {} recent sessions",
                sessions.hours.len(),
                sessions.products.len()
            );
        }
        if let Some(p) = sessions
            .products
            .iter()
            .flatten()
            .find(|&&p| p as usize >= n)
        {
            bail!("a recent session holds product {p} of {n}");
        }
        let c = self.categories.len();
        if p.evidence.price_response.len() != c
            || p.evidence.refill_days.len() != c
            || p.evidence.rebuy.len() != c
        {
            bail!("category columns do not match {c} categories");
        }
        Ok(())
    }
}
