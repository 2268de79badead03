//! Collected events on their way back to the origin.
//!
//! `POST /p13n/collect` sends each accepted event (checked, with
//! analytics consent, pseudonymized, with an id) to a Cloudflare Queue
//! (binding [`QUEUE_BINDING`]) as one JSON line ([`enqueue`]). This worker
//! is also the queue's consumer ([`store`]): each batch the queue hands
//! over becomes one gzipped NDJSON object in an R2 bucket (binding
//! [`BUCKET_BINDING`]), named by the hour it was written (UTC) and the
//! batch: `events/YYYY/MM/DD/HH/<ms since the epoch>-<random>.ndjson.gz`
//! ([`object_key`]). The hour is when the edge wrote it, not what the
//! events say (a browser's clock is no index).
//!
//! Delivery is at least once: a batch that fails to write is handed over
//! again whole, and one whose write landed but whose acknowledgement was
//! lost is written twice. Every event carries an id, and the origin drops
//! repeats by id (`firstpaint events pull`).

use firstpaint_contracts::Event;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::js_sys::{ArrayBuffer, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::Response as JsResponse;
use worker::{Date, Env, HttpMetadata, MessageBatch};

use crate::error::EdgeError;

/// The queue binding collected events are sent to.
pub const QUEUE_BINDING: &str = "EVENTS";
/// The R2 bucket binding the queue's batches are written to.
pub const BUCKET_BINDING: &str = "EVENTS_BUCKET";
/// Where the objects are, in the bucket.
pub const PREFIX: &str = "events/";
/// The most messages one `sendBatch` takes (a Queues limit).
const MAX_SEND_BATCH: usize = 100;

/// Whether events go to the queue (its binding is there).
pub fn configured(env: &Env) -> bool {
    env.queue(QUEUE_BINDING).is_ok()
}

/// Sends `events` to the queue, one message each, in batches the queue
/// takes.
pub async fn enqueue(env: &Env, events: &[Event]) -> Result<(), EdgeError> {
    let queue = env
        .queue(QUEUE_BINDING)
        .map_err(|e| EdgeError::Config(format!("queue binding {QUEUE_BINDING}: {e}")))?;
    for chunk in events.chunks(MAX_SEND_BATCH) {
        let lines = chunk
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| EdgeError::Config(format!("an event does not serialize: {e}")))?;
        queue
            .send_batch(lines)
            .await
            .map_err(|e| EdgeError::Config(format!("queue {QUEUE_BINDING} refused: {e}")))?;
    }
    Ok(())
}

/// Writes one batch from the queue to the bucket as one gzipped NDJSON
/// object; every message is acknowledged when it is written, retried
/// (the whole batch) when it is not.
pub async fn store(batch: MessageBatch<String>, env: &Env) -> worker::Result<()> {
    match write(&batch, env).await {
        Ok(()) => batch.ack_all(),
        Err(e) => {
            worker::console_error!("firstpaint: events batch not written, retried: {e}");
            batch.retry_all();
        }
    }
    Ok(())
}

async fn write(batch: &MessageBatch<String>, env: &Env) -> Result<(), EdgeError> {
    let messages = batch
        .messages()
        .map_err(|e| EdgeError::Config(format!("queue batch: {e}")))?;
    if messages.is_empty() {
        return Ok(());
    }
    let mut ndjson = String::new();
    for m in &messages {
        ndjson.push_str(m.body().trim_end());
        ndjson.push('\n');
    }
    let gz = gzip(ndjson.as_bytes()).await?;
    let mut random = [0u8; 6];
    getrandom::getrandom(&mut random)
        .map_err(|e| EdgeError::Config(format!("no randomness for a batch name: {e}")))?;
    let key = object_key(Date::now().as_millis(), &firstpaint_bundle::hex(&random));
    let bucket = env
        .bucket(BUCKET_BINDING)
        .map_err(|e| EdgeError::Config(format!("R2 binding {BUCKET_BINDING}: {e}")))?;
    bucket
        .put(&key, gz)
        .http_metadata(HttpMetadata {
            content_type: Some("application/gzip".into()),
            ..HttpMetadata::default()
        })
        .execute()
        .await
        .map_err(|e| EdgeError::Kv {
            key,
            reason: e.to_string(),
        })?;
    Ok(())
}

/// The object name of a batch written at `ms` (since the epoch) named
/// `name`: under its hour, so a listing from an hour on is a listing
/// after a key.
pub fn object_key(ms: u64, name: &str) -> String {
    format!("{}{ms:013}-{name}.ndjson.gz", hour_prefix(ms / 1000))
}

/// `events/YYYY/MM/DD/HH/` of the hour holding `unix_s`.
pub fn hour_prefix(unix_s: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(unix_s as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{PREFIX}{:04}/{:02}/{:02}/{:02}/",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour()
    )
}

#[wasm_bindgen]
extern "C" {
    /// The runtime's `CompressionStream` (native gzip: no deflate code in
    /// the wasm).
    type CompressionStream;

    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<CompressionStream, JsValue>;
}

/// `bytes` gzipped by the runtime.
async fn gzip(bytes: &[u8]) -> Result<Vec<u8>, EdgeError> {
    let failed = |what: &str, e: JsValue| EdgeError::Config(format!("gzip: {what}: {e:?}"));
    let mut owned = bytes.to_vec();
    let source = JsResponse::new_with_opt_u8_array(Some(&mut owned))
        .map_err(|e| failed("source", e))?
        .body()
        .ok_or_else(|| EdgeError::Config("gzip: a body without a stream".into()))?;
    let gzip = CompressionStream::new("gzip").map_err(|e| failed("CompressionStream", e))?;
    // A transform stream is the readable-writable pair `pipeThrough` takes.
    let gzipped = source.pipe_through(gzip.unchecked_ref());
    let compressed = JsResponse::new_with_opt_readable_stream(Some(&gzipped))
        .map_err(|e| failed("response", e))?;
    let buffer = JsFuture::from(compressed.array_buffer().map_err(|e| failed("read", e))?)
        .await
        .map_err(|e| failed("read", e))?;
    let buffer: ArrayBuffer = buffer.into();
    Ok(Uint8Array::new(&buffer).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_by_their_hour_in_order() {
        // 2026-12-01T20:45:07.123Z
        let ms = 1_796_157_907_123;
        assert_eq!(hour_prefix(ms / 1000), "events/2026/12/01/20/");
        assert_eq!(
            object_key(ms, "a1"),
            "events/2026/12/01/20/1796157907123-a1.ndjson.gz"
        );
        assert_eq!(hour_prefix(0), "events/1970/01/01/00/");
        // Leap day, and the turn of a year.
        assert_eq!(hour_prefix(1_709_164_800), "events/2024/02/29/00/");
        assert_eq!(hour_prefix(1_798_761_599), "events/2026/12/31/23/");
        assert!(object_key(ms, "z") < object_key(ms + 3_600_000, "a"));
    }
}
