//! The [`CostSource`] over a SQL usage table: one `GROUP BY` query per
//! aggregate, run by the database.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use super::values::{count64, opt_text, text, ts, uuid, Db, Dialect, Kind, Row, Val};
use crate::core::aggregate::validate_query;
use crate::model::{
    model_family, CostBucket, CostQuery, CostRow, Currency, Dimension, Granularity, OrganizationId,
    ReportFilters,
};
use crate::ports::CostSource;
use crate::{Error, Result};

/// Where the usage rows live and what their columns are called, so a host
/// can point the [`SqlCostSource`] at its own table or view.
///
/// [`UsageTable::default`] is the crate's own `cost_usage` table (created
/// by the migrations). Names are SQL identifiers (`[A-Za-z_][A-Za-z0-9_]*`,
/// the table optionally `schema.table`); anything else is refused with
/// [`Error::Invalid`] when the source is built. An optional column left as
/// `None` reads as missing (NULL) for every row, and a count as 0.
///
/// Column types the queries expect:
/// - `organization_id`: `UUID` (PostgreSQL) or hyphenated UUID text (SQLite);
/// - `date`: `DATE` (PostgreSQL) or `YYYY-MM-DD` text (SQLite);
/// - `timestamp`: `TIMESTAMPTZ` (PostgreSQL) or ISO-8601 UTC text (SQLite);
/// - dimensions and `currency` (ISO 4217 code): text;
/// - `tags`: `JSONB` (PostgreSQL) or JSON text (SQLite), an object of strings;
/// - `cost`: `NUMERIC` (PostgreSQL), or in SQLite an `INTEGER` of units of
///   10^-[`cost_scale`](UsageTable::cost_scale) (SQLite's `SUM` over text or
///   REAL would not be exact);
/// - counts: integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageTable {
    /// Table or view, e.g. `cost_usage` or `analytics.llm_usage_v`.
    pub table: String,
    /// Organization id column.
    pub organization_id: String,
    /// Usage date column (the day the cost belongs to).
    pub date: String,
    /// Exact instant column, for hourly buckets.
    pub timestamp: Option<String>,
    /// Provider column.
    pub provider: Option<String>,
    /// Model column.
    pub model: Option<String>,
    /// Team column.
    pub team: Option<String>,
    /// Project column.
    pub project: Option<String>,
    /// Cost center column.
    pub cost_center: Option<String>,
    /// Feature column.
    pub feature: Option<String>,
    /// End-user column.
    pub user: Option<String>,
    /// Tags column (a JSON object).
    pub tags: Option<String>,
    /// Cost column.
    pub cost: String,
    /// SQLite only: the cost column holds integer units of 10^-`cost_scale`
    /// (the crate's table: 9, nano-units). Ignored by PostgreSQL.
    pub cost_scale: u32,
    /// Currency column; rows without one are in the source's default currency.
    pub currency: Option<String>,
    /// Request count column.
    pub requests: Option<String>,
    /// Input token column.
    pub input_tokens: Option<String>,
    /// Output token column.
    pub output_tokens: Option<String>,
    /// Cached request count column.
    pub cached_requests: Option<String>,
}

impl Default for UsageTable {
    fn default() -> Self {
        let s = |v: &str| Some(v.to_owned());
        UsageTable {
            table: "cost_usage".into(),
            organization_id: "organization_id".into(),
            date: "usage_date".into(),
            timestamp: s("ts"),
            provider: s("provider"),
            model: s("model"),
            team: s("team"),
            project: s("project"),
            cost_center: s("cost_center"),
            feature: s("feature"),
            user: s("end_user"),
            tags: s("tags"),
            cost: "cost".into(),
            cost_scale: 9,
            currency: s("currency"),
            requests: s("requests"),
            input_tokens: s("input_tokens"),
            output_tokens: s("output_tokens"),
            cached_requests: s("cached_requests"),
        }
    }
}

