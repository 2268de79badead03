//! Holdout assignment: which arm of each module's experiment a shopper is
//! in, from their first-party id alone.
//!
//! A module is a slot type (`similar`, `home`, …) or `search`. For each,
//! and for the global holdout, a shopper's id is hashed (SHA-256 of the
//! rules' salt, the module and the id) to a number in 0..10,000; below
//! the module's share in basis points is the holdout. A salt per module
//! keeps the modules independent; nothing of the bundle goes in, so a
//! shopper keeps their arms across releases. A shopper in the global
//! holdout is in every module's holdout. A holdout is ranked with the
//! rules and priors only (no history, intent or taste), what the merchant
//! would show without personalization.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::slot_kind::SlotKind;

/// The module of the search experiment.
pub const SEARCH_MODULE: &str = "search";
/// The module name of the global holdout (every module at once).
pub const GLOBAL_MODULE: &str = "global";

/// Holdout shares as the bundle carries them, in basis points (1/10,000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentsSection {
    /// Each module's holdout share, unless `modules` names it.
    pub holdout_bp: u16,
    /// The global holdout's share.
    pub global_bp: u16,
    /// Shares of single modules.
    pub modules: Vec<(String, u16)>,
    /// Mixed into every assignment.
    pub salt: String,
}

impl Default for ExperimentsSection {
    /// The rules file's defaults: 10% in each holdout.
    fn default() -> Self {
        Self {
            holdout_bp: 1_000,
            global_bp: 1_000,
            modules: Vec::new(),
            salt: String::new(),
        }
    }
}

impl ExperimentsSection {
    /// The holdout share of `module`, in basis points.
    pub fn share_bp(&self, module: &str) -> u16 {
        self.modules
            .iter()
            .find(|(m, _)| m == module)
            .map_or(self.holdout_bp, |(_, bp)| *bp)
    }
}

/// Every module with an experiment: the slot types, then search.
pub fn modules() -> impl Iterator<Item = &'static str> {
    SlotKind::ALL
        .iter()
        .map(|k| k.as_str())
        .chain(std::iter::once(SEARCH_MODULE))
}

/// An arm of one module's experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    /// Ranked with everything the engine knows of the shopper.
    Treatment,
    /// Ranked with the rules and priors only.
    Holdout,
}

impl Arm {
    /// `treatment` or `holdout`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Treatment => "treatment",
            Arm::Holdout => "holdout",
        }
    }
}

/// One shopper's arms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// In the global holdout: every module holds out.
    pub global: Arm,
    /// Each module's arm, in [`modules`] order.
    pub arms: Vec<(&'static str, Arm)>,
}

impl Assignment {
    /// The arms of the shopper whose first-party id is `id`.
    pub fn of(id: &str, experiments: &ExperimentsSection) -> Assignment {
        let draw = |module: &str, share_bp: u16| {
            if bucket(&experiments.salt, module, id) < u32::from(share_bp) {
                Arm::Holdout
            } else {
                Arm::Treatment
            }
        };
        let global = draw(GLOBAL_MODULE, experiments.global_bp);
        let arms = modules()
            .map(|m| match global {
                Arm::Holdout => (m, Arm::Holdout),
                Arm::Treatment => (m, draw(m, experiments.share_bp(m))),
            })
            .collect();
        Assignment { global, arms }
    }

    /// The arm of `module` (treatment for a module without an experiment).
    pub fn arm(&self, module: &str) -> Arm {
        self.arms
            .iter()
            .find(|(m, _)| *m == module)
            .map_or(Arm::Treatment, |(_, a)| *a)
    }

    /// `global=treatment,home=holdout,…`: for a response header.
    pub fn header(&self) -> String {
        std::iter::once((GLOBAL_MODULE, self.global))
            .chain(self.arms.iter().copied())
            .map(|(m, a)| format!("{m}={}", a.as_str()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// `id`'s place in 0..10,000 for `module`.
fn bucket(salt: &str, module: &str, id: &str) -> u32 {
    let digest = Sha256::new()
        .chain_update(b"firstpaint-experiment\0")
        .chain_update(salt.as_bytes())
        .chain_update(b"\0")
        .chain_update(module.as_bytes())
        .chain_update(b"\0")
        .chain_update(id.as_bytes())
        .finalize();
    let mut head = [0u8; 8];
    head.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    (u64::from_le_bytes(head) % 10_000) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("{:032x}", (i as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
    }

    #[test]
    fn shares_hold_within_the_binomial_interval_and_modules_are_independent() {
        let ex = ExperimentsSection {
            holdout_bp: 2_000,
            global_bp: 500,
            modules: vec![("search".into(), 0)],
            salt: String::new(),
        };
        let n = 20_000;
        let all: Vec<Assignment> = ids(n).map(|id| Assignment::of(&id, &ex)).collect();
        let held = |f: &dyn Fn(&Assignment) -> bool| all.iter().filter(|a| f(a)).count() as f64;
        let within = |count: f64, p: f64| {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            (count - n as f64 * p).abs() < 4.0 * sd
        };
        let global = held(&|a| a.global == Arm::Holdout);
        assert!(within(global, 0.05), "{global}");
        // Outside the global holdout, 20% of each module holds out.
        let similar = held(&|a| a.global == Arm::Treatment && a.arm("similar") == Arm::Holdout);
        assert!(within(similar, 0.95 * 0.2), "{similar}");
        // Two modules' holdouts overlap as independent draws do.
        let both = held(&|a| {
            a.global == Arm::Treatment
                && a.arm("similar") == Arm::Holdout
                && a.arm("home") == Arm::Holdout
        });
        assert!(within(both, 0.95 * 0.04), "{both}");
        // A share of 0: nobody outside the global holdout.
        assert!(all
            .iter()
            .all(|a| (a.arm("search") == Arm::Holdout) == (a.global == Arm::Holdout)));
    }

    #[test]
    fn an_assignment_is_stable_and_a_new_salt_draws_anew() {
        let ex = ExperimentsSection::default();
        let salted = ExperimentsSection {
            salt: "2027-q1".into(),
            ..ExperimentsSection::default()
        };
        let mut moved = 0;
        for id in ids(2_000) {
            let a = Assignment::of(&id, &ex);
            assert_eq!(a, Assignment::of(&id, &ex));
            if a != Assignment::of(&id, &salted) {
                moved += 1;
            }
        }
        // Twelve draws made anew: about 90% of shoppers change some arm.
        assert!(moved > 1_600, "{moved}");
        let a = Assignment::of("abc", &ex);
        assert!(a.header().starts_with("global="));
        assert_eq!(a.header().split(',').count(), 1 + SlotKind::ALL.len() + 1);
    }
}
