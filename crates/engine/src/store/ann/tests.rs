//! The layout's round trip, the search against an exact scan, and malformed
//! sections: each refused at `open`, none a panic.

use proptest::prelude::*;

use super::*;
use crate::embedding::Embedding;

/// Deterministic pseudo-random unit vectors.
fn vectors(n: usize, seed: u64) -> Vec<Quantized> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            let mut e = [0.0f32; DIM];
            for x in &mut e {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                *x = ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5;
            }
            Quantized::new(&Embedding(e).normalized())
        })
        .collect()
}

/// `n` points, each linked to its `degree` nearest on layer 0; an upper
/// layer of the first `top` points linked to each other; products in
/// reverse order of points.
fn graph(n: usize, degree: usize, top: usize) -> AnnGraph {
    let vectors = vectors(n, 7);
    let nearest = |p: usize, among: usize| -> Vec<u32> {
        let mut others: Vec<(f32, u32)> = (0..among)
            .filter(|&o| o != p)
            .map(|o| (-vectors[p].dot(&vectors[o]), o as u32))
            .collect();
        others.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        others.into_iter().take(degree).map(|(_, o)| o).collect()
    };
    AnnGraph {
        zero: (0..n).map(|p| nearest(p, n)).collect(),
        layers: vec![(0..top).map(|p| nearest(p, top)).collect()],
        products: (0..n as u32).rev().collect(),
        entry: 0,
        ef_search: 16,
        vectors,
    }
}

fn section() -> Vec<u8> {
    write_ann(&graph(40, 6, 5)).expect("writes")
}

/// Byte positions of the columns of [`section`]'s layout (40 points, 6
/// links a point on layer 0; one upper layer of 5 nodes, 4 slots a row),
/// and layer 0's bits of codes.
struct At {
    vectors: usize,
    members: usize,
    offsets: usize,
    codes: usize,
    bits: u32,
    upper: usize,
}

fn at() -> At {
    let n = 40;
    let bits = u32_at(&section(), 32).expect("a header");
    let h = HEADER + 8;
    let offsets = h + 36 * n + 4 * 5;
    let codes = offsets + Coded::offsets_bytes(40, bits).expect("small") as usize;
    At {
        vectors: h,
        members: h + 36 * n,
        offsets,
        codes,
        bits,
        upper: codes + coded::codes_bytes(bits) as usize,
    }
}

fn put(bytes: &mut [u8], at: usize, word: u32) {
    bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
}

