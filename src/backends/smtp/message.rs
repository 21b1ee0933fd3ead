//! Composing the MIME message of a delivery.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use crate::ports::{Delivery, DeliveryKind};

/// A composed message and whether the attachment is in it.
#[derive(Debug)]
pub(crate) struct Composed {
    pub message: Message,
    #[cfg_attr(not(test), allow(dead_code))]
    pub attached: bool,
}

pub(crate) struct Envelope<'a> {
    pub from: &'a Mailbox,
    pub reply_to: Option<&'a Mailbox>,
    pub to: Mailbox,
    pub now: DateTime<Utc>,
    pub max_bytes: usize,
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Human size: `12.3 MB`, `512 KB`, `90 bytes`.
pub(crate) fn human_size(bytes: usize) -> String {
    const KB: f64 = 1000.0;
    let b = bytes as f64;
    if b >= KB * KB {
        format!("{:.1} MB", b / (KB * KB))
    } else if b >= KB {
        format!("{:.0} KB", b / KB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A `Message-ID` derived from the idempotency key, the same on every
/// retry: `<key@domain>` with characters outside `[A-Za-z0-9._-]` replaced.
pub(crate) fn message_id(key: &str, from: &Mailbox) -> String {
    let local: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let local = if local.is_empty() {
        "delivery".into()
    } else {
        local
    };
    format!("<{local}@{}>", from.email.domain())
}

fn body(text: &str, html: Option<&str>) -> Body {
    match html {
        Some(h) => Body::Alternative(MultiPart::alternative_plain_html(
            text.to_owned(),
            h.to_owned(),
        )),
        None => Body::Plain(SinglePart::plain(text.to_owned())),
    }
}

enum Body {
    Plain(SinglePart),
    Alternative(MultiPart),
}

fn insert_before_body_end(html: &str, fragment: &str) -> String {
    // `to_ascii_lowercase` keeps byte offsets.
    let split = html
        .to_ascii_lowercase()
        .rfind("</body>")
        .and_then(|i| Some((html.get(..i)?, html.get(i..)?)));
    match split {
        Some((head, tail)) => format!("{head}{fragment}{tail}"),
        None => format!("{html}{fragment}"),
    }
}

fn build(
    env: &Envelope<'_>,
    delivery: &Delivery,
    text: &str,
    html: Option<&str>,
    attach: bool,
) -> Result<Message, lettre::error::Error> {
    let mut b = Message::builder()
        .from(env.from.clone())
        .to(env.to.clone())
        .subject(delivery.subject.clone())
        .date(SystemTime::from(env.now))
        .message_id(Some(message_id(&delivery.idempotency_key, env.from)));
    if let Some(r) = env.reply_to {
        b = b.reply_to(r.clone());
    }
    let body = body(text, html);
    match (&delivery.attachment, attach) {
        (Some(file), true) => {
            let ct = ContentType::parse(&file.media_type)
                .or_else(|_| ContentType::parse("application/octet-stream"));
            let ct = match ct {
                Ok(ct) => ct,
                Err(_) => ContentType::TEXT_PLAIN,
            };
            let part = Attachment::new(file.file_name.clone()).body(file.bytes.clone(), ct);
            let mixed = match body {
                Body::Plain(p) => MultiPart::mixed().singlepart(p),
                Body::Alternative(a) => MultiPart::mixed().multipart(a),
            };
            b.multipart(mixed.singlepart(part))
        }
        _ => match body {
            Body::Plain(p) => b.singlepart(p),
            Body::Alternative(a) => b.multipart(a),
        },
    }
}

/// Compose the message of `delivery`.
///
/// - A report with an attachment: `multipart/mixed` of the body and the
///   file; the body is `multipart/alternative` (text, HTML) when there is
///   HTML, else `text/plain`.
/// - A digest, or a report without attachment: the body alone.
/// - When the whole encoded message (base64 growth included) would exceed
///   `max_bytes`, the file is left out and a note with the signed download
///   link (or, without a link, a pointer to the report archive) is added
///   to the text and HTML bodies.
pub(crate) fn compose(
    env: &Envelope<'_>,
    delivery: &Delivery,
) -> Result<Composed, lettre::error::Error> {
    let wants_attachment = delivery.kind == DeliveryKind::Report && delivery.attachment.is_some();
    let html = delivery.html_body.as_deref();
    if wants_attachment {
        let message = build(env, delivery, &delivery.text_body, html, true)?;
        if message.formatted().len() <= env.max_bytes {
            return Ok(Composed {
                message,
                attached: true,
            });
        }
    }
    let (text, html) = match (&delivery.attachment, wants_attachment) {
        (Some(file), true) => {
            let what = format!(
                "The report file ({}, {}) is too large to attach.",
                file.file_name,
                human_size(file.bytes.len())
            );
            let (text_note, html_note) = match &delivery.download_url {
                Some(url) => (
                    format!("\n\n{what} Download it here: {url}\n"),
                    format!(
                        "<p>{} <a href=\"{}\">Download it here</a>.</p>",
                        escape_html(&what),
                        escape_html(url)
                    ),
                ),
                None => (
                    format!("\n\n{what} Download it from the report archive.\n"),
                    format!(
                        "<p>{} Download it from the report archive.</p>",
                        escape_html(&what)
                    ),
                ),
            };
            (
                format!("{}{text_note}", delivery.text_body),
                html.map(|h| insert_before_body_end(h, &html_note)),
            )
        }
        _ => (delivery.text_body.clone(), html.map(str::to_owned)),
    };
    let message = build(env, delivery, &text, html.as_deref(), false)?;
    Ok(Composed {
        message,
        attached: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Artifact, OrganizationId, ReportRecipient};

    fn delivery(kind: DeliveryKind, bytes: usize) -> Delivery {
        Delivery {
            idempotency_key: "k".into(),
            organization_id: OrganizationId::new(),
            kind,
            report_id: None,
            recipient: ReportRecipient::email("a@example.com"),
            subject: "S".into(),
            html_body: None,
            text_body: "T".into(),
            attachment: Some(Artifact {
                file_name: "r.pdf".into(),
                media_type: "application/pdf".into(),
                bytes: vec![1; bytes],
            }),
            download_url: None,
            document: None,
        }
    }

    #[test]
    fn attachment_only_for_reports_under_the_cap() {
        let from: Mailbox = "reports@example.com".parse().unwrap();
        let env = Envelope {
            from: &from,
            reply_to: None,
            to: "a@example.com".parse().unwrap(),
            now: DateTime::UNIX_EPOCH,
            max_bytes: 4000,
        };
        let small = compose(&env, &delivery(DeliveryKind::Report, 1000)).unwrap();
        assert!(small.attached);
        // 2,900 bytes are 3,868 in base64 (plus line breaks and headers):
        // over 4,000 only because of the encoding.
        let big = compose(&env, &delivery(DeliveryKind::Report, 2900)).unwrap();
        assert!(!big.attached);
        let raw = big.message.formatted();
        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(
            parsed
                .body_text(0)
                .unwrap()
                .replace("\r\n", "\n")
                .trim_end(),
            "T\n\nThe report file (r.pdf, 3 KB) is too large to attach. \
             Download it from the report archive."
        );
        let digest = compose(&env, &delivery(DeliveryKind::Digest, 10)).unwrap();
        assert!(!digest.attached);
    }

    #[test]
    fn helpers() {
        assert_eq!(human_size(12_345_678), "12.3 MB");
        assert_eq!(human_size(2_600), "3 KB");
        assert_eq!(human_size(90), "90 bytes");
        let from: Mailbox = "Reports <reports@example.com>".parse().unwrap();
        assert_eq!(
            message_id("rep 1:email:a@b", &from),
            "<rep-1-email-a-b@example.com>"
        );
        assert_eq!(
            insert_before_body_end("<html><BODY>x</BODY></html>", "<p>n</p>"),
            "<html><BODY>x<p>n</p></BODY></html>"
        );
        assert_eq!(
            insert_before_body_end("<p>x</p>", "<p>n</p>"),
            "<p>x</p><p>n</p>"
        );
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
