//! The long-tail vocabulary of the structured shape's titles.
//!
//! Real catalogs name products with a few words that match a large share
//! of the catalog (colours, "pack", "set", "for", "pro") and thousands that
//! match almost nothing (model numbers, series and technology names). Here:
//!
//! - descriptor words ([`descriptors`]), drawn Zipf-distributed by their
//!   rank in the list, so the first are common and the last rare;
//! - technology names ([`tech_word`]): a stem and an ending ("Thermocore",
//!   "Aquaguard"), a few hundred in all, one per taste cluster;
//! - made-up names ([`made_up`]) for brands and series, and model codes
//!   ([`model_code`]: "X200", "S7 Pro", "Gen 3"), nearly unique;
//! - colours ([`colours`]) and pack sizes, which vary between the variants
//!   of one base product.

use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::zipf;

/// Descriptor words in order of how common they are in titles (the first
/// is drawn most often).
const DESCRIPTORS: &str = "\
Premium, Classic, Essential, Portable, Lightweight, Large, Compact, Small, \
Wireless, Waterproof, Soft, Everyday, Adjustable, Natural, Organic, Original, \
Slim, Deluxe, Heavy Duty, Foldable, Recycled, Vintage, Modern, Non-Stick, \
Breathable, Durable, Extra, Travel, Stretch, Quick-Dry, Rechargeable, \
Insulated, Reusable, Handmade, Luxury, Multi, Double, Ergonomic, Cordless, \
Padded, Warm, Cooling, Gentle, Fragrance-Free, Fast, Smart, Digital, Mini, \
Round, Square, Relaxed, Fitted, Tapered, Cropped, Oversized, Quilted, Ribbed, \
Knitted, Woven, Printed, Striped, Floral, Textured, Brushed, Matte, Gloss, \
Clear, Tinted, Reflective, Anti-Slip, Shockproof, Magnetic, Dimmable, \
Stackable, Collapsible, Expandable, Convertible, Reversible, Hooded, Zip, \
Button, Lace-Up, Slip-On, High, Low, Wide, Narrow, Deep, Tall, Long, Short, \
Thermal, Windproof, Packable, Cushioned, Supportive, Sculpted, Hydrating, \
Nourishing, Brightening, Firming, Soothing, Calming, Energising, Refreshing, \
Fortifying, Restorative, Vegan, Unscented, Sensitive, Daily, Overnight, \
Intensive, Advanced, Professional, Starter, Family, Junior, Educational, \
Cooperative, Strategic, Tactical, Themed, Collectors, Limited, Anniversary, \
Seasonal, Festive, Gift, Bundle, Refill, Spare, Replacement, Universal, \
Heritage, Artisan, Rustic, Nordic, Industrial, Scandi, Retro, Coastal, \
Botanical, Geometric, Minimalist, Statement, Signature, Studio, Urban, Trail, \
Alpine, Marathon, Sprint, Endurance, Hybrid, Aero, Turbo, Silent, Quiet, \
Powerful, Precision, Induction, Ceramic-Coated, Enamelled, Hand-Finished, \
Stoneground, Single-Origin, Small-Batch, Cold-Pressed, Slow-Roasted, \
Loose-Leaf, Decaffeinated, Sugar-Free, Gluten-Free, Chewable, Effervescent, \
Slow-Release, Fast-Acting, Extra-Strength, Non-Drowsy, Sterile, \
Hypoallergenic, Latex-Free, Waterproof-Breathable, Noise-Cancelling, Hi-Res, \
Bluetooth, USB-C, MagSafe, Qi, OLED, 4K, Dual-SIM, Unlocked, Refurbished, \
Backlit, Mechanical, Touchscreen, Fanless, Tri-Fold, Bi-Fold, Kickstand, \
Card-Slot, Rugged, Transparent, Frosted, Glitter, Pastel, Neon, Metallic, \
Two-Tone, Ombre, Marbled, Speckled, Herringbone, Houndstooth, Tartan, \
Paisley, Leopard, Camo, Embroidered, Appliqué, Pleated, Tiered, Ruched, \
Smocked, Belted, Wrap-Front, Puff-Sleeve, Sleeveless, Long-Sleeve, \
Short-Sleeve, Crew, Mock-Neck, Roll-Neck, Boxy, Longline, Muscle, Raglan, \
Heavyweight, Midweight, Brushed-Back, Waffle, Pique, Jersey, Twill, Canvas, \
Suede, Nubuck, Patent, Mesh, Knit, Gore, Vibram, Carbon, Titanium, Bamboo, \
Cork, Jute, Rattan, Wicker, Marble, Terrazzo, Copper, Brass, Chrome, Pewter, \
Walnut, Ash, Beech, Teak, Acacia, Mango, Sheesham, Pine";

/// Colours of variants, the most common first.
const COLOURS: &str = "\
Black, White, Navy, Grey, Blue, Red, Green, Pink, Beige, Brown, Charcoal, \
Cream, Olive, Burgundy, Khaki, Silver, Gold, Yellow, Orange, Purple, Sand, \
Stone, Sage, Teal, Coral, Lilac, Mustard, Rust, Taupe, Ivory, Mint, Sky Blue, \
Forest Green, Midnight, Graphite, Slate, Plum, Terracotta, Ochre, Blush, \
Cobalt, Emerald, Ruby, Pearl, Lavender, Peach, Denim, Oatmeal, Heather Grey, \
Off-White";

