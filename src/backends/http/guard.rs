//! Outbound safety (SSRF guard): which destinations the HTTP backends may
//! reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// Which destinations the Slack and webhook backends may connect to.
///
/// By default a URL must use `https` and every address its host resolves
/// to must be public: loopback, private (RFC 1918, unique-local IPv6),
/// link-local (which holds the cloud metadata address 169.254.169.254),
/// carrier-grade NAT, unspecified, broadcast, multicast, documentation and
/// reserved ranges are refused, also when reached through IPv4-mapped,
/// IPv4-translated or NAT64 IPv6 forms; local-use NAT64 (64:ff9b:1::/48),
/// 6to4 (2002::/16), Teredo (2001::/32) and discard-only (100::/64) are
/// refused whole. Names are checked at connection time by the client's
/// resolver, so a DNS answer that changes between check and use cannot slip
/// through. Proxies from the environment are not used.
///
/// [`allow_ip`](Self::allow_ip) lets chosen addresses through (tests use it
/// for their loopback servers), [`allow_private_networks`](Self::allow_private_networks)
/// lets every address through (a host whose endpoints are all internal),
/// and [`allow_http`](Self::allow_http) permits plain `http` URLs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed_ips: Vec<IpAddr>,
    allow_private: bool,
    allow_http: bool,
}

impl OutboundPolicy {
    /// The default, strict policy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allow connections to `ip` even if it is not public.
    pub fn allow_ip(mut self, ip: IpAddr) -> Self {
        self.allowed_ips.push(ip);
        self
    }

    /// Allow every address, private ones included (turns the guard off).
    pub fn allow_private_networks(mut self) -> Self {
        self.allow_private = true;
        self
    }

    /// Allow `http://` URLs (plain text) besides `https://`.
    pub fn allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Whether a connection to `ip` is allowed.
    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        self.allow_private || self.allowed_ips.contains(&ip) || is_public(ip)
    }

    /// Check a URL before sending: its scheme, and its host when that is an
    /// IP literal (names are checked when resolved). The error says why.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => return Err("plain http URLs are not allowed (use https)".into()),
            other => return Err(format!("URL scheme {other:?} is not allowed")),
        }
        let ip = match url.host() {
            None => return Err("the URL has no host".into()),
            Some(Host::Domain(_)) => return Ok(()),
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        };
        if self.is_allowed(ip) {
            Ok(())
        } else {
            Err(BlockedAddress(ip).to_string())
        }
    }
}

/// A destination refused by the [`OutboundPolicy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("destination address {0} is not public and not allow-listed")]
pub struct BlockedAddress(pub IpAddr);

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let o = ip.octets();
    let embedded = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    // NAT64 well-known prefix 64:ff9b::/96 and IPv4-translated addresses
    // ::ffff:0:0:0/96 (SIIT) embed an IPv4 address.
    if (s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0))
        || (s[..4].iter().all(|x| *x == 0) && s[4] == 0xffff && s[5] == 0)
    {
        return is_public_v4(embedded);
    }
    !(ip.is_unspecified()
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 0x0001) // local-use NAT64 64:ff9b:1::/48
        || s[0] == 0x2002 // 6to4 (deprecated, reaches embedded IPv4 relays)
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32
        || (s[0] == 0x0100 && s[1..4].iter().all(|x| *x == 0)) // discard-only 100::/64
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..6].iter().all(|x| *x == 0)) // IPv4-compatible (deprecated)
}

/// The client's resolver: resolves with the system resolver, then drops
/// addresses the policy refuses; when none is left the connection fails
/// with [`BlockedAddress`].
#[derive(Debug)]
pub(crate) struct GuardedResolver {
    pub(crate) policy: Arc<OutboundPolicy>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_blocked = None;
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| {
                    let ok = policy.is_allowed(a.ip());
                    if !ok && first_blocked.is_none() {
                        first_blocked = Some(a.ip());
                    }
                    ok
                })
                .collect();
            match (allowed.is_empty(), first_blocked) {
                (true, Some(ip)) => Err(Box::new(BlockedAddress(ip)) as _),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
            // Local-use NAT64, IPv4-translated, 6to4, Teredo, discard-only.
            "64:ff9b:1::a00:1",
            "64:ff9b:1::808:808",
            "::ffff:0:7f00:1",
            "::ffff:0:a9fe:a9fe",
            "2002:7f00:1::1",
            "2002:a00:1::",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "100::1",
        ] {
            assert!(!is_public(ip(s)), "{s} should be refused");
        }
        for s in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "::ffff:0:808:808",
            "64:ff9b::808:808",
            "2001:4860:4860::8888",
        ] {
            assert!(is_public(ip(s)), "{s} should be public");
        }
    }

    #[test]
    fn policy_checks_scheme_and_ip_literals_and_honours_allow_list() {
        let strict = OutboundPolicy::new();
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            strict.check_url(&u("http://example.com/x")),
            Err("plain http URLs are not allowed (use https)".into())
        );
        assert_eq!(
            strict.check_url(&u("https://169.254.169.254/latest/meta-data")),
            Err("destination address 169.254.169.254 is not public and not allow-listed".into())
        );
        assert_eq!(
            strict.check_url(&u("https://[::1]:8443/")),
            Err("destination address ::1 is not public and not allow-listed".into())
        );
        assert_eq!(strict.check_url(&u("https://example.com/x")), Ok(()));
        assert_eq!(
            strict.check_url(&u("ftp://example.com/x")),
            Err("URL scheme \"ftp\" is not allowed".into())
        );
        let tests = OutboundPolicy::new().allow_http().allow_ip(ip("127.0.0.1"));
        assert_eq!(tests.check_url(&u("http://127.0.0.1:9/")), Ok(()));
        assert!(!tests.is_allowed(ip("10.0.0.1")));
        assert!(OutboundPolicy::new()
            .allow_private_networks()
            .is_allowed(ip("10.0.0.1")));
    }

    #[tokio::test]
    async fn resolver_refuses_names_resolving_to_loopback() {
        use reqwest::dns::Resolve;
        let r = GuardedResolver {
            policy: Arc::new(OutboundPolicy::new()),
        };
        let name: reqwest::dns::Name = "localhost".parse().unwrap();
        let err = match r.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        let blocked = err.downcast_ref::<BlockedAddress>().unwrap();
        assert!(blocked.0.is_loopback());
    }
}
