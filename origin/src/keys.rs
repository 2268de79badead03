//! Reading key files with errors that name the file.

use std::path::Path;

use anyhow::Context;
use firstpaint_bundle::{parse_signing_key, parse_verifying_key, SigningKey, VerifyingKey};

/// Reads a secret signing key file.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: failed to read signing key", path.display()))?;
    parse_signing_key(&text).with_context(|| format!("{}: not a signing key", path.display()))
}

/// Reads a public verifying key file.
pub fn read_verifying_key(path: &Path) -> anyhow::Result<VerifyingKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: failed to read public key", path.display()))?;
    parse_verifying_key(&text).with_context(|| format!("{}: not a public key", path.display()))
}
