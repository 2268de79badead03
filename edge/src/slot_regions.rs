//! Which bytes of a page the slot rewriter has to see.
//!
//! lol_html reads every byte it is given, lexing every tag's attributes
//! because the rewriter's selectors are attribute selectors: ~0.4 ms
//! natively for a 100 KB page, about twice that in wasm, while what it
//! rewrites is a handful of elements carrying `data-p13n-*` attributes.
//! [`SlotRegions`] walks the page from `<` to `<` (memchr), parsing tags
//! only as far as the tokenizer needs to know where they end, and splits
//! the page into spans routed two ways:
//!
//! - [`Route::Pass`]: bytes no selector can match, copied out as they came;
//! - [`Route::Rewrite`]: a region that starts at an element with a
//!   `data-p13n-` attribute and ends when everything opened in it has
//!   closed; lol_html sees the regions, in page order, as one document;
//! - [`Route::Context`]: around each region, the start tags of the
//!   elements open there (and after it, their end tags), which lol_html
//!   reads and the rewriter does not write out, so that lol_html's stack
//!   of open elements is the one it would have had reading every byte:
//!   an end tag in a slot that closes an element opened outside it (a
//!   merchant's missing `</div>`) closes the slot just the same.
//!
//! What decides whether a `<` starts a tag is tracked exactly as lol_html
//! tracks it (the HTML tokenizer's states, and lol_html's own simulation
//! of the tree builder: `lol_html/src/parser/tree_builder_simulator`):
//! comments, doctypes and bogus comments; the raw text of `<script>` (with
//! its escaped and double-escaped states), `<style>`, `<textarea>`,
//! `<title>` and the other text elements; and `<plaintext>`. `<svg>` and
//! `<math>` change how their inside is read (foreign content, CDATA,
//! integration points) and are handed to lol_html whole, as regions of
//! their own. A start tag longer than [`MAX_HELD_TAG_BYTES`] hands the
//! rest of the page to lol_html: slower, never different. (The rewriter
//! runs lol_html in non-strict mode, so no `<select>` or `<frameset>`
//! state of its own needs mirroring.)
//!
//! The scanner keeps lol_html's stack of open elements itself (names only:
//! void elements popped at once, self-closing ones in foreign content
//! never pushed, an end tag popping the innermost element of its name and
//! all inside it), so a region never ends while lol_html is still inside
//! an element it opened, and what it replaces the content of is never cut
//! short. `tests/rewrite.rs` and the `rewrite_regions` fuzz target check
//! the output against lol_html reading every byte.

use std::ops::Range;

use memchr::{memchr, memchr2, memchr3};

/// Elements open at once past which the rest of the page goes to lol_html
/// (their start tags are repeated to it around every region).
pub const MAX_OPEN_ELEMENTS: usize = 256;

/// A start tag cut by the end of a chunk is held back until its `>` comes
/// (it may start a region). Past this many bytes, the rest of the page
/// goes to lol_html instead.
pub const MAX_HELD_TAG_BYTES: usize = 64 << 10;

/// Where a span of the page goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Out as it came: nothing in it can be rewritten.
    Pass,
    /// Through the rewriter.
    Rewrite,
    /// Not the page's: tags for the rewriter to read and not write (the
    /// elements open around a region, see [`SlotRegions`]).
    Context,
}

/// How the tokenizer is reading text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    /// Markup.
    Data,
    /// RAWTEXT or RCDATA: text until the end tag of the element named.
    Raw(&'static [u8]),
    /// `<script>`'s text.
    Script(Escape),
    /// Inside `<!--`, until `-->` or `--!>`.
    Comment,
    /// A doctype, `<!…>`, `<?…>` or `</…>` that is not a tag: until `>`.
    Bogus,
    /// `<![CDATA[` in foreign content, until `]]>`.
    Cdata,
    /// After `<plaintext>`: text to the end.
    Plain,
}

/// The states of script data that change what ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// Plain script data.
    None,
    /// After `<!--`: `-->` leaves, `</script>` ends, `<script>` nests.
    Escaped,
    /// After `<script>` inside an escape: `</script>` is text.
    DoubleEscaped,
}

/// The namespaces lol_html's tree builder simulation tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Html,
    Svg,
    MathMl,
}

/// What ends the current region.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Root {
    /// Every element opened in the region closed (lol_html's stack of
    /// open elements back to `low`: as deep as it was when the region
    /// began, or shallower if the region closed elements opened before
    /// it), with the tokenizer back in HTML.
    Element { low: usize },
    /// Nothing: the rest of the page.
    Rest,
}

/// What [`SlotRegions`] does with the bytes it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    Pass,
    Region(Root),
    /// After `<plaintext>` outside a region: the rest is text.
    PassRest,
}

/// The longest tag name the tokenizer knows (`annotation-xml`) fits.
const KNOWN_NAME_BYTES: usize = 16;

