//! The SSRF guard for webhook destinations: an endpoint must be `https://` and resolve only
//! to public addresses; loopback, private, shared (CGNAT), link-local (cloud metadata at
//! 169.254.169.254), unique-local, multicast and unspecified addresses are refused, when
//! the endpoint is saved and again at delivery time (the delivery client resolves through
//! [`GuardedResolver`], so a name re-pointed after saving is caught too).
//! `CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE=true` lifts the guard (and allows plain http to a
//! private host).

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use url::Url;

/// How long one delivery may take, connection included.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a destination is refused; the message tells the merchant what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("Enter a full URL such as https://partner.example.com/webhooks.")]
    NotAUrl,
    #[error("The URL must start with https:// (webhooks carry your data).")]
    NotHttps,
    #[error("The URL must not contain a user name or password.")]
    Credentials,
    #[error("The host {0} could not be found.")]
    Unresolvable(String),
    #[error(
        "{host} resolves to {ip}, a {kind} address. Webhooks go only to public addresses \
         (a self-hosted install can allow private ones with CARTBRIDGE_WEBHOOK_ALLOW_PRIVATE=true)."
    )]
    Private {
        host: String,
        ip: IpAddr,
        kind: &'static str,
    },
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn non_public_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_kind(v4),
            None => v6_kind(v6),
        },
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if ip.is_private() {
        Some("private")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_multicast() || ip.is_broadcast() || o[0] >= 240 {
        Some("multicast or reserved")
    } else {
        None
    }
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local (private)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if let Some(v4) = ip.to_ipv4() {
        // IPv4-compatible (::a.b.c.d) forms.
        v4_kind(v4)
    } else {
        None
    }
}

fn check_ip(host: &str, ip: IpAddr, allow_private: bool) -> Result<(), Refused> {
    match non_public_kind(ip) {
        Some(kind) if !allow_private => Err(Refused::Private {
            host: host.to_owned(),
            ip,
            kind,
        }),
        _ => Ok(()),
    }
}

/// Whether the URL's host is `localhost` or a non-public IP literal.
fn is_private_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => non_public_kind(IpAddr::V4(ip)).is_some(),
        Some(url::Host::Ipv6(ip)) => non_public_kind(IpAddr::V6(ip)).is_some(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Parses and checks a destination URL without resolving it (shape, scheme, IP literals).
pub fn check_shape(raw: &str, allow_private: bool) -> Result<Url, Refused> {
    let url = Url::parse(raw.trim()).map_err(|_| Refused::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        // Plain http only to a private host (a receiver beside a self-hosted install), and
        // only when private destinations are allowed.
        "http" if allow_private && is_private_host(&url) => {}
        "http" => return Err(Refused::NotHttps),
        _ => return Err(Refused::NotAUrl),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused::Credentials);
    }
    match url.host() {
        None => return Err(Refused::NotAUrl),
        Some(url::Host::Ipv4(ip)) => check_ip(&ip.to_string(), IpAddr::V4(ip), allow_private)?,
        Some(url::Host::Ipv6(ip)) => check_ip(&ip.to_string(), IpAddr::V6(ip), allow_private)?,
        Some(url::Host::Domain(_)) => {}
    }
    Ok(url)
}

/// Checks a destination when an endpoint is saved: shape, then every address its host
/// resolves to.
pub async fn check_destination(raw: &str, allow_private: bool) -> Result<Url, Refused> {
    let url = check_shape(raw, allow_private)?;
    if let Some(url::Host::Domain(host)) = url.host() {
        resolve_public(host, allow_private).await?;
    }
    Ok(url)
}

async fn resolve_public(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, Refused> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 443))
        .await
        .map_err(|_| Refused::Unresolvable(host.to_owned()))?
        .collect();
    if addrs.is_empty() {
        return Err(Refused::Unresolvable(host.to_owned()));
    }
    for addr in &addrs {
        check_ip(host, addr.ip(), allow_private)?;
    }
    Ok(addrs)
}

/// The delivery client's resolver: refuses names resolving to non-public addresses.
pub struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve_public(name.as_str(), allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client deliveries are sent with: 10 s timeout, no redirects (a 3xx is a failed
/// attempt, never a hop to an unchecked address), no proxy, the guarded resolver.
pub fn http_client(allow_private: bool) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(DELIVERY_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("cartbridge-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_named() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local (cloud metadata)"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("0.0.0.0", "unspecified"),
            ("::1", "loopback"),
            ("fe80::1", "link-local"),
            ("fd00:ec2::254", "unique-local (private)"),
            ("::ffff:127.0.0.1", "loopback"),
        ] {
            assert_eq!(non_public_kind(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert_eq!(non_public_kind(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn only_https_urls_to_public_literals_pass_unless_private_is_allowed() {
        assert!(check_shape("https://93.184.216.34/hook", false).is_ok());
        assert_eq!(
            check_shape("http://example.com/hook", false),
            Err(Refused::NotHttps)
        );
        assert!(matches!(
            check_shape("https://127.0.0.1:8443/hook", false),
            Err(Refused::Private { .. })
        ));
        assert!(matches!(
            check_shape("https://[::1]/hook", false),
            Err(Refused::Private { .. })
        ));
        assert_eq!(
            check_shape("https://u:p@example.com/", false),
            Err(Refused::Credentials)
        );
        assert_eq!(
            check_shape("ftp://example.com/", false),
            Err(Refused::NotAUrl)
        );
        assert!(check_shape("http://127.0.0.1:9000/hook", true).is_ok());
        assert_eq!(
            check_shape("http://example.com/hook", true),
            Err(Refused::NotHttps),
            "plain http only to a private host"
        );
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let refused = check_destination("https://localhost/hook", false).await;
        assert!(
            matches!(refused, Err(Refused::Private { .. })),
            "{refused:?}"
        );
    }
}
