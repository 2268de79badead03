//! The region scanner against lol_html reading every byte, on thousands
//! of generated documents (the `rewrite_regions` fuzz target's check, on
//! inputs from a fixed pseudo-random sequence rather than a fuzzer's).

use firstpaint_fuzz::rewrite_regions;

/// xorshift64: the same documents on every run.
fn bytes(state: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            (*state >> 24) as u8
        })
        .collect()
}

#[test]
fn generated_documents_rewrite_the_same_with_and_without_regions() {
    let mut state = 0x9e37_79b9_7f4a_7c15;
    for i in 0..3_000 {
        let input = bytes(&mut state, 8 + i % 400);
        rewrite_regions(&input);
    }
}
