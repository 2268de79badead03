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
//! milliseconds, for at most [`MAX_WAIT_MS`]. A waiter whose load ended
//! without leaving it there (a shard evicted at once by another) says so
//! rather than load it again, so one load never turns into one per
//! waiter. A load whose request was cut off before it ended (workerd
//! abandons its future: it is never dropped) is taken over by the next
//! request once it is [`LOAD_EXPIRES_MS`] old.

use std::cell::RefCell;
use std::future::Future;
use std::time::Duration;

use worker::Delay;

use crate::error::EdgeError;
use crate::loader::now_ms;

/// After this long a load still marked running is taken to have been cut
/// off with its request, and the next request that needs it loads it, ms.
pub const LOAD_EXPIRES_MS: f64 = 15_000.0;
/// The longest a request waits for a load another request runs, ms; then
/// it answers without it ([`EdgeError::Loading`]: a page streams
/// unmodified, the JSON endpoints answer their fallback).
pub const MAX_WAIT_MS: f64 = 5_000.0;
/// A waiting request's first pause, ms; each next pause doubles, up to
/// [`MAX_PAUSE_MS`].
const FIRST_PAUSE_MS: u64 = 2;
/// A waiting request's longest pause, ms.
const MAX_PAUSE_MS: u64 = 20;

/// One load running: its token, and when it started (ms since the epoch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flight {
    token: u64,
    started: f64,
}

/// The loads running in an isolate, by key.
#[derive(Debug, Default)]
pub struct Flights {
    running: Vec<(String, Flight)>,
    issued: u64,
}

impl Flights {
    /// The load of `key` running as of `now` (started less than
    /// [`LOAD_EXPIRES_MS`] ago), if any.
    pub fn running(&self, key: &str, now: f64) -> Option<Flight> {
        self.running
            .iter()
            .find(|(k, f)| k == key && now - f.started < LOAD_EXPIRES_MS)
            .map(|&(_, f)| f)
    }

    /// Marks `key` as loading from `now` (replacing an expired mark);
    /// the token that ends it. Call only when [`Flights::running`] says
    /// none runs.
    pub fn start(&mut self, key: &str, now: f64) -> u64 {
        self.issued += 1;
        let flight = Flight {
            token: self.issued,
            started: now,
        };
        self.running.retain(|(k, _)| k != key);
        self.running.push((key.to_owned(), flight));
        flight.token
    }

    /// Ends the load of `key` that `token` started; a later load of the
    /// same key (which took over an expired one) stays marked.
    pub fn end(&mut self, key: &str, token: u64) {
        self.running
            .retain(|(k, f)| !(k == key && f.token == token));
    }
}

thread_local! {
    static FLIGHTS: RefCell<Flights> = RefCell::default();
}

/// What `settled` says (a load's result as the isolate keeps it), or when
/// it says nothing yet, the result of `load`, which must leave its result
/// where `settled` reads it. `load` runs in this request when no other
/// request is loading `key` (or the other's load expired); else this
/// request waits on its own timers, at most [`MAX_WAIT_MS`], for
/// `settled` to say something after that load ends.
pub async fn once<T, F>(
    key: &str,
    settled: impl Fn() -> Option<Result<T, EdgeError>>,
    load: impl FnOnce() -> F,
) -> Result<T, EdgeError>
where
    F: Future<Output = Result<T, EdgeError>>,
{
    let since = now_ms();
    let mut awaited: Option<Flight> = None;
    let mut pause = FIRST_PAUSE_MS;
    loop {
        if let Some(result) = settled() {
            return result;
        }
        let now = now_ms();
        match (FLIGHTS.with(|f| f.borrow().running(key, now)), awaited) {
            (Some(flight), _) => awaited = Some(flight),
            (None, Some(ended)) if now - ended.started < LOAD_EXPIRES_MS => {
                return Err(EdgeError::NotLoaded(format!(
                    "{key}: loaded by another request, and no longer held"
                )))
            }
            (None, _) => break,
        }
        if now - since > MAX_WAIT_MS {
            return Err(EdgeError::Loading(MAX_WAIT_MS as u64));
        }
        Delay::from(Duration::from_millis(pause)).await;
        pause = (pause * 2).min(MAX_PAUSE_MS);
    }
    let token = FLIGHTS.with(|f| f.borrow_mut().start(key, now_ms()));
    let _running = Running { key, token };
    load().await
}

/// Ends its flight when the load finishes or is dropped.
struct Running<'a> {
    key: &'a str,
    token: u64,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = FLIGHTS.try_with(|f| f.borrow_mut().end(self.key, self.token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_load_of_a_key_at_a_time_until_it_ends_or_expires() {
        let mut f = Flights::default();
        assert_eq!(f.running("release", 0.0), None);
        let first = f.start("release", 0.0);
        assert_eq!(f.running("release", 1.0).map(|x| x.token), Some(first));
        assert_eq!(f.running("shard-a", 1.0), None, "another key is not");
        f.end("release", first);
        assert_eq!(f.running("release", 2.0), None);
        // Never ended (its request was cut off): taken over once old.
        let cut_off = f.start("release", 2.0);
        assert!(f.running("release", 2.0 + LOAD_EXPIRES_MS - 1.0).is_some());
        assert_eq!(f.running("release", 2.0 + LOAD_EXPIRES_MS), None);
        let taken_over = f.start("release", 2.0 + LOAD_EXPIRES_MS);
        // The first load ending late does not end the one that took over.
        f.end("release", cut_off);
        assert_eq!(
            f.running("release", 3.0 + LOAD_EXPIRES_MS).map(|x| x.token),
            Some(taken_over)
        );
    }
}
