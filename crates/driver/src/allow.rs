//! The driver's target allowlist (`--allow-target`): host names, `*.domain` wildcards, IP
//! addresses and CIDR ranges. When a list is set, a test whose URL's host matches none of it is
//! refused with a reason the orchestrator shows.

use std::net::IpAddr;

/// One allowed target pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetPattern {
    /// An exact host name (case-insensitive).
    Host(String),
    /// `*.example.com`: any subdomain of the suffix.
    Suffix(String),
    /// An address range, `10.0.0.0/8`; a single address is a /32 or /128.
    Cidr {
        /// Network address.
        network: IpAddr,
        /// Prefix length.
        prefix: u8,
    },
}

impl TargetPattern {
    /// Parses `host`, `*.domain`, `1.2.3.4`, `127.0.0.0/8`, `::1` or `fd00::/8`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        if t.is_empty() {
            return Err("empty target pattern".to_owned());
        }
        if let Some((ip, prefix)) = t.split_once('/') {
            let network: IpAddr = ip
                .parse()
                .map_err(|_| format!("`{text}`: not an IP range"))?;
            let max = if network.is_ipv4() { 32 } else { 128 };
            let prefix: u8 = prefix
                .parse()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{text}`: prefix must be 0..={max}"))?;
            return Ok(TargetPattern::Cidr { network, prefix });
        }
        if let Ok(ip) = t.trim_matches(['[', ']']).parse::<IpAddr>() {
            let prefix = if ip.is_ipv4() { 32 } else { 128 };
            return Ok(TargetPattern::Cidr {
                network: ip,
                prefix,
            });
        }
        if let Some(suffix) = t.strip_prefix("*.") {
            return Ok(TargetPattern::Suffix(format!(".{suffix}")));
        }
        if t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Ok(TargetPattern::Host(t));
        }
        Err(format!(
            "`{text}`: expected a host, *.domain, an IP address or a CIDR range"
        ))
    }

    fn matches_host(&self, host: &str) -> bool {
        match self {
            TargetPattern::Host(h) => h == host,
            TargetPattern::Suffix(s) => host.ends_with(s.as_str()),
            TargetPattern::Cidr { .. } => false,
        }
    }

    fn matches_ip(&self, ip: IpAddr) -> bool {
        let TargetPattern::Cidr { network, prefix } = self else {
            return false;
        };
        match (network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(*n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(*n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Checks `host` (and the addresses it resolved to) against `patterns`. An empty list allows
/// everything. A host name is allowed if a host pattern matches it, or if every address it
/// resolves to is inside an allowed range.
pub fn check(patterns: &[TargetPattern], host: &str, resolved: &[IpAddr]) -> Result<(), String> {
    if patterns.is_empty() {
        return Ok(());
    }
    let host = host.trim_matches(['[', ']']).to_ascii_lowercase();
    if patterns.iter().any(|p| p.matches_host(&host)) {
        return Ok(());
    }
    let literal = host.parse::<IpAddr>().ok();
    let addresses: Vec<IpAddr> = literal
        .into_iter()
        .chain(resolved.iter().copied())
        .collect();
    if !addresses.is_empty()
        && addresses
            .iter()
            .all(|ip| patterns.iter().any(|p| p.matches_ip(*ip)))
    {
        return Ok(());
    }
    Err(format!(
        "target host `{host}` is not in this driver's --allow-target list"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(list: &[&str]) -> Vec<TargetPattern> {
        list.iter()
            .map(|p| TargetPattern::parse(p).unwrap())
            .collect()
    }

    #[test]
    fn hosts_wildcards_and_ranges() {
        let allow = patterns(&[
            "127.0.0.0/8",
            "api.example.com",
            "*.staging.example.com",
            "::1",
        ]);
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(check(&allow, "127.0.0.1", &[]).is_ok());
        assert!(check(&allow, "localhost", &[local]).is_ok());
        assert!(check(&allow, "API.example.com", &[]).is_ok());
        assert!(check(&allow, "a.staging.example.com", &[]).is_ok());
        assert!(check(&allow, "[::1]", &[]).is_ok());
        assert!(check(&allow, "staging.example.com", &[]).is_err());
        assert!(check(&allow, "10.0.0.1", &[]).is_err());
        let mixed: IpAddr = "10.1.1.1".parse().unwrap();
        assert!(
            check(&allow, "sneaky.test", &[local, mixed]).is_err(),
            "every address must be allowed"
        );
        assert!(check(&allow, "unresolved.test", &[]).is_err());
        assert!(check(&[], "anything", &[]).is_ok());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["", "10.0.0.0/33", "not a host", "1.2.3.4/x"] {
            assert!(TargetPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            TargetPattern::parse("0.0.0.0/0").unwrap(),
            TargetPattern::Cidr {
                network: "0.0.0.0".parse().unwrap(),
                prefix: 0
            }
        );
        assert!(check(&patterns(&["0.0.0.0/0"]), "8.8.8.8", &[]).is_ok());
    }
}
