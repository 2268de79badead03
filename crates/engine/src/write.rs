//! Writing the engine's sections into a bundle: the origin's side, behind
//! the `build` feature (the worker reads, it never writes).

use firstpaint_bundle::{codec, BundleError, BundleWriter};

use crate::search::{self, SearchParts};
use crate::signals::intent::{IntentSection, INTENT};
use crate::store;
use crate::store::ann::AnnGraph;
use crate::store::sections::{
    CatalogSection, CoViewSection, PriorsSection, RulesSection, SessionsSection, ANN, BOUGHT,
    CATALOG, COVIEW, PRIORS, RULES, SCHEMA, SCHEMA_TAG, SESSIONS, TEXT_MAP,
};
use crate::store::text_map::TextMapSection;

/// Every section the engine reads, as the origin hands them to the writer.
pub struct EngineSections {
    /// Products and categories.
    pub catalog: CatalogSection,
    /// The HNSW graph, as the origin exported it from its builder.
    pub ann: AnnGraph,
    /// Popularity and freshness.
    pub priors: PriorsSection,
    /// Viewed-together lists.
    pub co_view: CoViewSection,
    /// Compiled rules.
    pub rules: RulesSection,
    /// Bought-together lists.
    pub bought_together: CoViewSection,
    /// The lexical search index.
    pub search: SearchParts,
    /// Recent sessions, for the session neighbourhood and what shoppers
    /// opened next ([`crate::signals::successors`]).
    pub sessions: SessionsSection,
    /// The session-intent model.
    pub intent: IntentSection,
    /// Text features -> embedding space.
    pub text_map: TextMapSection,
}

impl EngineSections {
    /// Encodes every section into `writer`.
    pub fn write_into(&self, writer: &mut BundleWriter) -> Result<(), BundleError> {
        writer.add(SCHEMA_TAG, SCHEMA.to_le_bytes().to_vec())?;
        writer.add(CATALOG, store::catalog::write(&self.catalog))?;
        let ann = store::ann::write_ann(&self.ann).map_err(|e| BundleError::Decode {
            tag: ANN,
            reason: e.to_string(),
        })?;
        writer.add(ANN, ann)?;
        writer.add(PRIORS, store::priors::write(&self.priors))?;
        writer.add(COVIEW, store::lists::write(&self.co_view))?;
        writer.add(RULES, codec::encode(RULES, &self.rules)?)?;
        writer.add(BOUGHT, store::lists::write(&self.bought_together))?;
        let products = self.catalog.products.len();
        writer.add(
            SESSIONS,
            store::session_index::write(&self.sessions, products),
        )?;
        writer.add(INTENT, codec::encode(INTENT, &self.intent)?)?;
        writer.add(TEXT_MAP, codec::encode(TEXT_MAP, &self.text_map)?)?;
        writer.add(
            search::SEARCH,
            codec::encode(search::SEARCH, &self.search.section)?,
        )?;
        // fst's own format and our postings format: stored as they are.
        writer.add(search::TERMS, self.search.terms.clone())?;
        writer.add(search::POSTINGS, self.search.postings.clone())?;
        Ok(())
    }
}
