//! The merchant's inputs, read, validated and cross-checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use firstpaint_bundle::InputFile;
use firstpaint_contracts::{
    read_ndjson_from, read_synonyms, read_toml, Event, InputError, InputErrors, Product, Rules,
    SynonymRule, Validate,
};
use serde::de::DeserializeOwned;

use crate::wordnet::{related, Related, WordNet, DEBIAN_DIR};

/// Catalog, events and rules that passed every check, with their hashes.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Products, in file order.
    pub products: Vec<Product>,
    /// Events with analytics consent, in file order.
    pub events: Vec<Event>,
    /// The rules.
    pub rules: Rules,
    /// Search synonyms (none when no file was given).
    pub synonyms: Vec<SynonymRule>,
    /// WordNet's nouns (none when not found): search's related words, and
    /// the unrelated words its rescue floor is measured on.
    pub wordnet: Option<Arc<WordNet>>,
    /// Search's related words, from the whole store's products (a shard's
    /// inputs keep the store's, so every shard reports the same ones).
    pub related: Arc<Vec<Related>>,
    /// SHA-256 of the catalog file.
    pub catalog_sha256: [u8; 32],
    /// SHA-256 of the events file.
    pub events_sha256: [u8; 32],
    /// SHA-256 of the rules file.
    pub rules_sha256: [u8; 32],
    /// Every input file read (catalog, events, rules, synonyms), for the
    /// bundle's lineage.
    pub files: Vec<InputFile>,
    /// Events dropped because they lacked analytics consent.
    pub dropped_without_consent: usize,
    /// Events naming products not in the catalog (kept, but they train nothing).
    pub unknown_product_refs: usize,
}

/// Where the inputs are.
#[derive(Debug, Clone)]
pub struct InputPaths {
    /// `catalog.ndjson`.
    pub catalog: PathBuf,
    /// `events.ndjson`.
    pub events: PathBuf,
    /// `rules.toml`.
    pub rules: PathBuf,
    /// Search synonyms (see [`firstpaint_contracts::read_synonyms`]), if any.
    pub synonyms: Option<PathBuf>,
    /// WordNet's database directory, if search should know related words.
    pub wordnet: Option<PathBuf>,
}

/// Debian's WordNet ([`DEBIAN_DIR`], from `wordnet-base`) when it is
/// installed: the setup script installs it.
pub fn default_wordnet() -> Option<PathBuf> {
    let dir = PathBuf::from(DEBIAN_DIR);
    dir.join("data.noun").exists().then_some(dir)
}

impl InputPaths {
    /// The inputs of a store directory laid out like `fixtures/`:
    /// `catalog.ndjson`, `events.ndjson`, `rules.toml`, and `synonyms.txt`
    /// when there is one; with the system's WordNet when installed.
    pub fn in_dir(dir: &Path) -> Self {
        let synonyms = dir.join("synonyms.txt");
        Self {
            catalog: dir.join("catalog.ndjson"),
            events: dir.join("events.ndjson"),
            rules: dir.join("rules.toml"),
            synonyms: synonyms.exists().then_some(synonyms),
            wordnet: default_wordnet(),
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("{}: failed to read", path.display()))
}

/// What the lineage records of an input file read as `text` from `path`,
/// whose SHA-256 is `sha256` (hashed once: the header carries it too).
fn input_file(role: &str, path: &Path, text: &str, sha256: &[u8; 32]) -> InputFile {
    InputFile {
        role: role.into(),
        file: path.display().to_string(),
        sha256: firstpaint_bundle::hex(sha256),
        bytes: text.len() as u64,
    }
}

/// A catalog file's text and its products, checked: what `serve` keeps
/// between a webhook and the rebuild it queues, so neither reads the file
/// again.
#[derive(Debug, Clone)]
pub struct CheckedCatalog {
    /// The file's text.
    pub text: String,
    /// Its products, in line order (blank lines hold none).
    pub products: Vec<Product>,
}

impl CheckedCatalog {
    /// Checks `text` (the file named `file`) as [`check_catalog`] does.
    pub fn check(file: &str, text: String) -> Result<CheckedCatalog, InputErrors> {
        let products = check_catalog(file, &text)?;
        Ok(CheckedCatalog { text, products })
    }

