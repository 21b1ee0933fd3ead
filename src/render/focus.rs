//! FOCUS exports (FinOps Open Cost and Usage Specification, any version of
//! [`FocusVersion`]: 1.0 to 1.4) written so that FinOps tools take them in:
//! cost rows, a report's detail, a chargeback allocation, or a FOCUS file
//! passed through to another version. CSV here; Parquet with the `parquet`
//! feature (`backends::file::focus_parquet::write_focus_parquet`).
//!
//! Every export has each mandatory and conditional column of its version
//! ([`FocusVersion::required_columns`]); a value the crate does not know is
//! null, never made up. [`check`] tests a file against its version's table
//! (columns present, nulls, types, allowed values), and `.ci/run` runs the
//! FinOps Foundation's validator on the 1.0 exports.
//!
//! ## From cost rows and report detail ([`FocusExport::record_from_row`])
//!
//! | column | value |
//! |---|---|
//! | `BillingAccountId`, `BillingAccountName` | [`FocusExport::billing_account_id`] (the organization, for a report) and `billing_account_name` |
//! | `BillingPeriodStart`, `BillingPeriodEnd` | the calendar month (UTC) holding the charge |
//! | `ChargePeriodStart`, `ChargePeriodEnd` | the row's hour (its exact instant as start) or day; a bucket's period clipped to the report's range |
//! | `ChargeCategory`, `ChargeFrequency` | `Usage`, `Usage-Based`: a cost row is a charge for API usage |
//! | `BilledCost`, `EffectiveCost`, `ListCost`, `ContractedCost` | the row's cost: the crate prices usage at one price, with no commitment or negotiated discount, so the four are equal |
//! | `BillingCurrency` | the row's currency (else the export's default) |
//! | `ProviderName`, `PublisherName` (to 1.2), `ServiceProviderName` (1.3+), `InvoiceIssuerName` | the `provider` |
//! | `ServiceCategory` | `AI and Machine Learning` when the row has a model or tokens, else null |
//! | `ServiceName`, `SkuId` | the model (the offering bought), else null |
//! | `SkuPriceDetails` (1.1+) | `{"ModelId": model}`, with the row's `model_family` and its `ModelFamily`, `ModelDeveloper`, `ModelVersion` tags when it has them |
//! | `ConsumedQuantity`, `ConsumedUnit`, `PricingQuantity`, `PricingUnit` | input plus output tokens in `Tokens`; else requests in `Requests`; else null |
//! | `Tags` | team, project, cost center, feature, user and the row's other tags, as a JSON object |
//! | `x_Requests`, `x_InputTokens`, `x_OutputTokens`, `x_CachedRequests`, `x_CacheReadTokens`, `x_CacheWriteTokens` | the counts (custom columns, `x_` as the specification asks; cache reads and writes are parts of the input tokens, and a report's detail has none) |
//! | every other column | null |
//!
//! A row's tag whose key is a text column of the version (`ChargeCategory`,
//! `ServiceName`, `SkuId`, `RegionId`, `HostProviderName`, `AllocatedMethodId`...)
//! sets that column instead of going into `Tags`: that is how the FOCUS
//! reader's `HostProviderName`, `Allocated*` and `ContractApplied` tags
//! come back out, and how a host fills a column the crate cannot know.
//!
//! ## Passthrough ([`FocusExport::convert`])
//!
//! A FOCUS file read with `FocusReader::read_record` keeps every value it
//! had: each column is written under its name; columns the target version
//! renamed are renamed (`ProviderName` to `ServiceProviderName` from 1.3 on,
//! back for older versions); a column the target version does not have is
//! kept as a custom column `x_<Name>`; required columns the source lacked
//! are null.
//!
//! ## Allocation ([`FocusExport::records_from_allocation`])
//!
//! One row per target and model of a chargeback (`AllocatedResourceId` and
//! `AllocatedResourceName` the target, `AllocatedMethodId` the
//! configuration's id, `AllocatedMethodDetails` a JSON object with the
//! basis, the tag key and the rules), plus one row of the unallocated cost
//! with no allocated resource. The `Allocated*` columns are FOCUS 1.3's;
//! older versions get them as `x_Allocated*`. The allocation keeps cost by
//! provider and by model apart, so a line has its provider only when its
//! target used one provider; the unallocated line has no provider or
//! model. Those mandatory columns are null there, not guessed ([`check`]
//! reports them).
//!
//! Text cells that a spreadsheet would run as a formula (starting with `=`,
//! `+`, `-`, `@`, tab or carriage return) are written with a leading `'`,
//! except in passthrough and in decimal columns, whose values are written as
//! they are.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;

