//! Every renderer on the fixed sample document: content, numbers read back,
//! hostile strings rendered inert, determinism.

use std::process::Command;

use rust_decimal::Decimal;
use tokentra_reports::model::*;
use tokentra_reports::ports::Renderer;
use tokentra_reports::render::sample::{sample_document, sample_document_with};
use tokentra_reports::render::{CsvRenderer, JsonRenderer};

/// Strings that try to break out of every format.
fn hostile_names() -> Vec<String> {
    vec![
        "<script>alert('x')</script>".into(),
        "#set page(width: 1cm) $x^2$ *bold* ] [ \\ @ref <lbl> // comment".into(),
        "=HYPERLINK(\"http://evil\",\"x\")".into(),
        "+1+cmd|' /C calc'!A0".into(),
        "-2+3".into(),
        "@SUM(A1)".into(),
        "\tTabbed".into(),
        "\rCarriage".into(),
        "שלום עולם مرحبا".into(),
        "🚀 Rocket team 👩‍💻".into(),
        "A".repeat(10_000),
        "quote\"comma,new\nline".into(),
        "{{ r.title }}{% raw %}".into(),
    ]
}

fn hostile_document() -> ReportDocument {
    let mut doc = sample_document();
    let names = hostile_names();
    doc.title = "<b>Report</b> #set text(red) $5 ]".into();
    doc.organization_name = Some("=ORG()".into());
    doc.branding.company_name = Some("<img src=x onerror=alert(1)>".into());
    doc.branding.header_text = Some("#pagebreak() <hr>".into());
    doc.branding.footer_text = Some("]) #panic() *".into());
    doc.branding.primary_color = Some("red; background: url(evil)".into());
    for b in &mut doc.breakdowns {
        for (i, item) in b.items.iter_mut().enumerate() {
            let n = &names[i % names.len()];
            item.label = n.clone();
            item.value = Some(n.clone());
        }
    }
    for (i, a) in doc.anomalies.iter_mut().enumerate() {
        a.value = names[i % names.len()].clone();
    }
    for (i, r) in doc.recommendations.iter_mut().enumerate() {
        r.title = names[(i + 3) % names.len()].clone();
        r.message = names[(i + 4) % names.len()].clone();
    }
    for (i, e) in doc.efficiency.iter_mut().enumerate() {
        e.model = names[i % names.len()].clone();
    }
    for (i, b) in doc.detail.iter_mut().enumerate() {
        b.keys[0] = Some(names[i % names.len()].clone());
    }
    doc
}

// ------------------------------------------------------------------ JSON

#[test]
fn json_has_schema_version_exact_decimal_numbers_and_iso_dates() {
    let doc = sample_document();
    let out = JsonRenderer.render(&doc).unwrap();
    assert_eq!(out.artifact.media_type, "application/json");
    assert_eq!(
        out.artifact.file_name,
        "ai-usage-cost-report-2026-03-01-2026-03-31.json"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.artifact.bytes).unwrap();
    assert_eq!(v["schemaVersion"], serde_json::json!(REPORT_SCHEMA_VERSION));
    // Decimals are JSON numbers carrying the exact decimal text.
    let total = doc.summary.as_ref().unwrap().total_cost;
    assert_eq!(v["summary"]["totalCost"].to_string(), total.to_string());
    assert!(v["summary"]["totalCost"].is_number());
    assert_eq!(v["breakdowns"][0]["items"][0]["label"], "OpenAI");
    assert_eq!(v["generatedAt"], "2026-04-01T06:00:00Z");
    assert_eq!(v["dateRange"]["start"], "2026-03-01");
    assert_eq!(
        v["trend"]["points"][0]["periodStart"],
        "2026-03-01T00:00:00"
    );
    // And it reads back to the same document.
    let back: ReportDocument = serde_json::from_slice(&out.artifact.bytes).unwrap();
    assert_eq!(back, doc);
}

#[test]
fn json_keeps_hostile_strings_verbatim() {
    let doc = hostile_document();
    let out = JsonRenderer.render(&doc).unwrap();
    let back: ReportDocument = serde_json::from_slice(&out.artifact.bytes).unwrap();
    assert_eq!(back.breakdowns[0].items[0].label, hostile_names()[0]);
    assert_eq!(back, doc);
}

