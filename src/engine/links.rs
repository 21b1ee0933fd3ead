//! Signed, expiring download links for archived reports.
//!
//! A link is the base URL with `token={token}` added to its query (built
//! with `url`'s query API: a query the base already has is kept, and a
//! fragment stays after the query). The token is `v1.{org}.{report}.{expires}.{signature}`
//! where `expires` is a Unix timestamp and `signature` is the URL-safe
//! base64 of HMAC-SHA256 over `v1.{org}.{report}.{expires}` with the first
//! signing key. Verification accepts a signature by any configured key (key
//! rotation: add the new key first, keep the old one until its links have
//! expired), compares in constant time, and refuses expired tokens.

use std::fmt;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::model::{OrganizationId, ReportId};
use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Keys and base URL for download links. Keys never appear in `Debug`.
#[derive(Clone)]
pub struct LinkSigner {
    base_url: url::Url,
    keys: Vec<Vec<u8>>,
}

impl fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkSigner")
            .field("base_url", &self.base_url.as_str())
            .field("keys", &format_args!("[{} redacted]", self.keys.len()))
            .finish()
    }
}

/// What a valid token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownloadGrant {
    /// The organization of the report.
    pub organization_id: OrganizationId,
    /// The report.
    pub report_id: ReportId,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

impl LinkSigner {
    /// A signer for links on `base_url` (e.g. `https://app.example.com/reports/download`),
    /// signing with the first of `keys` and accepting any of them.
    ///
    /// # Errors
    /// [`Error::Invalid`] when there is no key, a key is shorter than 32
    /// bytes, or the base URL is not http(s).
    pub fn new(base_url: impl Into<String>, keys: Vec<Vec<u8>>) -> Result<Self> {
        let base_url = crate::model::validate::http_url("downloadBaseUrl", &base_url.into())?;
        if keys.is_empty() {
            return Err(Error::invalid("signingKeys", "at least one key is needed"));
        }
        if let Some(i) = keys.iter().position(|k| k.len() < 32) {
            return Err(Error::invalid(
                format!("signingKeys[{i}]"),
                "a signing key needs at least 32 bytes",
            ));
        }
        Ok(LinkSigner { base_url, keys })
    }

    /// The token for a report, valid until `expires_at`.
    pub fn token(
        &self,
        org: OrganizationId,
        report: ReportId,
        expires_at: DateTime<Utc>,
    ) -> String {
        let payload = format!(
            "v1.{}.{}.{}",
            org.0.simple(),
            report.0.simple(),
            expires_at.timestamp()
        );
        let sig = sign(&self.keys[0], payload.as_bytes());
        format!("{payload}.{sig}")
    }

    /// The download URL of a report valid for `ttl` from `now`.
    pub fn url(
        &self,
        org: OrganizationId,
        report: ReportId,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> String {
        let token = self.token(org, report, now + ttl);
        // The query API keeps the base's own query and fragment intact.
        let mut url = self.base_url.clone();
        url.query_pairs_mut().append_pair("token", &token);
        url.into()
    }

    /// Check a token: well formed, signed by one of the keys, not expired at
    /// `now`.
    ///
    /// # Errors
    /// [`Error::PermissionDenied`] for a malformed, tampered or expired token
    /// (the message says which, without revealing key material).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<DownloadGrant> {
        let denied = |why: &str| Error::PermissionDenied(format!("download link {why}"));
        let (payload, sig) = token
            .rsplit_once('.')
            .ok_or_else(|| denied("is malformed"))?;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| denied("is malformed"))?;
        let valid = self.keys.iter().any(|key| {
            let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
            mac.update(payload.as_bytes());
            mac.verify_slice(&sig).is_ok()
        });
        if !valid {
            return Err(denied("has an invalid signature"));
        }
        let mut parts = payload.split('.');
        let (Some("v1"), Some(org), Some(report), Some(exp), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(denied("is malformed"));
        };
        let org = uuid::Uuid::parse_str(org).map_err(|_| denied("is malformed"))?;
        let report = uuid::Uuid::parse_str(report).map_err(|_| denied("is malformed"))?;
        let exp: i64 = exp.parse().map_err(|_| denied("is malformed"))?;
        let expires_at = DateTime::from_timestamp(exp, 0).ok_or_else(|| denied("is malformed"))?;
        if expires_at <= now {
            return Err(denied("has expired"));
        }
        Ok(DownloadGrant {
            organization_id: OrganizationId(org),
            report_id: ReportId(report),
            expires_at,
        })
    }
}

