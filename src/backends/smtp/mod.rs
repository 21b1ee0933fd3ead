//! E-mail delivery over SMTP (feature `smtp`), through lettre's tokio
//! transport with rustls (ring, webpki roots; no system TLS library).
//!
//! ## Messages
//!
//! - A **report** mail is `multipart/mixed`: the body, then the report file
//!   as an attachment with its MIME type and file name. The body is
//!   `multipart/alternative` (plain text, then HTML) when the delivery has
//!   HTML, else `text/plain`.
//! - A **digest** mail is the body alone (`multipart/alternative` or
//!   `text/plain`), never with an attachment.
//! - **Size cap** ([`SmtpConfig::max_message_bytes`], default 10 MB,
//!   measured on the encoded message, so base64 growth counts): a report
//!   whose message would be larger is sent without the file, with a note
//!   and the signed download link in both bodies (without a link, the note
//!   points to the report archive).
//! - `From` and `Reply-To` come from the configuration, `Date` from the
//!   [`Clock`], and `Message-ID` is derived from the delivery's idempotency
//!   key (`<key@from-domain>`), so a retried mail carries the same id and
//!   receivers can drop duplicates.
//!
//! ## Errors
//!
//! Every failure is an [`Error::Backend`] (backend `smtp`) whose source is
//! a [`DeliveryFailure`] naming the recipient. A bad recipient address, a
//! permanent (5xx) answer, a server without the required `STARTTLS`, or a
//! TLS failure (untrusted certificate, handshake) is not retryable; a transient
//! (4xx) answer, a timeout or a lost connection is. The transport does not
//! retry on its own: the engine retries retryable failures later.

mod message;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::backends::memory::SystemClock;
use crate::backends::routing::DeliveryFailure;
use crate::model::RecipientKind;
use crate::ports::{Clock, Deliverer, Delivery, DeliveryReceipt};
use crate::{Error, Result};

/// Default [`SmtpConfig::max_message_bytes`]: 10 MB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with `STARTTLS`, which is required
    /// (default port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("SMTPS", default port 465).
    ImplicitTls,
    /// No encryption (default port 25): only for a relay on the same host
    /// or a trusted local network.
    Plain,
}

impl SmtpSecurity {
    /// The port used when [`SmtpConfig::port`] is not set.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::Plain => 25,
        }
    }
}

/// User name and password for SMTP `AUTH`. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    /// User name.
    pub username: String,
    password: String,
}

impl SmtpCredentials {
    /// Credentials.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        SmtpCredentials {
            username: username.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Configuration of an [`SmtpDeliverer`].
///
/// Defaults ([`SmtpConfig::new`]): `STARTTLS` on port 587, no credentials,
/// no `Reply-To`, 10 MB message cap, 30 s timeout per SMTP command, the
/// system clock.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Server host name (also the name checked in its TLS certificate).
    pub host: String,
    /// Port; `None` uses [`SmtpSecurity::default_port`].
    pub port: Option<u16>,
    /// Connection security.
    pub security: SmtpSecurity,
    /// `AUTH` credentials.
    pub credentials: Option<SmtpCredentials>,
    /// `From` mailbox, e.g. `Cost Reports <reports@example.com>`.
    pub from: String,
    /// `Reply-To` mailbox.
    pub reply_to: Option<String>,
    /// Largest encoded message with an attachment; above it the file is
    /// replaced by the download link.
    pub max_message_bytes: usize,
    /// Timeout of each SMTP command.
    pub timeout: Duration,
    /// Name sent in `EHLO`; `None` sends `localhost`.
    pub hello_name: Option<String>,
    /// Extra root certificates (PEM) trusted besides the public web roots,
    /// for a relay whose certificate comes from a private CA. Ignored with
    /// [`SmtpSecurity::Plain`].
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// Where the `Date` header comes from.
    pub clock: Arc<dyn Clock>,
}

impl SmtpConfig {
    /// A configuration for `host` sending as `from`, with the defaults.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        SmtpConfig {
            host: host.into(),
            port: None,
            security: SmtpSecurity::StartTls,
            credentials: None,
            from: from.into(),
            reply_to: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            timeout: Duration::from_secs(30),
            hello_name: None,
            root_certificates_pem: Vec::new(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("credentials", &self.credentials)
            .field("from", &self.from)
            .field("reply_to", &self.reply_to)
            .field("max_message_bytes", &self.max_message_bytes)
            .field("timeout", &self.timeout)
            .field("hello_name", &self.hello_name)
            .field("root_certificates", &self.root_certificates_pem.len())
            .finish_non_exhaustive()
    }
}

/// Delivers to recipients of kind `email`. See the [module docs](self).
#[derive(Clone)]
pub struct SmtpDeliverer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    max_message_bytes: usize,
    clock: Arc<dyn Clock>,
    summary: String,
}

