//! The catalog: what the store sells, in which category, at which price and
//! tax rate.
//!
//! The catalog comes from the back office and is stored in the browser so
//! the register keeps selling offline. Everything in it is untrusted input
//! until [`Catalog::new`] has checked it: ids and texts within their limits,
//! prices non-negative and in the catalog's currency, every product pointing
//! at a tax rate and a category that exist, no barcode on two products (a
//! scan must add exactly one thing). The app renders names as text only.

use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use thiserror::Error;

/// Longest id accepted (product, category, tax rate): ids are keys, not prose.
pub const ID_LEN_MAX: usize = 64;
/// Longest product or category name: two lines of a receipt at most.
pub const NAME_LEN_MAX: usize = 200;
/// Longest barcode: GS1-128 carries at most 48 characters.
pub const BARCODE_LEN_MAX: usize = 48;
/// A tax rate above 100 % is a typing mistake (no sales tax is that high).
pub const TAX_BASIS_POINTS_MAX: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CatalogError {
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field}: contains control characters")]
    ControlCharacters { field: &'static str },
    #[error("barcode {0:?}: only letters and digits are allowed")]
    BadBarcode(String),
    #[error("tax rate {id}: {basis_points} basis points is above 100 %")]
    TaxRateTooHigh { id: String, basis_points: u32 },
    #[error("product {id}: price must not be negative")]
    NegativePrice { id: String },
    #[error("product {id}: price is in {found}, the catalog is in {expected}")]
    WrongCurrency {
        id: String,
        expected: Currency,
        found: Currency,
    },
    #[error("product {id}: unknown tax rate {tax_rate}")]
    UnknownTaxRate { id: String, tax_rate: String },
    #[error("product {id}: unknown category {category}")]
    UnknownCategory { id: String, category: String },
    #[error("duplicate {kind} id {id}")]
    DuplicateId { kind: &'static str, id: String },
    #[error("barcode {barcode} is on both {first} and {second}")]
    DuplicateBarcode {
        barcode: String,
        first: String,
        second: String,
    },
}

/// Text a person reads (names, SKUs): not blank, at most `max` characters,
/// no control characters (which would break a receipt or a log line).
pub fn check_text(field: &'static str, s: &str, max: usize) -> Result<(), CatalogError> {
    if s.trim().is_empty() {
        return Err(CatalogError::Empty { field });
    }
    if s.chars().count() > max {
        return Err(CatalogError::TooLong { field, max });
    }
    if s.chars().any(char::is_control) {
        return Err(CatalogError::ControlCharacters { field });
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Result<Self, CatalogError> {
                let s = s.into();
                check_text($field, &s, ID_LEN_MAX)?;
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = CatalogError;
            fn try_from(s: String) -> Result<Self, CatalogError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The back office's id of a product.
    ProductId, "product id"
);
string_id!(
    /// The back office's id of a category.
    CategoryId, "category id"
);
string_id!(
    /// The back office's id of a tax rate.
    TaxRateId, "tax rate id"
);

/// Whether a price already contains the tax (usual for consumer prices in
/// Europe) or the tax is added on top (usual for US sales tax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxMode {
    Inclusive,
    Exclusive,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaxRate {
    pub id: TaxRateId,
    pub name: String,
    /// Hundredths of a percent: 2000 is 20 %, 550 is 5.5 %.
    pub basis_points: u32,
    pub mode: TaxMode,
}

impl TaxRate {
    pub fn validate(&self) -> Result<(), CatalogError> {
        check_text("tax rate name", &self.name, NAME_LEN_MAX)?;
        if self.basis_points > TAX_BASIS_POINTS_MAX {
            return Err(CatalogError::TaxRateTooHigh {
                id: self.id.to_string(),
                basis_points: self.basis_points,
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    /// Unit price; includes the tax when the tax rate is inclusive.
    pub price: Money,
    pub tax_rate: TaxRateId,
    pub category: CategoryId,
    #[serde(default)]
    pub barcodes: Vec<String>,
    /// Inactive products stay in the catalog (old orders name them) but
    /// cannot be sold.
    pub active: bool,
}

impl Product {
    pub fn validate(&self) -> Result<(), CatalogError> {
        check_text("sku", &self.sku, ID_LEN_MAX)?;
        check_text("product name", &self.name, NAME_LEN_MAX)?;
        if self.price.is_negative() {
            return Err(CatalogError::NegativePrice {
                id: self.id.to_string(),
            });
        }
        for code in &self.barcodes {
            validate_barcode(code)?;
        }
        Ok(())
    }
}

/// Barcodes are what a scanner types: ASCII letters and digits only.
pub fn validate_barcode(code: &str) -> Result<(), CatalogError> {
    if code.is_empty()
        || code.len() > BARCODE_LEN_MAX
        || !code.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(CatalogError::BadBarcode(code.to_owned()));
    }
    Ok(())
}

/// One product, on its own and against the catalog: valid, priced in the
/// catalog's currency, with a tax rate and a category the catalog has.
fn check_product(
    p: &Product,
    currency: Currency,
    rates: &HashMap<TaxRateId, TaxRate>,
    category_ids: &std::collections::HashSet<CategoryId>,
) -> Result<(), CatalogError> {
    p.validate()?;
    if p.price.currency() != currency {
        return Err(CatalogError::WrongCurrency {
            id: p.id.to_string(),
            expected: currency,
            found: p.price.currency(),
        });
    }
    if !rates.contains_key(&p.tax_rate) {
        return Err(CatalogError::UnknownTaxRate {
            id: p.id.to_string(),
            tax_rate: p.tax_rate.to_string(),
        });
    }
    if !category_ids.contains(&p.category) {
        return Err(CatalogError::UnknownCategory {
            id: p.id.to_string(),
            category: p.category.to_string(),
        });
    }
    Ok(())
}

/// A checked catalog with the look-ups a register needs.
#[derive(Debug, Clone)]
pub struct Catalog {
    currency: Currency,
    categories: Vec<Category>,
    tax_rates: HashMap<TaxRateId, TaxRate>,
    products: HashMap<ProductId, Product>,
    by_barcode: HashMap<String, ProductId>,
}

impl Catalog {
    pub fn new(
        currency: Currency,
        categories: Vec<Category>,
        tax_rates: Vec<TaxRate>,
        products: Vec<Product>,
    ) -> Result<Catalog, CatalogError> {
        let mut category_ids = std::collections::HashSet::new();
        for c in &categories {
            check_text("category name", &c.name, NAME_LEN_MAX)?;
            if !category_ids.insert(c.id.clone()) {
                return Err(CatalogError::DuplicateId {
                    kind: "category",
                    id: c.id.to_string(),
                });
            }
        }
        let mut rates = HashMap::with_capacity(tax_rates.len());
        for r in tax_rates {
            r.validate()?;
            let id = r.id.clone();
            if rates.insert(id.clone(), r).is_some() {
                return Err(CatalogError::DuplicateId {
                    kind: "tax rate",
                    id: id.to_string(),
                });
            }
        }
        let mut by_id = HashMap::with_capacity(products.len());
        let mut by_barcode = HashMap::new();
        for p in products {
            check_product(&p, currency, &rates, &category_ids)?;
            for code in &p.barcodes {
                if let Some(first) = by_barcode.insert(code.clone(), p.id.clone()) {
                    return Err(CatalogError::DuplicateBarcode {
                        barcode: code.clone(),
                        first: first.to_string(),
                        second: p.id.to_string(),
                    });
                }
            }
            let id = p.id.clone();
            if by_id.insert(id.clone(), p).is_some() {
                return Err(CatalogError::DuplicateId {
                    kind: "product",
                    id: id.to_string(),
                });
            }
        }
        Ok(Catalog {
            currency,
            categories,
            tax_rates: rates,
            products: by_id,
            by_barcode,
        })
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn categories(&self) -> &[Category] {
        &self.categories
    }

    pub fn product(&self, id: &ProductId) -> Option<&Product> {
        self.products.get(id)
    }

    pub fn by_barcode(&self, code: &str) -> Option<&Product> {
        self.by_barcode
            .get(code.trim())
            .and_then(|id| self.products.get(id))
    }

    pub fn tax_rate(&self, id: &TaxRateId) -> Option<&TaxRate> {
        self.tax_rates.get(id)
    }

    /// Every tax rate, by id.
    pub fn tax_rates(&self) -> Vec<&TaxRate> {
        let mut rates: Vec<&TaxRate> = self.tax_rates.values().collect();
        crate::sorted::sort_by(&mut rates, |a, b| a.id.cmp(&b.id));
        rates
    }

    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.products.values()
    }

    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }
}

/// Small catalogs for tests, here and in the other crates' tests (feature
/// `testing`).
#[cfg(any(test, feature = "testing"))]
pub mod fixtures {
    use super::*;

    pub fn vat_standard() -> TaxRate {
        TaxRate {
            id: TaxRateId::new("vat-std").unwrap(),
            name: "VAT 20%".into(),
            basis_points: 2000,
            mode: TaxMode::Inclusive,
        }
    }

    pub fn vat_reduced() -> TaxRate {
        TaxRate {
            id: TaxRateId::new("vat-red").unwrap(),
            name: "VAT 5.5%".into(),
            basis_points: 550,
            mode: TaxMode::Inclusive,
        }
    }

    pub fn sales_tax() -> TaxRate {
        TaxRate {
            id: TaxRateId::new("sales").unwrap(),
            name: "Sales tax 8.875%".into(),
            basis_points: 888,
            mode: TaxMode::Exclusive,
        }
    }

    pub fn product(id: &str, price_minor: i64, rate: &TaxRate, barcode: &str) -> Product {
        Product {
            id: ProductId::new(id).unwrap(),
            sku: format!("SKU-{id}"),
            name: format!("Product {id}"),
            price: Money::new(price_minor, Currency::EUR).unwrap(),
            tax_rate: rate.id.clone(),
            category: CategoryId::new("general").unwrap(),
            barcodes: vec![barcode.to_owned()],
            active: true,
        }
    }

    /// Coffee 3.50 (20 % incl.), croissant 1.95 (5.5 % incl.), a mug 12.00
    /// (8.88 % excl.) and an inactive item.
    pub fn small() -> Catalog {
        let (std, red, sales) = (vat_standard(), vat_reduced(), sales_tax());
        let mut retired = product("retired", 100, &std, "4000000000009");
        retired.active = false;
        Catalog::new(
            Currency::EUR,
            vec![Category {
                id: CategoryId::new("general").unwrap(),
                name: "General".into(),
            }],
            vec![std.clone(), red.clone(), sales.clone()],
            vec![
                product("coffee", 350, &std, "4000000000016"),
                product("croissant", 195, &red, "4000000000023"),
                product("mug", 1200, &sales, "4000000000030"),
                retired,
            ],
        )
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn finds_products_by_barcode() {
        let c = small();
        assert_eq!(c.by_barcode("4000000000016").unwrap().id.as_str(), "coffee");
        assert_eq!(
            c.by_barcode(" 4000000000023\n").unwrap().id.as_str(),
            "croissant"
        );
        assert!(c.by_barcode("999").is_none());
    }

    #[test]
    fn refuses_inconsistent_catalogs() {
        let std = vat_standard();
        let cat = || {
            vec![Category {
                id: CategoryId::new("general").unwrap(),
                name: "General".into(),
            }]
        };
        let dup = Catalog::new(
            Currency::EUR,
            cat(),
            vec![std.clone()],
            vec![product("a", 1, &std, "123"), product("b", 1, &std, "123")],
        );
        assert!(matches!(dup, Err(CatalogError::DuplicateBarcode { .. })));

        let orphan = Catalog::new(
            Currency::EUR,
            cat(),
            vec![],
            vec![product("a", 1, &std, "123")],
        );
        assert!(matches!(orphan, Err(CatalogError::UnknownTaxRate { .. })));

        let mut negative = product("a", 1, &std, "123");
        negative.price = Money::new(-1, Currency::EUR).unwrap();
        assert!(matches!(
            Catalog::new(Currency::EUR, cat(), vec![std.clone()], vec![negative]),
            Err(CatalogError::NegativePrice { .. })
        ));

        let mut usd = product("a", 1, &std, "123");
        usd.price = Money::new(1, Currency::USD).unwrap();
        assert!(matches!(
            Catalog::new(Currency::EUR, cat(), vec![std.clone()], vec![usd]),
            Err(CatalogError::WrongCurrency { .. })
        ));

        let mut too_high = std.clone();
        too_high.basis_points = 10_001;
        assert!(matches!(
            Catalog::new(Currency::EUR, cat(), vec![too_high], vec![]),
            Err(CatalogError::TaxRateTooHigh { .. })
        ));
    }

    #[test]
    fn ids_and_barcodes_are_checked_where_they_enter() {
        assert!(ProductId::new("").is_err());
        assert!(ProductId::new("x".repeat(ID_LEN_MAX + 1)).is_err());
        assert!(serde_json::from_str::<ProductId>("\"a\\u0000b\"").is_err());
        assert!(validate_barcode("12 34").is_err());
        assert!(validate_barcode("<script>").is_err());
        assert!(validate_barcode("4006381333931").is_ok());
    }

    #[test]
    fn untrusted_names_are_kept_verbatim() {
        // Names are data, not markup: the catalog keeps them exactly, and the
        // app renders them as text.
        let std = vat_standard();
        let mut p = product("xss", 100, &std, "1");
        p.name = "<img src=x onerror=alert(1)>".into();
        let c = Catalog::new(
            Currency::EUR,
            vec![Category {
                id: CategoryId::new("general").unwrap(),
                name: "General".into(),
            }],
            vec![std],
            vec![p],
        )
        .unwrap();
        assert_eq!(
            c.by_barcode("1").unwrap().name,
            "<img src=x onerror=alert(1)>"
        );
    }
}
