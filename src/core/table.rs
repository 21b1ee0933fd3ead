//! A columnar, interned table of cost rows that answers aggregate queries
//! with exactly the semantics of [`aggregate_rows`](super::aggregate::aggregate_rows),
//! fast: the in-memory [`CostSource`](crate::ports::CostSource) keeps one
//! per organization.
//!
//! ## Layout
//! - Rows are stored by day: one block of columns per calendar date, so a
//!   query reads only the blocks of its range.
//! - Every dimension value is interned once per table (`u32` ids, 0 for a
//!   missing value); a row costs a fixed number of bytes whatever its
//!   strings, and memory for names grows with distinct values, not rows.
//! - Costs are kept as `i64` mantissas at one table-wide scale (the largest
//!   scale seen; smaller ones are multiplied up exactly), summed in `i128`
//!   (which cannot overflow below 2⁶³ rows) and turned back into a
//!   [`Decimal`] with the scale the reference sum would have (the largest
//!   scale among the group's rows). A cost that does not fit moves the table
//!   to exact [`Decimal`] sums with checked additions.
//!
//! ## Query
//! Each block computes one group index per row, column by column
//! (period, each `group_by` dimension through a small id → group table,
//! currency), marks rows failing a filter through per-id allow tables, then
//! adds the row into a dense accumulator array. When the product of the
//! group cardinalities is too large for a dense array, a hash map keyed by
//! the group ids is used instead. No allocation happens per row.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;

use super::aggregate::validate_query;
use crate::model::{CostBucket, CostQuery, CostRow, Currency, Dimension, Granularity};
use crate::{Error, Result};

/// Largest number of groups aggregated in a dense array.
const DENSE_LIMIT: u128 = 1 << 18;
const SKIP: u32 = u32::MAX;
/// Rows per chunk: a chunk's group indexes stay in the L1 cache.
const CHUNK: usize = 4096;

const PROVIDER: usize = 0;
const MODEL: usize = 1;
const TEAM: usize = 2;
const PROJECT: usize = 3;
const COST_CENTER: usize = 4;
const FEATURE: usize = 5;
const USER: usize = 6;
/// The row's model family: its own, or derived from the model.
const FAMILY: usize = 7;
const DIMS: usize = 8;

#[derive(Clone, Debug, Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    /// `names[id - 1]` is the value of id `id`.
    names: Vec<Box<str>>,
}

impl Interner {
    fn id(&mut self, value: Option<&str>) -> u32 {
        let Some(v) = value else { return 0 };
        if let Some(&id) = self.ids.get(v) {
            return id;
        }
        let id = u32::try_from(self.names.len() + 1).unwrap_or(SKIP - 1);
        self.names.push(v.into());
        self.ids.insert(v.into(), id);
        id
    }

    /// Number of ids including 0.
    fn len(&self) -> usize {
        self.names.len() + 1
    }
}

#[derive(Clone, Debug)]
enum Costs {
    /// Mantissas at the table's scale.
    Fixed(Vec<i64>),
    /// Exact values.
    Exact(Vec<Decimal>),
}

#[derive(Clone, Debug)]
struct Block {
    dims: [Vec<u32>; DIMS],
    /// Tag key id -> value ids (0 when the row lacks the tag).
    tags: Vec<(u32, Vec<u32>)>,
    /// Hour of the row's timestamp when it falls on the row's date, else 0.
    hour: Vec<u8>,
    /// Currency id (0: the source's default).
    currency: Vec<u16>,
    /// Scale of the row's cost as given.
    scale: Vec<u8>,
    cost: Costs,
    /// Requests, input tokens, output tokens, cached requests.
    counts: Counts,
}

/// The four counts of each row, in `u32` while they all fit (half the
/// memory traffic), in `u64` once one does not.
#[derive(Clone, Debug)]
enum Counts {
    Narrow(Vec<[u32; 4]>),
    Wide(Vec<[u64; 4]>),
}

impl Counts {
    fn len(&self) -> usize {
        match self {
            Counts::Narrow(v) => v.len(),
            Counts::Wide(v) => v.len(),
        }
    }

