//! A virtual user: one keep-alive connection running flow iterations, with its variables, its
//! cookie jar and its data rows.
//!
//! Closed load: a virtual user loops iterations as long as the run's budget lasts (ramping users:
//! while the curve includes it; it stops between iterations). Open load:
//! each intended time the pacer releases starts one iteration on a free virtual user; one that
//! no virtual user takes within [`DROP_AFTER`] of its time (all were busy) is dropped and
//! counted (`Iterations::dropped`), never sent. The first step's latency is measured from the
//! iteration's intended time, a later step's from its own (the previous step's end plus the
//! think time). A failed request, check or extraction is counted (by request name and check)
//! and the iteration goes on or stops as the step says. A virtual user whose `shard` data is
//! used up stops; when every one has stopped the run ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::io::IoSlice;

use bytes::BytesMut;
use cookie_store::{CookieStore, RawCookie};
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method};
use onslaught_flow::data::Cursors;
use onslaught_flow::extract::Response;
use onslaught_flow::scenario::{RENDER, RequestStep};
use onslaught_flow::spec::OnFailure;
use onslaught_flow::{Scenario, Step, Vu};
use onslaught_stats::ErrorKind;
use tokio_util::sync::CancellationToken;

use crate::connection::Open;
use crate::recorder::{Exchange, Failure, Slot};
use crate::worker::{Deadline, Shared, ready};

/// Open load: an iteration that no virtual user takes within this long after its intended
/// time is dropped (every virtual user was busy).
pub const DROP_AFTER: Duration = Duration::from_millis(10);

/// What the virtual users of a run share.
pub(crate) struct Flows {
    /// The scenario.
    pub(crate) scenario: Arc<Scenario>,
    /// This driver's cursors over the datasets.
    pub(crate) cursors: Cursors,
    /// This driver's index.
    pub(crate) driver: u64,
    /// The base URL (cookies are kept for it).
    pub(crate) base: url::Url,
    /// The Host header of every request.
    pub(crate) host: Option<HeaderValue>,
    /// Virtual users still running; the last to stop ends the run.
    pub(crate) running: AtomicUsize,
    /// Ends the run (the pacer too) once every virtual user has stopped.
    pub(crate) cancel: CancellationToken,
    /// No iteration or step starts at or after this time.
    pub(crate) deadline: Option<Instant>,
}

impl Flows {
    /// Counts one more virtual user running, unless every one has stopped (the run is over:
    /// `false`).
    pub(crate) fn join(&self) -> bool {
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n > 0).then(|| n + 1)
            })
            .is_ok()
    }
}

/// One virtual user's connection and state.
struct User {
    vu: Vu,
    connection: Option<Open>,
    /// The request head being written, its buffer kept from request to request.
    head: Vec<u8>,
    jar: CookieStore,
    number: usize,
    connect_failures: u32,
}

/// Runs virtual user `number` until the jobs run out, its data is used up, or the run stops.
pub(crate) async fn run(
    shared: Arc<Shared>,
    flows: Arc<Flows>,
    slot: Arc<Slot>,
    worker: crate::worker::User,
    connection: Option<Open>,
) {
    let number = worker.number;
    let mut user = User {
        vu: Vu::new(number as u64, flows.driver),
        connection,
        head: Vec::new(),
        jar: CookieStore::default(),
        number,
        connect_failures: 0,
    };
    let scenario = &flows.scenario;
    // One timer for the user's per-request timeouts (see `Deadline`), as the single request has.
    let mut deadline = Deadline::new(shared.spec.timeout);
    while let Some(intended) = shared.jobs.next(&shared.recorder, &slot, &worker).await {
        let now = Instant::now();
        let pick = scenario.pick();
        if let Some(at) = intended
            && now.saturating_duration_since(at) > DROP_AFTER
        {
            slot.iterations(pick, |i| i.dropped += 1);
            continue;
        }
        let flow = &scenario.flows[pick];
        let Some(rows) = flows.cursors.take(&scenario.datasets, &flow.datasets) else {
            break; // This driver's share of a sharded dataset is used up.
        };
        user.vu.set_rows(rows);
        slot.iterations(pick, |i| i.started += 1);
        let start = intended.unwrap_or(now);
        let mut step_at = start;
        let mut stopped = false;
        for step in &flow.steps {
            if flows.deadline.is_some_and(|d| Instant::now() >= d) {
                stopped = true;
                break;
            }
            match step {
                Step::Think(think) => {
                    step_at = Instant::now().max(step_at) + think.sample();
                    let until = flows.deadline.map_or(step_at, |d| step_at.min(d));
                    tokio::time::sleep_until(until.into()).await;
                }
                Step::Request(request) => {
                    let ok = user
                        .request(&shared, &flows, &slot, request, step_at, &mut deadline)
                        .await;
                    step_at = Instant::now();
                    if !ok && request.on_failure == OnFailure::Stop {
                        stopped = true;
                        break;
                    }
                }
            }
        }
        let end = Instant::now();
        slot.iterations(pick, |i| {
            if stopped {
                i.interrupted += 1;
            } else {
                i.completed += 1;
                i.duration.record(end.saturating_duration_since(start));
            }
        });
        user.vu.iteration += 1;
    }
    if flows.running.fetch_sub(1, Ordering::AcqRel) == 1 {
        flows.cancel.cancel();
    }
}

