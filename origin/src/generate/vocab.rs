//! The synthetic store's world: categories, what they sell, who makes it.

/// A leaf category of the synthetic store.
pub struct Leaf {
    /// Top-level category.
    pub top: &'static str,
    /// Leaf name.
    pub name: &'static str,
    /// Nouns for titles.
    pub nouns: &'static [&'static str],
    /// Brands selling it.
    pub brands: &'static [&'static str],
    /// Price range in GBP.
    pub price: (f64, f64),
    /// Index of the leaf whose products these are accessories for.
    pub accessory_of: Option<&'static str>,
    /// Sizes offered as variants, when the product comes in sizes.
    pub sizes: &'static [&'static str],
    /// Regulated goods.
    pub regulated: bool,
    /// Safety flags every product here carries.
    pub safety: &'static [&'static str],
    /// Share of shopping missions that start here (relative).
    pub demand: f64,
}

/// Adjectives for titles and descriptions.
pub const ADJECTIVES: &[&str] = &[
    "Classic",
    "Essential",
    "Premium",
    "Compact",
    "Everyday",
    "Pro",
    "Lightweight",
    "Deluxe",
    "Eco",
    "Ultra",
    "Heritage",
    "Urban",
    "Studio",
    "Active",
    "Signature",
];

/// Colours for attributes and titles.
pub const COLOURS: &[&str] = &[
    "black", "white", "navy", "red", "green", "grey", "blue", "pink", "olive", "sand",
];

/// Materials for attributes and descriptions, by top-level category.
pub fn materials(top: &str) -> &'static [&'static str] {
    match top {
        "Electronics" => &[
            "aluminium",
            "recycled plastic",
            "tempered glass",
            "silicone",
        ],
        "Home & Kitchen" => &[
            "stainless steel",
            "cast iron",
            "ceramic",
            "cotton",
            "oak",
            "bamboo",
        ],
        "Fashion" => &[
            "cotton",
            "recycled polyester",
            "merino wool",
            "leather",
            "denim",
        ],
        "Beauty" => &["aloe vera", "shea butter", "hyaluronic acid", "argan oil"],
        "Sports & Outdoors" => &[
            "recycled polyester",
            "natural rubber",
            "ripstop nylon",
            "cork",
        ],
        "Toys & Games" => &["FSC wood", "recycled cardboard", "ABS plastic"],
        "Health" => &[
            "vegan ingredients",
            "gelatine-free capsules",
            "hypoallergenic materials",
        ],
        _ => &[
            "organic ingredients",
            "Fairtrade ingredients",
            "single-origin produce",
        ],
    }
}

/// Apparel sizes.
const CLOTHING: &[&str] = &["XS", "S", "M", "L", "XL"];
/// Shoe sizes.
const SHOES: &[&str] = &["38", "39", "40", "41", "42", "43", "44"];

macro_rules! leaf {
    ($top:expr, $name:expr, $nouns:expr, $brands:expr, $price:expr) => {
        Leaf {
            top: $top,
            name: $name,
            nouns: $nouns,
            brands: $brands,
            price: $price,
            accessory_of: None,
            sizes: &[],
            regulated: false,
            safety: &[],
            demand: 1.0,
        }
    };
}