    fn get(&self, r: usize) -> [u64; 4] {
        match self {
            Counts::Narrow(v) => v.get(r).map_or([0; 4], |c| c.map(u64::from)),
            Counts::Wide(v) => v.get(r).copied().unwrap_or([0; 4]),
        }
    }

    fn push(&mut self, c: [u64; 4]) {
        if let Counts::Narrow(v) = self {
            match (
                u32::try_from(c[0]),
                u32::try_from(c[1]),
                u32::try_from(c[2]),
                u32::try_from(c[3]),
            ) {
                (Ok(a), Ok(b), Ok(x), Ok(y)) => {
                    v.push([a, b, x, y]);
                    return;
                }
                _ => *self = Counts::Wide(v.iter().map(|c| c.map(u64::from)).collect()),
            }
        }
        if let Counts::Wide(v) = self {
            v.push(c);
        }
    }
}

impl Block {
    fn new(exact: bool) -> Self {
        Block {
            dims: Default::default(),
            tags: Vec::new(),
            hour: Vec::new(),
            currency: Vec::new(),
            scale: Vec::new(),
            cost: if exact {
                Costs::Exact(Vec::new())
            } else {
                Costs::Fixed(Vec::new())
            },
            counts: Counts::Narrow(Vec::new()),
        }
    }

    fn len(&self) -> usize {
        self.counts.len()
    }
}

/// Cost rows in columns, interned (see the module docs). Clones are deep.
#[derive(Clone, Debug)]
pub struct CostTable {
    blocks: BTreeMap<NaiveDate, Block>,
    dims: [Interner; DIMS],
    tag_keys: Interner,
    /// Per tag key id - 1.
    tag_values: Vec<Interner>,
    currencies: Vec<Currency>,
    /// Scale of the `Fixed` mantissas; `None` once costs are exact.
    scale: Option<u32>,
    len: usize,
}

impl Default for CostTable {
    fn default() -> Self {
        CostTable {
            blocks: BTreeMap::new(),
            dims: Default::default(),
            tag_keys: Interner::default(),
            tag_values: Vec::new(),
            currencies: Vec::new(),
            scale: Some(0),
            len: 0,
        }
    }
}

fn pow10(n: u32) -> Option<i64> {
    10i64.checked_pow(n)
}

