//! The cart: what the customer is buying, and what it costs.
//!
//! A cart is a list of lines (a product snapshot and a quantity, with an
//! optional line discount) and an optional order discount. [`Cart::totals`]
//! computes, in one place, everything a screen or receipt shows: subtotal,
//! discounts, tax per rate and the total.
//!
//! # The rounding rule
//!
//! Amounts are exact integers until something is divided; division happens
//! in exactly three places, each rounded once to the minor unit, **half away
//! from zero** ([`crate::money::div_round_half_away`], "commercial rounding",
//! what receipts and tax authorities expect):
//!
//! 1. a **percentage line discount**: `gross × bp / 10 000`, per line;
//! 2. a **percentage order discount**: of the sum of the lines after their
//!    discounts, once; the order discount (percentage or amount) is then
//!    shared across lines in proportion to their amounts by the
//!    largest-remainder method, so the shares add up to the discount exactly;
//! 3. **tax, once per tax rate** on the sum of that rate's discounted lines:
//!    `base × bp / (10 000 + bp)` for tax-inclusive prices, `base × bp / 10 000`
//!    for tax added on top.
//!
//! Why per rate and not per line: rounding each line's tax and adding the
//! results drifts by up to half a cent per line, so a long receipt could show
//! a tax that differs from "rate × taxable amount" by several cents, which is
//! what an auditor recomputes. Rounding once per rate keeps every printed tax
//! within half a minor unit of the exact figure (EU VAT practice allows
//! rounding per rate on the invoice).
//!
//! # Invariants (tested by property)
//!
//! - `total = subtotal − discounts + exclusive tax`;
//! - inclusive tax never changes the total;
//! - no amount on the cart is ever negative: a discount larger than what it
//!   discounts is refused when it is set, and if the cart shrinks afterwards
//!   (a quantity lowered, a line removed) the discount is capped at what is
//!   left, visibly, in the totals.

use crate::catalog::{
    Catalog, Product, ProductId, TaxMode, TaxRate, TaxRateId, TAX_BASIS_POINTS_MAX,
};
use crate::ids::OrderId;
use crate::money::{div_round_half_away, Currency, Money, MoneyError};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most lines on one cart. A real basket rarely exceeds 100; the limit keeps
/// a stuck scanner from filling IndexedDB and the receipt printer.
pub const LINES_MAX: usize = 500;
/// Most units of one product on one line: four digits on the keypad.
pub const QUANTITY_MAX: u32 = 9_999;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CartError {
    #[error("no product with barcode {0}")]
    UnknownBarcode(String),
    #[error("no product with id {0}")]
    UnknownProduct(String),
    #[error("{0} is no longer sold")]
    Inactive(String),
    #[error("{name} is priced in {found}; this register sells in {expected}")]
    WrongCurrency {
        name: String,
        expected: Currency,
        found: Currency,
    },
    #[error("the tax rate of {0} is missing from the catalog")]
    MissingTaxRate(String),
    #[error("a cart holds at most {LINES_MAX} lines")]
    TooManyLines,
    #[error("quantity must be between 1 and {QUANTITY_MAX}")]
    QuantityOutOfRange,
    #[error("{0} is not in the cart")]
    NotInCart(String),
    #[error("a discount cannot be more than 100 %")]
    PercentTooHigh,
    #[error("{0:?} is not a percentage (e.g. 10 or 12.5)")]
    BadPercent(String),
    #[error("a discount cannot be negative")]
    NegativeDiscount,
    #[error("the discount ({discount}) is more than the amount it applies to ({amount})")]
    DiscountExceedsAmount { discount: Money, amount: Money },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// A discount on a line or on the whole order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Discount {
    /// Hundredths of a percent: 1000 is 10 %.
    Percent { basis_points: u32 },
    /// A fixed amount off.
    Amount { amount: Money },
}

impl Discount {
    fn check(&self, currency: Currency) -> Result<(), CartError> {
        match self {
            Discount::Percent { basis_points } if *basis_points > 10_000 => {
                Err(CartError::PercentTooHigh)
            }
            Discount::Amount { amount } if amount.is_negative() => Err(CartError::NegativeDiscount),
            Discount::Amount { amount } if amount.currency() != currency => {
                Err(MoneyError::CurrencyMismatch {
                    left: currency,
                    right: amount.currency(),
                }
                .into())
            }
            _ => Ok(()),
        }
    }

    /// The discount on `amount`, rounded once, capped at `amount`.
    fn applied_to(&self, amount: Money) -> Result<Money, CartError> {
        let minor = match self {
            Discount::Percent { basis_points } => {
                let d = div_round_half_away(
                    i128::from(amount.minor()) * i128::from(*basis_points),
                    10_000,
                );
                i64::try_from(d).map_err(|_| MoneyError::Overflow)?
            }
            Discount::Amount { amount: off } => off.minor(),
        };
        Ok(Money::new(minor.min(amount.minor()), amount.currency())?)
    }
}

/// Parses a percentage a person typed ("10", "12.5", "7,25") into basis
/// points, without floats: at most two decimals, from 0 to 100.
pub fn parse_percent(input: &str) -> Result<u32, CartError> {
    let s = input.trim().trim_end_matches('%').trim();
    let (whole, frac) = s.split_once(['.', ',']).unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if s.is_empty()
        || !digits(whole)
        || !digits(frac)
        || frac.len() > 2
        || whole.len() > 3
        || (whole.is_empty() && frac.is_empty())
    {
        return Err(CartError::BadPercent(input.to_owned()));
    }
    let whole: u32 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| CartError::BadPercent(input.to_owned()))?
    };
    let frac: u32 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| CartError::BadPercent(input.to_owned()))?;
    let bp = whole * 100 + frac;
    if bp > 10_000 {
        return Err(CartError::PercentTooHigh);
    }
    Ok(bp)
}

/// A percentage discount field as a person filled it: empty is no
/// discount, anything else a percentage ([`parse_percent`]).
pub fn parse_discount(input: &str) -> Result<Option<Discount>, CartError> {
    if input.trim().is_empty() {
        return Ok(None);
    }
    parse_percent(input).map(|basis_points| Some(Discount::Percent { basis_points }))
}