fn ident(field: &str, name: &str, dotted: bool) -> Result<String> {
    let part_ok = |p: &str| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = name.split('.').collect();
    let ok = match parts.as_slice() {
        [one] => part_ok(one),
        [schema, table] if dotted => part_ok(schema) && part_ok(table),
        _ => false,
    };
    if !ok {
        return Err(Error::invalid(
            field,
            format!("{name:?} is not a plain SQL identifier"),
        ));
    }
    Ok(parts
        .iter()
        .map(|p| format!("\"{p}\""))
        .collect::<Vec<_>>()
        .join("."))
}

/// The usage table with every name checked and quoted.
#[derive(Clone, Debug)]
struct Quoted {
    table: String,
    org: String,
    date: String,
    ts: Option<String>,
    provider: Option<String>,
    model: Option<String>,
    team: Option<String>,
    project: Option<String>,
    cost_center: Option<String>,
    feature: Option<String>,
    user: Option<String>,
    tags: Option<String>,
    cost: String,
    currency: Option<String>,
    requests: Option<String>,
    input_tokens: Option<String>,
    output_tokens: Option<String>,
    cached_requests: Option<String>,
}

impl UsageTable {
    fn quoted(&self) -> Result<Quoted> {
        let opt =
            |f: &str, v: &Option<String>| v.as_deref().map(|n| ident(f, n, false)).transpose();
        Ok(Quoted {
            table: ident("table", &self.table, true)?,
            org: ident("organizationId", &self.organization_id, false)?,
            date: ident("date", &self.date, false)?,
            ts: opt("timestamp", &self.timestamp)?,
            provider: opt("provider", &self.provider)?,
            model: opt("model", &self.model)?,
            team: opt("team", &self.team)?,
            project: opt("project", &self.project)?,
            cost_center: opt("costCenter", &self.cost_center)?,
            feature: opt("feature", &self.feature)?,
            user: opt("user", &self.user)?,
            tags: opt("tags", &self.tags)?,
            cost: ident("cost", &self.cost, false)?,
            currency: opt("currency", &self.currency)?,
            requests: opt("requests", &self.requests)?,
            input_tokens: opt("inputTokens", &self.input_tokens)?,
            output_tokens: opt("outputTokens", &self.output_tokens)?,
            cached_requests: opt("cachedRequests", &self.cached_requests)?,
        })
    }
}

/// A [`CostSource`] over a SQL usage table: use it as
/// [`PostgresCostSource`](crate::backends::postgres::PostgresCostSource) or
/// [`SqliteCostSource`](crate::backends::sqlite::SqliteCostSource).
///
/// Each [`aggregate`](CostSource::aggregate) is one `SELECT ... GROUP BY`
/// run by the database, filtered by organization and date range first (the
/// `(organization_id, usage_date)` index), so only grouped rows cross the
/// wire. Two steps happen in Rust on that small grouped result: rows
/// without a currency join the default currency's buckets, and
/// [`Dimension::ModelFamily`] is grouped by model in SQL and folded into
/// families with [`model_family`] (its rules, a suffix of date or version
/// stamps, are not expressible as portable SQL).
#[derive(Clone, Debug)]
pub struct SqlCostSource<D: Db> {
    db: D,
    q: Quoted,
    scale: u32,
    currency: Currency,
    settings: Vec<(String, String)>,
}

impl<D: Db> SqlCostSource<D> {
    pub(crate) fn from_db(db: D, table: &UsageTable) -> Result<Self> {
        if table.cost_scale > 18 {
            return Err(Error::invalid("costScale", "must be at most 18"));
        }
        Ok(SqlCostSource {
            q: table.quoted()?,
            scale: table.cost_scale,
            currency: Currency::USD,
            settings: match db.dialect() {
                Dialect::Postgres => vec![
                    // Enough for the hash tables of a report's aggregates
                    // over millions of rows; the planner otherwise often
                    // sorts to disk.
                    ("work_mem".into(), "64MB".into()),
                    // Plan each aggregate for its organization and range:
                    // a prepared statement's generic plan guesses the
                    // selectivity and often scans the index row by row
                    // instead of the table in parallel.
                    ("plan_cache_mode".into(), "force_custom_plan".into()),
                ],
                Dialect::Sqlite => Vec::new(),
            },
            db,
        })
    }