impl CostTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.len
    }

    fn is_exact(&self) -> bool {
        self.scale.is_none()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add rows.
    pub fn extend<'a>(&mut self, rows: impl IntoIterator<Item = &'a CostRow>) {
        for r in rows {
            self.push(r);
        }
    }

    /// Move every block to exact decimal costs.
    fn make_exact(&mut self) {
        let Some(scale) = self.scale.take() else {
            return;
        };
        for b in self.blocks.values_mut() {
            if let Costs::Fixed(v) = &b.cost {
                // Back to each row's own scale (exact: the mantissa was
                // multiplied up from it).
                let exact = v
                    .iter()
                    .zip(&b.scale)
                    .map(|(m, s)| {
                        let mut d = Decimal::new(*m, scale);
                        if u32::from(*s) < scale {
                            d.rescale(u32::from(*s));
                        }
                        d
                    })
                    .collect();
                b.cost = Costs::Exact(exact);
            }
        }
    }

    /// Raise the fixed scale to `new`, or go exact when a mantissa overflows.
    fn raise_scale(&mut self, new: u32) {
        let Some(old) = self.scale else { return };
        let Some(f) = pow10(new - old) else {
            self.make_exact();
            return;
        };
        let fits = self.blocks.values().all(|b| match &b.cost {
            Costs::Fixed(v) => v.iter().all(|m| m.checked_mul(f).is_some()),
            Costs::Exact(_) => true,
        });
        if !fits {
            self.make_exact();
            return;
        }
        for b in self.blocks.values_mut() {
            if let Costs::Fixed(v) = &mut b.cost {
                for m in v.iter_mut() {
                    *m = m.saturating_mul(f);
                }
            }
        }
        self.scale = Some(new);
    }

    fn currency_id(&mut self, c: Option<Currency>) -> u16 {
        let Some(c) = c else { return 0 };
        if let Some(i) = self.currencies.iter().position(|x| *x == c) {
            return u16::try_from(i + 1).unwrap_or(u16::MAX);
        }
        self.currencies.push(c);
        u16::try_from(self.currencies.len()).unwrap_or(u16::MAX)
    }

    /// Add one row.
    pub fn push(&mut self, row: &CostRow) {
        // Cost first: it may change the representation of every block.
        let row_scale = row.cost.scale();
        let mut fixed: Option<i64> = None;
        if let Some(s) = self.scale {
            if row_scale > s {
                self.raise_scale(row_scale);
            }
            if let Some(s) = self.scale {
                let m = i64::try_from(row.cost.mantissa())
                    .ok()
                    .and_then(|m| pow10(s - row_scale).and_then(|f| m.checked_mul(f)));
                match m {
                    Some(m) => fixed = Some(m),
                    None => self.make_exact(),
                }
            }
        }
        let vals = [
            row.provider.as_deref(),
            row.model.as_deref(),
            row.team.as_deref(),
            row.project.as_deref(),
            row.cost_center.as_deref(),
            row.feature.as_deref(),
            row.user.as_deref(),
            row.dimension(&Dimension::ModelFamily),
        ];
        let mut ids = [0u32; DIMS];
        for ((id, interner), v) in ids.iter_mut().zip(self.dims.iter_mut()).zip(vals) {
            *id = interner.id(v);
        }
        let mut tag_ids: Vec<(u32, u32)> = Vec::with_capacity(row.tags.len());
        for (k, v) in &row.tags {
            let kid = self.tag_keys.id(Some(k));
            let ki = (kid as usize).saturating_sub(1);
            if self.tag_values.len() <= ki {
                self.tag_values.resize_with(ki + 1, Interner::default);
            }
            let vid = self.tag_values.get_mut(ki).map_or(0, |i| i.id(Some(v)));
            tag_ids.push((kid, vid));
        }
        let currency = self.currency_id(row.currency);
        let hour = match row.timestamp {
            Some(ts) if ts.date_naive() == row.date => u8::try_from(ts.hour()).unwrap_or(0),
            _ => 0,
        };
        let exact = self.scale.is_none();
        let b = self
            .blocks
            .entry(row.date)
            .or_insert_with(|| Block::new(exact));
        let n = b.len();
        for (col, id) in b.dims.iter_mut().zip(ids) {
            col.push(id);
        }
        for (kid, col) in b.tags.iter_mut() {
            let v = tag_ids
                .iter()
                .find(|(k, _)| k == kid)
                .map_or(0, |(_, v)| *v);
            col.push(v);
        }
        for (kid, vid) in tag_ids {
            if !b.tags.iter().any(|(k, _)| *k == kid) {
                let mut col = vec![0u32; n];
                col.push(vid);
                b.tags.push((kid, col));
            }
        }
        b.hour.push(hour);
        b.currency.push(currency);
        b.scale.push(u8::try_from(row_scale).unwrap_or(u8::MAX));
        match (&mut b.cost, fixed) {
            (Costs::Fixed(v), Some(m)) => v.push(m),
            (Costs::Exact(v), _) => v.push(row.cost),
            // Not reachable: a row without a fixed mantissa made the table exact.
            (Costs::Fixed(v), None) => v.push(0),
        }
        b.counts.push([
            row.requests,
            row.input_tokens,
            row.output_tokens,
            row.cached_requests,
        ]);
        self.len += 1;
    }

    /// Aggregate as [`aggregate_rows`](super::aggregate::aggregate_rows)
    /// does over the same rows, with rows without a currency in
    /// `default_currency`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the query is invalid (see
    /// [`validate_query`]), on `cost` when a sum does not fit a [`Decimal`].
    pub fn aggregate(
        &self,
        query: &CostQuery,
        default_currency: Currency,
    ) -> Result<Vec<CostBucket>> {
        validate_query(query)?;
        let plan = Plan::new(self, query, default_currency)?;
        plan.run(self)
    }
}

