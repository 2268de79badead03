//! `firstpaint simulate`: seeded synthetic shoppers through the real
//! worker (`wrangler dev`), with a planted uplift, so the whole
//! measurement loop can be checked end to end: the edge assigns and logs
//! exposures, the shoppers report what they did to `/p13n/collect`, the
//! events flow through the queue to R2, `events pull` brings them back
//! and `readout` should find the planted lift within its intervals.
//!
//! Each shopper is drawn from the seed alone: a first-party id (their
//! profile cookie is signed with the worker's dev `PROFILE_KEYS`, read
//! from `wrangler.toml`, as a returning shopper's browser would hold
//! it), new or returning, device, region, the products they look at.
//! They open the home page and product pages; a shopper in the
//! treatment of a module with a planted lift, whose pages had that
//! module's slot (filled or fallen back: the edge logs both), converts
//! `1 + lift` times as often (at most always). What the readout should
//! find is then known exactly for the arms the shoppers drew: each
//! module's treatment against its holdout, and everyone against the
//! global holdout, as ratios of the mean chance of converting; `--json`
//! prints them as `planted_relative_lift`. Event and order ids carry a
//! run id, so a second run against the same worker is not taken for a
//! retry of the first.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use firstpaint_contracts::Product;
use firstpaint_engine::experiments::{Arm, Assignment, ExperimentsSection};
use hmac::{Hmac, Mac};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::Sha256;

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The worker (`wrangler dev`'s address).
    #[arg(long, default_value = "http://127.0.0.1:8787")]
    target: String,
    /// The catalog the worker's bundle was built from: the products the
    /// shoppers open and buy.
    #[arg(long, default_value = "fixtures/catalog.ndjson")]
    catalog: PathBuf,
    /// The rules the bundle was built with: the holdout shares, to check
    /// the worker's arms against and to state the planted overall lift.
    #[arg(long, default_value = "fixtures/rules.toml")]
    rules: PathBuf,
    /// wrangler.toml, for the dev `PROFILE_KEYS` the shoppers' profile
    /// cookies are signed with.
    #[arg(long, default_value = "wrangler.toml")]
    wrangler_toml: PathBuf,
    /// Shoppers.
    #[arg(long, default_value_t = 1_000)]
    shoppers: usize,
    /// Draws every shopper (the same seed, the same shoppers).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Conversion without personalization.
    #[arg(long, default_value_t = 0.1)]
    conversion: f64,
    /// A planted relative conversion lift for a module's treatment, as
    /// `MODULE=LIFT` (`home=0.3`); repeat for more.
    #[arg(long = "lift", value_parser = parse_lift)]
    lifts: Vec<(String, f64)>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Print what was planted and done as JSON.
    #[arg(long)]
    json: bool,
}

fn parse_lift(text: &str) -> Result<(String, f64), String> {
    let (module, lift) = text.split_once('=').ok_or(format!(
        "--lift {text:?}: expected MODULE=LIFT, like home=0.3"
    ))?;
    let lift: f64 = lift
        .parse()
        .map_err(|_| format!("--lift {text:?}: {lift:?} is not a number"))?;
    if !(0.0..=10.0).contains(&lift) {
        return Err(format!("--lift {text:?}: a lift is 0 to 10"));
    }
    Ok((module.to_owned(), lift))
}

/// What one shopper saw and did.
#[derive(Debug, Default)]
struct Shopper {
    /// Modules whose slots the pages had.
    exposed: Vec<String>,
    /// Slots of modules on their pages: the exposures the edge logs.
    slots: usize,
    /// Their chance of converting.
    chance: f64,
    /// The arms the worker gave (none: in no experiment).
    arms: Option<BTreeMap<String, String>>,
    converted: bool,
    events: usize,
}