/// Sets slot `slot` of the rows column at `at`, ids `width` bits wide.
fn put_slot(bytes: &mut [u8], at: usize, width: u32, slot: usize, value: u32) {
    for i in 0..width as usize {
        let bit = slot * width as usize + i;
        let byte = &mut bytes[at + bit / 8];
        let mask = 1u8 << (bit % 8);
        if value >> i & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

fn open_err(bytes: &[u8]) -> AnnError {
    AnnIndex::open(bytes).expect_err("refused")
}

#[test]
fn round_trips_vectors_products_and_counts() {
    let g = graph(40, 6, 5);
    let bytes = write_ann(&g).expect("writes");
    let index = AnnIndex::open(bytes.as_slice()).expect("opens");
    assert_eq!((index.len(), index.ef_search()), (40, 16));
    assert_eq!((index.upper_layers(), index.layer0_degree()), (1, 6));
    // Layer 0 is stored in products' numbering (product = 39 - point),
    // each row in increasing order.
    for (point, row) in g.zero.iter().enumerate() {
        let b = index.as_bytes();
        let mut products: Vec<u32> = row.iter().map(|&p| 39 - p).collect();
        products.sort_unstable();
        assert_eq!(
            index.zero.links(b, 39 - point as u32).collect::<Vec<_>>(),
            products
        );
    }
    // The upper layer keeps the graph's numbering; its nodes are products.
    let query = g.vectors[0];
    let view = index.view(&query).expect("a view");
    for node in 0..5 {
        assert_eq!(view.member(node), Some(39 - node));
    }
    assert_eq!(view.member(5), None);
    for (point, v) in g.vectors.iter().enumerate() {
        let product = 39 - point as u32;
        assert_eq!(index.vector(product), Some(*v));
    }
    assert_eq!(index.vector(40), None);
    assert_eq!(index.vector(u32::MAX), None);
    // A similarity read from the record is the unquantized vector's.
    let query = vectors(1, 11)[0].embedding();
    for product in 0..40 {
        let read = index.dot(product, &query).expect("a product");
        let unquantized = index.vector(product).expect("a product").embedding();
        assert!((read - unquantized.dot(&query)).abs() < 1e-5, "{product}");
    }
    assert_eq!(index.dot(40, &query), None);
    // Owned bytes work the same.
    let owned = AnnIndex::open(bytes.clone()).expect("opens");
    assert_eq!(
        owned.search(&g.vectors[3], 5),
        index.search(&g.vectors[3], 5)
    );
}

#[test]
fn a_complete_graph_searched_wide_is_an_exact_scan() {
    let n = 60;
    let mut g = graph(n, n, 8);
    g.ef_search = n as u32;
    let index = AnnIndex::open(write_ann(&g).expect("writes")).expect("opens");
    for q in vectors(20, 99) {
        let mut exact: Vec<(u32, f32)> = g
            .vectors
            .iter()
            .enumerate()
            .map(|(p, v)| (g.products[p], 1.0 - (1.0 - q.dot(v)).max(0.0)))
            .collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let found = index.search(&q, 10);
        assert_eq!(found.len(), 10);
        for (f, e) in found.iter().zip(&exact) {
            assert_eq!(
                f.1.to_bits(),
                e.1.to_bits(),
                "similarities agree to the bit"
            );
        }
        assert_eq!(
            found.iter().map(|f| f.0).collect::<Vec<_>>(),
            exact.iter().take(10).map(|e| e.0).collect::<Vec<_>>()
        );
    }
}

#[test]
fn returns_at_most_k_and_at_most_the_beam() {
    let index = AnnIndex::open(section()).expect("opens");
    let q = vectors(1, 5)[0];
    assert!(index.search(&q, 0).is_empty());
    assert_eq!(index.search(&q, 3).len(), 3);
    assert_eq!(index.search(&q, 100).len(), 16, "ef_search caps it");
    assert_eq!(index.search_ef(&q, 100, 30).len(), 30);
    assert_eq!(
        index.search_ef(&q, 100, 0).len(),
        1,
        "a beam of at least one"
    );
    // Nearest first.
    let hits = index.search_ef(&q, 40, 40);
    assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn an_empty_graph_opens_and_finds_nothing() {
    let bytes = write_ann(&AnnGraph::default()).expect("writes");
    let index = AnnIndex::open(bytes.as_slice()).expect("opens");
    assert!(index.is_empty());
    assert!(index.search(&vectors(1, 1)[0], 10).is_empty());
    assert_eq!(index.vector(0), None);
}

#[test]
fn every_truncation_is_refused() {
    let bytes = section();
    for len in 0..bytes.len() {
        let err = open_err(&bytes[..len]);
        assert!(
            matches!(err, AnnError::Length { got, .. } if got == len),
            "{len}: {err}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(open_err(&longer), AnnError::Length { .. }));
}

#[test]
fn a_wrong_header_is_refused() {
    let bytes = section();
    let with = |at: usize, word: u32| {
        let mut b = bytes.clone();
        put(&mut b, at, word);
        open_err(&b)
    };
    assert!(matches!(with(0, 0), AnnError::Magic { .. }));
    assert!(matches!(with(4, 3), AnnError::Version { got: 3, .. }));
    assert!(matches!(with(12, 64), AnnError::Dimensions { got: 64, .. }));
    // Counts that do not match the length.
    assert!(matches!(with(8, 41), AnnError::Length { .. }));
    assert!(matches!(with(8, u32::MAX), AnnError::TooLarge { .. }));
    assert!(matches!(with(24, u32::MAX), AnnError::Length { .. }));
    // An upper layer larger than the one below, or empty.
    assert!(matches!(
        with(36, 41),
        AnnError::LayerSize {
            layer: 1,
            size: 41,
            below: 40
        }
    ));
    assert!(matches!(with(36, 0), AnnError::LayerSize { size: 0, .. }));
    // The entry point must be on the top layer (5 points).
    assert!(matches!(with(20, 5), AnnError::Entry { entry: 5, top: 5 }));
}

#[test]
fn version_1_is_refused_and_says_to_rebuild() {
    let mut bytes = section();
    put(&mut bytes, 4, 1);
    let err = open_err(&bytes);
    assert_eq!(
        err,
        AnnError::Version {
            expected: 2,
            got: 1
        }
    );
    assert!(err.to_string().contains("rebuild the bundle"), "{err}");
}

#[test]
fn without_upper_layers_the_entry_is_a_product() {
    let mut g = graph(30, 5, 1);
    g.layers.clear();
    g.entry = 4;
    let bytes = write_ann(&g).expect("writes");
    let index = AnnIndex::open(bytes.as_slice()).expect("opens");
    assert_eq!((index.upper_layers(), index.entry), (0, 25));
    let q = g.vectors[7];
    assert_eq!(index.search(&q, 1).first().map(|h| h.0), Some(22));
    g.entry = 30;
    assert!(matches!(
        write_ann(&g),
        Err(AnnError::Entry { entry: 30, .. })
    ));
}

#[test]
fn links_to_nodes_off_their_layer_are_refused() {
    let bytes = section();
    let a = at();
    // Upper layer 1 holds nodes 0..5 (3-bit ids): 5 is off it though it
    // is a point.
    let mut b = bytes.clone();
    put_slot(&mut b, a.upper, 3, 2, 5);
    assert_eq!(
        open_err(&b),
        AnnError::Link {
            layer: 1,
            node: 0,
            slot: 2,
            neighbour: 5,
            size: 5
        }
    );
}

#[test]
fn links_after_an_empty_slot_are_refused() {
    let mut bytes = section();
    let a = at();
    // Node 2's second slot emptied (7 with 3-bit ids): its row would end
    // there.
    put_slot(&mut bytes, a.upper, 3, 9, 7);
    assert!(matches!(
        open_err(&bytes),
        AnnError::Link {
            layer: 1,
            node: 2,
            slot: 2,
            ..
        }
    ));
    // Emptying its tail instead is a shorter row, and fine.
    let mut bytes = section();
    for slot in 10..12 {
        put_slot(&mut bytes, a.upper, 3, slot, 7);
    }
    let index = AnnIndex::open(bytes.as_slice()).expect("opens");
    assert_eq!(index.upper[0].links(index.as_bytes(), 2).count(), 2);
}

/// The layer-0 offset of row `row` of [`section`], or with `value` put there.
fn offset(bytes: &mut [u8], row: usize, value: Option<u32>) -> u32 {
    let a = at();
    let width = rows::width(a.bits);
    let read = |bytes: &[u8]| {
        (0..width as usize).fold(0u32, |x, i| {
            let bit = row * width as usize + i;
            x | u32::from(bytes[a.offsets + bit / 8] >> (bit % 8) & 1) << i
        })
    };
    if let Some(v) = value {
        put_slot(bytes, a.offsets, width, row, v);
    }
    read(bytes)
}

#[test]
fn offsets_must_start_at_0_rise_and_end_at_the_codes_end() {
    let bytes = section();
    let a = at();
    let with = |row: usize, value: u32| {
        let mut b = bytes.clone();
        offset(&mut b, row, Some(value));
        open_err(&b)
    };
    assert!(matches!(
        with(0, 1),
        AnnError::Row {
            point: 0,
            bit: 1,
            ..
        }
    ));
    assert!(matches!(
        with(40, a.bits - 1),
        AnnError::Row { point: 40, .. }
    ));
    // Row 5 starting after row 6: row 5 cannot decode to its end.
    let mut b = bytes.clone();
    let seventh = offset(&mut b, 7, None);
    assert!(matches!(
        with(6, seventh + 1),
        AnnError::Row { point: 5, .. }
    ));
    // One bit later or earlier: the rows around it no longer end where
    // the next starts.
    let mut b = bytes.clone();
    let sixth = offset(&mut b, 6, None);
    for moved in [sixth - 1, sixth + 1] {
        assert!(matches!(with(6, moved), AnnError::Row { point: 5 | 6, .. }));
    }
}

/// Sets bit `bit` of [`section`]'s codes to `one`.
fn put_code_bit(bytes: &mut [u8], bit: usize, one: bool) {
    let a = at();
    let byte = &mut bytes[a.codes + bit / 8];
    if one {
        *byte |= 1 << (bit % 8);
    } else {
        *byte &= !(1 << (bit % 8));
    }
}

#[test]
fn codes_that_do_not_decode_are_refused() {
    let bytes = section();
    // A run of zeros too long for any code, from row 3's first code.
    let mut b = bytes.clone();
    let start = offset(&mut b, 3, None) as usize + 5;
    for bit in start..start + coded::MAX_CODE as usize / 2 + 2 {
        put_code_bit(&mut b, bit, false);
    }
    assert!(matches!(open_err(&b), AnnError::Row { point: 3, .. }));
    // Row 0's parameter k at its largest: its first code takes more bits
    // than the row has.
    let mut b = bytes.clone();
    for bit in 0..5 {
        put_code_bit(&mut b, bit, true);
    }
    assert!(matches!(open_err(&b), AnnError::Row { point: 0, .. }));
    // Every bit of row 9 set: k = 31 and codes of 2^31 - 1, past n.
    let mut b = bytes.clone();
    let (start, end) = (offset(&mut b, 9, None), offset(&mut b, 10, None));
    for bit in start..end {
        put_code_bit(&mut b, bit as usize, true);
    }
    assert!(matches!(open_err(&b), AnnError::Row { point: 9, .. }));
}

#[test]
fn rows_longer_than_the_degree_are_refused() {
    let mut bytes = section();
    put(&mut bytes, 28, 5);
    assert!(matches!(
        open_err(&bytes),
        AnnError::Row {
            point: 0,
            why: "more links than the header's degree",
            ..
        }
    ));
}

#[test]
fn strides_and_bits_that_disagree_with_the_length_are_refused() {
    let bytes = section();
    let bits = at().bits;
    for (at, word) in [
        (32, bits + 64),
        (32, bits - 64),
        (32, u32::MAX),
        (40, 1),
        (40, 9),
        (40, u32::MAX),
    ] {
        let mut b = bytes.clone();
        put(&mut b, at, word);
        assert!(
            matches!(open_err(&b), AnnError::Length { .. }),
            "{at} {word}"
        );
    }
}

#[test]
fn rows_of_every_width_round_trip() {
    // Widths 1 to 9 bits, strides 0 to 5, rows full, short, empty and with
    // repeats; on layer 0 (coded, increasing, repeats once) and on an upper
    // layer of every point (fixed stride, as written).
    for size in [1usize, 2, 3, 4, 7, 8, 100, 255, 256, 300] {
        for stride in 0..6usize {
            let mut g = graph(size, 0, 1);
            g.layers.clear();
            g.products = (0..size as u32).collect();
            g.zero = (0..size)
                .map(|p| {
                    (0..(p * 7 + stride) % (stride + 1))
                        .map(|j| ((p * 31 + j * 17) % size) as u32)
                        .collect()
                })
                .collect();
            g.layers = vec![g.zero.clone()];
            g.entry = 0;
            let bytes = write_ann(&g).expect("writes");
            let index = AnnIndex::open(bytes.as_slice()).expect("opens");
            for (p, row) in g.zero.iter().enumerate() {
                let found: Vec<u32> = index.upper[0].links(&bytes, p as u32).collect();
                assert_eq!(&found, row, "size {size} stride {stride} node {p}");
                let mut sorted = row.clone();
                sorted.sort_unstable();
                sorted.dedup();
                let found: Vec<u32> = index.zero.links(&bytes, p as u32).collect();
                assert_eq!(found, sorted, "size {size} stride {stride} point {p}");
            }
            assert_eq!(index.zero.links(&bytes, size as u32).count(), 0);
            assert_eq!(index.upper[0].links(&bytes, size as u32).count(), 0);
        }
    }
}

#[test]
fn the_writer_refuses_links_off_their_layer() {
    let mut g = graph(10, 3, 2);
    g.zero[4][1] = 10;
    assert!(matches!(
        write_ann(&g),
        Err(AnnError::Link {
            layer: 0,
            node: 4,
            slot: 1,
            neighbour: 10,
            ..
        })
    ));
    let mut g = graph(10, 3, 2);
    g.layers[0][1][0] = 2;
    assert!(matches!(
        write_ann(&g),
        Err(AnnError::Link { layer: 1, .. })
    ));
}

#[test]
fn members_must_be_distinct_products() {
    let bytes = section();
    let a = at();
    // Node 1 names node 0's product (39).
    let mut b = bytes.clone();
    put(&mut b, a.members + 4, 39);
    assert_eq!(
        open_err(&b),
        AnnError::Member {
            node: 1,
            product: 39,
            at: a.members + 4,
            points: 40
        }
    );
    let mut b = bytes.clone();
    put(&mut b, a.members + 4 * 4, 40);
    assert!(matches!(
        open_err(&b),
        AnnError::Member {
            node: 4,
            product: 40,
            ..
        }
    ));
}

#[test]
fn products_must_be_a_permutation() {
    let mut g = graph(10, 3, 2);
    g.products[0] = 1;
    assert_eq!(
        write_ann(&g),
        Err(AnnError::Products {
            point: 8,
            product: 1,
            points: 10
        })
    );
    g.products[0] = 10;
    assert!(matches!(
        write_ann(&g),
        Err(AnnError::Products {
            point: 0,
            product: 10,
            ..
        })
    ));
    g.products.pop();
    assert!(matches!(
        write_ann(&g),
        Err(AnnError::Mismatch {
            got: 9,
            expected: 10,
            ..
        })
    ));
}

#[test]
fn scales_must_be_finite_and_non_negative() {
    let bytes = section();
    let a = at();
    for bad in [f32::NAN, f32::INFINITY, -1.0] {
        let mut b = bytes.clone();
        put(&mut b, a.vectors + 36 * 2 + 32, bad.to_bits());
        assert!(matches!(open_err(&b), AnnError::Scale { point: 2, .. }));
    }
}

#[test]
fn queries_of_any_scale_do_not_panic() {
    let index = AnnIndex::open(section()).expect("opens");
    for scale in [0.0, f32::NAN, f32::INFINITY, -f32::INFINITY, f32::MAX] {
        let q = Quantized {
            q: [127; DIM],
            scale,
        };
        assert!(index.search(&q, 10).len() <= 16);
    }
}

#[test]
fn searches_inside_a_search_still_answer() {
    let index = AnnIndex::open(section()).expect("opens");
    let q = vectors(1, 3)[0];
    let outer = index.search(&q, 5);
    // The thread's scratch is taken: the inner search makes its own.
    let inner = search::hold_scratch(|| index.search(&q, 5));
    assert_eq!(outer, inner);
}

#[test]
fn stamps_that_wrap_are_cleared() {
    let index = AnnIndex::open(section()).expect("opens");
    let q = vectors(1, 3)[0];
    let before = index.search(&q, 10);
    for generation in [u16::MAX - 1, u16::MAX] {
        search::set_generation(generation);
        assert_eq!(index.search(&q, 10), before, "from generation {generation}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any byte changed or any cut: `open` refuses it, or what it opens
    /// searches without panicking.
    #[test]
    fn damaged_sections_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = section();
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x.max(1);
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Ok(index) = AnnIndex::open(bytes.as_slice()) {
            for q in vectors(3, 11) {
                let hits = index.search_ef(&q, 10, 20);
                prop_assert!(hits.len() <= 10);
                prop_assert!(hits.iter().all(|&(p, _)| (p as usize) < index.len()));
            }
            for p in 0..41 {
                let _ = index.vector(p);
            }
        }
    }
}
