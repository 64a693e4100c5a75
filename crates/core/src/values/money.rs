//! Money: integer minor units with an ISO 4217 currency.
//!
//! A float cannot hold 0.10 exactly, and a register that adds a thousand
//! prices in floats drifts by cents. Till therefore keeps every amount as a
//! whole number of the currency's minor unit (cents for EUR, yen for JPY,
//! fils for KWD) in an `i64`, tagged with its currency so that euros are
//! never added to dollars by mistake.
//!
//! Every operation is checked: an overflow is an error ([`MoneyError::Overflow`]),
//! never a silent wrap, and mixing currencies is an error
//! ([`MoneyError::CurrencyMismatch`]). Division, the only place where rounding
//! happens, lives in [`div_round_half_away`] and is used by the cart's tax and
//! discount rules, which document where they round.
//!
//! Parsing ([`Money::parse`]) turns what a cashier types ("12.5", "12,50")
//! into minor units without going through a float, and rejects what does not
//! make sense for the currency (three decimals for EUR, letters, signs).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use thiserror::Error;

/// The largest amount Till accepts anywhere, in minor units: 10^13, i.e.
/// 100 billion in a two-decimal currency. Far above any real sale, and far
/// enough below `i64::MAX` (9.2 × 10^18) that a line of 9,999 items at this
/// price still fits in an `i128` intermediate without thought. Amounts above it
/// are typing mistakes or attacks, and are rejected where they enter.
pub const AMOUNT_MAX_MINOR: i64 = 10_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("unknown currency {0:?} (expected an ISO 4217 code such as EUR)")]
    UnknownCurrency(String),
    #[error("cannot combine {left} and {right} amounts")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("amount out of range")]
    Overflow,
    #[error("enter an amount")]
    Empty,
    #[error("{0:?} is not an amount")]
    Invalid(String),
    #[error("{currency} has {allowed} decimal places; {given:?} has more")]
    TooManyDecimals {
        currency: Currency,
        allowed: u8,
        given: String,
    },
    #[error("amounts cannot be negative")]
    Negative,
}

/// An ISO 4217 currency: its three-letter code and the number of decimal
/// places of its minor unit.
///
/// Only currencies in [`Currency::KNOWN`] can be constructed, so an
/// exponent is never guessed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    pub const EUR: Currency = Currency::new(*b"EUR", 2);
    pub const USD: Currency = Currency::new(*b"USD", 2);
    pub const GBP: Currency = Currency::new(*b"GBP", 2);
    pub const JPY: Currency = Currency::new(*b"JPY", 0);
    pub const KWD: Currency = Currency::new(*b"KWD", 3);

    /// The currencies Till knows, with their ISO 4217 minor-unit exponents.
    /// Adding one is adding a line here.
    pub const KNOWN: &'static [Currency] = &[
        Currency::new(*b"AED", 2),
        Currency::new(*b"AUD", 2),
        Currency::new(*b"BHD", 3),
        Currency::new(*b"BRL", 2),
        Currency::new(*b"CAD", 2),
        Currency::new(*b"CHF", 2),
        Currency::new(*b"CLP", 0),
        Currency::new(*b"CNY", 2),
        Currency::new(*b"CZK", 2),
        Currency::new(*b"DKK", 2),
        Currency::EUR,
        Currency::GBP,
        Currency::new(*b"HKD", 2),
        Currency::new(*b"HUF", 2),
        Currency::new(*b"IDR", 2),
        Currency::new(*b"ILS", 2),
        Currency::new(*b"INR", 2),
        Currency::new(*b"ISK", 0),
        Currency::JPY,
        Currency::new(*b"JOD", 3),
        Currency::new(*b"KRW", 0),
        Currency::KWD,
        Currency::new(*b"MXN", 2),
        Currency::new(*b"MYR", 2),
        Currency::new(*b"NOK", 2),
        Currency::new(*b"NZD", 2),
        Currency::new(*b"OMR", 3),
        Currency::new(*b"PHP", 2),
        Currency::new(*b"PLN", 2),
        Currency::new(*b"RON", 2),
        Currency::new(*b"SEK", 2),
        Currency::new(*b"SGD", 2),
        Currency::new(*b"THB", 2),
        Currency::new(*b"TND", 3),
        Currency::new(*b"TRY", 2),
        Currency::new(*b"TWD", 2),
        Currency::USD,
        Currency::new(*b"VND", 0),
        Currency::new(*b"ZAR", 2),
    ];

    const fn new(code: [u8; 3], exponent: u8) -> Self {
        Self { code, exponent }
    }

    /// Looks a code up among the known currencies. Codes are upper case in
    /// ISO 4217; lower case is accepted from people, never produced.
    pub fn from_code(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        Currency::KNOWN
            .iter()
            .copied()
            .find(|c| c.code() == upper)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    pub fn code(&self) -> &str {
        // The constructor only takes ASCII letters from the table above.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Decimal places of the minor unit (2 for EUR, 0 for JPY, 3 for KWD).
    pub const fn exponent(&self) -> u8 {
        self.exponent
    }

    /// Minor units in one major unit (100 for EUR).
    pub const fn minor_per_major(&self) -> i64 {
        10i64.pow(self.exponent as u32)
    }

    /// The sign shown before an amount, for the few currencies whose sign is
    /// unambiguous; others print their code ("CHF 12.50").
    fn symbol(&self) -> Option<&'static str> {
        match &self.code {
            b"EUR" => Some("€"),
            b"USD" => Some("$"),
            b"GBP" => Some("£"),
            b"JPY" => Some("¥"),
            _ => None,
        }
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: whole minor units of one currency.
///
/// The field is private so that every `Money` in the program went through
/// [`Money::new`] and is within ±[`AMOUNT_MAX_MINOR`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr", into = "MoneyRepr")]
pub struct Money {
    minor: i64,
    currency: Currency,
}

#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    #[serde(deserialize_with = "whole_minor_units")]
    amount: i64,
    currency: Currency,
}

/// JSON has one number type: `1250.0` is the integer 1250 (JSON Schema says
/// so too), while `12.5` minor units is not an amount. Integral values are
/// taken when a float represents them exactly (every amount within
/// ±[`AMOUNT_MAX_MINOR`] does); anything else is a clear error.
fn whole_minor_units<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number of minor units")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom("amount out of range"))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            const EXACT: f64 = (1u64 << 53) as f64;
            if v.fract() == 0.0 && v.abs() <= EXACT {
                Ok(v as i64)
            } else {
                Err(E::custom(format!(
                    "amount {v} is not a whole number of minor units"
                )))
            }
        }
    }
    d.deserialize_any(Whole)
}

