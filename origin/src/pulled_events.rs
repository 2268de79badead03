//! Events pulled from the edge (`firstpaint events pull`), made one
//! events file.
//!
//! The edge writes each queue batch as one gzipped NDJSON object under
//! its hour (`YYYY/MM/DD/HH/<name>.ndjson.gz`); `events pull` mirrors
//! them into a directory. Delivery is at least once, so an event can be
//! in two objects: [`merge`] reads every object there, checks each line
//! as an event (a bad one is named by file and line), keeps the first of
//! each id, and orders them by time, as `build --events` and `readout`
//! read them.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use firstpaint_contracts::{read_ndjson, Event};

/// What [`merge`] found.
#[derive(Debug)]
pub struct Merged {
    /// The events, each id once, in time order.
    pub events: Vec<Event>,
    /// Objects read.
    pub objects: usize,
    /// Events dropped as repeats of an id already seen.
    pub repeats: usize,
}

impl Merged {
    /// The events as `events.ndjson` holds them.
    pub fn ndjson(&self) -> anyhow::Result<String> {
        let mut out = String::new();
        for e in &self.events {
            out.push_str(&serde_json::to_string(e)?);
            out.push('\n');
        }
        Ok(out)
    }
}

/// Every `.ndjson.gz` object under `dir` (in name order, which is time
/// order), merged.
pub fn merge(dir: &Path) -> anyhow::Result<Merged> {
    let mut files = Vec::new();
    objects_under(dir, &mut files)?;
    files.sort();
    let mut seen = HashSet::new();
    let mut merged = Merged {
        events: Vec::new(),
        objects: files.len(),
        repeats: 0,
    };
    for file in &files {
        let name = file.display().to_string();
        let mut text = String::new();
        flate2::read::GzDecoder::new(
            std::fs::File::open(file).with_context(|| format!("{name}: failed to open"))?,
        )
        .read_to_string(&mut text)
        .with_context(|| format!("{name}: not gzipped NDJSON"))?;
        for event in read_ndjson::<Event>(&name, &text)? {
            match &event.id {
                Some(id) if !seen.insert(id.clone()) => merged.repeats += 1,
                _ => merged.events.push(event),
            }
        }
    }
    merged.events.sort_by_key(|e| e.ts);
    Ok(merged)
}

fn objects_under(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: failed to read", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            objects_under(&path, out)?;
        } else if path.to_string_lossy().ends_with(".ndjson.gz") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn event(id: &str, ts: &str) -> String {
        format!(
            "{{\"id\":\"{id}\",\"session\":\"s1\",\"ts\":\"{ts}\",\"consent\":{{\"analytics\":true,\"personalization\":true}},\"region\":\"DE\",\"type\":\"page_view\"}}"
        )
    }

    fn object(dir: &Path, name: &str, lines: &[String]) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(path).unwrap(),
            flate2::Compression::default(),
        );
        gz.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
        gz.finish().unwrap();
    }

    #[test]
    fn repeats_are_dropped_by_id_and_events_come_in_time_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            event("e-a", "2026-12-01T20:00:02Z"),
            event("e-b", "2026-12-01T20:00:01Z"),
            event("e-c", "2026-12-01T21:00:00Z"),
        );
        object(
            dir.path(),
            "2026/12/01/20/1-x.ndjson.gz",
            &[a.clone(), b.clone()],
        );
        // A batch written twice, in part: its events again.
        object(dir.path(), "2026/12/01/21/2-y.ndjson.gz", &[b, c, a]);
        std::fs::write(dir.path().join("notes.txt"), "not an object").unwrap();
        let merged = merge(dir.path()).unwrap();
        let ids: Vec<_> = merged
            .events
            .iter()
            .map(|e| e.id.as_deref().unwrap())
            .collect();
        assert_eq!(ids, ["e-b", "e-a", "e-c"]);
        assert_eq!((merged.objects, merged.repeats), (2, 2));
        assert_eq!(merged.ndjson().unwrap().lines().count(), 3);
    }

    #[test]
    fn a_bad_line_is_named_by_object_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let good = event("e-a", "2026-12-01T20:00:02Z");
        object(
            dir.path(),
            "2026/12/01/20/1-x.ndjson.gz",
            &[good, "{\"id\":1}".into()],
        );
        let err = format!("{:#}", merge(dir.path()).unwrap_err());
        assert!(err.contains("1-x.ndjson.gz:2"), "{err}");
    }
}
