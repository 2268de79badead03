//! Properties of bundle verification:
//!
//! 1. What is written opens again with the same header and sections.
//! 2. Changing any single byte makes opening fail.
//! 3. A wrong key, a flipped content byte, truncation and expiry each give
//!    their own error.
//! 4. Sections are 8-byte aligned and a missing section is named.
//! 5. Digests computed by the caller over `section_ranges` open the same
//!    bundle; a wrong one is refused naming the section.
//! 6. A format-1 bundle (golden file written by the previous release) is
//!    refused with the "rebuild" message.
//! 7. Any truncation is refused; so is a bundle damaged in several places,
//!    and random bytes behind a real magic.
//! 8. The head's digest and the sections' pin every byte: what the edge
//!    checks when a release names the head digest (one pass, not two).

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use firstpaint_bundle::{
    head_len, head_range, head_sha256, section_ranges, sha256, Bundle, BundleError, BundleWriter,
    Inputs, SigningKey, Tag, HEADER_BYTES,
};
use proptest::prelude::*;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn inputs() -> Inputs {
    Inputs {
        bundle_version: 42,
        created_at: 1_000,
        expires_at: 2_000,
        catalog_sha256: [1; 32],
        events_sha256: [2; 32],
        rules_sha256: [3; 32],
    }
}

fn sample() -> Vec<u8> {
    let mut w = BundleWriter::new(inputs());
    w.add(Tag(*b"AAAA"), b"first section".to_vec()).unwrap();
    w.add(Tag(*b"BBBB"), vec![9; 1000]).unwrap();
    w.add(Tag(*b"EMPT"), Vec::new()).unwrap();
    w.finish(&key(1))
}

#[test]
fn round_trip_keeps_header_and_sections() {
    let bytes = sample();
    let b = Bundle::open(&bytes[..], &key(1).verifying_key(), 1_500).unwrap();
    assert_eq!(b.header().bundle_version, 42);
    assert_eq!(b.header().catalog_sha256, [1; 32]);
    assert_eq!(b.section(Tag(*b"AAAA")).unwrap(), b"first section");
    assert_eq!(b.section(Tag(*b"BBBB")).unwrap(), &[9; 1000][..]);
    assert_eq!(b.section(Tag(*b"EMPT")).unwrap(), b"");
    assert_eq!(
        b.section(Tag(*b"NONE")),
        Err(BundleError::MissingSection(Tag(*b"NONE")))
    );
    assert_eq!(bytes.len() % 8, 0, "sections end aligned");
    for tag in [*b"AAAA", *b"BBBB", *b"EMPT"] {
        assert_eq!(b.section_range(Tag(tag)).unwrap().start % 8, 0);
    }
}

#[test]
fn digests_from_the_caller_open_the_same_bundle() {
    let bytes = sample();
    let good = key(1).verifying_key();
    let digests: Vec<[u8; 32]> = section_ranges(&bytes)
        .unwrap()
        .into_iter()
        .map(|r| sha256(&bytes[r]))
        .collect();
    assert_eq!(digests.len(), 3);
    let b = Bundle::open_with_digests(&bytes[..], &good, 1_500, &digests).unwrap();
    assert_eq!(b.section(Tag(*b"AAAA")).unwrap(), b"first section");

    let mut wrong = digests.clone();
    wrong[1][0] ^= 1;
    let err = Bundle::open_with_digests(&bytes[..], &good, 1_500, &wrong).unwrap_err();
    assert!(
        matches!(err, BundleError::SectionDigest { tag: Tag(t), .. } if &t == b"BBBB"),
        "{err}"
    );
    let err = Bundle::open_with_digests(&bytes[..], &good, 1_500, &digests[..2]).unwrap_err();
    assert!(matches!(err, BundleError::SectionDigest { .. }), "{err}");
}

