//! SVG charts (line, area, bar, pie) shared by the HTML page and the PDF.
//!
//! Every chart is a self-contained `<svg>` string with a `viewBox`, so it
//! scales to its container. Edge cases are drawn, never panicked on: an empty
//! series draws the axes and "No data"; a single point draws one dot; negative
//! values extend the axis below zero; labels are XML-escaped and long ones are
//! shortened with an ellipsis. Coordinates are `f64` (geometry only: the
//! amounts shown as text are formatted from exact decimals by the caller or
//! are round axis ticks).

use std::fmt::Write;

use crate::model::Currency;

/// Colours and sizes of a chart.
#[derive(Clone, Debug)]
pub struct ChartStyle {
    /// Main colour, `#RRGGBB`.
    pub color: String,
    /// Currency of the axis ticks.
    pub currency: Currency,
    /// Width of the view box.
    pub width: f64,
    /// Height of the view box.
    pub height: f64,
}

impl ChartStyle {
    /// A 760 × 260 chart in `color` (an invalid colour falls back to indigo).
    pub fn new(color: &str, currency: Currency) -> Self {
        let valid = color.len() == 7
            && color.starts_with('#')
            && color.bytes().skip(1).all(|b| b.is_ascii_hexdigit());
        ChartStyle {
            color: if valid {
                color.to_owned()
            } else {
                super::view::DEFAULT_PRIMARY.to_owned()
            },
            currency,
            width: 760.0,
            height: 260.0,
        }
    }
}

/// Escape text for XML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 forbids.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Shorten to `max` characters, ending with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Round axis ticks: (min, max, step) covering `lo..=hi` with about 4 steps.
pub fn nice_ticks(lo: f64, hi: f64) -> (f64, f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (0.0, 0.0)
    };
    let span = hi - lo;
    if span <= 0.0 {
        return (0.0, 1.0, 0.25);
    }
    let raw = span / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let step = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    } * mag;
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// A compact money tick: `$1k`, `$750`, `-$2.5M`, `$0.25`.
pub fn tick_label(currency: Currency, v: f64) -> String {
    let sym = currency.symbol();
    let (sign, a) = if v < 0.0 { ("-", -v) } else { ("", v) };
    let num = if a >= 1e9 {
        format!("{}B", trim(a / 1e9))
    } else if a >= 1e6 {
        format!("{}M", trim(a / 1e6))
    } else if a >= 1e3 {
        format!("{}k", trim(a / 1e3))
    } else {
        trim(a)
    };
    if sym.chars().count() > 1 && sym.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{sign}{num} {sym}")
    } else {
        format!("{sign}{sym}{num}")
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

const FONT: &str = "font-family=\"Inter, Helvetica, Arial, sans-serif\"";

fn open(style: &ChartStyle, label: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{l}\" {FONT}>",
        w = style.width,
        h = style.height,
        l = escape(label)
    )
}