use crate::model::{
    parse_decimal, ChargebackConfiguration, ChargebackRecord, CostBucket, CostRow, Currency,
    DateRange, Dimension, FocusDataType, FocusRecord, FocusVersion, Granularity, ReportDocument,
};
use crate::{Error, Result};

/// The custom count columns written after the FOCUS columns.
pub const COUNT_COLUMNS: [&str; 6] = [
    "x_Requests",
    "x_InputTokens",
    "x_OutputTokens",
    "x_CachedRequests",
    "x_CacheReadTokens",
    "x_CacheWriteTokens",
];

/// What an export writes: the version and the values the crate cannot read
/// from cost data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusExport {
    /// The FOCUS version written.
    pub version: FocusVersion,
    /// `BillingAccountId` of every line (mandatory, never null): the account
    /// the costs are billed to, e.g. the organization's id.
    pub billing_account_id: String,
    /// `BillingAccountName` (nullable).
    pub billing_account_name: Option<String>,
    /// The currency of rows that have none.
    pub default_currency: Currency,
}

impl FocusExport {
    /// An export to `version` for the billing account `billing_account_id`,
    /// rows without a currency in USD.
    pub fn new(version: FocusVersion, billing_account_id: impl Into<String>) -> Self {
        FocusExport {
            version,
            billing_account_id: billing_account_id.into(),
            billing_account_name: None,
            default_currency: Currency::USD,
        }
    }

    /// Set `BillingAccountName`.
    #[must_use]
    pub fn billing_account_name(mut self, name: impl Into<String>) -> Self {
        self.billing_account_name = Some(name.into());
        self
    }

    /// Set the currency of rows that have none.
    #[must_use]
    pub fn default_currency(mut self, currency: Currency) -> Self {
        self.default_currency = currency;
        self
    }

    /// Whether the version has `column`.
    fn has(&self, column: &str) -> bool {
        self.version.column(column).is_some()
    }

    /// The provider columns of the version: `ProviderName` and
    /// `PublisherName` up to 1.3, `ServiceProviderName` from 1.3.
    fn set_provider(&self, rec: &mut FocusRecord, provider: Option<&str>) {
        let provider = provider.map(inert);
        let provider = provider.as_deref();
        for c in ["ProviderName", "PublisherName", "ServiceProviderName"] {
            if self.has(c) {
                rec.set(c, provider);
            }
        }
        rec.set("InvoiceIssuerName", provider);
    }

    fn common(&self, rec: &mut FocusRecord, start: NaiveDateTime, end: NaiveDateTime) {
        rec.set("BillingAccountId", Some(self.billing_account_id.as_str()));
        rec.set("BillingAccountName", self.billing_account_name.as_deref());
        rec.set(
            "BillingPeriodStart",
            Some(ts(midnight(month_start(start.date())))),
        );
        rec.set(
            "BillingPeriodEnd",
            Some(ts(midnight(next_month(start.date())))),
        );
        rec.set("ChargePeriodStart", Some(ts(start)));
        rec.set("ChargePeriodEnd", Some(ts(end)));
        rec.set("ChargeCategory", Some("Usage"));
        if self.has("ChargeFrequency") {
            rec.set("ChargeFrequency", Some("Usage-Based"));
        }
    }

