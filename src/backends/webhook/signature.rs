//! Standard Webhooks signatures (<https://www.standardwebhooks.com>):
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::{Error, Result};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Header carrying the message id (the delivery's idempotency key).
pub const HEADER_ID: &str = "webhook-id";
/// Header carrying the Unix timestamp (seconds) of the attempt.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header carrying the space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Shortest accepted key, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// A signing secret: `whsec_` followed by the base64 of the key bytes.
/// Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct WebhookSecret {
    key: Vec<u8>,
    keyed: HmacSha256,
}

impl PartialEq for WebhookSecret {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for WebhookSecret {}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

impl WebhookSecret {
    /// Parse `whsec_<base64>` (the prefix may be omitted). The key must
    /// have at least [`MIN_SECRET_BYTES`] bytes. Errors are
    /// [`Error::Invalid`] on field `secret`, without the secret.
    pub fn parse(text: &str) -> Result<Self> {
        // Padding optional, as the Standard Webhooks libraries read it.
        const LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        let b64 = text.trim().strip_prefix("whsec_").unwrap_or(text.trim());
        let key = LENIENT
            .decode(b64)
            .map_err(|_| Error::invalid("secret", "not a whsec_ base64 secret"))?;
        Self::from_bytes(key)
    }

    /// A secret from raw key bytes (at least [`MIN_SECRET_BYTES`]).
    pub fn from_bytes(key: impl Into<Vec<u8>>) -> Result<Self> {
        let key = key.into();
        if key.len() < MIN_SECRET_BYTES {
            return Err(Error::invalid(
                "secret",
                format!(
                    "the key has {} bytes, at least {MIN_SECRET_BYTES} are required",
                    key.len()
                ),
            ));
        }
        let keyed = HmacSha256::new_from_slice(&key)
            .map_err(|_| Error::invalid("secret", "not a valid HMAC key"))?;
        Ok(WebhookSecret { key, keyed })
    }

    /// The secret in `whsec_<base64>` form (to hand to a receiver).
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", B64.encode(&self.key))
    }

    fn mac(&self, msg_id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// `v1,<base64 signature>` of `msg_id.timestamp.body`.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(msg_id, &timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("v1,{}", B64.encode(tag))
    }
}

/// The `webhook-signature` value: one `v1,` signature per secret,
/// space-separated, so a receiver holding either the old or the new secret
/// verifies during a key rotation.
pub fn signature_header(
    secrets: &[WebhookSecret],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The three headers of a received webhook, as strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedHeaders<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    /// `webhook-timestamp`.
    pub timestamp: &'a str,
    /// `webhook-signature`.
    pub signature: &'a str,
}

/// Default tolerance of [`verify`]: five minutes either way.
pub fn default_tolerance() -> Duration {
    Duration::minutes(5)
}