/// A line (or, with `area`, a filled area) chart of `values` over `labels`.
/// Non-finite values count as 0; at most 7 x labels are shown.
pub fn line_chart(labels: &[String], values: &[f64], style: &ChartStyle, area: bool) -> String {
    let values: Vec<f64> = values
        .iter()
        .map(|v| if v.is_finite() { *v } else { 0.0 })
        .collect();
    let mut s = open(style, if area { "Area chart" } else { "Line chart" });
    let (left, right, top, bottom) = (48.0, style.width - 12.0, 10.0, style.height - 24.0);
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (min, max, step) = nice_ticks(lo, hi);
    let y = |v: f64| bottom - (v - min) / (max - min) * (bottom - top);
    // Gridlines and y ticks.
    let mut t = min;
    let mut guard = 0;
    while t <= max + step / 2.0 && guard < 20 {
        let yy = y(t);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{right}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"{c}\" stroke-width=\"1\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"#6B7280\" text-anchor=\"end\">{l}</text>",
            c = if t.abs() < step / 1e6 { "#9CA3AF" } else { "#E5E7EB" },
            tx = left - 6.0,
            ty = yy + 3.5,
            l = escape(&tick_label(style.currency, t)),
        );
        t += step;
        guard += 1;
    }
    if values.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{y}\" font-size=\"13\" fill=\"#6B7280\" text-anchor=\"middle\">No data</text></svg>",
            x = (left + right) / 2.0,
            y = (top + bottom) / 2.0
        );
        return s;
    }
    let n = values.len();
    let x = |i: usize| {
        if n == 1 {
            (left + right) / 2.0
        } else {
            left + (right - left) * i as f64 / (n - 1) as f64
        }
    };
    let pts: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (x(i), y(*v)))
        .collect();
    let mut path = String::new();
    for (i, (px, py)) in pts.iter().enumerate() {
        let _ = write!(path, "{}{px:.1},{py:.1} ", if i == 0 { "M" } else { "L" });
    }
    if area && n > 1 {
        let base = y(0.0_f64.clamp(min, max));
        let _ = write!(
            s,
            "<path d=\"{path}L{:.1},{base:.1} L{:.1},{base:.1} Z\" fill=\"{c}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
            x(n - 1),
            x(0),
            c = style.color
        );
    }
    if n > 1 {
        let _ = write!(
            s,
            "<path d=\"{path}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
            c = style.color
        );
    }
    if n <= 62 {
        for (px, py) in &pts {
            let _ = write!(
                s,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"#FFFFFF\" stroke=\"{c}\" stroke-width=\"1.2\"/>",
                c = style.color
            );
        }
    }
    // X labels: about 7, always the first and last.
    let every = n.div_ceil(7).max(1);
    for i in 0..n {
        if i % every == 0 || i == n - 1 {
            if i != n - 1 && i + every > n - 1 && n > 2 && (n - 1 - i) < every / 2 + 1 {
                continue;
            }
            let label = labels.get(i).map(String::as_str).unwrap_or("");
            let anchor = if n > 1 && i == n - 1 {
                "end"
            } else if i == 0 && n > 1 {
                "start"
            } else {
                "middle"
            };
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" fill=\"#6B7280\" text-anchor=\"{anchor}\">{}</text>",
                x(i),
                bottom + 15.0,
                escape(&truncate(label, 14))
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars: `(label, value, formatted value)`. Negative values draw
/// as empty bars (their formatted value is still shown).
pub fn bar_chart(items: &[(String, f64, String)], style: &ChartStyle) -> String {
    let row = 26.0;
    let height = (items.len().max(1) as f64) * row + 8.0;
    let style = ChartStyle {
        height,
        ..style.clone()
    };
    let mut s = open(&style, "Bar chart");
    if items.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"20\" font-size=\"13\" fill=\"#6B7280\" text-anchor=\"middle\">No data</text></svg>",
            style.width / 2.0
        );
        return s;
    }
    let max = items
        .iter()
        .map(|i| if i.1.is_finite() { i.1 } else { 0.0 })
        .fold(0.0_f64, f64::max);
    let (lx, bx, bw) = (150.0, 160.0, style.width - 160.0 - 110.0);
    for (k, (label, v, shown)) in items.iter().enumerate() {
        let y = 4.0 + k as f64 * row;
        let ratio = if max > 0.0 && v.is_finite() {
            (v / max).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty:.1}\" font-size=\"12\" fill=\"#111827\" text-anchor=\"end\">{l}</text><rect x=\"{bx}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"18\" rx=\"4\" fill=\"#F3F4F6\"/><rect x=\"{bx}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"18\" rx=\"4\" fill=\"{c}\"/><text x=\"{vx}\" y=\"{ty:.1}\" font-size=\"12\" fill=\"#111827\" text-anchor=\"end\">{val}</text>",
            ty = y + 13.0,
            l = escape(&truncate(label, 22)),
            w = bw * ratio,
            c = style.color,
            vx = style.width - 4.0,
            val = escape(shown),
        );
    }
    s.push_str("</svg>");
    s
}

/// Shades of the main colour for pie slices, darkest first (readable in
/// greyscale because lightness differs).
fn shades(color: &str, n: usize) -> Vec<String> {
    let hex =
        |i: usize| u8::from_str_radix(color.get(i..i + 2).unwrap_or("4F"), 16).unwrap_or(0x4F);
    let (r, g, b) = (hex(1), hex(3), hex(5));
    (0..n)
        .map(|i| {
            let t = if n <= 1 {
                0.0
            } else {
                i as f64 / n as f64 * 0.8
            };
            let mix = |c: u8| (f64::from(c) + (255.0 - f64::from(c)) * t).round() as u8;
            format!("#{:02X}{:02X}{:02X}", mix(r), mix(g), mix(b))
        })
        .collect()
}

/// One entry of a pie chart's legend.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    /// The slice's colour, `#RRGGBB`.
    pub color: String,
    /// The label, as given (not truncated or escaped).
    pub label: String,
    /// Share of the total in percent (0 when the total is 0).
    pub percent: f64,
}

/// A pie chart of `(label, value)` with a legend. Values that are negative or
/// not finite count as 0; all-zero data draws an empty ring and "No data".
pub fn pie_chart(items: &[(String, f64)], style: &ChartStyle) -> String {
    pie(items, style, true).0
}

