//! Target URLs: what a load test can send to, parsed once with the `url` crate, and the subset the
//! OpenAPI document shows as a pattern.

/// The part of the URL patterns after the scheme, as one literal for `concat!`.
macro_rules! after_scheme {
    () => {
        concat!(
    "(([A-Za-z0-9-]+[.])*[A-Za-z][A-Za-z0-9-]*",
    "|((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    // IPv6 in brackets, full or compressed (as a URL is written back: `[::31c]`).
    "|\\[(([0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|([0-9A-Fa-f]{1,4}:){1,7}:|([0-9A-Fa-f]{1,4}:){1,6}(:[0-9A-Fa-f]{1,4}){1,1}|([0-9A-Fa-f]{1,4}:){1,5}(:[0-9A-Fa-f]{1,4}){1,2}|([0-9A-Fa-f]{1,4}:){1,4}(:[0-9A-Fa-f]{1,4}){1,3}|([0-9A-Fa-f]{1,4}:){1,3}(:[0-9A-Fa-f]{1,4}){1,4}|([0-9A-Fa-f]{1,4}:){1,2}(:[0-9A-Fa-f]{1,4}){1,5}|([0-9A-Fa-f]{1,4}:){1,1}(:[0-9A-Fa-f]{1,4}){1,6}|:((:[0-9A-Fa-f]{1,4}){1,7}|:))\\])",
    "(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
    "([/?][A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$",
        )
    };
}

/// The URLs the OpenAPI document shows, as a regular expression: a subset of what [`parse_url`]
/// accepts (which also takes IDN hosts and every IPv6 form). Scheme `http` or `https` (any
/// case); a host name whose last label starts with a letter, a dotted IPv4 address, or an IPv6
/// address in brackets (eight groups or compressed, as `[::1]`: a URL is written back
/// compressed); an optional port 1 to 65535; then an optional path and query of URL characters.
pub const URL_PATTERN: &str = concat!("^[Hh][Tt][Tt][Pp]([Ss])?://", after_scheme!());

/// [`URL_PATTERN`] with the scheme `http` only: what an OTLP endpoint may be (the export speaks
/// no TLS).
pub const HTTP_URL_PATTERN: &str = concat!("^[Hh][Tt][Tt][Pp]://", after_scheme!());

/// Characters a path and query may hold as written: URL characters and percent escapes.
const PATH_CHARS: &[u8] = b"._~!$&'()*+,;=:@%/?-";

/// Parses a target URL with the `url` crate (WHATWG rules: IPv6 literals in brackets, IDN
/// hosts turned to punycode) and refuses what a load test cannot use, saying what is wrong:
/// another scheme, user info, a fragment, port 0, an empty or zero-padded port, characters that
/// need percent-encoding in the path or query.
pub fn parse_url(text: &str) -> Result<url::Url, String> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err("must be an absolute URL starting with http:// or https://".to_owned());
    };
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return Err(format!(
            "scheme `{scheme}` is not supported: use http:// or https://"
        ));
    }
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    if authority.is_empty() {
        return Err("has no host".to_owned());
    }
    if authority.contains('@') {
        return Err(
            "must not contain user info (user:password@): send credentials in a header such \
             as Authorization"
                .to_owned(),
        );
    }
    if tail.contains('#') {
        return Err("must not contain a fragment (#...): it is never sent to a server".to_owned());
    }
    if let Some(bad) = tail.chars().find(|c| {
        !(c.is_ascii() && (c.is_ascii_alphanumeric() || PATH_CHARS.contains(&(*c as u8))))
    }) {
        return Err(format!(
            "the path and query must be percent-encoded: {bad:?} is not allowed as written"
        ));
    }
    // The port as written: after the closing bracket of an IPv6 literal, else after the last `:`.
    let after_host = match authority.rfind(']') {
        Some(end) => &authority[end + 1..],
        None => authority.rfind(':').map_or("", |i| &authority[i..]),
    };
    if let Some(port) = after_host.strip_prefix(':') {
        if port.is_empty() {
            return Err("has an empty port after `:`".to_owned());
        }
        if port.len() > 1 && port.starts_with('0') {
            return Err(format!("port `{port}` must not start with 0"));
        }
    }
    let url = url::Url::parse(text).map_err(|e| match e {
        url::ParseError::EmptyHost => "has no host".to_owned(),
        url::ParseError::InvalidPort => "has an invalid port: give 1 to 65535".to_owned(),
        url::ParseError::InvalidIpv6Address => {
            "has an invalid IPv6 address: write it in brackets, like http://[::1]:8080/".to_owned()
        }
        url::ParseError::InvalidIpv4Address => "has an invalid IPv4 address".to_owned(),
        url::ParseError::InvalidDomainCharacter | url::ParseError::IdnaError => {
            "has an invalid host name".to_owned()
        }
        other => format!("is not a valid URL: {other}"),
    })?;
    if url.host().is_none() {
        return Err("has no host".to_owned());
    }
    if url.port() == Some(0) {
        return Err("port 0 cannot be connected to: give 1 to 65535".to_owned());
    }
    Ok(url)
}

/// Whether [`parse_url`] accepts `url`.
pub fn valid_url(url: &str) -> bool {
    parse_url(url).is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_follow_the_documented_grammar() {
        for ok in [
            "http://127.0.0.1:8080/ping",
            "HTTPS://example.com",
            "http://localhost:9000/x?y=1&z=%20",
            "http://h?q",
            "http://[::1]:8080/ping",
            "http://bücher.example/",
        ] {
            assert!(valid_url(ok), "{ok}");
        }
        for (bad, says) in [
            ("http://h:0/", "port 0"),
            ("http://u:p@h/", "user info"),
            ("http://h/#x", "fragment"),
            ("http:///x", "no host"),
            ("http://[::1/", "IPv6"),
        ] {
            let message = parse_url(bad).unwrap_err();
            assert!(message.contains(says), "{bad}: {message}");
        }
        for bad in [
            "http://",
            "ftp://x",
            "http://[::1",
            "http://h:/",
            "http://h:1x/",
            "http://h/\u{0}",
            "http://h:080/",
        ] {
            assert!(!valid_url(bad), "{bad}");
        }
    }
}