/// A tag's parts, as the scanner read them.
struct Tag {
    /// The name as written.
    name_at: Range<usize>,
    /// The name lowercased, when short enough to be one lol_html knows.
    lower: [u8; KNOWN_NAME_BYTES],
    lower_len: usize,
    self_closing: bool,
    /// Some attribute's name starts with `data-p13n-`.
    marked: bool,
    /// `font` with `color`, `size` or `face`; `annotation-xml` with an
    /// HTML `encoding` (what lol_html asks of attributes in foreign content).
    leaves_foreign: bool,
    enters_html: bool,
    /// Offset just past the `>`.
    end: usize,
}

/// Splits a streaming page into spans to pass and spans to rewrite.
#[derive(Debug)]
pub struct SlotRegions {
    mode: Mode,
    text: Text,
    ns: Vec<Ns>,
    /// lol_html's stack of open elements, as it would be reading every byte.
    open: OpenElements,
    /// Bytes not yet scanned to the end: a token cut by the chunk end.
    carry: Vec<u8>,
    /// How many leading bytes of `carry` were already routed.
    carry_routed: usize,
}

impl Default for SlotRegions {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a scan stopped before the end of its bytes.
struct Cut {
    /// Where scanning resumes (the start of the cut token).
    from: usize,
    /// Whether the bytes from `from` must wait (a start tag that may open a
    /// region) rather than take the current route.
    hold: bool,
}

/// Routes spans of one scan's bytes to the sink, in order.
struct Emitter<'d, S> {
    data: &'d [u8],
    /// How many of `data`'s bytes were routed.
    routed: usize,
    sink: S,
}

impl<S: FnMut(Route, &[u8])> Emitter<'_, S> {
    /// Routes the bytes not yet routed, up to `to`.
    fn emit(&mut self, to: usize, route: Route) {
        if to > self.routed {
            if let Some(bytes) = self.data.get(self.routed..to) {
                (self.sink)(route, bytes);
            }
            self.routed = to;
        }
    }
}

impl SlotRegions {
    /// A scanner at the start of a page.
    pub fn new() -> Self {
        Self {
            mode: Mode::Pass,
            text: Text::Data,
            ns: vec![Ns::Html],
            open: OpenElements::default(),
            carry: Vec::new(),
            carry_routed: 0,
        }
    }

    /// Routes `chunk` (after whatever was held back from the chunks before
    /// it) to `sink`, in page order.
    pub fn feed(&mut self, chunk: &[u8], sink: &mut impl FnMut(Route, &[u8])) {
        if self.carry.is_empty() {
            self.scan(chunk, 0, sink);
        } else {
            let mut data = std::mem::take(&mut self.carry);
            data.extend_from_slice(chunk);
            let routed = std::mem::take(&mut self.carry_routed);
            self.scan(&data, routed, sink);
        }
    }

    /// The page ended: routes what was held back.
    pub fn finish(&mut self, sink: &mut impl FnMut(Route, &[u8])) {
        let carry = std::mem::take(&mut self.carry);
        let routed = std::mem::take(&mut self.carry_routed);
        if let Some(rest) = carry.get(routed..).filter(|r| !r.is_empty()) {
            // A start tag the page never closed matches no selector.
            let route = match self.mode {
                Mode::Region(_) => Route::Rewrite,
                Mode::Pass | Mode::PassRest => Route::Pass,
            };
            sink(route, rest);
        }
    }

    /// The route of the bytes the scanner is in.
    fn route(&self) -> Route {
        match self.mode {
            Mode::Region(_) => Route::Rewrite,
            Mode::Pass | Mode::PassRest => Route::Pass,
        }
    }

    /// Scans `data`, whose first `routed` bytes were routed already.
    fn scan(&mut self, data: &[u8], routed: usize, sink: &mut impl FnMut(Route, &[u8])) {
        let mut out = Emitter { data, routed, sink };
        let mut pos = 0;
        let cut = loop {
            if matches!(self.mode, Mode::PassRest | Mode::Region(Root::Rest)) {
                break None;
            }
            match self.step(data, pos) {
                Step::Next(next) => pos = next,
                Step::Enter(start, next) => {
                    out.emit(start, Route::Pass);
                    let Mode::Region(Root::Element { low }) = self.mode else {
                        break None;
                    };
                    self.open_around(low, &mut out);
                    pos = next;
                }
                Step::End => break None,
                Step::Cut(cut) => break Some(cut),
            }
            if self.region_closed() {
                out.emit(pos, Route::Rewrite);
                self.close_around(&mut out);
                self.mode = Mode::Pass;
            } else if self.mode == Mode::Pass && self.open.len() >= MAX_OPEN_ELEMENTS {
                // Too deep to repeat around every region: lol_html reads on.
                out.emit(pos, Route::Pass);
                self.rest(&mut out);
            }
        };
        let route = self.route();
        match cut {
            None => out.emit(data.len(), route),
            Some(Cut { from, hold }) => {
                let hold = hold && route == Route::Pass;
                if hold && data.len() - from > MAX_HELD_TAG_BYTES {
                    // Too long to hold: lol_html reads on from here.
                    out.emit(from, Route::Pass);
                    self.rest(&mut out);
                    out.emit(data.len(), Route::Rewrite);
                    return;
                }
                out.emit(if hold { from } else { data.len() }, route);
                self.carry = data.get(from..).unwrap_or_default().to_vec();
                self.carry_routed = out.routed.saturating_sub(from);
            }
        }
    }