/// How one grouped dimension maps a row's column to a group id.
struct GroupDim<'t> {
    /// Where the column is: a fixed dimension or a tag key id (0: unknown tag).
    source: Source,
    /// Column id -> group id (0: none).
    remap: Vec<u32>,
    names: Vec<Option<&'t str>>,
}

#[derive(Clone, Copy)]
enum Source {
    Dim(usize),
    Tag(u32),
}

struct Filter {
    dim: usize,
    allowed: Vec<bool>,
}

struct Plan<'t> {
    start: NaiveDate,
    end: NaiveDate,
    granularity: Option<Granularity>,
    periods: usize,
    groups: Vec<GroupDim<'t>>,
    currency_remap: Vec<u32>,
    currency_names: Vec<Currency>,
    filters: Vec<Filter>,
    /// Cardinality product (periods × groups × currencies).
    total: u128,
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn monday(d: NaiveDate) -> NaiveDate {
    d.checked_sub_signed(Duration::days(i64::from(
        d.weekday().num_days_from_monday(),
    )))
    .unwrap_or(d)
}

fn dim_index(d: &Dimension) -> Option<usize> {
    Some(match d {
        Dimension::Provider => PROVIDER,
        Dimension::Model => MODEL,
        Dimension::ModelFamily => FAMILY,
        Dimension::Team => TEAM,
        Dimension::Project => PROJECT,
        Dimension::CostCenter => COST_CENTER,
        Dimension::Feature => FEATURE,
        Dimension::User => USER,
        Dimension::Tag(_) => return None,
    })
}

/// Column ids -> group ids where group 0 is "none" (a missing or empty
/// value) and equal group names share an id.
fn remap<'t>(
    interner: &'t Interner,
    name_of: impl Fn(&'t str) -> &'t str,
) -> (Vec<u32>, Vec<Option<&'t str>>) {
    let mut names: Vec<Option<&str>> = vec![None];
    let mut by_name: HashMap<&str, u32> = HashMap::new();
    let mut map = Vec::with_capacity(interner.len());
    map.push(0);
    for raw in &interner.names {
        let name = name_of(raw);
        if name.is_empty() {
            map.push(0);
            continue;
        }
        let id = *by_name.entry(name).or_insert_with(|| {
            names.push(Some(name));
            u32::try_from(names.len() - 1).unwrap_or(0)
        });
        map.push(id);
    }
    (map, names)
}

impl<'t> Plan<'t> {
    fn new(t: &'t CostTable, q: &CostQuery, default_currency: Currency) -> Result<Self> {
        let (start, end) = (q.range.start, q.range.end);
        let periods = match q.granularity {
            None => 1,
            Some(Granularity::Day) => q.range.days(),
            Some(Granularity::Hour) => q.range.days() * 24,
            Some(Granularity::Week) => (monday(end) - monday(start)).num_days() / 7 + 1,
            Some(Granularity::Month) => month_index(end) - month_index(start) + 1,
        };
        let periods = usize::try_from(periods.max(1)).unwrap_or(1);
        let mut groups = Vec::with_capacity(q.group_by.len());
        for d in &q.group_by {
            let g = match d {
                Dimension::Tag(key) => match t.tag_keys.ids.get(key.as_str()) {
                    Some(&kid) => {
                        let interner = t.tag_values.get((kid as usize).saturating_sub(1));
                        let (remap, names) = match interner {
                            Some(i) => remap(i, |s| s),
                            None => (vec![0], vec![None]),
                        };
                        GroupDim {
                            source: Source::Tag(kid),
                            remap,
                            names,
                        }
                    }
                    None => GroupDim {
                        source: Source::Tag(0),
                        remap: vec![0],
                        names: vec![None],
                    },
                },
                other => {
                    let i = dim_index(other).unwrap_or(PROVIDER);
                    let (remap, names) = remap(&t.dims[i], |s| s);
                    GroupDim {
                        source: Source::Dim(i),
                        remap,
                        names,
                    }
                }
            };
            groups.push(g);
        }
        // Currencies: id 0 is the default.
        let mut currency_names: Vec<Currency> = vec![default_currency];
        let mut currency_remap = vec![0u32];
        for c in &t.currencies {
            let id = match currency_names.iter().position(|x| x == c) {
                Some(i) => i,
                None => {
                    currency_names.push(*c);
                    currency_names.len() - 1
                }
            };
            currency_remap.push(u32::try_from(id).unwrap_or(0));
        }
        let f = &q.filters;
        let mut filters = Vec::new();
        for (dim, list) in [
            (TEAM, &f.teams),
            (PROJECT, &f.projects),
            (COST_CENTER, &f.cost_centers),
            (PROVIDER, &f.providers),
            (MODEL, &f.models),
        ] {
            if list.is_empty() {
                continue;
            }
            let interner = &t.dims[dim];
            let mut allowed = vec![false; interner.len()];
            for v in list {
                if let Some(&id) = interner.ids.get(v.as_str()) {
                    if let Some(a) = allowed.get_mut(id as usize) {
                        *a = true;
                    }
                }
            }
            filters.push(Filter { dim, allowed });
        }
        let mut total = periods as u128 * currency_names.len() as u128;
        for g in &groups {
            total = total.saturating_mul(g.names.len() as u128);
        }
        Ok(Plan {
            start,
            end,
            granularity: q.granularity,
            periods,
            groups,
            currency_remap,
            currency_names,
            filters,
            total,
        })
    }