    /// The same source with these PostgreSQL run-time settings applied to
    /// each aggregate query, and to it only (`set_config(name, value, true)`
    /// in the query's transaction). The default is `work_mem = 64MB` and
    /// `plan_cache_mode = force_custom_plan`; pass an empty list to use the
    /// server's settings. Ignored by SQLite.
    pub fn with_settings<N: Into<String>, V: Into<String>>(
        mut self,
        settings: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        self.settings = settings
            .into_iter()
            .map(|(n, v)| (n.into(), v.into()))
            .collect();
        self
    }

    /// The same source with another default currency (for rows without one).
    pub fn with_default_currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    fn dialect(&self) -> Dialect {
        self.db.dialect()
    }

    fn dim_expr(&self, dim: &Dimension, args: &mut Vec<Val>) -> String {
        let q = &self.q;
        let col = match dim {
            Dimension::Provider => &q.provider,
            Dimension::Model | Dimension::ModelFamily => &q.model,
            Dimension::Team => &q.team,
            Dimension::Project => &q.project,
            Dimension::CostCenter => &q.cost_center,
            Dimension::Feature => &q.feature,
            Dimension::User => &q.user,
            Dimension::Tag(key) => {
                let Some(tags) = &q.tags else {
                    return self.null_text();
                };
                args.push(text(key.as_str()));
                let n = args.len();
                return match self.dialect() {
                    Dialect::Postgres => format!("NULLIF({tags} ->> ${n}, '')"),
                    Dialect::Sqlite => format!(
                        "NULLIF((SELECT CAST(value AS TEXT) FROM json_each({tags}) \
                         WHERE key = ${n}), '')"
                    ),
                };
            }
        };
        match col {
            Some(c) => format!("NULLIF({c}, '')"),
            None => self.null_text(),
        }
    }

    fn null_text(&self) -> String {
        match self.dialect() {
            Dialect::Postgres => "CAST(NULL AS TEXT)".into(),
            Dialect::Sqlite => "NULL".into(),
        }
    }

    fn bucket_expr(&self, g: Granularity) -> String {
        let d = &self.q.date;
        match self.dialect() {
            Dialect::Postgres => {
                let day = format!("CAST({d} AS TIMESTAMP)");
                match g {
                    Granularity::Day => day,
                    Granularity::Week => format!("date_trunc('week', {day})"),
                    Granularity::Month => format!("date_trunc('month', {day})"),
                    Granularity::Hour => match &self.q.ts {
                        Some(t) => format!(
                            "CASE WHEN {t} IS NOT NULL AND CAST(({t} AT TIME ZONE 'UTC') AS DATE) = {d} \
                             THEN date_trunc('hour', {t} AT TIME ZONE 'UTC') ELSE {day} END"
                        ),
                        None => day,
                    },
                }
            }
            Dialect::Sqlite => {
                let day = format!("(date({d}) || ' 00:00:00')");
                match g {
                    Granularity::Day => day,
                    Granularity::Week => format!(
                        "(date({d}, '-' || ((CAST(strftime('%w', {d}) AS INTEGER) + 6) % 7) \
                         || ' days') || ' 00:00:00')"
                    ),
                    Granularity::Month => format!("strftime('%Y-%m-01 00:00:00', {d})"),
                    Granularity::Hour => match &self.q.ts {
                        Some(t) => format!(
                            "CASE WHEN {t} IS NOT NULL AND date({t}) = date({d}) \
                             THEN strftime('%Y-%m-%d %H:00:00', {t}) ELSE {day} END"
                        ),
                        None => day,
                    },
                }
            }
        }
    }

    fn sum_expr(&self, col: &Option<String>) -> String {
        match (self.dialect(), col) {
            (Dialect::Postgres, Some(c)) => format!("CAST(COALESCE(SUM({c}), 0) AS NUMERIC)"),
            (Dialect::Postgres, None) => "CAST(0 AS NUMERIC)".into(),
            (Dialect::Sqlite, Some(c)) => format!("COALESCE(SUM({c}), 0)"),
            (Dialect::Sqlite, None) => "0".into(),
        }
    }

