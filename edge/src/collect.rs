//! `POST /p13n/collect`: behaviour events from the storefront, checked,
//! stripped of identifiers, given ids and sent on (to the events queue,
//! [`crate::event_sink`], and or the merchant's collector).
//!
//! The body is one event or an array of events in the contract of
//! `events.ndjson`. Malformed, unknown or oversized input gets a 4xx that
//! names the problem and nothing is forwarded. Events without analytics
//! consent are dropped: each event's own consent, narrowed by the
//! shopper's `fp_consent` cookie when the request carries one
//! ([`Accepted::narrow_to`]). User ids, order numbers, and e-mail addresses
//! and phone numbers in free text, are replaced by keyed hashes
//! (`salt id:hash`), so the collector can count and join without ever
//! seeing them; the shopper's IP and request headers are never forwarded.

use firstpaint_contracts::{read_json, Event, EventKind};

use crate::consent::Consent;
use crate::keyed_hash::KeySet;
use crate::limits::{MAX_COLLECT_BODY_BYTES, MAX_COLLECT_EVENTS};

/// Why a body was refused, with the status it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// HTTP status (400 or 413).
    pub status: u16,
    /// What was wrong, for the response body.
    pub reason: String,
}

/// Events ready to forward.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// Pseudonymized events with analytics consent.
    pub events: Vec<Event>,
    /// Events dropped for lack of analytics consent.
    pub dropped_without_consent: usize,
}

/// Checks and pseudonymizes a request body.
pub fn prepare(body: &[u8], salts: &KeySet) -> Result<Accepted, Refused> {
    let refuse = |status, reason: String| Refused { status, reason };
    if body.len() > MAX_COLLECT_BODY_BYTES {
        return Err(refuse(
            413,
            format!(
                "body is {} bytes, at most {MAX_COLLECT_BODY_BYTES}",
                body.len()
            ),
        ));
    }
    let text =
        std::str::from_utf8(body).map_err(|e| refuse(400, format!("body is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(refuse(
            400,
            "body is empty; send an event or an array of events".into(),
        ));
    }
    let events = read_json::<Event>("body", text).map_err(|e| refuse(400, e.to_string()))?;
    if events.len() > MAX_COLLECT_EVENTS {
        return Err(refuse(
            413,
            format!(
                "{} events, at most {MAX_COLLECT_EVENTS} per request",
                events.len()
            ),
        ));
    }
    // The readout counts what the edge rendered, not what a page claims.
    if let Some(i) = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::Exposure { .. }))
    {
        return Err(refuse(
            400,
            format!("body[{i}]: exposure events are logged by the edge, not collected"),
        ));
    }
    let total = events.len();
    let mut events: Vec<Event> = events
        .into_iter()
        .filter(|e| e.consent.analytics)
        .map(|e| {
            // A storefront's id, keyed and scoped to its session: it may
            // hold an order number, and two sessions may count alike.
            let id =
                e.id.as_ref()
                    .map(|id| pseudonym(&format!("{}\0{id}", e.session), salts));
            Event {
                id,
                // Set by the edge from the profile cookie, never by a body.
                visitor: None,
                ..pseudonymize(e, salts)
            }
        })
        .collect();
    // An event the storefront gave no id gets one: the origin drops
    // repeats by id (a storefront's retry sends its own id again, which
    // maps to the same pseudonym).
    for e in events.iter_mut().filter(|e| e.id.is_none()) {
        e.id = Some(
            new_event_id("e").ok_or_else(|| refuse(503, "no randomness for event ids".into()))?,
        );
    }
    Ok(Accepted {
        dropped_without_consent: total - events.len(),
        events,
    })
}

impl Accepted {
    /// Narrows the events to what the shopper chose, when the request
    /// carries the choice (the `fp_consent` cookie a browser sends): an
    /// event a page posted claiming analytics the shopper withheld is
    /// dropped, and one claiming personalization they withheld is kept
    /// without it. A post with no such cookie (a merchant's server
    /// reporting orders, say) keeps each event's own consent.
    pub fn narrow_to(&mut self, shopper: Consent) {
        if !shopper.explicit {
            return;
        }
        if !shopper.analytics {
            self.dropped_without_consent += self.events.len();
            self.events.clear();
        }
        for e in &mut self.events {
            e.consent.personalization &= shopper.personalization;
        }
    }
}

/// A fresh event id, `<prefix>-<32 hex digits>` (`e`: given at collect,
/// `x`: an exposure the edge logs); `None` without randomness.
pub fn new_event_id(prefix: &str) -> Option<String> {
    let mut random = [0u8; 16];
    getrandom::getrandom(&mut random).ok()?;
    Some(format!("{prefix}-{}", firstpaint_bundle::hex(&random)))
}

/// The keyed hash of an identifier: `salt id:24 hex digits`.
pub fn pseudonym(value: &str, salts: &KeySet) -> String {
    let key = salts.current();
    let mac = key.mac(value.as_bytes());
    format!(
        "{}:{}",
        key.id,
        firstpaint_bundle::hex(mac.get(..12).unwrap_or_default())
    )
}

