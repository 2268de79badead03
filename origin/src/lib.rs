//! The firstpaint origin: everything that runs where the merchant's data lives.
//!
//! It reads and validates the inputs ([`inputs`]) and the catalog changes
//! webhooks carry ([`catalog_change`], journaled until the catalog file
//! holds them: [`catalog_journal`]), trains the models
//! ([`train`]; search's related words from WordNet: [`wordnet`]), compiles
//! the rules ([`compile`]), assembles and signs the
//! bundle ([`build`]) and rebuilds it for a catalog change without
//! retraining ([`incremental`]), and can write a realistic synthetic store of any size
//! ([`generate`]) for fixtures and benchmarks, and measures quality on real
//! data with the engine the edge runs ([`eval`]). The `firstpaint` binary wraps
//! these in subcommands.
#![deny(missing_docs)]

pub mod build;
pub mod catalog_change;
pub mod catalog_journal;
pub mod compile;
pub mod eval;
pub mod generate;
pub mod incremental;
pub mod inputs;
pub mod keys;
pub mod pulled_events;
pub mod readout;
pub mod shard;
pub mod train;
pub mod webhook;
pub mod wordnet;
