//! FOCUS billing exports (FinOps Open Cost and Usage Specification 1.0 to
//! 1.4, and the AI model billing columns of its working draft) read as cost
//! rows, streaming.
//!
//! A FOCUS file is a CSV with one charge per line. [`FocusReader`] turns it
//! into [`CostRow`]s one at a time (constant memory whatever the file size);
//! [`FocusCostSource`] is a [`CostSource`] over FOCUS files that streams the
//! file again for every query and aggregates while it reads.
//!
//! ## Mapping (see [`FocusConfig`])
//!
//! | FOCUS column | cost row |
//! |---|---|
//! | `ChargePeriodStart` (inclusive, UTC) | `timestamp`, and `date` = its UTC calendar day |
//! | `EffectiveCost` (default) or `BilledCost` / `ListCost` / `ContractedCost` | `cost` |
//! | `BillingCurrency` | `currency` (missing column or null: the source's default currency) |
//! | `ServiceProviderName` (1.3+), else `ProviderName` | `provider` |
//! | `ServiceName` (default), `SkuId` or `ResourceName`, first non-null of the configured list | `model` |
//! | `SkuPriceDetails` `ModelId` (AI model billing, FOCUS working draft) | `model`, before the columns above |
//! | `SkuPriceDetails` `ModelFamily` | `model_family` (the `model_family` dimension; without it the family is derived from the model) |
//! | `SkuPriceDetails` `TokenDirection` + `TokenCacheAction` (or `TokenType`) | the tag `token_class`: `input`, `cache_read`, `cache_write`, `output` |
//! | `ConsumedQuantity` when `ConsumedUnit` is `Tokens`, on a row with a token class | its input or output tokens; cache reads and writes count as input and also as `cache_read_tokens` / `cache_write_tokens` |
//! | `SkuPriceDetails` `ModelFamily`, `ModelDeveloper`, `ModelVersion`; `HostProviderName`, `Allocated*`, `ContractApplied` (1.3+) | tags under their own names |
//! | `PrincipalId` (AI draft) | `user`, when no tag gave one |
//!
//! [`FocusReader::version`] says which FOCUS version (1.0 to 1.4) the
//! columns follow ([`FocusVersion`]). A prepayment (commitment) purchase and
//! the usage drawn down from it are counted once with `EffectiveCost`, the
//! default: the purchase has an `EffectiveCost` of 0 and the drawn-down
//! usage carries the amortized cost (the FOCUS drawdown examples: 500,000.00
//! billed, 50.00 effective). `BilledCost` counts the purchase when it is
//! invoiced and the drawn-down usage at 0. Marketplace rows (a model bought
//! through a cloud marketplace) are one charge each, whichever of
//! `ServiceProviderName`, `HostProviderName` and `InvoiceIssuerName` names
//! the marketplace.
//! | `Tags` (a JSON object in the cell) | `team`, `project`, `cost_center`, `feature`, `user` from configured keys; every tag into `tags` |
//! | `x_Requests`, `x_InputTokens`, `x_OutputTokens`, `x_CachedRequests`, `x_CacheReadTokens`, `x_CacheWriteTokens` (custom columns, optional) | the counts (0 when absent) |
//!
//! `EffectiveCost` is the default because it is the amortized cost after
//! discounts and commitment purchases are spread over the usage that
//! consumed them: the right figure for showback and chargeback. Choose
//! [`FocusCostColumn::BilledCost`] to reconcile with invoices (credits show
//! there as negative amounts).
//!
//! Tag keys are compared after trimming white space, ignoring ASCII case and
//! the characters `_`, `-` and space: `CostCenter`, `cost_center` and
//! `" cost-center"` are one key. Tag values that are not strings are kept as
//! their JSON text; `null` values are ignored.
//!
//! ## What is accepted
//!
//! Nulls written `NULL` or as an empty cell; timestamps written
//! `2024-09-18T22:00:00Z`, `2024-09-18 22:00:00` (no zone: UTC), with
//! optional fractional seconds or a numeric offset; decimals with any number
//! of places (`0.00000080000`) or in scientific notation; a UTF-8 byte order
//! mark before the header. Anything else in a column the reader uses is an
//! [`Error::Parse`] naming the file, line and column,
//! e.g. `cannot parse a1.csv: line 2, column 2 (BilledCost): not a decimal
//! number: "$10,000.00 "`.
//!
//! [`FocusConfig::lenient`] accepts the spellings of the specification's
//! hand-made examples instead and reports every value it fixed
//! ([`FocusFix`]): `null` in any case, money written `"$10,000.00 "`, US dates
//! `4/1/25` (month/day/two-digit year, 20xx, midnight UTC).
//!
//! ## Performance trade-off
//!
//! [`FocusCostSource`] keeps no rows: each `aggregate` call reads the whole
//! file again (120 to 200 MB/s of CSV on one core of a busy 2-core VM, see
//! the README's Performance section), holding one chunk of rows and the
//! buckets of the answer (a peak of 4.5 MB for a 1 GB file). That keeps memory
//! constant for files of any size and always reflects the file's current
//! content, at the price of one full read per query (a report makes a few).
//! For repeated queries on a large export, load it once into a database
//! backend, or aggregate it once by day and the dimensions you report on
//! (`aggregate_focus` with a daily granularity) and serve those buckets.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::value::RawValue;

use crate::core::aggregate::aggregate_rows;
pub use crate::model::FocusVersion;
use crate::model::{
    parse_decimal, CostBucket, CostQuery, CostRow, Currency, Dimension, FocusRecord,
    OrganizationId, TokenClass,
};
use crate::ports::CostSource;
use crate::{Error, Result};