// ------------------------------------------------------------------ CSV

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn csv_sections_have_plain_decimals_and_the_currency_column() {
    let doc = sample_document();
    let bytes = CsvRenderer::new().render_bytes(&doc).unwrap();
    let rows = read_csv(&bytes);
    assert_eq!(rows[0], ["Section", "Metric", "Value", "Currency"]);
    let total = doc.summary.as_ref().unwrap().total_cost;
    assert_eq!(
        rows[1],
        ["Summary", "Total cost", &total.to_string(), "USD"]
    );
    assert!(rows.iter().any(|r| r[0] == "Breakdown by Provider"));
    // Every provider row's cost reads back to the exact decimal.
    let provider = &doc.breakdowns[0];
    let start = rows
        .iter()
        .position(|r| r[0] == "Breakdown by Provider")
        .unwrap();
    assert_eq!(rows[start + 1][..3], ["Provider", "Cost", "Currency"]);
    for (i, item) in provider.items.iter().enumerate() {
        let row = &rows[start + 2 + i];
        assert_eq!(row[0], item.label);
        assert_eq!(row[1].parse::<Decimal>().unwrap(), item.cost);
        assert_eq!(row[2], "USD");
    }
    let text = String::from_utf8(bytes).unwrap();
    assert!(!text.contains('$'), "no formatted money in CSV");
    assert!(text.contains("\r\n\r\nBreakdown by Provider\r\n"));
}

#[test]
fn csv_detail_is_one_row_per_bucket_with_optional_bom() {
    let doc = sample_document();
    let plain = CsvRenderer::detail().render_bytes(&doc).unwrap();
    let rows = read_csv(&plain);
    assert_eq!(
        rows[0],
        [
            "period_start",
            "provider",
            "model",
            "currency",
            "cost",
            "requests",
            "input_tokens",
            "output_tokens",
            "cached_requests"
        ]
    );
    assert_eq!(rows.len(), doc.detail.len() + 1);
    let sum: Decimal = rows[1..]
        .iter()
        .map(|r| r[4].parse::<Decimal>().unwrap())
        .sum();
    assert_eq!(sum, doc.detail.iter().map(|b| b.cost).sum::<Decimal>());
    assert_eq!(rows[1][0], "2026-03-01");
    let bom = CsvRenderer::detail()
        .with_bom(true)
        .render_bytes(&doc)
        .unwrap();
    assert_eq!(&bom[..3], b"\xEF\xBB\xBF");
    assert_eq!(&bom[3..], &plain[..]);
}

#[test]
fn csv_neutralises_formulas_in_hostile_names() {
    let doc = hostile_document();
    for renderer in [CsvRenderer::new(), CsvRenderer::detail()] {
        let bytes = renderer.render_bytes(&doc).unwrap();
        for row in read_csv(&bytes) {
            for cell in row {
                let first = cell.chars().next();
                if matches!(first, Some('=' | '+' | '@' | '\t' | '\r')) {
                    panic!("formula-like cell survived: {cell:?}");
                }
                if cell.starts_with('-') {
                    // Only numbers may start with a minus.
                    assert!(cell.parse::<Decimal>().is_ok(), "{cell:?}");
                }
            }
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")"));
        assert!(text.contains("'-2+3"));
        assert!(text.contains("'@SUM(A1)"));
        assert!(text.contains("שלום עולם"));
        assert!(text.contains("🚀"));
    }
}

#[test]
fn csv_renders_only_the_listed_sections_in_order() {
    let mut doc = sample_document();
    doc.sections = vec![ReportSection::Efficiency, ReportSection::Summary];
    let rows = read_csv(&CsvRenderer::new().render_bytes(&doc).unwrap());
    assert_eq!(rows[0], ["Efficiency"]);
    let summary = rows.iter().position(|r| r[0] == "Section").unwrap();
    assert!(summary > 1);
    assert!(!rows.iter().any(|r| r[0].starts_with("Breakdown")));
}

// ------------------------------------------------------------------ HTML / e-mail

#[cfg(feature = "html")]
mod html {
    use super::*;
    use tokentra_reports::render::email::{render_digest_email, render_report_email};
    use tokentra_reports::render::html::Templates;
    use tokentra_reports::render::HtmlRenderer;

