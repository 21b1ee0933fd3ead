//! [`aggregate_columnar`]: FOCUS Parquet summed column by column.
//!
//! How it stays fast without changing the answer:
//!
//! 1. **Row groups by their statistics.** A row group whose
//!    `ChargePeriodStart` statistics (minimum, maximum, no nulls) lie
//!    outside the query's range is not read; one that lies inside it, in a
//!    single period bucket, is read without its timestamp column (every
//!    row has that bucket). The others are read with it and checked row by
//!    row.
//! 2. **Dictionary keys, not strings.** The currency, provider and model
//!    columns are read dictionary-encoded (as Parquet stores them). Each
//!    batch turns them into one small integer per row, column by column
//!    (`key × stride` added up), so a row's group is an index into a dense
//!    table of the batch's key combinations; each combination is resolved
//!    to its group (filters, interned names, hashing) once per batch, not
//!    once per row.
//! 3. **Exact sums.** Costs stay the `DECIMAL` column's `i128` mantissas,
//!    added with overflow checks; the answer is converted to `Decimal` once
//!    per bucket.
//!
//! Anything unexpected (a null period start, a dictionary key outside its
//! dictionary, a currency the crate does not know, a sum that does not
//! fit) returns `Ok(None)`, and the caller reads the file row by row, which
//! gives the answer or the error.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Int32Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::Datelike;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::basic::{ConvertedType, LogicalType, Type as PhysicalType};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;
use rustc_hash::FxHashMap;

use super::parquet_error;
use crate::backends::file::focus::{io_error, FocusConfig};
use crate::model::{CostBucket, CostQuery, Currency, Dimension, Granularity};
use crate::Result;

/// Rows per record batch.
const BATCH_ROWS: usize = 32 * 1024;

/// Interned id of "null": the row path reads an empty cell or `NULL` as
/// null.
const NONE: u32 = u32::MAX;

/// Interned id of a dictionary key outside its dictionary.
const BAD: u32 = u32::MAX - 1;

/// Dense-table entries: a key combination not resolved yet, and one the
/// filters leave out.
const UNRESOLVED: u32 = u32::MAX;
const SKIP: u32 = u32::MAX - 1;

/// Entries of the per-batch dense table of key combinations (64 KB); a
/// batch with more combinations resolves the rest through a hash map.
const DENSE: u64 = 16 * 1024;

/// Microseconds per hour and per day.
const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 86_400_000_000;

/// The period of a query without granularity.
const NO_PERIOD: i64 = i64::MIN;

/// Why the columnar path gives up: the row path answers instead.
struct Fallback;

type Step<T = ()> = std::result::Result<T, Fallback>;

#[derive(Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    fn id(&mut self, v: Option<&str>) -> u32 {
        let Some(v) = v.map(|v| v.strip_suffix('\r').unwrap_or(v)) else {
            return NONE;
        };
        if v.is_empty() || v == "NULL" {
            return NONE;
        }
        if let Some(id) = self.ids.get(v) {
            return *id;
        }
        // Past four billion names the path gives up (`BAD`).
        let id = u32::try_from(self.names.len())
            .ok()
            .filter(|id| *id < BAD)
            .unwrap_or(BAD);
        self.ids.insert(v.to_owned(), id);
        self.names.push(v.to_owned());
        id
    }

    fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }
}

/// What a string column is to the query.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Currency,
    Provider,
    Model,
}

/// One string column of a batch, coded: each row's code (added into the
/// batch's combination index with this column's stride) indexes `ids`.
struct Coded {
    role: Role,
    /// Number of codes.
    space: u64,
    /// Interned id of each code (`NONE` for null, `BAD` for a key outside
    /// the dictionary).
    ids: Vec<u32>,
}

/// The unit of a timestamp column's raw values, as microseconds:
/// `raw * mul / div`.
#[derive(Clone, Copy)]
struct Unit {
    mul: i64,
    div: i64,
}

impl Unit {
    fn micros(self, raw: i64) -> Option<i64> {
        Some(raw.checked_mul(self.mul)?.div_euclid(self.div))
    }