    fn filter(&self, col: &Option<String>, values: &[String], args: &mut Vec<Val>) -> String {
        if values.is_empty() {
            return String::new();
        }
        let Some(c) = col else {
            // Rows lacking a filtered dimension never pass the filter.
            return " AND 1 = 0".into();
        };
        match self.dialect() {
            Dialect::Postgres => {
                args.push(Val::TextList(values.to_vec()));
                format!(" AND NULLIF({c}, '') = ANY(${})", args.len())
            }
            Dialect::Sqlite => {
                args.push(Val::Text(
                    serde_json::to_string(values).unwrap_or_else(|_| "[]".into()),
                ));
                format!(
                    " AND NULLIF({c}, '') IN (SELECT value FROM json_each(${}))",
                    args.len()
                )
            }
        }
    }

    /// ` FROM <table> WHERE <org> = $1 AND <date> BETWEEN $2 AND $3` and
    /// the conditions of `filters` (their values appended to `args`).
    fn rows_clause(&self, filters: &ReportFilters, args: &mut Vec<Val>) -> String {
        let q = &self.q;
        let mut sql = format!(
            " FROM {} WHERE {} = $1 AND {d} >= $2 AND {d} <= $3",
            q.table,
            q.org,
            d = q.date
        );
        sql.push_str(&self.filter(&q.team, &filters.teams, args));
        sql.push_str(&self.filter(&q.project, &filters.projects, args));
        sql.push_str(&self.filter(&q.cost_center, &filters.cost_centers, args));
        sql.push_str(&self.filter(&q.provider, &filters.providers, args));
        sql.push_str(&self.filter(&q.model, &filters.models, args));
        sql
    }

    /// The SQL and arguments of an aggregate query, and the column kinds of
    /// its result. Exposed for tests and `EXPLAIN`.
    fn build(&self, org: OrganizationId, query: &CostQuery) -> (String, Vec<Val>, Vec<Kind>) {
        let q = &self.q;
        let mut args = vec![
            uuid(org.0),
            Val::Date(query.range.start),
            Val::Date(query.range.end),
        ];
        let mut select = Vec::new();
        let mut kinds = Vec::new();
        if let Some(g) = query.granularity {
            select.push(self.bucket_expr(g));
            kinds.push(Kind::NaiveTs);
        }
        for dim in &query.group_by {
            select.push(self.dim_expr(dim, &mut args));
            kinds.push(Kind::Text);
        }
        select.push(match &q.currency {
            Some(c) => format!("NULLIF({c}, '')"),
            None => self.null_text(),
        });
        kinds.push(Kind::Text);
        let group_n = select.len();
        let sum_kind = match self.dialect() {
            Dialect::Postgres => Kind::Dec,
            Dialect::Sqlite => Kind::I64,
        };
        select.push(match self.dialect() {
            Dialect::Postgres => format!("CAST(SUM({}) AS NUMERIC)", q.cost),
            Dialect::Sqlite => format!("SUM({})", q.cost),
        });
        kinds.push(sum_kind);
        for c in [
            &q.requests,
            &q.input_tokens,
            &q.output_tokens,
            &q.cached_requests,
        ] {
            select.push(self.sum_expr(c));
            kinds.push(sum_kind);
        }
        let mut sql = format!(
            "SELECT {}{}",
            select.join(", "),
            self.rows_clause(&query.filters, &mut args)
        );
        let positions: Vec<String> = (1..=group_n).map(|i| i.to_string()).collect();
        sql.push_str(&format!(" GROUP BY {}", positions.join(", ")));
        (sql, args, kinds)
    }

    fn cost_of(&self, row: &mut Row) -> Result<Decimal> {
        match self.dialect() {
            Dialect::Postgres => row.dec(),
            Dialect::Sqlite => {
                let units = row.opt_i64()?.unwrap_or(0);
                Ok(Decimal::from_i128_with_scale(i128::from(units), self.scale))
            }
        }
    }