fn pseudonymize(mut e: Event, salts: &KeySet) -> Event {
    e.session = pseudonym(&e.session, salts);
    e.user = e.user.map(|u| pseudonym(&u, salts));
    match &mut e.kind {
        EventKind::Search { query, filters, .. } => {
            *query = scrub(query, salts);
            for v in filters.values_mut() {
                *v = scrub(v, salts);
            }
        }
        EventKind::CheckoutStep {
            error: Some(error), ..
        } => *error = scrub(error, salts),
        // An order number names a shopper's order to anyone who can look
        // it up; its keyed hash still joins the order's later updates.
        EventKind::Order { order, .. } => *order = pseudonym(order, salts),
        _ => {}
    }
    e
}

/// Punctuation a word may carry around an address or a number in running
/// text (`bob@example.com.`, `095812,`, `(020)`).
const AROUND: &[char] = &[
    ',', ';', ':', '!', '?', '.', '"', '\'', '(', ')', '[', ']', '<', '>', '{', '}',
];

/// Punctuation after a word that ends a phone number's run of groups.
const ENDS_RUN: &[char] = &[',', ';', ':', '!', '?'];

/// A word of running text: what it carries before and after its core.
struct Word<'a> {
    whole: &'a str,
    before: &'a str,
    core: &'a str,
    after: &'a str,
}

impl<'a> Word<'a> {
    fn of(word: &'a str) -> Self {
        let core = word.trim_matches(AROUND);
        let start = word.len() - word.trim_start_matches(AROUND).len();
        Word {
            whole: word,
            before: word.get(..start).unwrap_or_default(),
            core,
            after: word.get(start + core.len()..).unwrap_or_default(),
        }
    }
}

/// `text` with e-mail addresses and phone numbers (also written in groups,
/// `+44 20 7946 0958`) replaced by pseudonyms, punctuation around them
/// kept; words are rejoined with single spaces.
pub fn scrub(text: &str, salts: &KeySet) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<Word<'_>> = Vec::new();
    let flush = |run: &mut Vec<Word<'_>>, out: &mut Vec<String>| {
        let digits: usize = run
            .iter()
            .map(|w| w.core.bytes().filter(u8::is_ascii_digit).count())
            .sum();
        if digits >= MIN_PHONE_DIGITS {
            let number: String = run.iter().map(|w| w.core).collect();
            let before = run.first().map_or("", |w| w.before);
            let after = run.last().map_or("", |w| w.after);
            out.push(format!("{before}{}{after}", pseudonym(&number, salts)));
        } else {
            out.extend(run.iter().map(|w| w.whole.to_owned()));
        }
        run.clear();
    };
    for raw in text.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        let word = Word::of(raw);
        if is_phone_part(word.core) {
            let ends = word.after.contains(ENDS_RUN);
            run.push(word);
            if ends {
                flush(&mut run, &mut out);
            }
            continue;
        }
        flush(&mut run, &mut out);
        out.push(if looks_like_email(word.core) {
            format!(
                "{}{}{}",
                word.before,
                pseudonym(word.core, salts),
                word.after
            )
        } else {
            raw.to_owned()
        });
    }
    flush(&mut run, &mut out);
    out.join(" ")
}

/// Fewest digits that make a run of number groups a phone number.
const MIN_PHONE_DIGITS: usize = 7;

fn looks_like_email(word: &str) -> bool {
    word.split_once('@').is_some_and(|(user, domain)| {
        !user.is_empty() && domain.contains('.') && !domain.ends_with('.')
    })
}