/// What the edge does when the release names the head's digest: the head
/// against it, then each section against the signed table.
fn opens_as_named(bytes: &[u8], head: &[u8; 32]) -> bool {
    let digests: Vec<[u8; 32]> = match section_ranges(bytes) {
        Ok(ranges) => ranges.into_iter().map(|r| sha256(&bytes[r])).collect(),
        Err(_) => return false,
    };
    head_sha256(bytes).as_ref() == Ok(head)
        && Bundle::open_with_digests(bytes, &key(1).verifying_key(), 1_500, &digests).is_ok()
}

#[test]
fn the_head_is_everything_before_the_first_section() {
    let bytes = sample();
    let head = head_range(&bytes).unwrap();
    assert_eq!(head.start, 0);
    assert_eq!(head.end, section_ranges(&bytes).unwrap()[0].start);
    assert_eq!(head_sha256(&bytes).unwrap(), sha256(&bytes[head.clone()]));
    // From the fixed header alone, as the edge reads it before copying.
    assert_eq!(head_len(&bytes[..HEADER_BYTES]).unwrap(), head.end);
    assert!(head_len(b"not a bundle").is_err());
    assert!(opens_as_named(&bytes, &head_sha256(&bytes).unwrap()));
    // Another bundle signed by the same key has another head.
    let mut w = BundleWriter::new(inputs());
    w.add(Tag(*b"AAAA"), b"other section".to_vec()).unwrap();
    let other = w.finish(&key(1));
    assert!(!opens_as_named(&other, &head_sha256(&bytes).unwrap()));
    assert!(matches!(
        head_sha256(b"FPB"),
        Err(BundleError::Truncated { got: 3, .. })
    ));
}

#[test]
fn a_format_1_bundle_is_refused_with_the_rebuild_message() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/format1.fpb");
    let bytes = std::fs::read(path).unwrap();
    let err = Bundle::open(&bytes[..], &key(1).verifying_key(), 1_500).unwrap_err();
    assert_eq!(
        err,
        BundleError::UnsupportedVersion {
            got: 1,
            supported: 2
        }
    );
    assert!(err.to_string().contains("rebuild the bundle"), "{err}");
}

#[test]
fn each_failure_has_its_own_error() {
    let bytes = sample();
    let good = key(1).verifying_key();

    let wrong = Bundle::open(&bytes[..], &key(2).verifying_key(), 1_500).unwrap_err();
    assert!(matches!(wrong, BundleError::WrongKey { .. }), "{wrong}");

    let mut flipped = bytes.clone();
    flipped[200] ^= 0x01; // in the signed table
    let err = Bundle::open(&flipped[..], &good, 1_500).unwrap_err();
    assert_eq!(err, BundleError::BadSignature);

    let mut flipped = bytes.clone();
    let at = Bundle::open(&bytes[..], &good, 1_500)
        .unwrap()
        .section_range(Tag(*b"BBBB"))
        .unwrap()
        .start;
    flipped[at + 10] ^= 0x01; // inside a section
    let err = Bundle::open(&flipped[..], &good, 1_500).unwrap_err();
    assert!(
        matches!(err, BundleError::SectionDigest { tag: Tag(t), .. } if &t == b"BBBB"),
        "{err}"
    );

    let mut padded = bytes.clone();
    let end = Bundle::open(&bytes[..], &good, 1_500)
        .unwrap()
        .section_range(Tag(*b"AAAA"))
        .unwrap()
        .end;
    padded[end] = 1; // the padding after AAAA's 13 bytes
    let err = Bundle::open(&padded[..], &good, 1_500).unwrap_err();
    assert!(matches!(err, BundleError::Padding { .. }), "{err}");

    let err = Bundle::open(&bytes[..bytes.len() - 10], &good, 1_500).unwrap_err();
    assert!(matches!(err, BundleError::Truncated { .. }), "{err}");

    let err = Bundle::open(&bytes[..], &good, 2_001).unwrap_err();
    assert_eq!(
        err,
        BundleError::Expired {
            expires_at: 2_000,
            now: 2_001
        }
    );

    let err = Bundle::open(&b"not a bundle at all"[..], &good, 1_500).unwrap_err();
    assert!(matches!(err, BundleError::Truncated { .. }), "{err}");
    let mut not_magic = bytes.clone();
    not_magic[0] = b'X';
    assert_eq!(
        Bundle::open(&not_magic[..], &good, 1_500).unwrap_err(),
        BundleError::BadMagic
    );
}

