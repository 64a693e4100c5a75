//! Demo data for a first start, and large generated catalogs for benchmarks.
//!
//! The demo store is a small café-bakery: 80 products in 8 categories, two
//! VAT rates (prices include tax), EAN-13 barcodes with valid check digits in
//! the in-store range (prefix 200), and a ninth category of card test items
//! whose prices end in the simulated terminal's magic digits, so a person can
//! walk through every card case by hand.

use crate::store::CatalogData;
use till_core::catalog::{Category, CategoryId, Product, ProductId, TaxMode, TaxRate, TaxRateId};
use till_core::money::{Currency, Money};
use till_core::staff::{check_name, hash_pin, Role, StaffId, StaffMember};

/// EAN-13 for an in-store number: `200` + 9 digits + check digit.
pub fn ean13(n: u64) -> String {
    let body = format!("200{:09}", n % 1_000_000_000);
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn rates() -> (TaxRate, TaxRate) {
    (
        TaxRate {
            id: TaxRateId::new("vat-std").unwrap(),
            name: "VAT 20%".into(),
            basis_points: 2000,
            mode: TaxMode::Inclusive,
        },
        TaxRate {
            id: TaxRateId::new("vat-food").unwrap(),
            name: "VAT 5.5%".into(),
            basis_points: 550,
            mode: TaxMode::Inclusive,
        },
    )
}

/// A product's name and its price in minor units.
type Item = (&'static str, i64);

/// (category id, name, reduced rate?, items)
const DEMO: &[(&str, &str, bool, &[Item])] = &[
    (
        "coffee",
        "Coffee",
        false,
        &[
            ("Espresso", 240),
            ("Double espresso", 320),
            ("Americano", 290),
            ("Cappuccino", 380),
            ("Café latte", 410),
            ("Flat white", 400),
            ("Macchiato", 300),
            ("Mocha", 440),
            ("Iced latte", 450),
            ("Decaf coffee", 290),
        ],
    ),
    (
        "tea",
        "Tea",
        false,
        &[
            ("English breakfast", 260),
            ("Earl Grey", 260),
            ("Green tea", 270),
            ("Peppermint tea", 270),
            ("Chamomile", 270),
            ("Chai latte", 420),
            ("Matcha latte", 460),
            ("Rooibos", 270),
            ("Iced tea", 350),
            ("Hot chocolate", 390),
        ],
    ),
    (
        "bakery",
        "Bakery",
        true,
        &[
            ("Croissant", 195),
            ("Pain au chocolat", 215),
            ("Almond croissant", 320),
            ("Cinnamon roll", 340),
            ("Blueberry muffin", 295),
            ("Baguette", 130),
            ("Sourdough loaf", 520),
            ("Rye bread", 480),
            ("Brioche", 390),
            ("Crème brûlée tart", 425),
        ],
    ),
    (
        "sandwiches",
        "Sandwiches",
        true,
        &[
            ("Ham & cheese", 595),
            ("Tuna melt", 650),
            ("Caprese", 620),
            ("Chicken club", 720),
            ("Egg & cress", 495),
            ("Falafel wrap", 640),
            ("Croque monsieur", 690),
            ("BLT", 610),
            ("Smoked salmon bagel", 780),
            ("Veggie panini", 620),
        ],
    ),
    (
        "drinks",
        "Cold drinks",
        false,
        &[
            ("Still water", 150),
            ("Sparkling water", 170),
            ("Orange juice", 350),
            ("Apple juice", 330),
            ("Lemonade", 320),
            ("Cola", 280),
            ("Ginger beer", 310),
            ("Smoothie", 520),
            ("Kombucha", 390),
            ("Iced coffee", 420),
        ],
    ),
    (
        "snacks",
        "Snacks",
        true,
        &[
            ("Crisps", 140),
            ("Granola bar", 190),
            ("Chocolate cookie", 230),
            ("Brownie", 290),
            ("Flapjack", 250),
            ("Fruit cup", 350),
            ("Yoghurt pot", 280),
            ("Mixed nuts", 320),
            ("Banana", 60),
            ("Apple", 70),
        ],
    ),
    (
        "grocery",
        "Grocery",
        true,
        &[
            ("Coffee beans 250 g", 890),
            ("Ground coffee 250 g", 850),
            ("Loose tea 100 g", 690),
            ("Honey jar", 740),
            ("Strawberry jam", 520),
            ("Oat milk 1 l", 260),
            ("Butter 250 g", 310),
            ("Free-range eggs ×6", 340),
            ("Olive oil 500 ml", 990),
            ("Sea salt", 280),
        ],
    ),
    (
        "gifts",
        "Gifts",
        false,
        &[
            ("Ceramic mug", 1200),
            ("Travel cup", 1500),
            ("Tote bag", 900),
            ("Gift card 20", 2000),
            ("Gift card 50", 5000),
            ("French press", 2900),
            ("Tea infuser", 850),
            ("Coffee grinder", 3900),
            ("Cookbook", 2400),
            ("Postcard set", 600),
        ],
    ),
    // The simulated terminal decides by the amount's last two minor-unit
    // digits; each item alone in a cart plays one case.
    (
        "card-tests",
        "Card tests",
        false,
        &[
            ("Test: card approved (…00)", 1000),
            ("Test: card declined (…51)", 1051),
            ("Test: result hidden (…52)", 1052),
            ("Test: result lost, reported to OMS (…53)", 1053),
            ("Test: terminal never answers (…54)", 1054),
            ("Test: approved after 40 s (…55)", 1055),
        ],
    ),
];

/// The demo store, in `currency` (prices are the same numbers in its minor
/// unit scale; a zero-decimal currency gets them × 1 as whole units).
pub fn demo_catalog(currency: Currency) -> CatalogData {
    let (std, food) = rates();
    let mut categories = Vec::new();
    let mut products = Vec::new();
    let mut n = 0u64;
    for (cat_id, cat_name, reduced, items) in DEMO {
        categories.push(Category {
            id: CategoryId::new(*cat_id).unwrap(),
            name: (*cat_name).into(),
        });
        for (name, price) in *items {
            n += 1;
            let rate = if *reduced { &food } else { &std };
            products.push(Product {
                id: ProductId::new(format!("p{n:04}")).unwrap(),
                sku: format!("{}-{n:03}", cat_id.to_uppercase().replace('-', "")),
                name: (*name).into(),
                price: Money::new(*price, currency).expect("demo prices are small"),
                tax_rate: rate.id.clone(),
                category: CategoryId::new(*cat_id).unwrap(),
                barcodes: vec![ean13(n)],
                active: true,
            });
        }
    }
    CatalogData {
        currency,
        categories,
        tax_rates: vec![std, food],
        products,
    }
}

const ADJECTIVES: &[&str] = &[
    "Organic",
    "Crème",
    "Fresh",
    "Smoked",
    "Café",
    "Spicy",
    "Jalapeño",
    "Golden",
    "Rustic",
    "Zesty",
    "Crunchy",
    "Déjà",
];
const NOUNS: &[&str] = &[
    "Bread", "Cheese", "Coffee", "Tea", "Soup", "Crêpe", "Salad", "Cookie", "Juice", "Pâté",
    "Muffin", "Olives",
];

/// A large deterministic catalog for benchmarks and load tests: `count`
/// products in 20 categories, names with accents (what search must handle).
pub fn generated_catalog(count: usize, currency: Currency) -> CatalogData {
    let (std, food) = rates();
    let categories: Vec<Category> = (0..20)
        .map(|i| Category {
            id: CategoryId::new(format!("cat{i:02}")).unwrap(),
            name: format!("Category {i:02}"),
        })
        .collect();
    let products = (0..count)
        .map(|i| {
            let n = i as u64 + 1;
            let adjective = ADJECTIVES[i % ADJECTIVES.len()];
            let noun = NOUNS[(i / ADJECTIVES.len()) % NOUNS.len()];
            Product {
                id: ProductId::new(format!("g{n:07}")).unwrap(),
                sku: format!("GEN-{n:07}"),
                name: format!("{adjective} {noun} {n}"),
                price: Money::new(50 + (n * 37 % 5000) as i64, currency).expect("small prices"),
                tax_rate: if i % 3 == 0 {
                    std.id.clone()
                } else {
                    food.id.clone()
                },
                category: categories[i % categories.len()].id.clone(),
                barcodes: vec![ean13(100_000_000 + n)],
                active: i % 97 != 0,
            }
        })
        .collect();
    CatalogData {
        currency,
        categories,
        tax_rates: vec![std, food],
        products,
    }
}

/// The demo store's staff: id, name, role and PIN. `cargo xtask serve`
/// prints the PINs; a real store disables these people
/// (`till-oms staff disable dana`) and adds its own.
pub const DEMO_STAFF: &[(&str, &str, Role, &str)] = &[
    ("dana", "Dana", Role::Manager, "2468"),
    ("alex", "Alex", Role::Cashier, "1357"),
    ("jo", "Jo", Role::Cashier, "8024"),
];

/// The PINs the demo staff have and the README publishes: never given to
/// anyone by `till-oms staff`.
pub fn published_pins() -> Vec<&'static str> {
    DEMO_STAFF.iter().map(|(.., pin)| *pin).collect()
}

/// Whether `pin` may be given to someone of `role` (till-core's rule, with
/// the demo PINs as the published ones), said for the command line.
pub fn check_chosen_pin(pin: &str, role: Role) -> Result<(), String> {
    till_core::staff::check_new_pin(pin, role, &published_pins())
        .map_err(|e| format!("the PIN is refused: {e}; choose another"))
}

/// A person with their PIN hashed (argon2id, a fresh random salt).
pub fn staff_member(id: &str, name: &str, role: Role, pin: &str) -> Result<StaffMember, String> {
    let salt: [u8; 16] = rand::random();
    Ok(StaffMember {
        id: StaffId::new(id).map_err(|e| format!("staff id {id:?}: {e}"))?,
        name: check_name(name).map_err(|e| format!("the name {name:?}: {e}"))?,
        role,
        pin_hash: hash_pin(pin, salt).map_err(|e| format!("the PIN of {id}: {e}"))?,
    })
}

/// The active people of `staff` who are demo staff still signing in with
/// the PIN this file (and the README) publishes: `(id, name)`.
pub fn with_published_pins(staff: &[crate::store::StaffRow]) -> Vec<(String, String)> {
    DEMO_STAFF
        .iter()
        .filter_map(|(id, _, _, pin)| {
            let row = staff
                .iter()
                .find(|r| r.active && r.member.id.as_str() == *id)?;
            let published = row.member.pin_matches(pin).unwrap_or(false);
            published.then(|| (id.to_string(), row.member.name.clone()))
        })
        .collect()
}

/// Whether `id` is a demo manager.
pub fn is_manager(id: &str) -> bool {
    DEMO_STAFF
        .iter()
        .any(|(demo, _, role, _)| *demo == id && *role == Role::Manager)
}

/// The demo staff, hashed.
pub fn demo_staff() -> Vec<StaffMember> {
    DEMO_STAFF
        .iter()
        .map(|(id, name, role, pin)| {
            staff_member(id, name, *role, pin).expect("the demo staff are valid")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use till_core::catalog::Catalog;

    #[test]
    fn the_demo_staff_with_the_published_pins_are_found_until_they_change_them() {
        let row = |m: StaffMember, active| crate::store::StaffRow {
            member: m,
            active,
            stores: Vec::new(),
        };
        let mut staff: Vec<_> = demo_staff().into_iter().map(|m| row(m, true)).collect();
        let ids = |staff: &[crate::store::StaffRow]| -> Vec<String> {
            with_published_pins(staff)
                .into_iter()
                .map(|(id, _)| id)
                .collect()
        };
        assert_eq!(ids(&staff), ["dana", "alex", "jo"]);
        staff[0].member = staff_member("dana", "Dana", Role::Manager, "97531").unwrap();
        staff[2].active = false;
        assert_eq!(ids(&staff), ["alex"], "a new PIN, or disabled");
        assert!(is_manager("dana") && !is_manager("alex") && !is_manager("sam"));
    }

    #[test]
    fn ean13_check_digits_are_valid() {
        // 4006381333931 is a well-known valid EAN-13; recompute ours the same way.
        let valid = |code: &str| {
            let sum: u32 = code
                .bytes()
                .enumerate()
                .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
                .sum();
            sum.is_multiple_of(10)
        };
        assert!(valid("4006381333931"));
        for n in [0, 1, 42, 999_999_999] {
            let code = ean13(n);
            assert_eq!(code.len(), 13);
            assert!(valid(&code), "{code}");
        }
    }

    #[test]
    fn the_demo_store_is_a_valid_catalog() {
        let d = demo_catalog(Currency::EUR);
        assert_eq!(d.products.len(), 86);
        assert_eq!(d.categories.len(), 9);
        let c = Catalog::new(d.currency, d.categories, d.tax_rates, d.products).unwrap();
        assert_eq!(c.by_barcode(&ean13(1)).unwrap().name, "Espresso");
    }

    #[test]
    fn generated_catalogs_are_valid_and_deterministic() {
        let a = generated_catalog(2_000, Currency::EUR);
        let b = generated_catalog(2_000, Currency::EUR);
        assert_eq!(a.products, b.products);
        Catalog::new(a.currency, a.categories, a.tax_rates, a.products).unwrap();
    }
}
