//! Input errors that say where the problem is: file, line, field.

use std::fmt;

/// One problem in a merchant's input file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct InputError {
    /// The file as the caller named it (e.g. `fixtures/catalog.ndjson`).
    pub file: String,
    /// 1-based line, where the format has lines that matter.
    pub line: Option<usize>,
    /// Field path inside the record (`inventory[2].available`), empty when
    /// the whole record is at fault.
    pub field: String,
    /// What is wrong, with the offending value where it helps.
    pub message: String,
}

impl InputError {
    /// An error at `file`, optional `line`, `field`.
    pub fn new(
        file: impl Into<String>,
        line: Option<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line,
            field: field.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": field `{}`: {}", self.field, self.message)
        }
    }
}

/// Every problem found in one input, in file order. Readers collect all of
/// them rather than stopping at the first, so a merchant fixes a file in one go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputErrors(pub Vec<InputError>);

/// How many errors [`InputErrors`]'s `Display` lists before summarising.
const ERRORS_SHOWN: usize = 20;

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().take(ERRORS_SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > ERRORS_SHOWN {
            write!(f, "\n... and {} more errors", self.0.len() - ERRORS_SHOWN)?;
        }
        Ok(())
    }
}
