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

use crate::limits::MAX_QUERY_WORDS;

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
    compounds(text)
        .map(|(raw, joined, pieces)| {
            let term = stem(joined.clone());
            Word {
                stop: STOP_WORDS.contains(&term.as_str()),
                term,
                unstemmed: joined,
                parts: pieces.into_iter().map(stem).collect(),
                original: raw.chars().take(MAX_TERM_CHARS * 2).collect(),
            }
        })
        .collect()
}

/// The words of search `query` that count, and the others as written:
/// stop words count only when the query has nothing else ("the who"), and
/// at most [`MAX_QUERY_WORDS`] do.
pub fn query_words(query: &str) -> (Vec<Word>, Vec<String>) {
    let all = words(query);
    let meaningful = all.iter().any(|w| !w.stop);
    let (mut kept, mut ignored) = (Vec::new(), Vec::new());
    for w in all {
        if (w.stop && meaningful) || kept.len() >= MAX_QUERY_WORDS {
            ignored.push(w.original);
        } else {
            kept.push(w);
        }
    }
    (kept, ignored)
}

/// The key of search `query`: the terms of its [`query_words`],
/// space-separated. Pins, buries and learned queries are found by it, so
/// the origin keys them as the edge will look them up.
pub fn query_key(query: &str) -> String {
    let (kept, _) = query_words(query);
    let terms: Vec<&str> = kept.iter().map(|w| w.term.as_str()).collect();
    terms.join(" ")
}

/// The terms of `text` as the index adds them: each word's term with its
/// compound parts (empty for plain words), stop words left out. The same
/// terms as [`words`] gives, without the copies queries keep (the index
/// analyzes every product's description with it).
pub fn index_terms(text: &str) -> impl Iterator<Item = (String, Vec<String>)> + '_ {
    compounds(text).filter_map(|(_, joined, pieces)| {
        let term = stem(joined);
        (!STOP_WORDS.contains(&term.as_str()))
            .then(|| (term, pieces.into_iter().map(stem).collect()))
    })
}

/// The compounds of `text`: a run of alphanumeric pieces joined by single
/// hyphens or apostrophes (anything else separates them), as written,
/// with its folded pieces joined, and the pieces when there are several.
fn compounds(text: &str) -> impl Iterator<Item = (&str, String, Vec<String>)> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\'' || c == '’'))
        .filter_map(|raw| {
            let mut pieces = raw
                .split(['-', '\'', '’'])
                .map(fold)
                .filter(|p| !p.is_empty());
            let first = pieces.next()?;
            match pieces.next() {
                None => Some((raw, first, Vec::new())),
                Some(second) => {
                    let mut all = vec![first, second];
                    all.extend(pieces);
                    Some((raw, all.concat(), all))
                }
            }
        })
}

/// The normalized terms of `text` (stop words dropped), as a synonym
/// phrase or a product's text compares them (a query: [`query_words`]).
pub fn terms(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !w.stop)
        .map(|w| w.term)
        .collect()
}

/// Lower-cased, accent-folded, cut to [`MAX_TERM_CHARS`].
pub fn fold(piece: &str) -> String {
    if piece.is_ascii() {
        // Most text: one copy, no folding table.
        let mut out = piece.get(..MAX_TERM_CHARS).unwrap_or(piece).to_owned();
        out.make_ascii_lowercase();
        return out;
    }
    let mut out = String::with_capacity(piece.len());
    for c in piece.chars().flat_map(char::to_lowercase) {
        match fold_char(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        }
    }
    match out.char_indices().nth(MAX_TERM_CHARS) {
        Some((cut, _)) => {
            out.truncate(cut);
            out
        }
        None => out,
    }
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

/// `phrase` (of index terms, singular) with its last word in the plural
/// where `typed` (a word as the shopper wrote it) was a plural: how a
/// related phrase is shown to whoever typed "skillets" ("frying pans").
/// As it is when `typed` was not a plural or no plural of the word reduces
/// back to it.
pub fn inflect_like(typed: &str, phrase: &str) -> String {
    let typed = fold(typed);
    let (head, last) = phrase.rsplit_once(' ').unwrap_or(("", phrase));
    if stem(typed.clone()) == typed {
        return phrase.to_owned();
    }
    match plural(last) {
        Some(p) if head.is_empty() => p,
        Some(p) => format!("{head} {p}"),
        None => phrase.to_owned(),
    }
}

/// The regular plural of `word` that [`stem`] reduces back to it, if any
/// ("battery" -> "batteries", "toy" -> "toys", "box" -> "boxes").
pub fn plural(word: &str) -> Option<String> {
    let consonant_y = word
        .strip_suffix('y')
        .filter(|s| s.ends_with(|c: char| c.is_ascii_alphabetic() && !"aeiou".contains(c)));
    let sibilant = ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| word.ends_with(e));
    [
        consonant_y.map(|s| format!("{s}ies")),
        sibilant.then(|| format!("{word}es")),
        Some(format!("{word}s")),
    ]
    .into_iter()
    .flatten()
    .find(|p| stem(p.clone()) == word)
}

