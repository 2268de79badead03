//! The shopper's consent, carried by every event.

use serde::{Deserialize, Serialize};

/// What the shopper agreed to when the event was recorded.
///
/// Without `personalization` no profile may be kept or used; without
/// `analytics` the event may not be stored at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Personalized rankings and a profile cookie are allowed.
    pub personalization: bool,
    /// The event may be collected for measurement and training.
    pub analytics: bool,
}
