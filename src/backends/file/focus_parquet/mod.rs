//! FOCUS exports in Parquet (feature `parquet`, the arrow-rs `parquet`
//! crate), streamed one record batch at a time.
//!
//! [`FocusReader::open`](super::focus::FocusReader::open) opens a `.parquet`
//! file through this module: its record batches (8,192 rows at a time,
//! row group by row group, only the columns the reader maps) are turned
//! into the same text cells a FOCUS CSV has, so the whole CSV mapping, its
//! checks and its error messages apply unchanged. Memory stays flat in the
//! file size: one row group's projected column chunks and one batch.
//!
//! | Parquet type | read as |
//! |---|---|
//! | `DECIMAL` (any precision and scale, 128 or 256 bits) | its exact decimal text |
//! | `DOUBLE`, `FLOAT` | the shortest decimal that reads back as the same number (`0.1`, not `0.1000000000000000055…`) |
//! | integers, booleans | their text |
//! | `TIMESTAMP` (seconds to nanoseconds, with or without a time zone; without: UTC), `DATE` | RFC 3339 UTC |
//! | strings (plain, large, view, dictionary-encoded) | the string |
//! | `MAP`, `STRUCT` (`Tags`, `SkuPriceDetails` as some exports write them) | a JSON object |
//! | null | null |
//!
//! Other types (lists, binary) in a column the reader maps are an error
//! naming the column. Errors name the file and the row as "line" (the
//! header counts as line 1, so row *k* of the file is line *k + 1*).
//!
//! Aggregations that only need the period, cost, currency, provider and
//! model (a cloud bill by provider or service, by day or month) skip the
//! text cells: [`aggregate_columnar`] sums the `DECIMAL` cost column per
//! dictionary key, with the same answer as the row path (tested query
//! shape by query shape) at the speed of a columnar engine (the README
//! compares it with DuckDB). [`FocusParquetWriter`] writes FOCUS records
//! as Parquet.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Read};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal256Type, Float32Type, Float64Type, Int16Type,
    Int32Type, Int64Type, Int8Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, SecondsFormat, Utc};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;

use super::focus::{FocusConfig, FocusModelColumn};
use crate::{Error, Result};

/// Rows per record batch.
const BATCH_ROWS: usize = 8192;

/// The columns the FOCUS mapping may read (besides the configured cost and
/// model columns); the others are left out of the projection and written
/// as nulls.
const MAPPED: [&str; 18] = [
    "ChargePeriodStart",
    "BillingCurrency",
    "ProviderName",
    "ServiceProviderName",
    "HostProviderName",
    "ContractApplied",
    "Tags",
    "SkuPriceDetails",
    "PrincipalId",
    "ConsumedQuantity",
    "ConsumedUnit",
    "x_Requests",
    "x_InputTokens",
    "x_OutputTokens",
    "x_CachedRequests",
    "x_CacheReadTokens",
    "x_CacheWriteTokens",
    "ServiceName",
];

/// A Parquet file read as FOCUS CSV text, batch by batch.
pub(crate) struct ParquetCsv {
    batches: ParquetRecordBatchReader,
    /// Schema index of each header column that is projected, in the order
    /// the batches hold them.
    projected: Vec<Option<usize>>,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
    cell: String,
}

fn parquet_error(path: &str, e: impl std::fmt::Display) -> Error {
    Error::Parse {
        location: path.to_owned(),
        reason: format!("not a readable Parquet file: {e}"),
    }
}

