//! Text normalization shared by the index (at the origin) and queries (at
//! the edge): both sides must agree term for term.
//!
//! Lower-cases, folds the accents of Latin scripts ("café" = "cafe"),
//! splits on anything that is not a letter or digit, joins hyphenated
//! compounds ("t-shirt" = "tshirt"), drops stop words and reduces English
//! plurals ("batteries" = "battery", "boxes" = "box").
//!
//! The accent table covers Latin-1 and Latin Extended-A, which is what
//! European storefronts use; a full Unicode decomposition table would cost
//! more wasm than the rest of search.

/// Words too common to tell products apart ("charger for iphone").
const STOP_WORDS: [&str; 24] = [
    "a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "it", "of", "on",
    "or", "our", "the", "this", "to", "with", "you", "your", "its",
];

/// Longest term kept, in characters; longer words are cut (they are noise
/// or attacks, and the typo automata grow with word length).
pub const MAX_TERM_CHARS: usize = 32;

/// One word of a text as the index and queries see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The normalized term (folded, stemmed, compound parts joined).
    pub term: String,
    /// The term before plural reduction: typo tolerance starts from it, so
    /// "wirelss" is one edit from "wireless" rather than "wirel" two.
    pub unstemmed: String,
    /// The parts of a hyphenated compound, normalized (empty for plain words).
    pub parts: Vec<String>,
    /// The word as written, for reports.
    pub original: String,
    /// Whether it is a stop word (kept in queries that have nothing else).
    pub stop: bool,
}

/// The words of `text`, in order.
pub fn words(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    // A "compound" is a run of alphanumeric pieces joined by single hyphens
    // or apostrophes; anything else separates words.
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == '’')) {
        let pieces: Vec<String> = raw
            .split(['-', '\'', '’'])
            .map(fold)
            .filter(|p| !p.is_empty())
            .collect();
        if pieces.is_empty() {
            continue;
        }
        let joined: String = pieces.concat();
        let parts = if pieces.len() > 1 {
            pieces.iter().map(|p| stem(p)).collect()
        } else {
            Vec::new()
        };
        let term = stem(&joined);
        out.push(Word {
            stop: STOP_WORDS.contains(&term.as_str()),
            term,
            unstemmed: joined,
            parts,
            original: raw.chars().take(MAX_TERM_CHARS * 2).collect(),
        });
    }
    out
}

/// The normalized terms of `text` (stop words dropped), as a query or a
/// synonym phrase compares them.
pub fn terms(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !w.stop)
        .map(|w| w.term)
        .collect()
}

/// Lower-cased, accent-folded, cut to [`MAX_TERM_CHARS`].
fn fold(piece: &str) -> String {
    let mut out = String::with_capacity(piece.len());
    for c in piece.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    out.chars().take(MAX_TERM_CHARS).collect()
}

/// The unaccented form of a lower-case Latin letter, if it has one.
fn fold_char(c: char) -> Option<&'static str> {
    Some(match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' => "t",
        'þ' => "th",
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// English plural to singular, conservatively: the index and the query
/// apply the same rule, so consistency matters more than linguistics.
fn stem(word: &str) -> String {
    let n = word.len();
    if n <= 3 || !word.is_ascii() {
        return word.to_owned();
    }
    let base = |cut: usize| word.get(..n - cut).unwrap_or(word).to_owned();
    if word.ends_with("ies") && n > 4 {
        return base(3) + "y";
    }
    if word.ends_with("sses") {
        return base(2);
    }
    for ending in ["xes", "ches", "shes", "zes"] {
        if word.ends_with(ending) {
            return base(2);
        }
    }
    if word.ends_with('s') && !["ss", "us", "is"].iter().any(|e| word.ends_with(e)) {
        return base(1);
    }
    word.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Vec<String> {
        terms(text)
    }

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(t("Crème Brûlée!"), ["creme", "brulee"]);
        assert_eq!(t("STRAßE, Łódź"), ["strasse", "lodz"]);
        assert_eq!(t("  usb-c   Charger... "), ["usbc", "charger"]);
    }

    #[test]
    fn reduces_plurals_the_same_way_on_both_sides() {
        assert_eq!(
            t("batteries boxes watches chargers"),
            ["battery", "box", "watch", "charger"]
        );
        assert_eq!(
            t("glasses dress bus axis"),
            ["glass", "dress", "bus", "axis"]
        );
        assert_eq!(t("shoes cases"), t("shoe case"));
    }

    #[test]
    fn joins_compounds_and_keeps_their_parts() {
        let w = words("T-Shirts");
        assert_eq!(w[0].term, "tshirt");
        assert_eq!(w[0].parts, ["t", "shirts"].map(stem));
        assert_eq!(t("tshirt"), t("t-shirt"));
        assert_eq!(t("O'Neill"), ["oneill"]);
    }

    #[test]
    fn drops_stop_words_and_cuts_long_words() {
        assert_eq!(t("charger for the iPhone"), ["charger", "iphone"]);
        let long = "x".repeat(500);
        assert_eq!(t(&long)[0].len(), MAX_TERM_CHARS);
        assert!(t("").is_empty());
        assert!(t("--- ''' ...").is_empty());
    }
}
