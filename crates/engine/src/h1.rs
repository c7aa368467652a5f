//! The HTTP/1.1 client loop on a raw connection (plain or TLS), as wrk, h2load and Nighthawk
//! have theirs: a request's bytes are written as the caller serialized them, and the response
//! is parsed in place with `httparse` on a buffer the connection keeps and reuses. Nothing is
//! allocated per request and no channel, task or timer is involved; the caller bounds the
//! whole exchange with its per-request timeout.
//!
//! What a response is made of, and when the connection ends:
//!
//! - Interim responses (1xx other than 101) before the final one are read and skipped.
//! - No body: a response to HEAD, 204, 304, and 101 (after which the connection is closed: the
//!   engine speaks no other protocol).
//! - `Transfer-Encoding` ending in `chunked`: chunks decoded in place (extensions ignored,
//!   trailers read and dropped); any other transfer coding: the body runs to the end of the
//!   connection. Else `Content-Length`; else the body runs to the end of the connection.
//! - The connection is not reused after `Connection: close`, an HTTP/1.0 response without
//!   `Connection: keep-alive`, a body read to the end of the connection, or bytes received
//!   past the end of the response (a broken server: what they mean is unknown).
//!
//! Failures: the connection closed or reset before the response was complete is
//! [`ErrorKind::Reset`]; a response that is not HTTP/1.x (garbage instead of a status line, a
//! bad header, a bad chunk size or `Content-Length`) or a head above [`MAX_HEAD`] is
//! [`ErrorKind::Other`] with a reason that says which. A request is never sent twice: a
//! connection found closed before a request is written is replaced without counting anything
//! ([`Conn::closed_while_idle`]), but once the request is written any failure is the request's.

use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::Poll;

use bytes::BytesMut;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use onslaught_stats::ErrorKind;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::recorder::Failure;

/// Largest response head (status line and headers), and largest trailer section of a chunked
/// body: a server sending more is broken, and the buffer must stay bounded.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Most header lines in a response head (hyper's client allows 100).
const MAX_HEADERS: usize = 100;

/// The read buffer's size at first; it grows (doubling) only to hold a response head, up to
/// [`MAX_HEAD`]. Bodies stream through it whatever their size.
const READ_BUFFER: usize = 8 * 1024;

/// Longest chunk-size line (the size and its extensions).
const MAX_CHUNK_LINE: usize = 4 * 1024;

/// One HTTP/1.1 connection: the stream and the bytes received and not yet consumed.
pub(crate) struct Conn<S> {
    /// The connection (plain TCP or TLS over it).
    stream: S,
    /// The read buffer, every byte initialized once; `start..end` is what was received and not
    /// yet consumed.
    buf: Vec<u8>,
    /// First received byte not yet consumed.
    start: usize,
    /// End of the received bytes.
    end: usize,
    /// The last response ended the connection (see the module's rules): it takes no more
    /// requests.
    closing: bool,
}

/// A complete response, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    /// The final status (interim 1xx responses skipped).
    pub(crate) status: u16,
    /// Body bytes received (decoded, for a chunked body).
    pub(crate) body_bytes: u64,
}

/// How the final response's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// No body.
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Up to the end of the connection.
    UntilClose,
}

/// What a response head says.
#[derive(Clone, Copy, Debug)]
struct Head {
    status: u16,
    /// An interim (1xx) response: another head follows.
    interim: bool,
    framing: Framing,
    /// The connection ends after this response.
    close: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// A connection on `stream`, ready for its first request.
    pub(crate) fn new(stream: S) -> Self {
        Self {
            stream,
            buf: vec![0; READ_BUFFER],
            start: 0,
            end: 0,
            closing: false,
        }
    }

    /// The stream (what the caller counts on it).
    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Whether the connection may take another request: the last response did not end it.
    pub(crate) fn reusable(&self) -> bool {
        !self.closing
    }

    /// Whether the connection ended while no request was on it: the last response ended it,
    /// or the server closed it, reset it or sent bytes nobody asked for since. Checked before
    /// each request on a kept-alive connection; it costs no system call while the socket has
    /// nothing to read (the runtime knows it from its last read).
    pub(crate) async fn closed_while_idle(&mut self) -> bool {
        if self.closing {
            return true;
        }
        let Self { stream, buf, .. } = self;
        std::future::poll_fn(|cx| {
            let mut probe = ReadBuf::new(&mut buf[..]);
            Poll::Ready(Pin::new(&mut *stream).poll_read(cx, &mut probe).is_ready())
        })
        .await
    }

