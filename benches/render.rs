//! Rendering benchmarks: the executive report (3+ pages, 2 charts, tables of
//! 30 rows) as PDF in a warm process (the same document again, and a stream
//! of different ones) and HTML, a 20-page team report as PDF, and
//! the CSV detail export (throughput in bytes).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use tokentra_reports::model::ReportType;
use tokentra_reports::render::sample::{sample_document, sample_document_with};
use tokentra_reports::render::CsvRenderer;

fn bench(c: &mut Criterion) {
    let exec = sample_document();

    #[cfg(feature = "pdf")]
    {
        use tokentra_reports::render::PdfRenderer;
        let pdf = PdfRenderer::new();
        // Warm the process: fonts, library, template.
        let _ = pdf.render_pdf(&exec);
        let mut g = c.benchmark_group("pdf");
        g.sample_size(20);
        g.bench_function("executive_warm", |b| {
            b.iter(|| pdf.render_pdf(black_box(&exec)).map(|(b, _)| b.len()))
        });
        // A stream of different reports, as a scheduler renders them: eight
        // executive documents with different numbers, in turn, so typst's
        // memoized layout of one is evicted before it comes round again.
        let stream: Vec<_> = (0..8)
            .map(|seed| sample_document_with(ReportType::Executive, 30, 100 + seed))
            .collect();
        let mut next = 0;
        g.bench_function("executive_new_data", |b| {
            b.iter(|| {
                next = (next + 1) % stream.len();
                pdf.render_pdf(black_box(&stream[next]))
                    .map(|(b, _)| b.len())
            })
        });
        let team = sample_document_with(ReportType::Team, 220, 7);
        if let Ok((_, pages)) = pdf.render_pdf(&team) {
            eprintln!("team report: {pages} pages");
        }
        g.sample_size(10);
        g.bench_function("team_20_pages", |b| {
            b.iter(|| pdf.render_pdf(black_box(&team)).map(|(b, _)| b.len()))
        });
        g.finish();
    }

    #[cfg(feature = "html")]
    {
        let html = tokentra_reports::render::HtmlRenderer::new();
        c.bench_function("html/executive", |b| {
            b.iter(|| html.render_string(black_box(&exec)).map(|s| s.len()))
        });
    }

    let big = sample_document_with(ReportType::Team, 1000, 3);
    let csv = CsvRenderer::detail();
    let size = csv.render_bytes(&big).map(|b| b.len()).unwrap_or(0);
    let mut g = c.benchmark_group("csv");
    g.throughput(Throughput::Bytes(u64::try_from(size).unwrap_or(0)));
    g.bench_function("detail_31k_rows", |b| {
        b.iter(|| csv.render_bytes(black_box(&big)).map(|b| b.len()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
