//! Money: amounts are [`rust_decimal::Decimal`] (never floats) in a
//! [`Currency`] that knows its ISO 4217 minor unit.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// An ISO 4217 currency (`USD`, `EUR`, `JPY`, `KWD`...), validated against the
/// complete ISO table of the `iso_currency` crate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

/// A decimal from its text, plain (`12.50`) or in scientific notation
/// (`2.5e-06`), exactly: the one parser the readers of files, API pages and
/// price tables share. `None` when the text is not a number.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
}

impl Currency {
    /// US dollar, the specification's default currency.
    pub const USD: Currency = Currency(iso_currency::Currency::USD);
    /// Euro.
    pub const EUR: Currency = Currency(iso_currency::Currency::EUR);
    /// Japanese yen (no minor unit).
    pub const JPY: Currency = Currency(iso_currency::Currency::JPY);

    /// Parse an ISO 4217 alphabetic code. Surrounding whitespace is ignored
    /// and lower case is accepted (`" usd"` is USD).
    pub fn parse(code: &str) -> Result<Self> {
        let trimmed = code.trim().to_ascii_uppercase();
        iso_currency::Currency::from_code(&trimmed)
            .map(Currency)
            .ok_or_else(|| {
                Error::invalid(
                    "currency",
                    format!("{code:?} is not an ISO 4217 currency code"),
                )
            })
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point of the minor unit (USD 2, JPY 0, KWD 3).
    /// Codes without a minor unit in ISO 4217 (XAU and other funds/metals)
    /// are treated as having 2 digits for display and rounding.
    pub fn minor_units(&self) -> u32 {
        self.0.exponent().map(u32::from).unwrap_or(2)
    }

    /// The usual symbol (`$`, `€`, `¥`), or the code where there is none.
    pub fn symbol(&self) -> String {
        self.0.symbol().symbol
    }

    /// Round `amount` to this currency's minor unit, half away from zero
    /// (the rounding finance people expect: 0.125 USD is 0.13, -0.125 is -0.13).
    pub fn round(&self, amount: Decimal) -> Decimal {
        amount.round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero)
    }

    /// Format an amount for people: symbol, thousands separators, exactly the
    /// minor unit's digits, minus sign in front (`-$1,234.50`).
    pub fn format(&self, amount: Decimal) -> String {
        format_amount(self, self.round(amount))
    }
}

fn format_amount(currency: &Currency, amount: Decimal) -> String {
    let dp = currency.minor_units() as usize;
    let negative = amount.is_sign_negative() && !amount.is_zero();
    let plain = format!("{:.*}", dp, amount.abs());
    let (int, frac) = match plain.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (plain.as_str(), None),
    };
    let mut grouped = String::with_capacity(int.len() + int.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let symbol = currency.symbol();
    let sign = if negative { "-" } else { "" };
    let body = match frac {
        Some(f) => format!("{grouped}.{f}"),
        None => grouped,
    };
    if symbol.chars().count() > 1 && symbol.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{sign}{body} {symbol}")
    } else {
        format!("{sign}{symbol}{body}")
    }
}

impl Default for Currency {
    fn default() -> Self {
        Currency::USD
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.code())
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Currency::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn minor_units_come_from_the_iso_table() {
        assert_eq!(Currency::USD.minor_units(), 2);
        assert_eq!(Currency::JPY.minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        assert_eq!(Currency::parse("CLF").unwrap().minor_units(), 4);
        assert_eq!(Currency::parse(" eur ").unwrap(), Currency::EUR);
    }

    #[test]
    fn unknown_codes_are_invalid() {
        let e = Currency::parse("ABC").unwrap_err();
        assert_eq!(e.field(), Some("currency"));
        assert!(Currency::parse("").is_err());
        assert!(serde_json::from_str::<Currency>("\"XXXX\"").is_err());
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(Currency::USD.round(dec!(0.125)), dec!(0.13));
        assert_eq!(Currency::USD.round(dec!(-0.125)), dec!(-0.13));
        assert_eq!(Currency::JPY.round(dec!(2.5)), dec!(3));
        assert_eq!(
            Currency::parse("KWD").unwrap().round(dec!(1.0005)),
            dec!(1.001)
        );
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(Currency::USD.format(dec!(1234567.891)), "$1,234,567.89");
        assert_eq!(Currency::USD.format(dec!(-1234.5)), "-$1,234.50");
        assert_eq!(Currency::USD.format(dec!(0)), "$0.00");
        assert_eq!(Currency::USD.format(dec!(-0.001)), "$0.00");
        assert_eq!(Currency::JPY.format(dec!(1234.5)), "¥1,235");
        assert_eq!(Currency::USD.format(dec!(999)), "$999.00");
    }
}