/// Which FOCUS cost column becomes the row's cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FocusCostColumn {
    /// `EffectiveCost`: amortized, after discounts (showback; the default).
    #[default]
    EffectiveCost,
    /// `BilledCost`: what the invoice says (credits are negative).
    BilledCost,
    /// `ListCost`: at public list prices.
    ListCost,
    /// `ContractedCost`: at negotiated prices.
    ContractedCost,
}

impl FocusCostColumn {
    /// The FOCUS column name.
    pub fn column(&self) -> &'static str {
        match self {
            FocusCostColumn::EffectiveCost => "EffectiveCost",
            FocusCostColumn::BilledCost => "BilledCost",
            FocusCostColumn::ListCost => "ListCost",
            FocusCostColumn::ContractedCost => "ContractedCost",
        }
    }
}

/// A FOCUS column the model name can come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FocusModelColumn {
    /// `ServiceName` (e.g. `Azure OpenAI Service`, or the model in exports
    /// written by this crate).
    ServiceName,
    /// `SkuId`.
    SkuId,
    /// `ResourceName` (often the deployment name of an AI service).
    ResourceName,
}

impl FocusModelColumn {
    /// The FOCUS column name.
    pub fn column(&self) -> &'static str {
        match self {
            FocusModelColumn::ServiceName => "ServiceName",
            FocusModelColumn::SkuId => "SkuId",
            FocusModelColumn::ResourceName => "ResourceName",
        }
    }
}

/// How FOCUS columns map to cost rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusConfig {
    /// Cost column (default `EffectiveCost`).
    pub cost_column: FocusCostColumn,
    /// Columns tried in order for the model; the first non-null wins
    /// (default `[ServiceName]`).
    pub model_columns: Vec<FocusModelColumn>,
    /// Tag keys tried in order for the team (default `team`, `business_unit`).
    pub team_tags: Vec<String>,
    /// Tag keys for the project (default `project`, `application`).
    pub project_tags: Vec<String>,
    /// Tag keys for the cost center (default `cost_center`, `cost_department`).
    pub cost_center_tags: Vec<String>,
    /// Tag keys for the feature (default `feature`).
    pub feature_tags: Vec<String>,
    /// Tag keys for the user (default `user`).
    pub user_tags: Vec<String>,
    /// Copy every tag into the row's `tags` (keys trimmed), so reports can
    /// group by `tag:<key>` (default true).
    pub keep_tags: bool,
    /// Accept and fix the non-conforming spellings listed in the module docs,
    /// reporting each fix (default false: reject them).
    pub lenient: bool,
}

impl Default for FocusConfig {
    fn default() -> Self {
        let v = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect();
        FocusConfig {
            cost_column: FocusCostColumn::default(),
            model_columns: vec![FocusModelColumn::ServiceName],
            team_tags: v(&["team", "business_unit"]),
            project_tags: v(&["project", "application"]),
            cost_center_tags: v(&["cost_center", "cost_department"]),
            feature_tags: v(&["feature"]),
            user_tags: v(&["user"]),
            keep_tags: true,
            lenient: false,
        }
    }
}

/// A value the lenient mode changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusFix {
    /// `file: line L, column C (Name)`.
    pub location: String,
    /// The cell as written.
    pub original: String,
    /// What it was read as (`NULL` for a null).
    pub fixed: String,
}

