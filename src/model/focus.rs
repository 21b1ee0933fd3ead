//! FOCUS (FinOps Open Cost and Usage Specification) versions, their column
//! tables and one charge as column values: what the FOCUS reader and writer
//! share.
//!
//! The column tables (name, feature level, nullability, data type, allowed
//! values per version) come from `data/focus/columns/focus_columns.csv`,
//! derived from the specification's column pages (its README says how, and
//! from which commits).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use crate::Error;

/// The FOCUS version a file's columns say it follows: the newest version
/// whose columns it has (1.1: `SkuPriceDetails`, `ServiceSubcategory`,
/// `CapacityReservationId`...; 1.2: `InvoiceId`, `BillingAccountType`,
/// `PricingCurrency`...; 1.3: `ServiceProviderName` beside `ProviderName`;
/// 1.4: `ServiceProviderName` without `ProviderName`, which 1.4 removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FocusVersion {
    /// FOCUS 1.0.
    V1_0,
    /// FOCUS 1.1.
    V1_1,
    /// FOCUS 1.2.
    V1_2,
    /// FOCUS 1.3.
    V1_3,
    /// FOCUS 1.4.
    V1_4,
}

impl FocusVersion {
    /// The version of a header (column names).
    pub fn detect<S: AsRef<str>>(names: &[S]) -> FocusVersion {
        let has = |c: &str| names.iter().any(|n| n.as_ref().eq_ignore_ascii_case(c));
        let any = |cs: &[&str]| cs.iter().any(|c| has(c));
        if has("ServiceProviderName") {
            return if has("ProviderName") {
                FocusVersion::V1_3
            } else {
                FocusVersion::V1_4
            };
        }
        if any(&[
            "InvoiceId",
            "BillingAccountType",
            "SubAccountType",
            "PricingCurrency",
            "PricingCurrencyEffectiveCost",
        ]) {
            return FocusVersion::V1_2;
        }
        if any(&[
            "SkuPriceDetails",
            "SkuMeter",
            "ServiceSubcategory",
            "CapacityReservationId",
            "CommitmentDiscountQuantity",
        ]) {
            return FocusVersion::V1_1;
        }
        FocusVersion::V1_0
    }

    /// `1.0` ... `1.4`.
    pub fn as_str(self) -> &'static str {
        match self {
            FocusVersion::V1_0 => "1.0",
            FocusVersion::V1_1 => "1.1",
            FocusVersion::V1_2 => "1.2",
            FocusVersion::V1_3 => "1.3",
            FocusVersion::V1_4 => "1.4",
        }
    }
}

impl std::fmt::Display for FocusVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FocusVersion {
    type Err = Error;
    /// `1.0` ... `1.4` (also with a `v` before it).
    fn from_str(s: &str) -> Result<Self, Error> {
        let v = s.trim();
        let v = v.strip_prefix(['v', 'V']).unwrap_or(v);
        FocusVersion::ALL
            .into_iter()
            .find(|x| x.as_str() == v)
            .ok_or_else(|| {
                Error::invalid(
                    "focusVersion",
                    format!("unknown FOCUS version {s:?} (1.0, 1.1, 1.2, 1.3 or 1.4)"),
                )
            })
    }
}

impl FocusVersion {
    /// Every version, oldest first.
    pub const ALL: [FocusVersion; 5] = [
        FocusVersion::V1_0,
        FocusVersion::V1_1,
        FocusVersion::V1_2,
        FocusVersion::V1_3,
        FocusVersion::V1_4,
    ];

    /// The version's columns of the cost and usage dataset, in the
    /// specification's (alphabetical) order.
    pub fn columns(self) -> &'static [FocusColumn] {
        let all = tables();
        all.get(&self).map_or(&[], Vec::as_slice)
    }

    /// The column of this version called `name` (exact spelling).
    pub fn column(self, name: &str) -> Option<&'static FocusColumn> {
        self.columns().iter().find(|c| c.name == name)
    }

    /// The columns every file of this version has: the mandatory ones and
    /// the conditional ones that may be null (a writer that cannot tell
    /// whether their condition holds includes them, null). A conditional
    /// column that may not be null (`BillingAccountType`; 1.4's
    /// `PricingCurrency`) is present only when its condition holds, which
    /// only the data can tell.
    pub fn required_columns(self) -> impl Iterator<Item = &'static FocusColumn> {
        self.columns().iter().filter(|c| match c.feature_level {
            FocusFeatureLevel::Mandatory => true,
            FocusFeatureLevel::Conditional => c.allows_nulls,
            _ => false,
        })
    }
}

/// How strongly a version asks for a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FocusFeatureLevel {
    /// Every dataset has it.
    Mandatory,
    /// Present when its condition holds (e.g. the provider has regions).
    Conditional,
    /// Should be present.
    Recommended,
    /// May be present.
    Optional,
}

/// A column's data type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FocusDataType {
    /// Text.
    String,
    /// A decimal number.
    Decimal,
    /// A date-time in UTC (ISO 8601).
    DateTime,
    /// A JSON object (or array).
    Json,
}