/// Runs the shoppers and prints what was planted.
pub fn run(args: Args) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.conversion) {
        bail!("--conversion {}: a share, 0 to 1", args.conversion);
    }
    let rules = super::assign::experiments_of(&args.rules)?;
    let known: Vec<&str> = firstpaint_engine::experiments::modules().collect();
    if rules.global_bp == 0 && known.iter().all(|m| rules.share_bp(m) == 0) {
        bail!(
            "{}: holds out nobody ([experiments] holdout and global_holdout are 0), so there is nothing to compare; serve a bundle built with holdouts (`make measure` does)",
            args.rules.display()
        );
    }
    if let Some((m, _)) = args
        .lifts
        .iter()
        .find(|(m, _)| !known.contains(&m.as_str()))
    {
        bail!(
            "--lift {m}: no module {m:?}; modules are {}",
            known.join(", ")
        );
    }
    let catalog_file = args.catalog.display().to_string();
    let text = std::fs::read_to_string(&args.catalog)
        .with_context(|| format!("{catalog_file}: failed to read"))?;
    let products = firstpaint_origin::inputs::check_catalog(&catalog_file, &text)?;
    if products.is_empty() {
        bail!("{catalog_file}: no products to shop for");
    }
    let key = profile_key(&args.wrangler_toml)?;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build(),
    );
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let now = super::now();
    let sim = Sim {
        run: format!("{now:x}"),
        args: &args,
        agent: &agent,
        products: &products,
        key: &key,
        rules: &rules,
        now,
    };
    let results: Vec<anyhow::Result<Vec<(usize, Shopper)>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.concurrency.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= args.shoppers || failed.load(Ordering::Relaxed) {
                            return Ok(mine);
                        }
                        match sim.shopper(i) {
                            Ok(s) => mine.push((i, s)),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e.context(format!("shopper {i}")));
                            }
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a shopper thread failed")))
            })
            .collect()
    });
    let mut shoppers: Vec<(usize, Shopper)> = Vec::new();
    for r in results {
        shoppers.extend(r?);
    }
    shoppers.sort_by_key(|(i, _)| *i);
    report(&args, &shoppers)
}

/// What every shopper needs.
struct Sim<'a> {
    /// In every event and order id of this run.
    run: String,
    args: &'a Args,
    agent: &'a ureq::Agent,
    products: &'a [Product],
    key: &'a (String, Vec<u8>),
    rules: &'a ExperimentsSection,
    now: i64,
}

const DEVICES: [(&str, &str); 3] = [
    (
        "mobile",
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36",
    ),
    (
        "desktop",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    ),
    (
        "tablet",
        "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1",
    ),
];
const REGIONS: [&str; 4] = ["DE", "GB", "FR", "US"];

