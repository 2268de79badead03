//! Short strings compressed with a static symbol table (FSST: Boncz,
//! Neumann and Leis, "FSST: Fast Random Access String Compression", VLDB
//! 2020). Each byte of a compressed string is the code of a symbol of one
//! to eight bytes from a table of at most 255, or 255 (escape) followed by
//! one literal byte. Titles and image paths share most of their bytes with
//! their neighbours (brand and product-type words, path prefixes), which a
//! table of 255 symbols captures: they shrink 2-3x and any one string is
//! decoded alone, in place.
//!
//! The table is trained and the strings compressed at the origin with
//! `fsst-rs`; decoding is here, in a few lines of safe code that read every
//! byte through `get` (a damaged string decodes to something short, never
//! a panic).
//!
//! Table block: `n u8 | 0 u8 x 7 | n x (symbol [u8; 8], zero padded) | n x
//! length u8`.

use std::borrow::Cow;

use super::columns::Strings;

/// The code that says "a literal byte follows".
const ESCAPE: u8 = 255;

/// The symbol table, decoded at open (at most 2 KB).
#[derive(Debug, Clone)]
pub struct SymbolTable {
    symbols: Vec<[u8; 8]>,
    lengths: Vec<u8>,
}

impl SymbolTable {
    /// The table in a block's `bytes`; `None` when it is cut off or a
    /// symbol's length is outside 1..=8 (a count byte cannot exceed 255).
    pub fn open(bytes: &[u8]) -> Option<Self> {
        let n = usize::from(*bytes.first()?);
        let symbols_end = 8 + 8 * n;
        let symbols = bytes
            .get(8..symbols_end)?
            .chunks_exact(8)
            .filter_map(|s| s.try_into().ok())
            .collect();
        let lengths = bytes.get(symbols_end..symbols_end + n)?.to_vec();
        lengths
            .iter()
            .all(|l| (1..=8).contains(l))
            .then_some(Self { symbols, lengths })
    }

    /// Appends the bytes `codes` stand for to `out`. A code the table does
    /// not have, or an escape with nothing after it, stands for nothing.
    pub fn decode_into(&self, codes: &[u8], out: &mut Vec<u8>) {
        let mut at = 0;
        while let Some(&code) = codes.get(at) {
            if code == ESCAPE {
                out.extend(codes.get(at + 1));
                at += 2;
            } else {
                let i = usize::from(code);
                if let (Some(symbol), Some(&len)) = (self.symbols.get(i), self.lengths.get(i)) {
                    out.extend_from_slice(symbol.get(..usize::from(len)).unwrap_or_default());
                }
                at += 1;
            }
        }
    }
}

/// Strings compressed with one [`SymbolTable`]: a table block, then
/// [`Strings`] of codes.
#[derive(Debug, Clone)]
pub struct CompressedStrings {
    table: SymbolTable,
    codes: Strings,
}

impl CompressedStrings {
    /// The strings of `codes`, decoded with `table`.
    pub fn new(table: SymbolTable, codes: Strings) -> Self {
        Self { table, codes }
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// String `i`'s codes, as stored.
    pub fn codes_of(&self, i: usize) -> &[u8] {
        self.codes.bytes(i)
    }

    /// String `i` (empty past the end or when it does not decode to
    /// UTF-8).
    pub fn get(&self, i: usize) -> Cow<'_, str> {
        let codes = self.codes_of(i);
        if codes.is_empty() {
            return Cow::Borrowed("");
        }
        let mut out = Vec::with_capacity(codes.len() * 3);
        self.table.decode_into(codes, &mut out);
        Cow::Owned(String::from_utf8(out).unwrap_or_default())
    }
}

#[cfg(feature = "build")]
/// Trains a table on `strings` and compresses each with it (the origin's
/// side): the table block, then each string's codes.
pub fn compress(strings: &[&str]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let sample: Vec<&[u8]> = strings
        .iter()
        .map(|s| s.as_bytes())
        .filter(|s| !s.is_empty())
        .collect();
    let compressor = fsst::Compressor::train(&sample);
    let n = compressor.n_symbols().min(usize::from(ESCAPE));
    let mut table = vec![n as u8, 0, 0, 0, 0, 0, 0, 0];
    for symbol in compressor.symbol_table().iter().take(n) {
        table.extend_from_slice(&symbol.to_u64().to_le_bytes());
    }
    table.extend(compressor.symbol_lengths().iter().take(n));
    let codes = strings
        .iter()
        .map(|s| compressor.compress(s.as_bytes()))
        .collect();
    (table, codes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn decode(table: &SymbolTable, codes: &[u8]) -> String {
        let mut out = Vec::new();
        table.decode_into(codes, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_come_back_and_shrink() {
        let titles: Vec<String> = (0..300)
            .map(|i| format!("Novaphone Everyday Phone {i}, Pink — ünïcode"))
            .collect();
        let refs: Vec<&str> = titles.iter().map(String::as_str).chain([""]).collect();
        let (table, codes) = compress(&refs);
        let table = SymbolTable::open(&table).unwrap();
        for (s, c) in refs.iter().zip(&codes) {
            assert_eq!(&decode(&table, c), s);
        }
        let (plain, packed): (usize, usize) = (
            refs.iter().map(|s| s.len()).sum(),
            codes.iter().map(Vec::len).sum(),
        );
        assert!(packed * 2 < plain, "{packed} vs {plain}");
    }

    #[test]
    fn damaged_tables_are_refused_and_damaged_codes_decode_short() {
        let (table, codes) = compress(&["hello world", "hello there"]);
        for cut in 0..table.len() {
            assert!(SymbolTable::open(&table[..cut]).is_none(), "cut at {cut}");
        }
        let mut bad_len = table.clone();
        let n = usize::from(table[0]);
        if n > 0 {
            bad_len[8 + 8 * n] = 9;
            assert!(SymbolTable::open(&bad_len).is_none());
        }
        let t = SymbolTable::open(&table).unwrap();
        let mut out = Vec::new();
        t.decode_into(&[ESCAPE], &mut out);
        t.decode_into(&[254, 253], &mut out);
        assert!(out.len() <= 16);
        assert_eq!(decode(&t, &codes[0]), "hello world");
    }
}