    /// Insert usage rows into the table, all or none (one transaction),
    /// in batches of 500 rows per statement.
    ///
    /// Works on the crate's own table layout and on a host table with the
    /// same column meanings; every optional column must be named. SQLite:
    /// a cost with more decimal places than `cost_scale` is
    /// [`Error::Invalid`] (never rounded).
    pub async fn insert_rows(&self, org: OrganizationId, rows: &[CostRow]) -> Result<u64> {
        let q = &self.q;
        let optional = [
            ("timestamp", &q.ts),
            ("provider", &q.provider),
            ("model", &q.model),
            ("team", &q.team),
            ("project", &q.project),
            ("costCenter", &q.cost_center),
            ("feature", &q.feature),
            ("user", &q.user),
            ("tags", &q.tags),
            ("currency", &q.currency),
            ("requests", &q.requests),
            ("inputTokens", &q.input_tokens),
            ("outputTokens", &q.output_tokens),
            ("cachedRequests", &q.cached_requests),
        ];
        let mut cols = vec![q.org.clone(), q.date.clone(), q.cost.clone()];
        for (field, c) in optional {
            match c {
                Some(c) => cols.push(c.clone()),
                None => {
                    return Err(Error::Unsupported(format!(
                        "inserting rows needs a column for {field}"
                    )))
                }
            }
        }
        let width = cols.len();
        let mut stmts = Vec::new();
        for (chunk_i, chunk) in rows.chunks(500).enumerate() {
            let mut args = Vec::with_capacity(chunk.len() * width);
            let mut tuples = Vec::with_capacity(chunk.len());
            for (i, r) in chunk.iter().enumerate() {
                let at = |f: &str| format!("rows[{}].{f}", chunk_i * 500 + i);
                args.push(uuid(org.0));
                args.push(Val::Date(r.date));
                args.push(match self.dialect() {
                    Dialect::Postgres => Val::Dec(r.cost),
                    Dialect::Sqlite => Val::I64(
                        self.scaled(r.cost)
                            .map_err(|e| e.in_field(&format!("rows[{}]", chunk_i * 500 + i)))?,
                    ),
                });
                args.push(r.timestamp.map_or(Val::Null(Kind::Ts), ts));
                for v in [
                    &r.provider,
                    &r.model,
                    &r.team,
                    &r.project,
                    &r.cost_center,
                    &r.feature,
                    &r.user,
                ] {
                    args.push(opt_text(v.as_deref()));
                }
                args.push(Val::Json(serde_json::to_value(&r.tags)?));
                args.push(opt_text(r.currency.as_ref().map(|c| c.code())));
                args.push(count64(&at("requests"), r.requests)?);
                args.push(count64(&at("inputTokens"), r.input_tokens)?);
                args.push(count64(&at("outputTokens"), r.output_tokens)?);
                args.push(count64(&at("cachedRequests"), r.cached_requests)?);
                let base = i * width;
                let ph: Vec<String> = (1..=width).map(|k| format!("${}", base + k)).collect();
                tuples.push(format!("({})", ph.join(", ")));
            }
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                q.table,
                cols.join(", "),
                tuples.join(", ")
            );
            stmts.push((sql, args));
        }
        self.db.exec_batch(stmts).await
    }

    fn scaled(&self, cost: Decimal) -> Result<i64> {
        let factor = Decimal::from(10_i64.pow(self.scale));
        let units = cost
            .checked_mul(factor)
            .ok_or_else(|| Error::invalid("cost", format!("{cost} is too large")))?;
        if !units.fract().is_zero() {
            return Err(Error::invalid(
                "cost",
                format!(
                    "{cost} has more than {} decimal places; it would be rounded",
                    self.scale
                ),
            ));
        }
        units
            .to_i64()
            .ok_or_else(|| Error::invalid("cost", format!("{cost} is too large")))
    }
}

#[derive(Default)]
struct Acc {
    cost: Decimal,
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
    cached_requests: u64,
}

type Key = (Option<NaiveDateTime>, Vec<Option<String>>, Currency);

/// The buckets of one query, summed from grouped rows.
#[derive(Default)]
struct Buckets(HashMap<Key, Acc>);