impl ParquetCsv {
    /// Open `file` (named `path` in errors), projecting the columns
    /// `config` maps (every column when `all`).
    pub(crate) fn open(file: File, path: &str, config: &FocusConfig, all: bool) -> Result<Self> {
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let wanted = |n: &str| {
            all || MAPPED.iter().any(|m| m.eq_ignore_ascii_case(n))
                || n.eq_ignore_ascii_case(config.cost_column.column())
                || n.starts_with("Allocated")
                || config.model_columns.iter().any(|m| {
                    n.eq_ignore_ascii_case(m.column())
                        || matches!(m, FocusModelColumn::ServiceName)
                            && n.eq_ignore_ascii_case("ServiceName")
                })
        };
        let roots: Vec<usize> = names
            .iter()
            .enumerate()
            .filter(|(_, n)| wanted(n))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
        let batches = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| parquet_error(path, e))?;
        // The projected batch holds the chosen roots in schema order.
        let projected = (0..names.len())
            .map(|i| roots.iter().position(|r| *r == i))
            .collect();
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        w.write_record(&names).map_err(|e| parquet_error(path, e))?;
        let buf = w.into_inner().map_err(|e| parquet_error(path, e.error()))?;
        Ok(ParquetCsv {
            batches,
            projected,
            buf,
            pos: 0,
            done: false,
            cell: String::new(),
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> io::Result<()> {
        let schema = batch.schema();
        let columns: Vec<Option<Column<'_>>> = self
            .projected
            .iter()
            .map(|p| p.map(|i| Column::new(batch.column(i), schema.field(i).name())))
            .collect();
        let mut w = csv::WriterBuilder::new().from_writer(std::mem::take(&mut self.buf));
        for row in 0..batch.num_rows() {
            for c in &columns {
                self.cell.clear();
                if let Some(c) = c {
                    c.write(row, &mut self.cell).map_err(io::Error::other)?;
                }
                w.write_field(self.cell.as_bytes())?;
            }
            w.write_record(None::<&[u8]>)?;
        }
        self.buf = w
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(())
    }
}

impl Read for ParquetCsv {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            match self.batches.next() {
                None => self.done = true,
                Some(Err(e)) => return Err(io::Error::other(e)),
                Some(Ok(batch)) => self.write_batch(&batch)?,
            }
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(out.len());
        out.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.pos += n;
        Ok(n)
    }
}

/// One column of a batch, with a dictionary's keys resolved once.
struct Column<'a> {
    array: &'a ArrayRef,
    name: &'a str,
    /// For a dictionary column: each row's index into its values (`None`
    /// when the dictionary has no values: every row is null).
    keys: Option<Vec<usize>>,
}

impl<'a> Column<'a> {
    fn new(array: &'a ArrayRef, name: &'a str) -> Self {
        let keys = array
            .as_any_dictionary_opt()
            .filter(|d| !d.values().is_empty())
            .map(|d| d.normalized_keys());
        Column { array, name, keys }
    }

    fn write(&self, row: usize, out: &mut String) -> std::result::Result<(), String> {
        if self.array.is_null(row) {
            return Ok(());
        }
        match (self.array.as_any_dictionary_opt(), &self.keys) {
            (Some(d), Some(keys)) => {
                let i = keys.get(row).copied().unwrap_or_default();
                value(d.values(), i, out).map_err(|t| self.unsupported(&t))
            }
            (Some(_), None) => Ok(()),
            (None, _) => value(self.array, row, out).map_err(|t| self.unsupported(&t)),
        }
    }

    fn unsupported(&self, t: &str) -> String {
        format!("column {}: values of type {t} cannot be read", self.name)
    }
}

