//! Cost rows from a CSV file with a header line.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{CostRow, Currency};
use crate::{Error, Result};

/// Read cost rows from CSV with a header line.
///
/// Columns are found by name (snake_case or camelCase, any order; unknown
/// columns are ignored): `date` and/or `timestamp` (RFC 3339), `provider`,
/// `model`, `team`, `project`, `cost_center`, `feature`, `user`, `cost`
/// (required, a decimal), `currency` (ISO 4217), `requests`, `input_tokens`,
/// `output_tokens`, `cached_requests`, `cache_read_tokens`,
/// `cache_write_tokens` (parts of `input_tokens`), and `tags` (a JSON object
/// of strings).
/// Empty cells are absent values. `source` names the input in errors, which
/// say the line and column of the bad cell.
pub fn read_cost_rows_csv<R: Read>(reader: R, source: &str) -> Result<Vec<CostRow>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(reader);
    let headers = rdr
        .headers()
        .map_err(|e| csv_error(source, &e))?
        .iter()
        .map(normalize)
        .collect::<Vec<_>>();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let idx = Columns {
        date: col("date"),
        timestamp: col("timestamp"),
        provider: col("provider"),
        model: col("model"),
        team: col("team"),
        project: col("project"),
        cost_center: col("costcenter"),
        feature: col("feature"),
        user: col("user"),
        cost: col("cost").ok_or_else(|| Error::Parse {
            location: format!("{source}: line 1"),
            reason: "the header has no `cost` column".into(),
        })?,
        currency: col("currency"),
        requests: col("requests"),
        input_tokens: col("inputtokens"),
        output_tokens: col("outputtokens"),
        cached_requests: col("cachedrequests"),
        cache_read_tokens: col("cachereadtokens"),
        cache_write_tokens: col("cachewritetokens"),
        tags: col("tags"),
    };
    if idx.date.is_none() && idx.timestamp.is_none() {
        return Err(Error::Parse {
            location: format!("{source}: line 1"),
            reason: "the header needs a `date` or a `timestamp` column".into(),
        });
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_error(source, &e))?;
        let line = rec.position().map_or(0, |p| p.line());
        let cell = |i: Option<usize>| i.and_then(|i| rec.get(i)).filter(|s| !s.is_empty());
        let bad = |i: usize, what: &str| Error::Parse {
            location: format!("{source}: line {line}, column {}", i + 1),
            reason: format!("{what}: {:?}", rec.get(i).unwrap_or_default()),
        };
        let text = |i: Option<usize>| cell(i).map(str::to_owned);
        let count = |i: Option<usize>| -> Result<u64> {
            match (i, cell(i)) {
                (Some(i), Some(v)) => v.parse().map_err(|_| bad(i, "not a non-negative integer")),
                _ => Ok(0),
            }
        };
        let timestamp = match (idx.timestamp, cell(idx.timestamp)) {
            (Some(i), Some(v)) => Some(
                DateTime::parse_from_rfc3339(v)
                    .map_err(|_| bad(i, "not an RFC 3339 timestamp"))?
                    .with_timezone(&Utc),
            ),
            _ => None,
        };
        let date = match (idx.date, cell(idx.date)) {
            (Some(i), Some(v)) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| bad(i, "not a YYYY-MM-DD date"))?,
            _ => match timestamp {
                Some(ts) => ts.date_naive(),
                None => {
                    return Err(Error::Parse {
                        location: format!("{source}: line {line}"),
                        reason: "the row has neither a date nor a timestamp".into(),
                    })
                }
            },
        };
        let cost_text = cell(Some(idx.cost)).ok_or_else(|| bad(idx.cost, "missing cost"))?;
        let cost = crate::model::parse_decimal(cost_text)
            .ok_or_else(|| bad(idx.cost, "not a decimal number"))?;
        let currency = match (idx.currency, cell(idx.currency)) {
            (Some(i), Some(v)) => {
                Some(Currency::parse(v).map_err(|_| bad(i, "not an ISO 4217 currency code"))?)
            }
            _ => None,
        };
        let tags = match (idx.tags, cell(idx.tags)) {
            (Some(i), Some(v)) => serde_json::from_str::<BTreeMap<String, String>>(v)
                .map_err(|_| bad(i, "not a JSON object of strings"))?,
            _ => BTreeMap::new(),
        };
        rows.push(CostRow {
            date,
            timestamp,
            provider: text(idx.provider),
            model: text(idx.model),
            model_family: None,
            team: text(idx.team),
            project: text(idx.project),
            cost_center: text(idx.cost_center),
            feature: text(idx.feature),
            user: text(idx.user),
            tags,
            cost,
            currency,
            requests: count(idx.requests)?,
            input_tokens: count(idx.input_tokens)?,
            output_tokens: count(idx.output_tokens)?,
            cached_requests: count(idx.cached_requests)?,
            cache_read_tokens: count(idx.cache_read_tokens)?,
            cache_write_tokens: count(idx.cache_write_tokens)?,
        });
    }
    Ok(rows)
}