impl Sim<'_> {
    /// Shopper `i`: their pages, then what they report.
    fn shopper(&self, i: usize) -> anyhow::Result<Shopper> {
        let mut rng = StdRng::seed_from_u64(self.args.seed.wrapping_mul(1_000_003) ^ i as u64);
        let id: String = (0..16)
            .map(|_| format!("{:02x}", rng.gen::<u8>()))
            .collect();
        let returning = rng.gen_bool(0.5);
        let &(_, agent_string) = pick(&mut rng, &DEVICES);
        let region = *pick(&mut rng, &REGIONS);
        let mut jar: BTreeMap<String, String> = BTreeMap::new();
        jar.insert("fp_consent".into(), "personalization.analytics".into());
        jar.insert("fp_profile".into(), self.profile(&id, returning)?);
        let mut out = Shopper::default();
        let viewed: Vec<&Product> = (0..rng.gen_range(1..=3))
            .map(|_| pick(&mut rng, self.products))
            .collect();
        let mut pages = vec!["/".to_owned()];
        pages.extend(viewed.iter().map(|p| format!("/products/{}", p.id)));
        for page in &pages {
            let url = format!("{}{page}", self.args.target.trim_end_matches('/'));
            let mut res = self
                .agent
                .get(&url)
                .header("cookie", cookie_header(&jar))
                .header("user-agent", agent_string)
                .header("x-p13n-region", region)
                .call()
                .with_context(|| format!("{url}: unreachable"))?;
            for set in res.headers().get_all("set-cookie") {
                if let Some((name, value)) = set
                    .to_str()
                    .ok()
                    .and_then(|s| s.split(';').next())
                    .and_then(|p| p.split_once('='))
                {
                    jar.insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
            let arms = res
                .headers()
                .get("x-p13n-arms")
                .and_then(|h| h.to_str().ok())
                .map(parse_arms);
            let html = res
                .body_mut()
                .read_to_string()
                .with_context(|| format!("{url}: failed to read the page"))?;
            if !res.status().is_success() {
                bail!("{url}: {}", res.status());
            }
            // Only a page the edge personalized logs exposures.
            let slots = if arms.is_some() {
                page_slots(&html)
            } else {
                Vec::new()
            };
            out.slots += slots.len();
            for module in slots {
                if !out.exposed.contains(&module) {
                    out.exposed.push(module);
                }
            }
            out.arms = out.arms.or(arms);
        }
        if let Some(arms) = &out.arms {
            self.check_arms(&id, arms)?;
        }
        let factor: f64 = self
            .args
            .lifts
            .iter()
            .filter(|(m, _)| out.exposed.contains(m))
            .filter(|(m, _)| {
                out.arms
                    .as_ref()
                    .and_then(|a| a.get(m))
                    .is_some_and(|a| a == "treatment")
            })
            .map(|(_, lift)| 1.0 + lift)
            .product();
        out.chance = (self.args.conversion * factor).min(1.0);
        out.converted = rng.gen_bool(out.chance);
        let carted = out.converted || rng.gen_bool(0.3);
        let ts = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let base = |k: usize, kind: serde_json::Value| {
            let mut event = json!({
                "id": format!("sim-{}-{}-{i}-{k}", self.args.seed, self.run),
                "session": format!("sim-session-{i}"),
                "ts": ts,
                "consent": { "personalization": true, "analytics": true },
                "region": region,
            });
            if let (Some(e), Some(extra)) = (event.as_object_mut(), kind.as_object()) {
                e.extend(extra.clone());
            }
            event
        };
        let mut events: Vec<serde_json::Value> = viewed
            .iter()
            .enumerate()
            .map(|(k, p)| base(k, json!({ "type": "page_view", "product": p.id })))
            .collect();
        let bought = pick(&mut rng, &viewed);
        if carted {
            events.push(base(10, json!({ "type": "add_to_cart", "product": bought.id, "qty": 1, "price": bought.price })));
        }
        if out.converted {
            events.push(base(
                11,
                json!({
                    "type": "order",
                    "order": format!("sim-order-{}-{}-{i}", self.args.seed, self.run),
                    "items": [{ "product": bought.id, "qty": 1, "price": bought.price }],
                }),
            ));
        }
        out.events = events.len();
        let url = format!("{}/p13n/collect", self.args.target.trim_end_matches('/'));
        let body = serde_json::to_vec(&events)?;
        let response = self
            .agent
            .post(&url)
            .header("cookie", cookie_header(&jar))
            .header("content-type", "application/json")
            .header("x-p13n-region", region)
            .send(&body[..]);
        super::events::answer(&url, response)?;
        Ok(out)
    }

    /// The signed profile cookie of a shopper with first-party id `id`.
    fn profile(&self, id: &str, returning: bool) -> anyhow::Result<String> {
        let profile = if returning {
            json!({ "i": id, "v": [], "n": 3, "t": self.now - 2 * 3_600 })
        } else {
            json!({ "i": id, "v": [], "n": 0, "t": 0 })
        };
        let (key_id, secret) = self.key;
        let signed = format!("{key_id}.{}", URL_SAFE_NO_PAD.encode(profile.to_string()));
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .map_err(|e| anyhow::anyhow!("PROFILE_KEYS: {e}"))?;
        mac.update(signed.as_bytes());
        let tag = mac.finalize().into_bytes();
        let tag = tag.get(..16).unwrap_or_default();
        Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag)))
    }

    /// The worker's arms must be what the rules give this id: else the
    /// worker serves a bundle built with other rules.
    fn check_arms(&self, id: &str, arms: &BTreeMap<String, String>) -> anyhow::Result<()> {
        let expected = Assignment::of(id, self.rules);
        for (module, arm) in &expected.arms {
            if arms.get(*module).is_some_and(|a| a != arm.as_str()) {
                bail!(
                    "the worker put shopper {id} in {module}'s {}, the rules in its {}: is the worker serving a bundle built with {}?",
                    arms.get(*module).map_or("", String::as_str),
                    arm.as_str(),
                    self.args.rules.display()
                );
            }
        }
        Ok(())
    }
}

/// One of `items` (not empty), drawn by `rng`.
fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    let i = rng.gen_range(0..items.len().max(1));
    items
        .get(i)
        .or(items.first())
        .expect("never drawn from an empty list")
}

