//! The shopper's consent, decided on every request without a network call.
//!
//! The merchant's consent banner writes `fp_consent` with the purposes the
//! shopper granted, dot-separated: `personalization.analytics`,
//! `analytics`, or `none`. Without that cookie the region's default from
//! the rules applies (opt-in regions: off; elsewhere: on).

use firstpaint_engine::store::sections::ConsentSection;

use crate::cookies::cookie_value;

/// Name of the consent cookie the merchant's banner writes.
pub const CONSENT_COOKIE: &str = "fp_consent";

/// What this request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consent {
    /// A profile may be kept and used to rank.
    pub personalization: bool,
    /// Events may be collected.
    pub analytics: bool,
    /// The shopper chose (cookie present) rather than the regional default.
    pub explicit: bool,
}

/// Decides consent from the `Cookie` header and the shopper's `region`.
pub fn decide(
    cookie_header: Option<&str>,
    region: Option<&str>,
    rules: &ConsentSection,
) -> Consent {
    match cookie_value(cookie_header, CONSENT_COOKIE) {
        Some(value) => {
            let granted = |purpose: &str| value.split('.').any(|p| p == purpose);
            Consent {
                personalization: granted("personalization"),
                analytics: granted("analytics"),
                explicit: true,
            }
        }
        None => {
            let default = rules.default_personalization(region);
            Consent {
                personalization: default,
                analytics: default,
                explicit: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shoppers_choice_wins_over_the_region() {
        let rules = ConsentSection::default();
        let c = decide(
            Some("fp_consent=personalization.analytics"),
            Some("DE"),
            &rules,
        );
        assert!(c.personalization && c.analytics && c.explicit);
        let c = decide(Some("fp_consent=analytics"), Some("US"), &rules);
        assert!(!c.personalization && c.analytics);
        let c = decide(Some("fp_consent=none"), Some("US"), &rules);
        assert!(!c.personalization && !c.analytics);
    }

    #[test]
    fn regional_defaults_apply_without_a_choice() {
        let rules = ConsentSection::default();
        assert!(
            !decide(None, Some("DE"), &rules).personalization,
            "opt-in region"
        );
        assert!(
            !decide(None, Some("GB"), &rules).personalization,
            "opt-in region"
        );
        assert!(
            decide(None, Some("US"), &rules).personalization,
            "opt-out region"
        );
        assert!(
            !decide(None, None, &rules).personalization,
            "unknown region counts as opt-in"
        );
    }
}
