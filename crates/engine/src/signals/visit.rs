//! One shopper's visit, resolved once per page.
//!
//! A [`Visitor`] is what the caller knows of the shopper (ids, as the
//! profile cookie or the JSON API carries them); a [`Visit`] is the same
//! resolved against one store: viewed products as ordinals with the
//! session's taste, category shares and intent, products wanted and
//! ordered as ordinals. Every slot and the search of a page read one
//! `Visit` instead of each resolving the same ids again.

use std::borrow::Cow;

use serde::Deserialize;

use crate::signals::going_back::ViewCounts;
use crate::signals::intent::IntentSignals;
use crate::signals::price_band::PriceBand;
use crate::signals::session::Session;
use crate::store::Store;

/// What the engine is told about the shopper of a request. Every field is
/// empty without personalization consent except `region` and `now`.
///
/// The wasm facade reads it from JSON with these field names; every field
/// but `now` may be left out, and an unknown field is an error (a
/// misspelt `viewd` would otherwise silently rank for nobody).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Visitor {
    /// Recently viewed product ids, most recent first.
    #[serde(default)]
    pub viewed: Vec<String>,
    /// The shopper has visited before (home shows their recent views).
    #[serde(default)]
    pub returning: bool,
    /// Products the shopper viewed while they could not be bought; home
    /// shows those back in stock first.
    #[serde(default)]
    pub wanted: Vec<String>,
    /// Products the shopper ordered, with when (unix seconds), most recent
    /// first; home shows those due for a refill first.
    #[serde(default)]
    pub ordered: Vec<(String, i64)>,
    /// The visit's channel, searches and category pages, for its intent.
    #[serde(default)]
    pub signals: IntentSignals,
    /// Where the shopper's prices usually sit, from their profile
    /// (`price_fit`); `None` without consent or history.
    #[serde(default)]
    pub price_band: Option<PriceBand>,
    /// The visit's product views and returns so far, which tell `next`
    /// how likely the shopper is to go back to what they viewed.
    #[serde(default)]
    pub view_counts: ViewCounts,
    /// The shopper's country, for regional exclusions.
    #[serde(default)]
    pub region: Option<String>,
    /// The time of the request, unix seconds (time-windowed rules, new
    /// arrivals, refills).
    pub now: i64,
}

/// A [`Visitor`] resolved against a store. Unknown ids (from an older
/// bundle's cookie) are skipped. It borrows its visitor or owns it (a
/// page's rewriter keeps its visit for as long as the page streams); it
/// holds ordinals of the store it was resolved against, not the store.
#[derive(Debug, Clone)]
pub struct Visit<'a> {
    visitor: Cow<'a, Visitor>,
    session: Session,
    wanted: Vec<u32>,
    ordered: Vec<(u32, i64)>,
}

impl<'a> Visit<'a> {
    /// Resolves `visitor` against `store`: its session (taste, category
    /// shares, intent) is computed here, once.
    pub fn new(store: &Store, visitor: impl Into<Cow<'a, Visitor>>) -> Self {
        let visitor = visitor.into();
        Self {
            session: Session::new(store, &visitor.viewed, &visitor.signals),
            wanted: store.ordinals(&visitor.wanted),
            ordered: visitor
                .ordered
                .iter()
                .filter_map(|(id, at)| Some((store.ordinal(id)?, *at)))
                .collect(),
            visitor,
        }
    }

    /// What the visit was resolved from.
    pub fn visitor(&self) -> &Visitor {
        &self.visitor
    }

    /// The session: viewed products, taste, category shares, intent.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Products wanted while they could not be bought, as ordinals.
    pub fn wanted(&self) -> &[u32] {
        &self.wanted
    }

    /// Products ordered, as (ordinal, when), most recent first.
    pub fn ordered(&self) -> &[(u32, i64)] {
        &self.ordered
    }
}

impl<'a> From<&'a Visitor> for Cow<'a, Visitor> {
    fn from(v: &'a Visitor) -> Self {
        Cow::Borrowed(v)
    }
}

impl From<Visitor> for Cow<'_, Visitor> {
    fn from(v: Visitor) -> Self {
        Cow::Owned(v)
    }
}