    fn period_base(&self, day: NaiveDate) -> u32 {
        let i = match self.granularity {
            None => 0,
            Some(Granularity::Day) => (day - self.start).num_days(),
            Some(Granularity::Hour) => (day - self.start).num_days() * 24,
            Some(Granularity::Week) => (monday(day) - monday(self.start)).num_days() / 7,
            Some(Granularity::Month) => month_index(day) - month_index(self.start),
        };
        u32::try_from(i).unwrap_or(0)
    }

    fn period_start(&self, i: usize) -> Option<NaiveDateTime> {
        let i64i = i64::try_from(i).unwrap_or(0);
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        Some(match self.granularity? {
            Granularity::Day => midnight(self.start + Duration::days(i64i)),
            Granularity::Hour => midnight(self.start) + Duration::hours(i64i),
            Granularity::Week => midnight(monday(self.start) + Duration::days(7 * i64i)),
            Granularity::Month => midnight(
                self.start
                    .with_day(1)
                    .and_then(|d| d.checked_add_months(Months::new(u32::try_from(i).unwrap_or(0))))
                    .unwrap_or(self.start),
            ),
        })
    }

    fn run(&self, t: &CostTable) -> Result<Vec<CostBucket>> {
        let dense = self.total <= DENSE_LIMIT;
        let exact = t.scale.is_none();
        let mut acc = Accumulators::new(if dense { self.total as usize } else { 0 }, exact);
        let mut sparse: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut idx: Vec<u32> = Vec::with_capacity(CHUNK);
        let mut key: Vec<u32> = Vec::new();
        let one_currency = self.currency_names.len() == 1;
        let hourly = self.granularity == Some(Granularity::Hour);
        let whole_blocks =
            dense && self.groups.is_empty() && one_currency && !hourly && self.filters.is_empty();
        // One grouped dimension and nothing else: the group index is
        // computed in the adding loop itself.
        let single = match self.groups.as_slice() {
            [g] if dense && one_currency && !hourly && self.filters.is_empty() => Some(g),
            _ => None,
        };
        for (day, b) in t.blocks.range(self.start..=self.end) {
            let n = b.len();
            let base = self.period_base(*day);
            if whole_blocks {
                // Every row of the block is in one group: sum the columns.
                acc.add_block(base as usize, b)?;
                continue;
            }
            if let Some(g) = single {
                let offset = base as usize * g.names.len();
                match column(b, g.source) {
                    None => {
                        acc.add_block(offset, b)?;
                        continue;
                    }
                    Some(col) if !t.is_exact() => {
                        acc.add_mapped(b, offset, col, &g.remap);
                        continue;
                    }
                    // Exact costs: the general path below.
                    Some(_) => {}
                }
            }
            let mut lo = 0;
            while lo < n {
                let hi = (lo + CHUNK).min(n);
                idx.clear();
                if hourly {
                    let hours = b.hour.get(lo..hi).unwrap_or_default();
                    idx.extend(hours.iter().map(|h| base + u32::from(*h)));
                } else {
                    idx.resize(hi - lo, base);
                }
                // Filters mark rows to skip.
                for f in &self.filters {
                    let col = b
                        .dims
                        .get(f.dim)
                        .and_then(|c| c.get(lo..hi))
                        .unwrap_or_default();
                    for (i, id) in idx.iter_mut().zip(col) {
                        if !f.allowed.get(*id as usize).copied().unwrap_or(false) {
                            *i = SKIP;
                        }
                    }
                }
                if dense {
                    // Mixed-radix group index: period, each dimension, currency.
                    for g in &self.groups {
                        let card = u32::try_from(g.names.len()).unwrap_or(1);
                        match column(b, g.source).and_then(|c| c.get(lo..hi)) {
                            Some(col) => {
                                for (i, id) in idx.iter_mut().zip(col) {
                                    if *i != SKIP {
                                        *i = *i * card
                                            + g.remap.get(*id as usize).copied().unwrap_or(0);
                                    }
                                }
                            }
                            None => {
                                for i in idx.iter_mut().filter(|i| **i != SKIP) {
                                    *i *= card;
                                }
                            }
                        }
                    }
                    if !one_currency {
                        let card = u32::try_from(self.currency_names.len()).unwrap_or(1);
                        let col = b.currency.get(lo..hi).unwrap_or_default();
                        for (i, c) in idx.iter_mut().zip(col) {
                            if *i != SKIP {
                                *i = *i * card
                                    + self.currency_remap.get(*c as usize).copied().unwrap_or(0);
                            }
                        }
                    }
                    acc.add_rows(b, lo, &idx)?;
                } else {
                    // Sparse: one hash lookup per row, keyed by the group ids.
                    for (k, &period) in idx.iter().enumerate() {
                        if period == SKIP {
                            continue;
                        }
                        let r = lo + k;
                        key.clear();
                        key.push(period);
                        for g in &self.groups {
                            let id = column(b, g.source)
                                .and_then(|c| c.get(r))
                                .copied()
                                .unwrap_or(0);
                            key.push(g.remap.get(id as usize).copied().unwrap_or(0));
                        }
                        let c = b.currency.get(r).copied().unwrap_or(0);
                        key.push(self.currency_remap.get(c as usize).copied().unwrap_or(0));
                        let slot = match sparse.get(key.as_slice()) {
                            Some(s) => *s,
                            None => {
                                let s = acc.grow();
                                sparse.insert(key.clone(), s);
                                s
                            }
                        };
                        acc.add_row(b, r, slot)?;
                    }
                }
                lo = hi;
            }
        }
        // Buckets.
        let mut out = Vec::new();
        let emit = |slot: usize, ids: &[u32], out: &mut Vec<CostBucket>| -> Result<()> {
            let Some(a) = acc.accs.get(slot).filter(|a| a.seen) else {
                return Ok(());
            };
            let cost = acc.cost(slot, t.scale)?;
            let (period, rest) = ids.split_first().unwrap_or((&0, &[]));
            let (cur, keys) = rest.split_last().unwrap_or((&0, &[]));
            out.push(CostBucket {
                period_start: self.period_start(*period as usize),
                keys: self
                    .groups
                    .iter()
                    .zip(keys)
                    .map(|(g, k)| {
                        g.names
                            .get(*k as usize)
                            .copied()
                            .flatten()
                            .map(str::to_owned)
                    })
                    .collect(),
                currency: self
                    .currency_names
                    .get(*cur as usize)
                    .copied()
                    .unwrap_or_default(),
                cost,
                requests: a.counts[0],
                input_tokens: a.counts[1],
                output_tokens: a.counts[2],
                cached_requests: a.counts[3],
            });
            Ok(())
        };
        if dense {
            let cards: Vec<usize> = std::iter::once(self.periods)
                .chain(self.groups.iter().map(|g| g.names.len()))
                .chain(std::iter::once(self.currency_names.len()))
                .map(|c| c.max(1))
                .collect();
            let mut ids = vec![0u32; cards.len()];
            for (slot, a) in acc.accs.iter().enumerate() {
                if !a.seen {
                    continue;
                }
                // Decode the mixed-radix index.
                let mut rest = slot;
                for (id, card) in ids.iter_mut().zip(&cards).rev() {
                    *id = u32::try_from(rest % card).unwrap_or(0);
                    rest /= card;
                }
                emit(slot, &ids, &mut out)?;
            }
        } else {
            for (key, slot) in &sparse {
                emit(*slot, key, &mut out)?;
            }
        }
        crate::core::aggregate::sort_buckets(&mut out);
        Ok(out)
    }
}