    /// Writes every byte of `parts` (a request's head and body) and flushes them (a TLS
    /// stream holds records until then).
    pub(crate) async fn send(&mut self, parts: &mut [IoSlice<'_>]) -> Result<(), Failure> {
        let mut parts = parts;
        IoSlice::advance_slices(&mut parts, 0);
        while !parts.is_empty() {
            let n = self
                .stream
                .write_vectored(parts)
                .await
                .map_err(|e| io_failure(&e))?;
            if n == 0 {
                return Err(Failure::because(
                    ErrorKind::Reset,
                    &"connection closed while the request was written",
                ));
            }
            IoSlice::advance_slices(&mut parts, n);
        }
        self.stream.flush().await.map_err(|e| io_failure(&e))
    }

    /// Reads the response to a request (`head_request`: it was a HEAD, whose response has no
    /// body). `headers` receives the final response's headers and `body` its body when given
    /// (flows that check or extract); otherwise both are only counted.
    pub(crate) async fn read_response(
        &mut self,
        head_request: bool,
        mut headers: Option<&mut HeaderMap>,
        body: Option<&mut BytesMut>,
    ) -> Result<Response, Failure> {
        let head = loop {
            let head = self.read_head(head_request, headers.as_deref_mut()).await?;
            if !head.interim {
                break head;
            }
        };
        let body_bytes = match head.framing {
            Framing::Empty => 0,
            Framing::Length(length) => self.read_length(length, body).await?,
            Framing::Chunked => self.read_chunked(body).await?,
            Framing::UntilClose => self.read_to_end(body).await?,
        };
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else {
            // Bytes past the response: a broken server; whatever they are, not this request's.
            tracing::debug!(
                "{} bytes received past the end of a response; closing the connection",
                self.end - self.start
            );
            self.closing = true;
        }
        self.closing |= head.close;
        Ok(Response {
            status: head.status,
            body_bytes,
        })
    }

    /// Reads and consumes one response head (interim or final).
    async fn read_head(
        &mut self,
        head_request: bool,
        mut headers: Option<&mut HeaderMap>,
    ) -> Result<Head, Failure> {
        loop {
            if self.start < self.end {
                let mut lines = [const { MaybeUninit::uninit() }; MAX_HEADERS];
                let mut response = httparse::Response::new(&mut []);
                let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
                    &mut response,
                    &self.buf[self.start..self.end],
                    &mut lines,
                );
                match parsed {
                    Ok(httparse::Status::Complete(length)) => {
                        let head = judge_head(&response, head_request, headers.as_deref_mut())?;
                        self.start += length;
                        return Ok(head);
                    }
                    Ok(httparse::Status::Partial) => {}
                    Err(e) => return Err(invalid(&e)),
                }
                if self.end - self.start >= MAX_HEAD {
                    return Err(invalid(&"response head too large"));
                }
            }
            let begun = self.start < self.end;
            if self.fill().await? == 0 {
                return Err(if begun {
                    incomplete()
                } else {
                    Failure::because(ErrorKind::Reset, &"connection closed before a response")
                });
            }
        }
    }

    /// Reads `length` body bytes.
    async fn read_length(
        &mut self,
        length: u64,
        mut body: Option<&mut BytesMut>,
    ) -> Result<u64, Failure> {
        let mut left = length;
        loop {
            let available = self.end - self.start;
            let take = usize::try_from(left).map_or(available, |left| left.min(available));
            if let Some(body) = body.as_deref_mut() {
                body.extend_from_slice(&self.buf[self.start..self.start + take]);
            }
            self.start += take;
            left -= take as u64;
            if left == 0 {
                return Ok(length);
            }
            self.more().await?;
        }
    }