    #[test]
    fn html_page_is_self_contained_and_shows_every_figure() {
        let doc = sample_document();
        let html = HtmlRenderer::new().render_string(&doc).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<style>"));
        assert!(!html.contains("<link"), "no external stylesheet");
        assert!(!html.contains("src=\"http"), "no external resource");
        assert!(html.contains("<svg"), "inline SVG chart");
        let total = doc
            .currency
            .format(doc.summary.as_ref().unwrap().total_cost);
        assert!(html.contains(&total), "{total}");
        for b in &doc.breakdowns {
            for item in &b.items {
                assert!(html.contains(&item.label), "{}", item.label);
                assert!(html.contains(&doc.currency.format(item.cost)));
            }
        }
        assert!(html.contains("--primary: #4F46E5"));
        assert!(html.contains("Acme Analytics Inc."));
        // Balanced document structure.
        assert_eq!(
            html.matches("<table>").count(),
            html.matches("</table>").count()
        );
        assert_eq!(
            html.matches("<section>").count(),
            html.matches("</section>").count()
        );
    }

    #[test]
    fn html_inlines_the_logo() {
        let mut doc = sample_document();
        // A PNG header of 2x1 pixels (validated by content before use).
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1]);
        doc.branding.logo = Some(Logo {
            format: LogoFormat::Png,
            data: png,
        });
        let html = HtmlRenderer::new().render_string(&doc).unwrap();
        assert!(html
            .contains("<img src=\"data:image&#x2f;png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAAB\""));
        // A logo that fails its checks (stored before they existed) is left out.
        doc.branding.logo = Some(Logo {
            format: LogoFormat::Png,
            data: b"not a png".to_vec(),
        });
        let html = HtmlRenderer::new().render_string(&doc).unwrap();
        assert!(!html.contains("<img src=\"data:"));
    }

    #[test]
    fn html_escapes_hostile_strings() {
        let doc = hostile_document();
        let html = HtmlRenderer::new().render_string(&doc).unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert("));
        assert!(!html.contains("<img src=x"));
        assert!(!html.contains("<b>Report</b>"));
        assert!(!html.contains("url(evil)"), "bad colour falls back");
        assert!(html.contains("שלום עולם"));
        assert!(html.contains("🚀"));
    }

    #[test]
    fn host_templates_override_and_errors_name_the_line() {
        let t = Templates::new()
            .with_template("report.html", "<h1>{{ r.title }}</h1>")
            .unwrap();
        let html = HtmlRenderer::with_templates(t)
            .render_string(&hostile_document())
            .unwrap();
        assert_eq!(
            html,
            "<h1>&lt;b&gt;Report&lt;&#x2f;b&gt; #set text(red) $5 ]</h1>"
        );
        let err = Templates::new()
            .with_template("report.html", "ok\n{% if %}")
            .unwrap_err();
        match err {
            tokentra_reports::Error::Render { format, message } => {
                assert_eq!(format, "html");
                assert!(message.contains("line 2"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let err = Templates::new().with_template("nope.html", "").unwrap_err();
        assert!(
            matches!(err, tokentra_reports::Error::Invalid { ref field, .. } if field == "templates.nope.html")
        );
    }

    #[test]
    fn report_email_has_html_and_text_with_the_same_figures() {
        let doc = sample_document();
        let mail =
            render_report_email(&Templates::new(), &doc, Some("https://example.com/r/1")).unwrap();
        assert_eq!(mail.subject, "AI Usage & Cost Report: 1 – 31 March 2026");
        let total = doc
            .currency
            .format(doc.summary.as_ref().unwrap().total_cost);
        assert!(mail.html.contains(&total));
        assert!(mail.text.contains(&total));
        assert!(!mail.html.contains("<style"), "inline styles only");
        assert!(!mail.html.contains("<svg"));
        assert!(mail.html.contains("role=\"presentation\""));
        // minijinja escapes `/` as `&#x2f;`, which HTML decodes in attributes.
        assert!(mail
            .html
            .contains("href=\"https:&#x2f;&#x2f;example.com&#x2f;r&#x2f;1\""));
        assert!(mail
            .text
            .contains("Download the report: https://example.com/r/1"));
        assert!(mail.text.contains("Cost by provider\n----------------"));
        // Each value in the text part carries its column's name.
        let line = mail
            .text
            .lines()
            .find(|l| l.starts_with("- OpenAI: "))
            .expect("an OpenAI row");
        assert!(line.starts_with("- OpenAI: Cost $"), "{line}");
        assert!(line.contains(", Share "), "{line}");
        assert!(!mail.text.contains('<'));
        // Fluid from a phone to 600 px (with a fixed width for Outlook only).
        assert!(mail.html.contains("style=\"width:100%;max-width:600px;"));
        assert!(!mail.html.contains("style=\"width:600px"));
        assert!(mail
            .html
            .contains("<!--[if mso]><table role=\"presentation\" width=\"600\""));
        // A title that names its period does not get it twice.
        let mut named = doc.clone();
        named.title = "Executive Summary March 2026".into();
        let mail = render_report_email(&Templates::new(), &named, None).unwrap();
        assert_eq!(mail.subject, "Executive Summary March 2026");
        // Non-http links are not linked.
        let mail =
            render_report_email(&Templates::new(), &doc, Some("javascript:alert(1)")).unwrap();
        assert!(!mail.html.contains("javascript:"));
    }

    #[test]
    fn digest_email_and_hostile_strings() {
        let mut doc = hostile_document();
        doc.report_type = ReportType::Digest;
        let mail = render_digest_email(&Templates::new(), &doc, None).unwrap();
        assert!(mail
            .subject
            .starts_with("AI spend digest, 1 – 31 March 2026: $"));
        // Three anomalies on three days of the sample.
        assert!(
            mail.html.contains("Unusual spending on 3 days."),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<script>alert"));
        assert!(!mail.html.contains("<img src=x"));
        assert!(
            mail.text.contains("<script>alert('x')</script>"),
            "text part is plain text"
        );
        assert!(!mail.subject.contains('\n'));
    }
}

// ------------------------------------------------------------------ PDF

/// Cloud billing (the FinOps FOCUS sample) counts no requests or tokens and
/// here has no previous period: those figures and columns are left out
/// instead of shown as zeros, "new" or "Prev. period $0.00".
#[cfg(feature = "html")]
#[tokio::test]
async fn figures_the_data_does_not_have_are_left_out() {
    use std::sync::Arc;
    use tokentra_reports::backends::file::demo;
    use tokentra_reports::backends::memory::{ManualClock, MemoryCostSource, MemoryStore};
    use tokentra_reports::engine::Engine;
    use tokentra_reports::ports::GeneratedReportStore;
    let org = OrganizationId::new();
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(
            org,
            demo::focus_sample_rows().unwrap(),
        )))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(ManualClock::new(
            chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2024, 10, 1, 8, 0, 0).unwrap(),
        )))
        .build()
        .unwrap();
    let mut texts = Vec::new();
    for format in [ReportFormat::Html, ReportFormat::Csv] {
        let r = engine
            .generate(
                org,
                GenerateReportRequest {
                    report_type: Some(ReportType::Team),
                    date_preset: Some(DateRangePreset::LastMonth),
                    format,
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
        assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error);
        let art = store.get_artifact(org, r.report_id).await.unwrap();
        texts.push(String::from_utf8(art.bytes).unwrap());
    }
    let html = &texts[0];
    assert!(html.contains("$20.52"), "the total is there");
    for absent in ["Requests", "Tokens", "Prev. period", ">new<", "/ request"] {
        assert!(!html.contains(absent), "{absent} shown");
    }
    // The CSV summary has the same figures as the cards.
    let csv = &texts[1];
    let second = csv.lines().nth(1).unwrap_or_default();
    assert!(second.starts_with("Summary,Total cost,20.52"), "{second}");
    assert!(!csv.contains("Summary,Requests"));
    assert!(!csv.contains("Summary,Tokens"));
}

#[cfg(feature = "pdf")]
mod pdf {
    use super::*;
    use tokentra_reports::render::{PaperSize, PdfRenderer};

    fn tool(name: &str) -> bool {
        let ok = Command::new(name).arg("-v").output().is_ok()
            || Command::new(name).arg("--version").output().is_ok();
        if !ok {
            eprintln!(
                "WARNING: {name} is not installed; install poppler-utils and qpdf (.ci/run does)"
            );
        }
        ok
    }

    fn write_tmp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tokentra-render-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn pdftotext(path: &std::path::Path) -> String {
        let out = Command::new("pdftotext")
            .args(["-layout"])
            .arg(path)
            .arg("-")
            .output()
            .expect("pdftotext");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pdfinfo_pages(path: &std::path::Path) -> u32 {
        let out = Command::new("pdfinfo").arg(path).output().expect("pdfinfo");
        let s = String::from_utf8_lossy(&out.stdout);
        s.lines()
            .find_map(|l| l.strip_prefix("Pages:"))
            .map(|v| v.trim().parse().unwrap())
            .unwrap()
    }

    #[test]
    fn pdf_contains_totals_and_labels_and_is_valid() {
        let doc = sample_document();
        let out = PdfRenderer::new().render(&doc).unwrap();
        let bytes = &out.artifact.bytes;
        assert!(bytes.starts_with(b"%PDF-"));
        assert_eq!(out.artifact.media_type, "application/pdf");
        let pages = out.page_count.unwrap();
        assert!(pages >= 3, "{pages}");
        if !(tool("pdftotext") && tool("qpdf")) {
            panic!("pdftotext and qpdf are required for this test");
        }
        let path = write_tmp("sample.pdf", bytes);
        let text = pdftotext(&path);
        let total = doc
            .currency
            .format(doc.summary.as_ref().unwrap().total_cost);
        assert!(text.contains(&total), "total {total} missing");
        for b in &doc.breakdowns {
            for item in &b.items {
                assert!(text.contains(&item.label), "label {} missing", item.label);
                assert!(text.contains(&doc.currency.format(item.cost)));
            }
        }
        assert!(text.contains("Page 1 of"));
        assert!(text.contains(&format!("Page {pages} of {pages}")));
        assert!(text.contains("Acme Analytics Inc. · AI Usage & Cost Report · 1 – 31 March 2026"));
        assert!(text.contains("AI Usage & Cost Report"));
        assert!(text.contains("Cost by provider"));
        let check = Command::new("qpdf")
            .arg("--check")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "qpdf --check: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        assert_eq!(pdfinfo_pages(&path), pages);
    }

    #[test]
    fn pdf_pie_legend_is_text() {
        let mut doc = sample_document();
        doc.chart_types = vec![ChartType::Pie];
        let out = PdfRenderer::new().render(&doc).unwrap();
        let path = write_tmp("pie.pdf", &out.artifact.bytes);
        let text = pdftotext(&path);
        let b = &doc.breakdowns[0];
        assert!(b.items.len() >= 2);
        for item in b.items.iter().take(12) {
            // Label, amount and share on one legend line.
            let line = text
                .lines()
                .find(|l| l.contains(&item.label) && l.contains(&format!("{:.1}%", item.share)))
                .unwrap_or_else(|| panic!("legend line for {} missing in\n{text}", item.label));
            assert!(line.contains(&doc.currency.format(item.cost)), "{line}");
        }
        assert_eq!(pdfinfo_pages(&path), out.page_count.unwrap());
    }

    #[test]
    fn pdf_is_deterministic_and_letter_is_configurable() {
        let doc = sample_document();
        let r = PdfRenderer::new();
        let a = r.render(&doc).unwrap().artifact.bytes;
        let b = r.render(&doc).unwrap().artifact.bytes;
        assert!(a == b, "same input, same bytes");
        let letter = PdfRenderer::new()
            .paper(PaperSize::UsLetter)
            .render(&doc)
            .unwrap();
        let path = write_tmp("letter.pdf", &letter.artifact.bytes);
        let info = Command::new("pdfinfo").arg(&path).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("612 x 792 pts"), "{info}");
        let path = write_tmp("a4.pdf", &a);
        let info = Command::new("pdfinfo").arg(&path).output().unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("595.276 x 841.89 pts"), "{info}");
        assert!(info.contains("CreationDate:"), "{info}");
    }

    #[test]
    fn pdf_renders_hostile_strings_literally() {
        let doc = hostile_document();
        let out = PdfRenderer::new().render(&doc).unwrap();
        let path = write_tmp("hostile.pdf", &out.artifact.bytes);
        let text = pdftotext(&path);
        assert!(text.contains("<script>alert('x')</script>"), "{text}");
        assert!(text.contains("#set page(width: 1cm) $x^2$ *bold*"));
        assert!(text.contains("Report</b> #set text(red) $5 ]"));
        assert_eq!(pdfinfo_pages(&path), out.page_count.unwrap());
    }

    #[test]
    fn pdf_template_errors_carry_the_line() {
        let r = PdfRenderer::new().with_template("#let d = cbor(\"/data.cbor\")\n\n#nope(d)\n");
        match r.render(&sample_document()).unwrap_err() {
            tokentra_reports::Error::Render { format, message } => {
                assert_eq!(format, "pdf");
                assert!(message.contains("line 3"), "{message}");
                assert!(message.contains("unknown variable: nope"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pdf_with_empty_data_and_no_sections_still_renders() {
        let mut doc = sample_document();
        doc.trend = None;
        doc.breakdowns.clear();
        doc.anomalies.clear();
        doc.top_costs.clear();
        doc.efficiency.clear();
        doc.recommendations.clear();
        doc.forecast = None;
        doc.summary = None;
        let out = PdfRenderer::new().render(&doc).unwrap();
        assert_eq!(out.page_count, Some(1));
        doc.sections.clear();
        let out = PdfRenderer::new().render(&doc).unwrap();
        assert_eq!(out.page_count, Some(1));
    }

    #[test]
    fn pdf_embeds_a_logo_and_leaves_out_a_broken_one() {
        let mut doc = sample_document();
        doc.branding.logo = Some(Logo {
            format: LogoFormat::Svg,
            data: br##"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><rect width="60" height="20" rx="4" fill="#FFFFFF"/></svg>"##.to_vec(),
        });
        let out = PdfRenderer::new().render(&doc).unwrap();
        let pages = out.page_count;
        assert!(pages >= Some(3), "{pages:?}");
        let with_logo = out.artifact.bytes.len();
        // A logo that fails its content checks (stored before they existed,
        // or a pixel bomb) is left out: the report still renders.
        doc.branding.logo = Some(Logo {
            format: LogoFormat::Png,
            data: b"not a png".to_vec(),
        });
        let out = PdfRenderer::new().render(&doc).unwrap();
        assert_eq!(out.page_count, pages);
        assert_ne!(out.artifact.bytes.len(), with_logo);
    }

    /// Names in Hebrew and Arabic, a 300-character name and a 200-row
    /// table: glyphs from a font that has them (no empty boxes), long
    /// names shortened, the table across pages with its header on each.
    #[test]
    fn pdf_sets_right_to_left_and_long_names_and_paginates_long_tables() {
        if !tool("pdftotext") || !tool("pdffonts") {
            return;
        }
        let mut doc = sample_document_with(ReportType::Custom, 200, 3);
        doc.sections = vec![ReportSection::Summary, ReportSection::Breakdown];
        let hebrew = "צוות החיפוש";
        let arabic = "فريق البحث";
        let long = "platform-".repeat(34);
        let b = &mut doc.breakdowns[0];
        b.items[0].label = hebrew.into();
        b.items[1].label = arabic.into();
        b.items[2].label = long.clone();
        let rows = doc.breakdowns.iter().map(|b| b.items.len()).max().unwrap();
        assert!(rows >= 200, "{rows} rows");
        let out = PdfRenderer::new().render(&doc).unwrap();
        let path = write_tmp("rtl.pdf", &out.artifact.bytes);
        let fonts = Command::new("pdffonts").arg(&path).output().unwrap();
        let fonts = String::from_utf8_lossy(&fonts.stdout);
        assert!(fonts.contains("NotoSansHebrew"), "{fonts}");
        assert!(fonts.contains("NotoSansArabic"), "{fonts}");
        let text = pdftotext(&path);
        // pdftotext writes right-to-left runs in display order: compare the
        // letters, not their order.
        for name in [hebrew, arabic] {
            for word in name.split(' ') {
                let mut letters: Vec<char> = word.chars().collect();
                letters.sort_unstable();
                let found = text.split_whitespace().any(|w| {
                    // (Without the embedding marks pdftotext adds.)
                    let mut l: Vec<char> = w
                        .chars()
                        .filter(|c| !('\u{202a}'..='\u{202e}').contains(c))
                        .collect();
                    l.sort_unstable();
                    l == letters
                });
                assert!(found, "{word} missing");
            }
        }
        // The long name is shortened with an ellipsis, not spread over lines.
        assert!(!text.contains(&long));
        assert!(text.contains("platform-platform-"));
        assert!(text.contains('…'));
        // Every page of the table repeats its header.
        let pages: Vec<&str> = text
            .split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .collect();
        assert!(pages.len() >= 4, "{} pages", pages.len());
        let table_pages = pages.iter().filter(|p| p.contains("$")).count();
        let with_header = pages
            .iter()
            .filter(|p| p.lines().any(|l| l.contains("Cost") && l.contains("Share")))
            .count();
        assert!(
            with_header >= table_pages - 1,
            "{with_header} of {table_pages}"
        );
    }

    #[test]
    fn pdf_a_2b_is_available() {
        let out = PdfRenderer::new()
            .pdf_a(true)
            .render(&sample_document())
            .unwrap();
        let s = String::from_utf8_lossy(&out.artifact.bytes);
        assert!(s.contains("pdfaid:part"), "PDF/A metadata");
    }
}

// ------------------------------------------------------------------ XLSX

#[cfg(feature = "xlsx")]
mod xlsx {
    use super::*;
    use tokentra_reports::render::XlsxRenderer;

    const READER: &str = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {}
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        rows.append([[c.value if not hasattr(c.value, "isoformat") else c.value.isoformat(), c.number_format] for c in row])
    out[ws.title] = {"rows": rows, "freeze": ws.freeze_panes}
print(json.dumps(out))
"#;

    /// A Python with openpyxl (`.ci/run` installs python3-openpyxl).
    fn python() -> Option<&'static str> {
        ["python3", "/usr/bin/python3"].into_iter().find(|p| {
            Command::new(p)
                .args(["-c", "import openpyxl"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        })
    }

    fn read_back(bytes: &[u8]) -> serde_json::Value {
        let dir = std::env::temp_dir().join(format!("tokentra-xlsx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("r{}.xlsx", bytes.len()));
        std::fs::write(&path, bytes).unwrap();
        let py = python().unwrap_or_else(|| {
            panic!("python3 with openpyxl is required for the XLSX read-back test: apt-get install python3-openpyxl (or pip install openpyxl)")
        });
        let out = Command::new(py)
            .args(["-c", READER])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn xlsx_reads_back_the_same_numbers() {
        let doc = sample_document();
        let bytes = XlsxRenderer.render_bytes(&doc).unwrap();
        let wb = read_back(&bytes);
        let names: Vec<&String> = wb.as_object().unwrap().keys().collect();
        for n in [
            "Summary",
            "Trend",
            "Cost by provider",
            "Top costs",
            "Anomalies",
            "Efficiency",
            "Forecast",
        ] {
            assert!(names.iter().any(|k| *k == n), "{n} in {names:?}");
        }
        let summary = &wb["Summary"];
        assert_eq!(summary["freeze"], "A2");
        assert_eq!(summary["rows"][1][0][0], "Total cost");
        let total = doc.summary.as_ref().unwrap().total_cost;
        let cell = &summary["rows"][1][1];
        assert_eq!(
            Decimal::try_from(cell[0].as_f64().unwrap())
                .unwrap()
                .round_dp(2),
            total
        );
        assert_eq!(cell[1], "\"$\"#,##0.00;-\"$\"#,##0.00");
        let providers = &wb["Cost by provider"]["rows"];
        for (i, item) in doc.breakdowns[0].items.iter().enumerate() {
            let row = &providers[i + 1];
            assert_eq!(row[0][0], item.label.as_str());
            let v = Decimal::try_from(row[1][0].as_f64().unwrap())
                .unwrap()
                .round_dp(2);
            assert_eq!(v, item.cost, "{}", item.label);
        }
        assert_eq!(wb["Trend"]["rows"][1][0][0], "2026-03-01T00:00:00");
    }

    #[test]
    fn xlsx_keeps_hostile_strings_as_text() {
        let doc = hostile_document();
        let bytes = XlsxRenderer.render_bytes(&doc).unwrap();
        let wb = read_back(&bytes);
        let rows = &wb["Cost by provider"]["rows"];
        assert_eq!(rows[3][0][0], "=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(rows[5][0][0], "-2+3");
    }
}