/// One column of a FOCUS version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusColumn {
    /// Column id, e.g. `BilledCost`.
    pub name: &'static str,
    /// Mandatory, conditional, recommended or optional.
    pub feature_level: FocusFeatureLevel,
    /// Whether a cell may be null.
    pub allows_nulls: bool,
    /// The value's type.
    pub data_type: FocusDataType,
    /// The only values allowed, when the version restricts them (empty:
    /// any value of the type).
    pub allowed_values: Vec<&'static str>,
}

const TABLE: &str = include_str!("../../data/focus/columns/focus_columns.csv");

fn tables() -> &'static BTreeMap<FocusVersion, Vec<FocusColumn>> {
    static TABLES: OnceLock<BTreeMap<FocusVersion, Vec<FocusColumn>>> = OnceLock::new();
    TABLES.get_or_init(|| parse_table(TABLE))
}

/// Parse the bundled table. It is part of the crate and checked by its
/// tests, so a line that does not parse is skipped rather than reported.
fn parse_table(text: &'static str) -> BTreeMap<FocusVersion, Vec<FocusColumn>> {
    let mut out: BTreeMap<FocusVersion, Vec<FocusColumn>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        // No field of the table holds a comma.
        let f: Vec<&'static str> = line.split(',').collect();
        let [version, _commit, name, _display, _kind, level, nulls, data_type, _introduced, allowed] =
            f.as_slice()
        else {
            continue;
        };
        let Ok(version) = version.parse::<FocusVersion>() else {
            continue;
        };
        let feature_level = match *level {
            "Mandatory" => FocusFeatureLevel::Mandatory,
            "Conditional" => FocusFeatureLevel::Conditional,
            "Recommended" => FocusFeatureLevel::Recommended,
            _ => FocusFeatureLevel::Optional,
        };
        let data_type = match *data_type {
            "Decimal" => FocusDataType::Decimal,
            "Date/Time" => FocusDataType::DateTime,
            "JSON" | "Key-Value Format" => FocusDataType::Json,
            _ => FocusDataType::String,
        };
        out.entry(version).or_default().push(FocusColumn {
            name,
            feature_level,
            allows_nulls: *nulls == "True",
            data_type,
            allowed_values: if allowed.is_empty() {
                Vec::new()
            } else {
                allowed.split('|').collect()
            },
        });
    }
    out
}

/// One FOCUS charge as column values: column name to cell text, a missing
/// column meaning null. What the FOCUS reader reads in passthrough and the
/// writers write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FocusRecord {
    cells: BTreeMap<String, String>,
}

impl FocusRecord {
    /// An empty record (every column null).
    pub fn new() -> Self {
        FocusRecord::default()
    }

    /// The cell of `column`, `None` when null.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.cells.get(column).map(String::as_str)
    }

    /// Set a cell; `None` (or an empty text) makes it null.
    pub fn set(&mut self, column: impl Into<String>, value: Option<impl Into<String>>) {
        let column = column.into();
        match value.map(Into::into).filter(|v| !v.is_empty()) {
            Some(v) => {
                self.cells.insert(column, v);
            }
            None => {
                self.cells.remove(&column);
            }
        }
    }

    /// Remove a cell, returning its value.
    pub fn take(&mut self, column: &str) -> Option<String> {
        self.cells.remove(column)
    }

    /// The non-null cells, by column name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.cells.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_has_its_columns() {
        let count = |v: FocusVersion| v.columns().len();
        assert_eq!(
            FocusVersion::ALL.map(count),
            [43, 50, 57, 65, 65],
            "columns per version"
        );
        // 1.3 adds the service provider beside the provider; 1.4 drops it.
        assert!(FocusVersion::V1_3.column("ProviderName").is_some());
        assert!(FocusVersion::V1_3.column("ServiceProviderName").is_some());
        assert!(FocusVersion::V1_4.column("ProviderName").is_none());
        let c = FocusVersion::V1_0.column("ChargeCategory").unwrap();
        assert_eq!(c.feature_level, FocusFeatureLevel::Mandatory);
        assert!(!c.allows_nulls);
        assert_eq!(
            c.allowed_values,
            ["Usage", "Purchase", "Tax", "Credit", "Adjustment"]
        );
        assert_eq!(
            FocusVersion::V1_2
                .column("SkuPriceDetails")
                .unwrap()
                .data_type,
            FocusDataType::Json
        );
        // Conditional columns that may not be null are not always written.
        assert!(!FocusVersion::V1_2
            .required_columns()
            .any(|c| c.name == "BillingAccountType"));
        assert!(FocusVersion::V1_0
            .required_columns()
            .any(|c| c.name == "RegionId"));
    }

    #[test]
    fn versions_parse_with_or_without_v() {
        assert_eq!("1.4".parse::<FocusVersion>().unwrap(), FocusVersion::V1_4);
        assert_eq!("v1.0".parse::<FocusVersion>().unwrap(), FocusVersion::V1_0);
        let e = "2.0".parse::<FocusVersion>().unwrap_err();
        assert_eq!(e.field(), Some("focusVersion"));
    }
}