fn timestamp(secs: i64, nanos: u32) -> Option<String> {
    DateTime::<Utc>::from_timestamp(secs, nanos)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// The text of `array[row]` (not null) into `out`; `Err` with the type's
/// name when it has no text form here.
fn value(array: &dyn Array, row: usize, out: &mut String) -> std::result::Result<(), String> {
    if array.is_null(row) {
        return Ok(());
    }
    let ts = |v: i64, unit: &TimeUnit| -> Option<String> {
        let (secs, nanos) = match unit {
            TimeUnit::Second => (v, 0),
            TimeUnit::Millisecond => (v.div_euclid(1_000), v.rem_euclid(1_000) * 1_000_000),
            TimeUnit::Microsecond => (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) * 1_000),
            TimeUnit::Nanosecond => (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000)),
        };
        timestamp(secs, u32::try_from(nanos).ok()?)
    };
    let bad = |dt: &DataType| dt.to_string();
    let written = match array.data_type() {
        DataType::Utf8 => write!(out, "{}", array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => write!(out, "{}", array.as_string::<i64>().value(row)),
        DataType::Utf8View => write!(out, "{}", array.as_string_view().value(row)),
        DataType::Decimal128(_, _) => {
            write!(
                out,
                "{}",
                array.as_primitive::<Decimal128Type>().value_as_string(row)
            )
        }
        DataType::Decimal256(_, _) => {
            write!(
                out,
                "{}",
                array.as_primitive::<Decimal256Type>().value_as_string(row)
            )
        }
        DataType::Float64 => write!(out, "{}", array.as_primitive::<Float64Type>().value(row)),
        DataType::Float32 => write!(out, "{}", array.as_primitive::<Float32Type>().value(row)),
        DataType::Int8 => write!(out, "{}", array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => write!(out, "{}", array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => write!(out, "{}", array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => write!(out, "{}", array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => write!(out, "{}", array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => write!(out, "{}", array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => write!(out, "{}", array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => write!(out, "{}", array.as_primitive::<UInt64Type>().value(row)),
        DataType::Boolean => write!(out, "{}", array.as_boolean().value(row)),
        DataType::Timestamp(unit, _) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            let text = ts(v, unit).ok_or_else(|| bad(array.data_type()))?;
            write!(out, "{text}")
        }
        DataType::Date32 => {
            let days = i64::from(array.as_primitive::<Date32Type>().value(row));
            let text = days
                .checked_mul(86_400)
                .and_then(|s| timestamp(s, 0))
                .ok_or_else(|| bad(array.data_type()))?;
            write!(out, "{text}")
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(row);
            let text = ts(ms, &TimeUnit::Millisecond).ok_or_else(|| bad(array.data_type()))?;
            write!(out, "{text}")
        }
        DataType::Map(_, _) => {
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut map = serde_json::Map::new();
            for i in 0..entries.len() {
                let mut k = String::new();
                value(keys, i, &mut k)?;
                map.insert(k, json_value(values, i)?);
            }
            write!(out, "{}", serde_json::Value::Object(map))
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let mut map = serde_json::Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                map.insert(f.name().clone(), json_value(c, row)?);
            }
            write!(out, "{}", serde_json::Value::Object(map))
        }
        DataType::Dictionary(_, _) => {
            // Nested in a map or struct (a top-level column resolves its
            // keys once per batch in `Column`): this row's key alone.
            let d = array.as_any_dictionary();
            let mut key = String::new();
            value(d.keys(), row, &mut key)?;
            let i = key
                .parse::<usize>()
                .ok()
                .filter(|i| *i < d.values().len())
                .ok_or_else(|| bad(array.data_type()))?;
            return value(d.values(), i, out);
        }
        other => return Err(bad(other)),
    };
    written.map_err(|_| bad(array.data_type()))
}

/// `array[row]` as a JSON value: strings as strings, numbers and booleans
/// as themselves, null as null.
fn json_value(array: &dyn Array, row: usize) -> std::result::Result<serde_json::Value, String> {
    if array.is_null(row) {
        return Ok(serde_json::Value::Null);
    }
    let mut text = String::new();
    value(array, row, &mut text)?;
    Ok(match array.data_type() {
        DataType::Boolean => serde_json::Value::Bool(text == "true"),
        t if t.is_numeric() => {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        }
        DataType::Map(_, _) | DataType::Struct(_) => {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        }
        _ => serde_json::Value::String(text),
    })
}

mod columnar;
mod writer;

pub use columnar::aggregate_columnar;
pub use writer::{FocusParquetWriter, DECIMAL_SCALE};
