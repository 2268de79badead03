//! One load at a time of what many requests want at once (the isolate's
//! first release and bundle, a shard), with no request awaiting another
//! request's promise.
//!
//! workerd ties every promise to the request that made it. A request that
//! awaits a load another request started is cancelled as hung when that
//! other request's context ends first ("The Workers runtime canceled this
//! request because it detected that your Worker's code had hung"):
//! `bench/faults.mjs` saw it as a few 500s in every window where an
//! isolate without a good bundle tried its load again. So the request
//! that starts a load runs it itself ([`once`]), and the others wait on
//! their own timers for what it leaves in the isolate's caches (the
//! release, the shard, or why it failed), looking again every few
//! milliseconds. A load whose request was cut off before it ended is
//! taken over once it is [`LOAD_EXPIRES_MS`] old.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use worker::Delay;

use crate::error::EdgeError;
use crate::loader::now_ms;

/// After this long a load still marked running is taken to have been cut
/// off with its request, and the next request that needs it loads it, ms.
pub const LOAD_EXPIRES_MS: f64 = 15_000.0;
/// A waiting request's first pause, ms; each next pause doubles, up to
/// [`MAX_PAUSE_MS`].
const FIRST_PAUSE_MS: u64 = 2;
/// A waiting request's longest pause, ms.
const MAX_PAUSE_MS: u64 = 20;

/// The loads running in an isolate, by key, with when each started (ms
/// since the epoch).
#[derive(Debug, Default)]
pub struct Flights(Vec<(String, f64)>);

impl Flights {
    /// Marks `key` as loading from `now`, unless a load of it is running
    /// (marked less than [`LOAD_EXPIRES_MS`] ago); whether it was marked.
    pub fn start(&mut self, key: &str, now: f64) -> bool {
        self.0.retain(|(_, at)| now - at < LOAD_EXPIRES_MS);
        if self.0.iter().any(|(k, _)| k == key) {
            return false;
        }
        self.0.push((key.to_owned(), now));
        true
    }

    /// Marks the load of `key` as ended.
    pub fn end(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }
}

thread_local! {
    static FLIGHTS: RefCell<Flights> = RefCell::default();
}

/// What `settled` says (a load's result as the isolate keeps it), or when
/// it says nothing yet, the result of `load`: run by this request when no
/// other is loading `key`, else waited for on this request's own timers
/// until `settled` says something or the other load expires (then this
/// request loads). `load` must leave its result where `settled` reads it.
pub async fn once<T, F>(
    key: &str,
    settled: impl Fn() -> Option<Result<T, EdgeError>>,
    load: impl FnOnce() -> F,
) -> Result<T, EdgeError>
where
    F: Future<Output = Result<T, EdgeError>>,
{
    let mut pause = FIRST_PAUSE_MS;
    loop {
        if let Some(result) = settled() {
            return result;
        }
        if FLIGHTS.with(|f| f.borrow_mut().start(key, now_ms())) {
            break;
        }
        Delay::from(Duration::from_millis(pause)).await;
        pause = (pause * 2).min(MAX_PAUSE_MS);
    }
    let _running = Running(key);
    load().await
}

/// Ends the flight of its key when the load finishes or is dropped.
struct Running<'a>(&'a str);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = FLIGHTS.try_with(|f| f.borrow_mut().end(self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_load_of_a_key_at_a_time_until_it_ends_or_expires() {
        let mut f = Flights::default();
        assert!(f.start("release", 0.0));
        assert!(!f.start("release", 1.0));
        assert!(f.start("shard-a", 1.0), "another key loads beside it");
        f.end("release");
        assert!(f.start("release", 2.0));
        // Never ended (its request was cut off): taken over once old.
        assert!(!f.start("release", 2.0 + LOAD_EXPIRES_MS - 1.0));
        assert!(f.start("release", 2.0 + LOAD_EXPIRES_MS));
        assert!(f.start("shard-a", 2.0 + LOAD_EXPIRES_MS), "expired too");
    }
}