    /// lol_html reads the rest of the page, from inside the elements open
    /// here.
    fn rest(&mut self, out: &mut Emitter<'_, impl FnMut(Route, &[u8])>) {
        self.open_around(self.open.len(), out);
        self.mode = Mode::Region(Root::Rest);
    }

    /// Before a region: the start tags of the `bottom` elements open
    /// around it, for lol_html to read and not write (so that its stack
    /// of open elements is the one it would have had reading every byte).
    fn open_around(&mut self, bottom: usize, out: &mut Emitter<'_, impl FnMut(Route, &[u8])>) {
        if bottom == 0 {
            return;
        }
        let mut tags = Vec::new();
        for i in 0..bottom {
            tags.push(b'<');
            tags.extend_from_slice(self.open.name(i));
            tags.push(b'>');
        }
        (out.sink)(Route::Context, &tags);
    }

    /// After a region: end tags closing every element lol_html has open,
    /// innermost first, read and not written (the next region opens them
    /// again, as they are then).
    fn close_around(&mut self, out: &mut Emitter<'_, impl FnMut(Route, &[u8])>) {
        if self.open.len() == 0 {
            return;
        }
        let mut tags = Vec::new();
        for i in (0..self.open.len()).rev() {
            tags.extend_from_slice(b"</");
            tags.extend_from_slice(self.open.name(i));
            tags.push(b'>');
        }
        (out.sink)(Route::Context, &tags);
    }

    /// Whether the region's first element has closed and the tokenizer is
    /// back where lol_html would be between elements of the page.
    fn region_closed(&self) -> bool {
        match &self.mode {
            Mode::Region(Root::Element { low }) => {
                self.open.len() <= *low && self.text == Text::Data && self.ns.len() == 1
            }
            _ => false,
        }
    }

    /// The namespace lol_html reads in.
    fn current_ns(&self) -> Ns {
        self.ns.last().copied().unwrap_or(Ns::Html)
    }

    /// One step from `pos`: a token or a run of text.
    fn step(&mut self, data: &[u8], pos: usize) -> Step {
        let Some(rest) = data.get(pos..).filter(|r| !r.is_empty()) else {
            return Step::End;
        };
        match self.text {
            Text::Data => match memchr(b'<', rest) {
                None => Step::End,
                Some(i) => self.markup(data, pos + i),
            },
            Text::Plain => Step::End,
            Text::Bogus => match memchr(b'>', rest) {
                None => Step::End,
                Some(i) => {
                    self.text = Text::Data;
                    Step::Next(pos + i + 1)
                }
            },
            Text::Comment => match comment_end(rest) {
                Ok(end) => {
                    self.text = Text::Data;
                    Step::Next(pos + end)
                }
                Err(keep) => Step::Cut(Cut {
                    from: data.len() - keep,
                    hold: false,
                }),
            },
            Text::Cdata => match memchr::memmem::find(rest, b"]]>") {
                Some(i) => {
                    self.text = Text::Data;
                    Step::Next(pos + i + 3)
                }
                None => Step::Cut(Cut {
                    from: data.len() - rest.len().min(2),
                    hold: false,
                }),
            },
            Text::Raw(name) => self.raw_text(data, pos, name),
            Text::Script(escape) => self.script(data, pos, escape),
        }
    }

    /// At a `<` in markup.
    fn markup(&mut self, data: &[u8], lt: usize) -> Step {
        let cut = Step::Cut(Cut {
            from: lt,
            hold: true,
        });
        let Some(&next) = data.get(lt + 1) else {
            return cut;
        };
        match next {
            b'!' => {
                let after = data.get(lt + 2..).unwrap_or_default();
                if after.starts_with(b"--") {
                    // `<!-->` and `<!--->` close at once.
                    match after.get(2..4) {
                        None | Some([b'-']) => cut,
                        Some([b'>', ..]) => Step::Next(lt + 5),
                        Some(b"->") => Step::Next(lt + 6),
                        Some(_) => {
                            self.text = Text::Comment;
                            Step::Next(lt + 4)
                        }
                    }
                } else if b"--".starts_with(after) || b"[CDATA[".starts_with(after) {
                    cut
                } else if after.starts_with(b"[CDATA[") && self.current_ns() != Ns::Html {
                    self.text = Text::Cdata;
                    Step::Next(lt + 9)
                } else {
                    self.text = Text::Bogus;
                    Step::Next(lt + 2)
                }
            }
            b'?' => {
                self.text = Text::Bogus;
                Step::Next(lt + 1)
            }
            b'/' => match data.get(lt + 2) {
                None => cut,
                Some(b'>') => Step::Next(lt + 3),
                Some(c) if c.is_ascii_alphabetic() => match read_tag(data, lt + 2) {
                    None => cut,
                    Some(tag) => self.end_tag(data, &tag),
                },
                Some(_) => {
                    self.text = Text::Bogus;
                    Step::Next(lt + 2)
                }
            },
            c if c.is_ascii_alphabetic() => match read_tag(data, lt + 1) {
                None => cut,
                Some(tag) => self.start_tag(data, lt, &tag),
            },
            _ => Step::Next(lt + 1),
        }
    }

