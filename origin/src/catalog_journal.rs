//! The journal of accepted catalog changes beside the catalog file
//! (`catalog.ndjson.journal`): how `firstpaint serve` answers a webhook
//! once its change is on disk (one line appended and synced) instead of
//! after writing the whole catalog file anew (97 MB at 100k products,
//! 0.5-2.4 s on these machines).
//!
//! The catalog is the file with the journal's changes on top. Serve
//! writes the file anew after each rebuild and then clears the journal;
//! at start it applies a journal left behind (a crash, a kill) to the
//! file first. Each line is one change as JSON; folded in order
//! ([`CatalogChange::then`]) they make one change whose result depends
//! only on the last word on each id, so a journal applied to a file that
//! already holds some or all of it gives the same catalog: a stop between
//! writing the file and clearing the journal loses nothing.
//!
//! A last line cut short (a stop while appending: its webhook was never
//! answered) is left out; any other line that is not a change is an error
//! naming the file and line.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::catalog_change::CatalogChange;

/// The journal beside one catalog file.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

/// What a journal holds: its changes folded into one, and how many lines
/// they came from.
#[derive(Debug, Default)]
pub struct Pending {
    /// The changes, folded in order.
    pub change: CatalogChange,
    /// How many changes (lines).
    pub lines: usize,
}

impl Journal {
    /// The journal of the catalog file `catalog`: `<catalog>.journal`.
    pub fn beside(catalog: &Path) -> Journal {
        let mut name = catalog.file_name().unwrap_or_default().to_owned();
        name.push(".journal");
        Journal {
            path: catalog.with_file_name(name),
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `change` as one line, on disk (synced, and the directory
    /// too when the journal is new) before it returns.
    pub fn append(&self, change: &CatalogChange) -> anyhow::Result<()> {
        let name = self.path.display();
        let mut line = serde_json::to_vec(change)?;
        line.push(b'\n');
        self.cut_short_line_off()?;
        let new = !self.path.exists();
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("{name}: failed to open"))?;
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .with_context(|| format!("{name}: failed to append"))?;
        if new {
            sync_directory_of(&self.path)?;
        }
        Ok(())
    }

    /// Removes a last line cut short (a stop while appending: never
    /// answered), so the next line does not fuse onto it.
    fn cut_short_line_off(&self) -> anyhow::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let name = self.path.display();
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("{name}: failed to open")),
        };
        // Only the last byte, unless it is not a line's end.
        let mut last = [b'\n'];
        if file.seek(SeekFrom::End(-1)).is_err() || file.read_exact(&mut last).is_err() {
            return Ok(()); // empty
        }
        if last[0] == b'\n' {
            return Ok(());
        }
        let bytes = std::fs::read(&self.path).with_context(|| format!("{name}: failed to read"))?;
        let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        OpenOptions::new()
            .write(true)
            .open(&self.path)
            .and_then(|f| f.set_len(whole as u64).and_then(|()| f.sync_data()))
            .with_context(|| format!("{name}: failed to cut off a line cut short"))
    }

    /// The changes it holds (none when there is no journal).
    pub fn read(&self) -> anyhow::Result<Pending> {
        let name = self.path.display();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pending::default()),
            Err(e) => return Err(e).with_context(|| format!("{name}: failed to read")),
        };
        let mut pending = Pending::default();
        let mut lines = text.split_inclusive('\n').enumerate().peekable();
        while let Some((i, line)) = lines.next() {
            let cut_short = lines.peek().is_none() && !line.ends_with('\n');
            match CatalogChange::parse(line.as_bytes()) {
                Ok(change) => {
                    pending.change = std::mem::take(&mut pending.change).then(change);
                    pending.lines += 1;
                }
                Err(_) if cut_short => {}
                Err(why) => anyhow::bail!("{name}:{}: {why}", i + 1),
            }
        }
        Ok(pending)
    }

    /// Removes the journal if it still holds `lines` changes (the catalog
    /// file now holds them); if more came meanwhile it stays whole (its
    /// changes applied again change nothing) for the next time. Whether
    /// it was removed.
    pub fn clear(&self, lines: usize) -> anyhow::Result<bool> {
        if self.read()?.lines != lines {
            return Ok(false);
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("{}: failed to remove", self.path.display()))
            }
        }
        Ok(true)
    }
}

/// Syncs the directory holding `path`, so a file created or renamed there
/// survives a power cut.
pub fn sync_directory_of(path: &Path) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("{}: failed to sync", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(id: &str, price: f64) -> String {
        format!(
            "{{\"id\":\"{id}\",\"title\":\"Mug {id}\",\"category\":[\"Home\"],\"price\":{price},\"currency\":\"EUR\",\"created_at\":\"2026-01-01T00:00:00Z\"}}"
        )
    }

    fn change(body: String) -> CatalogChange {
        CatalogChange::parse(body.as_bytes()).unwrap()
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::beside(&dir.path().join("catalog.ndjson"));
        (dir, journal)
    }

    #[test]
    fn appended_changes_read_back_folded_and_clear_when_the_file_holds_them() {
        let (_dir, journal) = journal();
        assert!(journal.path().ends_with("catalog.ndjson.journal"));
        assert_eq!(journal.read().unwrap().lines, 0);
        journal
            .append(&change(format!("{{\"upsert\":[{}]}}", product("A", 1.0))))
            .unwrap();
        journal
            .append(&change(format!(
                "{{\"upsert\":[{}],\"delete\":[\"B\"]}}",
                product("A", 2.0)
            )))
            .unwrap();
        let pending = journal.read().unwrap();
        assert_eq!(pending.lines, 2);
        let (text, applied) = pending
            .change
            .apply("catalog.ndjson", &format!("{}\n", product("B", 3.0)))
            .unwrap();
        assert_eq!((applied.added, applied.deleted), (1, 1));
        assert!(text.contains("\"price\":2") && !text.contains("\"id\":\"B\""));
        // A change appended since the file was written keeps the journal.
        journal
            .append(&change("{\"delete\":[\"C\"]}".into()))
            .unwrap();
        assert!(!journal.clear(2).unwrap());
        assert!(journal.clear(3).unwrap());
        assert!(!journal.path().exists());
        assert_eq!(journal.read().unwrap().lines, 0);
    }

    #[test]
    fn a_last_line_cut_short_is_left_out_and_any_other_bad_line_named() {
        let (_dir, journal) = journal();
        let good = format!("{{\"upsert\":[{}]}}\n", product("A", 1.0));
        std::fs::write(journal.path(), format!("{good}{{\"upsert\":[{{\"id\"")).unwrap();
        assert_eq!(journal.read().unwrap().lines, 1);
        // The next change starts a line of its own.
        journal
            .append(&change("{\"delete\":[\"C\"]}".into()))
            .unwrap();
        assert_eq!(journal.read().unwrap().lines, 2);
        std::fs::write(journal.path(), format!("{good}not json\n{good}")).unwrap();
        let err = journal.read().unwrap_err().to_string();
        assert!(err.contains("catalog.ndjson.journal:2: "), "{err}");
    }
}
