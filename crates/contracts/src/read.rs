//! Readers for NDJSON and TOML inputs that collect every problem with its place.

use serde::de::DeserializeOwned;

use crate::error::{InputError, InputErrors};

/// Field-level problems found in one record, collected by [`Validate`].
#[derive(Debug, Default)]
pub struct Problems(Vec<(String, String)>);

impl Problems {
    /// Records that `field` is wrong, and why.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push((field.into(), message.into()));
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn into_errors(self, file: &str, line: Option<usize>) -> impl Iterator<Item = InputError> + '_ {
        self.0
            .into_iter()
            .map(move |(field, message)| InputError::new(file, line, field, message))
    }
}

/// Checks beyond what the types say: ranges, formats, references inside a record.
pub trait Validate {
    /// Adds every problem of `self` to `problems`.
    fn validate(&self, problems: &mut Problems);
}

/// Fails a money field that is negative, NaN or infinite.
pub(crate) fn check_money(p: &mut Problems, field: &str, value: f64) {
    if !value.is_finite() || value < 0.0 {
        p.push(field, format!("must be a finite number >= 0 (got {value})"));
    }
}

/// Reads newline-delimited JSON (one record per line; blank lines skipped),
/// validating every record. Returns all records, or every problem found
/// with `file`, line and field.
pub fn read_ndjson<T: DeserializeOwned + Validate>(
    file: &str,
    text: &str,
) -> Result<Vec<T>, InputErrors> {
    read_ndjson_from(file, text, 1)
}

/// [`read_ndjson`] of a part of a file whose first line is `first_line`
/// (so a caller can read a large file's parts at once and still name the
/// right lines).
pub fn read_ndjson_from<T: DeserializeOwned + Validate>(
    file: &str,
    text: &str,
    first_line: usize,
) -> Result<Vec<T>, InputErrors> {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + first_line;
        if raw.trim().is_empty() {
            continue;
        }
        let de = &mut serde_json::Deserializer::from_str(raw);
        match serde_path_to_error::deserialize::<_, T>(de) {
            Ok(record) => {
                let mut problems = Problems::default();
                record.validate(&mut problems);
                if problems.is_empty() {
                    records.push(record);
                } else {
                    errors.extend(problems.into_errors(file, Some(line)));
                }
            }
            Err(e) => {
                let field = e.path().to_string();
                let field = if field == "." { String::new() } else { field };
                errors.push(InputError::new(
                    file,
                    Some(line),
                    field,
                    e.into_inner().to_string(),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(InputErrors(errors))
    }
}

/// Reads one JSON document holding a record or an array of records (as a
/// request body does), validating each; errors name `file`, the record's
/// index and the field (`[2].qty`).
pub fn read_json<T: DeserializeOwned + Validate>(
    file: &str,
    text: &str,
) -> Result<Vec<T>, InputErrors> {
    let is_array = text.trim_start().starts_with('[');
    let de = &mut serde_json::Deserializer::from_str(text);
    let records: Vec<T> = if is_array {
        serde_path_to_error::deserialize(de)
    } else {
        serde_path_to_error::deserialize::<_, T>(de).map(|r| vec![r])
    }
    .map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        InputErrors(vec![InputError::new(
            file,
            None,
            field,
            e.into_inner().to_string(),
        )])
    })?;
    let mut errors = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let mut problems = Problems::default();
        record.validate(&mut problems);
        let prefix = if is_array {
            format!("[{i}].")
        } else {
            String::new()
        };
        errors.extend(problems.0.into_iter().map(|(field, message)| {
            InputError::new(file, None, format!("{prefix}{field}"), message)
        }));
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(InputErrors(errors))
    }
}

/// Keys that moved between versions, (old path, new path), so an old file's
/// error says where its key went.
const MOVED_KEYS: &[(&str, &str)] = &[("search.fast_ship_days", "shipping.fast_ship_days")];

