//! E-mails about reports and usage digests: HTML built from tables with
//! inline styles (what Gmail and Outlook render reliably: no `<style>`
//! blocks, no SVG, no flexbox) plus a plain-text alternative rendered from the
//! same [`ReportView`], so both parts carry the same figures. Charts are
//! omitted; their numbers appear as text tables (at most
//! [`EMAIL_MAX_ROWS`] rows each, the rest is in the attached report).

use minijinja::context;

use crate::model::ReportDocument;
use crate::render::html::Templates;
use crate::render::view::ReportView;
use crate::Result;

/// Rows shown per table in an e-mail.
pub const EMAIL_MAX_ROWS: usize = 10;

/// A rendered e-mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedEmail {
    /// Subject line (plain text, single line).
    pub subject: String,
    /// HTML part (autoescaped).
    pub html: String,
    /// Plain-text part.
    pub text: String,
}

fn one_line(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::render::charts::truncate(s.trim(), 200)
}

/// Columns an e-mail leaves to the attached report, so its tables fit a
/// phone's 320 px: counts beside amounts, and the anomalies' dimension,
/// expected cost and severity.
const EMAIL_DROPPED_COLUMNS: [&str; 5] =
    ["Requests", "Tokens", "Dimension", "Expected", "Severity"];

fn narrow(view: &mut ReportView) {
    use crate::render::view::SectionView;
    for s in &mut view.sections {
        if let SectionView::Breakdown { table, .. }
        | SectionView::TopCosts { table, .. }
        | SectionView::Anomalies { table, .. } = s
        {
            let drop: Vec<bool> = table
                .header
                .iter()
                .map(|h| EMAIL_DROPPED_COLUMNS.contains(&h.as_str()))
                .collect();
            *table = std::mem::take(table).without(|i| drop.get(i).copied().unwrap_or(false));
        }
    }
}

fn render(
    templates: &Templates,
    doc: &ReportDocument,
    subject: String,
    intro: String,
    link: Option<&str>,
    link_label: &str,
) -> Result<RenderedEmail> {
    let mut view = ReportView::build(doc, false);
    narrow(&mut view);
    // Only http(s) links become buttons; anything else is left out.
    let link = link.filter(|l| l.starts_with("https://") || l.starts_with("http://"));
    let ctx = context! {
        r => minijinja::Value::from(minijinja::value::Serde(&view)),
        subject => subject.clone(),
        intro => intro,
        link => link,
        link_label => link_label,
        max_rows => EMAIL_MAX_ROWS,
    };
    Ok(RenderedEmail {
        html: templates.render("email", "email.html", ctx.clone())?,
        text: templates.render("email", "email.txt", ctx)?,
        subject,
    })
}

/// The e-mail announcing a generated report: its sections in short, and a
/// button to `download_url` (only `http(s)` URLs are linked).
pub fn render_report_email(
    templates: &Templates,
    doc: &ReportDocument,
    download_url: Option<&str>,
) -> Result<RenderedEmail> {
    // The period once: a name made from it ("Executive Summary October
    // 2026") already says it.
    let label = crate::core::period::label(doc.date_range);
    let subject = if doc.title.contains(&label) {
        one_line(&doc.title)
    } else {
        one_line(&format!(
            "{}: {}",
            doc.title,
            crate::render::view::period(&doc.date_range)
        ))
    };
    let total = doc.currency.format(doc.summary_data.total_cost);
    let intro = format!("Your report is ready. Total cost for the period: {total}.");
    render(
        templates,
        doc,
        subject,
        intro,
        download_url,
        "Download the report",
    )
}

/// A usage digest e-mail (daily, weekly or monthly): the document's sections,
/// as the engine assembled them from the recipient's preferences, and an
/// optional link to the dashboard.
pub fn render_digest_email(
    templates: &Templates,
    doc: &ReportDocument,
    dashboard_url: Option<&str>,
) -> Result<RenderedEmail> {
    let total = doc.currency.format(doc.summary_data.total_cost);
    let subject = one_line(&format!(
        "AI spend digest, {}: {total}",
        crate::render::view::period(&doc.date_range)
    ));
    if let Some(through) = doc
        .data_complete_through
        .filter(|d| *d < doc.date_range.start)
    {
        // The day has not arrived: no "$0.00" and no "-100%".
        let period = crate::render::view::period(&doc.date_range);
        let subject = one_line(&format!("AI spend digest, {period}: waiting for data"));
        let intro = format!(
            "The usage data for {period} has not arrived yet: it is complete through {}. \
             This digest reports nothing for days without their data.",
            crate::render::view::long_date(through)
        );
        return render(
            templates,
            doc,
            subject,
            intro,
            dashboard_url,
            "Open the dashboard",
        );
    }
    let mut intro = format!("You spent {total} on AI APIs in this period");
    if let Some(c) = doc.summary_data.cost_change {
        intro.push_str(&format!(
            " ({} against the previous period)",
            crate::render::view::signed_percent(c)
        ));
    }
    intro.push('.');
    // The specification's digest summary names the top provider and model.
    let tops: Vec<String> = [
        ("Top provider", &doc.summary_data.top_provider),
        ("top model", &doc.summary_data.top_model),
    ]
    .into_iter()
    .filter_map(|(label, v)| v.as_deref().map(|v| format!("{label}: {}", one_line(v))))
    .collect();
    if !tops.is_empty() {
        let mut line = tops.join("; ");
        if let Some(first) = line.get(..1) {
            line = first.to_uppercase() + &line[1..];
        }
        intro.push_str(&format!(" {line}."));
    }
    // Counted as what they are: four providers off on one day is one day
    // of unusual spending.
    let days = crate::model::anomaly_days(&doc.anomalies);
    if days > 0 {
        intro.push_str(&format!(
            " Unusual spending on {days} day{}.",
            if days == 1 { "" } else { "s" }
        ));
    } else if doc.summary_data.anomaly_count > 0 {
        intro.push_str(&format!(
            " {} anomal{} detected.",
            doc.summary_data.anomaly_count,
            if doc.summary_data.anomaly_count == 1 {
                "y was"
            } else {
                "ies were"
            }
        ));
    }
    render(
        templates,
        doc,
        subject,
        intro,
        dashboard_url,
        "Open the dashboard",
    )
}
