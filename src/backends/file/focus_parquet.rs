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

/// Rows per row group [`FocusParquetWriter`] writes: large enough for
/// readers to decode columns in long runs, small enough that the writer's
/// open row group stays a few MB.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Scale of the `DECIMAL(38, 18)` columns [`FocusParquetWriter`] writes.
pub const DECIMAL_SCALE: i8 = 18;

/// Writes FOCUS records as Parquet, streaming: 8,192 records per record
/// batch, 131,072 per row group, so memory stays flat in the number of
/// records (one open row group).
///
/// | FOCUS type | Parquet |
/// |---|---|
/// | Decimal | `DECIMAL(38, 18)`: exact; a value with more than 18 decimal places or 20 integer digits is an error naming the column |
/// | Date/Time | `TIMESTAMP` (microseconds, UTC) |
/// | String, JSON, custom (`x_`) columns | `STRING` |
///
/// Snappy-compressed. [`FocusReader::open`](super::focus::FocusReader::open)
/// reads the file back.
pub struct FocusParquetWriter<W: std::io::Write + Send> {
    writer: parquet::arrow::ArrowWriter<W>,
    schema: arrow_schema::SchemaRef,
    kinds: Vec<crate::model::FocusDataType>,
    pending: Vec<crate::model::FocusRecord>,
    written: u64,
}

impl<W: std::io::Write + Send> std::fmt::Debug for FocusParquetWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FocusParquetWriter")
            .field("schema", &self.schema)
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

fn write_error(e: impl std::fmt::Display) -> Error {
    Error::Render {
        format: "parquet",
        message: e.to_string(),
    }
}

