//! Storefront-like HTML documents made from the fuzzer's bytes, for the
//! region scanner's differential target ([`crate::rewrite_regions`]).
//!
//! Each byte picks the next production: text, elements (slots with their
//! template and items, nested namesakes, upper case), void elements,
//! every comment form, `<plaintext>`, the text elements (`<script>` with its escapes,
//! `<style>`, `<textarea>`, `<title>`, …), SVG and MathML with their
//! integration points, CDATA and breakouts, `<select>` with what makes
//! lol_html's strict mode refuse, doctypes and bogus comments, and
//! attributes written every way the tokenizer reads (quoted, unquoted,
//! `=` first, `>` and `<` inside values). Markup that looks like a slot is
//! put where it is not one (comments, raw text, attribute values, CDATA).
//!
//! The documents are nested properly: every end tag closes the element
//! the generator opened (no text fragment joins the markup after it), so
//! no end tag reaches an element opened outside a region (where lol_html's stack of every element and the regions'
//! stack of their own may legitimately differ; see `slot_regions`).

/// Byte-driven choices, reading 0 once the bytes run out.
struct Gen<'a> {
    bytes: &'a [u8],
    at: usize,
    out: String,
    /// Elements left to open: bounds the document's size.
    budget: usize,
}

const TEXTS: [&str; 14] = [
    "Plain text. ",
    "a < b and c > d ",
    "&amp; &lt;div data-p13n-slot=\"similar\"&gt; ",
    "data-p13n-slot=\"similar\" ",
    "<3 ",
    "< div data-p13n-items> ",
    "-- --> ]]> ",
    "SKU-00013n- ",
    "\u{2028}\u{a0}ünïcode ",
    "< ",
    "</>",
    "<!>",
    "{{title}} ",
    "\n\t",
];

const SLOT_KINDS: [&str; 7] = [
    "similar", "home", "trending", "search", "banner", "nonsense", "SIMILAR",
];

const CONTAINERS: [&str; 12] = [
    "div",
    "section",
    "span",
    "ul",
    "li",
    "main",
    "article",
    "aside",
    "DIV",
    "product-recommendations-carousel",
    "template",
    "q",
];

const VOIDS: [&str; 6] = ["img", "br", "input", "hr", "meta", "IMG"];

const ATTRIBUTES: [&str; 22] = [
    "class=\"card\"",
    "title=\"a>b\"",
    "title='<!--'",
    "alt=\"<script>\"",
    "data-x=\"data-p13n-slot\"",
    "a=b\"c",
    "=\"x>\"",
    " =y",
    "x=/",
    "href=/products/SKU-1",
    "hidden",
    "data-p13n-k=3",
    "DATA-P13N-ITEMS",
    "data-p13n-query",
    "data-p13n-corrected",
    "data-p13n-facets",
    "data-p13n-empty=\"remove\"",
    "title=\"</section>\"",
    "b==\"c>\"",
    "style=\"a:b\" /",
    "data-p13n-slot=\"similar\"",
    "onclick=\"x('>')\"",
];

const COMMENTS: [&str; 11] = [
    "<!---->",
    "<!-->",
    "<!--->",
    "<!-- x -- y --!>",
    "<!-- <div data-p13n-slot=\"similar\"><div data-p13n-items>x</div></div> -->",
    "<!---x- -->",
    "<!doctype html>",
    "<?xml version=\"1.0\"?>",
    "</ 3>",
    // The rest of the page is text.
    "<plaintext>",
    "<PLAINTEXT data-p13n-query>",
];

const RAW_ELEMENTS: [&str; 10] = [
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript",
    "SCRIPT",
];

const RAW_TEXTS: [&str; 12] = [
    "<div data-p13n-slot=\"similar\"><template data-p13n-item>{{title}}</template><div data-p13n-items></div></div>",
    "</scrip",
    "</scriptx>",
    "<!-- <script> </script> <div data-p13n-items></div> -->",
    "<!-->",
    "<!-- -- > <scripty> -->",
    "x = '</styl' + 'e>';",
    "<!-- <script>",
    " --> ",
    "<![CDATA[ <q data-p13n-query></q> ]]>",
    "a < b",
    "</textare",
];