    fn costs(rec: &mut FocusRecord, cost: Decimal, currency: Currency) {
        let cost = decimal_text(cost);
        for c in ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"] {
            rec.set(c, Some(cost.as_str()));
        }
        rec.set("BillingCurrency", Some(currency.code()));
    }

    /// The service, SKU and quantities of a usage line; `counts` in the
    /// order of [`COUNT_COLUMNS`]. Whether `SkuPriceDetails` was written.
    fn usage(
        &self,
        rec: &mut FocusRecord,
        model: Option<&str>,
        tags: &BTreeMap<String, String>,
        counts: [u64; 6],
    ) -> Result<bool> {
        let [requests, input_tokens, output_tokens, ..] = counts;
        let tokens = input_tokens.saturating_add(output_tokens);
        let model = model.map(inert);
        let model = model.as_deref();
        if model.is_some() || tokens > 0 {
            rec.set("ServiceCategory", Some("AI and Machine Learning"));
        }
        rec.set("ServiceName", model);
        rec.set("SkuId", model);
        let mut details_written = false;
        if let Some(m) = model {
            if self.has("SkuPriceDetails") {
                details_written = true;
                let mut details = BTreeMap::new();
                details.insert("ModelId", m);
                for k in ["ModelFamily", "ModelDeveloper", "ModelVersion"] {
                    if let Some(v) = tags.get(k) {
                        details.insert(k, v.as_str());
                    }
                }
                rec.set("SkuPriceDetails", Some(json(&details)?));
            }
        }
        let (quantity, unit) = if tokens > 0 {
            (Some(tokens), Some("Tokens"))
        } else if requests > 0 {
            (Some(requests), Some("Requests"))
        } else {
            (None, None)
        };
        let quantity = quantity.map(|q| decimal_text(Decimal::from(q)));
        rec.set("ConsumedQuantity", quantity.as_deref());
        rec.set("ConsumedUnit", unit);
        rec.set("PricingQuantity", quantity.as_deref());
        rec.set("PricingUnit", unit);
        for (c, v) in COUNT_COLUMNS.iter().zip(counts) {
            rec.set(*c, Some(v.to_string()));
        }
        Ok(details_written)
    }

    /// Tags: a key naming a text column of the version sets it; the rest go
    /// into `Tags` (the model family, developer and version too, unless
    /// `SkuPriceDetails` holds them: `in_details`).
    fn tags(
        &self,
        rec: &mut FocusRecord,
        tags: BTreeMap<String, String>,
        in_details: bool,
    ) -> Result<()> {
        let mut rest = BTreeMap::new();
        for (k, v) in tags {
            let column = self.version.column(&k).filter(|c| {
                c.data_type != FocusDataType::Decimal
                    && c.data_type != FocusDataType::DateTime
                    && !matches!(
                        c.name,
                        "BillingAccountId" | "BillingCurrency" | "Tags" | "SkuPriceDetails"
                    )
            });
            match column {
                Some(c) => rec.set(c.name, Some(inert(&v))),
                None if in_details
                    && matches!(
                        k.as_str(),
                        "ModelFamily" | "ModelDeveloper" | "ModelVersion"
                    ) => {}
                None => {
                    rest.insert(k, v);
                }
            }
        }
        if !rest.is_empty() {
            rec.set("Tags", Some(json(&rest)?));
        }
        Ok(())
    }

    /// One cost row as a FOCUS record (see the module docs for the mapping).
    ///
    /// # Errors
    /// [`Error::Render`] when a tag cannot be written as JSON (never, for
    /// string tags).
    pub fn record_from_row(&self, r: &CostRow) -> Result<FocusRecord> {
        let (start, end) = match r.timestamp {
            Some(t) => {
                let t = t.naive_utc();
                let hour = t
                    .date()
                    .and_time(NaiveTime::from_hms_opt(t.hour(), 0, 0).unwrap_or(NaiveTime::MIN));
                // Keep the exact instant so the row's date and hour survive.
                let end = hour
                    .checked_add_signed(Duration::hours(1))
                    .unwrap_or(NaiveDateTime::MAX);
                (t, end)
            }
            None => (
                midnight(r.date),
                midnight(r.date.succ_opt().unwrap_or(r.date)),
            ),
        };
        let mut rec = FocusRecord::new();
        self.common(&mut rec, start, end);
        Self::costs(
            &mut rec,
            r.cost,
            r.currency.unwrap_or(self.default_currency),
        );
        self.set_provider(&mut rec, r.provider.as_deref());
        let mut tags = r.tags.clone();
        if let Some(f) = &r.model_family {
            tags.entry("ModelFamily".to_owned())
                .or_insert_with(|| f.clone());
        }
        let in_details = self.usage(
            &mut rec,
            r.model.as_deref(),
            &tags,
            [
                r.requests,
                r.input_tokens,
                r.output_tokens,
                r.cached_requests,
                r.cache_read_tokens,
                r.cache_write_tokens,
            ],
        )?;
        for (k, v) in [
            ("team", &r.team),
            ("project", &r.project),
            ("cost_center", &r.cost_center),
            ("feature", &r.feature),
            ("user", &r.user),
        ] {
            if let Some(v) = v.as_deref() {
                tags.insert(k.to_owned(), v.to_owned());
            }
        }
        self.tags(&mut rec, tags, in_details)?;
        Ok(rec)
    }

    /// Aggregate buckets as FOCUS records. `dimensions` names each bucket's
    /// `keys` in order; `range` is the report's period; `granularity` the
    /// time bucket size (`None` when the buckets have no `period_start`).
    /// `ChargeDescription` lists the bucket's dimension values
    /// (`team=search; model=gpt-4o`).
    ///
    /// # Errors
    /// [`Error::Invalid`] on `detailDimensions` when a bucket has a different
    /// number of keys than `dimensions`, or on `granularity` when a bucket
    /// has a `period_start` but no granularity is given.
    pub fn records_from_buckets(
        &self,
        buckets: &[CostBucket],
        dimensions: &[Dimension],
        range: DateRange,
        granularity: Option<Granularity>,
    ) -> Result<Vec<FocusRecord>> {
        let range_start = midnight(range.start);
        let range_end = midnight(range.end.succ_opt().unwrap_or(range.end));
        let mut out = Vec::with_capacity(buckets.len());
        for (i, b) in buckets.iter().enumerate() {
            if b.keys.len() != dimensions.len() {
                return Err(Error::invalid(
                    "detailDimensions",
                    format!(
                        "bucket {i} has {} keys for {} dimensions",
                        b.keys.len(),
                        dimensions.len()
                    ),
                ));
            }
            let (start, end) = match (b.period_start, granularity) {
                (None, _) => (range_start, range_end),
                (Some(_), None) => {
                    return Err(Error::invalid(
                        "granularity",
                        "the detail has time buckets but no granularity",
                    ))
                }
                (Some(p), Some(g)) => {
                    let step = |d: Duration| p.checked_add_signed(d).unwrap_or(range_end);
                    let end = match g {
                        Granularity::Hour => step(Duration::hours(1)),
                        Granularity::Day => step(Duration::days(1)),
                        Granularity::Week => step(Duration::days(7)),
                        Granularity::Month => midnight(next_month(p.date())),
                    };
                    (p.max(range_start), end.min(range_end))
                }
            };
            let mut provider = None;
            let mut model = None;
            let mut tags = BTreeMap::new();
            let mut parts = Vec::new();
            for (d, k) in dimensions.iter().zip(&b.keys) {
                let Some(v) = k.as_deref() else { continue };
                parts.push(format!("{}={v}", d.name()));
                match d {
                    Dimension::Provider => provider = Some(v),
                    Dimension::Model => model = Some(v),
                    Dimension::ModelFamily => {
                        tags.insert("ModelFamily".to_owned(), v.to_owned());
                    }
                    Dimension::Tag(key) => {
                        tags.insert(key.clone(), v.to_owned());
                    }
                    other => {
                        tags.insert(other.name(), v.to_owned());
                    }
                }
            }
            let mut rec = FocusRecord::new();
            self.common(&mut rec, start, end);
            Self::costs(&mut rec, b.cost, b.currency);
            self.set_provider(&mut rec, provider);
            // A model family alone names no SKU: it goes into
            // SkuPriceDetails only beside the model, else into Tags.
            let in_details = self.usage(
                &mut rec,
                model,
                &tags,
                [
                    b.requests,
                    b.input_tokens,
                    b.output_tokens,
                    b.cached_requests,
                    0,
                    0,
                ],
            )?;
            let description = parts.join("; ");
            rec.set("ChargeDescription", Some(inert(&description)));
            self.tags(&mut rec, tags, in_details)?;
            out.push(rec);
        }
        Ok(out)
    }

    /// A report's detail (`detail`, `detailDimensions`, `dateRange` and, for
    /// time buckets, the trend's granularity) as FOCUS records.
    ///
    /// # Errors
    /// As [`Self::records_from_buckets`].
    pub fn records_from_document(&self, doc: &ReportDocument) -> Result<Vec<FocusRecord>> {
        let granularity = if doc.detail.iter().any(|b| b.period_start.is_some()) {
            doc.trend.as_ref().map(|t| t.granularity)
        } else {
            None
        };
        self.records_from_buckets(
            &doc.detail,
            &doc.detail_dimensions,
            doc.date_range,
            granularity,
        )
    }

    /// A chargeback record's allocation as FOCUS records: one per target and
    /// model, and one for the unallocated cost (see the module docs).
    ///
    /// # Errors
    /// [`Error::Render`] when the method details cannot be written as JSON.
    pub fn records_from_allocation(
        &self,
        record: &ChargebackRecord,
        config: &ChargebackConfiguration,
    ) -> Result<Vec<FocusRecord>> {
        let start = midnight(record.period_start);
        let end = midnight(record.period_end.succ_opt().unwrap_or(record.period_end));
        let allocation = &record.allocation;
        let prefix = if self.has("AllocatedMethodId") {
            ""
        } else {
            "x_"
        };
        let details = serde_json::json!({
            "Name": config.name,
            "AllocationBasis": config.allocation_basis,
            "CustomTagKey": config.custom_tag_key,
            "AllocationRules": config.allocation_rules,
            "ChargebackRecordId": record.id.to_string(),
            "Status": record.status,
        });
        let details = json(&details)?;
        let method = config.id.to_string();
        let mut out = Vec::new();
        let line =
            |target: Option<&str>, provider: Option<&str>, model: Option<&str>, cost: Decimal| {
                let mut rec = FocusRecord::new();
                self.common(&mut rec, start, end);
                // Allocated amounts are in minor units: written with their places.
                let mut cost = allocation.currency.round(cost);
                cost.rescale(allocation.currency.minor_units());
                Self::costs(&mut rec, cost, allocation.currency);
                self.set_provider(&mut rec, provider);
                if model.is_some() {
                    rec.set("ServiceCategory", Some("AI and Machine Learning"));
                }
                rec.set("ServiceName", model);
                rec.set("SkuId", model);
                let description = match target {
                    Some(t) => format!("chargeback {}: {t}", config.name),
                    None => format!("chargeback {}: unallocated", config.name),
                };
                rec.set("ChargeDescription", Some(inert(&description)));
                rec.set(format!("{prefix}AllocatedMethodId"), Some(method.as_str()));
                rec.set(
                    format!("{prefix}AllocatedMethodDetails"),
                    Some(details.as_str()),
                );
                rec.set(format!("{prefix}AllocatedResourceId"), target);
                rec.set(format!("{prefix}AllocatedResourceName"), target.map(inert));
                rec
            };
        for (target, a) in &allocation.allocations {
            // The breakdown says which provider a model is from only when
            // the target used one provider.
            let provider = match a.breakdown.by_provider.keys().collect::<Vec<_>>()[..] {
                [p] if p != "unknown" => Some(p.as_str()),
                _ => None,
            };
            if a.breakdown.by_model.is_empty() {
                out.push(line(Some(target), provider, None, a.total_cost));
            }
            for (model, cost) in &a.breakdown.by_model {
                let model = (model != "unknown").then_some(model.as_str());
                out.push(line(Some(target), provider, model, *cost));
            }
        }
        if !allocation.unallocated_cost.is_zero() {
            out.push(line(None, None, None, allocation.unallocated_cost));
        }
        Ok(out)
    }

    /// A record read from a FOCUS file (any version), for this export's
    /// version (see Passthrough in the module docs). Every value is kept.
    pub fn convert(&self, mut rec: FocusRecord) -> FocusRecord {
        let to = self.version;
        // ProviderName (to 1.3) and ServiceProviderName (1.3 on).
        if to.column("ServiceProviderName").is_some() && rec.get("ServiceProviderName").is_none() {
            if let Some(p) = rec.get("ProviderName").map(str::to_owned) {
                rec.set("ServiceProviderName", Some(p));
            }
        }
        if to.column("ProviderName").is_some() && rec.get("ProviderName").is_none() {
            if let Some(p) = rec.get("ServiceProviderName").map(str::to_owned) {
                rec.set("ProviderName", Some(p));
            }
        }
        let names: Vec<String> = rec.iter().map(|(k, _)| k.to_owned()).collect();
        for name in names {
            if name.starts_with("x_") || to.column(&name).is_some() {
                continue;
            }
            if let Some(v) = rec.take(&name) {
                let renamed = format!("x_{name}");
                if rec.get(&renamed).is_none() {
                    rec.set(renamed, Some(v));
                }
            }
        }
        rec
    }

    /// The header a passthrough of a file with the header `input` writes:
    /// [`Self::columns`] of its records after [`Self::convert`], custom
    /// columns in the input's order.
    pub fn passthrough_columns(&self, input: &[String]) -> Vec<String> {
        let mut probe = FocusRecord::new();
        for c in input {
            probe.set(c.as_str(), Some("x"));
        }
        let probe = self.convert(probe);
        let custom: Vec<String> = input
            .iter()
            .map(|c| {
                if c.starts_with("x_") || self.version.column(c).is_some() {
                    c.clone()
                } else {
                    format!("x_{c}")
                }
            })
            .filter(|c| c.starts_with("x_") && probe.get(c).is_some())
            .collect();
        self.columns([&probe], &custom)
    }

    /// The header for `records`: every required column of the version, then
    /// the version's other columns that some record has, then custom
    /// (`x_`) columns in the order `custom` gives them (then any others some
    /// record has, sorted).
    pub fn columns<'r>(
        &self,
        records: impl IntoIterator<Item = &'r FocusRecord>,
        custom: &[String],
    ) -> Vec<String> {
        let mut present = BTreeSet::new();
        for r in records {
            for (k, _) in r.iter() {
                if !present.contains(k) {
                    present.insert(k.to_owned());
                }
            }
        }
        let mut out: Vec<String> = self
            .version
            .columns()
            .iter()
            .filter(|c| {
                self.version.required_columns().any(|r| r.name == c.name)
                    || present.contains(c.name)
            })
            .map(|c| c.name.to_owned())
            .collect();
        for c in custom {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        for c in present {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }

    /// Cost rows as a FOCUS CSV.
    ///
    /// # Errors
    /// [`Error::Render`] when the CSV cannot be written.
    pub fn csv_from_rows(&self, rows: &[CostRow]) -> Result<Vec<u8>> {
        let records = rows
            .iter()
            .map(|r| self.record_from_row(r))
            .collect::<Result<Vec<_>>>()?;
        self.csv(&records)
    }

    /// A report's detail as a FOCUS CSV.
    ///
    /// # Errors
    /// As [`Self::records_from_document`]; [`Error::Render`] when the CSV
    /// cannot be written.
    pub fn csv_from_document(&self, doc: &ReportDocument) -> Result<Vec<u8>> {
        self.csv(&self.records_from_document(doc)?)
    }

    /// Records as a FOCUS CSV with the header of [`Self::columns`] (the
    /// count columns last).
    ///
    /// # Errors
    /// [`Error::Render`] when the CSV cannot be written.
    pub fn csv(&self, records: &[FocusRecord]) -> Result<Vec<u8>> {
        let custom: Vec<String> = COUNT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
        let columns = self.columns(records, &custom);
        let mut w = FocusCsvWriter::new(Vec::new(), columns)?;
        for r in records {
            w.write(r)?;
        }
        w.finish()
    }
}

/// Writes FOCUS records as CSV, streaming, with a fixed header; nulls are
/// empty cells.
pub struct FocusCsvWriter<W: Write> {
    w: csv::Writer<W>,
    columns: Vec<String>,
    cells: Vec<String>,
}

impl<W: Write> std::fmt::Debug for FocusCsvWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusCsvWriter")
            .field("columns", &self.columns)
            .finish_non_exhaustive()
    }
}

