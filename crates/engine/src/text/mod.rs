//! Text as the engine sees it, the same at the origin and at the edge:
//! [`normalize`] turns product text and queries into search terms (both
//! sides must agree term for term), [`features`] into hashed features for
//! the text map and the intent model.

pub mod features;
pub mod normalize;