    /// A start tag read whole, starting at `lt`.
    fn start_tag(&mut self, data: &[u8], lt: usize, tag: &Tag) -> Step {
        let name = tag.name();
        self.ns_start(tag);
        // lol_html's stack: void elements of HTML and self-closing foreign
        // ones are popped at once (in the namespace after the tag's own
        // feedback, as lol_html reads it).
        let bottom = self.open.len();
        let pushed = match self.current_ns() {
            Ns::Html => !is_void(name),
            Ns::Svg | Ns::MathMl => !tag.self_closing,
        };
        if pushed {
            self.open.push(tag, data);
        }
        if self.mode == Mode::Pass && (tag.marked || name == b"svg" || name == b"math") {
            self.mode = Mode::Region(Root::Element { low: bottom });
            return Step::Enter(lt, tag.end);
        }
        if self.mode == Mode::Pass && self.text == Text::Plain {
            // Nothing after `<plaintext>` is markup.
            self.mode = Mode::PassRest;
        }
        Step::Next(tag.end)
    }

    /// lol_html's feedback for a start tag: namespace, and how its text reads.
    fn ns_start(&mut self, tag: &Tag) {
        let name = tag.name();
        if name == b"svg" {
            self.ns.push(Ns::Svg);
            return;
        }
        if name == b"math" {
            self.ns.push(Ns::MathMl);
            return;
        }
        match self.current_ns() {
            // Every name that changes how text reads starts with one of these.
            Ns::Html if !matches!(name.first(), Some(b't' | b's' | b'i' | b'x' | b'n' | b'p')) => {}
            Ns::Html => {
                self.text = if let Some(raw) = RAW_TEXT.iter().find(|r| **r == name) {
                    Text::Raw(raw)
                } else if name == b"script" {
                    Text::Script(Escape::None)
                } else if name == b"plaintext" {
                    Text::Plain
                } else {
                    Text::Data
                };
            }
            ns => {
                if causes_foreign_exit(name) || (name == b"font" && tag.leaves_foreign) {
                    self.ns.pop();
                } else if !tag.self_closing
                    && (ns == Ns::Svg && is_svg_html_point(name)
                        || ns == Ns::MathMl && is_mathml_text_point(name)
                        || ns == Ns::MathMl && name == b"annotation-xml" && tag.enters_html)
                {
                    self.ns.push(Ns::Html);
                }
            }
        }
    }

    /// An end tag read whole.
    fn end_tag(&mut self, data: &[u8], tag: &Tag) -> Step {
        let name = tag.name();
        let len = self.ns.len();
        let leaves = match self.current_ns() {
            // Leaving an integration point.
            Ns::Html => match len.checked_sub(2).and_then(|i| self.ns.get(i)) {
                Some(Ns::MathMl) => is_mathml_text_point(name) || name == b"annotation-xml",
                Some(Ns::Svg) => is_svg_html_point(name),
                _ => false,
            },
            Ns::Svg => matches!(name, b"svg" | b"p" | b"br"),
            Ns::MathMl => matches!(name, b"math" | b"p" | b"br"),
        };
        if leaves {
            self.ns.pop();
        }
        self.open.pop_up_to(tag, data);
        if let Mode::Region(Root::Element { low }) = &mut self.mode {
            *low = (*low).min(self.open.len());
        }
        Step::Next(tag.end)
    }

    /// In RAWTEXT or RCDATA: up to the element's end tag.
    fn raw_text(&mut self, data: &[u8], pos: usize, name: &[u8]) -> Step {
        let mut at = pos;
        loop {
            let Some(i) = data.get(at..).and_then(|r| memchr(b'<', r)) else {
                return Step::End;
            };
            let lt = at + i;
            match closes(data, lt, name) {
                None => {
                    return Step::Cut(Cut {
                        from: lt,
                        hold: false,
                    })
                }
                Some(true) => {
                    self.text = Text::Data;
                    return Step::Next(lt);
                }
                Some(false) => at = lt + 1,
            }
        }
    }

