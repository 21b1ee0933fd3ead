//! Table geometry measured in Rust from the embedded font, so typst lays
//! out each cell once: numeric columns get their exact width, and when
//! every cell fits on one line, rows get a fixed height. (With `auto`
//! columns and rows typst measures each cell before laying it out, which
//! made the tables most of a report's layout time.)

use ttf_parser::Face;

use super::world;
use crate::render::view::{Table, TableFit};

/// Body text size of the template (`#set text(size: 9pt)`).
const BODY: f64 = 9.0;
/// Header text size of tables.
const HEADER: f64 = 7.5;
/// Horizontal inset of a cell on each side.
const INSET_X: f64 = 5.0;
/// Vertical inset of a cell on each side.
const INSET_Y: f64 = 4.5;
/// Text columns narrower than this: let typst lay the table out itself.
const MIN_TEXT_COLUMN: f64 = 40.0;

/// The two faces tables use: Inter Regular and SemiBold.
pub(super) struct Faces {
    regular: Face<'static>,
    semibold: Face<'static>,
}

impl Faces {
    /// The embedded faces, parsed once per process.
    pub(super) fn get() -> Option<&'static Faces> {
        static FACES: std::sync::OnceLock<Option<Faces>> = std::sync::OnceLock::new();
        FACES
            .get_or_init(|| {
                Some(Faces {
                    regular: Face::parse(world::INTER[0], 0).ok()?,
                    semibold: Face::parse(world::INTER[1], 0).ok()?,
                })
            })
            .as_ref()
    }
}

/// Advance width of `text` at `size` points, without kerning (which only
/// narrows Inter's text); `None` when a character is not in the face (typst
/// would take it from a fallback font with other widths).
fn width(face: &Face<'_>, text: &str, size: f64) -> Option<f64> {
    let per_unit = size / f64::from(face.units_per_em().max(1));
    let mut units = 0_u64;
    for c in text.chars() {
        let glyph = face.glyph_index(c)?;
        units += u64::from(face.glyph_hor_advance(glyph)?);
    }
    Some(units as f64 * per_unit)
}

/// Height of a row of one line of `size`-point text: typst's line box runs
/// from the cap height to the baseline.
fn row_height(face: &Face<'_>, size: f64) -> f64 {
    let cap = face
        .capital_height()
        .map_or(0.73, |h| f64::from(h) / f64::from(face.units_per_em()));
    2.0 * INSET_Y + cap * size
}

fn cell(row: &[String], i: usize) -> &str {
    row.get(i).map_or("", String::as_str)
}

/// Measure `table` for a page `content_width` points wide. `None` when a
/// cell cannot be measured or the numeric columns leave too little room.
pub(super) fn fit(faces: &Faces, table: &Table, content_width: f64) -> Option<TableFit> {
    let cols = table.header.len();
    if cols == 0 || table.numeric.len() != cols {
        return None;
    }
    // Widest content of each column, in points.
    let mut widest = vec![0.0_f64; cols];
    for (i, w) in widest.iter_mut().enumerate() {
        *w = width(&faces.semibold, &table.header[i], HEADER)?;
        for row in &table.rows {
            *w = w.max(width(&faces.regular, cell(row, i), BODY)?);
        }
        if let Some(total) = &table.total {
            *w = w.max(width(&faces.semibold, cell(total, i), BODY)?);
        }
    }
    // One point of slack against rounding in typst's layout.
    let pad = 2.0 * INSET_X + 1.0;
    let numeric: f64 = (0..cols)
        .filter(|&i| table.numeric[i])
        .map(|i| widest[i] + pad)
        .sum();
    let text_columns = table.numeric.iter().filter(|n| !**n).count();
    let fr = if text_columns > 0 {
        let fr = (content_width - numeric) / text_columns as f64;
        if fr < MIN_TEXT_COLUMN {
            return None;
        }
        fr
    } else if numeric > content_width {
        return None;
    } else {
        0.0
    };
    let one_line = (0..cols)
        .filter(|&i| !table.numeric[i])
        .all(|i| widest[i] + pad <= fr);
    Some(TableFit {
        widths: (0..cols)
            .map(|i| {
                if table.numeric[i] {
                    ((widest[i] + pad) * 100.0).ceil() / 100.0
                } else {
                    0.0
                }
            })
            .collect(),
        one_line,
        header_row: row_height(&faces.semibold, HEADER),
        row: row_height(&faces.regular, BODY),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(label: &str, amount: &str) -> Table {
        Table {
            header: vec!["Model".into(), "Cost".into(), "Share".into()],
            numeric: vec![false, true, true],
            rows: vec![
                vec![label.into(), amount.into(), "42.1%".into()],
                vec!["gpt-4o".into(), "$1.00".into(), "57.9%".into()],
            ],
            total: Some(vec!["Total".into(), "$2.00".into(), String::new()]),
            fit: None,
        }
    }

    const A4: f64 = 504.567;

    #[test]
    fn ordinary_tables_get_exact_numeric_widths_and_fixed_rows() {
        let faces = Faces::get().unwrap();
        let fit = fit(faces, &table("claude-3-5-sonnet", "$12,345.67"), A4).unwrap();
        assert!(fit.one_line);
        assert_eq!(fit.widths.len(), 3);
        assert_eq!(fit.widths[0], 0.0, "the text column shares the rest");
        // "$12,345.67" at 9 pt is about 47 pt, plus 11 pt of insets.
        assert!((50.0..70.0).contains(&fit.widths[1]), "{:?}", fit.widths);
        assert!(fit.widths[2] > 20.0 && fit.widths[2] < fit.widths[1]);
        // 4.5 pt insets around Inter's cap height (0.727 em).
        assert!((fit.row - (9.0 + 0.727 * 9.0)).abs() < 0.05, "{}", fit.row);
        assert!(fit.header_row < fit.row);
    }

    #[test]
    fn a_label_wider_than_its_column_lets_rows_grow() {
        let faces = Faces::get().unwrap();
        let long = "W".repeat(200);
        let fit = fit(faces, &table(&long, "$1.00"), A4).unwrap();
        assert!(!fit.one_line);
    }

    #[test]
    fn text_the_font_lacks_is_left_to_typst() {
        let faces = Faces::get().unwrap();
        assert!(fit(faces, &table("تقرير 📈", "$1.00"), A4).is_none());
        // Numeric columns leaving no room for the label.
        assert!(fit(faces, &table("a", &"9".repeat(120)), A4).is_none());
    }
}