fn sign(key: &[u8], payload: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Extract the `token` query parameter of a download URL.
pub fn token_from_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap()
    }

    fn signer(keys: &[&[u8; 32]]) -> LinkSigner {
        LinkSigner::new(
            "https://app.example.com/download",
            keys.iter().map(|k| k.to_vec()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let s = signer(&[&[7; 32]]);
        let (org, rep) = (OrganizationId::new(), ReportId::new());
        let url = s.url(org, rep, now(), Duration::hours(1));
        assert!(url.starts_with("https://app.example.com/download?token=v1."));
        let token = token_from_url(&url).unwrap();
        let g = s.verify(&token, now()).unwrap();
        assert_eq!((g.organization_id, g.report_id), (org, rep));
        assert_eq!(g.expires_at, now() + Duration::hours(1));

        let expired = s.verify(&token, now() + Duration::hours(1)).unwrap_err();
        assert!(matches!(&expired, Error::PermissionDenied(m) if m.contains("expired")));

        // Another report id with the same signature.
        let other = ReportId::new();
        let forged = token.replace(&rep.0.simple().to_string(), &other.0.simple().to_string());
        assert!(matches!(
            s.verify(&forged, now()),
            Err(Error::PermissionDenied(_))
        ));
        // A later expiry with the same signature.
        let exp = (now() + Duration::hours(1)).timestamp();
        let longer = token.replace(&exp.to_string(), &(exp + 86_400).to_string());
        assert!(matches!(
            s.verify(&longer, now()),
            Err(Error::PermissionDenied(_))
        ));
        // Flipped signature bits and garbage.
        let mut bad = token.clone();
        let last = bad.pop().unwrap();
        bad.push(if last == 'A' { 'B' } else { 'A' });
        assert!(matches!(
            s.verify(&bad, now()),
            Err(Error::PermissionDenied(_))
        ));
        for junk in ["", ".", "v1", "v1.a.b.c.d", "....", "v1.x.y.1.!!!"] {
            assert!(
                matches!(s.verify(junk, now()), Err(Error::PermissionDenied(_))),
                "{junk}"
            );
        }
    }

    #[test]
    fn key_rotation_signs_with_the_first_and_accepts_all() {
        let old = signer(&[&[1; 32]]);
        let rotated = signer(&[&[2; 32], &[1; 32]]);
        let (org, rep) = (OrganizationId::new(), ReportId::new());
        let old_token = old.token(org, rep, now() + Duration::days(1));
        assert!(rotated.verify(&old_token, now()).is_ok());
        let new_token = rotated.token(org, rep, now() + Duration::days(1));
        assert!(old.verify(&new_token, now()).is_err());
        let retired = signer(&[&[2; 32]]);
        assert!(retired.verify(&old_token, now()).is_err());
        assert!(retired.verify(&new_token, now()).is_ok());
    }

    #[test]
    fn configuration_is_validated_and_keys_are_redacted() {
        assert_eq!(
            LinkSigner::new("https://x.example", vec![])
                .unwrap_err()
                .field(),
            Some("signingKeys")
        );
        assert_eq!(
            LinkSigner::new("https://x.example", vec![vec![0; 8]])
                .unwrap_err()
                .field(),
            Some("signingKeys[0]")
        );
        assert_eq!(
            LinkSigner::new("ftp://x.example", vec![vec![0; 32]])
                .unwrap_err()
                .field(),
            Some("downloadBaseUrl")
        );
        let s = signer(&[&[0xAB; 32]]);
        let dbg = format!("{s:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("171"), "{dbg}");
        let with_query =
            LinkSigner::new("https://x.example/d?tenant=1", vec![vec![0; 32]]).unwrap();
        assert!(with_query
            .url(
                OrganizationId::new(),
                ReportId::new(),
                now(),
                Duration::hours(1)
            )
            .contains("?tenant=1&token=v1."));
        // A fragment stays a fragment: the token goes in the query.
        let with_fragment =
            LinkSigner::new("https://x.example/d#reports", vec![vec![0; 32]]).unwrap();
        let url = with_fragment.url(
            OrganizationId::new(),
            ReportId::new(),
            now(),
            Duration::hours(1),
        );
        assert!(url.starts_with("https://x.example/d?token=v1."), "{url}");
        assert!(url.ends_with("#reports"), "{url}");
        let token = token_from_url(&url).unwrap();
        assert!(with_fragment.verify(&token, now()).is_ok());
    }
}
