//! E-mail delivery through lettre to a real SMTP server running in this
//! process on a loopback port; received messages are parsed back with
//! mail-parser.
#![cfg(feature = "smtp")]

mod delivery_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use std::future::Future;
use std::pin::Pin;
use tokentra_reports::backends::memory::ManualClock;
use tokentra_reports::backends::routing::{DeliveryFailure, RoutingDeliverer, StaticUserResolver};
use tokentra_reports::backends::smtp::{SmtpConfig, SmtpDeliverer, SmtpSecurity};
use tokentra_reports::model::{Artifact, RecipientKind, ReportRecipient};
use tokentra_reports::ports::{Deliverer, Delivery, DeliveryKind};
use tokentra_reports::Error;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// One message the server accepted.
#[derive(Clone, Debug)]
struct Received {
    mail_from: String,
    rcpt_to: Vec<String>,
    data: Vec<u8>,
    /// Whether it came over TLS.
    secure: bool,
}

/// A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA
/// with dot-unstuffing, RSET, NOOP, QUIT, and STARTTLS or implicit TLS when
/// given a certificate). Recipients containing `reject` get `550`, those
/// containing `busy` get `451`.
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

/// How the sink offers TLS.
#[derive(Clone)]
enum SinkTls {
    None,
    StartTls(TlsAcceptor),
    Implicit(TlsAcceptor),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Store = Arc<Mutex<Vec<Received>>>;

impl SmtpSink {
    async fn start() -> SmtpSink {
        Self::start_with(SinkTls::None).await
    }

    async fn start_with(tls: SinkTls) -> SmtpSink {
        Self::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), tls)
    }

    /// A plain sink on `port` (one that refused connections until now).
    async fn start_at(port: u16) -> SmtpSink {
        Self::serve(
            TcpListener::bind(("127.0.0.1", port)).await.unwrap(),
            SinkTls::None,
        )
    }

    fn serve(listener: TcpListener, tls: SinkTls) -> SmtpSink {
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let store = store.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let _ = match tls {
                        SinkTls::Implicit(acceptor) => match acceptor.accept(stream).await {
                            Ok(s) => greet_then(Box::new(s), store, None, true).await,
                            Err(e) => Err(e),
                        },
                        SinkTls::StartTls(acceptor) => {
                            greet_then(Box::new(stream), store, Some(acceptor), false).await
                        }
                        SinkTls::None => greet_then(Box::new(stream), store, None, false).await,
                    };
                });
            }
        });
        SmtpSink { port, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn session(
    stream: Box<dyn Io>,
    store: Store,
    starttls: Option<TlsAcceptor>,
    secure: bool,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut io = BufReader::new(stream);
        let mut mail_from = String::new();
        let mut rcpt_to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if io.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let cmd = line.trim_end().to_owned();
            let upper = cmd.to_ascii_uppercase();
            if upper.starts_with("EHLO") {
                let ext = if starttls.is_some() {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                let reply = format!(
                    "250-sink.test greets you\r\n{ext}250-8BITMIME\r\n250 SIZE 52428800\r\n"
                );
                io.write_all(reply.as_bytes()).await?;
            } else if upper == "STARTTLS" {
                let Some(acceptor) = starttls.clone() else {
                    io.write_all(b"502 not supported\r\n").await?;
                    continue;
                };
                io.write_all(b"220 go ahead\r\n").await?;
                let plain = io.into_inner();
                let tls = acceptor.accept(plain).await?;
                return session_after_tls(Box::new(tls), store).await;
            } else if upper.starts_with("HELO") {
                io.write_all(b"250 sink.test\r\n").await?;
            } else if upper.starts_with("MAIL FROM:") {
                mail_from = cmd[10..].trim().to_owned();
                rcpt_to.clear();
                io.write_all(b"250 OK\r\n").await?;
            } else if upper.starts_with("RCPT TO:") {
                let to = cmd[8..].trim().to_owned();
                if to.contains("reject") {
                    io.write_all(b"550 5.1.1 mailbox unavailable\r\n").await?;
                } else if to.contains("busy") {
                    io.write_all(b"451 4.3.0 try again later\r\n").await?;
                } else {
                    rcpt_to.push(to);
                    io.write_all(b"250 OK\r\n").await?;
                }
            } else if upper == "DATA" {
                io.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if io.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" {
                        break;
                    }
                    let unstuffed = raw.strip_prefix(b".").unwrap_or(&raw);
                    data.extend_from_slice(unstuffed);
                }
                store.lock().unwrap().push(Received {
                    mail_from: mail_from.clone(),
                    rcpt_to: rcpt_to.clone(),
                    data,
                    secure,
                });
                io.write_all(b"250 OK queued\r\n").await?;
            } else if upper == "QUIT" {
                io.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                // RSET, NOOP and anything else.
                io.write_all(b"250 OK\r\n").await?;
            }
        }
    })
}

