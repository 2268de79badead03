//! Turning rankings into HTML: the slot [`template`]s, escaped.

pub mod template;