impl Buckets {
    /// Add one grouped row: its bucket start, its values of the query's
    /// dimensions (model names still to fold into families), its currency
    /// code, then the sums as `row` continues (cost and the four counts).
    fn add<D: Db>(
        &mut self,
        src: &SqlCostSource<D>,
        query: &CostQuery,
        period: Option<NaiveDateTime>,
        values: Vec<Option<String>>,
        currency: Option<&str>,
        sums: &mut Row,
    ) -> Result<()> {
        let keys = query
            .group_by
            .iter()
            .zip(values)
            .map(|(dim, v)| match dim {
                Dimension::ModelFamily => v.map(|m| model_family(&m).to_owned()),
                _ => v,
            })
            .collect();
        let currency = match currency {
            Some(code) => Currency::parse(code)
                .map_err(|e| super::values::corrupt(format!("currency {code:?}: {e}")))?,
            None => src.currency,
        };
        let cost = src.cost_of(sums)?;
        let acc = self.0.entry((period, keys, currency)).or_default();
        acc.cost = acc
            .cost
            .checked_add(cost)
            .ok_or_else(|| Error::invalid("cost", "the sum overflows"))?;
        acc.requests = acc.requests.saturating_add(sums.u64()?);
        acc.input_tokens = acc.input_tokens.saturating_add(sums.u64()?);
        acc.output_tokens = acc.output_tokens.saturating_add(sums.u64()?);
        acc.cached_requests = acc.cached_requests.saturating_add(sums.u64()?);
        Ok(())
    }

    fn finish(self) -> Vec<CostBucket> {
        let mut out: Vec<CostBucket> = self
            .0
            .into_iter()
            .map(|((period_start, keys, currency), a)| CostBucket {
                period_start,
                keys,
                currency,
                cost: a.cost,
                requests: a.requests,
                input_tokens: a.input_tokens,
                output_tokens: a.output_tokens,
                cached_requests: a.cached_requests,
            })
            .collect();
        crate::core::aggregate::sort_buckets(&mut out);
        out
    }
}

/// What a grouping expression of [`SqlCostSource::aggregate_sets`] stands
/// for: queries needing the same one share its column.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Source {
    Bucket(Granularity),
    /// The column of a dimension (model and model family share one).
    Column(&'static str),
    Tag(String),
}

/// A grouping expression a query needs.
#[derive(Clone, Copy)]
enum Want<'a> {
    Bucket(Granularity),
    Dim(&'a Dimension),
}

fn source_of(dim: &Dimension) -> Source {
    Source::Column(match dim {
        Dimension::Provider => "provider",
        Dimension::Model | Dimension::ModelFamily => "model",
        Dimension::Team => "team",
        Dimension::Project => "project",
        Dimension::CostCenter => "cost_center",
        Dimension::Feature => "feature",
        Dimension::User => "user",
        Dimension::Tag(key) => return Source::Tag(key.clone()),
    })
}

