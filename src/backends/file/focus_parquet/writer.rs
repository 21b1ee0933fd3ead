//! [`FocusParquetWriter`]: FOCUS records as Parquet.

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use super::BATCH_ROWS;
use crate::{Error, Result};

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
/// Snappy-compressed. [`FocusReader::open`](crate::backends::file::focus::FocusReader::open)
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
                                let t = crate::backends::file::focus::parse_timestamp(v)
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
