// The page's body through the slot rewriter: the loop of
// edge/src/rewrite_stream.rs, in JavaScript, as the pull source of the
// stream the response is read from. Each read is a promise; awaited here it
// costs what the runtime charges for it, where awaited in Rust it also went
// through wasm-bindgen's futures (a JsFuture, a task woken by a microtask,
// the glue to and from it). And a stream the runtime pulls from is cheaper
// than writing to a TransformStream it reads: no writer, no second queue,
// no promise per write (BENCHMARKS.md, session 27).
//
// `page` is a `PageRewrite` (or anything with its `push(bytes) -> bytes`,
// `finish() -> bytes` and `free()`; bench/floors.js passes one that copies).

/**
 * `body` read in pieces of up to `pieceBytes` (a BYOB reader: a read
 * returns as soon as any bytes are there), each rewritten by `page.push`,
 * as a stream to answer with: read when the runtime sends the response
 * on (nothing is read ahead of the shopper). A failed read ends it with
 * the read's error (the page was partly sent); a cancel (the shopper went
 * away) cancels the read. `page` is freed either way, once.
 */
export function rewriteThrough(body, page, pieceBytes) {
  let reader;
  try {
    reader = body.getReader({ mode: 'byob' });
  } catch (e) {
    // Not a byte stream: the caller serves the page as it came.
    page.free();
    throw e;
  }
  let buffer = new Uint8Array(pieceBytes);
  let live = true;
  const free = () => {
    if (!live) return;
    live = false;
    page.free();
  };
  return new ReadableStream({
    async pull(controller) {
      try {
        for (;;) {
          const read = await reader.read(buffer);
          // Cancelled while reading: the page is gone.
          if (!live) return;
          if (read.done) {
            const out = page.finish();
            free();
            if (out.length > 0) controller.enqueue(out);
            controller.close();
            return;
          }
          const out = page.push(read.value);
          // The read took the buffer over; its bytes are ours again.
          buffer = new Uint8Array(read.value.buffer);
          if (out.length > 0) {
            controller.enqueue(out);
            return;
          }
        }
      } catch (e) {
        // A failed read, or the rewriter itself (it is built not to fail).
        free();
        throw e;
      }
    },
    cancel(reason) {
      free();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
