//! The manifest: which bundle is live. Publishing writes the bundle under its
//! content address, then points the manifest at it; rolling back points the
//! manifest at an older address. The edge reads the manifest, then the bundle.
//!
//! A store too large for one KV value is published as a shard set
//! (`firstpaint build --shard-products`): the manifest's own bundle fields
//! then describe the **global** shard, and [`Manifest::shards`] names the
//! category shards, the product -> shard routes and the search term
//! directory, each under its content address. An edge that predates shards
//! reads such a manifest as a single bundle and serves the global shard
//! everywhere; a manifest without `shards` is read exactly as before.
//!
//! Every list keeps the order the origin wrote (the routes number the
//! category shards by their position): there are no maps, so the JSON a
//! publisher writes is stable and a signature over it (issue 12) is easy
//! to check.

use serde::{Deserialize, Serialize};

/// Points the edge at the live bundle (or, for a shard set, at the global
/// shard and the rest of the set).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Storage key of the bundle (`bundles/<sha256>`).
    pub bundle_key: String,
    /// SHA-256 of the bundle bytes, hex.
    pub sha256: String,
    /// SHA-256 of the bundle's head, hex ([`crate::head_sha256`]): with
    /// it, the edge checks the head and then each section, one pass over
    /// the bytes, instead of hashing the whole file first. Releases before
    /// it have none, and an edge before it ignores it: both check `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha256: Option<String>,
    /// Size of the bundle in bytes.
    pub bytes: u64,
    /// The bundle's own version, from its header.
    pub bundle_version: u64,
    /// Id of the key that signed it, hex.
    pub key_id: String,
    /// When it was published, unix seconds.
    pub published_at: i64,
    /// The rest of a shard set, when the bundle above is its global shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardSet>,
}

/// The category shards of a sharded store, and what routes requests to
/// them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSet {
    /// The global shard's name (its bundle is the manifest's own).
    pub global: String,
    /// The category shards, in the order `routes` numbers them.
    pub shards: Vec<ShardRef>,
    /// `routes.fst`: product id -> index into `shards` (an fst map).
    pub routes: Blob,
    /// `terms.dir`: search term -> the shards holding it, with counts
    /// (see [`crate::TermDirectory`]).
    pub terms: Blob,
}

/// One category shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRef {
    /// Its name (`electronics-2`).
    pub name: String,
    /// The category paths it covers (`Electronics`, or
    /// `Electronics/Phones` when a top-level category was cut; a
    /// second-level category cut in runs ends in `#1`, `#2`, …).
    pub categories: Vec<String>,
    /// Storage key (`bundles/<sha256>`).
    pub key: String,
    /// SHA-256 of the bundle bytes, hex.
    pub sha256: String,
    /// SHA-256 of the bundle's head, hex (as [`Manifest::head_sha256`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha256: Option<String>,
    /// Size in bytes.
    pub bytes: u64,
}

/// A content-addressed file of the set that is not a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blob {
    /// Storage key (`bundles/<sha256>`).
    pub key: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl Manifest {
    /// One bundle (no shards) stored under its content address, with the
    /// SHA-256 of its head when the publisher knows it.
    pub fn single(
        sha256: String,
        head_sha256: Option<String>,
        bytes: u64,
        bundle_version: u64,
        key_id: String,
        published_at: i64,
    ) -> Self {
        Self {
            bundle_key: Self::key_for(&sha256),
            sha256,
            head_sha256,
            bytes,
            bundle_version,
            key_id,
            published_at,
            shards: None,
        }
    }

    /// The storage key a bundle with this content hash lives under.
    pub fn key_for(sha256_hex: &str) -> String {
        format!("bundles/{sha256_hex}")
    }

    /// Checks what the edge relies on before it reads any bundle: every
    /// storage key is the content address of its SHA-256 (lower-case hex),
    /// shard names are unique and not the global shard's. The error names
    /// the field at fault.
    pub fn check(&self) -> Result<(), String> {
        check_address("manifest", &self.bundle_key, &self.sha256)?;
        check_head("manifest", self.head_sha256.as_deref())?;
        let Some(set) = &self.shards else {
            return Ok(());
        };
        check_address("shards.routes", &set.routes.key, &set.routes.sha256)?;
        check_address("shards.terms", &set.terms.key, &set.terms.sha256)?;
        for (i, shard) in set.shards.iter().enumerate() {
            let at = format!("shards.shards[{i}] ({:?})", shard.name);
            check_address(&at, &shard.key, &shard.sha256)?;
            check_head(&at, shard.head_sha256.as_deref())?;
            if shard.name == set.global
                || set
                    .shards
                    .get(..i)
                    .is_some_and(|before| before.iter().any(|other| other.name == shard.name))
            {
                return Err(format!("{at}: the name is used twice"));
            }
        }
        Ok(())
    }
}