    /// In a script's text: its escapes, up to `</script>`.
    fn script(&mut self, data: &[u8], pos: usize, escape: Escape) -> Step {
        let mut at = pos;
        loop {
            let rest = data.get(at..).unwrap_or_default();
            let found = match escape {
                Escape::None => memchr(b'<', rest),
                _ => memchr2(b'<', b'-', rest),
            };
            let Some(i) = found else {
                return Step::End;
            };
            let at_ = at + i;
            let here = data.get(at_..).unwrap_or_default();
            let cut = Step::Cut(Cut {
                from: at_,
                hold: false,
            });
            if here.first() == Some(&b'-') {
                // Only escaped states look at dashes: `-->` leaves them.
                if here.len() < 3 {
                    return cut;
                }
                if here.starts_with(b"-->") {
                    self.text = Text::Script(Escape::None);
                    return Step::Next(at_ + 3);
                }
                at = at_ + 1;
                continue;
            }
            match escape {
                Escape::None => {
                    if here.len() < 4 && b"<!--".starts_with(here) {
                        return cut;
                    }
                    if here.starts_with(b"<!--") {
                        // The escape's own dashes can close it (`<!-->`).
                        self.text = Text::Script(Escape::Escaped);
                        return Step::Next(at_ + 2);
                    }
                    match closes(data, at_, b"script") {
                        None => return cut,
                        Some(true) => {
                            self.text = Text::Data;
                            return Step::Next(at_);
                        }
                        Some(false) => at = at_ + 1,
                    }
                }
                Escape::Escaped => {
                    match closes(data, at_, b"script") {
                        None => return cut,
                        Some(true) => {
                            self.text = Text::Data;
                            return Step::Next(at_);
                        }
                        Some(false) => {}
                    }
                    match names(data, at_ + 1, b"script") {
                        None => return cut,
                        Some(true) => {
                            self.text = Text::Script(Escape::DoubleEscaped);
                            return Step::Next(at_ + 7);
                        }
                        Some(false) => at = at_ + 1,
                    }
                }
                Escape::DoubleEscaped => {
                    if here.get(1) == Some(&b'/') {
                        match names(data, at_ + 2, b"script") {
                            None => return cut,
                            Some(true) => {
                                self.text = Text::Script(Escape::Escaped);
                                return Step::Next(at_ + 8);
                            }
                            Some(false) => {}
                        }
                    } else if here.len() < 2 {
                        return cut;
                    }
                    at = at_ + 1;
                }
            }
        }
    }
}

/// What one step of the scan did.
enum Step {
    /// Scanning goes on at this offset.
    Next(usize),
    /// A region starts at the first offset; scanning goes on at the second.
    Enter(usize, usize),
    /// Nothing more in these bytes.
    End,
    /// A token is cut by the end of the bytes.
    Cut(Cut),
}

/// Whether `data[lt..]` is `</name` followed by whitespace, `/` or `>`
/// (ASCII case-insensitive): the end tag that closes raw text. `None` when
/// the bytes end before that can be told.
fn closes(data: &[u8], lt: usize, name: &[u8]) -> Option<bool> {
    match data.get(lt + 1) {
        None => None,
        Some(b'/') => names(data, lt + 2, name),
        Some(_) => Some(false),
    }
}

/// Whether `data[at..]` is `name` (ASCII case-insensitive) followed by
/// whitespace, `/` or `>`; `None` when the bytes end first.
fn names(data: &[u8], at: usize, name: &[u8]) -> Option<bool> {
    let rest = data.get(at..).unwrap_or_default();
    let n = rest.len().min(name.len());
    if !rest.get(..n)?.eq_ignore_ascii_case(name.get(..n)?) {
        return Some(false);
    }
    rest.get(name.len())
        .map(|&c| is_space(c) || c == b'/' || c == b'>')
}

/// Where a comment's text ends (offset past `-->` or `--!>`), or how many
/// trailing bytes to scan again once more come.
fn comment_end(rest: &[u8]) -> Result<usize, usize> {
    let mut at = 0;
    while let Some(i) = rest.get(at..).and_then(|r| memchr(b'-', r)) {
        let dash = at + i;
        let here = rest.get(dash..).unwrap_or_default();
        if here.starts_with(b"-->") {
            return Ok(dash + 3);
        }
        if here.starts_with(b"--!>") {
            return Ok(dash + 4);
        }
        if here.len() < 4 {
            return Err(here.len());
        }
        at = dash + 1;
    }
    Err(0)
}

