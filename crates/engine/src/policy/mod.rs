//! The merchant's rules as the engine enforces them: the [`guardrails`]
//! every slot and search passes through, and the [`banners`] a page shows.

pub mod banners;
pub mod guardrails;
