//! An effective-dated price book: price versions in force from a time on,
//! a host's terms per organization on top (its own prices for some models,
//! negotiated discounts), pricing each usage record as of its timestamp and
//! saying which version priced it; re-pricing a period under another
//! version; reconciling priced usage with what a provider billed.
//!
//! - A [`PriceVersion`] is a [`PriceTable`] with an id and the time it takes
//!   effect; it is in force until the next version's start
//!   ([`PriceBook::version_at`]). A LiteLLM file loads as one version
//!   ([`PriceBook::add_litellm`]).
//! - [`OrgTerms`]: models the host prices itself (`overrides`, resolved
//!   before the version's table) and discounts in percent by model name as
//!   resolved, by family, or for every model (`"*"`), applied in that order
//!   of precedence to the list price.
//! - [`PriceBook::price_usage`] prices records and returns, for every row,
//!   the version and table name that priced it ([`Provenance`]).
//! - [`PriceBook::reprice`]: what the same records cost under another
//!   version, by model and token class.
//! - [`reconcile`]: priced against billed cost per model and day, with the
//!   variance and a flag above a threshold; [`reconcile_by_class`] per
//!   model, token class and day ([`PriceBook::price_by_class`] prices that
//!   side; the OpenAI Costs and Anthropic cost report readers and FOCUS AI
//!   rows tag the billed side).
//!
//! Pure: no I/O, no clock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::pricing::{PriceTable, PricedUsage};
use crate::model::{
    model_family, CostRow, Currency, ModelPrice, OrganizationId, TokenClass, UsageRecord,
};
use crate::{Error, Result};

/// Prices in force from a time on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceVersion {
    /// Identifier (`litellm-1.110.2`, `2026-10-negotiated`...).
    pub id: String,
    /// When it takes effect.
    pub effective_from: DateTime<Utc>,
    /// Its prices.
    pub table: PriceTable,
}

/// A host's terms for one organization, on top of the list prices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrgTerms {
    /// Models the host prices itself (a private deployment, a contract
    /// price): resolved before the version's table.
    pub overrides: PriceTable,
    /// Percent off the list price, by model name as the table resolved it,
    /// by family (`gpt-4o`), or `"*"` for every model; the most specific
    /// applies. Not applied to `overrides`.
    pub discounts: BTreeMap<String, Decimal>,
}

/// Which prices priced a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The version (`"override"` for the organization's own prices).
    pub version: String,
    /// The table entry's name.
    pub model: String,
    /// The discount applied, percent (0 for none).
    pub discount_percent: Decimal,
}

/// The result of [`PriceBook::price_usage`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BookPriced {
    /// Rows and records left unpriced (unknown model, or before the first
    /// version), as [`price_usage`](super::pricing::price_usage) gives them.
    pub usage: PricedUsage,
    /// For each row of `usage.rows`, in order: what priced it (`None` for a
    /// record that carried its own cost). Each priced row also carries the
    /// version in its tag `price_version`, so reports can group by it.
    pub provenance: Vec<Option<Provenance>>,
}

/// What one model's token class costs under two versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepriceLine {
    /// Model as the records name it.
    pub model: String,
    /// Token class.
    pub class: TokenClass,
    /// Cost under the versions that priced the records.
    pub before: Decimal,
    /// Cost under the version asked for.
    pub after: Decimal,
}

/// The result of [`PriceBook::reprice`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Repricing {
    /// By model, then token class.
    pub lines: Vec<RepriceLine>,
    /// Sum of `before`.
    pub total_before: Decimal,
    /// Sum of `after`.
    pub total_after: Decimal,
    /// Records left out (unknown model under either version, or a record
    /// that carried its own cost).
    pub skipped: u64,
}

/// A set of price versions and the organizations' terms.
#[derive(Clone, Debug, Default)]
pub struct PriceBook {
    versions: Vec<PriceVersion>,
    terms: HashMap<OrganizationId, OrgTerms>,
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal> {
    a.checked_add(b)
        .ok_or_else(|| Error::invalid("cost", "the amount overflows a decimal"))
}

impl PriceBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a version.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `id` when it is blank or already in the book,
    /// on `effectiveFrom` when another version starts at the same time.
    pub fn add_version(&mut self, version: PriceVersion) -> Result<()> {
        if version.id.trim().is_empty() {
            return Err(Error::invalid("id", "a price version needs an id"));
        }
        if self.versions.iter().any(|v| v.id == version.id) {
            return Err(Error::invalid(
                "id",
                format!("price version {:?} is already in the book", version.id),
            ));
        }
        if let Some(v) = self
            .versions
            .iter()
            .find(|v| v.effective_from == version.effective_from)
        {
            return Err(Error::invalid(
                "effectiveFrom",
                format!(
                    "price version {:?} already starts at {}",
                    v.id, version.effective_from
                ),
            ));
        }
        self.versions.push(version);
        self.versions.sort_by_key(|v| v.effective_from);
        Ok(())
    }

