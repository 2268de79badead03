// The floors of the rewrite bench (bench/rewrite.mjs): what a worker pays
// in workerd to change a page's body at all, before any personalization.
// No wasm, no cookie, no bundle, no ranking: the page is fetched from
// ORIGIN_URL as the edge fetches it (an Authorization header: no page
// cache) and answered with `x-p13n: floor`, one of three ways (FLOOR):
//
// - `pass`: the body handed on untouched, as the kill switch does: what a
//   worker with no wasm pays for a page it does not change;
// - `stream`: the body through the edge's own loop (read in 64 KiB pieces
//   with a BYOB reader, written to an identity TransformStream), copied
//   where the edge calls the wasm's rewrite;
// - `native`: the runtime's own HTMLRewriter (lol-html compiled natively)
//   marks each `[data-p13n-slot]` personalized and replaces each
//   `[data-p13n-items]`' content with 12 fixed cards: the other route the
//   first-paint issue names, with none of its ranking or template work.
// edge/src/rewrite_stream.mjs, the edge's own loop (bench/rewrite.mjs gives
// it to workerd under this name).
import { rewriteThrough } from './rewrite_stream.mjs';

const CARDS = Array.from({ length: 12 }, (_, i) => `<article class="card" data-product="SKU-${String(i + 1).padStart(5, '0')}"><a href="/products/SKU-${String(i + 1).padStart(5, '0')}"><img src="/img/camping.svg" alt="Product ${i + 1}" width="240" height="180"><h3>Product ${i + 1} with a title of a usual length</h3><span class="price">£${i + 10}.99</span></a></article>`).join('');

/** What the `stream` floor passes for the rewrite: a copy, nothing else. */
const unchanged = { push: (bytes) => bytes.slice(), finish: () => new Uint8Array(0), free() {} };

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const upstream = await fetch(new Request(env.ORIGIN_URL + url.pathname + url.search, request));
    const headers = new Headers(upstream.headers);
    headers.set('x-p13n', 'floor');
    if (env.FLOOR === 'pass') return new Response(upstream.body, { status: upstream.status, headers });
    if (env.FLOOR === 'native') {
      const rewritten = new HTMLRewriter()
        .on('[data-p13n-slot]', { element(e) { e.setAttribute('data-p13n-state', 'personalized'); } })
        .on('[data-p13n-items]', { element(e) { e.setInnerContent(CARDS, { html: true }); } })
        .transform(upstream);
      return new Response(rewritten.body, { status: upstream.status, headers });
    }
    return new Response(rewriteThrough(upstream.body, unchanged, 64 << 10), { status: upstream.status, headers });
  },
};
