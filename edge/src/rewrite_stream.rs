//! A page's body through the slot rewriter.
//!
//! The body is read in pieces of up to [`PIECE_BYTES`] (a BYOB reader: a
//! read returns as soon as any bytes are there, so nothing waits for a
//! piece to fill), each rewritten in one call into the wasm. The runtime's
//! fetch body otherwise arrives in 4 KiB chunks, and a stream transformed
//! chunk by chunk costs ~0.1 ms a chunk in workerd (measured with a plain
//! JavaScript `TransformStream`: +2.4 ms on a 94 KB page, against +0.4 ms
//! read in 64 KiB pieces; BENCHMARKS.md).
//!
//! The loop itself is JavaScript (`rewrite_stream.mjs`): the pull source of
//! the stream the response is read from, calling [`PageRewrite`] once a
//! piece. Awaiting the reads in Rust put each through wasm-bindgen's
//! futures as well, and writing into a `TransformStream` cost a writer, a
//! second queue and a promise per write (BENCHMARKS.md, session 27).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use web_sys::ReadableStream;

use crate::rewrite::{Outcome, SlotRewriter};

/// The most bytes one read of the page takes.
pub const PIECE_BYTES: u32 = 64 << 10;

#[wasm_bindgen(module = "/src/rewrite_stream.mjs")]
extern "C" {
    /// `body` through `page`, piece by piece, as the stream to answer with
    /// (read as the runtime sends the response on).
    #[wasm_bindgen(catch, js_name = rewriteThrough)]
    fn rewrite_through(
        body: &ReadableStream,
        page: PageRewrite,
        piece_bytes: u32,
    ) -> Result<ReadableStream, JsValue>;
}

/// One page's rewrite, as the JavaScript loop drives it: a piece in, the
/// output ready so far out, and the end.
#[wasm_bindgen]
pub struct PageRewrite {
    rewriter: Option<SlotRewriter>,
    done: Option<Box<dyn FnOnce(Outcome)>>,
}

#[wasm_bindgen]
impl PageRewrite {
    /// Rewrites the next piece of the page; returns the output ready so far.
    pub fn push(&mut self, piece: &[u8]) -> Vec<u8> {
        match self.rewriter.as_mut() {
            Some(rewriter) => rewriter.push(piece),
            None => piece.to_vec(),
        }
    }

    /// Ends the page: returns the last output, and reports what happened
    /// to the slots.
    pub fn finish(&mut self) -> Vec<u8> {
        let Some(rewriter) = self.rewriter.take() else {
            return Vec::new();
        };
        let (out, outcome) = rewriter.finish();
        if let Some(done) = self.done.take() {
            done(outcome);
        }
        out
    }
}

/// `body` rewritten by `rewriter` as it streams, as the stream to answer
/// with; `done` gets what happened to the slots once the page has ended.
/// An error when `body` cannot be read in pieces (the caller serves the
/// page as it came).
pub fn through(
    body: &ReadableStream,
    rewriter: SlotRewriter,
    done: impl FnOnce(Outcome) + 'static,
) -> Result<ReadableStream, JsValue> {
    let page = PageRewrite {
        rewriter: Some(rewriter),
        done: Some(Box::new(done)),
    };
    rewrite_through(body, page, PIECE_BYTES)
}
