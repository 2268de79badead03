//! `firstpaint keygen`.

use std::path::PathBuf;

use anyhow::Context;
use firstpaint_bundle::{hex, key_id, SigningKey};

/// Arguments of `keygen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Path prefix: writes PREFIX.key (secret) and PREFIX.pub (public).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite existing key files.
    #[arg(long)]
    force: bool,
}

/// Generates a key pair from the OS's randomness.
pub fn run(args: Args) -> anyhow::Result<()> {
    let secret_path = args.out.with_extension("key");
    let public_path = args.out.with_extension("pub");
    for p in [&secret_path, &public_path] {
        if p.exists() && !args.force {
            anyhow::bail!(
                "{}: already exists (use --force to replace it)",
                p.display()
            );
        }
    }
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).context("failed to read OS randomness")?;
    let key = SigningKey::from_bytes(&seed);
    let id = hex(&key_id(&key.verifying_key()));
    let secret = format!(
        "# firstpaint signing key {id}: SECRET, keep it at the origin only\n{}\n",
        hex(key.as_bytes())
    );
    let public = format!(
        "# firstpaint public key {id}\n{}\n",
        hex(key.verifying_key().as_bytes())
    );
    std::fs::write(&secret_path, secret)
        .with_context(|| format!("{}: failed to write", secret_path.display()))?;
    std::fs::write(&public_path, public)
        .with_context(|| format!("{}: failed to write", public_path.display()))?;
    println!(
        "key id {id}\n  secret {}\n  public {}",
        secret_path.display(),
        public_path.display()
    );
    Ok(())
}