impl User {
    /// Sends one step's request intended at `intended` and judges its response; true when it
    /// is a success.
    async fn request(
        &mut self,
        shared: &Shared,
        flows: &Flows,
        slot: &Slot,
        step: &RequestStep,
        intended: Instant,
        deadline: &mut Deadline,
    ) -> bool {
        let name = step.name;
        let rendered = match flows.scenario.render(step, &self.vu) {
            Ok(rendered) => rendered,
            Err(reason) => {
                tracing::debug!("a request could not be built: {reason}");
                slot.check(name, RENDER, false);
                return false;
            }
        };
        let mut headers = rendered.headers;
        let cookie_url = self
            .jar
            .iter_unexpired()
            .next()
            .is_some()
            .then(|| self.url(flows, &rendered.uri));
        if let Some(url) = &cookie_url {
            let cookies: Vec<String> = self
                .jar
                .get_request_values(url)
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            if !cookies.is_empty()
                && let Ok(value) = HeaderValue::from_str(&cookies.join("; "))
            {
                headers.insert(COOKIE, value);
            }
        }
        let uri = rendered.uri;
        self.head.clear();
        crate::h1::write_head(
            &mut self.head,
            &rendered.method,
            uri.path_and_query().map_or("/", |p| p.as_str()),
            flows.host.as_ref(),
            &headers,
            rendered.body.len(),
        );
        let request = Request {
            body: &rendered.body,
            head_method: rendered.method == Method::HEAD,
        };
        let started = Instant::now();
        slot.begin_named(name, started);
        let keep_body = step.needs_body();
        let outcome = deadline
            .bound(
                started + shared.spec.timeout,
                self.exchange(shared, slot, name, request, intended, keep_body),
            )
            .await;
        let end = Instant::now();
        let written = self.connection.as_mut().map_or(0, Open::take_written);
        if self
            .connection
            .as_ref()
            .is_some_and(|open| !open.reusable())
        {
            self.connection = None;
        }
        match outcome {
            Ok((status, response_headers, body, bytes)) => {
                self.connect_failures = 0;
                let latency = end.saturating_duration_since(intended);
                slot.response_named(
                    name,
                    end,
                    Exchange {
                        status,
                        latency,
                        service: end - started,
                        bytes,
                        written,
                    },
                );
                if response_headers.contains_key(SET_COOKIE) {
                    let url = cookie_url.unwrap_or_else(|| self.url(flows, &uri));
                    let cookies = response_headers
                        .get_all(SET_COOKIE)
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter_map(|v| RawCookie::parse(v.to_owned()).ok());
                    self.jar.store_response_cookies(cookies, &url);
                }
                let response = Response {
                    status,
                    headers: &response_headers,
                    body: &body[..],
                };
                step.judge(&response, latency, &mut self.vu, |check, passed| {
                    slot.check(name, check, passed);
                })
            }
            Err(failure) => {
                self.connection = None;
                slot.failure_named(name, end, &failure, written);
                if failure.kind == ErrorKind::Connect {
                    self.connect_failures = self.connect_failures.saturating_add(1);
                    shared.jobs.back_off(self.connect_failures).await;
                } else {
                    self.connect_failures = 0;
                }
                false
            }
        }
    }

    /// The absolute URL of a request, for the cookie jar.
    fn url(&self, flows: &Flows, uri: &http::Uri) -> url::Url {
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        flows.base.join(path).unwrap_or_else(|_| flows.base.clone())
    }

    /// One request (its head in `self.head`) and its complete response: status, headers, body
    /// (kept when `keep_body`) and body bytes read.
    async fn exchange(
        &mut self,
        shared: &Shared,
        slot: &Slot,
        name: usize,
        request: Request<'_>,
        intended: Instant,
        keep_body: bool,
    ) -> Result<(u16, HeaderMap, BytesMut, u64), Failure> {
        let open = ready(&shared.connector, &mut self.connection, self.number).await?;
        slot.sent_named(&shared.recorder, name, Instant::now(), Some(intended));
        open.send(&mut [IoSlice::new(&self.head), IoSlice::new(request.body)])
            .await?;
        let mut headers = HeaderMap::new();
        let mut body = BytesMut::new();
        let response = open
            .read_response(
                request.head_method,
                Some(&mut headers),
                keep_body.then_some(&mut body),
            )
            .await?;
        Ok((response.status, headers, body, response.body_bytes))
    }
}

/// What a step sends besides its head.
struct Request<'a> {
    /// The body.
    body: &'a [u8],
    /// A HEAD request: its response has no body.
    head_method: bool,
}