fn column(b: &Block, s: Source) -> Option<&Vec<u32>> {
    match s {
        Source::Dim(i) => b.dims.get(i),
        Source::Tag(0) => None,
        Source::Tag(k) => b.tags.iter().find(|(kid, _)| *kid == k).map(|(_, c)| c),
    }
}

/// Sums of one group.
#[derive(Clone, Copy, Debug, Default)]
struct Acc {
    /// Sum of the mantissas (fixed scale).
    cost: i128,
    /// Requests, input tokens, output tokens, cached requests (saturating).
    counts: [u64; 4],
    /// Largest scale among the group's rows.
    scale: u8,
    /// Whether a row fell in the group.
    seen: bool,
}

/// Sums per group; `exact` holds the decimal sums once the table is exact.
struct Accumulators {
    accs: Vec<Acc>,
    exact: Vec<Decimal>,
}

/// Add one row's counts, saturating.
#[inline]
fn add_counts<C: Copy + Into<u64>>(acc: &mut [u64; 4], c: &[C; 4]) {
    for (a, v) in acc.iter_mut().zip(c) {
        *a = a.saturating_add((*v).into());
    }
}

/// The hot loop: add each row to its group.
fn add_fixed<C: Copy + Into<u64>>(
    accs: &mut [Acc],
    idx: &[u32],
    costs: &[i64],
    counts: &[[C; 4]],
    scales: &[u8],
) {
    for (((g, c), n), s) in idx.iter().zip(costs).zip(counts).zip(scales) {
        if let Some(a) = accs.get_mut(*g as usize) {
            a.cost += i128::from(*c);
            a.seen = true;
            a.scale = a.scale.max(*s);
            add_counts(&mut a.counts, n);
        }
    }
}