/// The greeting, then the session.
fn greet_then(
    stream: Box<dyn Io>,
    store: Store,
    starttls: Option<TlsAcceptor>,
    secure: bool,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    Box::pin(async move {
        let mut stream = stream;
        stream.write_all(b"220 sink.test ESMTP ready\r\n").await?;
        session(stream, store, starttls, secure).await
    })
}

/// After STARTTLS the client starts over with EHLO, without a greeting.
fn session_after_tls(
    stream: Box<dyn Io>,
    store: Store,
) -> Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>> {
    session(stream, store, None, true)
}

/// A throwaway CA (PEM) and a TLS acceptor for `localhost` signed by it.
fn tls_pair() -> (Vec<u8>, TlsAcceptor) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tokentra test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .unwrap();
    (
        ca_cert.pem().into_bytes(),
        TlsAcceptor::from(Arc::new(config)),
    )
}

fn config(port: u16) -> SmtpConfig {
    let mut c = SmtpConfig::new("127.0.0.1", "Cost Reports <reports@tokentra.test>");
    c.port = Some(port);
    c.security = SmtpSecurity::Plain;
    c.reply_to = Some("FinOps <finops@tokentra.test>".into());
    c.timeout = Duration::from_secs(5);
    c.hello_name = Some("client.test".into());
    c.clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 1, 9, 5, 0).unwrap(),
    ));
    c
}

fn mail(address: &str) -> Delivery {
    let mut d = delivery_common::delivery(RecipientKind::Email, address);
    d.idempotency_key = "rep_7f3a:email:1".into();
    d.recipient.name = Some("Ana Souza".into());
    d
}

/// The MIME tree of a parsed message, e.g.
/// `multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)`.
fn tree(msg: &mail_parser::Message<'_>, id: u32) -> String {
    let Some(part) = msg.part(id) else {
        return "?".into();
    };
    let ct = part
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        .unwrap_or_else(|| "text/plain".into());
    match &part.body {
        PartType::Multipart(children) => format!(
            "{ct}({})",
            children
                .iter()
                .map(|c| tree(msg, *c))
                .collect::<Vec<_>>()
                .join(",")
        ),
        _ => ct,
    }
}

fn failure(err: &Error) -> (bool, DeliveryFailure) {
    match err {
        Error::Backend {
            backend: "smtp",
            retryable,
            source,
        } => (
            *retryable,
            source.downcast_ref::<DeliveryFailure>().unwrap().clone(),
        ),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn report_mail_has_alternative_bodies_and_the_attachment() {
    let sink = SmtpSink::start().await;
    let smtp = SmtpDeliverer::new(config(sink.port)).unwrap();
    let d = mail("ana@example.com");
    let receipt = smtp.deliver(&d).await.unwrap();
    assert_eq!(
        receipt.message_id.as_deref(),
        Some("<rep_7f3a-email-1@tokentra.test>")
    );

    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "<reports@tokentra.test>");
    assert_eq!(got[0].rcpt_to, ["<ana@example.com>"]);
    let msg = MessageParser::default().parse(&got[0].data).unwrap();
    assert_eq!(msg.subject(), Some("Monthly AI spend: October 2026"));
    let from = msg.from().unwrap().first().unwrap();
    assert_eq!(from.name(), Some("Cost Reports"));
    assert_eq!(from.address(), Some("reports@tokentra.test"));
    let to = msg.to().unwrap().first().unwrap();
    assert_eq!(to.name(), Some("Ana Souza"));
    assert_eq!(to.address(), Some("ana@example.com"));
    let reply = msg.reply_to().unwrap().first().unwrap();
    assert_eq!(reply.address(), Some("finops@tokentra.test"));
    assert_eq!(msg.message_id(), Some("rep_7f3a-email-1@tokentra.test"));
    assert_eq!(msg.date().unwrap().to_rfc3339(), "2026-11-01T09:05:00Z");

    assert_eq!(
        tree(&msg, 0),
        "multipart/mixed(multipart/alternative(text/plain,text/html),application/pdf)"
    );
    assert_eq!(
        msg.body_text(0).unwrap().replace("\r\n", "\n"),
        "Monthly AI spend\nTotal $1,234.50\n"
    );
    assert_eq!(
        msg.body_html(0).unwrap(),
        "<html><body><h1>Monthly AI spend</h1><p>Total $1,234.50</p></body></html>"
    );
    assert_eq!(msg.attachment_count(), 1);
    let att = msg.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("executive-2026-10.pdf"));
    assert_eq!(
        att.content_disposition().map(|c| c.ctype()),
        Some("attachment")
    );
    assert_eq!(att.content_transfer_encoding(), Some("base64"));
    assert_eq!(
        att.contents(),
        d.attachment.as_ref().unwrap().bytes.as_slice()
    );
}