/// Every leaf category.
pub fn leaves() -> Vec<Leaf> {
    vec![
        Leaf {
            demand: 1.6,
            ..leaf!(
                "Electronics",
                "Smartphones",
                &["Smartphone", "Phone"],
                &["Novaphone", "Pixelon", "Orbit"],
                (199.0, 999.0)
            )
        },
        Leaf {
            accessory_of: Some("Smartphones"),
            demand: 1.2,
            ..leaf!(
                "Electronics",
                "Phone Cases",
                &["Phone Case", "Folio Case", "Bumper Case"],
                &["Shellwise", "Armorly", "Novaphone"],
                (9.0, 39.0)
            )
        },
        Leaf {
            accessory_of: Some("Smartphones"),
            ..leaf!(
                "Electronics",
                "Chargers",
                &[
                    "USB-C Charger",
                    "Wireless Charger",
                    "Car Charger",
                    "Power Bank"
                ],
                &["Voltix", "Chargewell", "Novaphone"],
                (12.0, 59.0)
            )
        },
        Leaf {
            demand: 1.2,
            ..leaf!(
                "Electronics",
                "Headphones",
                &["Wireless Earbuds", "Over-Ear Headphones", "Sport Earphones"],
                &["Sonora", "Beatline", "Pixelon"],
                (19.0, 349.0)
            )
        },
        Leaf {
            ..leaf!(
                "Electronics",
                "Laptops",
                &["Laptop", "Ultrabook", "Chromebook"],
                &["Corelight", "Pixelon", "Orbit"],
                (299.0, 1899.0)
            )
        },
        Leaf {
            accessory_of: Some("Laptops"),
            ..leaf!(
                "Electronics",
                "Laptop Bags",
                &["Laptop Sleeve", "Laptop Backpack", "Messenger Bag"],
                &["Carryon", "Urbanpack"],
                (19.0, 119.0)
            )
        },
        Leaf {
            demand: 1.1,
            ..leaf!(
                "Home & Kitchen",
                "Cookware",
                &[
                    "Frying Pan",
                    "Saucepan",
                    "Stock Pot",
                    "Wok",
                    "Casserole Dish"
                ],
                &["Ironhearth", "Cucina", "Panmaster"],
                (15.0, 189.0)
            )
        },
        Leaf {
            ..leaf!(
                "Home & Kitchen",
                "Coffee",
                &[
                    "French Press",
                    "Coffee Grinder",
                    "Espresso Machine",
                    "Pour-Over Kettle"
                ],
                &["Brewhaus", "Cucina", "Morningcup"],
                (19.0, 499.0)
            )
        },
        Leaf {
            ..leaf!(
                "Home & Kitchen",
                "Bedding",
                &["Duvet Cover", "Pillow", "Fitted Sheet", "Weighted Blanket"],
                &["Dreamweave", "Linenly"],
                (15.0, 149.0)
            )
        },
        Leaf {
            ..leaf!(
                "Home & Kitchen",
                "Lighting",
                &["Table Lamp", "Floor Lamp", "LED Bulb Pack", "String Lights"],
                &["Lumen & Co", "Glowhaus"],
                (9.0, 229.0)
            )
        },
        Leaf {
            sizes: CLOTHING,
            demand: 1.5,
            ..leaf!(
                "Fashion",
                "T-Shirts",
                &["T-Shirt", "Crew Neck Tee", "V-Neck Tee", "Graphic Tee"],
                &["Threadline", "Northcoast", "Basico"],
                (9.0, 45.0)
            )
        },
        Leaf {
            sizes: CLOTHING,
            demand: 1.2,
            ..leaf!(
                "Fashion",
                "Dresses",
                &["Midi Dress", "Wrap Dress", "Shirt Dress", "Maxi Dress"],
                &["Florette", "Basico", "Northcoast"],
                (29.0, 149.0)
            )
        },
        Leaf {
            sizes: SHOES,
            demand: 1.3,
            ..leaf!(
                "Fashion",
                "Sneakers",
                &["Sneakers", "Running Shoes", "Canvas Trainers"],
                &["Stridex", "Northcoast", "Pacelab"],
                (39.0, 179.0)
            )
        },
        Leaf {
            sizes: CLOTHING,
            ..leaf!(
                "Fashion",
                "Jackets",
                &["Rain Jacket", "Puffer Jacket", "Denim Jacket", "Fleece"],
                &["Northcoast", "Peakform"],
                (49.0, 249.0)
            )
        },
        Leaf {
            ..leaf!(
                "Beauty",
                "Skincare",
                &[
                    "Moisturiser",
                    "Face Serum",
                    "Gentle Cleanser",
                    "SPF 50 Sunscreen"
                ],
                &["Dermaly", "Purebloom", "Aquaveil"],
                (7.0, 69.0)
            )
        },
        Leaf {
            ..leaf!(
                "Beauty",
                "Fragrance",
                &["Eau de Parfum", "Eau de Toilette", "Body Mist"],
                &["Maison Aure", "Purebloom"],
                (19.0, 159.0)
            )
        },
        Leaf {
            ..leaf!(
                "Beauty",
                "Hair Care",
                &["Shampoo", "Conditioner", "Hair Oil", "Hair Dryer"],
                &["Silkroot", "Dermaly"],
                (6.0, 129.0)
            )
        },
        Leaf {
            ..leaf!(
                "Sports & Outdoors",
                "Yoga",
                &["Yoga Mat", "Yoga Block", "Yoga Strap", "Meditation Cushion"],
                &["Zenflow", "Peakform"],
                (9.0, 89.0)
            )
        },
        Leaf {
            demand: 1.1,
            ..leaf!(
                "Sports & Outdoors",
                "Running",
                &[
                    "Running Belt",
                    "Hydration Vest",
                    "Running Socks",
                    "Reflective Armband"
                ],
                &["Pacelab", "Stridex"],
                (7.0, 99.0)
            )
        },
        Leaf {
            safety: &[],
            ..leaf!(
                "Sports & Outdoors",
                "Camping",
                &[
                    "Two-Person Tent",
                    "Sleeping Bag",
                    "Camping Lantern",
                    "Folding Chair"
                ],
                &["Trailcraft", "Peakform"],
                (19.0, 399.0)
            )
        },
        Leaf {
            safety: &["flammable"],
            demand: 0.4,
            ..leaf!(
                "Sports & Outdoors",
                "Camping Fuel",
                &["Gas Canister", "Fuel Tablets"],
                &["Trailcraft"],
                (4.0, 19.0)
            )
        },
        Leaf {
            ..leaf!(
                "Toys & Games",
                "Board Games",
                &[
                    "Strategy Game",
                    "Party Game",
                    "Family Board Game",
                    "Card Game"
                ],
                &["Meeple Works", "Gamesmith"],
                (9.0, 79.0)
            )
        },
        Leaf {
            ..leaf!(
                "Toys & Games",
                "Building Sets",
                &["Building Set", "Robot Kit", "Marble Run"],
                &["Brickforge", "Gamesmith"],
                (14.0, 199.0)
            )
        },
        Leaf {
            safety: &["small-parts"],
            ..leaf!(
                "Toys & Games",
                "Puzzles",
                &["Jigsaw Puzzle", "3D Puzzle", "Puzzle Box"],
                &["Gamesmith", "Meeple Works"],
                (7.0, 49.0)
            )
        },
        Leaf {
            ..leaf!(
                "Health",
                "Vitamins",
                &[
                    "Vitamin D3",
                    "Multivitamin",
                    "Omega-3 Capsules",
                    "Magnesium Tablets"
                ],
                &["Vitaly", "Purebloom"],
                (4.0, 29.0)
            )
        },
        Leaf {
            regulated: true,
            demand: 0.6,
            ..leaf!(
                "Health",
                "Pain Relief",
                &[
                    "Ibuprofen Tablets",
                    "Paracetamol Caplets",
                    "Pain Relief Gel"
                ],
                &["Medica", "Vitaly"],
                (2.0, 12.0)
            )
        },
        Leaf {
            ..leaf!(
                "Health",
                "First Aid",
                &["First Aid Kit", "Plasters", "Digital Thermometer"],
                &["Medica"],
                (3.0, 39.0)
            )
        },
        Leaf {
            ..leaf!(
                "Food & Drink",
                "Tea",
                &[
                    "Green Tea",
                    "English Breakfast Tea",
                    "Chai Blend",
                    "Herbal Infusion"
                ],
                &["Leafworth", "Morningcup"],
                (3.0, 24.0)
            )
        },
        Leaf {
            ..leaf!(
                "Food & Drink",
                "Coffee Beans",
                &["Espresso Beans", "Filter Coffee", "Decaf Beans"],
                &["Morningcup", "Brewhaus"],
                (6.0, 32.0)
            )
        },
        Leaf {
            regulated: true,
            safety: &["age-restricted"],
            demand: 0.7,
            ..leaf!(
                "Food & Drink",
                "Wine",
                &["Red Wine", "White Wine", "Rosé", "Sparkling Wine"],
                &["Vino Sole", "Cellar Nine"],
                (8.0, 59.0)
            )
        },
    ]
}