fn render_error(e: &dyn std::fmt::Display) -> Error {
    Error::Render {
        format: "focus",
        message: e.to_string(),
    }
}

impl<W: Write> FocusCsvWriter<W> {
    /// Write the header.
    ///
    /// # Errors
    /// [`Error::Render`] when it cannot be written.
    pub fn new(out: W, columns: Vec<String>) -> Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(&columns).map_err(|e| render_error(&e))?;
        Ok(FocusCsvWriter {
            w,
            cells: Vec::with_capacity(columns.len()),
            columns,
        })
    }

    /// The header.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Write one record (its columns not in the header are left out).
    ///
    /// # Errors
    /// [`Error::Render`] when it cannot be written.
    pub fn write(&mut self, rec: &FocusRecord) -> Result<()> {
        self.cells.clear();
        for c in &self.columns {
            self.cells.push(rec.get(c).unwrap_or_default().to_owned());
        }
        self.w
            .write_record(&self.cells)
            .map_err(|e| render_error(&e))
    }

    /// Flush and return the output.
    ///
    /// # Errors
    /// [`Error::Render`] when it cannot be flushed.
    pub fn finish(self) -> Result<W> {
        self.w.into_inner().map_err(|e| render_error(&e))
    }
}

/// Something a FOCUS file does that its version does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FocusIssue {
    /// The column.
    pub column: String,
    /// The record (0-based), `None` for the header.
    pub record: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for FocusIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.record {
            Some(i) => write!(f, "record {i}, {}: {}", self.column, self.problem),
            None => write!(f, "header, {}: {}", self.column, self.problem),
        }
    }
}