fn check_address(at: &str, key: &str, sha256: &str) -> Result<(), String> {
    check_digest(at, "sha256", sha256)?;
    if key != Manifest::key_for(sha256) {
        return Err(format!(
            "{at}: key {key:?} is not the content address of its sha256 ({:?})",
            Manifest::key_for(sha256)
        ));
    }
    Ok(())
}

/// A head digest, when there is one, is a digest.
fn check_head(at: &str, head_sha256: Option<&str>) -> Result<(), String> {
    head_sha256.map_or(Ok(()), |head| check_digest(at, "head_sha256", head))
}

fn check_digest(at: &str, field: &str, digest: &str) -> Result<(), String> {
    let hex = digest.len() == 64
        && digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if hex {
        Ok(())
    } else {
        Err(format!(
            "{at}: {field} {digest:?} is not 64 lower-case hex digits"
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    /// The manifest as an older edge reads it: the bundle and its digest.
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Old {
        bundle_key: String,
        sha256: String,
    }

    fn single() -> Manifest {
        Manifest {
            bundle_key: Manifest::key_for(A),
            sha256: A.into(),
            head_sha256: None,
            bytes: 10,
            bundle_version: 3,
            key_id: "k".into(),
            published_at: 5,
            shards: None,
        }
    }

    fn blob(sha: &str) -> Blob {
        Blob {
            key: Manifest::key_for(sha),
            sha256: sha.into(),
            bytes: 1,
        }
    }

    fn sharded() -> Manifest {
        Manifest {
            shards: Some(ShardSet {
                global: "global".into(),
                shards: vec![ShardRef {
                    name: "electronics".into(),
                    categories: vec!["Electronics".into()],
                    key: Manifest::key_for(B),
                    sha256: B.into(),
                    head_sha256: Some(A.into()),
                    bytes: 7,
                }],
                routes: blob(B),
                terms: blob(A),
            }),
            ..single()
        }
    }

    #[test]
    fn a_single_bundle_manifest_reads_and_writes_as_before() {
        // The shape published before shard sets existed.
        let old = format!(
            r#"{{"bundle_key":"bundles/{A}","sha256":"{A}","bytes":10,"bundle_version":3,"key_id":"k","published_at":5}}"#
        );
        let m: Manifest = serde_json::from_str(&old).unwrap();
        assert_eq!(m, single());
        assert_eq!(serde_json::to_string(&m).unwrap(), old);
        assert_eq!(m.check(), Ok(()));
    }

    #[test]
    fn a_shard_set_round_trips_in_a_stable_order() {
        let m = sharded();
        let json = serde_json::to_string_pretty(&m).unwrap();
        let back: Manifest = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
        assert_eq!(m.check(), Ok(()));
        // An edge that predates shards reads the global shard as its bundle.
        let old: Old = serde_json::from_str(&json).unwrap();
        assert_eq!(old.sha256, A);
    }

    #[test]
    fn a_head_digest_is_optional_and_an_older_edge_ignores_it() {
        let m = Manifest {
            head_sha256: Some(B.into()),
            ..single()
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(&format!(r#""head_sha256":"{B}""#)), "{json}");
        assert_eq!(serde_json::from_str::<Manifest>(&json).unwrap(), m);
        assert_eq!(m.check(), Ok(()));
        // An edge before head digests ignores the field (unknown fields are
        // not refused) and checks `sha256`.
        assert_eq!(serde_json::from_str::<Old>(&json).unwrap().sha256, A);
    }

    #[test]
    fn check_names_the_field_at_fault() {
        let mut m = sharded();
        m.shards.as_mut().unwrap().shards[0].key = Manifest::key_for(A);
        let err = m.check().unwrap_err();
        assert!(
            err.starts_with("shards.shards[0] (\"electronics\"): key"),
            "{err}"
        );
        let mut m = sharded();
        m.shards.as_mut().unwrap().shards[0].name = "global".into();
        assert!(m.check().unwrap_err().contains("used twice"));
        let mut m = sharded();
        m.shards.as_mut().unwrap().routes.sha256 = "XYZ".into();
        assert!(m.check().unwrap_err().starts_with("shards.routes: sha256"));
        let mut m = single();
        m.sha256 = B.into();
        assert!(m.check().unwrap_err().starts_with("manifest: key"));
        let mut m = single();
        m.head_sha256 = Some("ab".into());
        assert!(m.check().unwrap_err().starts_with("manifest: head_sha256"));
        let mut m = sharded();
        m.shards.as_mut().unwrap().shards[0].head_sha256 = Some(A.to_uppercase());
        let err = m.check().unwrap_err();
        assert!(
            err.starts_with("shards.shards[0] (\"electronics\"): head_sha256"),
            "{err}"
        );
    }
}