#[tokio::test]
async fn digest_mail_is_alternative_only_without_attachment() {
    let sink = SmtpSink::start().await;
    let smtp = SmtpDeliverer::new(config(sink.port)).unwrap();
    let mut d = mail("ana@example.com");
    d.kind = DeliveryKind::Digest;
    smtp.deliver(&d).await.unwrap();
    let got = sink.received();
    let msg = MessageParser::default().parse(&got[0].data).unwrap();
    assert_eq!(tree(&msg, 0), "multipart/alternative(text/plain,text/html)");
    assert_eq!(msg.attachment_count(), 0);
    assert_eq!(
        msg.body_text(0).unwrap().replace("\r\n", "\n"),
        "Monthly AI spend\nTotal $1,234.50\n"
    );
}

#[tokio::test]
async fn text_only_report_is_mixed_text_and_attachment() {
    let sink = SmtpSink::start().await;
    let smtp = SmtpDeliverer::new(config(sink.port)).unwrap();
    let mut d = mail("ana@example.com");
    d.html_body = None;
    d.attachment = Some(Artifact {
        file_name: "costs-2026-10.csv".into(),
        media_type: "text/csv".into(),
        bytes: b"team,cost\nsearch,800.00\n".to_vec(),
    });
    smtp.deliver(&d).await.unwrap();
    let msg = MessageParser::default()
        .parse(&sink.received()[0].data)
        .unwrap()
        .into_owned();
    assert_eq!(tree(&msg, 0), "multipart/mixed(text/plain,text/csv)");
    let att = msg.attachment(0).unwrap();
    assert_eq!(att.attachment_name(), Some("costs-2026-10.csv"));
    assert_eq!(att.contents(), b"team,cost\nsearch,800.00\n");
}

#[tokio::test]
async fn oversized_message_sends_the_download_link_instead() {
    let sink = SmtpSink::start().await;
    let mut c = config(sink.port);
    c.max_message_bytes = 64 * 1024;
    let smtp = SmtpDeliverer::new(c).unwrap();
    let mut d = mail("ana@example.com");
    // 50 KB of bytes become about 68 KB of base64: over the cap only
    // because of the encoding growth.
    d.attachment.as_mut().unwrap().bytes = vec![0xA5; 50_000];
    smtp.deliver(&d).await.unwrap();
    let msg = MessageParser::default()
        .parse(&sink.received()[0].data)
        .unwrap()
        .into_owned();
    assert_eq!(tree(&msg, 0), "multipart/alternative(text/plain,text/html)");
    assert_eq!(msg.attachment_count(), 0);
    assert_eq!(
        msg.body_text(0).unwrap().replace("\r\n", "\n"),
        "Monthly AI spend\nTotal $1,234.50\n\n\nThe report file (executive-2026-10.pdf, 50 KB) is too large to attach. Download it here: https://reports.example.com/d/abc?sig=xyz&exp=1\n"
    );
    assert_eq!(
        msg.body_html(0).unwrap(),
        "<html><body><h1>Monthly AI spend</h1><p>Total $1,234.50</p><p>The report file (executive-2026-10.pdf, 50 KB) is too large to attach. <a href=\"https://reports.example.com/d/abc?sig=xyz&amp;exp=1\">Download it here</a>.</p></body></html>"
    );
    assert!(sink.received()[0].data.len() < 64 * 1024);
}

