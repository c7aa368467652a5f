//! What a run does: mode, bounds, connections, timeout and the request to send.

use std::time::Duration;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use onslaught_flow::Scenario;

use crate::ramp::Users;
use crate::schedule::Arrivals;

/// How requests are released.
#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// As fast as connections free up (closed loop).
    Avalanche,
    /// On an absolute schedule of intended send times (open loop): a constant gap or a rate
    /// curve, the whole of it or one stripe.
    Scheduled(Arrivals),
    /// Closed loop whose users (one per connection) follow a curve: a user sends only while
    /// the curve's users include it (`concurrency` should be their peak).
    Ramping(Users),
}

/// The request every worker sends.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    /// HTTP method.
    pub method: Method,
    /// Absolute URL.
    pub uri: Uri,
    /// Extra headers (Host is added from the URL unless given).
    pub headers: HeaderMap,
    /// Body (may be empty).
    pub body: Bytes,
}

/// Why a request template or spec is invalid.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    /// The URL does not parse or is not http(s).
    #[error("invalid url `{0}`: expected http://host[:port]/path or https://...")]
    Url(String),
    /// The method is not a valid HTTP token.
    #[error("invalid method `{0}`")]
    Method(String),
    /// A header name or value is invalid.
    #[error("invalid header `{0}`")]
    Header(String),
}

impl RequestTemplate {
    /// Builds a template from user input, validating every part.
    pub fn new(
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&str>,
    ) -> Result<Self, SpecError> {
        let uri: Uri = url.parse().map_err(|_| SpecError::Url(url.to_owned()))?;
        match uri.scheme_str() {
            Some("http" | "https") if uri.host().is_some() => {}
            _ => return Err(SpecError::Url(url.to_owned())),
        }
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| SpecError::Method(method.to_owned()))?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let n = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| SpecError::Header(name.clone()))?;
            let v =
                HeaderValue::from_str(value.trim()).map_err(|_| SpecError::Header(name.clone()))?;
            map.append(n, v);
        }
        Ok(Self {
            method,
            uri,
            headers: map,
            body: body
                .map(|b| Bytes::copy_from_slice(b.as_bytes()))
                .unwrap_or_default(),
        })
    }

    /// Whether the URL asks for TLS.
    pub fn is_https(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }
}

/// A full run description.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Avalanche or scheduled.
    pub mode: Mode,
    /// Requests to send (all of them get a response or an error before the run ends).
    pub requests: Option<u64>,
    /// Stop releasing new requests after this long.
    pub duration: Option<Duration>,
    /// Keep-alive connections, which is also the cap on requests in flight.
    pub concurrency: u32,
    /// Per-request timeout, connect included.
    pub timeout: Duration,
    /// Skip TLS certificate verification.
    pub insecure: bool,
    /// Engine threads (each a single-threaded runtime with its share of the connections);
    /// `None`: one per core the process may use. Never more than `concurrency`.
    pub threads: Option<usize>,
    /// The request to send; with `flows`, the base URL (its origin is where connections go).
    pub request: RequestTemplate,
    /// Flows for virtual users to run instead of the one request (`requests` then counts
    /// iterations). `None`: the single-request path, unchanged.
    pub flows: Option<FlowRun>,
}

/// A run of flows on one driver.
#[derive(Clone, Debug)]
pub struct FlowRun {
    /// The compiled scenario.
    pub scenario: Arc<Scenario>,
    /// This driver's index among the test's drivers (for `shard` data and `{{ driver }}`).
    pub driver: u64,
    /// How many drivers take part.
    pub drivers: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_validate_their_parts() {
        let t = RequestTemplate::new(
            "post",
            "https://127.0.0.1:8443/x?y=1",
            &[("X-A".into(), "b".into())],
            Some("hi"),
        )
        .unwrap();
        assert_eq!(t.method, Method::POST);
        assert!(t.is_https());
        assert_eq!(&t.body[..], b"hi");
        assert!(matches!(
            RequestTemplate::new("GET", "ftp://x/", &[], None),
            Err(SpecError::Url(_))
        ));
        assert!(matches!(
            RequestTemplate::new("GET", "/relative", &[], None),
            Err(SpecError::Url(_))
        ));
        assert!(matches!(
            RequestTemplate::new("G ET", "http://x/", &[], None),
            Err(SpecError::Method(_))
        ));
        assert!(matches!(
            RequestTemplate::new("GET", "http://x/", &[("bad name".into(), "v".into())], None),
            Err(SpecError::Header(_))
        ));
    }
}