    /// Each product with its line, in order.
    pub fn records(&self) -> impl Iterator<Item = (&str, &Product)> {
        self.text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .zip(&self.products)
    }
}

/// Reads and checks all the inputs; every problem in every file is reported.
pub fn load(paths: &InputPaths) -> anyhow::Result<Inputs> {
    load_with(paths, true, None)
}

/// [`load`], with a `known` catalog (checked already) standing for the
/// catalog file when given: `serve` keeps one, with changes the file does
/// not hold yet.
pub fn load_with_catalog(
    paths: &InputPaths,
    known: Option<&CheckedCatalog>,
) -> anyhow::Result<Inputs> {
    load_with(paths, true, known)
}

/// Reads and checks the catalog, the rules and the synonyms, not the
/// events (left empty, with a zero hash and no lineage line): what an
/// incremental build needs, whose behaviour comes from its parent. A
/// `known` catalog is taken as the catalog file's content, not read again.
pub fn load_catalog_side(
    paths: &InputPaths,
    known: Option<&CheckedCatalog>,
) -> anyhow::Result<Inputs> {
    load_with(paths, false, known)
}

fn load_with(
    paths: &InputPaths,
    with_events: bool,
    known: Option<&CheckedCatalog>,
) -> anyhow::Result<Inputs> {
    let read_text;
    let catalog_text = match known {
        Some(k) => k.text.as_str(),
        None => {
            read_text = read(&paths.catalog)?;
            read_text.as_str()
        }
    };
    let events_text = if with_events {
        read(&paths.events)?
    } else {
        String::new()
    };
    let rules_text = read(&paths.rules)?;
    let catalog_name = paths.catalog.display().to_string();
    let mut errors = Vec::new();

    let products = match known {
        Some(k) => k.products.clone(),
        None => collect(&mut errors, check_catalog(&catalog_name, catalog_text)),
    };
    let events = collect(
        &mut errors,
        read_lines::<Event>(&paths.events.display().to_string(), &events_text),
    );
    let catalog_sha256 = firstpaint_bundle::sha256(catalog_text.as_bytes());
    let events_sha256 = if with_events {
        firstpaint_bundle::sha256(events_text.as_bytes())
    } else {
        [0; 32]
    };
    let rules_sha256 = firstpaint_bundle::sha256(rules_text.as_bytes());
    let mut files = vec![input_file(
        "catalog",
        &paths.catalog,
        catalog_text,
        &catalog_sha256,
    )];
    if with_events {
        files.push(input_file(
            "events",
            &paths.events,
            &events_text,
            &events_sha256,
        ));
    }
    files.push(input_file(
        "rules",
        &paths.rules,
        &rules_text,
        &rules_sha256,
    ));
    let synonyms = match &paths.synonyms {
        Some(path) => {
            let text = read(path)?;
            files.push(input_file(
                "synonyms",
                path,
                &text,
                &firstpaint_bundle::sha256(text.as_bytes()),
            ));
            collect(
                &mut errors,
                read_synonyms(&path.display().to_string(), &text),
            )
        }
        None => Vec::new(),
    };
    let wordnet = match &paths.wordnet {
        Some(dir) => {
            let wordnet = WordNet::read_shared(dir)?;
            files.push(InputFile {
                role: "wordnet".into(),
                file: dir.join("data.noun").display().to_string(),
                sha256: firstpaint_bundle::hex(&wordnet.sha256),
                bytes: wordnet.bytes,
            });
            Some(wordnet)
        }
        None => None,
    };
    let related = Arc::new(
        wordnet
            .as_deref()
            .map(|w| related::build(w, &products))
            .unwrap_or_default(),
    );
    let rules = match read_toml::<Rules>(&paths.rules.display().to_string(), &rules_text) {
        Ok(r) => Some(r),
        Err(InputErrors(e)) => {
            errors.extend(e);
            None
        }
    };
    if !errors.is_empty() {
        bail!(
            "{}\n{} problem(s) in the inputs; nothing was built",
            InputErrors(errors.clone()),
            errors.len()
        );
    }
    let Some(rules) = rules else {
        bail!("rules did not load")
    };
    let (events, dropped): (Vec<Event>, Vec<Event>) =
        events.into_iter().partition(|e| e.consent.analytics);
    let known: std::collections::HashSet<&str> = products.iter().map(|p| p.id.as_str()).collect();
    let unknown_product_refs = events
        .iter()
        .flat_map(|e| e.kind.products())
        .filter(|id| !known.contains(id))
        .count();
    Ok(Inputs {
        products,
        events,
        rules,
        synonyms,
        wordnet,
        related,
        catalog_sha256,
        events_sha256,
        rules_sha256,
        files,
        dropped_without_consent: dropped.len(),
        unknown_product_refs,
    })
}

/// The products of catalog `text` (named `file` in errors), each checked
/// and then checked against each other (unique ids, compatibility links
/// that resolve); every problem with its line and field.
pub fn check_catalog(file: &str, text: &str) -> Result<Vec<Product>, InputErrors> {
    let products = read_lines::<Product>(file, text)?;
    // Cross-record checks need every record, so they run on a clean parse only.
    cross_check(file, text, &products)?;
    Ok(products)
}

/// Reads NDJSON as `read_ndjson` does, its parts (cut at line ends) on
/// every core: the same records in the same order, the same errors with
/// the same lines.
fn read_lines<T: DeserializeOwned + Validate + Send>(
    file: &str,
    text: &str,
) -> Result<Vec<T>, InputErrors> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut parts: Vec<(usize, &str)> = Vec::with_capacity(threads);
    let (mut rest, mut line) = (text, 1);
    for k in (1..=threads).rev() {
        let cut = if k == 1 {
            rest.len()
        } else {
            // After a newline byte is always a character boundary.
            let at = rest.len() / k;
            rest.as_bytes()
                .get(at..)
                .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
                .map_or(rest.len(), |nl| at + nl + 1)
        };
        let (part, tail) = rest.split_at(cut);
        parts.push((line, part));
        line += part.bytes().filter(|&b| b == b'\n').count();
        rest = tail;
    }
    let results: Vec<Result<Vec<T>, InputErrors>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|&(first, part)| scope.spawn(move || read_ndjson_from::<T>(file, part, first)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let (mut records, mut errors) = (Vec::new(), Vec::new());
    for result in results {
        match result {
            Ok(r) => records.extend(r),
            Err(InputErrors(e)) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(InputErrors(errors))
    }
}

fn collect<T>(errors: &mut Vec<InputError>, r: Result<Vec<T>, InputErrors>) -> Vec<T> {
    match r {
        Ok(v) => v,
        Err(InputErrors(e)) => {
            errors.extend(e);
            Vec::new()
        }
    }
}

/// Checks across the records of `products` (read from `text`, the file
/// named `file`): unique ids, compatibility links that resolve. Each
/// problem names its line.
pub fn cross_check(file: &str, text: &str, products: &[Product]) -> Result<(), InputErrors> {
    /// A problem of record `.0`, before its line is known.
    enum Found<'a> {
        Duplicate { first: usize },
        Unknown { link: usize, id: &'a str },
    }
    let mut found: Vec<(usize, Found)> = Vec::new();
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (i, p) in products.iter().enumerate() {
        match first_seen.get(p.id.as_str()) {
            Some(&first) => found.push((i, Found::Duplicate { first })),
            None => {
                first_seen.insert(&p.id, i);
            }
        }
    }
    for (i, p) in products.iter().enumerate() {
        for (link, id) in p.compatible_with.iter().enumerate() {
            if !first_seen.contains_key(id.as_str()) {
                found.push((i, Found::Unknown { link, id }));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    // Line numbers of records, skipping blank lines as the reader does
    // (only counted when something is wrong: a large catalog's every line).
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, _)| i + 1)
        .collect();
    let line_of = |i: usize| lines.get(i).copied();
    let mut errors = Vec::with_capacity(found.len());
    for (i, problem) in found {
        errors.push(match problem {
            Found::Duplicate { first } => InputError::new(
                file,
                line_of(i),
                "id",
                format!(
                    "duplicate id {:?} (first on line {})",
                    products.get(i).map_or("", |p| p.id.as_str()),
                    line_of(first).unwrap_or(0)
                ),
            ),
            Found::Unknown { link, id } => InputError::new(
                file,
                line_of(i),
                format!("compatible_with[{link}]"),
                format!("no product has id {id:?}"),
            ),
        });
    }
    Err(InputErrors(errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use firstpaint_contracts::read_ndjson;

    /// The first `n` lines of the fixtures catalog.
    fn fixture_lines(n: usize) -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/catalog.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().take(n).map(str::to_owned).collect()
    }

    /// Read in parts, a file gives what it gives read whole: the same
    /// records, and every error on the same line (blank lines, CRLF ends
    /// and a last line without a newline included).
    #[test]
    fn reading_in_parts_names_the_same_lines() {
        let good = fixture_lines(60);
        let mut lines = good.clone();
        lines[3] = String::new();
        lines[17] = lines[17].replace("\"price\":", "\"price\":-");
        lines[40] = "{ not json".to_owned();
        lines[58] = lines[58].replace("\"currency\":\"", "\"currency\":\"x");
        let text = lines.join("\r\n");
        let whole = read_ndjson::<Product>("c", &text).unwrap_err().to_string();
        let parts = read_lines::<Product>("c", &text).unwrap_err().to_string();
        assert_eq!(parts, whole);
        for line in ["c:18", "c:41", "c:59"] {
            assert!(whole.contains(line), "{line} in {whole}");
        }
        let clean = good.join("\n");
        let ids = |r: Vec<Product>| r.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(
            ids(read_lines("c", &clean).unwrap()),
            ids(read_ndjson("c", &clean).unwrap())
        );
    }

    /// A repeated id and a link to no product are named on their lines
    /// (blank lines counted), the repeat with the line of the first.
    #[test]
    fn cross_record_problems_name_their_lines() {
        let mut lines = fixture_lines(12);
        lines.insert(2, String::new());
        lines[9] = lines[1].clone();
        let mut linked: serde_json::Value = serde_json::from_str(&lines[11]).unwrap();
        linked["compatible_with"] = serde_json::json!(["NOPE"]);
        lines[11] = linked.to_string();
        let err = check_catalog("c", &lines.join("\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c:10: field `id`: duplicate id") && err.contains("(first on line 2)"),
            "{err}"
        );
        assert!(
            err.contains("c:12: field `compatible_with[0]`: no product has id \"NOPE\""),
            "{err}"
        );
    }
}