    /// Reads a chunked body: chunks, the last chunk, trailers. Returns the decoded length.
    async fn read_chunked(&mut self, mut body: Option<&mut BytesMut>) -> Result<u64, Failure> {
        let mut total = 0u64;
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf[self.start..self.end]) {
                    Ok(httparse::Status::Complete((length, size))) => {
                        self.start += length;
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.end - self.start <= MAX_CHUNK_LINE => {
                        self.more().await?;
                    }
                    Ok(httparse::Status::Partial) | Err(_) => {
                        return Err(invalid(&"invalid chunk size line"));
                    }
                }
            };
            if size == 0 {
                break;
            }
            total = total.saturating_add(self.read_length(size, body.as_deref_mut()).await?);
            while self.end - self.start < 2 {
                self.more().await?;
            }
            if &self.buf[self.start..self.start + 2] != b"\r\n" {
                return Err(invalid(&"chunk not followed by CRLF"));
            }
            self.start += 2;
        }
        // Trailer lines up to an empty line, dropped.
        let mut trailers = 0usize;
        loop {
            match find_crlf(&self.buf[self.start..self.end]) {
                Some(0) => {
                    self.start += 2;
                    return Ok(total);
                }
                Some(line) => {
                    self.start += line + 2;
                    trailers += line + 2;
                }
                None => self.more().await?,
            }
            if trailers + (self.end - self.start) > MAX_HEAD {
                return Err(invalid(&"response trailers too large"));
            }
        }
    }

    /// Reads a body that ends with the connection.
    async fn read_to_end(&mut self, mut body: Option<&mut BytesMut>) -> Result<u64, Failure> {
        let mut total = 0u64;
        loop {
            if let Some(body) = body.as_deref_mut() {
                body.extend_from_slice(&self.buf[self.start..self.end]);
            }
            total += (self.end - self.start) as u64;
            self.start = self.end;
            if self.fill().await? == 0 {
                self.closing = true;
                return Ok(total);
            }
        }
    }

    /// Receives more bytes of a response that is not complete yet: the connection ending here
    /// fails it.
    async fn more(&mut self) -> Result<(), Failure> {
        if self.fill().await? == 0 {
            return Err(incomplete());
        }
        Ok(())
    }

    /// Receives what the connection has next, after the bytes not yet consumed (moved to the
    /// front, or the buffer grown, when there is little room behind them). `Ok(0)`: the
    /// connection ended.
    async fn fill(&mut self) -> Result<usize, Failure> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < self.buf.len() / 4 {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.end == self.buf.len() {
                if self.buf.len() >= MAX_HEAD {
                    return Err(invalid(&"response head too large"));
                }
                self.buf.resize((self.buf.len() * 2).min(MAX_HEAD), 0);
            }
        }
        let n = self
            .stream
            .read(&mut self.buf[self.end..])
            .await
            .map_err(|e| io_failure(&e))?;
        self.end += n;
        Ok(n)
    }
}

/// What a complete response head says; copies its headers into `keep` (a final response's).
fn judge_head(
    response: &httparse::Response<'_, '_>,
    head_request: bool,
    keep: Option<&mut HeaderMap>,
) -> Result<Head, Failure> {
    let status = response.code.unwrap_or_default();
    if (100..200).contains(&status) && status != 101 {
        return Ok(Head {
            status,
            interim: true,
            framing: Framing::Empty,
            close: false,
        });
    }
    let mut length: Option<u64> = None;
    let mut encoded = false;
    let mut chunked = false;
    let mut close = false;
    let mut keep_alive = false;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = parse_length(header.value)?;
            if length.is_some_and(|known| known != value) {
                return Err(invalid(&"conflicting content-length headers"));
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            encoded = true;
            chunked = header
                .value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case("connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        }
    }
    if let Some(keep) = keep {
        keep.clear();
        for header in response.headers.iter() {
            // hyper refused a response with an invalid header; a flow only loses that header.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(header.name.as_bytes()),
                HeaderValue::from_bytes(header.value),
            ) {
                keep.append(name, value);
            }
        }
    }
    let http10 = response.version == Some(0);
    let framing = if head_request || matches!(status, 101 | 204 | 304) {
        Framing::Empty
    } else if encoded {
        if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        }
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok(Head {
        status,
        interim: false,
        framing,
        close: close || status == 101 || (http10 && !keep_alive),
    })
}

/// A `Content-Length` value: decimal digits only.
fn parse_length(value: &[u8]) -> Result<u64, Failure> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid(&"invalid content-length"));
    }
    Ok(digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

/// A response that is not HTTP/1.x as the engine reads it.
fn invalid(why: &dyn std::fmt::Display) -> Failure {
    Failure::because(ErrorKind::Other, &format_args!("invalid response: {why}"))
}

/// The connection ended in the middle of a response.
fn incomplete() -> Failure {
    Failure::because(
        ErrorKind::Reset,
        &"connection closed before the response was complete",
    )
}

/// An I/O failure as users count it, with the OS's reason.
pub(crate) fn io_failure(error: &io::Error) -> Failure {
    use io::ErrorKind as Io;
    let kind = match error.kind() {
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
            ErrorKind::Reset
        }
        Io::TimedOut => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    };
    Failure::because(kind, error)
}

/// Appends a request head to `out`: request line, Host (`host`, unless `headers` has one),
/// `headers` (their own `Content-Length` and `Transfer-Encoding` left out), and the
/// `Content-Length` of a body of `body_length` bytes (written when the body is not empty, or
/// for a method that carries one, as hyper did). `target` is the origin-form path and query.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    host: Option<&HeaderValue>,
    headers: &HeaderMap,
    body_length: usize,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if let Some(host) = host
        && !headers.contains_key(http::header::HOST)
    {
        header_line(out, b"host", host.as_bytes());
    }
    for (name, value) in headers {
        if name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING {
            continue;
        }
        header_line(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if body_length > 0 || matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
        let mut digits = [0u8; 20];
        header_line(
            out,
            b"content-length",
            format_usize(body_length, &mut digits),
        );
    }
    out.extend_from_slice(b"\r\n");
}