/// Stems and endings of technology names.
const TECH_STEMS: &[&str] = &[
    "Thermo", "Aqua", "Flex", "Dura", "Hydro", "Micro", "Nano", "Air", "Cool", "Warm", "Soft",
    "Tough", "Power", "Eco", "Pure", "Clear", "Swift", "Storm", "Silk", "Cloud", "Terra", "Sonic",
    "Volt", "Lumi", "Cryo", "Vita", "Zen", "Core", "Omni", "Tru",
];
const TECH_ENDINGS: &[&str] = &[
    "core", "guard", "shield", "tech", "grip", "lite", "fit", "flow", "lock", "cell", "foam",
    "knit", "mesh", "sense", "sync", "boost", "weave", "loft", "dry", "max",
];

/// Syllables of made-up names.
const ONSETS: &[&str] = &[
    "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "k", "kr", "l", "m", "n", "p",
    "pr", "qu", "r", "s", "sk", "st", "t", "tr", "v", "w", "z",
];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "a", "e", "o", "i", "ai", "ou"];
const CODAS: &[&str] = &["", "", "", "", "n", "r", "l", "x", "s", "m", "nd"];

/// Model modifiers, each common across many brands.
const MODIFIERS: &[&str] = &[
    "Pro", "Max", "Plus", "Lite", "Mini", "Air", "Ultra", "SE", "II", "XL",
];

/// The descriptor words, most common first.
pub fn descriptors() -> Vec<&'static str> {
    DESCRIPTORS.split(", ").collect()
}

/// The colours of variants, most common first.
pub fn colours() -> Vec<&'static str> {
    COLOURS.split(", ").collect()
}

/// Samplers of the descriptor and colour lists.
pub struct Words {
    descriptors: Vec<&'static str>,
    descriptor_zipf: Option<WeightedIndex<f64>>,
    colours: Vec<&'static str>,
    colour_zipf: Option<WeightedIndex<f64>>,
}

impl Words {
    /// The samplers, each Zipf-distributed over its list's order.
    pub fn new() -> Words {
        let descriptors = descriptors();
        let colours = colours();
        Words {
            descriptor_zipf: zipf(descriptors.len(), 1.0),
            colour_zipf: zipf(colours.len(), 1.0),
            descriptors,
            colours,
        }
    }

    /// A descriptor word.
    pub fn descriptor(&self, rng: &mut StdRng) -> &'static str {
        draw(&self.descriptors, self.descriptor_zipf.as_ref(), rng)
    }

    /// A colour.
    pub fn colour(&self, rng: &mut StdRng) -> &'static str {
        draw(&self.colours, self.colour_zipf.as_ref(), rng)
    }
}

/// An item of `items` by `sampler`, or the default when there is none.
pub fn draw<T: Clone + Default>(
    items: &[T],
    sampler: Option<&WeightedIndex<f64>>,
    rng: &mut StdRng,
) -> T {
    sampler
        .and_then(|s| items.get(s.sample(rng)))
        .cloned()
        .unwrap_or_default()
}

/// Up to `n` distinct draws of `pick`.
pub fn distinct<T: PartialEq>(n: usize, mut pick: impl FnMut() -> T) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(n);
    for _ in 0..n * 3 {
        if out.len() == n {
            break;
        }
        let x = pick();
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// A technology name: one of `TECH_STEMS.len() * TECH_ENDINGS.len()`.
pub fn tech_word(rng: &mut StdRng) -> String {
    let stem = TECH_STEMS.choose(rng).copied().unwrap_or_default();
    let ending = TECH_ENDINGS.choose(rng).copied().unwrap_or_default();
    format!("{stem}{ending}")
}

/// A pronounceable made-up name of `syllables` syllables, capitalised.
pub fn made_up(rng: &mut StdRng, syllables: usize) -> String {
    let mut name = String::new();
    for _ in 0..syllables {
        for part in [ONSETS, VOWELS] {
            name.push_str(part.choose(rng).copied().unwrap_or_default());
        }
    }
    name.push_str(CODAS.choose(rng).copied().unwrap_or_default());
    super::catalog::capitalise(&name)
}

/// A model code: a letter and a number ("X200", "S7"), or a generation
/// ("Gen 3"), sometimes with a modifier ("Pro", "Max").
pub fn model_code(rng: &mut StdRng) -> String {
    let mut code = if rng.gen_bool(0.15) {
        format!("Gen {}", rng.gen_range(2..6))
    } else {
        let letter = char::from(b'A' + rng.gen_range(0..26u8));
        let number = match rng.gen_range(0..3) {
            0 => rng.gen_range(1..20),
            1 => rng.gen_range(2..100) * 10,
            _ => rng.gen_range(100..1000),
        };
        format!("{letter}{number}")
    };
    if rng.gen_bool(0.3) {
        code.push(' ');
        code.push_str(MODIFIERS.choose(rng).copied().unwrap_or_default());
    }
    code
}