/// Normalise a tag key for comparison: trimmed, ASCII lower case, without
/// `_`, `-` and spaces.
fn tag_key(k: &str) -> String {
    k.trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

struct Cols {
    start: usize,
    cost: usize,
    currency: Option<usize>,
    provider: Option<usize>,
    models: Vec<usize>,
    tags: Option<usize>,
    sku_details: Option<usize>,
    principal: Option<usize>,
    /// Columns kept as tags under their own name (1.3+: `HostProviderName`,
    /// `Allocated*`, `ContractApplied`).
    extra_tags: Vec<(String, usize)>,
    version: FocusVersion,
    consumed_quantity: Option<usize>,
    consumed_unit: Option<usize>,
    requests: Option<usize>,
    input_tokens: Option<usize>,
    output_tokens: Option<usize>,
    cached_requests: Option<usize>,
    cache_read_tokens: Option<usize>,
    cache_write_tokens: Option<usize>,
    names: Vec<String>,
}

/// Reads a FOCUS CSV one [`CostRow`] at a time (an iterator of
/// `Result<CostRow>`). After the first error the iterator ends.
pub struct FocusReader<R: Read> {
    rdr: csv::Reader<R>,
    record: csv::StringRecord,
    cols: Cols,
    source: String,
    config: FocusConfig,
    team: Vec<String>,
    project: Vec<String>,
    cost_center: Vec<String>,
    feature: Vec<String>,
    user: Vec<String>,
    last_currency: Option<(String, Currency)>,
    fixes: Vec<FocusFix>,
    done: bool,
    need_tags: bool,
    keep_tags: bool,
    need_model: bool,
}

impl<R: Read> std::fmt::Debug for FocusReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusReader")
            .field("source", &self.source)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A FOCUS file's bytes: plain, or gzip-decompressed as they are read.
pub type FocusFile = Box<dyn Read + Send>;

impl FocusReader<FocusFile> {
    /// Open a FOCUS file: CSV; CSV compressed with gzip (a name ending in
    /// `.gz`, decompressed while it streams, several members allowed, as
    /// cloud exports split them); Parquet (a name ending in `.parquet`,
    /// with the `parquet` feature: see `backends::file::focus_parquet`).
    ///
    /// # Errors
    /// `Error::Backend` (`file`) when it cannot be opened; `Error::Parse`
    /// when a Parquet file does not read; `Error::Invalid` on `path` for a
    /// Parquet file in a build without the `parquet` feature.
    pub fn open(path: impl AsRef<Path>, config: FocusConfig) -> Result<Self> {
        Self::open_with(path.as_ref(), config, false)
    }

    /// Open a FOCUS file as [`Self::open`] does, for
    /// [`read_record`](Self::read_record): a Parquet file's every column is
    /// read (not only those the cost-row mapping uses).
    ///
    /// # Errors
    /// As [`Self::open`].
    pub fn open_passthrough(path: impl AsRef<Path>, config: FocusConfig) -> Result<Self> {
        Self::open_with(path.as_ref(), config, true)
    }

    fn open_with(path: &Path, config: FocusConfig, all: bool) -> Result<Self> {
        let f = File::open(path).map_err(|e| io_error(path, e))?;
        let ext = |x: &str| path.extension().is_some_and(|e| e.eq_ignore_ascii_case(x));
        if ext("parquet") {
            #[cfg(feature = "parquet")]
            {
                let name = path.display().to_string();
                let bytes = super::focus_parquet::ParquetCsv::open(f, &name, &config, all)?;
                return FocusReader::new(Box::new(bytes), &name, config);
            }
            #[cfg(not(feature = "parquet"))]
            {
                let _ = (f, all);
                return Err(Error::invalid(
                    "path",
                    format!(
                        "{} is Parquet: build with the `parquet` feature to read it",
                        path.display()
                    ),
                ));
            }
        }
        let buffered = BufReader::with_capacity(1 << 16, f);
        let bytes: FocusFile = if ext("gz") {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        FocusReader::new(bytes, &path.display().to_string(), config)
    }
}

pub(crate) fn io_error(path: &Path, e: std::io::Error) -> Error {
    let retryable = matches!(
        e.kind(),
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::TimedOut
    );
    Error::backend(
        "file",
        retryable,
        format!("cannot read {}: {e}", path.display()),
    )
}

impl<R: Read> FocusReader<R> {
    /// Read the header of a FOCUS CSV from `reader`. `source` names the
    /// input in errors.
    ///
    /// # Errors
    /// [`Error::Parse`] when the header lacks `ChargePeriodStart` or the
    /// configured cost column, or is not CSV.
    pub fn new(reader: R, source: &str, config: FocusConfig) -> Result<Self> {
        // Lines end at `\n` only, so that error line numbers are right for
        // CRLF files too (csv's default terminator counts a CRLF file's
        // lines one short); the `\r` left at the end of a line's last cell
        // is dropped in `cell`.
        // Flexible so that a blank CRLF line (one `\r` field) can be
        // skipped; the field count is checked in `read_row`.
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .terminator(csv::Terminator::Any(b'\n'))
            .buffer_capacity(1 << 16)
            .from_reader(reader);
        let names: Vec<String> = rdr
            .headers()
            .map_err(|e| csv_error(source, &e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
            .collect();
        let col = |name: &str| names.iter().position(|h| h.eq_ignore_ascii_case(name));
        let need = |name: &str| {
            col(name).ok_or_else(|| Error::Parse {
                location: format!("{source}: line 1"),
                reason: format!("the header has no `{name}` column"),
            })
        };
        let cols = Cols {
            start: need("ChargePeriodStart")?,
            cost: need(config.cost_column.column())?,
            currency: col("BillingCurrency"),
            // FOCUS 1.3 names the provider `ServiceProviderName`; 1.4 drops
            // `ProviderName`.
            provider: col("ServiceProviderName").or_else(|| col("ProviderName")),
            models: config
                .model_columns
                .iter()
                .filter_map(|m| col(m.column()))
                .collect(),
            tags: col("Tags"),
            sku_details: col("SkuPriceDetails"),
            principal: col("PrincipalId"),
            extra_tags: names
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    n.eq_ignore_ascii_case("HostProviderName")
                        || n.eq_ignore_ascii_case("ContractApplied")
                        || n.starts_with("Allocated")
                })
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            version: FocusVersion::detect(&names),
            consumed_quantity: col("ConsumedQuantity"),
            consumed_unit: col("ConsumedUnit"),
            requests: col("x_Requests"),
            input_tokens: col("x_InputTokens"),
            output_tokens: col("x_OutputTokens"),
            cached_requests: col("x_CachedRequests"),
            cache_read_tokens: col("x_CacheReadTokens"),
            cache_write_tokens: col("x_CacheWriteTokens"),
            names: names.clone(),
        };
        let keys = |v: &[String]| v.iter().map(|k| tag_key(k)).collect::<Vec<_>>();
        Ok(FocusReader {
            rdr,
            record: csv::StringRecord::new(),
            team: keys(&config.team_tags),
            project: keys(&config.project_tags),
            cost_center: keys(&config.cost_center_tags),
            feature: keys(&config.feature_tags),
            user: keys(&config.user_tags),
            cols,
            source: source.to_owned(),
            last_currency: None,
            fixes: Vec::new(),
            done: false,
            need_tags: true,
            keep_tags: config.keep_tags,
            need_model: true,
            config,
        })
    }

    /// Map only what `query` uses (faster): tags are parsed only when the
    /// query groups or filters by team, project, cost center, feature, user
    /// or a tag, kept in `tags` only when it groups by a tag, and the model
    /// is read only when it groups or filters by model. Rows then lack the
    /// dimensions the query does not use; the answer to `query` is the same.
    pub fn only_for(mut self, query: &CostQuery) -> Self {
        let uses = |d: fn(&Dimension) -> bool| query.group_by.iter().any(d);
        let f = &query.filters;
        self.keep_tags = self.config.keep_tags && uses(|d| matches!(d, Dimension::Tag(_)));
        self.need_tags = self.keep_tags
            || !f.teams.is_empty()
            || !f.projects.is_empty()
            || !f.cost_centers.is_empty()
            || uses(|d| {
                matches!(
                    d,
                    Dimension::Team
                        | Dimension::Project
                        | Dimension::CostCenter
                        | Dimension::Feature
                        | Dimension::User
                )
            });
        self.need_model = !f.models.is_empty()
            || uses(|d| matches!(d, Dimension::Model | Dimension::ModelFamily));
        self
    }

    /// The FOCUS version the header's columns say the file follows.
    pub fn version(&self) -> FocusVersion {
        self.cols.version
    }

    /// The values fixed by the lenient mode since the last call (empty in
    /// strict mode).
    pub fn take_fixes(&mut self) -> Vec<FocusFix> {
        std::mem::take(&mut self.fixes)
    }

    /// Read the next row into a cost row; `Ok(None)` at the end.
    ///
    /// # Errors
    /// [`Error::Parse`] naming the file, line and column of a bad cell.
    pub fn read_row(&mut self) -> Result<Option<CostRow>> {
        if !self.next_record()? {
            return Ok(None);
        }
        let row = self.convert();
        if row.is_err() {
            self.done = true;
        }
        row.map(Some)
    }

    /// The header's column names, as written (trimmed).
    pub fn columns(&self) -> &[String] {
        &self.cols.names
    }

    /// Read the next charge as it is written, every column kept (FOCUS or
    /// custom), for passthrough: nulls (`NULL` or empty; in lenient mode
    /// `null` in any case) are left out, nothing else is changed. `Ok(None)`
    /// at the end.
    ///
    /// # Errors
    /// [`Error::Parse`] when the CSV is malformed or a line has a different
    /// number of fields than the header.
    pub fn read_record(&mut self) -> Result<Option<FocusRecord>> {
        if !self.next_record()? {
            return Ok(None);
        }
        let mut rec = FocusRecord::new();
        for (i, name) in self.cols.names.iter().enumerate() {
            if let Some(v) = self.cell(i) {
                rec.set(name.as_str(), Some(v));
            }
        }
        Ok(Some(rec))
    }

    /// Move to the next non-blank line; `false` at the end (or after an
    /// error).
    fn next_record(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        loop {
            match self.rdr.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    return Ok(false);
                }
                Err(e) => {
                    self.done = true;
                    return Err(csv_error(&self.source, &e));
                }
            }
            if is_blank(&self.record) {
                continue;
            }
            if self.record.len() != self.cols.names.len() {
                self.done = true;
                return Err(Error::Parse {
                    location: format!("{}: line {}", self.source, self.line()),
                    reason: format!(
                        "the line has {} fields, the header {}",
                        self.record.len(),
                        self.cols.names.len()
                    ),
                });
            }
            return Ok(true);
        }
    }

    fn line(&self) -> u64 {
        self.record.position().map_or(0, |p| p.line())
    }

    fn location(&self, i: usize) -> String {
        format!(
            "{}: line {}, column {} ({})",
            self.source,
            self.line(),
            i + 1,
            self.cols.names.get(i).map_or("", String::as_str)
        )
    }

    fn bad(&self, i: usize, what: &str) -> Error {
        Error::Parse {
            location: self.location(i),
            reason: format!(
                "{what}: {:?}",
                self.record
                    .get(i)
                    .map_or("", |v| v.strip_suffix('\r').unwrap_or(v))
            ),
        }
    }

    /// The cell, `None` when null (`NULL` or empty; in lenient mode also
    /// `null` in any case, recorded by [`Self::note_nulls`]).
    fn cell(&self, i: usize) -> Option<&str> {
        let v = self.record.get(i)?;
        let v = v.strip_suffix('\r').unwrap_or(v);
        if v.is_empty() || v == "NULL" || (self.config.lenient && is_lenient_null(v)) {
            return None;
        }
        Some(v)
    }

    /// Lenient mode: record every `null` spelling in a column the reader uses.
    fn note_nulls(&mut self) {
        let c = &self.cols;
        let used = [
            Some(c.start),
            Some(c.cost),
            c.currency,
            c.provider,
            c.tags,
            c.requests,
            c.input_tokens,
            c.output_tokens,
            c.cached_requests,
        ];
        let idx: Vec<usize> = used
            .into_iter()
            .flatten()
            .chain(c.models.iter().copied())
            .collect();
        for i in idx {
            if let Some(v) = self.record.get(i) {
                let v = v.strip_suffix('\r').unwrap_or(v);
                if v != "NULL" && is_lenient_null(v) {
                    let fix = FocusFix {
                        location: self.location(i),
                        original: v.to_owned(),
                        fixed: "NULL".into(),
                    };
                    self.fixes.push(fix);
                }
            }
        }
    }

    fn text(&self, i: Option<usize>) -> Option<String> {
        i.and_then(|i| self.cell(i)).map(str::to_owned)
    }

    fn decimal(&mut self, i: usize) -> Result<Option<Decimal>> {
        let Some(v) = self.cell(i) else {
            return Ok(None);
        };
        if let Some(d) = parse_decimal(v) {
            return Ok(Some(d));
        }
        if self.config.lenient {
            let cleaned: String = v
                .chars()
                .filter(|c| !matches!(c, '$' | ',' | ' ' | '\u{a0}'))
                .collect();
            if let Some(d) = parse_decimal(&cleaned) {
                let fix = FocusFix {
                    location: self.location(i),
                    original: v.to_owned(),
                    fixed: d.to_string(),
                };
                self.fixes.push(fix);
                return Ok(Some(d));
            }
        }
        Err(self.bad(i, "not a decimal number"))
    }

    fn count_cell(&self, i: Option<usize>) -> Result<u64> {
        let Some(i) = i else { return Ok(0) };
        match self.cell(i) {
            None => Ok(0),
            Some(v) => v
                .parse::<u64>()
                .map_err(|_| self.bad(i, "not a non-negative integer")),
        }
    }

    fn convert(&mut self) -> Result<CostRow> {
        if self.config.lenient {
            self.note_nulls();
        }
        let c = self.cols.start;
        let start = match self.cell(c) {
            None => return Err(self.bad(c, "ChargePeriodStart is null")),
            Some(v) => match parse_timestamp(v) {
                Some(t) => t,
                None => {
                    let v = v.to_owned();
                    let us = if self.config.lenient {
                        parse_us_date(&v)
                    } else {
                        None
                    };
                    match us {
                        Some(t) => {
                            let fix = FocusFix {
                                location: self.location(c),
                                original: v,
                                fixed: t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                            };
                            self.fixes.push(fix);
                            t
                        }
                        None => return Err(self.bad(c, "not a date-time")),
                    }
                }
            },
        };
        let cost = self.decimal(self.cols.cost)?.unwrap_or_default();
        let currency = match self.cols.currency {
            None => None,
            Some(i) => match self.cell(i) {
                None => None,
                Some(code) => match &self.last_currency {
                    Some((last, cur)) if last == code => Some(*cur),
                    _ => {
                        let code = code.to_owned();
                        let cur = Currency::parse(&code)
                            .map_err(|_| self.bad(i, "not an ISO 4217 currency code"))?;
                        self.last_currency = Some((code, cur));
                        Some(cur)
                    }
                },
            },
        };
        let provider = self.text(self.cols.provider);
        let mut model = None;
        let model_cols = if self.need_model {
            self.cols.models.len()
        } else {
            0
        };
        for k in 0..model_cols {
            let i = self.cols.models.get(k).copied();
            if let Some(m) = self.text(i) {
                model = Some(m);
                break;
            }
        }
        let mut row = CostRow {
            date: start.date_naive(),
            timestamp: Some(start),
            provider,
            model,
            cost,
            currency,
            requests: self.count_cell(self.cols.requests)?,
            input_tokens: self.count_cell(self.cols.input_tokens)?,
            output_tokens: self.count_cell(self.cols.output_tokens)?,
            cached_requests: self.count_cell(self.cols.cached_requests)?,
            cache_read_tokens: self.count_cell(self.cols.cache_read_tokens)?,
            cache_write_tokens: self.count_cell(self.cols.cache_write_tokens)?,
            ..Default::default()
        };
        if let Some(i) = self.cols.sku_details {
            if self.need_model || self.need_tags {
                self.apply_ai_details(&mut row, i)?;
            }
        }
        if let Some(i) = self.cols.tags {
            if !self.need_tags {
                // The query uses no tag: skip parsing them.
            } else if let Some(text) = self.cell(i) {
                let tags = serde_json::from_str::<TagMap<'_>>(text)
                    .map_err(|_| self.bad(i, "Tags is not a JSON object"))?
                    .0;
                self.apply_tags(&mut row, tags);
            }
        }
        if self.need_tags {
            if row.user.is_none() {
                row.user = self.text(self.cols.principal);
            }
            if self.keep_tags {
                for (name, i) in &self.cols.extra_tags {
                    if let Some(v) = self.cell(*i) {
                        row.tags.entry(name.clone()).or_insert_with(|| v.to_owned());
                    }
                }
            }
        }
        Ok(row)
    }

    /// The AI model billing keys of `SkuPriceDetails` (FOCUS working
    /// draft): `ModelId` as the model, the token class of
    /// `TokenDirection` and `TokenCacheAction` (or the interim `TokenType`)
    /// as the tag `token_class`, and `ConsumedQuantity` in `Tokens` as the
    /// row's input or output tokens (when the row has no `x_` token
    /// columns). A cell without those keys changes nothing.
    fn apply_ai_details(&self, row: &mut CostRow, i: usize) -> Result<()> {
        let Some(text) = self.cell(i) else {
            return Ok(());
        };
        if !text.contains("Model") && !text.contains("Token") {
            return Ok(());
        }
        let details = serde_json::from_str::<BTreeMap<String, serde_json::Value>>(text)
            .map_err(|_| self.bad(i, "SkuPriceDetails is not a JSON object"))?;
        let get = |k: &str| {
            details
                .get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if let Some(m) = get("ModelId") {
            row.model = Some(m.to_owned());
        }
        if let Some(f) = get("ModelFamily") {
            row.model_family = Some(f.to_owned());
        }
        if self.keep_tags {
            for key in ["ModelFamily", "ModelDeveloper", "ModelVersion"] {
                if let Some(v) = get(key) {
                    row.tags.insert(key.to_owned(), v.to_owned());
                }
            }
        }
        let direction = get("TokenDirection").or_else(|| get("TokenType"));
        let class = match (
            direction.map(str::to_ascii_lowercase),
            get("TokenCacheAction"),
        ) {
            (Some(d), cache) if d == "input" => Some(match cache.map(str::to_ascii_lowercase) {
                Some(c) if c == "read" => TokenClass::CacheRead,
                Some(c) if c == "write" => TokenClass::CacheWrite,
                _ => TokenClass::Input,
            }),
            (Some(d), _) if d == "output" => Some(TokenClass::Output),
            _ => None,
        };
        let Some(class) = class else {
            return Ok(());
        };
        row.tags
            .insert("token_class".to_owned(), class.as_str().to_owned());
        let tokens_unit = self
            .cols
            .consumed_unit
            .and_then(|u| self.cell(u))
            .is_some_and(|u| u.trim().eq_ignore_ascii_case("tokens"));
        if tokens_unit && row.input_tokens == 0 && row.output_tokens == 0 {
            if let Some(q) = self.cols.consumed_quantity {
                let n = self
                    .cell(q)
                    .and_then(parse_decimal)
                    .filter(|d| d.fract().is_zero() && !d.is_sign_negative())
                    .and_then(|d| u64::try_from(d).ok())
                    .ok_or_else(|| self.bad(q, "not a whole number of tokens"))?;
                match class {
                    TokenClass::Output => row.output_tokens = n,
                    TokenClass::CacheRead => {
                        row.input_tokens = n;
                        row.cache_read_tokens = n;
                    }
                    TokenClass::CacheWrite => {
                        row.input_tokens = n;
                        row.cache_write_tokens = n;
                    }
                    _ => row.input_tokens = n,
                }
            }
        }
        Ok(())
    }

    fn apply_tags(&self, row: &mut CostRow, tags: Vec<(TagKey<'_>, &RawValue)>) {
        let mut parsed: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(tags.len());
        for (k, raw) in &tags {
            let text = raw.get();
            let v: Cow<'_, str> = if text == "null" {
                continue;
            } else if let Some(inner) = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|t| !t.contains('\\'))
            {
                Cow::Borrowed(inner)
            } else if text.starts_with('"') {
                match serde_json::from_str::<String>(text) {
                    Ok(s) => Cow::Owned(s),
                    Err(_) => continue,
                }
            } else {
                Cow::Borrowed(text)
            };
            parsed.push((k.0.as_ref(), v));
        }
        let pick = |keys: &[String]| {
            keys.iter().find_map(|want| {
                parsed
                    .iter()
                    .find(|(k, v)| key_matches(k, want) && !v.trim().is_empty())
                    .map(|(_, v)| v.trim().to_owned())
            })
        };
        row.team = pick(&self.team);
        row.project = pick(&self.project);
        row.cost_center = pick(&self.cost_center);
        row.feature = pick(&self.feature);
        row.user = pick(&self.user);
        if self.keep_tags {
            for (k, v) in parsed {
                row.tags
                    .entry(k.trim().to_owned())
                    .or_insert_with(|| v.into_owned());
            }
        }
    }
}

