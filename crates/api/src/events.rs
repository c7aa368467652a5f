//! `GET /api/events`: Server-Sent Events for the dashboard. Event `nodes` carries
//! `{"nodes": [...]}`; event `test` carries the view of each active test (created, configuring,
//! running), and once more the view of a test that just ended.
//!
//! Each client has its own [`Feed`], woken by [`Orchestrator::watch`] and built lazily when the
//! connection can take more: a slow client gets fewer, fresher events and never holds up the
//! orchestrator. A kind of event goes out at most every [`MIN_GAP`], and at least every
//! [`MAX_GAP`] even when nothing changed; unchanged data in between is not repeated.

use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt, stream};
use onslaught_orchestrator::{Orchestrator, TestView};
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::routes::NodeList;
use crate::{AppState, ServeShutdown};

/// Shortest gap between two batches of events (at most 5 a second).
const MIN_GAP: Duration = Duration::from_millis(200);
/// Longest gap before an unchanged event is sent again.
const MAX_GAP: Duration = Duration::from_secs(1);
/// Batches a test that just ended may wait for its report path before its last event.
const REPORT_WAIT_BATCHES: u32 = 5;
/// Gap between keep-alive comments on a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The event stream of one client; it ends when [`crate::serve`] shuts down.
pub(crate) async fn stream(
    State(state): State<AppState>,
    shutdown: Option<Extension<ServeShutdown>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stop = shutdown.map_or_else(CancellationToken::new, |Extension(s)| s.0);
    let feed = Feed::new(state.orchestrator);
    let events = stream::unfold(feed, |mut feed| async move {
        let batch = feed.next_batch().await;
        Some((stream::iter(batch.into_iter().map(Ok)), feed))
    })
    .flatten()
    .take_until(stop.cancelled_owned());
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// What one client has been sent and when it wants more.
struct Feed {
    orchestrator: Orchestrator,
    changes: watch::Receiver<u64>,
    /// When the last batch was built (`None` before the first).
    last_batch: Option<Instant>,
    tests: ActiveTests,
    /// Per event key (`nodes` or a test id): the data last sent and when.
    sent: HashMap<String, (String, Instant)>,
}

impl Feed {
    fn new(orchestrator: Orchestrator) -> Self {
        Self {
            changes: orchestrator.watch(),
            orchestrator,
            last_batch: None,
            tests: ActiveTests::default(),
            sent: HashMap::new(),
        }
    }

    /// Waits until something changed (or must be repeated), then returns the events.
    async fn next_batch(&mut self) -> Vec<Event> {
        loop {
            self.wait().await;
            let batch = self.collect();
            if !batch.is_empty() {
                return batch;
            }
        }
    }

    async fn wait(&mut self) {
        let Some(last) = self.last_batch else {
            return;
        };
        let repeat_at = self
            .sent
            .values()
            .map(|(_, at)| *at + MAX_GAP)
            .min()
            .unwrap_or(last + MAX_GAP);
        tokio::select! {
            changed = self.changes.changed() => {
                if changed.is_ok() {
                    tokio::time::sleep_until(last + MIN_GAP).await;
                } else {
                    tokio::time::sleep_until(repeat_at).await;
                }
            }
            () = tokio::time::sleep_until(repeat_at) => {}
        }
    }

    /// The events due now: data that changed or was last sent [`MAX_GAP`] ago, and the last
    /// view of each test that ended.
    fn collect(&mut self) -> Vec<Event> {
        let now = Instant::now();
        self.last_batch = Some(now);
        self.changes.borrow_and_update();
        let mut events = Vec::new();
        let nodes = NodeList {
            nodes: self.orchestrator.nodes(),
        };
        self.push_if_due(&mut events, "nodes", "nodes", &nodes, now);
        let (active, ended) = self.tests.views(&self.orchestrator);
        for view in &active {
            self.push_if_due(&mut events, "test", &view.id, view, now);
        }
        for view in &ended {
            if let Some(data) = encode("test", view) {
                events.push(Event::default().event("test").data(data));
            }
        }
        let live: BTreeSet<&str> = active.iter().map(|v| v.id.as_str()).collect();
        self.sent
            .retain(|key, _| key == "nodes" || live.contains(key.as_str()));
        events
    }

    /// Adds event `name` with `value` unless the same data went out less than [`MAX_GAP`] ago.
    fn push_if_due<T: Serialize>(
        &mut self,
        events: &mut Vec<Event>,
        name: &'static str,
        key: &str,
        value: &T,
        now: Instant,
    ) {
        let Some(data) = encode(name, value) else {
            self.sent.remove(key);
            return;
        };
        let due = self
            .sent
            .get(key)
            .is_none_or(|(last, at)| *last != data || now.duration_since(*at) >= MAX_GAP);
        if due {
            events.push(Event::default().event(name).data(&data));
            self.sent.insert(key.to_owned(), (data, now));
        }
    }
}

/// The JSON of an event, or `None` (logged) if it cannot be written.
fn encode<T: Serialize>(name: &str, value: &T) -> Option<String> {
    serde_json::to_string(value)
        .inspect_err(|e| tracing::warn!("cannot encode a `{name}` event: {e}"))
        .ok()
}

/// Which tests are active, found without reading every test each time: the first look reads
/// them all; later looks read only tests created since, then each active test by id.
#[derive(Default)]
struct ActiveTests {
    /// Tests the orchestrator knew at the last look.
    seen_total: usize,
    /// Whether the first look happened (tests that ended before it are not news).
    looked: bool,
    /// Active tests, and tests created since the first look that have not been sent as ended.
    ids: BTreeSet<String>,
    /// Batches each ended test has waited for its report path.
    waited: HashMap<String, u32>,
}

impl ActiveTests {
    /// The views of the active tests, and of the tests that just ended.
    fn views(&mut self, orchestrator: &Orchestrator) -> (Vec<TestView>, Vec<TestView>) {
        self.discover(orchestrator);
        let mut active = Vec::new();
        let mut ended = Vec::new();
        let waited = &mut self.waited;
        self.ids.retain(|id| {
            let Some(view) = orchestrator.test(id) else {
                return false;
            };
            if !view.status.is_final() {
                active.push(view);
                return true;
            }
            let batches = waited.entry(id.clone()).or_default();
            *batches += 1;
            if view.report_path.is_some() || *batches > REPORT_WAIT_BATCHES {
                waited.remove(id);
                ended.push(view);
                return false;
            }
            true
        });
        (active, ended)
    }

    /// Adds the tests created since the last look.
    fn discover(&mut self, orchestrator: &Orchestrator) {
        let (_, mut total) = orchestrator.tests(0, 0);
        loop {
            if total < self.seen_total {
                // Tests were removed: look at all of them again.
                self.seen_total = 0;
            }
            let fresh = total - self.seen_total;
            if fresh == 0 {
                break;
            }
            let (views, now) = orchestrator.tests(0, fresh);
            if now != total {
                total = now;
                continue;
            }
            for view in views {
                if self.looked || !view.status.is_final() {
                    self.ids.insert(view.id);
                }
            }
            self.seen_total = total;
        }
        self.looked = true;
    }
}
