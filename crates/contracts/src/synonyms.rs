//! The merchant's search synonyms, as a small text file.
//!
//! One rule per line; `#` starts a comment:
//!
//! ```text
//! tee, t-shirt, tshirt          # two-way: any of them finds the others
//! laptop => notebook, chromebook   # one-way: "laptop" finds notebooks, not the reverse
//! ```
//!
//! Terms may be phrases ("running shoes"). Normalization (case, accents,
//! plurals) happens where the index is built, so it matches the query side.

use crate::error::{InputError, InputErrors};

/// Most terms one rule may name.
pub const MAX_TERMS_PER_RULE: usize = 32;
/// Longest term, in characters.
pub const MAX_TERM_CHARS: usize = 64;

/// One synonym rule from one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynonymRule {
    /// 1-based line in the file, for messages.
    pub line: usize,
    /// Terms that trigger the rule. For a two-way rule, every term of the group.
    pub from: Vec<String>,
    /// Terms a trigger also searches for. For a two-way rule, the same group.
    pub to: Vec<String>,
    /// Whether every term finds every other (`a, b, c`), or only `from`
    /// finds `to` (`a => b, c`).
    pub two_way: bool,
}

/// Reads a synonyms file; every malformed line is reported with its number.
pub fn read_synonyms(file: &str, text: &str) -> Result<Vec<SynonymRule>, InputErrors> {
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let err = |message: String| InputError::new(file, Some(line), "", message);
        let parts: Vec<&str> = content.split("=>").collect();
        let rule = match parts.as_slice() {
            [group] => terms(group).and_then(|group| {
                if group.len() < 2 {
                    Err(format!(
                        "a two-way group needs at least two terms separated by commas (got {content:?})"
                    ))
                } else {
                    Ok(SynonymRule {
                        line,
                        from: group.clone(),
                        to: group,
                        two_way: true,
                    })
                }
            }),
            [from, to] => terms(from).and_then(|from| {
                terms(to).map(|to| SynonymRule {
                    line,
                    from,
                    to,
                    two_way: false,
                })
            }),
            _ => Err(format!("at most one `=>` per line (got {content:?})")),
        };
        match rule {
            Ok(r) => rules.push(r),
            Err(m) => errors.push(err(m)),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(InputErrors(errors))
    }
}

/// The comma-separated terms of one side of a rule.
fn terms(side: &str) -> Result<Vec<String>, String> {
    let terms: Vec<String> = side
        .split(',')
        .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    if terms.iter().any(String::is_empty) {
        return Err(format!("empty term in {:?}", side.trim()));
    }
    if let Some(t) = terms.iter().find(|t| t.chars().count() > MAX_TERM_CHARS) {
        return Err(format!(
            "term longer than {MAX_TERM_CHARS} characters: {:?}",
            t.chars().take(MAX_TERM_CHARS).collect::<String>()
        ));
    }
    if terms.len() > MAX_TERMS_PER_RULE {
        return Err(format!(
            "{} terms; a rule may name at most {MAX_TERMS_PER_RULE}",
            terms.len()
        ));
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_two_way_and_one_way_rules() {
        let text =
            "# comment\n\ntee, T-Shirt ,tshirt\nlaptop => notebook, ultra  book # trailing\n";
        let rules = read_synonyms("synonyms.txt", text).unwrap();
        assert_eq!(rules.len(), 2);
        assert!(rules[0].two_way);
        assert_eq!(rules[0].from, ["tee", "T-Shirt", "tshirt"]);
        assert_eq!(rules[1].line, 4);
        assert_eq!(rules[1].from, ["laptop"]);
        assert_eq!(rules[1].to, ["notebook", "ultra book"]);
        assert!(!rules[1].two_way);
    }

    #[test]
    fn names_the_line_of_each_bad_rule() {
        let text = "sofa\ncouch, , settee\na => b => c\nok, fine\n => x\n";
        let err = read_synonyms("syn.txt", text).unwrap_err();
        let lines: Vec<Option<usize>> = err.0.iter().map(|e| e.line).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(3), Some(5)]);
        let text = err.to_string();
        assert!(
            text.contains("syn.txt:1: a two-way group needs at least two terms"),
            "{text}"
        );
        assert!(text.contains("syn.txt:3: at most one `=>`"), "{text}");
    }
}