/// English plural to singular, conservatively: the index and the query
/// apply the same rule, so consistency matters more than linguistics. Cuts
/// `word` in place.
fn stem(mut word: String) -> String {
    let n = word.len();
    if n <= 3 || !word.is_ascii() {
        return word;
    }
    let cut = if word.ends_with("ies") && n > 4 {
        word.truncate(n - 3);
        word.push('y');
        return word;
    } else if word.ends_with("sses")
        || ["xes", "ches", "shes", "zes"]
            .iter()
            .any(|e| word.ends_with(e))
    {
        2
    } else if word.ends_with('s') && !["ss", "us", "is"].iter().any(|e| word.ends_with(e)) {
        1
    } else {
        0
    };
    word.truncate(n - cut);
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Vec<String> {
        terms(text)
    }

    #[test]
    fn corrections_keep_the_plural_the_shopper_typed() {
        assert_eq!(plural("toy").as_deref(), Some("toys"));
        assert_eq!(plural("battery").as_deref(), Some("batteries"));
        assert_eq!(inflect_like("Skillets", "frying pan"), "frying pans");
        assert_eq!(inflect_like("skillet", "frying pan"), "frying pan");
        assert_eq!(inflect_like("boxs", "box"), "boxes");
        assert_eq!(inflect_like("trays", "toy"), "toys");
        assert_eq!(inflect_like("kettles", "battery"), "batteries");
        // A word no plural reduces to stays as it is.
        assert_eq!(inflect_like("lampes", "bus"), "bus");
    }

    #[test]
    fn a_query_keys_as_the_edge_reads_it() {
        assert_eq!(query_key("Charger for the iPhones"), "charger iphone");
        // Stop words count when there is nothing else.
        assert_eq!(query_key("This Is It"), "this is it");
        assert_eq!(query_key("?!"), "");
        let long = "one two three four five six seven eight nine ten eleven twelve";
        let (kept, ignored) = query_words(long);
        assert_eq!(
            (kept.len(), ignored),
            (10, vec!["eleven".into(), "twelve".into()])
        );
        assert_eq!(query_key(long).split(' ').count(), 10);
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
        assert_eq!(w[0].parts, ["t", "shirts"].map(|p| stem(p.to_owned())));
        assert_eq!(t("tshirt"), t("t-shirt"));
        assert_eq!(t("O'Neill"), ["oneill"]);
    }

    #[test]
    fn the_index_sees_the_terms_queries_see() {
        let text = "The T-Shirts for Łódź's crème-brûlée boxes, O'Neill ÉCOLE batteries \
                    and an İstanbul STRAßE of "
            .to_owned()
            + &"é".repeat(40)
            + " "
            + &"Q".repeat(40);
        let from_words: Vec<(String, Vec<String>)> = words(&text)
            .into_iter()
            .filter(|w| !w.stop)
            .map(|w| (w.term, w.parts))
            .collect();
        let indexed: Vec<(String, Vec<String>)> = index_terms(&text).collect();
        assert_eq!(indexed, from_words);
        assert!(indexed.len() > 8, "{indexed:?}");
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