impl TryFrom<MoneyRepr> for Money {
    type Error = MoneyError;
    fn try_from(r: MoneyRepr) -> Result<Self, MoneyError> {
        Money::new(r.amount, r.currency)
    }
}

impl From<Money> for MoneyRepr {
    fn from(m: Money) -> Self {
        MoneyRepr {
            amount: m.minor,
            currency: m.currency,
        }
    }
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if !(-AMOUNT_MAX_MINOR..=AMOUNT_MAX_MINOR).contains(&minor) {
            return Err(MoneyError::Overflow);
        }
        Ok(Money { minor, currency })
    }

    pub const fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    pub const fn minor(&self) -> i64 {
        self.minor
    }

    pub const fn currency(&self) -> Currency {
        self.currency
    }

    pub const fn is_zero(&self) -> bool {
        self.minor == 0
    }

    pub const fn is_negative(&self) -> bool {
        self.minor < 0
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let sum = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Money::new(sum, self.currency)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(&other)?;
        let diff = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Money::new(diff, self.currency)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        let product = self.minor.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Money::new(product, self.currency)
    }

    /// Sums amounts of `currency`; an empty iterator sums to zero.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), Money::checked_add)
    }

    /// Parses what a person types: digits, at most one decimal separator (`.`
    /// or `,`), at most the currency's decimal places, no sign, no thousands
    /// separators, no exponent. "12", "12.5", "12,50" and ".5" are fine.
    /// Never goes through a float.
    pub fn parse(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(MoneyError::Empty);
        }
        if s.starts_with('-') {
            return Err(MoneyError::Negative);
        }
        let (whole, fraction) = match s.find(['.', ',']) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !digits_only(whole)
            || !digits_only(fraction)
            || (whole.is_empty() && fraction.is_empty())
        {
            return Err(MoneyError::Invalid(input.to_owned()));
        }
        let exponent = usize::from(currency.exponent());
        if fraction.len() > exponent {
            return Err(MoneyError::TooManyDecimals {
                currency,
                allowed: currency.exponent(),
                given: input.to_owned(),
            });
        }
        // Anything with more digits than AMOUNT_MAX_MINOR is out of range; this
        // also keeps the i64 parse below from overflowing.
        if whole.trim_start_matches('0').len() > 18 {
            return Err(MoneyError::Overflow);
        }
        let whole: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| MoneyError::Overflow)?
        };
        let mut frac_minor: i64 = if fraction.is_empty() {
            0
        } else {
            fraction
                .parse()
                .map_err(|_| MoneyError::Invalid(input.to_owned()))?
        };
        for _ in fraction.len()..exponent {
            frac_minor *= 10;
        }
        let minor = whole
            .checked_mul(currency.minor_per_major())
            .and_then(|w| w.checked_add(frac_minor))
            .ok_or(MoneyError::Overflow)?;
        Money::new(minor, currency)
    }

    /// The amount without a currency sign: "1234.50", "-0.05", "1200" (JPY).
    /// What an input field is prefilled with.
    pub fn to_plain_string(&self) -> String {
        let exp = u32::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let per = 10u64.pow(exp);
        format!(
            "{sign}{}.{:0width$}",
            abs / per,
            abs % per,
            width = exp as usize
        )
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_plain_string(), self.currency)
    }
}