impl<W: std::io::Write + Send> FocusParquetWriter<W> {
    /// A writer of `columns` (typed by `version`'s table; columns the
    /// version does not define are strings).
    ///
    /// # Errors
    /// [`Error::Render`] when the Parquet header cannot be written.
    pub fn new(out: W, version: crate::model::FocusVersion, columns: &[String]) -> Result<Self> {
        use crate::model::FocusDataType;
        use arrow_schema::{Field, Schema};
        let mut kinds = Vec::with_capacity(columns.len());
        let mut fields = Vec::with_capacity(columns.len());
        for c in columns {
            let kind = version
                .column(c)
                .map_or(FocusDataType::String, |col| col.data_type);
            let dt = match kind {
                FocusDataType::Decimal => DataType::Decimal128(38, DECIMAL_SCALE),
                FocusDataType::DateTime => {
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                }
                _ => DataType::Utf8,
            };
            kinds.push(kind);
            fields.push(Field::new(c, dt, true));
        }
        let schema = std::sync::Arc::new(Schema::new(fields));
        let props = parquet::file::properties::WriterProperties::builder()
            .set_compression(parquet::basic::Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer = parquet::arrow::ArrowWriter::try_new(out, schema.clone(), Some(props))
            .map_err(write_error)?;
        Ok(FocusParquetWriter {
            writer,
            schema,
            kinds,
            pending: Vec::with_capacity(BATCH_ROWS),
            written: 0,
        })
    }

    /// Write one record (its columns not in the header are left out).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the record and column when a decimal or a
    /// date-time does not parse or does not fit; [`Error::Render`] when the
    /// batch cannot be written.
    pub fn write(&mut self, rec: crate::model::FocusRecord) -> Result<()> {
        self.pending.push(rec);
        if self.pending.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<()> {
        use crate::model::FocusDataType;
        use arrow_array::builder::{Decimal128Builder, StringBuilder, TimestampMicrosecondBuilder};
        if self.pending.is_empty() {
            return Ok(());
        }
        let first = self.written;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.kinds.len());
        for (field, kind) in self.schema.fields().iter().zip(&self.kinds) {
            let name = field.name();
            let at = |i: usize, why: String| {
                Error::invalid(
                    name.as_str(),
                    format!("record {}: {why}", first.saturating_add(i as u64)),
                )
            };
            let cells = self.pending.iter().map(|r| r.get(name));
            let array: ArrayRef = match kind {
                FocusDataType::Decimal => {
                    let mut b = Decimal128Builder::with_capacity(self.pending.len());
                    for (i, v) in cells.enumerate() {
                        match v {
                            None => b.append_null(),
                            Some(v) => b.append_value(
                                scaled(v).ok_or_else(|| {
                                    at(i, format!("{v:?} is not a decimal of at most 18 places and 20 integer digits"))
                                })?,
                            ),
                        }
                    }
                    std::sync::Arc::new(
                        b.finish()
                            .with_precision_and_scale(38, DECIMAL_SCALE)
                            .map_err(write_error)?,
                    )
                }
                FocusDataType::DateTime => {
                    let mut b = TimestampMicrosecondBuilder::with_capacity(self.pending.len());
                    for (i, v) in cells.enumerate() {
                        match v {
                            None => b.append_null(),
                            Some(v) => {
                                let t = super::focus::parse_timestamp(v)
                                    .ok_or_else(|| at(i, format!("{v:?} is not a date-time")))?;
                                b.append_value(t.timestamp_micros());
                            }
                        }
                    }
                    std::sync::Arc::new(b.finish().with_timezone("UTC"))
                }
                _ => {
                    let mut b = StringBuilder::with_capacity(self.pending.len(), 0);
                    for v in cells {
                        b.append_option(v);
                    }
                    std::sync::Arc::new(b.finish())
                }
            };
            arrays.push(array);
        }
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(write_error)?;
        self.writer.write(&batch).map_err(write_error)?;
        self.written = self.written.saturating_add(self.pending.len() as u64);
        self.pending.clear();
        Ok(())
    }

    /// Write the last batch and the footer; returns the output.
    ///
    /// # Errors
    /// As [`Self::write`].
    pub fn finish(mut self) -> Result<W> {
        self.flush_batch()?;
        self.writer.into_inner().map_err(write_error)
    }
}

/// A decimal text as a mantissa at scale 18, `None` when it does not parse
/// or does not fit exactly.
fn scaled(v: &str) -> Option<i128> {
    let d = crate::model::parse_decimal(v)?;
    let scale = u32::try_from(DECIMAL_SCALE).ok()?;
    let extra = scale.checked_sub(d.scale())?;
    let m = d.mantissa().checked_mul(10i128.checked_pow(extra)?)?;
    // DECIMAL(38, _): at most 38 digits.
    (m.unsigned_abs() < 10u128.pow(38)).then_some(m)
}

/// A string column of a batch: plain, large, view or dictionary-encoded.
enum Strings<'a> {
    Plain(&'a arrow_array::StringArray),
    Large(&'a arrow_array::LargeStringArray),
    View(&'a arrow_array::StringViewArray),
    /// Keys, and the interned id of each dictionary value.
    Dict(&'a [i32], Option<&'a arrow_buffer::NullBuffer>, Vec<u32>),
}

/// Rows per record batch of the columnar path (no per-row text to hold).
const COLUMNAR_BATCH_ROWS: usize = 8192;

/// Id of "null": the row path reads an empty cell or `NULL` as null.
const NONE: u32 = u32::MAX;

#[derive(Default)]
struct Interner {
    ids: rustc_hash::FxHashMap<String, u32>,
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
        let id = u32::try_from(self.names.len()).unwrap_or(NONE);
        self.ids.insert(v.to_owned(), id);
        self.names.push(v.to_owned());
        id
    }

    fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }
}

impl<'a> Strings<'a> {
    /// `None` when the array is not a string type this path reads.
    fn new(array: &'a ArrayRef, interner: &mut Interner) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => Strings::Plain(array.as_string::<i32>()),
            DataType::LargeUtf8 => Strings::Large(array.as_string::<i64>()),
            DataType::Utf8View => Strings::View(array.as_string_view()),
            DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                let d = array.as_dictionary::<Int32Type>();
                let values = d.values().as_string::<i32>();
                let ids = (0..values.len())
                    .map(|i| interner.id((!values.is_null(i)).then(|| values.value(i))))
                    .collect();
                Strings::Dict(d.keys().values(), d.keys().nulls(), ids)
            }
            _ => return None,
        })
    }

    /// The ids of the first `n` rows into `out` (cleared first), one tight
    /// loop per representation.
    fn ids(&self, n: usize, interner: &mut Interner, out: &mut Vec<u32>) {
        out.clear();
        match self {
            Strings::Dict(keys, nulls, ids) => {
                out.extend(keys.iter().take(n).enumerate().map(|(i, k)| {
                    if nulls.is_some_and(|b| b.is_null(i)) {
                        NONE
                    } else {
                        usize::try_from(*k)
                            .ok()
                            .and_then(|k| ids.get(k).copied())
                            .unwrap_or(NONE)
                    }
                }));
            }
            _ => out.extend((0..n).map(|i| self.id(i, interner))),
        }
    }

    fn id(&self, i: usize, interner: &mut Interner) -> u32 {
        match self {
            Strings::Plain(a) => interner.id((!a.is_null(i)).then(|| a.value(i))),
            Strings::Large(a) => interner.id((!a.is_null(i)).then(|| a.value(i))),
            Strings::View(a) => interner.id((!a.is_null(i)).then(|| a.value(i))),
            Strings::Dict(keys, nulls, ids) => {
                if nulls.is_some_and(|n| n.is_null(i)) {
                    NONE
                } else {
                    keys.get(i)
                        .and_then(|k| usize::try_from(*k).ok())
                        .and_then(|k| ids.get(k).copied())
                        .unwrap_or(NONE)
                }
            }
        }
    }
}