#[tokio::test]
async fn under_the_cap_the_file_is_attached() {
    let sink = SmtpSink::start().await;
    let mut c = config(sink.port);
    c.max_message_bytes = 64 * 1024;
    let smtp = SmtpDeliverer::new(c).unwrap();
    let mut d = mail("ana@example.com");
    d.attachment.as_mut().unwrap().bytes = vec![0xA5; 40_000];
    smtp.deliver(&d).await.unwrap();
    let msg = MessageParser::default()
        .parse(&sink.received()[0].data)
        .unwrap()
        .into_owned();
    assert_eq!(msg.attachment_count(), 1);
    assert_eq!(msg.attachment(0).unwrap().contents().len(), 40_000);
}

#[tokio::test]
async fn rejected_recipient_is_permanent_and_busy_one_is_retryable() {
    let sink = SmtpSink::start().await;
    let smtp = SmtpDeliverer::new(config(sink.port)).unwrap();

    let err = smtp.deliver(&mail("reject@example.com")).await.unwrap_err();
    let (retryable, f) = failure(&err);
    assert!(!retryable);
    assert_eq!(f.recipient, "email:reject@example.com");
    assert!(f.reason.contains("mailbox unavailable"), "{}", f.reason);

    let err = smtp.deliver(&mail("busy@example.com")).await.unwrap_err();
    let (retryable, f) = failure(&err);
    assert!(retryable);
    assert_eq!(f.recipient, "email:busy@example.com");
    assert!(f.reason.contains("try again later"), "{}", f.reason);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn bad_address_and_closed_port_fail_clearly() {
    let sink = SmtpSink::start().await;
    let smtp = SmtpDeliverer::new(config(sink.port)).unwrap();
    let err = smtp.deliver(&mail("not an address")).await.unwrap_err();
    let (retryable, f) = failure(&err);
    assert!(!retryable);
    assert_eq!(f.recipient, "email:not an address");
    assert!(
        f.reason.starts_with("not an e-mail address"),
        "{}",
        f.reason
    );

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let smtp = SmtpDeliverer::new(config(port)).unwrap();
    let err = smtp.deliver(&mail("ana@example.com")).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn user_recipients_are_mailed_through_the_router() {
    let sink = SmtpSink::start().await;
    let router = RoutingDeliverer::builder()
        .email(Arc::new(SmtpDeliverer::new(config(sink.port)).unwrap()))
        .user_resolver(Arc::new(StaticUserResolver::new().with_user(
            "u-42",
            "bruno@example.com",
            Some("Bruno"),
        )))
        .build();
    let mut d = mail("ignored");
    d.recipient = ReportRecipient {
        kind: RecipientKind::User,
        address: "u-42".into(),
        name: None,
    };
    router.deliver(&d).await.unwrap();
    let mut ghost = d.clone();
    ghost.recipient.address = "u-404".into();
    let err = router.deliver(&ghost).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "user backend error: delivery to user:u-404 failed: unknown user: no e-mail address found"
    );
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_to, ["<bruno@example.com>"]);
    let msg = MessageParser::default().parse(&got[0].data).unwrap();
    assert_eq!(msg.to().unwrap().first().unwrap().name(), Some("Bruno"));
}

fn tls_config(port: u16, security: SmtpSecurity, ca_pem: Vec<u8>) -> SmtpConfig {
    let mut c = config(port);
    c.host = "localhost".into();
    c.security = security;
    c.root_certificates_pem = vec![ca_pem];
    c
}

#[tokio::test]
async fn starttls_upgrades_before_sending() {
    let (ca, acceptor) = tls_pair();
    let sink = SmtpSink::start_with(SinkTls::StartTls(acceptor)).await;
    let smtp = SmtpDeliverer::new(tls_config(sink.port, SmtpSecurity::StartTls, ca)).unwrap();
    smtp.deliver(&mail("ana@example.com")).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].secure, "the message must travel after STARTTLS");
    let msg = MessageParser::default().parse(&got[0].data).unwrap();
    assert_eq!(msg.attachment_count(), 1);
}

