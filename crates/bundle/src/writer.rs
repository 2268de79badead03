//! Assembling and signing a bundle: the signature covers the header and
//! the section table, whose SHA-256 digests cover the sections.

use ed25519_dalek::{Signer, SigningKey};

use crate::error::BundleError;
use crate::format::{
    align, Entry, Header, Tag, ENTRY_LEN, FORMAT_VERSION, HEADER_LEN, SIGNATURE_LEN,
};
use crate::keys::key_id;

/// What the header records about the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The bundle version shown at the edge (e.g. build time in seconds).
    pub bundle_version: u64,
    /// Build time, unix seconds.
    pub created_at: i64,
    /// Expiry, unix seconds.
    pub expires_at: i64,
    /// SHA-256 of the catalog file.
    pub catalog_sha256: [u8; 32],
    /// SHA-256 of the events file.
    pub events_sha256: [u8; 32],
    /// SHA-256 of the rules file.
    pub rules_sha256: [u8; 32],
}

/// Collects sections, then lays them out and signs the whole.
#[derive(Debug)]
pub struct BundleWriter {
    inputs: Inputs,
    sections: Vec<(Tag, Vec<u8>)>,
}

impl BundleWriter {
    /// A writer for a bundle described by `inputs`.
    pub fn new(inputs: Inputs) -> Self {
        Self {
            inputs,
            sections: Vec::new(),
        }
    }

    /// Adds a section; each tag may appear once.
    pub fn add(&mut self, tag: Tag, payload: Vec<u8>) -> Result<(), BundleError> {
        if self.sections.iter().any(|(t, _)| *t == tag) {
            return Err(BundleError::DuplicateSection(tag));
        }
        self.sections.push((tag, payload));
        Ok(())
    }

    /// Lays out header and table, signs them, then appends the aligned
    /// sections the table's digests name.
    pub fn finish(self, key: &SigningKey) -> Vec<u8> {
        let signature_at = align(HEADER_LEN + ENTRY_LEN * self.sections.len());
        let mut offset = signature_at + SIGNATURE_LEN;
        let mut entries = Vec::with_capacity(self.sections.len());
        for (tag, payload) in &self.sections {
            entries.push(Entry {
                tag: *tag,
                flags: 0,
                offset: offset as u64,
                len: payload.len() as u64,
                sha256: crate::sha256(payload),
            });
            offset = align(offset + payload.len());
        }
        let header = Header {
            format_version: FORMAT_VERSION,
            flags: 0,
            total_len: offset as u64,
            bundle_version: self.inputs.bundle_version,
            created_at: self.inputs.created_at,
            expires_at: self.inputs.expires_at,
            catalog_sha256: self.inputs.catalog_sha256,
            events_sha256: self.inputs.events_sha256,
            rules_sha256: self.inputs.rules_sha256,
            key_id: key_id(&key.verifying_key()),
        };
        let mut out = Vec::with_capacity(offset);
        header.write(self.sections.len() as u32, &mut out);
        for entry in &entries {
            entry.write(&mut out);
        }
        out.resize(signature_at, 0);
        let signature = key.sign(&out);
        out.extend_from_slice(&signature.to_bytes());
        for (_, payload) in &self.sections {
            out.resize(align(out.len()), 0);
            out.extend_from_slice(payload);
        }
        out.resize(align(out.len()), 0);
        out
    }
}
