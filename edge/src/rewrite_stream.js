// The page's body through the slot rewriter: the loop of
// edge/src/rewrite_stream.rs, in JavaScript. Each read and write is a
// promise; awaited here they cost what the runtime charges for them, where
// awaited in Rust every one also went through wasm-bindgen's futures
// (a JsFuture, a task woken by a microtask, the glue to and from it):
// ~0.2 ms a page in workerd's CPU profile, whatever the page's size.
//
// `page` is a `PageRewrite` (or anything with its `push(bytes) -> bytes`,
// `finish() -> bytes` and `free()`; bench/floors.js passes one that copies).

/**
 * `body` read in pieces of up to `pieceBytes` (a BYOB reader: a read
 * returns as soon as any bytes are there), each rewritten by
 * `page.push` and written to an identity stream, whose readable side is
 * returned: the response's body.
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
  const { readable, writable } = new TransformStream();
  pump(reader, writable.getWriter(), page, pieceBytes);
  return readable;
}

/**
 * Reads, rewrites and writes the page to its end. A failed read aborts
 * the answer with its reason (the page was partly sent); a failed write
 * (the shopper went away) cancels the read. `page` is freed either way.
 */
async function pump(reader, writer, page, pieceBytes) {
  let buffer = new Uint8Array(pieceBytes);
  try {
    for (;;) {
      let read;
      try {
        read = await reader.read(buffer);
      } catch (e) {
        await writer.abort(e).catch(() => {});
        return;
      }
      if (read.done) break;
      const out = page.push(read.value);
      // The read took the buffer over; its bytes are ours again.
      buffer = new Uint8Array(read.value.buffer);
      if (!(await written(writer, out))) {
        await reader.cancel().catch(() => {});
        return;
      }
    }
    if (await written(writer, page.finish())) await writer.close().catch(() => {});
  } catch (e) {
    // The rewriter itself failed (it is built not to): the page ends here.
    await writer.abort(e).catch(() => {});
  } finally {
    page.free();
  }
}

/** Writes `bytes` (nothing for none); false when the stream is gone. */
async function written(writer, bytes) {
  if (bytes.length === 0) return true;
  try {
    await writer.write(bytes);
    return true;
  } catch {
    return false;
  }
}
