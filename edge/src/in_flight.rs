//! A background read that runs once at a time and is not trusted to end
//! ([`InFlight`]), and a value re-read that way every so often
//! ([`Polled`]).
//!
//! Manifest, live overlay and purge reads run in `wait_until`, which the
//! platform may cut off. A plain "running" flag left set by a read that
//! never finished would stop the isolate from ever reading again (a
//! rollback or a new overlay never seen there); a mark older than
//! [`IN_FLIGHT_EXPIRES_MS`] is taken to be such a read.

/// After this long a read still marked running is taken to have been cut
/// off, ms (`wait_until` work gets 30 s after the response).
pub const IN_FLIGHT_EXPIRES_MS: f64 = 60_000.0;

/// When the read in flight, if any, started (ms since the epoch).
#[derive(Debug, Default, Clone, Copy)]
pub struct InFlight(Option<f64>);

impl InFlight {
    /// Whether a read is running as of `now`.
    pub fn running(&self, now: f64) -> bool {
        self.0.is_some_and(|at| now - at < IN_FLIGHT_EXPIRES_MS)
    }

    /// Marks a read as started at `now`, unless one is running; whether
    /// it was.
    pub fn start(&mut self, now: f64) -> bool {
        let started = !self.running(now);
        if started {
            self.0 = Some(now);
        }
        started
    }

    /// Marks the read as ended.
    pub fn end(&mut self) {
        self.0 = None;
    }
}

/// A value re-read in the background every so often (the live overlay's
/// pointer, the page cache's purges): when it was last read, and the read
/// in flight.
#[derive(Debug, Default, Clone, Copy)]
pub struct Polled {
    read_at_ms: Option<f64>,
    reading: InFlight,
}

impl Polled {
    /// Whether it was never read (nor is a first read over).
    pub fn never_read(&self) -> bool {
        self.read_at_ms.is_none()
    }

    /// Marks a read as started at `now` when one is due (never read, or
    /// last read more than `ttl_ms` ago) and none is running; whether it
    /// was.
    pub fn start_if_due(&mut self, now: f64, ttl_ms: f64) -> bool {
        self.read_at_ms.is_none_or(|at| now - at > ttl_ms) && self.reading.start(now)
    }

    /// Marks the read as ended at `now`.
    pub fn ended(&mut self, now: f64) {
        self.reading.end();
        self.read_at_ms = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polled_value_is_read_when_due_and_never_twice_at_once() {
        let mut p = Polled::default();
        assert!(p.never_read());
        assert!(p.start_if_due(0.0, 1000.0));
        assert!(!p.start_if_due(1.0, 1000.0));
        p.ended(10.0);
        assert!(!p.never_read());
        assert!(!p.start_if_due(500.0, 1000.0));
        assert!(p.start_if_due(1011.0, 1000.0));
    }

    #[test]
    fn one_read_at_a_time_until_it_ends_or_expires() {
        let mut f = InFlight::default();
        assert!(f.start(0.0));
        assert!(!f.start(1.0));
        f.end();
        assert!(f.start(2.0));
        // Never ended: taken as cut off once it is old.
        assert!(!f.start(2.0 + IN_FLIGHT_EXPIRES_MS - 1.0));
        assert!(f.start(2.0 + IN_FLIGHT_EXPIRES_MS));
    }
}
