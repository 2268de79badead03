//! Identifier rules shared by every contract.
//!
//! Product ids travel in URLs, cookies and HTML attributes, so they are kept
//! to a conservative alphabet: ASCII letters, digits, `-`, `_`, `.` and `:`.

/// Longest accepted identifier, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Whether `id` is a usable identifier (non-empty, at most [`MAX_ID_LEN`]
/// bytes, alphabet above).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The message used when an id breaks the rules above.
pub(crate) fn id_problem(id: &str) -> String {
    format!("must be 1-{MAX_ID_LEN} characters of A-Z a-z 0-9 - _ . : (got {id:?})")
}
