// The edge's page loop (edge/src/rewrite_stream.mjs) on its own, under
// Node's web streams: what it reads, what it hands on, and that it frees
// the page's rewriter exactly once however the page ends. The worker's
// end-to-end tests run the same loop in workerd with the real rewriter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rewriteThrough } from '../edge/src/rewrite_stream.mjs';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A byte stream of `pieces`, then an end (or `failure`, thrown at the end). */
function bytes(pieces, failure) {
  const queue = [...pieces];
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      if (queue.length > 0) {
        controller.enqueue(encoder.encode(queue.shift()));
      } else if (failure) {
        controller.error(failure);
      } else {
        controller.close();
        controller.byobRequest?.respond(0);
      }
    },
    cancel(reason) {
      this.cancelled = reason;
    },
  });
}

/** A stand-in for `PageRewrite`: upper-cases, and records what it was asked. */
function page() {
  const calls = { pushed: [], finished: 0, freed: 0 };
  return {
    calls,
    push(piece) {
      calls.pushed.push(decoder.decode(piece));
      return encoder.encode(decoder.decode(piece).toUpperCase());
    },
    finish() {
      calls.finished += 1;
      return encoder.encode('<!-- end -->');
    },
    free() {
      calls.freed += 1;
    },
  };
}

async function readAll(stream) {
  let text = '';
  for await (const chunk of stream) text += decoder.decode(chunk);
  return text;
}

test('every piece is rewritten in order, then the end, and the rewriter is freed once', async () => {
  const p = page();
  const out = rewriteThrough(bytes(['<p>one</p>', '<p>two</p>']), p, 64 << 10);
  assert.equal(await readAll(out), '<P>ONE</P><P>TWO</P><!-- end -->');
  assert.deepEqual(p.calls.pushed.join(''), '<p>one</p><p>two</p>');
  assert.equal(p.calls.finished, 1);
  assert.equal(p.calls.freed, 1);
});

test('a piece with nothing ready yet is not handed on as an empty chunk', async () => {
  const p = page();
  p.push = (piece) => {
    p.calls.pushed.push(decoder.decode(piece));
    return new Uint8Array(0);
  };
  const chunks = [];
  for await (const chunk of rewriteThrough(bytes(['a', 'b', 'c']), p, 16)) chunks.push(decoder.decode(chunk));
  assert.deepEqual(chunks, ['<!-- end -->']);
  assert.equal(p.calls.pushed.join(''), 'abc');
  assert.equal(p.calls.freed, 1);
});

test('a failed read ends the answer with its error and frees the rewriter', async () => {
  const p = page();
  const failure = new Error('origin went away');
  const out = rewriteThrough(bytes(['<p>one</p>'], failure), p, 64 << 10);
  await assert.rejects(readAll(out), /origin went away/);
  assert.equal(p.calls.finished, 0);
  assert.equal(p.calls.freed, 1);
});

test('a shopper who goes away cancels the read, and the rewriter is freed once', async () => {
  const p = page();
  const body = bytes(['<p>one</p>', '<p>two</p>', '<p>three</p>']);
  const reader = rewriteThrough(body, p, 64 << 10).getReader();
  assert.equal(decoder.decode((await reader.read()).value), '<P>ONE</P>');
  await reader.cancel('gone');
  assert.equal(p.calls.freed, 1);
  assert.equal(p.calls.finished, 0);
});

test('a body that is not a byte stream is refused, and the rewriter freed', () => {
  const p = page();
  const text = new ReadableStream({ start: (c) => c.enqueue(encoder.encode('x')) });
  assert.throws(() => rewriteThrough(text, p, 64 << 10));
  assert.equal(p.calls.freed, 1);
});
