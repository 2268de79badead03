//! What the engine knows about a visit and a product beyond the store:
//! the [`visit`] (what the caller says of the shopper, resolved once per
//! page), its [`session`] (viewed products, taste, category affinity), its
//! [`intent`] (the predicted mission), the shopper's [`price_band`], the
//! session's [`neighbourhood`] (what shoppers with sessions like it
//! opened), each product's [`successors`] (what shoppers opened after
//! it), and how likely the visit is [`going_back`] to what it viewed.

pub mod going_back;
pub mod intent;
pub mod neighbourhood;
pub mod price_band;
pub mod session;
pub mod sharing;
pub mod successors;
pub mod visit;