/// A tag key, borrowed from the cell when it has no escapes.
#[derive(serde::Deserialize)]
struct TagKey<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON object read as its entries in order, borrowing what it can.
struct TagMap<'a>(Vec<(TagKey<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for TagMap<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = TagMap<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(entry) = map.next_entry::<TagKey<'a>, &'a RawValue>()? {
                    out.push(entry);
                }
                Ok(TagMap(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Whether tag key `k` equals `want` (already normalised by [`tag_key`])
/// once trimmed, lower-cased and stripped of `_`, `-` and spaces; no
/// allocation.
fn key_matches(k: &str, want: &str) -> bool {
    let mut a = k
        .trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .map(|c| c.to_ascii_lowercase());
    let mut b = want.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

impl<R: Read> Iterator for FocusReader<R> {
    type Item = Result<CostRow>;
    fn next(&mut self) -> Option<Self::Item> {
        self.read_row().transpose()
    }
}

fn csv_error(source: &str, e: &csv::Error) -> Error {
    let location = match e.position() {
        Some(p) => format!("{source}: line {}", p.line()),
        None => source.to_owned(),
    };
    Error::Parse {
        location,
        reason: e.to_string(),
    }
}

/// A blank line: one field, empty or a lone `\r` (CRLF files).
pub(crate) fn is_blank(record: &csv::StringRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty() || f == "\r")
}

fn is_lenient_null(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("null")
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    Some(n)
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|±HH:MM]`, no zone meaning UTC; also a
/// bare `YYYY-MM-DD` (midnight UTC).
pub(crate) fn parse_timestamp(v: &str) -> Option<DateTime<Utc>> {
    let b = v.as_bytes();
    // Fast path for the common fixed-width forms.
    if (b.len() == 19 || (b.len() == 20 && b.get(19) == Some(&b'Z')))
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b' '))
        && b.get(13) == Some(&b':')
        && b.get(16) == Some(&b':')
    {
        let y = digits(b.get(0..4)?)?;
        let mo = digits(b.get(5..7)?)?;
        let d = digits(b.get(8..10)?)?;
        let h = digits(b.get(11..13)?)?;
        let mi = digits(b.get(14..16)?)?;
        let s = digits(b.get(17..19)?)?;
        let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?;
        let time = NaiveTime::from_hms_opt(h, mi, s)?;
        return Some(Utc.from_utc_datetime(&date.and_time(time)));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, f) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(v, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
}

/// `M/D/YY` or `M/D/YYYY` (US order; two-digit years are 20xx), midnight UTC.
fn parse_us_date(v: &str) -> Option<DateTime<Utc>> {
    let mut parts = v.trim().split('/');
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    let y_text = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let y: i32 = y_text.parse().ok()?;
    let y = match y_text.len() {
        2 => 2000 + y,
        4 => y,
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(y, m, d)?;
    Some(Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN)))
}

/// Read a whole FOCUS input into rows, with the fixes of the lenient mode.
///
/// # Errors
/// As [`FocusReader::read_row`].
pub fn read_focus_rows<R: Read>(
    reader: R,
    source: &str,
    config: FocusConfig,
) -> Result<(Vec<CostRow>, Vec<FocusFix>)> {
    let mut r = FocusReader::new(reader, source, config)?;
    let mut rows = Vec::new();
    while let Some(row) = r.read_row()? {
        rows.push(row);
    }
    Ok((rows, r.take_fixes()))
}

/// Rows held at once while streaming.
const CHUNK: usize = 4096;

type MergeKey = (Option<NaiveDateTime>, Vec<Option<String>>, Currency);

/// Merges the partial answers of [`aggregate_rows`] over chunks of rows.
#[derive(Default)]
struct Merger {
    buckets: HashMap<MergeKey, CostBucket>,
}

impl Merger {
    fn add(&mut self, part: Vec<CostBucket>) -> Result<()> {
        for b in part {
            let key = (b.period_start, b.keys.clone(), b.currency);
            match self.buckets.get_mut(&key) {
                None => {
                    self.buckets.insert(key, b);
                }
                Some(acc) => {
                    acc.cost = acc.cost.checked_add(b.cost).ok_or_else(|| {
                        Error::invalid("cost", "the sum of costs overflows a decimal")
                    })?;
                    acc.requests = acc.requests.saturating_add(b.requests);
                    acc.input_tokens = acc.input_tokens.saturating_add(b.input_tokens);
                    acc.output_tokens = acc.output_tokens.saturating_add(b.output_tokens);
                    acc.cached_requests = acc.cached_requests.saturating_add(b.cached_requests);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<CostBucket> {
        let mut out: Vec<CostBucket> = self.buckets.into_values().collect();
        crate::core::aggregate::sort_buckets(&mut out);
        out
    }
}

/// Aggregate a stream of rows as [`aggregate_rows`] does, holding at most
/// a few thousand rows at a time: rows are aggregated by chunks and the
/// partial buckets merged (sums are exact, so the answer equals
/// [`aggregate_rows`] over all rows). Rows outside `query.range` are dropped
/// before they are buffered.
///
/// # Errors
/// The first error of `rows`, or [`Error::Invalid`] for an invalid query.
pub fn aggregate_stream(
    rows: impl IntoIterator<Item = Result<CostRow>>,
    query: &CostQuery,
    default_currency: Currency,
) -> Result<Vec<CostBucket>> {
    aggregate_chunked(rows, query, default_currency, CHUNK)
}

fn aggregate_chunked(
    rows: impl IntoIterator<Item = Result<CostRow>>,
    query: &CostQuery,
    default_currency: Currency,
    chunk_size: usize,
) -> Result<Vec<CostBucket>> {
    let chunk_size = chunk_size.max(1);
    // Validates the query even when there are no rows.
    let mut merger = Merger::default();
    merger.add(aggregate_rows(&[], query, default_currency)?)?;
    let mut chunk: Vec<CostRow> = Vec::with_capacity(chunk_size);
    for row in rows {
        let row = row?;
        if !query.range.contains(row.date) {
            continue;
        }
        chunk.push(row);
        if chunk.len() == chunk_size {
            merger.add(aggregate_rows(&chunk, query, default_currency)?)?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        merger.add(aggregate_rows(&chunk, query, default_currency)?)?;
    }
    Ok(merger.finish())
}

/// Stream one FOCUS file and aggregate it (see [`aggregate_stream`]).
///
/// # Errors
/// `Error::Backend` (`file`) when the file cannot be read, [`Error::Parse`]
/// for a bad cell (file, line and column), [`Error::Invalid`] for an invalid
/// query.
pub fn aggregate_focus(
    path: impl AsRef<Path>,
    config: &FocusConfig,
    query: &CostQuery,
    default_currency: Currency,
) -> Result<Vec<CostBucket>> {
    let path = path.as_ref();
    #[cfg(feature = "parquet")]
    if let Some(buckets) = columnar(path, config, query, default_currency)? {
        return Ok(buckets);
    }
    let reader = FocusReader::open(path, config.clone())?.only_for(query);
    aggregate_stream(reader, query, default_currency)
}

/// A Parquet file aggregated column by column, when the query allows it
/// (`focus_parquet::aggregate_columnar`).
#[cfg(feature = "parquet")]
fn columnar(
    path: &Path,
    config: &FocusConfig,
    query: &CostQuery,
    default_currency: Currency,
) -> Result<Option<Vec<CostBucket>>> {
    if !path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
    {
        return Ok(None);
    }
    super::focus_parquet::aggregate_columnar(path, config, query, default_currency)
}

/// What [`FocusCostSource::check`] found in an organization's files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FocusCheck {
    /// Rows read.
    pub rows: u64,
    /// Values the lenient mode fixed (empty in strict mode).
    pub fixes: Vec<FocusFix>,
}

/// A [`CostSource`] over FOCUS files, per organization, that streams the
/// files for every query (see the module docs for the trade-off). Clones
/// share the file list.
///
/// Reading is blocking file I/O done inside the returned future: on a
/// multi-threaded runtime that is acceptable for occasional reports; a host
/// that serves many queries should call [`aggregate_focus`] from
/// `spawn_blocking` instead.
#[derive(Clone, Debug, Default)]
pub struct FocusCostSource {
    files: Arc<HashMap<OrganizationId, Vec<PathBuf>>>,
    config: FocusConfig,
    currency: Currency,
}

impl FocusCostSource {
    /// A source with no files, mapping columns with `config`; rows without a
    /// `BillingCurrency` are in USD.
    pub fn new(config: FocusConfig) -> Self {
        FocusCostSource {
            files: Arc::default(),
            config,
            currency: Currency::USD,
        }
    }

    /// The same source with another default currency.
    pub fn with_default_currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// The same source with one more file for `org` (files are read in the
    /// order added; a missing file is an error at query time).
    pub fn with_file(mut self, org: OrganizationId, path: impl Into<PathBuf>) -> Self {
        Arc::make_mut(&mut self.files)
            .entry(org)
            .or_default()
            .push(path.into());
        self
    }

    /// The column mapping.
    pub fn config(&self) -> &FocusConfig {
        &self.config
    }

    /// Read every file of `org` once, without aggregating: the number of
    /// rows and, in lenient mode, every value fixed.
    ///
    /// # Errors
    /// As [`aggregate_focus`].
    pub fn check(&self, org: OrganizationId) -> Result<FocusCheck> {
        let mut out = FocusCheck::default();
        for path in self.files.get(&org).into_iter().flatten() {
            let mut r = FocusReader::open(path, self.config.clone())?;
            while r.read_row()?.is_some() {
                out.rows += 1;
                out.fixes.append(&mut r.fixes);
            }
            out.fixes.append(&mut r.fixes);
        }
        Ok(out)
    }

    /// The blocking aggregation behind [`CostSource::aggregate`].
    ///
    /// # Errors
    /// As [`aggregate_focus`].
    pub fn aggregate_blocking(
        &self,
        org: OrganizationId,
        query: &CostQuery,
    ) -> Result<Vec<CostBucket>> {
        let files = self.files.get(&org).cloned().unwrap_or_default();
        let config = self.config.clone();
        let mut readers = Vec::with_capacity(files.len());
        let mut merger = Merger::default();
        for path in &files {
            #[cfg(feature = "parquet")]
            if let Some(buckets) = columnar(path, &config, query, self.currency)? {
                merger.add(buckets)?;
                continue;
            }
            readers.push(FocusReader::open(path, config.clone())?.only_for(query));
        }
        merger.add(aggregate_stream(
            readers.into_iter().flatten(),
            query,
            self.currency,
        )?)?;
        Ok(merger.finish())
    }
}

#[async_trait]
impl CostSource for FocusCostSource {
    async fn aggregate(&self, org: OrganizationId, query: &CostQuery) -> Result<Vec<CostBucket>> {
        self.aggregate_blocking(org, query)
    }

    fn default_currency(&self) -> Currency {
        self.currency
    }

    /// `model` holds the first configured model column: the billed service
    /// (`Service`), SKU (`SKU`) or resource (`Resource`).
    fn dimension_label(&self, dimension: &Dimension) -> Option<String> {
        match (dimension, self.config.model_columns.first()) {
            (Dimension::Model, Some(FocusModelColumn::ServiceName)) => Some("Service".into()),
            (Dimension::Model, Some(FocusModelColumn::SkuId)) => Some("SKU".into()),
            (Dimension::Model, Some(FocusModelColumn::ResourceName)) => Some("Resource".into()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{DateRange, Granularity};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn row(day: u32, hour: u32, team: u8, eur: bool, cents: i64) -> CostRow {
        let date = NaiveDate::from_ymd_opt(2024, 9, day).unwrap_or_default();
        CostRow {
            date,
            timestamp: Some(
                Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0).unwrap_or_default()),
            ),
            team: (team > 0).then(|| format!("t{team}")),
            provider: Some("AWS".into()),
            cost: Decimal::new(cents, 4),
            currency: eur.then_some(Currency::EUR),
            requests: 1,
            ..Default::default()
        }
    }

    proptest! {
        #[test]
        fn chunked_streaming_equals_aggregate_rows(
            spec in proptest::collection::vec((1u32..=30, 0u32..24, 0u8..4, any::<bool>(), -10_000i64..10_000), 0..60),
            chunk in 1usize..7,
            daily in any::<bool>(),
        ) {
            let rows: Vec<CostRow> = spec.iter().map(|&(d, h, t, e, c)| row(d, h, t, e, c)).collect();
            let range = DateRange::new(
                NaiveDate::from_ymd_opt(2024, 9, 5).unwrap_or_default(),
                NaiveDate::from_ymd_opt(2024, 9, 25).unwrap_or_default(),
            ).unwrap();
            let mut q = CostQuery::total(range).group_by([Dimension::Team]);
            if daily {
                q = q.bucketed(Granularity::Day);
            }
            let expected = aggregate_rows(&rows, &q, Currency::USD).unwrap();
            let got = aggregate_chunked(rows.into_iter().map(Ok), &q, Currency::USD, chunk).unwrap();
            prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn the_first_error_of_the_stream_is_returned() {
        let q = CostQuery::total(DateRange::day(
            NaiveDate::from_ymd_opt(2024, 9, 1).unwrap_or_default(),
        ));
        let rows = vec![Ok(row(1, 0, 1, false, 5)), Err(Error::invalid("x", "bad"))];
        assert_eq!(
            aggregate_stream(rows, &q, Currency::USD)
                .unwrap_err()
                .field(),
            Some("x")
        );
        let ok = aggregate_stream(vec![Ok(row(1, 0, 1, false, 5))], &q, Currency::USD).unwrap();
        assert_eq!(ok[0].cost, dec!(0.0005));
    }

    #[test]
    fn timestamps_in_every_accepted_spelling() {
        for (text, want) in [
            ("2024-09-18 23:00:00", "2024-09-18T23:00:00+00:00"),
            ("2024-09-18T23:00:00Z", "2024-09-18T23:00:00+00:00"),
            ("2024-09-18T23:00:00+02:00", "2024-09-18T21:00:00+00:00"),
            ("2024-09-18 23:00:00.250", "2024-09-18T23:00:00.250+00:00"),
            ("2024-09-18", "2024-09-18T00:00:00+00:00"),
        ] {
            assert_eq!(
                parse_timestamp(text).map(|t| t.to_rfc3339()).as_deref(),
                Some(want),
                "{text}"
            );
        }
        for bad in [
            "4/1/25",
            "2024-02-30 00:00:00",
            "2024-09-18 25:00:00",
            "",
            "x",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert_eq!(
            parse_us_date("4/1/25").map(|t| t.to_rfc3339()).as_deref(),
            Some("2025-04-01T00:00:00+00:00")
        );
        assert_eq!(parse_us_date("13/1/25"), None);
        assert_eq!(parse_us_date("4/1/2025/1"), None);
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FocusCostSource>();
        check::<FocusConfig>();
        check::<FocusReader<std::fs::File>>();
        fn check_send<T: Send>() {}
        check_send::<FocusReader<FocusFile>>();
    }
}