/// Reads a TOML document and validates it.
pub fn read_toml<T: DeserializeOwned + Validate>(file: &str, text: &str) -> Result<T, InputErrors> {
    let de = toml::Deserializer::new(text);
    let value: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let line = inner.span().map(|span| {
            text.get(..span.start)
                .map_or(1, |s| s.matches('\n').count() + 1)
        });
        let mut message = inner.message().to_string();
        if let Some((_, to)) = MOVED_KEYS.iter().find(|(from, _)| *from == field) {
            message.push_str(&format!(" (it moved: write it as `{to}`)"));
        }
        let field = if field == "." { String::new() } else { field };
        InputErrors(vec![InputError::new(file, line, field, message)])
    })?;
    let mut problems = Problems::default();
    value.validate(&mut problems);
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(InputErrors(problems.into_errors(file, None).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, Product, Rules};

    const GOOD: &str = r#"{"id":"A-1","title":"Phone","category":["Electronics","Phones"],"price":199.0,"currency":"EUR","created_at":"2026-01-02T03:04:05Z"}"#;

    #[test]
    fn every_bad_line_is_reported_with_line_and_field() {
        let text = format!(
            "{GOOD}\n\n{}\n{}\n",
            r#"{"id":"A 2","title":"","category":["Electronics"],"price":1.0,"currency":"eur","created_at":"2026-01-02T03:04:05Z"}"#,
            r#"{"id":"A-3","title":"x","category":["E"],"price":"cheap","currency":"EUR","created_at":"2026-01-02T03:04:05Z"}"#,
        );
        let errors = read_ndjson::<Product>("catalog.ndjson", &text)
            .unwrap_err()
            .0;
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        assert!(
            shown[0].starts_with("catalog.ndjson:3: field `id`"),
            "{}",
            shown[0]
        );
        assert!(
            shown[1].starts_with("catalog.ndjson:3: field `title`"),
            "{}",
            shown[1]
        );
        assert!(
            shown[2].starts_with("catalog.ndjson:3: field `currency`"),
            "{}",
            shown[2]
        );
        assert!(
            shown[3].starts_with("catalog.ndjson:4: field `price`: invalid type"),
            "{}",
            shown[3]
        );
    }

    #[test]
    fn unknown_fields_are_named() {
        let text = GOOD.replace("\"price\"", "\"prise\"");
        let errors = read_ndjson::<Product>("c", &text).unwrap_err();
        assert!(
            errors.to_string().contains("unknown field `prise`"),
            "{errors}"
        );
    }

    #[test]
    fn events_parse_by_type_and_check_quantities() {
        let ok = r#"{"type":"add_to_cart","session":"s1","ts":"2026-01-02T03:04:05Z","consent":{"personalization":true,"analytics":true},"region":"GB","product":"A-1","qty":2,"price":3.5}"#;
        let events = read_ndjson::<Event>("events.ndjson", ok).unwrap();
        assert_eq!(events[0].kind.products(), vec!["A-1"]);
        let bad = ok.replace("\"qty\":2", "\"qty\":0");
        let err = read_ndjson::<Event>("events.ndjson", &bad).unwrap_err();
        assert_eq!(
            err.to_string(),
            "events.ndjson:1: field `qty`: must be at least 1"
        );
        let unknown = ok.replace("add_to_cart", "add_to_basket");
        let err = read_ndjson::<Event>("events.ndjson", &unknown).unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `add_to_basket`"),
            "{err}"
        );
    }

    #[test]
    fn json_bodies_hold_one_record_or_many() {
        let one = r#"{"type":"page_view","session":"s1","ts":"2026-01-02T03:04:05Z","consent":{"personalization":true,"analytics":true},"region":"GB","product":"A-1"}"#;
        assert_eq!(read_json::<Event>("body", one).unwrap().len(), 1);
        let cart = r#"{"type":"add_to_cart","session":"s1","ts":"2026-01-02T03:04:05Z","consent":{"personalization":true,"analytics":true},"region":"GB","product":"A-1","qty":0,"price":1}"#;
        let many = format!("[{one},{cart}]");
        let err = read_json::<Event>("body", &many).unwrap_err().to_string();
        assert_eq!(err, "body: field `[1].qty`: must be at least 1");
        let err = read_json::<Event>(
            "body",
            &one.replace(
                r#""consent":{"personalization":true,"analytics":true},"#,
                "",
            ),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `consent`"), "{err}");
    }

    #[test]
    fn toml_errors_carry_the_line() {
        let text = "[guardrails]\nmin_inventory = 1\nexclude_tagz = [\"x\"]\n";
        let err = read_toml::<Rules>("rules.toml", text).unwrap_err();
        let shown = err.to_string();
        assert!(
            shown.starts_with("rules.toml:3: field `guardrails"),
            "{shown}"
        );
        assert!(shown.contains("unknown field `exclude_tagz`"), "{shown}");
    }

    #[test]
    fn a_moved_key_says_where_it_went() {
        let text = "[search]\nfast_ship_days = 2\n";
        let shown = read_toml::<Rules>("rules.toml", text)
            .unwrap_err()
            .to_string();
        assert!(
            shown.starts_with("rules.toml:2: field `search.fast_ship_days`"),
            "{shown}"
        );
        assert!(
            shown.contains("write it as `shipping.fast_ship_days`"),
            "{shown}"
        );
    }

    #[test]
    fn out_of_range_retention_and_holdouts_are_named() {
        let text = "[events]\nretention_days = 0\n\n[experiments]\nholdout = 0.7\n";
        let shown = read_toml::<Rules>("rules.toml", text)
            .unwrap_err()
            .to_string();
        assert!(shown.contains("events.retention_days"), "{shown}");
        assert!(shown.contains("within 1..=3650 (got 0)"), "{shown}");
        assert!(shown.contains("experiments.holdout"), "{shown}");
        let kept: Rules = read_toml("rules.toml", "[events]\nretention_days = 30\n").unwrap();
        assert_eq!(kept.events.retention_days, 30);
        assert_eq!(Rules::default().events.retention_days, 395);
    }
}
