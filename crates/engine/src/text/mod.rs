//! Text as the engine sees it, the same at the origin and at the edge:
//! [`normalize`] turns product text and queries into search terms (both
//! sides must agree term for term), [`features`] into hashed features for
//! the text map and the intent model, [`category_names`] reads how a rule,
//! a parameter or a page address names a category.

pub mod category_names;
pub mod features;
pub mod normalize;
