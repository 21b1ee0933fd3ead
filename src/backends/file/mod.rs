//! File-based cost data: cost rows from CSV.

mod rows_csv;

pub use rows_csv::read_cost_rows_csv;
