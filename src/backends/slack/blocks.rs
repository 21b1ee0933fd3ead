//! Block Kit layout of a report message, inside Slack's limits.

use serde_json::{json, Value};

use crate::model::{Currency, ReportDocument};
use crate::ports::Delivery;

/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Most characters in a section's text.
pub const MAX_SECTION_CHARS: usize = 3000;
/// Most characters in a header.
pub const MAX_HEADER_CHARS: usize = 150;
/// Most characters in one section field.
pub const MAX_FIELD_CHARS: usize = 2000;
/// Longest button URL.
pub const MAX_BUTTON_URL_CHARS: usize = 3000;

/// Escape the three characters Slack's `mrkdwn` treats as markup.
pub fn escape_mrkdwn(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Cut `text` to at most `max` characters; a cut text ends with `…` and,
/// when `link` is given (and fits), a `<link|Full report>` mrkdwn link.
pub fn truncate(text: &str, max: usize, link: Option<&str>) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let suffix = match link {
        Some(url) => {
            let s = format!("… <{url}|Full report>");
            if s.chars().count() < max {
                s
            } else {
                "…".to_owned()
            }
        }
        None => "…".to_owned(),
    };
    let keep = max.saturating_sub(suffix.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(&suffix);
    out
}

fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn section(text: &str, link: Option<&str>) -> Value {
    json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_CHARS, link)}
    })
}

fn field(label: &str, value: &str) -> Value {
    json!({
        "type": "mrkdwn",
        "text": truncate(&format!("*{label}*\n{}", escape_mrkdwn(value)), MAX_FIELD_CHARS, None)
    })
}

fn summary_fields(doc: &ReportDocument) -> Value {
    let s = &doc.summary_data;
    let cur: Currency = doc.currency;
    let mut fields = vec![
        field("Total cost", &cur.format(s.total_cost)),
        field("Requests", &group_digits(s.total_requests)),
    ];
    if let Some(change) = s.cost_change {
        let sign = if change.is_sign_positive() && !change.is_zero() {
            "+"
        } else {
            ""
        };
        fields.push(field("Change", &format!("{sign}{}%", change.round_dp(1))));
    }
    if let Some(p) = &s.top_provider {
        fields.push(field("Top provider", p));
    }
    if let Some(m) = &s.top_model {
        fields.push(field("Top model", m));
    }
    fields.push(field("Anomalies", &s.anomaly_count.to_string()));
    json!({"type": "section", "fields": fields})
}

/// The blocks of `delivery`: a header, then with a document the period,
/// the summary fields, the top `top_items` lines of the first breakdown and
/// one section per recommendation, else the plain-text body; and a
/// "Download report" button when there is a download link. At most
/// [`MAX_BLOCKS`] blocks: beyond that the last kept block says the rest is
/// in the full report (with the link), the button stays.
pub fn build_blocks(delivery: &Delivery, top_items: usize) -> Vec<Value> {
    let link = delivery
        .download_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .filter(|u| u.chars().count() <= MAX_BUTTON_URL_CHARS);
    let mut body = vec![json!({
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": truncate(&delivery.subject, MAX_HEADER_CHARS, None),
            "emoji": true
        }
    })];
    match delivery.document.as_deref() {
        Some(doc) => {
            let mut context = format!("Period {}", doc.date_range);
            if let Some(org) = &doc.organization_name {
                context = format!("{} · {context}", escape_mrkdwn(org));
            }
            body.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": truncate(&context, MAX_SECTION_CHARS, None)}]
            }));
            body.push(summary_fields(doc));
            if let Some(b) = doc.breakdowns.iter().find(|b| !b.items.is_empty()) {
                let mut text = format!("*Cost by {}*", escape_mrkdwn(&b.dimension.name()));
                for item in b.items.iter().take(top_items) {
                    text.push_str(&format!(
                        "\n• {} — {} ({}%)",
                        escape_mrkdwn(&item.label),
                        doc.currency.format(item.cost),
                        item.share
                    ));
                }
                body.push(section(&text, link));
            }
            if !doc.recommendations.is_empty() {
                body.push(section("*Recommendations*", None));
                for r in &doc.recommendations {
                    let text = format!(
                        "• *{}* — {}",
                        escape_mrkdwn(&r.title),
                        escape_mrkdwn(&r.message)
                    );
                    body.push(section(&text, link));
                }
            }
        }
        None => body.push(section(&escape_mrkdwn(&delivery.text_body), link)),
    }
    let actions = link.map(|url| {
        json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": "Download report"},
                "url": url,
                "action_id": "download_report"
            }]
        })
    });
    let room = MAX_BLOCKS - usize::from(actions.is_some());
    if body.len() > room {
        body.truncate(room - 1);
        let note = match link {
            Some(url) => format!("More in the <{url}|full report>."),
            None => "More in the full report.".to_owned(),
        };
        body.push(section(&note, None));
    }
    body.extend(actions);
    body
}

/// The notification text (shown where blocks are not: notifications,
/// screen readers).
pub fn fallback_text(delivery: &Delivery) -> String {
    let text = match delivery.document.as_deref() {
        Some(doc) => format!(
            "{}: {} for {}",
            delivery.subject,
            doc.currency.format(doc.summary_data.total_cost),
            doc.date_range
        ),
        None => delivery.subject.clone(),
    };
    truncate(&escape_mrkdwn(&text), MAX_SECTION_CHARS, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_limits_and_adds_link() {
        assert_eq!(truncate("short", 10, Some("https://x")), "short");
        let long = "a".repeat(4000);
        let t = truncate(&long, MAX_SECTION_CHARS, Some("https://r.example/1"));
        assert_eq!(t.chars().count(), MAX_SECTION_CHARS);
        assert!(t.ends_with("… <https://r.example/1|Full report>"));
        let t = truncate(&"é".repeat(200), MAX_HEADER_CHARS, None);
        assert_eq!(t.chars().count(), 150);
        assert!(t.ends_with('…'));
        assert_eq!(truncate("abcdef", 4, Some("https://very-long")), "abc…");
    }

    proptest::proptest! {
        #[test]
        fn truncate_never_exceeds_the_limit(
            text in "\\PC{0,400}",
            max in 1usize..300,
            link in proptest::option::of("https://[a-z]{1,40}"),
        ) {
            let t = truncate(&text, max, link.as_deref());
            proptest::prop_assert!(t.chars().count() <= max);
            if text.chars().count() <= max {
                proptest::prop_assert_eq!(t, text);
            }
        }
    }

    #[test]
    fn escaping_and_digits() {
        assert_eq!(escape_mrkdwn("<b>&"), "&lt;b&gt;&amp;");
        assert_eq!(group_digits(1234567), "1,234,567");
        assert_eq!(group_digits(12), "12");
    }
}