impl fmt::Debug for SmtpDeliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpDeliverer")
            .field("server", &self.summary)
            .field("from", &self.from.to_string())
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_msg = s.to_string();
        if !msg.contains(&s_msg) {
            msg.push_str(": ");
            msg.push_str(&s_msg);
        }
        source = s.source();
    }
    msg
}

impl SmtpDeliverer {
    /// A deliverer. Connects lazily, on the first delivery.
    /// [`Error::Invalid`] on `from` or `replyTo` when not a mailbox, on
    /// `host` when TLS cannot be set up for it.
    pub fn new(config: SmtpConfig) -> Result<Self> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| Error::invalid("from", format!("not a mailbox: {e}")))?;
        let reply_to = match &config.reply_to {
            Some(r) => Some(
                r.parse::<Mailbox>()
                    .map_err(|e| Error::invalid("replyTo", format!("not a mailbox: {e}")))?,
            ),
            None => None,
        };
        let builder = match config.security {
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
                    .map_err(|e| Error::invalid("host", chain(&e)))?
            }
            SmtpSecurity::ImplicitTls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)
                .map_err(|e| Error::invalid("host", chain(&e)))?,
            SmtpSecurity::Plain => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            }
        };
        let port = config.port.unwrap_or(config.security.default_port());
        let mut builder = builder.port(port).timeout(Some(config.timeout));
        if !config.root_certificates_pem.is_empty() && config.security != SmtpSecurity::Plain {
            let mut params = TlsParameters::builder(config.host.clone());
            for (i, pem) in config.root_certificates_pem.iter().enumerate() {
                let field = || format!("rootCertificates[{i}]");
                if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(Error::invalid(field(), "no PEM certificate found"));
                }
                let cert =
                    Certificate::from_pem(pem).map_err(|e| Error::invalid(field(), chain(&e)))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| Error::invalid("rootCertificates", chain(&e)))?;
            builder = builder.tls(match config.security {
                SmtpSecurity::ImplicitTls => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        if let Some(c) = &config.credentials {
            builder = builder.credentials(Credentials::new(c.username.clone(), c.password.clone()));
        }
        if let Some(h) = &config.hello_name {
            builder = builder.hello_name(ClientId::Domain(h.clone()));
        }
        Ok(SmtpDeliverer {
            transport: builder.build(),
            from,
            reply_to,
            max_message_bytes: config.max_message_bytes,
            clock: config.clock,
            summary: format!("{}:{port} ({:?})", config.host, config.security),
        })
    }
}

/// Whether a TLS error (bad or untrusted certificate, handshake failure)
/// is somewhere in the chain: configuration, not worth retrying soon.
fn has_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
        }
        current = err.source();
    }
    false
}

fn is_retryable(e: &lettre::transport::smtp::Error) -> bool {
    if e.is_transient() || e.is_timeout() {
        return true;
    }
    !(e.is_permanent() || e.is_client() || e.is_tls() || e.is_response() || has_tls_failure(e))
}

#[async_trait]
impl Deliverer for SmtpDeliverer {
    fn supports(&self, kind: RecipientKind) -> bool {
        kind == RecipientKind::Email
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<DeliveryReceipt> {
        let recipient = &delivery.recipient;
        let fail = |reason: String, retryable: bool| {
            DeliveryFailure::new(recipient, reason).into_error("smtp", retryable)
        };
        if recipient.kind != RecipientKind::Email {
            return Err(fail("not an e-mail recipient".into(), false));
        }
        let address: Address = recipient
            .address
            .trim()
            .parse()
            .map_err(|e| fail(format!("not an e-mail address: {e}"), false))?;
        let to = Mailbox::new(recipient.name.clone(), address);
        let env = message::Envelope {
            from: &self.from,
            reply_to: self.reply_to.as_ref(),
            to,
            now: self.clock.now(),
            max_bytes: self.max_message_bytes,
        };
        let composed = message::compose(&env, delivery)
            .map_err(|e| fail(format!("cannot compose the message: {}", chain(&e)), false))?;
        let id = message::message_id(&delivery.idempotency_key, &self.from);
        self.transport
            .send(composed.message)
            .await
            .map_err(|e| fail(chain(&e), is_retryable(&e)))?;
        Ok(DeliveryReceipt {
            message_id: Some(id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let mut c = SmtpConfig::new("smtp.example.com", "Reports <reports@example.com>");
        c.credentials = Some(SmtpCredentials::new("mailer", "hunter2-secret"));
        let text = format!("{c:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
        let d = SmtpDeliverer::new(c).unwrap();
        let text = format!("{d:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("smtp.example.com:587 (StartTls)"), "{text}");
    }

    #[test]
    fn bad_from_is_a_validation_error() {
        let err = SmtpDeliverer::new(SmtpConfig::new("localhost", "not an address")).unwrap_err();
        assert_eq!(err.field(), Some("from"));
        let mut c = SmtpConfig::new("localhost", "reports@example.com");
        c.reply_to = Some("@@".into());
        assert_eq!(SmtpDeliverer::new(c).unwrap_err().field(), Some("replyTo"));
    }
}