    /// Load a LiteLLM price file as one version in force from `from`.
    ///
    /// # Errors
    /// As [`PriceTable::from_litellm_json`] and
    /// [`add_version`](Self::add_version).
    pub fn add_litellm(&mut self, id: &str, from: DateTime<Utc>, text: &str) -> Result<()> {
        self.add_version(PriceVersion {
            id: id.to_owned(),
            effective_from: from,
            table: PriceTable::from_litellm_json(text)?,
        })
    }

    /// Set an organization's terms (replacing earlier ones).
    pub fn set_terms(&mut self, org: OrganizationId, terms: OrgTerms) {
        self.terms.insert(org, terms);
    }

    /// The versions, oldest first.
    pub fn versions(&self) -> &[PriceVersion] {
        &self.versions
    }

    /// The version in force at `at`: the latest that started at or before
    /// it. `None` before the first version.
    pub fn version_at(&self, at: DateTime<Utc>) -> Option<&PriceVersion> {
        let i = self.versions.partition_point(|v| v.effective_from <= at);
        i.checked_sub(1).and_then(|i| self.versions.get(i))
    }

    /// When the version `id` stops being in force (the next version's
    /// start), `None` while it is the latest or unknown.
    pub fn effective_to(&self, id: &str) -> Option<DateTime<Utc>> {
        let i = self.versions.iter().position(|v| v.id == id)?;
        self.versions.get(i + 1).map(|v| v.effective_from)
    }