/// The hot loop of a single grouped dimension.
fn add_fixed_mapped<C: Copy + Into<u64>>(
    accs: &mut [Acc],
    offset: usize,
    col: &[u32],
    remap: &[u32],
    costs: &[i64],
    counts: &[[C; 4]],
    scales: &[u8],
) {
    for (((id, c), n), s) in col.iter().zip(costs).zip(counts).zip(scales) {
        let g = offset + remap.get(*id as usize).copied().unwrap_or(0) as usize;
        if let Some(a) = accs.get_mut(g) {
            a.cost += i128::from(*c);
            a.seen = true;
            a.scale = a.scale.max(*s);
            add_counts(&mut a.counts, n);
        }
    }
}

/// Column sums of counts, saturating at `u64::MAX` (the same as adding
/// them one by one with saturation, as every count is non-negative).
fn sum_counts<C: Copy + Into<u64>>(counts: &[[C; 4]]) -> [u64; 4] {
    let mut s = [0u128; 4];
    for c in counts {
        for (a, v) in s.iter_mut().zip(c) {
            *a += u128::from((*v).into());
        }
    }
    s.map(|v| u64::try_from(v).unwrap_or(u64::MAX))
}

impl Accumulators {
    fn new(n: usize, exact: bool) -> Self {
        Accumulators {
            accs: vec![Acc::default(); n],
            exact: if exact {
                vec![Decimal::ZERO; n]
            } else {
                Vec::new()
            },
        }
    }

    fn grow(&mut self) -> usize {
        self.accs.push(Acc::default());
        self.exact.push(Decimal::ZERO);
        self.accs.len() - 1
    }