    /// The raw range `[lo, hi)` holding exactly the values whose
    /// microseconds lie in `[lo_us, hi_us)` (in `i128`: nothing saturates).
    fn raw_range(self, lo_us: i64, hi_us: i64) -> (i128, i128) {
        // Seconds and milliseconds: raw * mul >= lo  <=>  raw >= ceil(lo / mul).
        // Nanoseconds: floor(raw / div) >= lo  <=>  raw >= lo * div.
        let (mul, div) = (i128::from(self.mul), i128::from(self.div));
        let bound = |us: i64| {
            let us = i128::from(us);
            if mul > 1 {
                us.div_euclid(mul) + i128::from(us.rem_euclid(mul) != 0)
            } else {
                us * div
            }
        };
        (bound(lo_us), bound(hi_us))
    }

    /// Whether the raw value is an instant the row path can read (within
    /// chrono's range).
    fn readable(self, raw: i64) -> bool {
        self.micros(raw)
            .and_then(chrono::DateTime::from_timestamp_micros)
            .is_some()
    }
}

fn unit(t: TimeUnit) -> Unit {
    match t {
        TimeUnit::Second => Unit {
            mul: 1_000_000,
            div: 1,
        },
        TimeUnit::Millisecond => Unit { mul: 1_000, div: 1 },
        TimeUnit::Microsecond => Unit { mul: 1, div: 1 },
        TimeUnit::Nanosecond => Unit { mul: 1, div: 1_000 },
    }
}

/// A timestamp array's raw values and unit.
fn timestamps(array: &ArrayRef) -> Option<(&[i64], Unit)> {
    let DataType::Timestamp(u, _) = array.data_type() else {
        return None;
    };
    let values = match u {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().values(),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().values(),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().values(),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().values(),
    };
    Some((values, unit(*u)))
}

/// How the query meets a row group, from its `ChargePeriodStart`
/// statistics.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Span {
    /// No row is in range.
    Outside,
    /// Every row is in range and in this period bucket.
    Inside(i64),
    /// Read the timestamps.
    Rows,
}

/// What the statistics of a Parquet timestamp leaf column mean, as a unit;
/// `None` when they are not plain 64-bit timestamps.
fn stats_unit(descr: &parquet::schema::types::ColumnDescriptor) -> Option<Unit> {
    if descr.physical_type() != PhysicalType::INT64 {
        return None;
    }
    let t = match descr.logical_type_ref() {
        Some(LogicalType::Timestamp(t)) => match t.unit {
            parquet::basic::TimeUnit::MILLIS => TimeUnit::Millisecond,
            parquet::basic::TimeUnit::MICROS => TimeUnit::Microsecond,
            parquet::basic::TimeUnit::NANOS => TimeUnit::Nanosecond,
        },
        Some(_) => return None,
        None => match descr.converted_type() {
            ConvertedType::TIMESTAMP_MILLIS => TimeUnit::Millisecond,
            ConvertedType::TIMESTAMP_MICROS => TimeUnit::Microsecond,
            _ => return None,
        },
    };
    Some(unit(t))
}

/// The bucket start (microseconds) of the instant `t` (microseconds),
/// exactly as the row path buckets it.
fn period_of(granularity: Option<Granularity>, t: i64) -> Option<i64> {
    let Some(g) = granularity else {
        return Some(NO_PERIOD);
    };
    let ts = chrono::DateTime::from_timestamp_micros(t)?.naive_utc();
    Some(
        crate::core::aggregate::bucket_start(g, ts.date(), Some(ts))
            .and_utc()
            .timestamp_micros(),
    )
}