/// Check a FOCUS file (its header and records) against `version`'s column
/// table: every required column present; no null where the version does
/// not allow one; decimals, date-times (`YYYY-MM-DDTHH:MM:SSZ`) and JSON
/// that parse; values from the allowed list; custom columns prefixed `x_`.
/// Returns every problem (empty: conforming to the table).
pub fn check(version: FocusVersion, header: &[String], records: &[FocusRecord]) -> Vec<FocusIssue> {
    let mut issues = Vec::new();
    let issue = |column: &str, record: Option<usize>, problem: String| FocusIssue {
        column: column.to_owned(),
        record,
        problem,
    };
    for c in version.required_columns() {
        if !header.iter().any(|h| h == c.name) {
            issues.push(issue(c.name, None, "required column missing".into()));
        }
    }
    for h in header {
        if version.column(h).is_none() && !h.starts_with("x_") {
            issues.push(issue(
                h,
                None,
                format!("not a FOCUS {version} column and not prefixed x_"),
            ));
        }
    }
    for (i, r) in records.iter().enumerate() {
        for c in version.columns() {
            if !header.iter().any(|h| h == c.name) {
                continue;
            }
            let Some(v) = r.get(c.name) else {
                if !c.allows_nulls {
                    issues.push(issue(c.name, Some(i), "null".into()));
                }
                continue;
            };
            let ok = match c.data_type {
                FocusDataType::Decimal => parse_decimal(v).is_some(),
                FocusDataType::DateTime => {
                    chrono::DateTime::parse_from_rfc3339(v).is_ok() && v.ends_with('Z')
                }
                FocusDataType::Json => serde_json::from_str::<serde_json::Value>(v).is_ok(),
                FocusDataType::String => true,
            };
            if !ok {
                issues.push(issue(
                    c.name,
                    Some(i),
                    format!("{v:?} is not a {:?}", c.data_type),
                ));
            }
            if !c.allowed_values.is_empty() && !c.allowed_values.contains(&v) {
                issues.push(issue(c.name, Some(i), format!("{v:?} is not allowed")));
            }
        }
    }
    issues
}

/// A decimal as FOCUS text: exact, with at least one decimal place (`42.0`,
/// not `42`), so tools that infer a column's type from its text (pandas,
/// and the FinOps validator with it) take it as a decimal.
fn decimal_text(d: Decimal) -> String {
    if d.scale() == 0 {
        format!("{d}.0")
    } else {
        d.to_string()
    }
}

fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| render_error(&e))
}

fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn next_month(d: NaiveDate) -> NaiveDate {
    let first = month_start(d);
    first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first)
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

fn inert(s: &str) -> String {
    crate::render::csv::neutralize(s).into_owned()
}