/// The first offset from `from` whose byte `stop`s, or the end.
fn until(data: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> usize {
    data.get(from..)
        .and_then(|rest| rest.iter().position(|&c| stop(c)))
        .map_or(data.len(), |n| from + n)
}

/// HTML whitespace as the tokenizer knows it.
fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

/// Elements lol_html pops at once in HTML content.
fn is_void(name: &[u8]) -> bool {
    matches!(
        name,
        b"area"
            | b"base"
            | b"basefont"
            | b"bgsound"
            | b"br"
            | b"col"
            | b"embed"
            | b"hr"
            | b"img"
            | b"input"
            | b"keygen"
            | b"link"
            | b"meta"
            | b"param"
            | b"source"
            | b"track"
            | b"wbr"
    )
}

/// Start tags that end foreign content (lol_html's list).
fn causes_foreign_exit(name: &[u8]) -> bool {
    matches!(
        name,
        b"b" | b"big"
            | b"blockquote"
            | b"body"
            | b"br"
            | b"center"
            | b"code"
            | b"dd"
            | b"div"
            | b"dl"
            | b"dt"
            | b"em"
            | b"embed"
            | b"h1"
            | b"h2"
            | b"h3"
            | b"h4"
            | b"h5"
            | b"h6"
            | b"head"
            | b"hr"
            | b"i"
            | b"img"
            | b"li"
            | b"listing"
            | b"menu"
            | b"meta"
            | b"nobr"
            | b"ol"
            | b"p"
            | b"pre"
            | b"ruby"
            | b"s"
            | b"small"
            | b"span"
            | b"strong"
            | b"strike"
            | b"sub"
            | b"sup"
            | b"table"
            | b"tt"
            | b"u"
            | b"ul"
            | b"var"
    )
}

/// The attribute-name prefix every selector of the rewriter asks for.
const MARK: &[u8] = b"data-p13n-";

/// lol_html's stack of open elements, names only: one buffer of
/// lowercased names and where each starts.
#[derive(Debug, Default)]
struct OpenElements {
    names: Vec<u8>,
    starts: Vec<usize>,
}

impl OpenElements {
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// The `i`th open element's name, outermost first.
    fn name(&self, i: usize) -> &[u8] {
        let from = self.starts.get(i).copied().unwrap_or(self.names.len());
        let to = self.starts.get(i + 1).copied().unwrap_or(self.names.len());
        self.names.get(from..to).unwrap_or_default()
    }

    fn push(&mut self, tag: &Tag, data: &[u8]) {
        self.starts.push(self.names.len());
        match tag.name() {
            b"" => {
                let name = data.get(tag.name_at.clone()).unwrap_or_default();
                self.names.extend(name.iter().map(u8::to_ascii_lowercase));
            }
            lower => self.names.extend_from_slice(lower),
        }
    }

    /// An end tag: pops the innermost element so named and every element
    /// inside it; nothing when none is open (as lol_html does).
    fn pop_up_to(&mut self, tag: &Tag, data: &[u8]) {
        let lower = tag.name();
        let written = data.get(tag.name_at.clone()).unwrap_or_default();
        let named = |open: &[u8]| match lower {
            b"" => open.eq_ignore_ascii_case(written),
            lower => open == lower,
        };
        if let Some(i) = (0..self.len()).rev().find(|&i| named(self.name(i))) {
            self.names
                .truncate(self.starts.get(i).copied().unwrap_or(0));
            self.starts.truncate(i);
        }
    }
}

/// Elements whose text is RAWTEXT or RCDATA in HTML content.
const RAW_TEXT: [&[u8]; 8] = [
    b"textarea",
    b"title",
    b"style",
    b"iframe",
    b"xmp",
    b"noembed",
    b"noframes",
    b"noscript",
];

/// SVG elements whose content is HTML.
fn is_svg_html_point(name: &[u8]) -> bool {
    matches!(name, b"desc" | b"title" | b"foreignobject")
}

/// MathML elements whose content is HTML text.
fn is_mathml_text_point(name: &[u8]) -> bool {
    matches!(name, b"mi" | b"mo" | b"mn" | b"ms" | b"mtext")
}

impl Tag {
    /// The lowercased name, or nothing for a name longer than any the
    /// tokenizer knows.
    fn name(&self) -> &[u8] {
        self.lower.get(..self.lower_len).unwrap_or_default()
    }
}

/// Whether `tag` may hold `data-p13n-` (ASCII case-insensitive): `13`
/// then `n-`, the letters checked only around a `3`.
fn may_be_marked(tag: &[u8]) -> bool {
    memchr::memchr_iter(b'3', tag).any(|i| {
        i > 0
            && tag.get(i - 1) == Some(&b'1')
            && tag
                .get(i + 1)
                .is_some_and(|c| c.eq_ignore_ascii_case(&b'n'))
            && tag.get(i + 2) == Some(&b'-')
    })
}

/// Reads the tag whose name starts at `at` (after `<` or `</`) to its
/// `>`, as the tokenizer's tag and attribute states do; `None` when the
/// bytes end first.
fn read_tag(data: &[u8], at: usize) -> Option<Tag> {
    let mut i = until(data, at, |c| is_space(c) || c == b'/' || c == b'>');
    data.get(i)?;
    let mut tag = Tag {
        name_at: at..i,
        lower: [0; KNOWN_NAME_BYTES],
        lower_len: 0,
        self_closing: false,
        marked: false,
        leaves_foreign: false,
        enters_html: false,
        end: 0,
    };
    if let (Some(name), Some(lower)) = (data.get(at..i), tag.lower.get_mut(..i - at)) {
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        tag.lower_len = i - at;
    }
    // No quote before the first `>`, no `/` just before it, no marker and
    // no attribute lol_html asks about: the tag ends there.
    let rest = data.get(i..)?;
    let first = memchr3(b'>', b'"', b'\'', rest)?;
    let plain = rest.get(first) == Some(&b'>')
        && (first == 0 || rest.get(first - 1) != Some(&b'/'))
        && !matches!(tag.name(), b"font" | b"annotation-xml")
        && !may_be_marked(rest.get(..first)?);
    if plain {
        tag.end = i + first + 1;
        return Some(tag);
    }
    let attr = |name: &[u8], value: &[u8], tag: &mut Tag| {
        if name
            .get(..MARK.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(MARK))
        {
            tag.marked = true;
        }
        if tag.name() == b"font"
            && [&b"color"[..], b"size", b"face"]
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n))
        {
            tag.leaves_foreign = true;
        }
        if tag.name() == b"annotation-xml"
            && name.eq_ignore_ascii_case(b"encoding")
            && (value.eq_ignore_ascii_case(b"text/html")
                || value.eq_ignore_ascii_case(b"application/xhtml+xml"))
        {
            tag.enters_html = true;
        }
    };
    // The attribute states of the tokenizer: before the name, the name
    // (whose first byte may be `=`), after it, before the value, the
    // value quoted or not.
    loop {
        i = until(data, i, |c| !is_space(c));
        match *data.get(i)? {
            b'>' => break,
            b'/' => {
                i += 1;
                if data.get(i) == Some(&b'>') {
                    tag.self_closing = true;
                    break;
                }
                continue;
            }
            _ => {}
        }
        let name_start = i;
        i = until(data, i + 1, |c| {
            is_space(c) || c == b'/' || c == b'>' || c == b'='
        });
        let name = data.get(name_start..i)?;
        i = until(data, i, |c| !is_space(c));
        if *data.get(i)? != b'=' {
            attr(name, &[], &mut tag);
            continue;
        }
        i = until(data, i + 1, |c| !is_space(c));
        let value = match *data.get(i)? {
            q @ (b'"' | b'\'') => {
                let from = i + 1;
                let len = memchr(q, data.get(from..)?)?;
                i = from + len + 1;
                data.get(from..from + len)?
            }
            b'>' => &[],
            _ => {
                let from = i;
                i = until(data, i, |c| is_space(c) || c == b'>');
                data.get(from..i)?
            }
        };
        attr(name, value, &mut tag);
    }
    tag.end = i + 1;
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spans of `page` fed in `chunk`-byte pieces, runs of one route
    /// joined.
    fn spans(page: &str, chunk: usize) -> Vec<(Route, String)> {
        let mut out: Vec<(Route, String)> = Vec::new();
        let mut regions = SlotRegions::new();
        let mut sink = |route: Route, bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            match out.last_mut() {
                Some((last, joined)) if *last == route => joined.push_str(&text),
                _ => out.push((route, text.into_owned())),
            }
        };
        for piece in page.as_bytes().chunks(chunk.max(1)) {
            regions.feed(piece, &mut sink);
        }
        regions.finish(&mut sink);
        out
    }

    /// `spans`, the same whatever the chunk size.
    fn spans_any_chunking(page: &str) -> Vec<(Route, String)> {
        let whole = spans(page, page.len());
        for chunk in 1..page.len().min(80) {
            assert_eq!(spans(page, chunk), whole, "{chunk}-byte chunks of {page}");
        }
        whole
    }

    fn pass(page: &str) -> Vec<(Route, String)> {
        vec![(Route::Pass, page.to_owned())]
    }

    #[test]
    fn a_page_without_slots_passes_whole() {
        let page = r#"<!doctype html><html><head><title>Shop</title></head><body><a href="/p?x=1&y=2" title='a>b'>Lamp</a><img src=x.png alt="<b>"/><p>3 < 4</p></body></html>"#;
        assert_eq!(spans_any_chunking(page), pass(page));
    }

    #[test]
    fn a_slot_is_a_region_inside_the_elements_around_it() {
        let slot = r#"<section data-p13n-slot="similar"><div data-p13n-items><div>fallback</div></div></section>"#;
        let page = format!("<main><p>Hi</p>{slot}<p>Bye</p></main>");
        assert_eq!(
            spans_any_chunking(&page),
            vec![
                (Route::Pass, "<main><p>Hi</p>".to_owned()),
                (Route::Context, "<main>".to_owned()),
                (Route::Rewrite, slot.to_owned()),
                (Route::Context, "</main>".to_owned()),
                (Route::Pass, "<p>Bye</p></main>".to_owned()),
            ]
        );
    }

    #[test]
    fn markers_that_are_not_attributes_of_an_element_pass() {
        let fake = r#"<div data-p13n-slot="similar"><div data-p13n-items></div></div>"#;
        for page in [
            format!("<!-- {fake} -->"),
            format!("<script>let s = '{fake}';</script>"),
            format!("<script><!-- <script> </script> {fake} --></script>"),
            format!("<style>{fake}</style>"),
            format!("<textarea>{fake}</textarea>"),
            format!("<title>{fake}</title>"),
            format!("<noscript>{fake}</noscript>"),
            format!("<a title='{fake}'>x</a>"),
            format!("<![CDATA[ x>{fake}"),
            format!("<plaintext>{fake}"),
        ] {
            let first = spans_any_chunking(&page);
            let marked = first.iter().any(|(r, _)| *r != Route::Pass);
            if page.starts_with("<![CDATA[") {
                // In HTML, CDATA is a bogus comment: it ends at the first `>`.
                assert!(marked, "{page}");
            } else {
                assert_eq!(first, pass(&page), "{page}");
            }
        }
    }

    #[test]
    fn an_escaped_script_end_ends_the_script() {
        let page = r#"<script><!-- </script><q data-p13n-query></q>"#;
        assert_eq!(
            spans_any_chunking(page),
            vec![
                (Route::Pass, "<script><!-- </script>".to_owned()),
                (Route::Rewrite, "<q data-p13n-query></q>".to_owned()),
            ]
        );
    }

    #[test]
    fn foreign_content_is_read_by_the_rewriter_whole() {
        let svg = r#"<svg><title>t</title><![CDATA[ </svg> ]]><foreignObject><p>x</p></foreignObject></svg>"#;
        let page = format!("<p>{svg}</p>");
        assert_eq!(
            spans_any_chunking(&page),
            vec![
                (Route::Pass, "<p>".to_owned()),
                (Route::Context, "<p>".to_owned()),
                (Route::Rewrite, svg.to_owned()),
                (Route::Context, "</p>".to_owned()),
                (Route::Pass, "</p>".to_owned()),
            ]
        );
    }

    #[test]
    fn a_void_slot_element_is_a_region_of_one_tag() {
        let page = r#"<div><img data-p13n-x src="a.png"><br></div>"#;
        assert_eq!(
            spans_any_chunking(page),
            vec![
                (Route::Pass, "<div>".to_owned()),
                (Route::Context, "<div>".to_owned()),
                (
                    Route::Rewrite,
                    r#"<img data-p13n-x src="a.png">"#.to_owned()
                ),
                (Route::Context, "</div>".to_owned()),
                (Route::Pass, "<br></div>".to_owned()),
            ]
        );
    }

    #[test]
    fn a_region_ends_only_when_what_it_opened_closed() {
        // The stray `</main>` closes the slot (and the main around it),
        // as lol_html reading every byte would: the items it opened stay
        // in the region until they close.
        let page = r#"<main><div data-p13n-slot="x"><span></main><b>kept</b></span>after"#;
        let got = spans_any_chunking(page);
        assert_eq!(
            got,
            vec![
                (Route::Pass, "<main>".to_owned()),
                (Route::Context, "<main>".to_owned()),
                (
                    Route::Rewrite,
                    r#"<div data-p13n-slot="x"><span></main>"#.to_owned()
                ),
                (Route::Pass, "<b>kept</b></span>after".to_owned()),
            ]
        );
    }

    #[test]
    fn attributes_are_read_as_the_tokenizer_reads_them() {
        // `="x>` is an attribute name: the first `>` ends the tag, and the
        // marker after it is text.
        let page = r#"<a ="x>" data-p13n-slot="y">t</a>"#;
        assert_eq!(spans_any_chunking(page), pass(page));
        // An unquoted value keeps its quotes: the tag ends at the first `>`.
        let page = r#"<a b=c"d>data-p13n-slot="y"</a>"#;
        assert_eq!(spans_any_chunking(page), pass(page));
        // Upper case, and a marker that only a quoted value hides.
        let page = r#"<A TITLE=">" DATA-P13N-SLOT="y"></A>"#;
        assert_eq!(
            spans_any_chunking(page),
            vec![(Route::Rewrite, page.to_owned())]
        );
    }

    #[test]
    fn a_start_tag_longer_than_the_hold_goes_to_the_rewriter() {
        let long = "x".repeat(2 * MAX_HELD_TAG_BYTES);
        let page = format!("<p>a</p><img alt=\"{long}\"><p>b</p>");
        let got: Vec<(Route, usize)> = spans(&page, 4096)
            .iter()
            .map(|(route, text)| (*route, text.len()))
            .collect();
        assert_eq!(got, [(Route::Pass, 8), (Route::Rewrite, page.len() - 8)]);
    }

    #[test]
    fn deep_nesting_hands_the_rest_to_the_rewriter() {
        let open = "<div>".repeat(MAX_OPEN_ELEMENTS);
        let page = format!("{open}<q data-p13n-query></q>");
        let got = spans(&page, page.len());
        assert_eq!(got.first(), Some(&(Route::Pass, open.clone())));
        assert_eq!(got.get(1), Some(&(Route::Context, open)));
        assert_eq!(
            got.get(2),
            Some(&(Route::Rewrite, "<q data-p13n-query></q>".to_owned()))
        );
    }
}