impl<D: Db> SqlCostSource<D> {
    /// Queries sharing one range and filters, answered by one statement:
    /// the rows are grouped once by every expression any query needs (in
    /// a sub-select), and that small result is grouped by each query's
    /// expressions with `GROUPING SETS`; `GROUPING(...)` tells the sets
    /// apart. PostgreSQL only.
    async fn aggregate_sets(
        &self,
        org: OrganizationId,
        queries: &[&CostQuery],
    ) -> Result<Vec<Vec<CostBucket>>> {
        let q = &self.q;
        let (range, filters) = (queries[0].range, &queries[0].filters);
        let mut args = vec![uuid(org.0), Val::Date(range.start), Val::Date(range.end)];
        // The grouping expressions, each once, and which of them each query uses.
        let mut sources: Vec<Source> = Vec::new();
        let mut exprs: Vec<String> = Vec::new();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut uses: Vec<(Option<usize>, Vec<usize>)> = Vec::with_capacity(queries.len());
        for query in queries {
            let wanted = query
                .granularity
                .map(Want::Bucket)
                .into_iter()
                .chain(query.group_by.iter().map(Want::Dim));
            let mut at = Vec::new();
            for want in wanted {
                let source = match want {
                    Want::Bucket(g) => Source::Bucket(g),
                    Want::Dim(dim) => source_of(dim),
                };
                let i = match sources.iter().position(|s| *s == source) {
                    Some(i) => i,
                    None => {
                        let (expr, kind) = match want {
                            Want::Bucket(g) => (self.bucket_expr(g), Kind::NaiveTs),
                            Want::Dim(dim) => (self.dim_expr(dim, &mut args), Kind::Text),
                        };
                        sources.push(source);
                        exprs.push(expr);
                        kinds.push(kind);
                        sources.len() - 1
                    }
                };
                at.push(i);
            }
            let bucket = query.granularity.map(|_| at[0]);
            let dims = at[usize::from(query.granularity.is_some())..].to_vec();
            uses.push((bucket, dims));
        }
        let k = exprs.len();
        if k == 0 || k > 31 {
            // Only totals (nothing to tell sets apart by), or more
            // expressions than GROUPING() takes: one query each.
            let mut out = Vec::with_capacity(queries.len());
            for query in queries {
                out.push(self.aggregate(org, query).await?);
            }
            return Ok(out);
        }
        // Each distinct set of expressions once (two queries may group alike).
        let mut sets: Vec<Vec<usize>> = Vec::new();
        let mut set_of_query = Vec::with_capacity(queries.len());
        for (bucket, dims) in &uses {
            let mut set: Vec<usize> = bucket.iter().chain(dims).copied().collect();
            set.sort_unstable();
            set.dedup();
            let i = match sets.iter().position(|s| *s == set) {
                Some(i) => i,
                None => {
                    sets.push(set);
                    sets.len() - 1
                }
            };
            set_of_query.push(i);
        }
        // GROUPING(g0, ..., gk-1) has bit k-1-i set when gi is not grouped.
        let mask_of = |set: &[usize]| -> i64 {
            (0..k)
                .filter(|i| !set.contains(i))
                .map(|i| 1_i64 << (k - 1 - i))
                .sum()
        };
        let masks: Vec<i64> = sets.iter().map(|s| mask_of(s)).collect();

        let cur = match &q.currency {
            Some(c) => format!("NULLIF({c}, '')"),
            None => self.null_text(),
        };
        let mut inner: Vec<String> = exprs
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{e} AS g{i}"))
            .collect();
        inner.push(format!("{cur} AS cur"));
        inner.push(format!("SUM({}) AS c", q.cost));
        for (name, col) in [
            ("r", &q.requests),
            ("i", &q.input_tokens),
            ("o", &q.output_tokens),
            ("k", &q.cached_requests),
        ] {
            inner.push(format!("{} AS {name}", self.sum_expr(col)));
        }
        let mut sql = format!(
            "WITH f AS (SELECT {}{}",
            inner.join(", "),
            self.rows_clause(filters, &mut args)
        );
        let positions: Vec<String> = (1..=k + 1).map(|i| i.to_string()).collect();
        let gs: Vec<String> = (0..k).map(|i| format!("g{i}")).collect();
        let grouping_sets: Vec<String> = sets
            .iter()
            .map(|set| {
                let mut cols: Vec<String> = set.iter().map(|i| format!("g{i}")).collect();
                cols.push("cur".into());
                format!("({})", cols.join(", "))
            })
            .collect();
        sql.push_str(&format!(
            " GROUP BY {}) SELECT {}, cur, GROUPING({}), CAST(SUM(c) AS NUMERIC), \
             CAST(SUM(r) AS NUMERIC), CAST(SUM(i) AS NUMERIC), CAST(SUM(o) AS NUMERIC), \
             CAST(SUM(k) AS NUMERIC) FROM f GROUP BY GROUPING SETS ({})",
            positions.join(", "),
            gs.join(", "),
            gs.join(", "),
            grouping_sets.join(", ")
        ));
        kinds.push(Kind::Text);
        kinds.push(Kind::I32);
        kinds.extend([Kind::Dec; 5]);

        let rows = self
            .db
            .fetch_tuned(&self.settings, &sql, args, &kinds)
            .await?;
        let mut answers: Vec<Buckets> = queries.iter().map(|_| Buckets::default()).collect();
        for cols in rows {
            let mut row = Row::new(cols);
            let mut stamps: Vec<Option<NaiveDateTime>> = vec![None; k];
            let mut texts: Vec<Option<String>> = vec![None; k];
            for (i, kind) in kinds[..k].iter().enumerate() {
                match kind {
                    Kind::NaiveTs => stamps[i] = row.opt_naive_ts()?,
                    _ => texts[i] = row.opt_text()?,
                }
            }
            let currency = row.opt_text()?;
            let mask = row.opt_i64()?.unwrap_or(0);
            let Some(set) = masks.iter().position(|m| *m == mask) else {
                return Err(super::values::corrupt(format!(
                    "grouping set {mask} was not asked for"
                )));
            };
            // Every query of this set reads the same sums.
            let sums = row;
            for (qi, query) in queries.iter().enumerate() {
                if set_of_query[qi] != set {
                    continue;
                }
                let (bucket, dims) = &uses[qi];
                let period = bucket.and_then(|b| stamps[b]);
                let values = dims.iter().map(|&d| texts[d].clone()).collect();
                let mut sums = sums.clone();
                answers[qi].add(self, query, period, values, currency.as_deref(), &mut sums)?;
            }
        }
        Ok(answers.into_iter().map(Buckets::finish).collect())
    }
}

