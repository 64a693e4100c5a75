//! Amounts on the wire: decimal major units, exactly.
//!
//! The Terminal API writes `"RequestedAmount": 12.5` for €12.50: a JSON
//! number in major units, with as many decimals as it needs. Till keeps
//! integer minor units ([`Money`]). The conversion goes through the
//! number's decimal text in both directions (serde_json's `RawValue`), so
//! no amount ever passes through a float: 0.1 + 0.2 stays 0.30.
//!
//! A number with more decimals than the currency has (12.345 for EUR), an
//! exponent (1.25e1), or anything that is not a plain decimal is refused:
//! a terminal that answers such a thing has not charged what was asked,
//! as far as Till can tell, and the caller treats it as a bad message.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;
use thiserror::Error;
use till_core::money::{Currency, Money, MoneyError};

/// Longest amount text accepted: far beyond any amount Till allows
/// ([`till_core::money::AMOUNT_MAX_MINOR`]), short enough that nobody
/// hands the parser a megabyte of digits.
pub const AMOUNT_TEXT_MAX: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AmountError {
    #[error("{0:?} is not a plain decimal amount")]
    NotDecimal(String),
    #[error("{text} has more decimals than {currency} has ({allowed})")]
    TooManyDecimals {
        text: String,
        currency: Currency,
        allowed: u8,
    },
    #[error("amount {0}: {1}")]
    Money(String, MoneyError),
}

/// An amount as the Terminal API writes it: the decimal text of a JSON
/// number in major units, in its shortest form (`12.5`, `1250`, `0.01`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Amount(String);

impl Amount {
    /// `money` in major units, exactly: 1250 cents is `12.5`, 1250 yen is
    /// `1250`, 1250 fils is `1.25`.
    pub fn from_money(money: Money) -> Amount {
        let exponent = u32::from(money.currency().exponent());
        let minor = money.minor();
        let sign = if minor < 0 { "-" } else { "" };
        let digits = minor.unsigned_abs().to_string();
        if exponent == 0 {
            return Amount(format!("{sign}{digits}"));
        }
        let width = exponent as usize + 1;
        let padded = format!("{digits:0>width$}");
        let (whole, fraction) = padded.split_at(padded.len() - exponent as usize);
        let fraction = fraction.trim_end_matches('0');
        match fraction.is_empty() {
            true => Amount(format!("{sign}{whole}")),
            false => Amount(format!("{sign}{whole}.{fraction}")),
        }
    }

    /// Parses the text of a JSON number; only plain decimals are amounts.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        let bad = || AmountError::NotDecimal(text.chars().take(AMOUNT_TEXT_MAX).collect());
        if text.is_empty() || text.len() > AMOUNT_TEXT_MAX {
            return Err(bad());
        }
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = match unsigned.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
            return Err(bad());
        }
        Ok(Amount(text.to_owned()))
    }

    /// The amount in `currency`'s minor units, exactly; more decimals than
    /// the currency has is an error, never a rounding.
    pub fn to_money(&self, currency: Currency) -> Result<Money, AmountError> {
        let exponent = currency.exponent();
        let negative = self.0.starts_with('-');
        let unsigned = self.0.trim_start_matches('-');
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > usize::from(exponent) {
            return Err(AmountError::TooManyDecimals {
                text: self.0.clone(),
                currency,
                allowed: exponent,
            });
        }
        let scaled = format!("{whole}{fraction:0<width$}", width = usize::from(exponent));
        let overflow = || AmountError::Money(self.0.clone(), MoneyError::Overflow);
        let magnitude: i64 = scaled.parse().map_err(|_| overflow())?;
        let minor = if negative { -magnitude } else { magnitude };
        Money::new(minor, currency).map_err(|e| AmountError::Money(self.0.clone(), e))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // The text is a checked decimal: it is a valid JSON number.
        let raw = RawValue::from_string(self.0.clone()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        Amount::parse(raw.get()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, Currency::from_code(code).unwrap()).unwrap()
    }

    #[test]
    fn two_decimal_currencies_write_their_shortest_decimal() {
        for (minor, text) in [
            (1250, "12.5"),
            (1200, "12"),
            (1, "0.01"),
            (10, "0.1"),
            (0, "0"),
            (123456, "1234.56"),
        ] {
            for code in ["EUR", "USD", "GBP"] {
                let m = money(minor, code);
                assert_eq!(Amount::from_money(m).as_str(), text, "{m}");
                assert_eq!(Amount::parse(text).unwrap().to_money(m.currency()), Ok(m));
            }
        }
    }

    #[test]
    fn zero_and_three_decimal_currencies_are_exact() {
        let yen = money(1250, "JPY");
        assert_eq!(Amount::from_money(yen).as_str(), "1250");
        assert_eq!(
            Amount::parse("1250").unwrap().to_money(Currency::JPY),
            Ok(yen)
        );
        let fils = money(1250, "KWD");
        assert_eq!(Amount::from_money(fils).as_str(), "1.25");
        assert_eq!(
            Amount::parse("1.250").unwrap().to_money(Currency::KWD),
            Ok(fils)
        );
        assert_eq!(
            Amount::parse("0.001").unwrap().to_money(Currency::KWD),
            Ok(money(1, "KWD"))
        );
        assert!(matches!(
            Amount::parse("12.5").unwrap().to_money(Currency::JPY),
            Err(AmountError::TooManyDecimals { .. })
        ));
    }

    #[test]
    fn too_many_decimals_and_non_decimals_are_refused() {
        assert!(matches!(
            Amount::parse("12.345").unwrap().to_money(Currency::EUR),
            Err(AmountError::TooManyDecimals { .. })
        ));
        for bad in [
            "1e3", "1.25E1", "", "-", ".5", "5.", "+5", "0x10", "NaN", " 5", "1,5",
        ] {
            assert!(Amount::parse(bad).is_err(), "{bad:?}");
        }
        let long = "9".repeat(AMOUNT_TEXT_MAX + 1);
        assert!(Amount::parse(&long).is_err());
        assert!(matches!(
            Amount::parse("99999999999999999999")
                .unwrap()
                .to_money(Currency::EUR),
            Err(AmountError::Money(_, _))
        ));
    }

    #[test]
    fn json_numbers_are_read_and_written_as_their_text() {
        let a: Amount = serde_json::from_str("12.50").unwrap();
        assert_eq!(a.to_money(Currency::EUR), Ok(money(1250, "EUR")));
        assert_eq!(
            serde_json::to_string(&Amount::from_money(money(1250, "EUR"))).unwrap(),
            "12.5"
        );
        assert!(
            serde_json::from_str::<Amount>("\"12.5\"").is_err(),
            "a string is not a number"
        );
        assert!(serde_json::from_str::<Amount>("1.5e2").is_err());
    }

    proptest! {
        #[test]
        fn every_amount_round_trips_in_every_currency(
            minor in -till_core::money::AMOUNT_MAX_MINOR..=till_core::money::AMOUNT_MAX_MINOR,
            i in 0..Currency::KNOWN.len(),
        ) {
            let m = Money::new(minor, Currency::KNOWN[i]).unwrap();
            let text = serde_json::to_string(&Amount::from_money(m)).unwrap();
            let back: Amount = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(back.to_money(m.currency()), Ok(m));
        }
    }
}
