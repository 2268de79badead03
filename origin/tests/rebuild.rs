//! `firstpaint serve` and `firstpaint watch`, run as merchants run them,
//! publishing into a directory.
//!
//! 1. serve: unsigned, wrongly signed, stale and replayed webhooks get a
//!    401 naming why; a body that is not a change a 400; a bad product a
//!    422 naming it (nothing changes); a good change, signed with either
//!    secret of a rotation, is journaled (the catalog file is not
//!    touched), published once its burst is over, with the webhook in the
//!    publish log, and then written into the catalog file; the next change
//!    is built incrementally on that bundle (its lineage names it).
//! 2. serve, killed after accepting a change and before rebuilding:
//!    started again, it writes the journaled change into the catalog file
//!    and publishes it.
//! 3. watch: a changed rules file is rebuilt and published; a bad catalog
//!    line is reported with its line and publishes nothing.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{fixtures, s};

use firstpaint_origin::webhook::sign;

const OLD_SECRET: &str = "old-secret-0123456789";
const NEW_SECRET: &str = "new-secret-0123456789";

/// A copy of the fixtures store, and a directory to publish into.
struct Store {
    dir: tempfile::TempDir,
}

impl Store {
    fn new() -> Store {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "catalog.ndjson",
            "events.ndjson",
            "rules.toml",
            "synonyms.txt",
        ] {
            std::fs::copy(fixtures().join(f), dir.path().join(f)).unwrap();
        }
        Store { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The pipeline's arguments: the store's inputs, the dev key, `kv/`.
    fn pipeline(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (flag, file) in [
            ("--catalog", "catalog.ndjson"),
            ("--events", "events.ndjson"),
            ("--rules", "rules.toml"),
            ("--synonyms", "synonyms.txt"),
            ("--out", "bundle.fpb"),
            ("--dir", "kv"),
        ] {
            args.extend([flag.to_owned(), s(&self.path(file)).to_owned()]);
        }
        for (flag, key) in [("--pubkey", "dev.pub"), ("--key", "dev.key")] {
            let path = fixtures().join("keys").join(key);
            args.extend([flag.to_owned(), s(&path).to_owned()]);
        }
        args
    }

    /// `firstpaint inspect --json` of the bundle built last.
    fn inspect(&self) -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_firstpaint"))
            .args(["inspect", s(&self.path("bundle.fpb")), "--json", "--pubkey"])
            .arg(fixtures().join("keys/dev.pub"))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The publish log's messages.
    fn published(&self) -> Vec<String> {
        match std::fs::read(self.path("kv/releases.json")) {
            Ok(bytes) => {
                let log: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
                log.iter()
                    .map(|e| e["message"].as_str().unwrap().to_owned())
                    .collect()
            }
            Err(_) => Vec::new(),
        }
    }
}

/// A running `firstpaint` that is killed when dropped, with its stderr
/// lines as they come.
struct Running {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    /// `firstpaint serve ARGS`, and the address it listens on.
    fn serve(args: &[String]) -> (Running, String) {
        let (server, mut stdout) = Running::start(args);
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let addr = first
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split(": ").next())
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        // What it prints after (publish's lines) is drained, not read.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        (server, addr)
    }