/// A group of a phone number: digits with `+ - ( ) .` between them.
fn is_phone_part(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_digit())
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'(' | b')' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn salts() -> KeySet {
        KeySet::parse("s1:3333333333333333333333333333333333333333333333333333333333333333")
            .unwrap()
    }

    const VIEW: &str = r#"{"type":"page_view","session":"sess-1","user":"alice-42","ts":"2026-01-02T03:04:05Z","consent":{"personalization":true,"analytics":true},"region":"GB","product":"A-1"}"#;

    #[test]
    fn identifiers_never_leave_in_clear() {
        let search = r#"{"type":"search","session":"sess-1","ts":"2026-01-02T03:04:05Z","consent":{"personalization":false,"analytics":true},"region":"GB","query":"order for bob@example.com call +44 20 7946 0958 or 07946-095812 red shoes"}"#;
        let ok = prepare(format!("[{VIEW},{search}]").as_bytes(), &salts()).unwrap();
        let out = serde_json::to_string(&ok.events).unwrap();
        for secret in ["alice-42", "sess-1", "bob@example.com", "7946", "095812"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        // In running text: punctuation around them, other whitespace.
        for text in [
            "No account for bob@example.com.",
            "call 07946 095812, thanks",
            "ring (020) 7946-0958!",
            "mail <bob@example.com>\tor\n+44 20 7946 0958.",
        ] {
            let scrubbed = scrub(text, &salts());
            for secret in ["bob@example.com", "7946", "095812"] {
                assert!(!scrubbed.contains(secret), "{secret} left in {scrubbed:?}");
            }
        }
        assert_eq!(
            scrub("call 07946 095812, thanks", &salts()),
            format!("call {}, thanks", pseudonym("07946095812", &salts()))
        );
        let order = r#"{"type":"order","session":"sess-1","ts":"2026-01-02T03:04:05Z","consent":{"personalization":false,"analytics":true},"region":"GB","order":"ORD-991234","items":[{"product":"A-1","qty":1,"price":3}]}"#;
        let ordered = prepare(order.as_bytes(), &salts()).unwrap();
        let sent = serde_json::to_string(&ordered.events).unwrap();
        assert!(!sent.contains("ORD-991234"), "{sent}");
        assert!(sent.contains(&pseudonym("ORD-991234", &salts())), "{sent}");
        assert!(out.contains("red shoes"), "{out}");
        assert_eq!(
            scrub("size 42 in 2 colours", &salts()),
            "size 42 in 2 colours",
            "short numbers stay"
        );
        assert_eq!(
            ok.events[0].user.as_deref(),
            Some(pseudonym("alice-42", &salts()).as_str())
        );
        assert!(ok.events[0].user.as_deref().unwrap().starts_with("s1:"));
    }

    #[test]
    fn events_get_ids_and_no_visitor_from_the_body() {
        let given = VIEW.replace(r#""type""#, r#""id":"store-1","visitor":"forged","type""#);
        let ok = prepare(format!("[{given},{VIEW}]").as_bytes(), &salts()).unwrap();
        let scoped = pseudonym("sess-1\0store-1", &salts());
        assert_eq!(ok.events[0].id.as_deref(), Some(scoped.as_str()));
        let made = ok.events[1].id.as_deref().unwrap();
        assert!(made.starts_with("e-") && made.len() == 34, "{made}");
        assert!(ok.events.iter().all(|e| e.visitor.is_none()));
    }

    #[test]
    fn the_shoppers_own_choice_narrows_what_a_page_claims() {
        let choice = |personalization, analytics, explicit| Consent {
            personalization,
            analytics,
            explicit,
        };
        let body = format!("[{VIEW},{VIEW}]");
        // The cookie says no analytics: nothing is kept, whatever the body says.
        let mut refused = prepare(body.as_bytes(), &salts()).unwrap();
        refused.narrow_to(choice(true, false, true));
        assert!(refused.events.is_empty());
        assert_eq!(refused.dropped_without_consent, 2);
        // Analytics only: kept, without personalization.
        let mut measured = prepare(body.as_bytes(), &salts()).unwrap();
        measured.narrow_to(choice(false, true, true));
        assert_eq!(measured.events.len(), 2);
        assert!(measured.events.iter().all(|e| !e.consent.personalization));
        // No cookie (a server's post): the events' own consent stands.
        let mut server = prepare(body.as_bytes(), &salts()).unwrap();
        server.narrow_to(choice(false, false, false));
        assert_eq!(server.events.len(), 2);
        assert!(server.events.iter().all(|e| e.consent.personalization));
    }

    #[test]
    fn events_without_analytics_consent_are_dropped() {
        let no = VIEW.replace(r#""analytics":true"#, r#""analytics":false"#);
        let ok = prepare(format!("[{VIEW},{no},{no}]").as_bytes(), &salts()).unwrap();
        assert_eq!((ok.events.len(), ok.dropped_without_consent), (1, 2));
    }

    #[test]
    fn bad_bodies_are_refused_with_a_reason() {
        let cases: Vec<(Vec<u8>, u16, &str)> = vec![
            (b"{not json".to_vec(), 400, "key must be a string"),
            (
                VIEW.replace("page_view", "page_visit").into_bytes(),
                400,
                "unknown variant `page_visit`",
            ),
            (
                VIEW.replace(
                    r#""consent":{"personalization":true,"analytics":true},"#,
                    "",
                )
                .into_bytes(),
                400,
                "missing field `consent`",
            ),
            (
                VIEW.replace(r#""region":"GB""#, r#""region":"gb""#)
                    .into_bytes(),
                400,
                "field `region`",
            ),
            (vec![b' '; MAX_COLLECT_BODY_BYTES + 1], 413, "at most"),
            (
                format!("[{}]", vec![VIEW; MAX_COLLECT_EVENTS + 1].join(",")).into_bytes(),
                413,
                "events, at most",
            ),
            (vec![0xff, 0xfe], 400, "not UTF-8"),
            (
                format!(
                    "[{VIEW},{}]",
                    VIEW.replace(
                        r#""type":"page_view""#,
                        r#""type":"exposure","module":"home","arm":"holdout","bundle":1,"items":[],"page":"home","device":"desktop","new_visitor":true"#
                    )
                )
                .into_bytes(),
                400,
                "body[1]: exposure events are logged by the edge",
            ),
            (Vec::new(), 400, "empty"),
        ];
        for (body, status, why) in cases {
            let err = prepare(&body, &salts()).unwrap_err();
            assert_eq!(err.status, status, "{why}: {}", err.reason);
            assert!(err.reason.contains(why), "{why}: {}", err.reason);
        }
    }
}