/// "€12.50", "-€0.05", "¥1200", "CHF 12.50": what a cashier and a receipt
/// read. Grouping and decimal marks follow the plain English convention; a
/// per-store locale is a display concern of the app.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.to_plain_string();
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        match self.currency.symbol() {
            Some(sym) => write!(f, "{sign}{sym}{digits}"),
            None => write!(f, "{sign}{} {digits}", self.currency),
        }
    }
}

/// `numerator / denominator`, rounded to the nearest integer, halves away
/// from zero ("commercial rounding", what tax authorities and receipts use).
/// Works in `i128` so that products of two in-range amounts never overflow.
///
/// # Panics
/// If `denominator` is zero: callers divide by constants or by basis-point
/// sums they have checked, so a zero is a programming error.
pub fn div_round_half_away(numerator: i128, denominator: i128) -> i128 {
    assert!(denominator != 0, "division by zero in money rounding");
    let (n, d) = if denominator < 0 {
        (-numerator, -denominator)
    } else {
        (numerator, denominator)
    };
    let q = n / d;
    let r = n % d;
    // |r| * 2 >= d means the fraction is at least one half.
    if r.abs() * 2 >= d {
        q + n.signum()
    } else {
        q
    }
}

/// Basis points as the number a cashier types ([`crate::cart::parse_percent`] reads it
/// back): 2500 is "25", 1250 is "12.5", 2858 is "28.58".
pub fn percent_number(basis_points: u32) -> String {
    let (whole, frac) = (basis_points / 100, basis_points % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// A count with its thousands grouped: 300000 is "300,000".
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Basis points as a percentage: 2500 is "25 %", 1250 is "12.5 %".
pub fn percent_text(basis_points: u32) -> String {
    format!("{} %", percent_number(basis_points))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn counts_read_with_their_thousands_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(300_000), "300,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::EUR).unwrap()
    }

    #[test]
    fn displays_with_symbol_or_code_and_the_currency_exponent() {
        assert_eq!(eur(1250).to_string(), "€12.50");
        assert_eq!(eur(-5).to_string(), "-€0.05");
        assert_eq!(eur(0).to_string(), "€0.00");
        assert_eq!(
            Money::new(1200, Currency::JPY).unwrap().to_string(),
            "¥1200"
        );
        assert_eq!(
            Money::new(1234, Currency::KWD).unwrap().to_string(),
            "KWD 1.234"
        );
        let chf = Currency::from_code("CHF").unwrap();
        assert_eq!(Money::new(1250, chf).unwrap().to_string(), "CHF 12.50");
    }

    #[test]
    fn an_integral_json_number_is_an_amount_and_a_fraction_is_not() {
        let m: Money = serde_json::from_str(r#"{"amount":1250.0,"currency":"EUR"}"#).unwrap();
        assert_eq!(m, eur(1250));
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"amount":1250,"currency":"EUR"}"#
        );
        let e = serde_json::from_str::<Money>(r#"{"amount":12.5,"currency":"EUR"}"#).unwrap_err();
        assert!(
            e.to_string().contains("not a whole number of minor units"),
            "{e}"
        );
        assert!(serde_json::from_str::<Money>(r#"{"amount":1e300,"currency":"EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"12","currency":"EUR"}"#).is_err());
    }

    #[test]
    fn unknown_currencies_are_refused_with_their_code() {
        assert_eq!(
            Currency::from_code("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
        assert_eq!(Currency::from_code("eur"), Ok(Currency::EUR));
    }

    #[test]
    fn arithmetic_checks_currency_and_range() {
        let usd = Money::new(1, Currency::USD).unwrap();
        assert!(matches!(
            eur(1).checked_add(usd),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
        assert_eq!(
            eur(AMOUNT_MAX_MINOR).checked_add(eur(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            eur(AMOUNT_MAX_MINOR).checked_mul(2),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(AMOUNT_MAX_MINOR + 1, Currency::EUR),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::new(i64::MIN, Currency::EUR),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn parses_what_a_cashier_types() {
        assert_eq!(Money::parse("12", Currency::EUR), Ok(eur(1200)));
        assert_eq!(Money::parse("12.5", Currency::EUR), Ok(eur(1250)));
        assert_eq!(Money::parse(" 12,50 ", Currency::EUR), Ok(eur(1250)));
        assert_eq!(Money::parse(".05", Currency::EUR), Ok(eur(5)));
        assert_eq!(Money::parse("0", Currency::EUR), Ok(eur(0)));
        assert_eq!(
            Money::parse("1200", Currency::JPY),
            Ok(Money::new(1200, Currency::JPY).unwrap())
        );
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        assert_eq!(Money::parse("", Currency::EUR), Err(MoneyError::Empty));
        assert_eq!(Money::parse("-3", Currency::EUR), Err(MoneyError::Negative));
        assert!(matches!(
            Money::parse("12.345", Currency::EUR),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            Money::parse("12.5", Currency::JPY),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        for bad in [
            "abc", "1e3", "1.2.3", "1,234.50", ".", "+5", "12 50", "NaN", "∞",
        ] {
            assert!(
                Money::parse(bad, Currency::EUR).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(
            Money::parse("99999999999999999999999", Currency::EUR),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse("100000000001", Currency::EUR),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse("100000000001", Currency::EUR)
                .unwrap_err()
                .to_string(),
            "amount out of range"
        );
    }

    #[test]
    fn serializes_as_amount_and_currency_and_validates_on_the_way_in() {
        let json = serde_json::to_string(&eur(1250)).unwrap();
        assert_eq!(json, r#"{"amount":1250,"currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), eur(1250));
        assert!(serde_json::from_str::<Money>(r#"{"amount":1,"currency":"XXX"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":1.5,"currency":"EUR"}"#).is_err());
        assert!(
            serde_json::from_str::<Money>(r#"{"amount":99999999999999999,"currency":"EUR"}"#)
                .is_err()
        );
    }

    #[test]
    fn rounds_halves_away_from_zero() {
        assert_eq!(div_round_half_away(5, 10), 1);
        assert_eq!(div_round_half_away(4, 10), 0);
        assert_eq!(div_round_half_away(-5, 10), -1);
        assert_eq!(div_round_half_away(-4, 10), 0);
        assert_eq!(div_round_half_away(15, 10), 2);
        assert_eq!(div_round_half_away(25, 10), 3);
        assert_eq!(div_round_half_away(7, -2), -4);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn display_and_parse_round_trip(minor in 0..=AMOUNT_MAX_MINOR) {
            for currency in [Currency::EUR, Currency::JPY, Currency::KWD] {
                let m = Money::new(minor, currency).unwrap();
                prop_assert_eq!(Money::parse(&m.to_plain_string(), currency), Ok(m));
            }
        }

        #[test]
        fn addition_is_exact_or_an_error_never_a_wrap(a in any::<i64>(), b in any::<i64>()) {
            match (Money::new(a, Currency::EUR), Money::new(b, Currency::EUR)) {
                (Ok(x), Ok(y)) => {
                    let exact = i128::from(a) + i128::from(b);
                    match x.checked_add(y) {
                        Ok(sum) => prop_assert_eq!(i128::from(sum.minor()), exact),
                        Err(e) => {
                            prop_assert_eq!(e, MoneyError::Overflow);
                            prop_assert!(exact.abs() > i128::from(AMOUNT_MAX_MINOR));
                        }
                    }
                }
                _ => prop_assert!(a.unsigned_abs() > AMOUNT_MAX_MINOR as u64 || b.unsigned_abs() > AMOUNT_MAX_MINOR as u64),
            }
        }

        #[test]
        fn rounding_is_within_half_a_unit(n in -1_000_000_000_000i128..1_000_000_000_000, d in 1i128..100_000) {
            let q = div_round_half_away(n, d);
            // |n/d - q| <= 1/2, i.e. |n - q*d| * 2 <= d
            prop_assert!((n - q * d).abs() * 2 <= d);
        }
    }
}