/// What a percentage discount field shows for `discount` (empty for none,
/// or for an amount off, which has its own field).
pub fn discount_field(discount: Option<&Discount>) -> String {
    match discount {
        Some(Discount::Percent { basis_points }) => crate::money::percent_number(*basis_points),
        _ => String::new(),
    }
}

/// One line of the cart: a snapshot of the product as it was sold (a later
/// price change in the catalog does not change a cart or an order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: Money,
    pub tax_rate: TaxRate,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    /// The catalog's price, kept while the cashier charges another
    /// (`unit_price`): a price override, which needs a manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_price: Option<Money>,
}

impl CartLine {
    /// Unit price × quantity, before discounts.
    pub fn gross(&self) -> Result<Money, MoneyError> {
        self.unit_price.checked_mul(i64::from(self.quantity))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub currency: Currency,
    pub lines: Vec<CartLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_discount: Option<Discount>,
    /// A manager's approvals of what is in the cart (a large discount);
    /// the order keeps them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<crate::staff::Approval>,
}

/// The amounts of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTotals {
    pub gross: Money,
    pub discount: Money,
    /// This line's share of the order discount.
    pub order_discount_share: Money,
    /// gross − discount − order discount share: what the customer pays for
    /// the line (before exclusive tax).
    pub net: Money,
}

impl LineTotals {
    /// What the cart shows on the line: its gross less its own discount
    /// (the order discount's share is shown in the totals).
    pub fn after_discount(&self) -> Result<Money, MoneyError> {
        self.gross.checked_sub(self.discount)
    }
}

/// The tax of one rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub rate_id: TaxRateId,
    pub name: String,
    pub basis_points: u32,
    pub mode: TaxMode,
    /// The discounted amount of this rate's lines (tax included when the
    /// mode is inclusive).
    pub base: Money,
    pub tax: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Σ line gross.
    pub subtotal: Money,
    /// Σ line discounts + order discount.
    pub discounts: Money,
    /// The part of `discounts` that is the order discount.
    pub order_discount: Money,
    /// One entry per tax rate used, in the order the rates first appear.
    pub taxes: Vec<TaxLine>,
    /// Σ tax of exclusive rates: the only tax that adds to the total.
    pub exclusive_tax: Money,
    pub total: Money,
    pub lines: Vec<LineTotals>,
}

impl Totals {
    /// Σ tax of all rates, inclusive and exclusive: the receipt's "Tax".
    pub fn tax(&self) -> Result<Money, MoneyError> {
        Money::sum(self.total.currency(), self.taxes.iter().map(|t| t.tax))
    }
}

