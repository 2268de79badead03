//! What the engine knows about a visit and a product beyond the store:
//! the [`visit`] (what the caller says of the shopper, resolved once per
//! page), its [`session`] (viewed products, taste, category affinity), its
//! [`intent`] (the predicted mission), the shopper's [`price_band`], and
//! the session's [`neighbourhood`] (what shoppers with sessions like it
//! opened).

pub mod intent;
pub mod neighbourhood;
pub mod price_band;
pub mod session;
pub mod successors;
pub mod visit;