const FOREIGN: [&str; 12] = [
    "<path d=\"M0 0\"/>",
    "<title>t <q data-p13n-query></q></title>",
    "<desc/>",
    "<![CDATA[ <div data-p13n-slot=\"similar\"></div> ]]>",
    "<style><q data-p13n-query></q></style>",
    "<g><circle r=\"1\"></circle></g>",
    "<mi><q data-p13n-query></q></mi>",
    "<annotation-xml encoding=\"text/html\"><q data-p13n-query></q></annotation-xml>",
    "<svg/>",
    "<font color=\"red\">",
    "<b>",
    "<script>\"<q data-p13n-query></q>\"</script>",
];

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        let i = usize::from(self.byte()) % items.len().max(1);
        items.get(i).copied().unwrap_or_default()
    }

    fn more(&self) -> bool {
        self.at < self.bytes.len() && self.budget > 0
    }

    fn attributes(&mut self) {
        for _ in 0..self.byte() % 3 {
            let attribute = self.pick(&ATTRIBUTES);
            self.out.push(' ');
            self.out.push_str(attribute);
        }
    }

    /// Children until the bytes say stop (a 0 byte or the end).
    fn children(&mut self, depth: usize) {
        while self.more() && depth < 8 {
            match self.byte() % 11 {
                0 => return,
                1 | 2 => {
                    let text = self.pick(&TEXTS);
                    self.out.push_str(text);
                }
                3 => self.container(depth),
                4 => self.slot(depth),
                5 => {
                    let name = self.pick(&VOIDS);
                    self.out.push('<');
                    self.out.push_str(name);
                    self.attributes();
                    self.out.push('>');
                }
                6 => {
                    let comment = self.pick(&COMMENTS);
                    self.out.push_str(comment);
                }
                7 => self.raw(),
                8 => self.foreign(),
                9 => self.select(),
                _ => self.container(depth),
            }
        }
    }

    fn container(&mut self, depth: usize) {
        self.budget = self.budget.saturating_sub(1);
        let name = self.pick(&CONTAINERS);
        self.out.push('<');
        self.out.push_str(name);
        self.attributes();
        self.out.push('>');
        self.children(depth + 1);
        self.out.push_str("</");
        self.out.push_str(&name.to_ascii_uppercase());
        self.out.push('>');
    }

    /// A slot: its element, the template, the items with their fallback.
    fn slot(&mut self, depth: usize) {
        self.budget = self.budget.saturating_sub(1);
        let kind = self.pick(&SLOT_KINDS);
        let name = self.pick(&["section", "div", "aside", "div"]);
        self.out.push_str(&format!(
            "<{name} data-p13n-slot=\"{kind}\" data-p13n-k=\"3\""
        ));
        self.attributes();
        self.out.push('>');
        if !self.byte().is_multiple_of(4) {
            self.out.push_str(
                "<template data-p13n-item><div class=\"card\"><a href=\"{{url}}\">{{title}}</a> {{price}}</div></template>",
            );
        }
        self.children(depth + 1);
        self.out
            .push_str("<div data-p13n-items><div>fallback</div>");
        self.children(depth + 1);
        self.out.push_str("</div>");
        self.children(depth + 1);
        self.out.push_str(&format!("</{name}>"));
    }

    fn raw(&mut self) {
        let name = self.pick(&RAW_ELEMENTS);
        self.out.push('<');
        self.out.push_str(name);
        self.attributes();
        self.out.push('>');
        for _ in 0..self.byte() % 3 {
            let text = self.pick(&RAW_TEXTS);
            self.out.push_str(text);
        }
        // Inside `<!-- <script>`, `</script>` is text: `-->` ends that.
        if self.out.ends_with("<!-- <script>") || name.eq_ignore_ascii_case("script") {
            self.out.push_str(" -->");
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn foreign(&mut self) {
        let (root, point) = if self.byte().is_multiple_of(2) {
            ("svg", "foreignObject")
        } else {
            ("math", "mtext")
        };
        self.out.push('<');
        self.out.push_str(root);
        self.attributes();
        self.out.push('>');
        for _ in 0..self.byte() % 4 {
            if self.byte().is_multiple_of(3) {
                self.out.push_str(&format!("<{point}>"));
                self.children(7);
                self.out.push_str(&format!("</{point}>"));
            } else {
                let part = self.pick(&FOREIGN);
                self.out.push_str(part);
            }
        }
        self.out.push_str(&format!("</{root}>"));
    }

    fn select(&mut self) {
        self.out.push_str("<select");
        self.attributes();
        self.out.push('>');
        for _ in 0..self.byte() % 4 {
            let part = self.pick(&[
                "<option>a",
                "<option data-p13n-query>b</option>",
                "<template><style>x</style></template>",
                "<script>1</script>",
                "<textarea>t</textarea>",
                "<xmp>x</xmp>",
            ]);
            self.out.push_str(part);
        }
        self.out.push_str("</select>");
    }
}

/// The document the fuzzer's `bytes` describe.
pub fn document(bytes: &[u8]) -> String {
    let mut generator = Gen {
        bytes,
        at: 0,
        out: String::from("<!doctype html><html><head><title>Shop</title></head><body>"),
        budget: 64,
    };
    while generator.more() {
        generator.children(0);
    }
    generator.out.push_str("</body></html>");
    generator.out
}
