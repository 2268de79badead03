//! What the engine knows about a visit and a product beyond the store:
//! the shopper's [`session`] (viewed products, taste, category affinity),
//! the visit's [`intent`] (its predicted mission) and the shopper's
//! [`price_band`].

pub mod intent;
pub mod price_band;
pub mod session;
