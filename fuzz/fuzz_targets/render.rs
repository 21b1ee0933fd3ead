//! Arbitrary report documents through every renderer: none may panic.
//!
//! The input is either a whole `ReportDocument` as JSON, or bytes that
//! reshape the sample document: they become labels, titles, branding texts,
//! amounts (including negative and huge ones), colours, section lists and
//! chart types.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use tokentra_reports::model::*;
use tokentra_reports::ports::Renderer;
use tokentra_reports::render::sample::sample_document_with;
use tokentra_reports::render::{CsvRenderer, JsonRenderer};

const SECTIONS: [ReportSection; 8] = [
    ReportSection::Summary,
    ReportSection::Trend,
    ReportSection::Breakdown,
    ReportSection::Anomalies,
    ReportSection::Recommendations,
    ReportSection::Forecast,
    ReportSection::TopCosts,
    ReportSection::Efficiency,
];
const CHARTS: [ChartType; 4] = [
    ChartType::Line,
    ChartType::Bar,
    ChartType::Pie,
    ChartType::Area,
];

const KINDS: [ReportType; 8] = [
    ReportType::Executive,
    ReportType::Team,
    ReportType::Project,
    ReportType::Chargeback,
    ReportType::Anomaly,
    ReportType::Forecast,
    ReportType::Custom,
    ReportType::Digest,
];

fn shape(data: &[u8]) -> ReportDocument {
    let first = data.first().copied().unwrap_or(0);
    // Every reader's layout: the kind decides which parts are drawn.
    let mut doc = sample_document_with(
        KINDS[usize::from(first) % KINDS.len()],
        4,
        u64::from(first),
    );
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    doc.title = next();
    doc.branding.company_name = Some(next());
    doc.branding.header_text = Some(next());
    doc.branding.footer_text = Some(next());
    doc.branding.primary_color = Some(next());
    let mut amounts = data.chunks(12).map(|c| {
        let mut b = [0u8; 12];
        b[..c.len()].copy_from_slice(c);
        let lo = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let mid = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
        let hi = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        Decimal::from_parts(lo, mid, hi & 0xFF, b[0] & 1 == 1, u32::from(b[1] % 29))
    });
    for b in &mut doc.breakdowns {
        for item in &mut b.items {
            item.label = next();
            if let Some(a) = amounts.next() {
                item.cost = a;
            }
        }
    }
    if let Some(t) = &mut doc.trend {
        let keep = data.len() % (t.points.len() + 1);
        t.points.truncate(keep);
        for p in &mut t.points {
            if let Some(a) = amounts.next() {
                p.cost = a;
            }
        }
    }
    for a in &mut doc.anomalies {
        a.value = next();
        for d in &mut a.history {
            if let Some(v) = amounts.next() {
                d.cost = v;
            }
        }
        if let (Some(e), Some(v)) = (&mut a.explanation, amounts.next()) {
            e.price = v;
            e.top_model = Some(ModelChange {
                model: next(),
                change: v,
            });
        }
    }
    for g in &mut doc.groups {
        g.label = next();
        for b in &mut g.breakdowns {
            for item in &mut b.items {
                item.label = next();
            }
        }
        if let Some(t) = &mut g.trend {
            for p in &mut t.points {
                if let Some(v) = amounts.next() {
                    p.cost = v;
                }
            }
        }
    }
    if let Some(st) = &mut doc.statement {
        st.configuration = next();
        st.tag_key = Some(next());
        st.rejection_reason = Some(next());
        for r in &mut st.rules {
            r.source = next();
            r.target = Some(next());
            for t in r.split.iter_mut().flatten() {
                t.target = next();
                if let Some(v) = amounts.next() {
                    t.weight = v;
                }
            }
        }
    }
    if let Some(a) = &mut doc.chargeback {
        let keys: Vec<String> = a.allocations.keys().cloned().collect();
        for k in keys {
            if let Some(mut v) = a.allocations.remove(&k) {
                if let Some(c) = amounts.next() {
                    v.total_cost = c;
                }
                a.allocations.insert(next(), v);
            }
        }
    }
    if let Some(f) = &mut doc.forecast {
        for h in &mut f.outlook {
            if let Some(v) = amounts.next() {
                h.lower_bound = v;
            }
        }
    }
    doc.dimension_labels.insert("model".into(), next());
    for r in &mut doc.recommendations {
        r.title = next();
        r.message = next();
    }
    doc.sections = data
        .iter()
        .skip(1)
        .take(12)
        .map(|b| SECTIONS[usize::from(*b) % SECTIONS.len()])
        .collect();
    doc.chart_types = data
        .iter()
        .rev()
        .take(3)
        .map(|b| CHARTS[usize::from(*b) % CHARTS.len()])
        .collect();
    doc.include_charts = data.len() % 3 != 0;
    doc
}

fuzz_target!(|data: &[u8]| {
    let doc = match serde_json::from_slice::<ReportDocument>(data) {
        Ok(doc) => doc,
        Err(_) => shape(data),
    };
    let mut renderers: Vec<Box<dyn Renderer>> = vec![
        Box::new(JsonRenderer),
        Box::new(CsvRenderer::new()),
        Box::new(CsvRenderer::detail().with_bom(true)),
        Box::new(tokentra_reports::render::HtmlRenderer::new()),
        Box::new(tokentra_reports::render::XlsxRenderer),
    ];
    // PDF is slow; render it for a share of the inputs.
    if data.len() % 4 == 0 {
        renderers.push(Box::new(tokentra_reports::render::PdfRenderer::new()));
    }
    for r in &renderers {
        let _ = r.render(&doc);
    }
    let t = tokentra_reports::render::html::Templates::new();
    let _ = tokentra_reports::render::email::render_report_email(&t, &doc, Some("https://x.test"));
    let _ = tokentra_reports::render::email::render_digest_email(&t, &doc, None);
});
