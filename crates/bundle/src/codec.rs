//! The one place that knows how section payloads are encoded.
//!
//! bincode 2.0.1 (pinned; later releases are a tombstone) with its fixed-width
//! `legacy` configuration, which decodes faster than varints for the vectors
//! and graphs bundles carry. Swapping the codec means bumping
//! [`crate::FORMAT_VERSION`] and keeping this module's old decoder for old bundles.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::BundleError;
use crate::format::Tag;

/// Most bytes a decode may claim for collections; sections are verified
/// before decoding, this only bounds the damage of a signed-but-wrong bundle.
const DECODE_LIMIT: usize = 256 << 20;

type Config = bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
    bincode::config::Limit<DECODE_LIMIT>,
>;

fn config() -> Config {
    bincode::config::legacy().with_limit::<DECODE_LIMIT>()
}

/// Encodes `value` as the payload of section `tag`.
pub fn encode<T: Serialize>(tag: Tag, value: &T) -> Result<Vec<u8>, BundleError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| BundleError::Decode {
        tag,
        reason: e.to_string(),
    })
}

/// Decodes the payload of section `tag`; the whole payload must be used.
pub fn decode<T: DeserializeOwned>(tag: Tag, bytes: &[u8]) -> Result<T, BundleError> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| BundleError::Decode {
            tag,
            reason: e.to_string(),
        })?;
    if used != bytes.len() {
        return Err(BundleError::Decode {
            tag,
            reason: format!("{} trailing bytes after the payload", bytes.len() - used),
        });
    }
    Ok(value)
}
