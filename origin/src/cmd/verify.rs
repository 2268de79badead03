//! `firstpaint verify`.

use super::inspect::{Checked, Description};

/// Arguments of `verify`: the bundle, its trusted key, and when.
pub type Args = Checked;

/// Verifies signature, expiry and sections, and that the engine loads it.
pub fn run(args: Args) -> anyhow::Result<()> {
    Description::read(&args)?.print_header(&args);
    Ok(())
}