fn span(
    rg: &RowGroupMetaData,
    leaf: usize,
    stats_unit: Option<Unit>,
    (lo, hi): (i64, i64),
    granularity: Option<Granularity>,
) -> Span {
    if rg.num_rows() == 0 {
        return Span::Outside;
    }
    let Some(u) = stats_unit else {
        return Span::Rows;
    };
    let Some(Statistics::Int64(s)) = rg.column(leaf).statistics() else {
        return Span::Rows;
    };
    let (Some(min), Some(max), Some(0)) = (s.min_opt(), s.max_opt(), s.null_count_opt()) else {
        return Span::Rows;
    };
    if !s.min_is_exact() || !s.max_is_exact() {
        return Span::Rows;
    }
    // Every value lies between the two: if both are instants the row path
    // reads, so are the others.
    if !u.readable(*min) || !u.readable(*max) {
        return Span::Rows;
    }
    let (Some(min), Some(max)) = (u.micros(*min), u.micros(*max)) else {
        return Span::Rows;
    };
    if max < lo || min >= hi {
        return Span::Outside;
    }
    if min < lo || max >= hi {
        return Span::Rows;
    }
    match (period_of(granularity, min), period_of(granularity, max)) {
        (Some(a), Some(b)) if a == b => Span::Inside(a),
        _ => Span::Rows,
    }
}

/// The sums, by group, over every batch.
struct Sums<'q> {
    query: &'q CostQuery,
    group_provider: bool,
    group_model: bool,
    /// Provider, model and currency names.
    strings: Interner,
    currencies: Interner,
    /// Per interned string: allowed by the provider (model) filter.
    provider_ok: FxHashMap<u32, bool>,
    model_ok: FxHashMap<u32, bool>,
    /// (period, provider, model, currency) -> index into `sums`.
    groups: FxHashMap<(i64, u32, u32, u32), u32>,
    sums: Vec<i128>,
    /// Per group: whether a row with a cost was added (a group of null
    /// costs only is `0`, as the row path gives it, not `0.000000`).
    costed: Vec<bool>,
    // Scratch, kept between batches.
    index: Vec<u64>,
    dense: Vec<u32>,
    sparse: FxHashMap<(usize, u64), u32>,
    periods: Vec<i64>,
}

/// Whether the name of `id` passes a filter list (an empty list passes
/// everything), remembered per id.
fn allowed(cache: &mut FxHashMap<u32, bool>, id: u32, list: &[String], names: &Interner) -> bool {
    list.is_empty()
        || *cache
            .entry(id)
            .or_insert_with(|| names.name(id).is_some_and(|v| list.iter().any(|x| x == v)))
}