struct Columns {
    date: Option<usize>,
    timestamp: Option<usize>,
    provider: Option<usize>,
    model: Option<usize>,
    team: Option<usize>,
    project: Option<usize>,
    cost_center: Option<usize>,
    feature: Option<usize>,
    user: Option<usize>,
    cost: usize,
    currency: Option<usize>,
    requests: Option<usize>,
    input_tokens: Option<usize>,
    output_tokens: Option<usize>,
    cached_requests: Option<usize>,
    cache_read_tokens: Option<usize>,
    cache_write_tokens: Option<usize>,
    tags: Option<usize>,
}

fn normalize(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| *c != '_' && *c != '-' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn reads_named_columns_in_any_order() {
        let csv = "\u{feff}Cost,date,Team,costCenter,requests,tags,currency\n\
                   12.3456,2026-10-01,search,CC-1,10,\"{\"\"env\"\":\"\"prod\"\"}\",eur\n\
                   1e-3,2026-10-02,,,,,\n";
        let rows = read_cost_rows_csv(csv.as_bytes(), "t.csv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].cost, dec!(12.3456));
        assert_eq!(rows[0].cost_center.as_deref(), Some("CC-1"));
        assert_eq!(rows[0].tags["env"], "prod");
        assert_eq!(rows[0].currency, Some(Currency::EUR));
        assert_eq!(rows[1].cost, dec!(0.001));
        assert_eq!(rows[1].team, None);
        assert_eq!(rows[1].requests, 0);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let csv = "date,cost,requests\n2026-10-01,1,2\n2026-10-02,abc,1\n";
        let e = read_cost_rows_csv(csv.as_bytes(), "usage.csv").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot parse usage.csv: line 3, column 2: not a decimal number: \"abc\""
        );
        let csv = "date,cost,requests\n2026-13-01,1,2\n";
        let e = read_cost_rows_csv(csv.as_bytes(), "u.csv").unwrap_err();
        assert!(e.to_string().contains("line 2, column 1"), "{e}");
        let csv = "date,cost,requests\n2026-10-01,1,-2\n";
        assert!(read_cost_rows_csv(csv.as_bytes(), "u.csv").is_err());
        assert!(read_cost_rows_csv("date,amount\n".as_bytes(), "u.csv").is_err());
        assert!(read_cost_rows_csv("cost\n1\n".as_bytes(), "u.csv").is_err());
        assert!(read_cost_rows_csv("date,cost\n2026-10-01,1,extra\n".as_bytes(), "u.csv").is_err());
    }

    #[test]
    fn reads_the_bundled_demo_data() {
        let f = std::fs::File::open(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/demo/llm_usage_daily.csv"
        ))
        .unwrap();
        let rows = read_cost_rows_csv(f, "demo").unwrap();
        assert_eq!(rows.len(), 920);
        let total: rust_decimal::Decimal = rows.iter().map(|r| r.cost).sum();
        // Printed by data/demo/generate.py with Python's decimal module.
        assert_eq!(total, dec!(35703.608688605));
        assert_eq!(rows.iter().filter(|r| r.team.is_none()).count(), 92);
    }
}
