//! 500 PDF renders with different data in one process; prints the peak
//! resident set size (Linux `VmHWM`) to show typst's memoization cache stays
//! bounded (it is trimmed after every render).
//!
//! ```sh
//! cargo run --release --example pdf_memory
//! ```

use tokentra_reports::model::ReportType;
use tokentra_reports::render::sample::sample_document_with;
use tokentra_reports::render::PdfRenderer;

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let pdf = PdfRenderer::new();
    let mut bytes = 0usize;
    for i in 0..n {
        let mut doc = sample_document_with(ReportType::Executive, 30, i);
        doc.title = format!("AI Usage & Cost Report #{i}");
        let (out, _) = pdf.render_pdf(&doc)?;
        bytes += out.len();
        if (i + 1) % 100 == 0 {
            println!(
                "{} renders, peak RSS {:.1} MB",
                i + 1,
                peak_rss_mb().unwrap_or(f64::NAN)
            );
        }
    }
    let peak = peak_rss_mb().unwrap_or(f64::NAN);
    println!("{n} renders, {bytes} PDF bytes in total, peak RSS {peak:.1} MB");
    if peak > 100.0 {
        return Err(format!("peak RSS {peak:.1} MB exceeds 100 MB").into());
    }
    Ok(())
}