fn header_line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// `n` in decimal, written into the end of `digits` (no allocation).
fn format_usize(mut n: usize, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &digits[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn request_heads_are_written_as_hyper_wrote_them() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("1"));
        headers.insert("content-length", HeaderValue::from_static("99"));
        let host = HeaderValue::from_static("127.0.0.1:8080");
        let mut out = Vec::new();
        write_head(&mut out, &Method::GET, "/p?q=1", Some(&host), &headers, 0);
        assert_eq!(
            out,
            b"GET /p?q=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-a: 1\r\n\r\n"
        );
        out.clear();
        write_head(
            &mut out,
            &Method::POST,
            "/",
            Some(&host),
            &HeaderMap::new(),
            0,
        );
        assert_eq!(
            out,
            b"POST / HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncontent-length: 0\r\n\r\n"
        );
        out.clear();
        headers.insert("host", HeaderValue::from_static("example"));
        write_head(&mut out, &Method::PUT, "/", Some(&host), &headers, 12_345);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("host: example\r\n") && !text.contains("8080"),
            "{text}"
        );
        assert!(text.ends_with("content-length: 12345\r\n\r\n"), "{text}");
    }

    #[test]
    fn lengths_are_digits_only() {
        assert_eq!(parse_length(b" 42 ").unwrap(), 42);
        assert_eq!(parse_length(b"0").unwrap(), 0);
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b"1 2",
            b"0x10",
            b"99999999999999999999",
        ] {
            assert!(parse_length(bad).is_err(), "{bad:?}");
        }
    }

    /// Reads responses from `wire` (written by a task into one end of an in-memory pipe that
    /// is then closed) with one connection.
    async fn responses(
        wire: &'static [u8],
        head: bool,
        count: usize,
    ) -> Vec<Result<Response, String>> {
        let (client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            // A few bytes at a time: every parse meets partial input.
            for piece in wire.chunks(7) {
                if server.write_all(piece).await.is_err() {
                    break;
                }
            }
        });
        let mut conn = Conn::new(client);
        let mut out = Vec::new();
        for _ in 0..count {
            let response = conn.read_response(head, None, None).await;
            let failed = response.is_err();
            out.push(response.map_err(|f| f.cause.unwrap_or_default()));
            if failed {
                break;
            }
        }
        drop(conn);
        writer.await.unwrap();
        out
    }

    #[tokio::test]
    async fn responses_are_framed_by_length_chunks_or_close() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
            HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
            3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-trailer: 1\r\n\r\n\
            HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n\
            HTTP/1.0 200 OK\r\n\r\nuntil the end";
        let got = responses(wire, false, 5).await;
        assert_eq!(
            got,
            vec![
                Ok(Response {
                    status: 200,
                    body_bytes: 5
                }),
                Ok(Response {
                    status: 201,
                    body_bytes: 19
                }),
                Ok(Response {
                    status: 204,
                    body_bytes: 0
                }),
                Ok(Response {
                    status: 200,
                    body_bytes: 13
                }),
            ][..]
                .iter()
                .cloned()
                .chain(std::iter::once(Err(
                    "connection closed before a response".to_owned()
                )))
                .collect::<Vec<_>>()
        );
    }

    #[tokio::test]
    async fn head_responses_have_no_body() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        let got = responses(wire, true, 2).await;
        assert_eq!(
            got,
            vec![
                Ok(Response {
                    status: 200,
                    body_bytes: 0
                });
                2
            ]
        );
    }

    #[tokio::test]
    async fn broken_responses_fail_with_a_reason() {
        let cases: [(&'static [u8], &str); 6] = [
            (
                b"SSH-2.0-OpenSSH\r\n\r\n",
                "invalid response: invalid HTTP version",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                "invalid response: invalid content-length",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
                "connection closed before the response was complete",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                "invalid response: invalid chunk size line",
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
                "invalid response: chunk not followed by CRLF",
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                "invalid response: conflicting content-length headers",
            ),
        ];
        for (wire, reason) in cases {
            let got = responses(wire, false, 1).await;
            assert_eq!(
                got,
                vec![Err(reason.to_owned())],
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[tokio::test]
    async fn a_head_too_large_is_refused() {
        let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
        let line = format!("x-filler: {}\r\n", "0123456789".repeat(400));
        while wire.len() <= MAX_HEAD {
            wire.extend_from_slice(line.as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        let wire: &'static [u8] = Box::leak(wire.into_boxed_slice());
        let got = responses(wire, false, 1).await;
        assert_eq!(
            got,
            vec![Err("invalid response: response head too large".to_owned())]
        );
    }
}