    /// The price of `model` for `org` under `version`: the organization's
    /// own price first, then the version's with the discount.
    fn resolve<'a>(
        &'a self,
        org: OrganizationId,
        version: &'a PriceVersion,
        model: &str,
        provider: Option<&str>,
    ) -> Option<(Provenance, &'a ModelPrice)> {
        let terms = self.terms.get(&org);
        if let Some((name, price)) = terms.and_then(|t| t.overrides.resolve(model, provider)) {
            return Some((
                Provenance {
                    version: "override".to_owned(),
                    model: name.to_owned(),
                    discount_percent: Decimal::ZERO,
                },
                price,
            ));
        }
        let (name, price) = version.table.resolve(model, provider)?;
        let discount = terms
            .and_then(|t| {
                t.discounts
                    .get(name)
                    .or_else(|| t.discounts.get(model_family(name)))
                    .or_else(|| t.discounts.get("*"))
            })
            .copied()
            .unwrap_or_default();
        Some((
            Provenance {
                version: version.id.clone(),
                model: name.to_owned(),
                discount_percent: discount,
            },
            price,
        ))
    }

    /// `Err` when `org`'s discounts are not percentages.
    fn check_terms(&self, org: OrganizationId) -> Result<()> {
        if let Some(t) = self.terms.get(&org) {
            for (k, d) in &t.discounts {
                if d.is_sign_negative() || *d > Decimal::ONE_HUNDRED {
                    return Err(Error::invalid(
                        format!("discounts.{k}"),
                        format!("{d} is not a percentage between 0 and 100"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Price records for `org`, each as of its timestamp: the version in
    /// force then, the organization's terms on top. A record with a cost
    /// keeps it; a record before the first version, or whose model neither
    /// the terms nor the version know, is left out and counted in
    /// `usage.unpriced` (never priced at zero); one with usage its entry has
    /// no price for is counted in `usage.partial`.
    ///
    /// # Errors
    /// [`Error::Invalid`] on `discounts` when a discount is not between 0
    /// and 100; as [`ModelPrice::cost_for`], prefixed with the record's
    /// index.
    pub fn price_usage(
        &self,
        org: OrganizationId,
        records: impl IntoIterator<Item = UsageRecord>,
    ) -> Result<BookPriced> {
        self.check_terms(org)?;
        let mut out = BookPriced::default();
        for (i, r) in records.into_iter().enumerate() {
            let found = match (&r.cost, self.version_at(r.timestamp), r.model.as_deref()) {
                (Some(_), _, _) => None,
                (None, Some(v), Some(m)) => self.resolve(org, v, m, r.provider.as_deref()),
                _ => None,
            };
            let provenance = match (&r.cost, found) {
                (Some(_), _) => None,
                (None, Some((p, price))) => {
                    let list = price
                        .price_record(&r)
                        .map_err(|e| e.in_field(&format!("[{i}]")))?;
                    if !list.unpriced.is_empty() {
                        out.usage.partial.add(&r, list.unpriced)?;
                    }
                    let cost = discounted(list.cost, p.discount_percent)?;
                    let mut row = super::pricing::row_of(UsageRecord {
                        cost: Some(cost),
                        currency: Some(Currency::USD),
                        ..r
                    });
                    row.tags
                        .insert("price_version".to_owned(), p.version.clone());
                    out.usage.rows.push(row);
                    out.provenance.push(Some(p));
                    continue;
                }
                (None, None) => {
                    out.usage.unpriced.add(&r);
                    continue;
                }
            };
            out.usage.rows.push(super::pricing::row_of(r));
            out.provenance.push(provenance);
        }
        Ok(out)
    }

    /// Price records for `org` as [`price_usage`](Self::price_usage) does,
    /// one cost row per record and priced token class, tagged
    /// `token_class` (and `price_version`; the record's requests and tokens
    /// on its first row only, so sums stay right): the priced side of
    /// [`reconcile_by_class`]. Records with their own cost, unknown models
    /// and records before the first version are left out.
    ///
    /// # Errors
    /// As [`price_usage`](Self::price_usage).
    pub fn price_by_class(
        &self,
        org: OrganizationId,
        records: impl IntoIterator<Item = UsageRecord>,
    ) -> Result<Vec<CostRow>> {
        self.check_terms(org)?;
        let mut out = Vec::new();
        for (i, r) in records.into_iter().enumerate() {
            let (None, Some(v), Some(model)) =
                (r.cost, self.version_at(r.timestamp), r.model.as_deref())
            else {
                continue;
            };
            let Some((p, price)) = self.resolve(org, v, model, r.provider.as_deref()) else {
                continue;
            };
            let parts = price
                .cost_by_class_record(&r)
                .map_err(|e| e.in_field(&format!("[{i}]")))?;
            for (k, (class, list)) in parts.into_iter().enumerate() {
                let mut row = super::pricing::row_of(UsageRecord {
                    cost: Some(discounted(list, p.discount_percent)?),
                    currency: Some(Currency::USD),
                    ..r.clone()
                });
                if k > 0 {
                    // Requests and tokens once per record, on its first row.
                    row.requests = 0;
                    row.input_tokens = 0;
                    row.output_tokens = 0;
                    row.cached_requests = 0;
                }
                row.tags
                    .insert("token_class".to_owned(), class.as_str().to_owned());
                row.tags
                    .insert("price_version".to_owned(), p.version.clone());
                out.push(row);
            }
        }
        Ok(out)
    }

    /// What `records` cost for `org` under the versions in force at their
    /// timestamps (`before`) and under the version `version` (`after`), by
    /// model and token class, discounts and overrides included.
    ///
    /// # Errors
    /// [`Error::NotFound`] when `version` is not in the book; as
    /// [`price_usage`](Self::price_usage).
    pub fn reprice(
        &self,
        org: OrganizationId,
        records: impl IntoIterator<Item = UsageRecord>,
        version: &str,
    ) -> Result<Repricing> {
        let target = self
            .versions
            .iter()
            .find(|v| v.id == version)
            .ok_or_else(|| Error::not_found("price version", version))?;
        let mut lines: BTreeMap<(String, TokenClass), (Decimal, Decimal)> = BTreeMap::new();
        let mut out = Repricing::default();
        for (i, r) in records.into_iter().enumerate() {
            let (Some(model), None) = (r.model.as_deref(), r.cost) else {
                out.skipped += 1;
                continue;
            };
            let provider = r.provider.as_deref();
            let before = self
                .version_at(r.timestamp)
                .and_then(|v| self.resolve(org, v, model, provider));
            let after = self.resolve(org, target, model, provider);
            let (Some((pb, before)), Some((pa, after))) = (before, after) else {
                out.skipped += 1;
                continue;
            };
            let parts =
                |price: &ModelPrice, discount: Decimal| -> Result<Vec<(TokenClass, Decimal)>> {
                    price
                        .cost_by_class_record(&r)
                        .map_err(|e| e.in_field(&format!("[{i}]")))?
                        .into_iter()
                        .map(|(c, v)| Ok((c, discounted(v, discount)?)))
                        .collect()
                };
            for (class, v) in parts(before, pb.discount_percent)? {
                let e = lines.entry((model.to_owned(), class)).or_default();
                e.0 = add(e.0, v)?;
                out.total_before = add(out.total_before, v)?;
            }
            for (class, v) in parts(after, pa.discount_percent)? {
                let e = lines.entry((model.to_owned(), class)).or_default();
                e.1 = add(e.1, v)?;
                out.total_after = add(out.total_after, v)?;
            }
        }
        out.lines = lines
            .into_iter()
            .map(|((model, class), (before, after))| RepriceLine {
                model,
                class,
                before,
                after,
            })
            .collect();
        Ok(out)
    }
}

/// `list` less `percent` percent.
fn discounted(list: Decimal, percent: Decimal) -> Result<Decimal> {
    if percent.is_zero() {
        return Ok(list);
    }
    Decimal::ONE_HUNDRED
        .checked_sub(percent)
        .and_then(|keep| list.checked_mul(keep))
        .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
        .ok_or_else(|| Error::invalid("cost", "the amount overflows a decimal"))
}

/// Priced against billed cost of one model on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variance {
    /// The day (UTC).
    pub date: NaiveDate,
    /// Model (`""` for rows without one).
    pub model: String,
    /// Token class ([`reconcile_by_class`]; `None` in [`reconcile`], and for
    /// rows without a `token_class` tag).
    pub class: Option<TokenClass>,
    /// What our prices say.
    pub priced: Decimal,
    /// What the provider billed.
    pub billed: Decimal,
    /// `billed - priced`.
    pub difference: Decimal,
    /// The difference in percent of the billed cost, two decimals (`None`
    /// when nothing was billed).
    pub percent: Option<Decimal>,
    /// Whether `|percent|` is above the threshold (or something was priced
    /// that was not billed at all).
    pub flagged: bool,
}

/// Compare priced usage with the provider's bill, per model and day (rows
/// in other currencies than USD are left out): one line per (day, model)
/// either side has, sorted by day and model. A line is flagged when the
/// difference is more than `threshold_percent` of the billed cost, or when
/// the bill has nothing for a priced cost.
///
/// # Errors
/// [`Error::Invalid`] on `cost` when a sum overflows a decimal.
pub fn reconcile(
    priced: &[CostRow],
    billed: &[CostRow],
    threshold_percent: Decimal,
) -> Result<Vec<Variance>> {
    reconcile_keyed(priced, billed, threshold_percent, |_| None)
}

/// [`reconcile`] per model, token class and day: the class of a row is its
/// `token_class` tag ([`TokenClass::as_str`]), as the OpenAI Costs and
/// Anthropic cost report readers, FOCUS AI rows and
/// [`PriceBook::price_by_class`] write it; rows without one are compared
/// under `class: None`.
///
/// # Errors
/// As [`reconcile`].
pub fn reconcile_by_class(
    priced: &[CostRow],
    billed: &[CostRow],
    threshold_percent: Decimal,
) -> Result<Vec<Variance>> {
    reconcile_keyed(priced, billed, threshold_percent, |r| {
        r.tags
            .get("token_class")
            .and_then(|c| TokenClass::ALL.into_iter().find(|k| k.as_str() == c))
    })
}

fn reconcile_keyed(
    priced: &[CostRow],
    billed: &[CostRow],
    threshold_percent: Decimal,
    class: impl Fn(&CostRow) -> Option<TokenClass>,
) -> Result<Vec<Variance>> {
    type Key = (NaiveDate, String, Option<TokenClass>);
    let mut by: BTreeMap<Key, (Decimal, Decimal)> = BTreeMap::new();
    let usd = |r: &&CostRow| r.currency.unwrap_or(Currency::USD) == Currency::USD;
    let key = |r: &CostRow| (r.date, r.model.clone().unwrap_or_default(), class(r));
    for r in priced.iter().filter(usd) {
        let e = by.entry(key(r)).or_default();
        e.0 = add(e.0, r.cost)?;
    }
    for r in billed.iter().filter(usd) {
        let e = by.entry(key(r)).or_default();
        e.1 = add(e.1, r.cost)?;
    }
    let mut out = Vec::with_capacity(by.len());
    for ((date, model, class), (priced, billed)) in by {
        let difference = billed
            .checked_sub(priced)
            .ok_or_else(|| Error::invalid("cost", "the amount overflows a decimal"))?;
        let percent = if billed.is_zero() {
            None
        } else {
            difference
                .checked_mul(Decimal::ONE_HUNDRED)
                .and_then(|d| d.checked_div(billed.abs()))
                .map(|p| p.round_dp(2))
        };
        let flagged = match percent {
            Some(p) => p.abs() > threshold_percent,
            None => !priced.is_zero(),
        };
        out.push(Variance {
            date,
            model,
            class,
            priced,
            billed,
            difference,
            percent,
            flagged,
        });
    }
    Ok(out)
}