    /// Every row of `b` into group `g`.
    fn add_block(&mut self, g: usize, b: &Block) -> Result<()> {
        let Costs::Fixed(costs) = &b.cost else {
            for r in 0..b.len() {
                self.add_row(b, r, g)?;
            }
            return Ok(());
        };
        let Some(a) = self.accs.get_mut(g) else {
            return Ok(());
        };
        if costs.is_empty() {
            return Ok(());
        }
        a.cost += costs.iter().map(|c| i128::from(*c)).sum::<i128>();
        a.seen = true;
        a.scale = a.scale.max(b.scale.iter().copied().max().unwrap_or(0));
        let sums = match &b.counts {
            Counts::Narrow(v) => sum_counts(v),
            Counts::Wide(v) => sum_counts(v),
        };
        add_counts(&mut a.counts, &sums);
        Ok(())
    }

    /// Every row of `b` into group `offset + remap[col[row]]`.
    fn add_mapped(&mut self, b: &Block, offset: usize, col: &[u32], remap: &[u32]) {
        let Costs::Fixed(costs) = &b.cost else { return };
        match &b.counts {
            Counts::Narrow(n) => {
                add_fixed_mapped(&mut self.accs, offset, col, remap, costs, n, &b.scale)
            }
            Counts::Wide(n) => {
                add_fixed_mapped(&mut self.accs, offset, col, remap, costs, n, &b.scale)
            }
        }
    }

    /// Rows `lo..lo + idx.len()` of `b` into the groups `idx` (`SKIP`: none).
    fn add_rows(&mut self, b: &Block, lo: usize, idx: &[u32]) -> Result<()> {
        let hi = lo + idx.len();
        let scales = b.scale.get(lo..hi).unwrap_or_default();
        match (&b.cost, &b.counts) {
            (Costs::Fixed(c), Counts::Narrow(n)) => {
                let (c, n) = (
                    c.get(lo..hi).unwrap_or_default(),
                    n.get(lo..hi).unwrap_or_default(),
                );
                add_fixed(&mut self.accs, idx, c, n, scales);
            }
            (Costs::Fixed(c), Counts::Wide(n)) => {
                let (c, n) = (
                    c.get(lo..hi).unwrap_or_default(),
                    n.get(lo..hi).unwrap_or_default(),
                );
                add_fixed(&mut self.accs, idx, c, n, scales);
            }
            (Costs::Exact(_), _) => {
                for (k, g) in idx.iter().enumerate() {
                    if *g != SKIP {
                        self.add_row(b, lo + k, *g as usize)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Row `r` of `b` into group `g`.
    fn add_row(&mut self, b: &Block, r: usize, g: usize) -> Result<()> {
        let Some(a) = self.accs.get_mut(g) else {
            return Ok(());
        };
        match &b.cost {
            Costs::Fixed(c) => a.cost += i128::from(c.get(r).copied().unwrap_or(0)),
            Costs::Exact(c) => {
                if let Some(e) = self.exact.get_mut(g) {
                    let v = c.get(r).copied().unwrap_or_default();
                    *e = e.checked_add(v).ok_or_else(overflow)?;
                }
            }
        }
        a.seen = true;
        a.scale = a.scale.max(b.scale.get(r).copied().unwrap_or(0));
        add_counts(&mut a.counts, &b.counts.get(r));
        Ok(())
    }

    /// The group's cost.
    fn cost(&self, g: usize, scale: Option<u32>) -> Result<Decimal> {
        let a = self.accs.get(g).copied().unwrap_or_default();
        match scale {
            Some(s) => {
                let mut d = Decimal::try_from_i128_with_scale(a.cost, s).map_err(|_| overflow())?;
                let want = u32::from(a.scale);
                if want < s {
                    d.rescale(want);
                }
                Ok(d)
            }
            None => Ok(self.exact.get(g).copied().unwrap_or_default()),
        }
    }
}

fn overflow() -> Error {
    Error::invalid("cost", "the sum of costs does not fit a decimal")
}

#[cfg(test)]
mod tests;