/// `name=value; …` of the jar.
fn cookie_header(jar: &BTreeMap<String, String>) -> String {
    jar.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `global=treatment,home=holdout` as a map.
fn parse_arms(header: &str) -> BTreeMap<String, String> {
    header
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The experiment modules of the slots the edge handled on a page (filled
/// or fallen back: its items say `data-p13n-state`; or removed for being
/// empty: a `<!-- p13n: … slot removed` note): the edge logs one exposure
/// for each. Slots it never reached (a page passed through, or cut
/// short) are not counted.
fn page_slots(html: &str) -> Vec<String> {
    let modules: Vec<&str> = firstpaint_engine::experiments::modules().collect();
    let handled = html
        .split("data-p13n-slot=\"")
        .skip(1)
        .filter(|slot| slot.contains("data-p13n-state="))
        .filter_map(|slot| slot.split_once('"').map(|(name, _)| name));
    let removed = html
        .split("<!-- p13n: ")
        .skip(1)
        .filter_map(|note| note.split_once(" slot removed").map(|(name, _)| name));
    handled
        .chain(removed)
        .filter(|name| modules.contains(name))
        .map(str::to_owned)
        .collect()
}

/// The current dev profile key of `wrangler.toml`'s `[vars]`: its id and
/// secret.
fn profile_key(path: &std::path::Path) -> anyhow::Result<(String, Vec<u8>)> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{file}: failed to read"))?;
    let doc: toml::Table = text.parse().with_context(|| format!("{file}: not TOML"))?;
    let keys = doc
        .get("vars")
        .and_then(|v| v.get("PROFILE_KEYS"))
        .and_then(|v| v.as_str())
        .with_context(|| format!("{file}: no [vars] PROFILE_KEYS (the dev profile keys)"))?;
    let first = keys.split(',').next().unwrap_or_default().trim();
    let (id, hex) = first
        .split_once(':')
        .with_context(|| format!("{file}: PROFILE_KEYS: expected id:hex"))?;
    let key = firstpaint_bundle::parse_signing_key(hex)
        .map_err(|e| anyhow::anyhow!("{file}: PROFILE_KEYS: key {id}: {e}"))?;
    Ok((id.to_owned(), key.to_bytes().to_vec()))
}

/// Prints what was planted: each module's lift, and overall's.
fn report(args: &Args, shoppers: &[(usize, Shopper)]) -> anyhow::Result<()> {
    // The readout counts shoppers the edge logged an exposure of.
    let assigned: Vec<&Shopper> = shoppers
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.arms.is_some() && !s.exposed.is_empty())
        .collect();
    let arm_of = |s: &Shopper, module: &str| {
        s.arms
            .as_ref()
            .and_then(|a| a.get(module))
            .map(String::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    // What the readout estimates, for the arms drawn: the ratio of the
    // two arms' mean chance of converting, less 1.
    let lift = |treated: &[&&Shopper], held: &[&&Shopper]| {
        let mean =
            |group: &[&&Shopper]| group.iter().map(|s| s.chance).sum::<f64>() / group.len() as f64;
        (!treated.is_empty() && !held.is_empty()).then(|| mean(treated) / mean(held) - 1.0)
    };
    let mut planted = serde_json::Map::new();
    let (treated, held): (Vec<&&Shopper>, Vec<&&Shopper>) = assigned
        .iter()
        .partition(|s| arm_of(s, "global") == Arm::Treatment.as_str());
    planted.insert("overall".into(), json!(lift(&treated, &held)));
    for m in firstpaint_engine::experiments::modules() {
        let (treated, held): (Vec<&&Shopper>, Vec<&&Shopper>) = treated
            .iter()
            .copied()
            .filter(|s| s.exposed.iter().any(|e| e == m))
            .partition(|s| arm_of(s, m) == Arm::Treatment.as_str());
        if let Some(l) = lift(&treated, &held) {
            planted.insert(m.into(), json!(l));
        }
    }
    let arm_count = |arm: Arm| {
        assigned
            .iter()
            .filter(|s| {
                s.arms
                    .as_ref()
                    .and_then(|a| a.get("global"))
                    .is_some_and(|g| g == arm.as_str())
            })
            .count()
    };
    let summary = json!({
        "shoppers": shoppers.len(),
        "assigned": assigned.len(),
        "global_holdout": arm_count(Arm::Holdout),
        "orders": shoppers.iter().filter(|(_, s)| s.converted).count(),
        "exposures": shoppers.iter().map(|(_, s)| s.slots).sum::<usize>(),
        "events_posted": shoppers.iter().map(|(_, s)| s.events).sum::<usize>(),
        "planted_relative_lift": planted,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} shoppers ({} in the experiments, {} in the global holdout), {} orders, {} events posted",
            summary["shoppers"], summary["assigned"], summary["global_holdout"], summary["orders"], summary["events_posted"]
        );
        println!("planted relative lift in conversion and revenue per visitor:");
        for (m, l) in &planted {
            println!("  {m:<16} {:+.1}%", 100.0 * l.as_f64().unwrap_or(0.0));
        }
        println!(
            "next: firstpaint events pull --from {} --token-file TOKEN --out DIR, then firstpaint readout --events DIR --rules {} --out report.html",
            args.target,
            args.rules.display()
        );
    }
    Ok(())
}