#[async_trait]
impl<D: Db> CostSource for SqlCostSource<D> {
    async fn aggregate(&self, org: OrganizationId, query: &CostQuery) -> Result<Vec<CostBucket>> {
        validate_query(query)?;
        let (sql, args, kinds) = self.build(org, query);
        let rows = self
            .db
            .fetch_tuned(&self.settings, &sql, args, &kinds)
            .await?;
        let mut buckets = Buckets::default();
        for cols in rows {
            let mut row = Row::new(cols);
            let period = match query.granularity {
                Some(_) => row.opt_naive_ts()?,
                None => None,
            };
            let mut values = Vec::with_capacity(query.group_by.len());
            for _ in &query.group_by {
                values.push(row.opt_text()?);
            }
            let currency = row.opt_text()?;
            buckets.add(self, query, period, values, currency.as_deref(), &mut row)?;
        }
        Ok(buckets.finish())
    }

    /// On PostgreSQL, queries over the same range and filters are answered
    /// by one statement (see the type's docs); on SQLite, which has no
    /// `GROUPING SETS`, one query each.
    async fn aggregate_many(
        &self,
        org: OrganizationId,
        queries: &[CostQuery],
    ) -> Result<Vec<Vec<CostBucket>>> {
        for (i, query) in queries.iter().enumerate() {
            validate_query(query).map_err(|e| e.in_field(&format!("queries[{i}]")))?;
        }
        // Queries over the same rows, in order of first appearance.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, query) in queries.iter().enumerate() {
            let same = |g: &&mut Vec<usize>| {
                let first = &queries[g[0]];
                first.range == query.range && first.filters == query.filters
            };
            match groups.iter_mut().find(same) {
                Some(g) => g.push(i),
                None => groups.push(vec![i]),
            }
        }
        let answers = futures::future::try_join_all(groups.iter().map(|g| async move {
            let many = g.len() > 1 && self.dialect() == Dialect::Postgres;
            if many {
                let qs: Vec<&CostQuery> = g.iter().map(|&i| &queries[i]).collect();
                self.aggregate_sets(org, &qs).await
            } else {
                let mut out = Vec::with_capacity(g.len());
                for &i in g {
                    out.push(self.aggregate(org, &queries[i]).await?);
                }
                Ok(out)
            }
        }))
        .await?;
        let mut out: Vec<Vec<CostBucket>> = vec![Vec::new(); queries.len()];
        for (g, buckets) in groups.iter().zip(answers) {
            for (&i, b) in g.iter().zip(buckets) {
                out[i] = b;
            }
        }
        Ok(out)
    }

    fn default_currency(&self) -> Currency {
        self.currency
    }
}
