//! The merchant's rules as the engine enforces them: the [`guardrails`]
//! every slot and search passes through.

pub mod guardrails;