#[test]
fn duplicate_sections_are_refused() {
    let mut w = BundleWriter::new(inputs());
    w.add(Tag(*b"AAAA"), vec![1]).unwrap();
    assert_eq!(
        w.add(Tag(*b"AAAA"), vec![2]),
        Err(BundleError::DuplicateSection(Tag(*b"AAAA")))
    );
}

proptest! {
    #[test]
    fn any_single_byte_change_is_rejected(pos in 0usize..10_000, mask in 1u8..=255) {
        let bytes = sample();
        let mut changed = bytes.clone();
        let pos = pos % changed.len();
        changed[pos] ^= mask;
        prop_assert!(Bundle::open(&changed[..], &key(1).verifying_key(), 1_500).is_err());
    }

    #[test]
    fn any_single_byte_change_changes_the_head_or_a_section(pos in 0usize..10_000, mask in 1u8..=255) {
        let bytes = sample();
        let head = head_sha256(&bytes).unwrap();
        let mut changed = bytes.clone();
        let pos = pos % changed.len();
        changed[pos] ^= mask;
        prop_assert!(!opens_as_named(&changed, &head));
    }

    #[test]
    fn any_truncation_is_rejected(cut in 1usize..10_000) {
        let bytes = sample();
        let keep = bytes.len() - 1 - cut % bytes.len();
        prop_assert!(Bundle::open(&bytes[..keep], &key(1).verifying_key(), 1_500).is_err());
    }

    #[test]
    fn arbitrary_sections_round_trip(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6)) {
        let mut w = BundleWriter::new(inputs());
        for (i, p) in payloads.iter().enumerate() {
            w.add(Tag([b'S', b'0', b'0', b'0' + i as u8]), p.clone()).unwrap();
        }
        let bytes = w.finish(&key(3));
        let b = Bundle::open(&bytes[..], &key(3).verifying_key(), 0).unwrap();
        for (i, p) in payloads.iter().enumerate() {
            prop_assert_eq!(b.section(Tag([b'S', b'0', b'0', b'0' + i as u8])).unwrap(), &p[..]);
        }
    }

    /// A real bundle damaged in several places (header, section table,
    /// padding or sections), then cut or extended, reaches every check
    /// behind the magic, and is refused: nothing but the bytes written
    /// opens.
    #[test]
    fn damaged_bundles_are_refused(
        edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..16),
        end in proptest::option::of((any::<u16>(), proptest::collection::vec(any::<u8>(), 0..64))),
    ) {
        let original = sample();
        let mut bytes = original.clone();
        for &(at, byte) in &edits {
            let at = at as usize % bytes.len();
            bytes[at] = byte;
        }
        if let Some((cut, tail)) = end {
            bytes.truncate(cut as usize % (bytes.len() + 1));
            bytes.extend(tail);
        }
        let opened = Bundle::open(&bytes[..], &key(1).verifying_key(), 1_500);
        prop_assert_eq!(opened.is_ok(), bytes == original);
    }

    /// Random bytes behind the real magic, format version and flags, with a
    /// section count of 0-7 and the true length written in, go on to the
    /// key, signature and table checks, and are refused.
    #[test]
    fn garbage_after_the_magic_is_refused(
        sections in 0u32..8,
        tail in proptest::collection::vec(any::<u8>(), 12..2_000),
    ) {
        let mut bytes = sample()[..12].to_vec();
        bytes.extend(tail);
        let len = bytes.len() as u64;
        bytes[12..16].copy_from_slice(&sections.to_le_bytes());
        bytes[16..24].copy_from_slice(&len.to_le_bytes());
        prop_assert!(Bundle::open(&bytes[..], &key(1).verifying_key(), 1_500).is_err());
    }
}
