//! `CARTBRIDGE_TRUSTED_PROXIES`: the reverse proxies whose `X-Forwarded-For` is believed
//! when the per-address limits and the login throttle name the client. A request from any
//! other peer is counted by its peer address, whatever header it sends. Behind a trusted
//! proxy, the client is the rightmost address of `X-Forwarded-For` that is not itself a
//! trusted proxy (a client cannot spoof past the proxy, which appends what it saw).

use std::net::IpAddr;

/// One CIDR block, e.g. `10.0.0.0/8` or `::1/128` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("“{text}” is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("“{text}” has a prefix length that is not 0–{max}"))?,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The trusted proxies (empty: none, the peer is always the client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// A comma- or space-separated list of CIDR blocks.
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split([',', ' '])
            .filter(|p| !p.trim().is_empty())
            .map(Cidr::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client behind `peer`, given the request's `X-Forwarded-For` values in order.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .iter()
            .flat_map(|h| h.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.trusts(ip) {
                        break;
                    }
                }
                // Junk in the header: stop at the last address we could read.
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_peers_header_is_believed() {
        let t = TrustedProxies::parse("10.0.0.0/8, ::1").unwrap();
        assert_eq!(t.client(ip("203.0.113.9"), &["1.2.3.4"]), ip("203.0.113.9"));
        assert_eq!(t.client(ip("10.1.2.3"), &["1.2.3.4"]), ip("1.2.3.4"));
        // A client's own spoofed entry sits left of what the proxy saw.
        assert_eq!(
            t.client(ip("10.1.2.3"), &["9.9.9.9, 1.2.3.4"]),
            ip("1.2.3.4")
        );
        assert_eq!(
            t.client(ip("10.1.2.3"), &["1.2.3.4, 10.9.9.9"]),
            ip("1.2.3.4")
        );
        assert_eq!(t.client(ip("::1"), &[]), ip("::1"));
        assert_eq!(t.client(ip("10.1.2.3"), &["junk"]), ip("10.1.2.3"));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("example.com").is_err());
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
    }
}
