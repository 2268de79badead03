//! The lift readout: what the holdout experiments say personalization
//! earns. [`stats`] holds the estimates; the readout over pulled events
//! (`firstpaint readout`) is built on them.

pub mod stats;