impl Sums<'_> {
    /// Code one string column of a batch into `self.index` with `stride`.
    fn code(&mut self, array: &ArrayRef, role: Role, stride: u64) -> Step<Coded> {
        let interner = if role == Role::Currency {
            &mut self.currencies
        } else {
            &mut self.strings
        };
        let index = &mut self.index;
        // Every code is below the column's number of codes (at most the
        // dictionary's size plus two, or the rows plus one): the index
        // cannot overflow while the codes are added.
        let most = match array.data_type() {
            DataType::Dictionary(..) => array.as_any_dictionary_opt().map(|d| d.values().len() + 2),
            _ => Some(array.len() + 1),
        };
        most.and_then(|m| stride.checked_mul(u64::try_from(m).ok()?))
            .ok_or(Fallback)?;
        match array.data_type() {
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = array.as_dictionary::<Int32Type>();
                let values = d.values().as_string::<i32>();
                let n = u32::try_from(values.len()).map_err(|_| Fallback)?;
                // Codes: 0..n the dictionary, n a key outside it, n + 1 null.
                let mut ids: Vec<u32> = (0..values.len())
                    .map(|i| interner.id((!values.is_null(i)).then(|| values.value(i))))
                    .collect();
                ids.extend([BAD, NONE]);
                let keys = d.keys().values();
                // A negative key wraps to a large code and becomes `n`.
                #[allow(clippy::cast_sign_loss)]
                let code = |k: i32| u64::from((k as u32).min(n));
                match d.keys().nulls().filter(|b| b.null_count() > 0) {
                    None => {
                        for (x, k) in index.iter_mut().zip(keys) {
                            *x += code(*k) * stride;
                        }
                    }
                    Some(nulls) => {
                        let null = u64::from(n) + 1;
                        for ((x, k), valid) in index.iter_mut().zip(keys).zip(nulls.iter()) {
                            *x += if valid { code(*k) } else { null } * stride;
                        }
                    }
                }
                Ok(Coded {
                    role,
                    space: u64::from(n) + 2,
                    ids,
                })
            }
            DataType::Utf8 => Ok(code_strings(
                array.as_string::<i32>(),
                interner,
                index,
                role,
                stride,
            )),
            DataType::LargeUtf8 => Ok(code_strings(
                array.as_string::<i64>(),
                interner,
                index,
                role,
                stride,
            )),
            DataType::Utf8View => Ok(code_strings(
                array.as_string_view(),
                interner,
                index,
                role,
                stride,
            )),
            _ => Err(Fallback),
        }
    }

    /// Intern the strings of a batch outside the range (its currencies,
    /// checked at the end) without adding anything.
    fn see(&mut self, batch: &RecordBatch, strings: &[(usize, Role)]) -> Step {
        self.index.clear();
        self.index.resize(batch.num_rows(), 0);
        for (at, role) in strings {
            self.code(batch.column(*at), *role, 1)?;
        }
        Ok(())
    }

    /// The group (index into `sums`) of the key combination `combo` in
    /// `period`, or `SKIP` when the filters leave it out.
    fn resolve(&mut self, columns: &[Coded], period: i64, combo: u64) -> Step<u32> {
        let (mut currency, mut provider, mut model) = (NONE, NONE, NONE);
        let mut rest = combo;
        for c in columns {
            let code = usize::try_from(rest % c.space).map_err(|_| Fallback)?;
            rest /= c.space;
            let id = *c.ids.get(code).ok_or(Fallback)?;
            if id == BAD {
                return Err(Fallback);
            }
            match c.role {
                Role::Currency => currency = id,
                Role::Provider => provider = id,
                // The first model column with a value names the model.
                Role::Model if model == NONE => model = id,
                Role::Model => {}
            }
        }
        let f = &self.query.filters;
        if !allowed(&mut self.provider_ok, provider, &f.providers, &self.strings)
            || !allowed(&mut self.model_ok, model, &f.models, &self.strings)
        {
            return Ok(SKIP);
        }
        let key = (
            period,
            if self.group_provider { provider } else { NONE },
            if self.group_model { model } else { NONE },
            currency,
        );
        let next = u32::try_from(self.sums.len())
            .ok()
            .filter(|n| *n < SKIP)
            .ok_or(Fallback)?;
        let slot = *self.groups.entry(key).or_insert(next);
        if slot == next {
            self.sums.push(0);
            self.costed.push(false);
        }
        Ok(slot)
    }

    /// Add one batch. `period`: the bucket every row has (a row group
    /// inside the range), or `None` to read the timestamps of `ts`.
    fn add(
        &mut self,
        batch: &RecordBatch,
        cost: usize,
        ts: Option<usize>,
        strings: &[(usize, Role)],
        constant: Option<i64>,
        range: (i64, i64),
    ) -> Step {
        let n = batch.num_rows();
        self.index.clear();
        self.index.resize(n, 0);
        let mut columns = Vec::with_capacity(strings.len());
        let mut stride = 1u64;
        for (at, role) in strings {
            let c = self.code(batch.column(*at), *role, stride)?;
            stride = stride.checked_mul(c.space).ok_or(Fallback)?;
            columns.push(c);
        }
        let combos = stride;
        let costs = batch.column(cost).as_primitive_opt::<Decimal128Type>();
        let costs = costs.ok_or(Fallback)?;
        let values: &[i128] = costs.values();
        let cost_nulls = costs.nulls().filter(|b| b.null_count() > 0);
        let value = |i: usize| match cost_nulls {
            Some(b) if b.is_null(i) => None,
            _ => values.get(i).copied(),
        };
        self.periods.clear();
        self.sparse.clear();
        self.dense.clear();
        self.dense
            .resize(usize::try_from(combos.min(DENSE)).unwrap_or(0), UNRESOLVED);
        match constant {
            // Every row in one period and every combination in the dense
            // table: one lookup and one addition per row.
            Some(period) if combos <= DENSE => {
                self.periods.push(period);
                let index = std::mem::take(&mut self.index);
                let mut dense = std::mem::take(&mut self.dense);
                let result = (|| {
                    for (i, combo) in index.iter().enumerate() {
                        let entry = dense.get_mut(*combo as usize).ok_or(Fallback)?;
                        if *entry == UNRESOLVED {
                            *entry = self.resolve(&columns, period, *combo)?;
                        }
                        self.add_to(*entry, value(i))?;
                    }
                    Ok(())
                })();
                self.index = index;
                self.dense = dense;
                result?;
            }
            Some(period) => {
                self.periods.push(period);
                for i in 0..n {
                    let combo = self.index.get(i).copied().ok_or(Fallback)?;
                    let slot = self.slot(&columns, 0, combo, combos)?;
                    self.add_to(slot, value(i))?;
                }
            }
            None => {
                let array = batch.column(ts.ok_or(Fallback)?);
                if array.null_count() > 0 {
                    return Err(Fallback);
                }
                let (raw, u) = timestamps(array).ok_or(Fallback)?;
                let (lo, hi) = u.raw_range(range.0, range.1);
                let granularity = self.query.granularity;
                // Rows of one hour (or day) share a bucket: remember the
                // last one's.
                let cache_unit = if granularity == Some(Granularity::Hour) {
                    HOUR
                } else {
                    DAY
                };
                let mut last: Option<(i64, usize)> = None;
                // Hour (or day) -> index into `periods`.
                let mut units: FxHashMap<i64, usize> = FxHashMap::default();
                if granularity.is_none() {
                    self.periods.push(NO_PERIOD);
                }
                for i in 0..n {
                    let r = raw.get(i).copied().ok_or(Fallback)?;
                    if i128::from(r) < lo || i128::from(r) >= hi {
                        // The row path reads every start: one it cannot
                        // read is its error to give.
                        if !u.readable(r) {
                            return Err(Fallback);
                        }
                        continue;
                    }
                    let p = if granularity.is_none() {
                        0
                    } else {
                        let t = u.micros(r).ok_or(Fallback)?;
                        let unit = t.div_euclid(cache_unit);
                        match last {
                            Some((seen, p)) if seen == unit => p,
                            _ => {
                                let p = match units.get(&unit) {
                                    Some(p) => *p,
                                    None => {
                                        let period = period_of(granularity, t).ok_or(Fallback)?;
                                        let p = match self.periods.iter().position(|x| *x == period)
                                        {
                                            Some(p) => p,
                                            None => {
                                                self.periods.push(period);
                                                self.periods.len() - 1
                                            }
                                        };
                                        units.insert(unit, p);
                                        p
                                    }
                                };
                                last = Some((unit, p));
                                p
                            }
                        }
                    };
                    let combo = self.index.get(i).copied().ok_or(Fallback)?;
                    let slot = self.slot(&columns, p, combo, combos)?;
                    self.add_to(slot, value(i))?;
                }
            }
        }
        Ok(())
    }

    /// The group of key combination `combo` in the batch's period `p`.
    #[inline]
    fn slot(&mut self, columns: &[Coded], p: usize, combo: u64, combos: u64) -> Step<u32> {
        let j = (p as u64)
            .checked_mul(combos)
            .and_then(|x| x.checked_add(combo))
            .ok_or(Fallback)?;
        if j < DENSE {
            let j = usize::try_from(j).map_err(|_| Fallback)?;
            if j >= self.dense.len() {
                self.dense.resize(j + 1, UNRESOLVED);
            }
            let s = self.dense.get(j).copied().ok_or(Fallback)?;
            if s != UNRESOLVED {
                return Ok(s);
            }
            let period = *self.periods.get(p).ok_or(Fallback)?;
            let s = self.resolve(columns, period, combo)?;
            if let Some(e) = self.dense.get_mut(j) {
                *e = s;
            }
            return Ok(s);
        }
        if let Some(s) = self.sparse.get(&(p, combo)) {
            return Ok(*s);
        }
        let period = *self.periods.get(p).ok_or(Fallback)?;
        let s = self.resolve(columns, period, combo)?;
        self.sparse.insert((p, combo), s);
        Ok(s)
    }

    #[inline]
    fn add_to(&mut self, slot: u32, value: Option<i128>) -> Step {
        let Some(value) = value.filter(|_| slot != SKIP) else {
            return Ok(());
        };
        let sum = self.sums.get_mut(slot as usize).ok_or(Fallback)?;
        *sum = sum.checked_add(value).ok_or(Fallback)?;
        if let Some(c) = self.costed.get_mut(slot as usize) {
            *c = true;
        }
        Ok(())
    }

    /// The buckets, sorted as the row path sorts them.
    fn buckets(self, scale: u32, default_currency: Currency) -> Step<Vec<CostBucket>> {
        // Currencies parse as the row path parses them, on every row read
        // (the row path rejects an unknown one in or out of the range);
        // buckets of the same currency (a null and the default one) merge.
        if self
            .currencies
            .names
            .iter()
            .any(|c| Currency::parse(c).is_err())
        {
            return Err(Fallback);
        }
        let mut merged: HashMap<(i64, u32, u32, Currency), (i128, bool)> = HashMap::new();
        for ((period, p, m, cur), slot) in self.groups {
            let sum = self.sums.get(slot as usize).copied().unwrap_or(0);
            let costed = self.costed.get(slot as usize).copied().unwrap_or(false);
            let currency = if cur == NONE {
                default_currency
            } else {
                match self.currencies.name(cur).map(Currency::parse) {
                    Some(Ok(c)) => c,
                    _ => return Err(Fallback),
                }
            };
            let (s, c) = merged.entry((period, p, m, currency)).or_insert((0, false));
            *s = s.checked_add(sum).ok_or(Fallback)?;
            *c |= costed;
        }
        let mut out = Vec::with_capacity(merged.len());
        for ((period, p, m, currency), (sum, costed)) in merged {
            let cost = if costed {
                rust_decimal::Decimal::try_from_i128_with_scale(sum, scale).map_err(|_| Fallback)?
            } else {
                rust_decimal::Decimal::ZERO
            };
            let period_start = if period == NO_PERIOD {
                None
            } else {
                Some(
                    chrono::DateTime::from_timestamp_micros(period)
                        .ok_or(Fallback)?
                        .naive_utc(),
                )
            };
            let keys = self
                .query
                .group_by
                .iter()
                .map(|d| {
                    let id = if *d == Dimension::Provider { p } else { m };
                    self.strings.name(id).map(str::to_owned)
                })
                .collect();
            out.push(CostBucket {
                period_start,
                keys,
                currency,
                cost,
                requests: 0,
                input_tokens: 0,
                output_tokens: 0,
                cached_requests: 0,
            });
        }
        crate::core::aggregate::sort_buckets(&mut out);
        Ok(out)
    }
}