#[tokio::test]
async fn implicit_tls_sends_over_tls_from_the_first_byte() {
    let (ca, acceptor) = tls_pair();
    let sink = SmtpSink::start_with(SinkTls::Implicit(acceptor)).await;
    let smtp = SmtpDeliverer::new(tls_config(sink.port, SmtpSecurity::ImplicitTls, ca)).unwrap();
    smtp.deliver(&mail("ana@example.com")).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].secure);
}

#[tokio::test]
async fn starttls_is_required_never_downgraded_to_plain_text() {
    let (ca, _) = tls_pair();
    let sink = SmtpSink::start().await; // does not offer STARTTLS
    let smtp = SmtpDeliverer::new(tls_config(sink.port, SmtpSecurity::StartTls, ca)).unwrap();
    let err = smtp.deliver(&mail("ana@example.com")).await.unwrap_err();
    let (retryable, f) = failure(&err);
    assert!(!retryable, "{err}");
    assert_eq!(f.recipient, "email:ana@example.com");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    let (_, acceptor) = tls_pair();
    let (other_ca, _) = tls_pair();
    let sink = SmtpSink::start_with(SinkTls::Implicit(acceptor)).await;
    let smtp =
        SmtpDeliverer::new(tls_config(sink.port, SmtpSecurity::ImplicitTls, other_ca)).unwrap();
    let err = smtp.deliver(&mail("ana@example.com")).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(sink.received().is_empty());
}

#[test]
fn bad_root_certificate_is_a_validation_error() {
    let mut c = config(25);
    c.security = SmtpSecurity::StartTls;
    c.root_certificates_pem = vec![b"not a certificate".to_vec()];
    let err = SmtpDeliverer::new(c).unwrap_err();
    assert_eq!(err.field(), Some("rootCertificates[0]"));
}

/// The engine against a server that refuses connections, then accepts: the
/// report completes, the recipients fail retryably and wait for their
/// retry, and the retry job sends each of them exactly one message.
#[tokio::test]
async fn a_server_that_refuses_then_accepts_gets_each_message_once() {
    use chrono::Duration as Span;
    use tokentra_reports::backends::memory::{MemoryCostSource, MemoryStore};
    use tokentra_reports::engine::{Engine, EngineConfig};
    use tokentra_reports::model::*;
    use tokentra_reports::ports::{Clock as _, GeneratedReportStore};

    // A port nobody listens on (yet).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap());
    let store = MemoryStore::new();
    let engine = Engine::builder()
        .cost_source(Arc::new(MemoryCostSource::new()))
        .store(Arc::new(store.clone()))
        .clock(Arc::new(clock.clone()))
        .deliverer(Arc::new(SmtpDeliverer::new(config(port)).unwrap()))
        .config(EngineConfig {
            delivery_backoff: Span::minutes(1),
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    let org = OrganizationId::new();
    let result = engine
        .generate(
            org,
            GenerateReportRequest {
                report_type: Some(ReportType::Executive),
                date_preset: Some(DateRangePreset::LastMonth),
                format: ReportFormat::Json,
                recipients: vec![
                    ReportRecipient::email("cfo@example.com"),
                    ReportRecipient::email("finops@example.com"),
                ],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(result.status, ReportStatus::Completed);
    let r = store.get_report(org, result.report_id).await.unwrap();
    assert!(
        r.distribution_status
            .iter()
            .all(|d| d.status == DeliveryState::Failed && d.next_attempt_at.is_some()),
        "{:?}",
        r.distribution_status
    );

    let sink = SmtpSink::start_at(port).await;
    clock.advance(Span::minutes(1));
    let s = engine.retry_failed_deliveries().await.unwrap();
    assert_eq!((s.sent, s.failed), (2, 0));
    clock.advance(Span::days(1));
    assert_eq!(engine.retry_failed_deliveries().await.unwrap().reports, 0);
    let mut to: Vec<String> = sink
        .received()
        .iter()
        .flat_map(|m| m.rcpt_to.clone())
        .collect();
    to.sort();
    assert_eq!(to, ["<cfo@example.com>", "<finops@example.com>"]);
    let r = store.get_report(org, result.report_id).await.unwrap();
    assert_eq!(r.distributed_at, Some(clock.now() - Span::days(1)));
}