/// Whether the interned value `id` passes a filter list (an empty list
/// passes everything), remembered per id in `cache`.
fn allowed(
    cache: &mut rustc_hash::FxHashMap<u32, bool>,
    id: u32,
    list: &[String],
    strings: &Interner,
) -> bool {
    list.is_empty()
        || *cache.entry(id).or_insert_with(|| {
            strings
                .name(id)
                .is_some_and(|v| list.iter().any(|x| x == v))
        })
}

/// A timestamp column's raw values and what turns them into microseconds
/// since the epoch (UTC): `value * mul / div`.
fn timestamps(array: &ArrayRef) -> Option<(&[i64], i64, i64)> {
    Some(match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => (
            array.as_primitive::<TimestampSecondType>().values(),
            1_000_000,
            1,
        ),
        DataType::Timestamp(TimeUnit::Millisecond, _) => (
            array.as_primitive::<TimestampMillisecondType>().values(),
            1_000,
            1,
        ),
        DataType::Timestamp(TimeUnit::Microsecond, _) => (
            array.as_primitive::<TimestampMicrosecondType>().values(),
            1,
            1,
        ),
        DataType::Timestamp(TimeUnit::Nanosecond, _) => (
            array.as_primitive::<TimestampNanosecondType>().values(),
            1,
            1_000,
        ),
        _ => return None,
    })
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
/// [`aggregate_focus`](super::focus::aggregate_focus) and
/// [`FocusCostSource`](super::focus::FocusCostSource) use it for every
/// `.parquet` file.
///
/// # Errors
/// `Error::Backend` (`file`) when the file cannot be opened,
/// [`Error::Parse`] when it is not Parquet, [`Error::Invalid`] for an
/// invalid query.
pub fn aggregate_columnar(
    path: &std::path::Path,
    config: &FocusConfig,
    query: &crate::model::CostQuery,
    default_currency: crate::model::Currency,
) -> Result<Option<Vec<crate::model::CostBucket>>> {
    use crate::model::{CostBucket, Currency, Dimension};
    use rustc_hash::FxHashMap;
    use std::collections::HashMap;
    let file_path = path;
    let name = path.display().to_string();
    let path = name.as_str();
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
    let file = File::open(file_path).map_err(|e| super::focus::io_error(file_path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error(path, e))?;
    let schema = builder.schema().clone();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let col = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
    let has = |name: &str| col(name).is_some();
    if has("SkuPriceDetails")
        || [
            "x_Requests",
            "x_InputTokens",
            "x_OutputTokens",
            "x_CachedRequests",
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
    let currency = col("BillingCurrency");
    let provider = col("ServiceProviderName").or_else(|| col("ProviderName"));
    let needs_model = !f.models.is_empty() || query.group_by.contains(&Dimension::Model);
    let models: Vec<usize> = if needs_model {
        config
            .model_columns
            .iter()
            .filter_map(|m| col(m.column()))
            .collect()
    } else {
        Vec::new()
    };
    let group_provider = query.group_by.contains(&Dimension::Provider);
    let group_model = query.group_by.contains(&Dimension::Model);
    let needs_provider = !f.providers.is_empty() || group_provider;
    let scale = match schema.field(cost).data_type() {
        DataType::Decimal128(_, s) if (0..=28).contains(s) => *s,
        _ => return Ok(None),
    };
    // The projected roots, in schema order, and where each one lands.
    let mut roots: Vec<usize> = [Some(start), Some(cost), currency]
        .into_iter()
        .flatten()
        .chain(provider.filter(|_| needs_provider))
        .chain(models.iter().copied())
        .collect();
    roots.sort_unstable();
    roots.dedup();
    let at = |i: usize| roots.iter().position(|r| *r == i);
    // Read the grouped strings as dictionaries: Parquet stores them
    // dictionary-encoded, and keeping the keys saves making and hashing a
    // string per row.
    let grouped: Vec<usize> = [currency, provider.filter(|_| needs_provider)]
        .into_iter()
        .flatten()
        .chain(models.iter().copied())
        .collect();
    let fields: Vec<arrow_schema::FieldRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            if grouped.contains(&i) && *f.data_type() == DataType::Utf8 {
                std::sync::Arc::new(f.as_ref().clone().with_data_type(DataType::Dictionary(
                    Box::new(DataType::Int32),
                    Box::new(DataType::Utf8),
                )))
            } else {
                f.clone()
            }
        })
        .collect();
    let hinted = std::sync::Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ));
    drop(builder);
    let file = File::open(file_path).map_err(|e| super::focus::io_error(file_path, e))?;
    let options = parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_schema(hinted);
    let builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
        .map_err(|e| parquet_error(path, e))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let batches = builder
        .with_projection(mask)
        .with_batch_size(COLUMNAR_BATCH_ROWS)
        .build()
        .map_err(|e| parquet_error(path, e))?;
    let day = |d: chrono::NaiveDate| {
        i64::from(d.num_days_from_ce()) - i64::from(719_163) // days since 1970-01-01
    };
    use chrono::Datelike;
    // The range in microseconds: [first day 00:00, day after the last).
    const DAY: i64 = 86_400_000_000;
    let lo = day(query.range.start).saturating_mul(DAY);
    let hi = day(query.range.end).saturating_add(1).saturating_mul(DAY);
    let mut strings = Interner::default();
    let mut currencies = Interner::default();
    // Per interned string: allowed by the provider and model filters.
    let mut provider_ok: FxHashMap<u32, bool> = FxHashMap::default();
    let mut model_ok: FxHashMap<u32, bool> = FxHashMap::default();
    type Key = (i64, u32, u32, u32);
    // Group key -> index into `sums`.
    let mut groups: FxHashMap<Key, usize> = FxHashMap::default();
    let mut sums: Vec<i128> = Vec::new();
    let mut last: Option<(Key, usize)> = None;
    // Per batch: the interned id of each row's currency, provider, models.
    let (mut cur_ids, mut provider_ids) = (Vec::new(), Vec::new());
    let mut model_ids: Vec<Vec<u32>> = Vec::new();
    const NO_PERIOD: i64 = i64::MIN;
    for batch in batches {
        let batch = batch.map_err(|e| parquet_error(path, e))?;
        let column = |i: Option<usize>| i.and_then(at).map(|j| batch.column(j));
        let (Some(ts), Some(costs)) = (column(Some(start)), column(Some(cost))) else {
            return Ok(None);
        };
        let costs = costs.as_primitive::<Decimal128Type>();
        let cost_values: &[i128] = costs.values();
        let cost_nulls = costs.nulls();
        let ts_nulls = ts.logical_nulls();
        let Some((ts_values, mul, div)) = timestamps(ts) else {
            return Ok(None);
        };
        let currency_col = match column(currency) {
            Some(a) => match Strings::new(a, &mut currencies) {
                Some(s) => Some(s),
                None => return Ok(None),
            },
            None => None,
        };
        let provider_col = match column(provider.filter(|_| needs_provider)) {
            Some(a) => match Strings::new(a, &mut strings) {
                Some(s) => Some(s),
                None => return Ok(None),
            },
            None => None,
        };
        let mut model_cols = Vec::with_capacity(models.len());
        for m in &models {
            match column(Some(*m)).and_then(|a| Strings::new(a, &mut strings)) {
                Some(s) => model_cols.push(s),
                None => return Ok(None),
            }
        }
        let n = batch.num_rows();
        match &currency_col {
            Some(c) => c.ids(n, &mut currencies, &mut cur_ids),
            None => {
                cur_ids.clear();
                cur_ids.resize(n, NONE);
            }
        }
        match &provider_col {
            Some(c) => c.ids(n, &mut strings, &mut provider_ids),
            None => {
                provider_ids.clear();
                provider_ids.resize(n, NONE);
            }
        }
        model_ids.resize_with(model_cols.len(), Vec::new);
        for (c, out) in model_cols.iter().zip(model_ids.iter_mut()) {
            c.ids(n, &mut strings, out);
        }
        for i in 0..n {
            if ts_nulls.as_ref().is_some_and(|n| n.is_null(i)) {
                return Ok(None);
            }
            let Some(raw) = ts_values.get(i) else {
                return Ok(None);
            };
            let t = if mul == 1 && div == 1 {
                *raw
            } else {
                match raw.checked_mul(mul) {
                    Some(v) => v.div_euclid(div),
                    None => return Ok(None),
                }
            };
            if t < lo || t >= hi {
                continue;
            }
            let p = provider_ids.get(i).copied().unwrap_or(NONE);
            let mut m = NONE;
            for ids in &model_ids {
                m = ids.get(i).copied().unwrap_or(NONE);
                if m != NONE {
                    break;
                }
            }
            if !allowed(&mut provider_ok, p, &f.providers, &strings)
                || !allowed(&mut model_ok, m, &f.models, &strings)
            {
                continue;
            }
            let cur = cur_ids.get(i).copied().unwrap_or(NONE);
            let period = match query.granularity {
                None => NO_PERIOD,
                Some(g) => {
                    let Some(ts) = chrono::DateTime::from_timestamp_micros(t) else {
                        return Ok(None);
                    };
                    let ts = ts.naive_utc();
                    crate::core::aggregate::bucket_start(g, ts.date(), Some(ts))
                        .and_utc()
                        .timestamp_micros()
                }
            };
            let value = if cost_nulls.is_some_and(|n| n.is_null(i)) {
                0
            } else {
                cost_values.get(i).copied().unwrap_or(0)
            };
            // Only what the query groups by is in the key.
            let p = if group_provider { p } else { NONE };
            let m = if group_model { m } else { NONE };
            // Rows of one group often follow each other: skip the hash.
            let key = (period, p, m, cur);
            let slot = match last {
                Some((k, slot)) if k == key => slot,
                _ => {
                    let next = sums.len();
                    let slot = *groups.entry(key).or_insert(next);
                    if slot == next {
                        sums.push(0i128);
                    }
                    last = Some((key, slot));
                    slot
                }
            };
            let Some(sum) = sums.get_mut(slot) else {
                return Ok(None);
            };
            let Some(s) = sum.checked_add(value) else {
                return Ok(None);
            };
            *sum = s;
        }
    }
    // Currencies parse as the row path parses them; buckets of the same
    // currency (a null and the default one) merge.
    let mut merged: HashMap<(i64, u32, u32, Currency), i128> = HashMap::new();
    for ((period, p, m, cur), slot) in groups {
        let sum = sums.get(slot).copied().unwrap_or(0);
        let currency = if cur == NONE {
            default_currency
        } else {
            match currencies.name(cur).map(Currency::parse) {
                Some(Ok(c)) => c,
                _ => return Ok(None),
            }
        };
        let s = merged.entry((period, p, m, currency)).or_insert(0);
        let Some(v) = s.checked_add(sum) else {
            return Ok(None);
        };
        *s = v;
    }
    let scale = u32::try_from(scale).unwrap_or(0);
    let mut out = Vec::with_capacity(merged.len());
    for ((period, p, m, currency), sum) in merged {
        let Ok(cost) = rust_decimal::Decimal::try_from_i128_with_scale(sum, scale) else {
            return Ok(None);
        };
        let period_start = if period == NO_PERIOD {
            None
        } else {
            match chrono::DateTime::from_timestamp_micros(period) {
                Some(t) => Some(t.naive_utc()),
                None => return Ok(None),
            }
        };
        let keys = query
            .group_by
            .iter()
            .map(|d| {
                let id = if *d == Dimension::Provider { p } else { m };
                strings.name(id).map(str::to_owned)
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
    out.sort_by(|a, b| {
        (a.period_start, &a.keys, a.currency.code()).cmp(&(
            b.period_start,
            &b.keys,
            b.currency.code(),
        ))
    });
    Ok(Some(out))
}