    fn start(args: &[String]) -> (Running, BufReader<std::process::ChildStdout>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firstpaint"))
            .args(args)
            .env(
                "FIRSTPAINT_WEBHOOK_SECRETS",
                format!("{NEW_SECRET},{OLD_SECRET}"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdout = BufReader::new(child.stdout.take().unwrap());
        (Running { child, stderr: rx }, stdout)
    }

    /// Waits (at most two minutes: debug builds) for a stderr line
    /// containing `what`; every line seen on the way, for messages.
    fn wait_for(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = String::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.stderr.recv_timeout(Duration::from_millis(200)) {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(what) {
                    return seen;
                }
            }
        }
        panic!("no line with {what:?}; stderr:\n{seen}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST /webhooks/catalog` with `body` and a signature header, if any:
/// the status and the body of the answer.
fn post(addr: &str, body: &str, signature: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let header = signature.map_or(String::new(), |s| format!("firstpaint-signature: {s}\r\n"));
    write!(
        stream,
        "POST /webhooks/catalog HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{header}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn serve_takes_signed_catalog_changes_and_publishes_them() {
    let store = Store::new();
    let mut args: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--debounce-ms", "300"]
        .map(str::to_owned)
        .to_vec();
    args.extend(store.pipeline());
    let (server, addr) = Running::serve(&args);

    let catalog = std::fs::read_to_string(store.path("catalog.ndjson")).unwrap();
    let line = catalog.lines().next().unwrap();
    let mut product: serde_json::Value = serde_json::from_str(line).unwrap();
    product["price"] = serde_json::json!(1234.5);
    let body = serde_json::json!({ "upsert": [product] }).to_string();

    // Refused, each with its reason, and nothing changes.
    let (status, answer) = post(&addr, &body, None);
    assert_eq!(
        (status, answer.contains("no firstpaint-signature header")),
        (401, true),
        "{answer}"
    );
    let forged = sign(b"not-our-secret-0123456789", now(), body.as_bytes());
    let (status, answer) = post(&addr, &body, Some(&forged));
    assert_eq!(
        (status, answer.contains("does not match")),
        (401, true),
        "{answer}"
    );
    let stale = sign(NEW_SECRET.as_bytes(), now() - 3600, body.as_bytes());
    let (status, answer) = post(&addr, &body, Some(&stale));
    assert_eq!(
        (status, answer.contains("replay window")),
        (401, true),
        "{answer}"
    );
    let signed_other_body = sign(NEW_SECRET.as_bytes(), now(), b"{}");
    assert_eq!(post(&addr, &body, Some(&signed_other_body)).0, 401);
    let junk = "{\"products\": []}";
    let (status, answer) = post(
        &addr,
        junk,
        Some(&sign(NEW_SECRET.as_bytes(), now(), junk.as_bytes())),
    );
    assert_eq!(
        (status, answer.contains("unknown field `products`")),
        (400, true),
        "{answer}"
    );
    let mut bad = product.clone();
    bad["price"] = serde_json::json!(-1);
    let bad = serde_json::json!({ "upsert": [bad] }).to_string();
    let (status, answer) = post(
        &addr,
        &bad,
        Some(&sign(NEW_SECRET.as_bytes(), now(), bad.as_bytes())),
    );
    assert_eq!(status, 422, "{answer}");
    assert!(
        answer.contains("upsert:1: field `price`: must be a finite number >= 0 (got -1)"),
        "{answer}"
    );
    assert_eq!(
        std::fs::read_to_string(store.path("catalog.ndjson")).unwrap(),
        catalog
    );
    assert!(store.published().is_empty());

    // Accepted with the secret being retired, applied, then published.
    let signature = sign(OLD_SECRET.as_bytes(), now(), body.as_bytes());
    let (status, answer) = post(&addr, &body, Some(&signature));
    assert_eq!(status, 202, "{answer}");
    let (status, answer) = post(&addr, &body, Some(&signature));
    assert_eq!(
        (status, answer.contains("already received")),
        (401, true),
        "{answer}"
    );
    // Accepted is on disk in the journal; the file waits for the rebuild.
    let journal = store.path("catalog.ndjson.journal");
    assert!(std::fs::read_to_string(&journal)
        .unwrap()
        .contains("1234.5"));
    assert_eq!(
        std::fs::read_to_string(store.path("catalog.ndjson")).unwrap(),
        catalog
    );
    server.wait_for("published in");
    server.wait_for("journaled changes written");
    assert!(!journal.exists());
    let changed = std::fs::read_to_string(store.path("catalog.ndjson")).unwrap();
    assert!(changed.lines().next().unwrap().contains("1234.5"));
    assert_eq!(
        changed.lines().skip(1).collect::<Vec<_>>(),
        catalog.lines().skip(1).collect::<Vec<_>>()
    );
    let log = store.published();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].starts_with("webhook: 1 updated, 0 added, 0 deleted (full build: no build state"),
        "{log:?}"
    );
    // The bundle published was built from the changed catalog.
    let lineage = store.inspect();
    let digest = firstpaint_bundle::hex(&firstpaint_bundle::sha256(changed.as_bytes()));
    assert!(lineage.to_string().contains(&digest), "{lineage}");

    // The next change is built incrementally on that bundle: a product
    // added, one renamed, one removed.
    let parent = lineage["sha256"].as_str().unwrap().to_owned();
    let lines: Vec<serde_json::Value> = changed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let linked: Vec<&str> = lines
        .iter()
        .flat_map(|p| p["compatible_with"].as_array().into_iter().flatten())
        .filter_map(|id| id.as_str())
        .collect();
    let gone = lines
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .find(|id| !linked.contains(id))
        .unwrap()
        .to_owned();
    let mut added = lines[5].clone();
    added["id"] = serde_json::json!("NEW-MUG-1");
    added["compatible_with"] = serde_json::json!([]);
    let mut renamed = lines[7].clone();
    renamed["title"] = serde_json::json!("Renamed by the second webhook");
    let body = serde_json::json!({ "upsert": [added, renamed], "delete": [gone] }).to_string();
    let (status, answer) = post(
        &addr,
        &body,
        Some(&sign(NEW_SECRET.as_bytes(), now(), body.as_bytes())),
    );
    assert_eq!(status, 202, "{answer}");
    server.wait_for("published in");
    server.wait_for("journaled changes written");
    let log = store.published();
    assert_eq!(
        log.get(1).map(String::as_str),
        Some("webhook: 1 updated, 1 added, 1 deleted (incremental build: 1 added, 1 placed again, 1 removed)"),
        "{log:?}"
    );
    let lineage = store.inspect();
    assert_eq!(
        lineage["lineage"]["parent"].as_str(),
        Some(parent.as_str()),
        "{lineage}"
    );
    let changed = std::fs::read_to_string(store.path("catalog.ndjson")).unwrap();
    assert!(changed.contains("NEW-MUG-1") && changed.contains("Renamed by the second webhook"));
    assert!(!changed.contains(&format!("\"id\":\"{gone}\"")));
    let digest = firstpaint_bundle::hex(&firstpaint_bundle::sha256(changed.as_bytes()));
    assert!(lineage.to_string().contains(&digest), "{lineage}");
}

#[test]
fn a_change_accepted_before_a_kill_is_written_and_published_at_restart() {
    let store = Store::new();
    // A debounce no test waits out: the kill comes before the rebuild.
    let mut args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--debounce-ms",
        "600000",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(store.pipeline());
    let (server, addr) = Running::serve(&args);
    server.wait_for("products checked");
    let catalog = std::fs::read_to_string(store.path("catalog.ndjson")).unwrap();
    let mut product: serde_json::Value =
        serde_json::from_str(catalog.lines().next().unwrap()).unwrap();
    product["title"] = serde_json::json!("Accepted before the kill");
    let body = serde_json::json!({ "upsert": [product] }).to_string();
    let signature = sign(NEW_SECRET.as_bytes(), now(), body.as_bytes());
    assert_eq!(post(&addr, &body, Some(&signature)).0, 202);
    drop(server);
    assert_eq!(
        std::fs::read_to_string(store.path("catalog.ndjson")).unwrap(),
        catalog
    );
    assert!(store.published().is_empty());

    args[4] = "300".into();
    let (server, _) = Running::serve(&args);
    // At start the file is written and the rebuild queued: either may end first.
    let mut seen = server.wait_for("journaled changes written");
    if !seen.contains("published in") {
        seen.push_str(&server.wait_for("published in"));
    }
    assert!(
        seen.contains("with 1 journaled changes not yet in the file"),
        "{seen}"
    );
    let changed = std::fs::read_to_string(store.path("catalog.ndjson")).unwrap();
    assert!(changed.contains("Accepted before the kill"));
    assert!(!store.path("catalog.ndjson.journal").exists());
    assert_eq!(
        store.published(),
        [format!(
            "1 changes journaled before a restart (full build: no build state at {})",
            store.path("bundle.fpb.state").display()
        )]
    );
}

#[test]
fn watch_rebuilds_on_change_and_reports_bad_input() {
    let store = Store::new();
    let mut args: Vec<String> = ["watch", "--debounce-ms", "300", "--poll-ms", "100"]
        .map(str::to_owned)
        .to_vec();
    args.extend(store.pipeline());
    let (watcher, _stdout) = Running::start(&args);
    watcher.wait_for("watching");
    let rules = store.path("rules.toml");
    let mut text = std::fs::read_to_string(&rules).unwrap();
    text.push_str("\n# edited by a merchandiser\n");
    std::fs::write(&rules, text).unwrap();
    watcher.wait_for("published in");
    let log = store.published();
    assert_eq!(log.len(), 1);
    assert!(
        log[0].starts_with("watch: ") && log[0].contains("rules.toml changed (full build: "),
        "{log:?}"
    );

    let catalog = store.path("catalog.ndjson");
    let lines = std::fs::read_to_string(&catalog).unwrap().lines().count();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&catalog)
        .unwrap();
    writeln!(file, "{{\"id\":\"NEW-1\",\"title\":\"x\"}}").unwrap();
    let seen = watcher.wait_for("nothing published");
    assert!(
        seen.contains(&format!("catalog.ndjson:{}:", lines + 1)),
        "{seen}"
    );
    assert_eq!(store.published().len(), 1);
}