/// The slices of [`pie_chart`] alone, in a square SVG, and the legend as
/// data, for a renderer that sets the legend as text of its own (the PDF,
/// where text inside an SVG image becomes outlines that cannot be searched
/// or copied). At most 12 legend entries, as in [`pie_chart`].
pub fn pie_chart_parts(items: &[(String, f64)], style: &ChartStyle) -> (String, Vec<LegendEntry>) {
    let square = ChartStyle {
        width: style.height,
        ..style.clone()
    };
    pie(items, &square, false)
}

fn pie(items: &[(String, f64)], style: &ChartStyle, legend: bool) -> (String, Vec<LegendEntry>) {
    let mut s = open(style, "Pie chart");
    let (cx, cy) = (style.height / 2.0, style.height / 2.0);
    let r = style.height / 2.0 - 10.0;
    let vals: Vec<f64> = items
        .iter()
        .map(|i| {
            if i.1.is_finite() && i.1 > 0.0 {
                i.1
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = vals.iter().sum();
    let colors = shades(&style.color, items.len().min(12));
    let entries: Vec<LegendEntry> = items
        .iter()
        .enumerate()
        .take(12)
        .map(|(k, (label, _))| LegendEntry {
            color: colors.get(k).cloned().unwrap_or_default(),
            label: label.clone(),
            percent: if total > 0.0 {
                vals.get(k).copied().unwrap_or(0.0) / total * 100.0
            } else {
                0.0
            },
        })
        .collect();
    if total <= 0.0 {
        let _ = write!(
            s,
            "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"none\" stroke=\"#E5E7EB\" stroke-width=\"2\"/><text x=\"{cx}\" y=\"{cy}\" font-size=\"13\" fill=\"#6B7280\" text-anchor=\"middle\">No data</text></svg>"
        );
        return (s, Vec::new());
    }
    let mut angle = -std::f64::consts::FRAC_PI_2;
    for (k, v) in vals.iter().enumerate() {
        if *v <= 0.0 {
            continue;
        }
        let color = colors.get(k.min(11)).cloned().unwrap_or_default();
        let frac = v / total;
        if frac >= 0.9999 {
            let _ = write!(
                s,
                "<circle cx=\"{cx}\" cy=\"{cy}\" r=\"{r}\" fill=\"{color}\"/>"
            );
            break;
        }
        let a2 = angle + frac * std::f64::consts::TAU;
        let (x1, y1) = (cx + r * angle.cos(), cy + r * angle.sin());
        let (x2, y2) = (cx + r * a2.cos(), cy + r * a2.sin());
        let large = if frac > 0.5 { 1 } else { 0 };
        let _ = write!(
            s,
            "<path d=\"M{cx:.1},{cy:.1} L{x1:.2},{y1:.2} A{r:.1},{r:.1} 0 {large} 1 {x2:.2},{y2:.2} Z\" fill=\"{color}\" stroke=\"#FFFFFF\" stroke-width=\"1.5\"/>"
        );
        angle = a2;
    }
    if legend {
        let lx = style.height + 20.0;
        for (k, e) in entries.iter().enumerate() {
            let y = 20.0 + k as f64 * 19.0;
            let _ = write!(
                s,
                "<rect x=\"{lx}\" y=\"{ry:.1}\" width=\"11\" height=\"11\" rx=\"2\" fill=\"{color}\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"11\" fill=\"#111827\">{l} ({pct:.1}%)</text>",
                ry = y - 9.5,
                tx = lx + 17.0,
                ty = y,
                color = e.color,
                l = escape(&truncate(&e.label, 40)),
                pct = e.percent,
            );
        }
    }
    s.push_str("</svg>");
    (s, entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn style() -> ChartStyle {
        ChartStyle::new("#4F46E5", Currency::USD)
    }

    #[test]
    fn empty_series_say_no_data() {
        for svg in [
            line_chart(&[], &[], &style(), true),
            bar_chart(&[], &style()),
            pie_chart(&[], &style()),
        ] {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.ends_with("</svg>"));
            assert!(svg.contains("No data"));
        }
    }

    #[test]
    fn single_point_and_negatives_are_drawn() {
        let one = line_chart(&["Mar 1".into()], &[5.0], &style(), true);
        assert_eq!(one.matches("<circle").count(), 1);
        let neg = line_chart(&["a".into(), "b".into()], &[-50.0, 100.0], &style(), false);
        assert!(neg.contains(">-$50<"), "{neg}");
        assert!(!neg.contains("NaN"));
        let nan = line_chart(&["a".into()], &[f64::NAN], &style(), false);
        assert!(!nan.contains("NaN"));
    }

    #[test]
    fn labels_are_escaped_and_shortened() {
        let hostile = format!("<script>alert('x')</script>&{}", "A".repeat(10_000));
        let svg = bar_chart(&[(hostile.clone(), 1.0, "$1.00".into())], &style());
        assert!(!svg.contains("<script"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.len() < 2_000);
        let pie = pie_chart(&[(hostile, 1.0), ("b\u{0}".into(), -1.0)], &style());
        assert!(!pie.contains("<script"));
        assert!(!pie.contains('\u{0}'));
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(nice_ticks(0.0, 742.0), (0.0, 800.0, 200.0));
        assert_eq!(nice_ticks(0.0, 0.0), (0.0, 1.0, 0.25));
        assert_eq!(nice_ticks(-50.0, 100.0), (-50.0, 100.0, 50.0));
        assert_eq!(tick_label(Currency::USD, 1000.0), "$1k");
        assert_eq!(tick_label(Currency::USD, 750.0), "$750");
        assert_eq!(tick_label(Currency::USD, -2_500_000.0), "-$2.5M");
    }
}

/// One day of a [`baseline_chart`].
#[derive(Clone, Debug)]
pub struct BaselineDay {
    /// X label.
    pub label: String,
    /// Cost.
    pub value: f64,
    /// Whether the day is part of the baseline (drawn in the main colour;
    /// others grey); the last day is the one judged (drawn red).
    pub in_baseline: bool,
}

/// A column chart of an anomaly's days: the baseline days, the expected
/// cost as a dashed line with the band `expected ± spread` shaded, and the
/// judged (last) day in red. Non-finite values count as 0.
pub fn baseline_chart(
    days: &[BaselineDay],
    expected: f64,
    spread: f64,
    style: &ChartStyle,
) -> String {
    let fin = |v: f64| if v.is_finite() { v } else { 0.0 };
    let (expected, spread) = (fin(expected), fin(spread).abs());
    let mut s = open(style, "Daily cost against its baseline");
    let (left, right, top, bottom) = (48.0, style.width - 8.0, 8.0, style.height - 20.0);
    let lo = days
        .iter()
        .map(|d| fin(d.value))
        .fold((expected - spread).min(0.0), f64::min);
    let hi = days
        .iter()
        .map(|d| fin(d.value))
        .fold(expected + spread, f64::max);
    let (min, max, step) = nice_ticks(lo, hi);
    let y = |v: f64| bottom - (v - min) / (max - min) * (bottom - top);
    let mut t = min;
    let mut guard = 0;
    while t <= max + step / 2.0 && guard < 12 {
        let yy = y(t);
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{right}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#E5E7EB\" stroke-width=\"1\"/><text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"10\" fill=\"#6B7280\" text-anchor=\"end\">{l}</text>",
            tx = left - 6.0,
            ty = yy + 3.5,
            l = escape(&tick_label(style.currency, t)),
        );
        t += step;
        guard += 1;
    }
    // The band and the expected line.
    let (b_top, b_bottom) = (y(expected + spread), y((expected - spread).max(min)));
    let _ = write!(
        s,
        "<rect x=\"{left}\" y=\"{b_top:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{c}\" fill-opacity=\"0.08\"/><line x1=\"{left}\" x2=\"{right}\" y1=\"{e:.1}\" y2=\"{e:.1}\" stroke=\"{c}\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"/>",
        w = right - left,
        h = (b_bottom - b_top).max(0.0),
        e = y(expected),
        c = style.color
    );
    let n = days.len().max(1);
    let slot = (right - left) / n as f64;
    let bar = (slot * 0.7).max(1.0);
    for (i, d) in days.iter().enumerate() {
        let v = fin(d.value);
        let x = left + slot * i as f64 + (slot - bar) / 2.0;
        let (y0, y1) = (y(v.max(0.0)), y(v.min(0.0)));
        let color = if i + 1 == days.len() {
            "#DC2626"
        } else if d.in_baseline {
            style.color.as_str()
        } else {
            "#9CA3AF"
        };
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{y0:.1}\" width=\"{bar:.1}\" height=\"{h:.1}\" rx=\"1.5\" fill=\"{color}\"{op}/>",
            h = (y1 - y0).max(0.5),
            op = if i + 1 == days.len() { "" } else { " fill-opacity=\"0.55\"" },
        );
    }
    for (i, d) in days.iter().enumerate() {
        if i == 0 || i + 1 == days.len() {
            let _ = write!(
                s,
                "<text x=\"{x:.1}\" y=\"{ty}\" font-size=\"10\" fill=\"#6B7280\" text-anchor=\"{a}\">{l}</text>",
                x = left + slot * (i as f64 + 0.5),
                ty = bottom + 14.0,
                a = if i == 0 && days.len() > 1 { "start" } else { "end" },
                l = escape(&truncate(&d.label, 14)),
            );
        }
    }
    s.push_str("</svg>");
    s
}