impl Cart {
    pub fn new(currency: Currency) -> Cart {
        Cart {
            currency,
            lines: Vec::new(),
            order_discount: None,
            approvals: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// An empty sale sells in the catalog's currency (a register whose
    /// catalog changed currency sells in the new one); a cart with lines
    /// keeps its own. Whether the cart changed.
    pub fn adopt_currency(&mut self, currency: Currency) -> bool {
        let changes = self.is_empty() && self.currency != currency;
        if changes {
            self.currency = currency;
        }
        changes
    }

    /// Number of units in the cart.
    pub fn item_count(&self) -> u64 {
        self.lines.iter().map(|l| u64::from(l.quantity)).sum()
    }

    /// Adds one unit of a product: a new line, or one more on its line.
    pub fn add_product(&mut self, product: &Product, rate: &TaxRate) -> Result<(), CartError> {
        if !product.active {
            return Err(CartError::Inactive(product.name.clone()));
        }
        if product.price.currency() != self.currency {
            return Err(CartError::WrongCurrency {
                name: product.name.clone(),
                expected: self.currency,
                found: product.price.currency(),
            });
        }
        if rate.id != product.tax_rate || rate.basis_points > TAX_BASIS_POINTS_MAX {
            return Err(CartError::MissingTaxRate(product.name.clone()));
        }
        if let Some(i) = self.position(&product.id) {
            let q = self.lines[i].quantity + 1;
            return self.set_quantity(&product.id, q);
        }
        if self.lines.len() >= LINES_MAX {
            return Err(CartError::TooManyLines);
        }
        self.lines.push(CartLine {
            product_id: product.id.clone(),
            sku: product.sku.clone(),
            name: product.name.clone(),
            unit_price: product.price,
            tax_rate: rate.clone(),
            quantity: 1,
            discount: None,
            list_price: None,
        });
        Ok(())
    }

    /// Adds one unit of the catalog product with this id.
    pub fn add_by_id(&mut self, catalog: &Catalog, id: &ProductId) -> Result<&CartLine, CartError> {
        let product = catalog
            .product(id)
            .ok_or_else(|| CartError::UnknownProduct(id.to_string()))?;
        self.add_from_catalog(catalog, product)
    }

    /// Adds one unit of the product a scanner read.
    pub fn add_by_barcode(
        &mut self,
        catalog: &Catalog,
        code: &str,
    ) -> Result<&CartLine, CartError> {
        let product = catalog
            .by_barcode(code)
            .ok_or_else(|| CartError::UnknownBarcode(code.trim().to_owned()))?;
        self.add_from_catalog(catalog, product)
    }

    fn add_from_catalog(
        &mut self,
        catalog: &Catalog,
        product: &Product,
    ) -> Result<&CartLine, CartError> {
        let rate = catalog
            .tax_rate(&product.tax_rate)
            .ok_or_else(|| CartError::MissingTaxRate(product.name.clone()))?;
        self.add_product(product, rate)?;
        let i = self.position(&product.id).expect("the line was just added");
        Ok(&self.lines[i])
    }

    fn position(&self, id: &ProductId) -> Option<usize> {
        self.lines.iter().position(|l| &l.product_id == id)
    }

    /// Sets a line's quantity; 0 removes the line.
    pub fn set_quantity(&mut self, id: &ProductId, quantity: u32) -> Result<(), CartError> {
        let i = self
            .position(id)
            .ok_or_else(|| CartError::NotInCart(id.to_string()))?;
        if quantity == 0 {
            self.lines.remove(i);
            return Ok(());
        }
        if quantity > QUANTITY_MAX {
            return Err(CartError::QuantityOutOfRange);
        }
        let mut line = self.lines[i].clone();
        line.quantity = quantity;
        // The line's amount must stay representable before we commit to it.
        line.gross()?;
        self.lines[i] = line;
        Ok(())
    }

    pub fn remove(&mut self, id: &ProductId) -> Result<(), CartError> {
        self.set_quantity(id, 0)
    }

    /// Sets or clears a line's discount. A discount larger than the line is
    /// refused.
    pub fn set_line_discount(
        &mut self,
        id: &ProductId,
        discount: Option<Discount>,
    ) -> Result<(), CartError> {
        let i = self
            .position(id)
            .ok_or_else(|| CartError::NotInCart(id.to_string()))?;
        if let Some(d) = &discount {
            d.check(self.currency)?;
            let gross = self.lines[i].gross()?;
            if let Discount::Amount { amount } = d {
                if amount.minor() > gross.minor() {
                    return Err(CartError::DiscountExceedsAmount {
                        discount: *amount,
                        amount: gross,
                    });
                }
            }
        }
        self.lines[i].discount = discount;
        Ok(())
    }

    /// Charges `price` for each unit of a line instead of the catalog's (a
    /// price override), or (`None`) puts the catalog's price back. The line
    /// keeps the catalog's price beside it while overridden; an amount
    /// discount larger than the line at its new price is refused.
    pub fn set_price(&mut self, id: &ProductId, price: Option<Money>) -> Result<(), CartError> {
        let i = self
            .position(id)
            .ok_or_else(|| CartError::NotInCart(id.to_string()))?;
        let mut line = self.lines[i].clone();
        let list = line.list_price.unwrap_or(line.unit_price);
        let price = price.unwrap_or(list);
        if price.currency() != self.currency {
            let (left, right) = (self.currency, price.currency());
            return Err(MoneyError::CurrencyMismatch { left, right }.into());
        }
        if price.is_negative() {
            return Err(MoneyError::Negative.into());
        }
        line.unit_price = price;
        line.list_price = (price != list).then_some(list);
        let gross = line.gross()?;
        if let Some(Discount::Amount { amount }) = line.discount {
            if amount.minor() > gross.minor() {
                let (discount, amount) = (amount, gross);
                return Err(CartError::DiscountExceedsAmount { discount, amount });
            }
        }
        self.lines[i] = line;
        Ok(())
    }

    /// Whether this cart charges a price `before` did not: a line
    /// overridden anew, or to another price (what a manager approves).
    pub fn overrides_beyond(&self, before: Option<&Cart>) -> bool {
        self.lines.iter().any(|l| {
            l.list_price.is_some()
                && !before.is_some_and(|b| {
                    b.lines
                        .iter()
                        .any(|p| p.product_id == l.product_id && p.unit_price == l.unit_price)
                })
        })
    }

    /// Sets or clears the order discount. An amount larger than the cart
    /// (after line discounts) is refused.
    pub fn set_order_discount(&mut self, discount: Option<Discount>) -> Result<(), CartError> {
        if let Some(d) = &discount {
            d.check(self.currency)?;
            if let Discount::Amount { amount } = d {
                let totals = self.totals()?;
                let after_lines = totals
                    .subtotal
                    .checked_sub(totals.discounts)?
                    .checked_add(totals.order_discount)?;
                if amount.minor() > after_lines.minor() {
                    return Err(CartError::DiscountExceedsAmount {
                        discount: *amount,
                        amount: after_lines,
                    });
                }
            }
        }
        self.order_discount = discount;
        Ok(())
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.order_discount = None;
        self.approvals.clear();
    }

    /// Everything the cart costs. See the module docs for the rounding rule.
    pub fn totals(&self) -> Result<Totals, CartError> {
        compute_totals(self.currency, &self.lines, self.order_discount.as_ref())
    }

    /// The largest discount a line gets, in basis points of its gross: its
    /// own discount and the order discount together, as the customer gets
    /// them (20 % off a line and then 20 % off the order is 36 % off that
    /// line, which a 20 % threshold must see). Each discount counts as its
    /// percentage, or an amount off as its share of what it is taken from
    /// (a line's gross; for the order discount, what is left after the
    /// lines'), rounded up. 0 when nothing is discounted.
    pub fn largest_discount_bp(&self) -> Result<u32, CartError> {
        Ok(self
            .line_discounts()?
            .into_iter()
            .map(|(bp, _)| bp)
            .max()
            .unwrap_or(0))
    }

    /// Each line's discount as the customer gets it: in basis points of
    /// its gross (as [`Cart::largest_discount_bp`] counts it), and the
    /// money off it, all discounts together.
    pub fn line_discounts(&self) -> Result<Vec<(u32, Money)>, CartError> {
        let t = self.totals()?;
        let line_discounts = t.discounts.checked_sub(t.order_discount)?;
        let after_lines = t.subtotal.checked_sub(line_discounts)?;
        let order = match &self.order_discount {
            Some(Discount::Percent { basis_points }) => *basis_points,
            Some(Discount::Amount { .. }) => share_bp(t.order_discount, after_lines),
            None => 0,
        };
        self.lines
            .iter()
            .zip(&t.lines)
            .map(|(l, lt)| {
                let own = match &l.discount {
                    Some(Discount::Percent { basis_points }) => *basis_points,
                    Some(Discount::Amount { .. }) => share_bp(lt.discount, lt.gross),
                    None => 0,
                };
                Ok((
                    combined_bp(own, order),
                    lt.discount.checked_add(lt.order_discount_share)?,
                ))
            })
            .collect()
    }

    /// The lines whose discount is above `threshold_bp` and that no
    /// manager's approval here covers: an approval covers a line of the
    /// same product with at least its discount and at least its money off
    /// (one approved before approvals named their lines covers any line
    /// up to its percentage). What a manager is asked to approve.
    pub fn unapproved_discounts(
        &self,
        threshold_bp: u32,
    ) -> Result<Vec<crate::staff::DiscountGrant>, CartError> {
        let covered = |l: &CartLine, bp: u32, off: Money| {
            self.approvals.iter().any(|a| {
                let granted = a.lines.iter().any(|g| {
                    g.product_id == l.product_id && g.basis_points >= bp && g.off.minor() >= off.minor()
                });
                let before = a.lines.is_empty()
                    && matches!(a.what, crate::staff::Guarded::Discount { basis_points: b } if b >= bp);
                granted || before
            })
        };
        Ok(self
            .lines
            .iter()
            .zip(self.line_discounts()?)
            .filter(|(l, (bp, off))| *bp > threshold_bp && !covered(l, *bp, *off))
            .map(|(l, (basis_points, off))| crate::staff::DiscountGrant {
                product_id: l.product_id.clone(),
                basis_points,
                off,
            })
            .collect())
    }

    /// Keeps a manager's approval; a discount's names the lines it
    /// approves as they are now (those above `threshold_bp`).
    pub fn approve(&mut self, mut approval: crate::staff::Approval, threshold_bp: u32) {
        if matches!(approval.what, crate::staff::Guarded::Discount { .. }) {
            approval.lines = self.unapproved_discounts(threshold_bp).unwrap_or_default();
        }
        self.approvals.push(approval);
    }
}

/// Two discounts taken one after the other, as one, in basis points:
/// a + b − a·b, the product rounded down (so the whole rounds up).
pub fn combined_bp(a: u32, b: u32) -> u32 {
    let (a, b) = (u64::from(a.min(10_000)), u64::from(b.min(10_000)));
    u32::try_from(a + b - a * b / 10_000).unwrap_or(10_000)
}

/// `part` of `whole` in basis points, rounded up (0 of nothing is 0).
fn share_bp(part: Money, whole: Money) -> u32 {
    if whole.minor() <= 0 || part.minor() <= 0 {
        return 0;
    }
    let bp = (i128::from(part.minor()) * 10_000 + i128::from(whole.minor()) - 1)
        / i128::from(whole.minor());
    u32::try_from(bp.min(10_000)).unwrap_or(10_000)
}

/// The totals of a list of lines: shared by the cart and by the validation
/// of an order received from elsewhere.
pub fn compute_totals(
    currency: Currency,
    lines: &[CartLine],
    order_discount: Option<&Discount>,
) -> Result<Totals, CartError> {
    // 1. Gross and line discounts, exact except for percentage rounding.
    let (gross, line_discount) = line_amounts(currency, lines)?;
    let after_line_discount = gross
        .iter()
        .zip(&line_discount)
        .map(|(g, d)| g.checked_sub(*d))
        .collect::<Result<Vec<Money>, MoneyError>>()?;
    let subtotal = Money::sum(currency, gross.iter().copied())?;

    // 2. Order discount, capped at what is left, shared by largest remainder.
    let order_off = match order_discount {
        Some(d) => {
            d.check(currency)?;
            d.applied_to(Money::sum(currency, after_line_discount.iter().copied())?)?
        }
        None => Money::zero(currency),
    };
    let shares = allocate(
        order_off.minor(),
        &after_line_discount
            .iter()
            .map(Money::minor)
            .collect::<Vec<_>>(),
    );
    let line_totals = (0..lines.len())
        .map(|i| {
            let share = Money::new(shares[i], currency)?;
            Ok(LineTotals {
                gross: gross[i],
                discount: line_discount[i],
                order_discount_share: share,
                net: after_line_discount[i].checked_sub(share)?,
            })
        })
        .collect::<Result<Vec<LineTotals>, MoneyError>>()?;

    // 3. Tax once per rate, in order of first appearance.
    let taxes = taxes_of(currency, lines, &line_totals)?;
    let exclusive_tax = Money::sum(
        currency,
        taxes
            .iter()
            .filter(|x| x.mode == TaxMode::Exclusive)
            .map(|x| x.tax),
    )?;

    let line_discounts = Money::sum(currency, line_discount.iter().copied())?;
    let discounts = line_discounts.checked_add(order_off)?;
    let total = subtotal
        .checked_sub(discounts)?
        .checked_add(exclusive_tax)?;
    debug_assert!(
        !total.is_negative(),
        "discounts are capped, so a total cannot be negative"
    );
    Ok(Totals {
        subtotal,
        discounts,
        order_discount: order_off,
        taxes,
        exclusive_tax,
        total,
        lines: line_totals,
    })
}

/// Each line's gross and its own discount, checked: the line is in the
/// cart's currency, its quantity in range, its discount valid.
fn line_amounts(
    currency: Currency,
    lines: &[CartLine],
) -> Result<(Vec<Money>, Vec<Money>), CartError> {
    let mut gross = Vec::with_capacity(lines.len());
    let mut line_discount = Vec::with_capacity(lines.len());
    for line in lines {
        if line.unit_price.currency() != currency {
            return Err(MoneyError::CurrencyMismatch {
                left: currency,
                right: line.unit_price.currency(),
            }
            .into());
        }
        if line.quantity == 0 || line.quantity > QUANTITY_MAX {
            return Err(CartError::QuantityOutOfRange);
        }
        let g = line.gross()?;
        let d = match &line.discount {
            Some(d) => {
                d.check(currency)?;
                d.applied_to(g)?
            }
            None => Money::zero(currency),
        };
        gross.push(g);
        line_discount.push(d);
    }
    Ok((gross, line_discount))
}

/// One tax line per rate, in order of first appearance, each computed once
/// over the nets of its lines (inclusive or exclusive of the rate).
fn taxes_of(
    currency: Currency,
    lines: &[CartLine],
    line_totals: &[LineTotals],
) -> Result<Vec<TaxLine>, MoneyError> {
    let zero = Money::zero(currency);
    let mut taxes: Vec<TaxLine> = Vec::new();
    for (line, t) in lines.iter().zip(line_totals) {
        match taxes.iter_mut().find(|x| x.rate_id == line.tax_rate.id) {
            Some(x) => x.base = x.base.checked_add(t.net)?,
            None => taxes.push(TaxLine {
                rate_id: line.tax_rate.id.clone(),
                name: line.tax_rate.name.clone(),
                basis_points: line.tax_rate.basis_points,
                mode: line.tax_rate.mode,
                base: t.net,
                tax: zero,
            }),
        }
    }
    for x in &mut taxes {
        let base = i128::from(x.base.minor());
        let bp = i128::from(x.basis_points);
        let tax = match x.mode {
            TaxMode::Inclusive => div_round_half_away(base * bp, 10_000 + bp),
            TaxMode::Exclusive => div_round_half_away(base * bp, 10_000),
        };
        x.tax = Money::new(
            i64::try_from(tax).map_err(|_| MoneyError::Overflow)?,
            currency,
        )?;
    }
    Ok(taxes)
}

/// Splits `amount` across `weights` in proportion, by the largest-remainder
/// method: each part is floored, then the units left over go to the largest
/// remainders (earlier lines first on ties). The parts add up to `amount`
/// exactly and no part exceeds its weight when `amount <= Σ weights`.
fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if amount == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = i128::from(amount) * i128::from(*w);
        parts.push(exact / total);
        remainders.push((exact % total, i));
    }
    let mut left = i128::from(amount) - parts.iter().sum::<i128>();
    crate::sorted::sort_by(&mut remainders, |a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    // Each part is at most amount ≤ i64::MAX.
    parts.into_iter().map(|p| p as i64).collect()
}

/// The sale being rung up: the id its order will have, and its cart. Stored
/// as one record, so the id survives a reload with the cart: a tap that is
/// repeated (double tap, retry after a reload) names the same order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub id: OrderId,
    pub cart: Cart,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::fixtures::{self, small};
    use crate::money::percent_text;
    use proptest::prelude::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR).unwrap()
    }

    fn pid(s: &str) -> ProductId {
        ProductId::new(s).unwrap()
    }

    #[test]
    fn a_discount_field_reads_empty_as_none_and_shows_what_it_holds() {
        assert_eq!(parse_discount("  "), Ok(None));
        let ten = Discount::Percent { basis_points: 1000 };
        assert_eq!(parse_discount("10"), Ok(Some(ten)));
        assert!(parse_discount("ten").is_err());
        assert_eq!(discount_field(Some(&ten)), "10");
        assert_eq!(discount_field(None), "");
        let off = Discount::Amount { amount: eur(100) };
        assert_eq!(discount_field(Some(&off)), "");
    }

    #[test]
    fn adds_by_id_and_barcode_and_merges_lines() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap();
        cart.add_by_barcode(&c, "4000000000016").unwrap();
        cart.add_by_barcode(&c, "4000000000023").unwrap();
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(cart.lines[0].quantity, 2);
        assert_eq!(cart.item_count(), 3);
        assert_eq!(
            cart.add_by_barcode(&c, "000").unwrap_err(),
            CartError::UnknownBarcode("000".into())
        );
        assert!(matches!(
            cart.add_by_id(&c, &pid("retired")),
            Err(CartError::Inactive(_))
        ));
        assert!(matches!(
            cart.add_by_id(&c, &pid("nope")),
            Err(CartError::UnknownProduct(_))
        ));
    }

    #[test]
    fn a_price_override_keeps_the_catalog_price_and_can_be_undone() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap();
        let before = cart.clone();
        cart.set_price(&pid("coffee"), Some(eur(300))).unwrap();
        assert_eq!(
            (cart.lines[0].unit_price, cart.lines[0].list_price),
            (eur(300), Some(eur(350)))
        );
        assert_eq!(cart.totals().unwrap().total, eur(300));
        assert!(cart.overrides_beyond(Some(&before)) && cart.overrides_beyond(None));
        assert!(
            !cart.overrides_beyond(Some(&cart.clone())),
            "the same price again"
        );
        // Another override still remembers the catalog's price.
        cart.set_price(&pid("coffee"), Some(eur(280))).unwrap();
        assert_eq!(cart.lines[0].list_price, Some(eur(350)));
        cart.set_price(&pid("coffee"), Some(eur(350))).unwrap();
        assert_eq!(
            cart, before,
            "the catalog's price typed back is no override"
        );
        cart.set_price(&pid("coffee"), Some(eur(100))).unwrap();
        cart.set_price(&pid("coffee"), None).unwrap();
        assert_eq!(cart, before);
        assert_eq!(
            cart.set_price(&pid("coffee"), Some(eur(-1))),
            Err(MoneyError::Negative.into())
        );
        let usd = Money::new(300, Currency::USD).unwrap();
        assert!(cart.set_price(&pid("coffee"), Some(usd)).is_err());
        cart.set_line_discount(&pid("coffee"), Some(Discount::Amount { amount: eur(200) }))
            .unwrap();
        assert!(matches!(
            cart.set_price(&pid("coffee"), Some(eur(150))),
            Err(CartError::DiscountExceedsAmount { .. })
        ));
        assert!(
            cart.set_price(&pid("tea"), Some(eur(1))).is_err(),
            "not in the cart"
        );
    }

    #[test]
    fn quantity_edits_and_removal() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap();
        cart.set_quantity(&pid("coffee"), 5).unwrap();
        assert_eq!(cart.totals().unwrap().total, eur(1750));
        assert_eq!(
            cart.set_quantity(&pid("coffee"), QUANTITY_MAX + 1),
            Err(CartError::QuantityOutOfRange)
        );
        assert_eq!(cart.lines[0].quantity, 5, "a refused edit changes nothing");
        cart.set_quantity(&pid("coffee"), 0).unwrap();
        assert!(cart.is_empty());
        assert!(matches!(
            cart.remove(&pid("coffee")),
            Err(CartError::NotInCart(_))
        ));
    }

    #[test]
    fn inclusive_tax_is_extracted_once_per_rate() {
        // 3 coffees at 3.50 incl. 20 %: base 10.50, tax 10.50 × 20/120 = 1.75.
        // Per line it would be 3 × round(0.5833) = 1.74: the per-rate rule
        // keeps the tax within half a cent of the exact figure.
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        for _ in 0..3 {
            cart.add_by_id(&c, &pid("coffee")).unwrap();
        }
        let t = cart.totals().unwrap();
        assert_eq!(t.total, eur(1050));
        assert_eq!(t.taxes.len(), 1);
        assert_eq!(t.taxes[0].tax, eur(175));
        assert_eq!(t.exclusive_tax, eur(0));
    }

    #[test]
    fn exclusive_tax_is_added_and_rounded_half_away_from_zero() {
        // A 12.00 mug at 8.88 % on top: 106.56 → 107 cents of tax.
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("mug")).unwrap();
        let t = cart.totals().unwrap();
        assert_eq!(t.taxes[0].tax, eur(107));
        assert_eq!(t.total, eur(1307));
        // 2 mugs: 213.12 → 213.
        cart.set_quantity(&pid("mug"), 2).unwrap();
        assert_eq!(cart.totals().unwrap().taxes[0].tax, eur(213));
    }

    #[test]
    fn a_half_cent_rounds_up() {
        // base 25 at 2 % exclusive = 0.5 → 1; at 2 % it is exactly one half.
        let mut rate = fixtures::sales_tax();
        rate.basis_points = 200;
        let mut p = fixtures::product("gum", 25, &rate, "1");
        p.tax_rate = rate.id.clone();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_product(&p, &rate).unwrap();
        assert_eq!(cart.totals().unwrap().taxes[0].tax, eur(1));
    }

    #[test]
    fn line_and_order_discounts() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap(); // 3.50
        cart.add_by_id(&c, &pid("croissant")).unwrap(); // 1.95
        cart.set_line_discount(
            &pid("coffee"),
            Some(Discount::Percent { basis_points: 1000 }),
        )
        .unwrap(); // −0.35
        cart.set_order_discount(Some(Discount::Amount { amount: eur(100) }))
            .unwrap(); // −1.00
        let t = cart.totals().unwrap();
        assert_eq!(t.subtotal, eur(545));
        assert_eq!(t.discounts, eur(135));
        assert_eq!(t.order_discount, eur(100));
        assert_eq!(t.total, eur(410));
        // 1.00 shared 315 : 195 → 61.76 / 38.24 → 62 / 38
        assert_eq!(t.lines[0].order_discount_share, eur(62));
        assert_eq!(t.lines[1].order_discount_share, eur(38));
        // Tax per rate on the discounted bases: 2.53 × 20/120 = 0.4217, 1.57 × 5.5/105.5 = 0.0818
        assert_eq!(t.taxes[0].base, eur(253));
        assert_eq!(t.taxes[0].tax, eur(42));
        assert_eq!(t.taxes[1].base, eur(157));
        assert_eq!(t.taxes[1].tax, eur(8));
    }

    #[test]
    fn discounts_that_exceed_their_amount_are_refused_then_capped() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap();
        cart.add_by_id(&c, &pid("coffee")).unwrap(); // 7.00
        assert!(matches!(
            cart.set_line_discount(&pid("coffee"), Some(Discount::Amount { amount: eur(701) })),
            Err(CartError::DiscountExceedsAmount { .. })
        ));
        assert_eq!(
            cart.set_line_discount(
                &pid("coffee"),
                Some(Discount::Percent {
                    basis_points: 10_001
                })
            ),
            Err(CartError::PercentTooHigh)
        );
        assert_eq!(
            cart.set_line_discount(&pid("coffee"), Some(Discount::Amount { amount: eur(-1) })),
            Err(CartError::NegativeDiscount)
        );
        cart.set_line_discount(&pid("coffee"), Some(Discount::Amount { amount: eur(500) }))
            .unwrap();
        // Lowering the quantity leaves a 5.00 discount on a 3.50 line: capped.
        cart.set_quantity(&pid("coffee"), 1).unwrap();
        let t = cart.totals().unwrap();
        assert_eq!(t.discounts, eur(350));
        assert_eq!(t.total, eur(0));
        assert!(matches!(
            cart.set_order_discount(Some(Discount::Amount { amount: eur(1) })),
            Err(CartError::DiscountExceedsAmount { .. })
        ));
    }

    #[test]
    fn a_product_in_another_currency_is_refused() {
        let c = small();
        let mut cart = Cart::new(Currency::USD);
        assert!(matches!(
            cart.add_by_id(&c, &pid("coffee")),
            Err(CartError::WrongCurrency { .. })
        ));
    }

    #[test]
    fn the_largest_discount_is_its_percentage_or_the_share_an_amount_takes() {
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&small(), &pid("coffee")).unwrap(); // €3.50
        cart.add_by_id(&small(), &pid("croissant")).unwrap(); // €1.95
        assert_eq!(cart.largest_discount_bp(), Ok(0));
        cart.set_line_discount(&pid("coffee"), Some(Discount::Amount { amount: eur(100) }))
            .unwrap();
        // €1.00 of €3.50 is 28.57…%, rounded up.
        assert_eq!(cart.largest_discount_bp(), Ok(2858));
        cart.set_order_discount(Some(Discount::Percent {
            basis_points: 3_000,
        }))
        .unwrap();
        // The coffee gets both: 28.58 % off, then 30 % off what is left.
        assert_eq!(cart.largest_discount_bp(), Ok(5_001));
        assert_eq!(percent_text(2_500), "25 %");
        assert_eq!(percent_text(1_250), "12.5 %");
        assert_eq!(percent_text(2_858), "28.58 %");
    }

    #[test]
    fn a_line_discount_and_the_order_discount_count_together() {
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&small(), &pid("coffee")).unwrap();
        cart.add_by_id(&small(), &pid("croissant")).unwrap();
        let twenty = || {
            Some(Discount::Percent {
                basis_points: 2_000,
            })
        };
        cart.set_line_discount(&pid("coffee"), twenty()).unwrap();
        assert_eq!(cart.largest_discount_bp(), Ok(2_000));
        cart.set_order_discount(twenty()).unwrap();
        assert_eq!(
            cart.largest_discount_bp(),
            Ok(3_600),
            "20 % and 20 % is 36 % off the coffee: over a 20 % threshold"
        );
        cart.set_line_discount(&pid("coffee"), None).unwrap();
        assert_eq!(cart.largest_discount_bp(), Ok(2_000));
    }

    #[test]
    fn combined_discounts_are_never_less_than_either_and_never_over_all() {
        for a in (0..=10_000).step_by(125) {
            for b in (0..=10_000).step_by(125) {
                let c = combined_bp(a, b);
                assert!(c >= a.max(b) && c <= 10_000, "{a} {b} {c}");
                assert_eq!(c, combined_bp(b, a));
                // At least what the customer gets off: 1 − (1 − a)(1 − b).
                let exact = 10_000u64 * 10_000 - u64::from(10_000 - a) * u64::from(10_000 - b);
                assert!(u64::from(c) * 10_000 >= exact, "{a} {b} {c}");
            }
        }
    }

    #[test]
    fn percentages_are_parsed_without_floats() {
        assert_eq!(parse_percent("10"), Ok(1000));
        assert_eq!(parse_percent("12.5"), Ok(1250));
        assert_eq!(parse_percent(" 7,25 %"), Ok(725));
        assert_eq!(parse_percent("100"), Ok(10_000));
        assert_eq!(parse_percent("0"), Ok(0));
        assert_eq!(parse_percent("100.01"), Err(CartError::PercentTooHigh));
        for bad in ["", "-5", "abc", "1.234", "1e2", "1000", "."] {
            assert!(parse_percent(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allocation_adds_up_and_breaks_ties_in_line_order() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
        assert_eq!(allocate(7, &[0, 10]), vec![0, 7]);
    }

    #[test]
    fn the_cart_survives_a_json_round_trip() {
        // The app stores the open cart in IndexedDB as JSON on every change.
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("mug")).unwrap();
        cart.set_order_discount(Some(Discount::Percent { basis_points: 500 }))
            .unwrap();
        let json = serde_json::to_string(&cart).unwrap();
        assert_eq!(serde_json::from_str::<Cart>(&json).unwrap(), cart);
    }

    fn approval_of(cart: &mut Cart, threshold: u32) {
        let what = crate::staff::Guarded::Discount {
            basis_points: cart.largest_discount_bp().unwrap(),
        };
        let by = crate::staff::StaffRef {
            id: crate::staff::StaffId::new("dana").unwrap(),
            name: "Dana".into(),
        };
        let approval = crate::staff::Approval {
            by,
            at: crate::time::Timestamp::from_millis(0),
            what,
            lines: Vec::new(),
        };
        cart.approve(approval, threshold);
    }

    fn percent(bp: u32) -> Option<Discount> {
        Some(Discount::Percent { basis_points: bp })
    }

    /// A manager's approval of 30 % off the coffee is no approval of 30 %
    /// off the croissant, nor of 30 % off more coffees.
    #[test]
    fn a_discount_approval_covers_its_line_and_its_money_off_only() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap();
        cart.add_by_id(&c, &pid("croissant")).unwrap();
        cart.set_line_discount(&pid("coffee"), percent(3_000))
            .unwrap();
        let open = cart.unapproved_discounts(2_000).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(
            (
                open[0].product_id.as_str(),
                open[0].basis_points,
                open[0].off
            ),
            ("coffee", 3_000, eur(105))
        );
        approval_of(&mut cart, 2_000);
        assert_eq!(cart.unapproved_discounts(2_000).unwrap(), []);
        // The same on another line: asked for again.
        cart.set_line_discount(&pid("croissant"), percent(3_000))
            .unwrap();
        let open = cart.unapproved_discounts(2_000).unwrap();
        assert_eq!(
            open.iter()
                .map(|g| g.product_id.as_str())
                .collect::<Vec<_>>(),
            ["croissant"]
        );
        cart.set_line_discount(&pid("croissant"), None).unwrap();
        // Less off the approved line: still approved. More coffees at 30 %: not.
        cart.set_line_discount(&pid("coffee"), percent(2_500))
            .unwrap();
        assert_eq!(cart.unapproved_discounts(2_000).unwrap(), []);
        cart.set_line_discount(&pid("coffee"), percent(3_000))
            .unwrap();
        cart.set_quantity(&pid("coffee"), 2).unwrap();
        let open = cart.unapproved_discounts(2_000).unwrap();
        assert_eq!((open[0].basis_points, open[0].off), (3_000, eur(210)));
        // Within the threshold, nothing is asked.
        cart.set_line_discount(&pid("coffee"), percent(2_000))
            .unwrap();
        assert_eq!(cart.unapproved_discounts(2_000).unwrap(), []);
    }

    /// An approval of the order's 25 % names every line it took above the
    /// threshold; a line added later under it is not approved.
    #[test]
    fn an_order_discount_approval_names_the_lines_it_covered() {
        let c = small();
        let mut cart = Cart::new(Currency::EUR);
        cart.add_by_id(&c, &pid("coffee")).unwrap();
        cart.set_order_discount(percent(2_500)).unwrap();
        approval_of(&mut cart, 2_000);
        assert_eq!(cart.approvals[0].lines.len(), 1);
        assert_eq!(cart.unapproved_discounts(2_000).unwrap(), []);
        cart.add_by_id(&c, &pid("croissant")).unwrap();
        let open = cart.unapproved_discounts(2_000).unwrap();
        assert_eq!(
            open.iter()
                .map(|g| g.product_id.as_str())
                .collect::<Vec<_>>(),
            ["croissant"]
        );
        // Its JSON keeps the lines, and an approval without them (stored
        // before) reads as before.
        let json = serde_json::to_value(&cart.approvals[0]).unwrap();
        assert_eq!(json["lines"][0]["product_id"], "coffee");
        let mut old = json.clone();
        old.as_object_mut().unwrap().remove("lines");
        let read: crate::staff::Approval = serde_json::from_value(old).unwrap();
        assert!(read.lines.is_empty());
    }

    fn arb_rate() -> impl Strategy<Value = TaxRate> {
        (0u32..=3, 0u32..=2500, any::<bool>()).prop_map(|(i, bp, inclusive)| TaxRate {
            id: TaxRateId::new(format!("r{i}-{bp}-{inclusive}")).unwrap(),
            name: format!("Rate {i}"),
            basis_points: bp,
            mode: if inclusive {
                TaxMode::Inclusive
            } else {
                TaxMode::Exclusive
            },
        })
    }

    fn arb_discount(max_minor: i64) -> impl Strategy<Value = Option<Discount>> {
        prop_oneof![
            Just(None),
            (0u32..=10_000).prop_map(|bp| Some(Discount::Percent { basis_points: bp })),
            (0..=max_minor).prop_map(|m| Some(Discount::Amount {
                amount: Money::new(m, Currency::EUR).unwrap()
            })),
        ]
    }

    fn arb_cart(only_inclusive: bool) -> impl Strategy<Value = Cart> {
        let line = (
            0i64..=1_000_000,
            1u32..=50,
            arb_rate(),
            arb_discount(2_000_000),
        );
        (
            proptest::collection::vec(line, 0..30),
            arb_discount(5_000_000),
        )
            .prop_map(move |(lines, od)| {
                let mut cart = Cart::new(Currency::EUR);
                for (i, (price, qty, mut rate, disc)) in lines.into_iter().enumerate() {
                    if only_inclusive {
                        rate.mode = TaxMode::Inclusive;
                    }
                    let mut p = fixtures::product(&format!("p{i}"), price, &rate, &format!("{i}"));
                    p.tax_rate = rate.id.clone();
                    cart.add_product(&p, &rate).unwrap();
                    cart.set_quantity(&p.id, qty).unwrap();
                    // Discounts beyond the line are refused; keep what is allowed.
                    let _ = cart.set_line_discount(&p.id, disc);
                }
                let _ = cart.set_order_discount(od);
                cart
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn totals_add_up_and_are_never_negative(cart in arb_cart(false)) {
            let t = cart.totals().unwrap();
            prop_assert_eq!(t.total, t.subtotal.checked_sub(t.discounts).unwrap().checked_add(t.exclusive_tax).unwrap());
            prop_assert!(!t.total.is_negative());
            prop_assert!(!t.discounts.is_negative());
            for l in &t.lines {
                prop_assert!(!l.net.is_negative());
                prop_assert!(!l.discount.is_negative() && !l.order_discount_share.is_negative());
            }
            let shares = Money::sum(Currency::EUR, t.lines.iter().map(|l| l.order_discount_share)).unwrap();
            prop_assert_eq!(shares, t.order_discount);
            let nets = Money::sum(Currency::EUR, t.lines.iter().map(|l| l.net)).unwrap();
            prop_assert_eq!(nets, t.subtotal.checked_sub(t.discounts).unwrap());
        }

        /// Whatever the cart, once approved nothing is open; and any line
        /// above the threshold that then gives more money off, or a larger
        /// discount, is open again: an approval is of what it saw.
        #[test]
        fn an_approval_covers_what_it_saw_and_no_more(cart in arb_cart(false), threshold in 0u32..=5_000, pick in any::<prop::sample::Index>()) {
            let mut cart = cart;
            approval_of(&mut cart, threshold);
            prop_assert_eq!(cart.unapproved_discounts(threshold).unwrap(), vec![]);
            let over: Vec<usize> = cart.line_discounts().unwrap().iter().enumerate()
                .filter(|(_, (bp, off))| *bp > threshold && off.minor() > 0)
                .map(|(i, _)| i).collect();
            if !over.is_empty() {
                let i = over[pick.index(over.len())];
                let id = cart.lines[i].product_id.clone();
                let q = cart.lines[i].quantity;
                let (bp, off) = cart.line_discounts().unwrap()[i];
                // Twice the quantity: at least the same percentage, more off.
                cart.set_quantity(&id, q * 2).unwrap();
                let (bp2, off2) = cart.line_discounts().unwrap()[i];
                if bp2 >= bp && off2.minor() > off.minor() {
                    let open = cart.unapproved_discounts(threshold).unwrap();
                    prop_assert!(open.iter().any(|g| g.product_id == id), "line {} ({} bp, {} → {}) not asked again", i, bp2, off.minor(), off2.minor());
                }
            }
        }

        #[test]
        fn inclusive_tax_never_changes_the_total(cart in arb_cart(true)) {
            let t = cart.totals().unwrap();
            prop_assert_eq!(t.exclusive_tax, Money::zero(Currency::EUR));
            prop_assert_eq!(t.total, t.subtotal.checked_sub(t.discounts).unwrap());
        }

        #[test]
        fn each_rate_tax_is_within_half_a_minor_unit_of_exact(cart in arb_cart(false)) {
            let t = cart.totals().unwrap();
            for x in &t.taxes {
                let base = i128::from(x.base.minor());
                let bp = i128::from(x.basis_points);
                let (num, den) = match x.mode {
                    TaxMode::Inclusive => (base * bp, 10_000 + bp),
                    TaxMode::Exclusive => (base * bp, 10_000),
                };
                // |tax − num/den| ≤ 1/2  ⇔  |tax·den − num|·2 ≤ den
                prop_assert!((i128::from(x.tax.minor()) * den - num).abs() * 2 <= den);
                prop_assert!(x.tax.minor() <= x.base.minor());
            }
        }

        #[test]
        fn allocation_is_exact_and_bounded(amount in 0i64..1_000_000, weights in proptest::collection::vec(0i64..1_000_000, 1..20)) {
            let total: i64 = weights.iter().sum();
            let amount = amount.min(total);
            let parts = allocate(amount, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), amount);
            for (p, w) in parts.iter().zip(&weights) {
                prop_assert!(*p >= 0 && p <= w);
            }
        }
    }
}