/// Verify a received webhook (for receivers).
///
/// Accepts when any `v1` signature in the header matches any of `secrets`
/// (compared in constant time) and the timestamp is within `tolerance` of
/// `now` (either way, against replays). Signatures of other versions are
/// ignored.
///
/// Errors: a malformed header is [`Error::Invalid`] naming the header
/// (`webhook-timestamp`, `webhook-signature`, `webhook-id`); a timestamp
/// outside the tolerance or no matching signature is
/// [`Error::PermissionDenied`].
pub fn verify(
    secrets: &[WebhookSecret],
    headers: &SignedHeaders<'_>,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<()> {
    if headers.id.is_empty() {
        return Err(Error::invalid(HEADER_ID, "missing"));
    }
    let ts: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| Error::invalid(HEADER_TIMESTAMP, "not a Unix timestamp in seconds"))?;
    let skew = now.timestamp().abs_diff(ts);
    if skew > tolerance.num_seconds().unsigned_abs() {
        return Err(Error::PermissionDenied(format!(
            "webhook timestamp is {skew} s away from now (tolerance {} s)",
            tolerance.num_seconds()
        )));
    }
    let mut any_v1 = false;
    for part in headers.signature.split_whitespace() {
        let Some(b64) = part.strip_prefix("v1,") else {
            continue;
        };
        any_v1 = true;
        let Ok(tag) = B64.decode(b64) else {
            continue;
        };
        for secret in secrets {
            if secret
                .mac(headers.id, headers.timestamp.trim(), body)
                .verify_slice(&tag)
                .is_ok()
            {
                return Ok(());
            }
        }
    }
    if !any_v1 {
        return Err(Error::invalid(HEADER_SIGNATURE, "no v1 signature"));
    }
    Err(Error::PermissionDenied(
        "no webhook signature matches".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    // Test vector of the Standard Webhooks reference libraries.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn at(ts: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(ts, 0).unwrap()
    }

    #[test]
    fn signs_the_reference_vector() {
        let s = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(s.sign(MSG_ID, TS, BODY), SIG);
        assert_eq!(s.to_whsec(), SECRET);
    }

    #[test]
    fn verifies_valid_and_refuses_tampered_old_or_unsigned() {
        let s = WebhookSecret::parse(SECRET).unwrap();
        let h = SignedHeaders {
            id: MSG_ID,
            timestamp: "1614265330",
            signature: SIG,
        };
        let tol = default_tolerance();
        verify(std::slice::from_ref(&s), &h, BODY, at(TS + 299), tol).unwrap();

        let err = verify(std::slice::from_ref(&s), &h, b"{\"test\": 1}", at(TS), tol).unwrap_err();
        assert!(
            matches!(err, Error::PermissionDenied(ref m) if m == "no webhook signature matches")
        );

        let err = verify(std::slice::from_ref(&s), &h, BODY, at(TS + 301), tol).unwrap_err();
        assert!(
            matches!(err, Error::PermissionDenied(ref m) if m == "webhook timestamp is 301 s away from now (tolerance 300 s)")
        );

        let bad_ts = SignedHeaders {
            timestamp: "yesterday",
            ..h
        };
        let err = verify(std::slice::from_ref(&s), &bad_ts, BODY, at(TS), tol).unwrap_err();
        assert_eq!(err.field(), Some("webhook-timestamp"));

        let v2 = SignedHeaders {
            signature: "v2,abc",
            ..h
        };
        let err = verify(std::slice::from_ref(&s), &v2, BODY, at(TS), tol).unwrap_err();
        assert_eq!(err.field(), Some("webhook-signature"));
    }

    #[test]
    fn rotation_header_verifies_with_either_secret() {
        let old = WebhookSecret::from_bytes(vec![1u8; 32]).unwrap();
        let new = WebhookSecret::from_bytes(vec![2u8; 32]).unwrap();
        let header = signature_header(&[new.clone(), old.clone()], "id-1", TS, BODY);
        assert_eq!(header.split(' ').count(), 2);
        let h = SignedHeaders {
            id: "id-1",
            timestamp: "1614265330",
            signature: &header,
        };
        verify(&[old], &h, BODY, at(TS), default_tolerance()).unwrap();
        verify(&[new], &h, BODY, at(TS), default_tolerance()).unwrap();
        let other = WebhookSecret::from_bytes(vec![3u8; 32]).unwrap();
        assert!(matches!(
            verify(&[other], &h, BODY, at(TS), default_tolerance()),
            Err(Error::PermissionDenied(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn signatures_verify_and_any_body_change_is_refused(
            key in proptest::collection::vec(proptest::num::u8::ANY, 16..64),
            id in "[a-zA-Z0-9_:-]{1,40}",
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            flip in 0usize..200,
        ) {
            let s = WebhookSecret::from_bytes(key).unwrap();
            let sig = s.sign(&id, TS, &body);
            let h = SignedHeaders { id: &id, timestamp: "1614265330", signature: &sig };
            let secrets = std::slice::from_ref(&s);
            proptest::prop_assert!(verify(secrets, &h, &body, at(TS), default_tolerance()).is_ok());
            let mut tampered = body.clone();
            match tampered.get_mut(flip) {
                Some(b) => *b ^= 1,
                None => tampered.push(b'x'),
            }
            proptest::prop_assert!(matches!(
                verify(secrets, &h, &tampered, at(TS), default_tolerance()),
                Err(Error::PermissionDenied(_))
            ));
        }
    }

    #[test]
    fn secrets_are_validated_and_never_debug_printed() {
        let s = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(format!("{s:?}"), "WebhookSecret(<redacted>)");
        let err = WebhookSecret::parse("whsec_c2hvcnQ=").unwrap_err();
        assert_eq!(err.field(), Some("secret"));
        assert_eq!(
            err.to_string(),
            "invalid secret: the key has 5 bytes, at least 16 are required"
        );
        // Without its base64 padding, the same secret.
        let padded = "whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGQ==";
        let unpadded = padded.trim_end_matches('=');
        assert_ne!(unpadded, padded, "the test secret has padding");
        assert_eq!(WebhookSecret::parse(unpadded).unwrap().to_whsec(), padded);
        let err = WebhookSecret::parse("whsec_!!!").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid secret: not a whsec_ base64 secret"
        );
    }
}
