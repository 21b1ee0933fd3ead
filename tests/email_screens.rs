//! The e-mails as the engine hands them to the deliverer, opened in
//! headless Chromium at a phone's 320 px and at 600 px: nothing wider than
//! the screen (no sideways scrolling), and a screenshot of each width in
//! `target/email-screens/` to look at.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it and sets
//! `TOKENTRA_REQUIRE_CHROMIUM=1`, so CI never skips); elsewhere the test
//! prints SKIPPED when it is missing.
#![cfg(feature = "html")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tokentra_reports::backends::file::read_cost_rows_csv;
use tokentra_reports::backends::memory::{
    ManualClock, MemoryCostSource, MemoryStore, RecordingDeliverer,
};
use tokentra_reports::engine::{Engine, EngineConfig};
use tokentra_reports::model::*;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/llm_usage_daily.csv");

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("email-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The page's content width and the viewport's at `width`: the e-mail is
/// laid out in an iframe that wide (headless windows are at least 500 px),
/// measured by a script once it has loaded.
fn measure(browser: &str, html: &str, width: u32, name: &str) -> (u32, u32) {
    let escaped = html.replace('&', "&amp;").replace('"', "&quot;");
    let page = format!(
        r#"<!DOCTYPE html><html><head><title>pending</title></head><body style="margin:0">
<iframe id="f" style="border:0;width:{width}px;height:3000px" srcdoc="{escaped}"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument.documentElement;
  document.title = 'measured ' + d.scrollWidth + ' ' + this.contentWindow.innerWidth;
}});
</script></body></html>"#
    );
    std::fs::write(out_dir().join(format!("{name}.html")), html).unwrap();
    let path = out_dir().join(format!("{name}-{width}-probe.html"));
    std::fs::write(&path, page).unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=3000",
            "--window-size=800,3000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", path.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("");
    let mut parts = title
        .strip_prefix("measured ")
        .unwrap_or_else(|| {
            panic!(
                "{name} at {width}px was not measured: {title:?} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .split(' ');
    let content = parts.next().unwrap().parse().unwrap();
    let viewport = parts.next().unwrap().parse().unwrap();
    (content, viewport)
}

/// A screenshot of the e-mail at `width`, kept for people to look at.
fn screenshot(browser: &str, html: &str, width: u32, name: &str) -> PathBuf {
    let dir = out_dir();
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let png = dir.join(format!("{name}-{width}.png"));
    let _ = std::fs::remove_file(&png);
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--window-size={width},1800"),
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        png.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    png
}

fn png_width(path: &Path) -> u32 {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[1..4], b"PNG");
    u32::from_be_bytes([b[16], b[17], b[18], b[19]])
}

/// An engine over the demo data at `now`, recording what it sends, with a
/// dashboard link for digests.
fn demo_engine(now: chrono::DateTime<Utc>) -> (OrganizationId, Engine, RecordingDeliverer) {
    let org = OrganizationId::new();
    let rows = read_cost_rows_csv(std::fs::File::open(DEMO).unwrap(), "demo").unwrap();
    let deliverer = RecordingDeliverer::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::with_rows(org, rows)))
        .store(Arc::new(MemoryStore::new()))
        .clock(Arc::new(ManualClock::new(now)))
        .deliverer(Arc::new(deliverer.clone()))
        .config(EngineConfig {
            dashboard_url: Some("https://costs.example.com/dashboard".into()),
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    (org, engine, deliverer)
}

/// The report e-mail and the daily digest e-mail the engine sends for the
/// demo data.
async fn emails() -> Vec<(&'static str, String)> {
    // Monday 2 November 2026, 20:30 UTC: 15:30 in New York, the daily digest
    // of 1 November is due; the demo data ends on 31 October.
    let (org, engine, deliverer) =
        demo_engine(Utc.with_ymd_and_hms(2026, 11, 2, 20, 30, 0).unwrap());
    let r = engine
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Executive),
                date_range: Some(
                    DateRange::new("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap())
                        .unwrap(),
                ),
                format: ReportFormat::Html,
                recipients: vec![ReportRecipient::email("cfo@example.com")],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(r.status, ReportStatus::Completed, "{:?}", r.error);
    let mut p = engine
        .digest_preferences(org, UserId::new(), "ana@example.com")
        .await
        .unwrap();
    p.frequency = DigestFrequency::Daily;
    p.timezone = Timezone::parse("America/New_York").unwrap();
    engine.upsert_digest_preferences(org, p).await.unwrap();
    let st = engine.process_email_digests().await.unwrap();
    assert_eq!(st.sent, 1, "{st:?}");
    let sent = deliverer.sent();
    let html = |to: &str| {
        sent.iter()
            .find(|d| d.recipient.address == to)
            .and_then(|d| d.html_body.clone())
            .unwrap_or_else(|| panic!("no HTML e-mail to {to}"))
    };
    vec![
        ("report-email", html("cfo@example.com")),
        ("digest-email-waiting", html("ana@example.com")),
        ("digest-email", digest_with_data().await),
    ]
}

/// The daily digest of 31 October, sent on 1 November when the data is in.
async fn digest_with_data() -> String {
    let (org, engine, deliverer) =
        demo_engine(Utc.with_ymd_and_hms(2026, 11, 1, 14, 15, 0).unwrap());
    let mut p = engine
        .digest_preferences(org, UserId::new(), "ana@example.com")
        .await
        .unwrap();
    p.frequency = DigestFrequency::Daily;
    p.timezone = Timezone::parse("America/New_York").unwrap();
    engine.upsert_digest_preferences(org, p).await.unwrap();
    let st = engine.process_email_digests().await.unwrap();
    assert_eq!(st.sent, 1, "{st:?}");
    let d = deliverer.sent().pop().unwrap();
    assert!(d.text_body.contains("You spent $"), "{}", d.text_body);
    d.html_body.unwrap()
}

#[tokio::test]
async fn emails_fit_a_phone_and_a_desktop_without_sideways_scrolling() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("TOKENTRA_REQUIRE_CHROMIUM").is_none(),
            "chromium is required here (TOKENTRA_REQUIRE_CHROMIUM is set)"
        );
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium)");
        return;
    };
    for (name, html) in emails().await {
        for width in [320, 600] {
            let (content, viewport) = measure(browser, &html, width, name);
            assert_eq!(viewport, width, "{name}: the frame is {viewport}px");
            assert!(
                content <= viewport,
                "{name} at {width}px is {content}px wide: the reader scrolls sideways"
            );
            let png = screenshot(browser, &html, width, name);
            assert_eq!(png_width(&png), width);
            eprintln!("{name} at {width}px fits ({content}px): {}", png.display());
        }
    }
}