/// Code a plain string column: codes numbered as values first appear in
/// the batch, 0 for null.
fn code_strings<'a, A>(
    array: A,
    interner: &mut Interner,
    index: &mut [u64],
    role: Role,
    stride: u64,
) -> Coded
where
    A: arrow_array::Array + arrow_array::ArrayAccessor<Item = &'a str>,
{
    let mut local: FxHashMap<&'a str, u64> = FxHashMap::default();
    let mut ids = vec![NONE];
    for (i, x) in index.iter_mut().enumerate() {
        let code = if array.is_null(i) {
            0
        } else {
            let v = array.value(i);
            *local.entry(v).or_insert_with(|| {
                ids.push(interner.id(Some(v)));
                ids.len() as u64 - 1
            })
        };
        *x += code * stride;
    }
    Coded {
        role,
        space: ids.len() as u64,
        ids,
    }
}

/// Aggregate a FOCUS Parquet file column by column (no text conversion),
/// with the same answer as the row-by-row mapping, when the file and the
/// query allow it: strict mode; the query groups by provider and model at
/// most and filters by provider and model at most; the file has no
/// `SkuPriceDetails` and no count columns (`x_Requests`...); the charge
/// period start is a timestamp, the cost a 128-bit `DECIMAL`, the currency,
/// provider and model columns strings. `Ok(None)` otherwise, and whenever
/// a value needs the row path's checks (a null start, an unknown currency,
/// a sum beyond a decimal): the caller then reads the file row by row,
/// which gives the answer or the error.
///
/// Row groups whose `ChargePeriodStart` statistics lie outside the query's
/// range are skipped, and those inside it in one period bucket are read
/// without their timestamps (only their currencies are read, since the row
/// path rejects an unknown currency on any row); see the module source for
/// the rest. A page of another column that does not decode, in a row group
/// outside the range, is not an error here as it is on the row path.
///
/// [`aggregate_focus`](super::super::focus::aggregate_focus) and
/// [`FocusCostSource`](super::super::focus::FocusCostSource) use it for
/// every `.parquet` file.
///
/// # Errors
/// `Error::Backend` (`file`) when the file cannot be opened,
/// [`Error::Parse`](crate::Error::Parse) when it is not Parquet,
/// [`Error::Invalid`](crate::Error::Invalid) for an invalid query.
pub fn aggregate_columnar(
    path: &Path,
    config: &FocusConfig,
    query: &CostQuery,
    default_currency: Currency,
) -> Result<Option<Vec<CostBucket>>> {
    let name = path.display().to_string();
    let f = &query.filters;
    if config.lenient
        || !f.teams.is_empty()
        || !f.projects.is_empty()
        || !f.cost_centers.is_empty()
        || query
            .group_by
            .iter()
            .any(|d| !matches!(d, Dimension::Provider | Dimension::Model))
    {
        return Ok(None);
    }
    crate::core::aggregate::aggregate_rows(&[], query, default_currency)?;
    let file = File::open(path).map_err(|e| io_error(path, e))?;
    let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| parquet_error(&name, e))?;
    let schema = metadata.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let col = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let has = |name: &str| col(name).is_some();
    if has("SkuPriceDetails")
        || [
            "x_Requests",
            "x_InputTokens",
            "x_OutputTokens",
            "x_CachedRequests",
            "x_CacheReadTokens",
            "x_CacheWriteTokens",
        ]
        .iter()
        .any(|c| has(c))
    {
        return Ok(None);
    }
    let (Some(start), Some(cost)) = (col("ChargePeriodStart"), col(config.cost_column.column()))
    else {
        return Ok(None);
    };
    if !matches!(schema.field(start).data_type(), DataType::Timestamp(..)) {
        return Ok(None);
    }
    let scale = match schema.field(cost).data_type() {
        DataType::Decimal128(_, s) if (0..=28).contains(s) => u32::try_from(*s).unwrap_or(0),
        _ => return Ok(None),
    };
    let group_provider = query.group_by.contains(&Dimension::Provider);
    let group_model = query.group_by.contains(&Dimension::Model);
    let needs_provider = !f.providers.is_empty() || group_provider;
    let needs_model = !f.models.is_empty() || group_model;
    // The string columns, in the order their codes combine.
    let mut strings: Vec<(usize, Role)> = Vec::new();
    if let Some(c) = col("BillingCurrency") {
        strings.push((c, Role::Currency));
    }
    if needs_provider {
        if let Some(c) = col("ServiceProviderName").or_else(|| col("ProviderName")) {
            strings.push((c, Role::Provider));
        }
    }
    if needs_model {
        for m in &config.model_columns {
            if let Some(c) = col(m.column()) {
                strings.push((c, Role::Model));
            }
        }
    }
    // Read the string columns as dictionaries: Parquet stores them
    // dictionary-encoded, and keeping the keys saves making and hashing a
    // string per row.
    let fields: Vec<arrow_schema::FieldRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let text = match f.data_type() {
                DataType::Utf8 => true,
                DataType::Dictionary(_, v) => **v == DataType::Utf8,
                _ => false,
            };
            if text && strings.iter().any(|(c, _)| *c == i) {
                Arc::new(f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                )))
            } else {
                f.clone()
            }
        })
        .collect();
    let hinted = Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ));
    let metadata = ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hinted),
    )
    .map_err(|e| parquet_error(&name, e))?;
    // The range in microseconds: [first day 00:00, day after the last).
    let day = |d: chrono::NaiveDate| i64::from(d.num_days_from_ce()) - 719_163;
    let lo = day(query.range.start).saturating_mul(DAY);
    let hi = day(query.range.end).saturating_add(1).saturating_mul(DAY);
    // Row groups by how the range meets them.
    let descr = metadata.parquet_schema();
    let leaf = (0..descr.num_columns()).find(|l| descr.get_column_root_idx(*l) == start);
    let stats_unit = leaf.and_then(|l| stats_unit(descr.column(l).as_ref()));
    let mut runs: BTreeMap<Span, Vec<usize>> = BTreeMap::new();
    for (i, rg) in metadata.metadata().row_groups().iter().enumerate() {
        let s = match leaf {
            Some(l) => span(rg, l, stats_unit, (lo, hi), query.granularity),
            None => Span::Rows,
        };
        runs.entry(s).or_default().push(i);
    }
    let mut sums = Sums {
        query,
        group_provider,
        group_model,
        strings: Interner::default(),
        currencies: Interner::default(),
        provider_ok: FxHashMap::default(),
        model_ok: FxHashMap::default(),
        groups: FxHashMap::default(),
        sums: Vec::new(),
        costed: Vec::new(),
        index: Vec::new(),
        dense: Vec::new(),
        sparse: FxHashMap::default(),
        periods: Vec::new(),
    };
    let currency = strings
        .iter()
        .find(|(_, r)| *r == Role::Currency)
        .map(|(c, _)| *c);
    for (span, row_groups) in runs {
        let constant = match span {
            Span::Inside(p) => Some(p),
            _ => None,
        };
        // The projected roots, in schema order, and where each one lands.
        // Outside the range only the currencies are read: the row path
        // rejects an unknown one on any row.
        let mut roots: Vec<usize> = if span == Span::Outside {
            currency.into_iter().collect()
        } else {
            strings
                .iter()
                .map(|(c, _)| *c)
                .chain([cost])
                .chain(constant.is_none().then_some(start))
                .collect()
        };
        if roots.is_empty() {
            continue;
        }
        roots.sort_unstable();
        roots.dedup();
        let at = |i: usize| roots.iter().position(|r| *r == i);
        let projected: Vec<(usize, Role)> = strings
            .iter()
            .filter_map(|(c, r)| Some((at(*c)?, *r)))
            .collect();
        let (cost_at, ts_at) = (at(cost), at(start));
        let input = file.try_clone().map_err(|e| io_error(path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(input, metadata.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        // A file that fails to decode from here on is the row path's to
        // report: its error names the line.
        let Ok(batches) = builder
            .with_row_groups(row_groups)
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
        else {
            return Ok(None);
        };
        for batch in batches {
            let Ok(batch) = batch else {
                return Ok(None);
            };
            let added = match cost_at {
                Some(cost_at) => sums.add(&batch, cost_at, ts_at, &projected, constant, (lo, hi)),
                None => sums.see(&batch, &projected),
            };
            if added.is_err() {
                return Ok(None);
            }
        }
    }
    Ok(sums.buckets(scale, default_currency).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `raw_range` holds exactly the raw values whose microseconds are in
    /// range, for every unit, across the epoch and at the i64 edges.
    #[test]
    fn raw_range_is_exact_in_every_unit() {
        for t in [
            TimeUnit::Second,
            TimeUnit::Millisecond,
            TimeUnit::Microsecond,
            TimeUnit::Nanosecond,
        ] {
            let u = unit(t);
            for (lo, hi) in [(-1_500_001, 2_500_001), (0, DAY), (-DAY, -1)] {
                let (rlo, rhi) = u.raw_range(lo, hi);
                // Around both bounds, where an off-by-one would show.
                let near = |b: i128| (-3..=3).map(move |d| i64::try_from(b + d).unwrap());
                for raw in near(rlo).chain(near(rhi)) {
                    let us = u.micros(raw).unwrap();
                    let inside = (lo..hi).contains(&us);
                    let raw = i128::from(raw);
                    assert_eq!(
                        inside,
                        raw >= rlo && raw < rhi,
                        "{t:?} {raw} in [{lo}, {hi})"
                    );
                }
            }
            // Nothing saturates: i64::MAX nanoseconds is in a range ending
            // after it.
            let (rlo, rhi) = u.raw_range(i64::MAX / 2_000, i64::MAX / 1_000 + 1);
            if matches!(t, TimeUnit::Nanosecond) {
                assert!(i128::from(i64::MAX) >= rlo && i128::from(i64::MAX) < rhi);
            }
        }
    }
}
