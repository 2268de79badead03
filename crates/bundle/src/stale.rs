//! The two ways a signed, sequenced document (a release, a live overlay)
//! goes stale although its signature holds: past its expiry (a publisher
//! that stopped publishing cannot pin the edge to old data: a freeze), or
//! older than the newest one the edge accepted (a replay: a downgrade).

/// Why a signed document is no longer accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Stale {
    /// Past its expiry.
    #[error("{what} {sequence} expired at {expires_at} (now {now}); publish a new one")]
    Expired {
        /// What it is (`release`, `live overlay`).
        what: &'static str,
        /// Its sequence number.
        sequence: u64,
        /// Its expiry, unix seconds.
        expires_at: i64,
        /// The time checked, unix seconds.
        now: i64,
    },
    /// Older than one already accepted.
    #[error(
        "{what} {got} is older than {what} {newest}, already accepted (a downgrade or a replay)"
    )]
    Older {
        /// What it is.
        what: &'static str,
        /// Its sequence number.
        got: u64,
        /// The newest sequence accepted.
        newest: u64,
    },
}

/// Refuses `what` number `sequence`, expiring at `expires_at`, when it has
/// expired at `now` or is older than `newest` (0: none accepted yet).
pub(crate) fn check(
    what: &'static str,
    sequence: u64,
    expires_at: i64,
    now: i64,
    newest: u64,
) -> Result<(), Stale> {
    if now >= expires_at {
        return Err(Stale::Expired {
            what,
            sequence,
            expires_at,
            now,
        });
    }
    if sequence < newest {
        return Err(Stale::Older {
            what,
            got: sequence,
            newest,
        });
    }
    Ok(())
}
