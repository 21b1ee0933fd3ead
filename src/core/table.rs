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
use crate::model::{
    model_family, CostBucket, CostQuery, CostRow, Currency, Dimension, Granularity,
};
use crate::{Error, Result};

/// Largest number of groups aggregated in a dense array.
const DENSE_LIMIT: u128 = 1 << 18;
const SKIP: u32 = u32::MAX;

const PROVIDER: usize = 0;
const MODEL: usize = 1;
const TEAM: usize = 2;
const PROJECT: usize = 3;
const COST_CENTER: usize = 4;
const FEATURE: usize = 5;
const USER: usize = 6;
const DIMS: usize = 7;

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
    requests: Vec<u64>,
    input_tokens: Vec<u64>,
    output_tokens: Vec<u64>,
    cached_requests: Vec<u64>,
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
            requests: Vec::new(),
            input_tokens: Vec::new(),
            output_tokens: Vec::new(),
            cached_requests: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.requests.len()
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
        ];
        let mut ids = [0u32; DIMS];
        for ((id, interner), v) in ids.iter_mut().zip(self.dims.iter_mut()).zip(vals) {
            *id = interner.id(v);
        }
        let mut tag_ids: Vec<(u32, u32)> = Vec::with_capacity(row.tags.len());
        for (k, v) in &row.tags {
            let kid = self.tag_keys.id(Some(k));
            let ki = kid as usize - 1;
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
        b.requests.push(row.requests);
        b.input_tokens.push(row.input_tokens);
        b.output_tokens.push(row.output_tokens);
        b.cached_requests.push(row.cached_requests);
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
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn dim_index(d: &Dimension) -> Option<usize> {
    Some(match d {
        Dimension::Provider => PROVIDER,
        Dimension::Model | Dimension::ModelFamily => MODEL,
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
                        let interner = t.tag_values.get(kid as usize - 1);
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
                Dimension::ModelFamily => {
                    let (remap, names) = remap(&t.dims[MODEL], model_family);
                    GroupDim {
                        source: Source::Dim(MODEL),
                        remap,
                        names,
                    }
                }
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
        let mut acc = Accumulators::new(
            if dense { self.total as usize } else { 0 },
            t.scale.is_none(),
        );
        let mut sparse: HashMap<Vec<u32>, usize> = HashMap::new();
        let mut idx: Vec<u32> = Vec::new();
        let mut key: Vec<u32> = Vec::new();
        for (day, b) in t.blocks.range(self.start..=self.end) {
            let n = b.len();
            let base = self.period_base(*day);
            idx.clear();
            if self.granularity == Some(Granularity::Hour) {
                idx.extend(b.hour.iter().map(|h| base + u32::from(*h)));
            } else {
                idx.resize(n, base);
            }
            // Filters mark rows to skip.
            for f in &self.filters {
                for (i, id) in idx.iter_mut().zip(&b.dims[f.dim]) {
                    if !f.allowed.get(*id as usize).copied().unwrap_or(false) {
                        *i = SKIP;
                    }
                }
            }
            if dense {
                for g in &self.groups {
                    let card = u32::try_from(g.names.len()).unwrap_or(1);
                    match column(b, g.source) {
                        Some(col) => {
                            for (i, id) in idx.iter_mut().zip(col) {
                                if *i != SKIP {
                                    *i =
                                        *i * card + g.remap.get(*id as usize).copied().unwrap_or(0);
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
                let card = u32::try_from(self.currency_names.len()).unwrap_or(1);
                for (i, c) in idx.iter_mut().zip(&b.currency) {
                    if *i != SKIP {
                        *i = *i * card + self.currency_remap.get(*c as usize).copied().unwrap_or(0);
                    }
                }
                acc.add_block(b, t.scale, &idx)?;
            } else {
                // Sparse: one hash lookup per row, keyed by the group ids.
                let cols: Vec<Option<&Vec<u32>>> =
                    self.groups.iter().map(|g| column(b, g.source)).collect();
                for r in 0..n {
                    let Some(&period) = idx.get(r) else { continue };
                    if period == SKIP {
                        continue;
                    }
                    key.clear();
                    key.push(period);
                    for (g, col) in self.groups.iter().zip(&cols) {
                        let id = col.and_then(|c| c.get(r)).copied().unwrap_or(0);
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
                    acc.add_row(b, t.scale, r, slot)?;
                }
            }
        }
        // Buckets.
        let mut out = Vec::new();
        let emit = |slot: usize, ids: &[u32], out: &mut Vec<CostBucket>| -> Result<()> {
            let Some(cost) = acc.cost(slot, t.scale)? else {
                return Ok(());
            };
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
                requests: acc.requests.get(slot).copied().unwrap_or(0),
                input_tokens: acc.input_tokens.get(slot).copied().unwrap_or(0),
                output_tokens: acc.output_tokens.get(slot).copied().unwrap_or(0),
                cached_requests: acc.cached_requests.get(slot).copied().unwrap_or(0),
            });
            Ok(())
        };
        if dense {
            let cards: Vec<usize> = std::iter::once(self.periods)
                .chain(self.groups.iter().map(|g| g.names.len()))
                .chain(std::iter::once(self.currency_names.len()))
                .collect();
            let mut ids = vec![0u32; cards.len()];
            for slot in 0..acc.seen.len() {
                if !acc.seen.get(slot).copied().unwrap_or(false) {
                    continue;
                }
                // Decode the mixed-radix index.
                let mut rest = slot;
                for (id, card) in ids.iter_mut().zip(&cards).rev() {
                    *id = u32::try_from(rest % card.max(&1)).unwrap_or(0);
                    rest /= card.max(&1);
                }
                emit(slot, &ids, &mut out)?;
            }
        } else {
            for (key, slot) in &sparse {
                emit(*slot, key, &mut out)?;
            }
        }
        out.sort_by(|a, b| {
            (a.period_start, &a.keys, a.currency.code()).cmp(&(
                b.period_start,
                &b.keys,
                b.currency.code(),
            ))
        });
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

/// Sums per group, struct of arrays.
struct Accumulators {
    seen: Vec<bool>,
    fixed: Vec<i128>,
    exact: Vec<Decimal>,
    scale: Vec<u8>,
    requests: Vec<u64>,
    input_tokens: Vec<u64>,
    output_tokens: Vec<u64>,
    cached_requests: Vec<u64>,
}

impl Accumulators {
    fn new(n: usize, exact: bool) -> Self {
        Accumulators {
            seen: vec![false; n],
            fixed: if exact { Vec::new() } else { vec![0; n] },
            exact: if exact {
                vec![Decimal::ZERO; n]
            } else {
                Vec::new()
            },
            scale: vec![0; n],
            requests: vec![0; n],
            input_tokens: vec![0; n],
            output_tokens: vec![0; n],
            cached_requests: vec![0; n],
        }
    }

    fn grow(&mut self) -> usize {
        self.seen.push(false);
        self.fixed.push(0);
        self.exact.push(Decimal::ZERO);
        self.scale.push(0);
        self.requests.push(0);
        self.input_tokens.push(0);
        self.output_tokens.push(0);
        self.cached_requests.push(0);
        self.seen.len() - 1
    }

    fn add_block(&mut self, b: &Block, scale: Option<u32>, idx: &[u32]) -> Result<()> {
        let counts = b
            .requests
            .iter()
            .zip(&b.input_tokens)
            .zip(&b.output_tokens)
            .zip(&b.cached_requests)
            .zip(&b.scale);
        match (&b.cost, scale) {
            (Costs::Fixed(costs), Some(_)) => {
                for ((g, cost), ((((req, inp), out), cached), s)) in
                    idx.iter().zip(costs).zip(counts)
                {
                    let g = *g as usize;
                    if let Some(acc) = self.fixed.get_mut(g) {
                        *acc += i128::from(*cost);
                        self.seen[g] = true;
                        self.scale[g] = self.scale[g].max(*s);
                        self.requests[g] = self.requests[g].saturating_add(*req);
                        self.input_tokens[g] = self.input_tokens[g].saturating_add(*inp);
                        self.output_tokens[g] = self.output_tokens[g].saturating_add(*out);
                        self.cached_requests[g] = self.cached_requests[g].saturating_add(*cached);
                    }
                }
            }
            _ => {
                for r in 0..idx.len() {
                    let g = idx[r];
                    if g != SKIP {
                        self.add_row(b, scale, r, g as usize)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn add_row(&mut self, b: &Block, scale: Option<u32>, r: usize, g: usize) -> Result<()> {
        if g >= self.seen.len() {
            return Ok(());
        }
        match (&b.cost, scale) {
            (Costs::Fixed(c), Some(_)) => {
                self.fixed[g] += i128::from(c.get(r).copied().unwrap_or(0));
            }
            (Costs::Exact(c), _) => {
                let v = c.get(r).copied().unwrap_or_default();
                self.exact[g] = self.exact[g].checked_add(v).ok_or_else(overflow)?;
            }
            (Costs::Fixed(_), None) => {}
        }
        let get = |v: &Vec<u64>| v.get(r).copied().unwrap_or(0);
        self.seen[g] = true;
        self.scale[g] = self.scale[g].max(b.scale.get(r).copied().unwrap_or(0));
        self.requests[g] = self.requests[g].saturating_add(get(&b.requests));
        self.input_tokens[g] = self.input_tokens[g].saturating_add(get(&b.input_tokens));
        self.output_tokens[g] = self.output_tokens[g].saturating_add(get(&b.output_tokens));
        self.cached_requests[g] = self.cached_requests[g].saturating_add(get(&b.cached_requests));
        Ok(())
    }

    /// The group's cost, `None` when no row fell in it.
    fn cost(&self, g: usize, scale: Option<u32>) -> Result<Option<Decimal>> {
        if !self.seen.get(g).copied().unwrap_or(false) {
            return Ok(None);
        }
        let want = u32::from(self.scale.get(g).copied().unwrap_or(0));
        match scale {
            Some(s) => {
                let sum = self.fixed.get(g).copied().unwrap_or(0);
                let mut d = Decimal::try_from_i128_with_scale(sum, s).map_err(|_| overflow())?;
                if want < s {
                    d.rescale(want);
                }
                Ok(Some(d))
            }
            None => Ok(Some(self.exact.get(g).copied().unwrap_or_default())),
        }
    }
}

fn overflow() -> Error {
    Error::invalid("cost", "the sum of costs does not fit a decimal")
}

#[cfg(test)]
mod tests;
