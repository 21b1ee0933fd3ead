//! Render the sample executive report in every format compiled in, into
//! `./reports-sample/`.
//!
//! ```sh
//! cargo run --example render_sample --all-features
//! ```

use std::fs;

use tokentra_reports::ports::Renderer;
use tokentra_reports::render::sample::sample_document;
use tokentra_reports::render::{CsvRenderer, JsonRenderer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let doc = sample_document();
    let mut renderers: Vec<Box<dyn Renderer>> = vec![
        Box::new(JsonRenderer),
        Box::new(CsvRenderer::new()),
        Box::new(CsvRenderer::detail()),
    ];
    #[cfg(feature = "pdf")]
    renderers.push(Box::new(tokentra_reports::render::PdfRenderer::new()));
    #[cfg(feature = "html")]
    renderers.push(Box::new(tokentra_reports::render::HtmlRenderer::new()));
    #[cfg(feature = "xlsx")]
    renderers.push(Box::new(tokentra_reports::render::XlsxRenderer));
    fs::create_dir_all("reports-sample")?;
    for r in renderers {
        let out = r.render(&doc)?;
        let path = format!("reports-sample/{}", out.artifact.file_name);
        fs::write(&path, &out.artifact.bytes)?;
        println!(
            "{path}: {} bytes{}",
            out.artifact.bytes.len(),
            out.page_count
                .map(|p| format!(", {p} pages"))
                .unwrap_or_default()
        );
    }
    #[cfg(feature = "html")]
    {
        let t = tokentra_reports::render::html::Templates::new();
        let mail = tokentra_reports::render::email::render_report_email(
            &t,
            &doc,
            Some("https://reports.example.com/r/1"),
        )?;
        fs::write("reports-sample/email.html", &mail.html)?;
        fs::write("reports-sample/email.txt", &mail.text)?;
        println!("reports-sample/email.html, email.txt: {}", mail.subject);
    }
    Ok(())
}
