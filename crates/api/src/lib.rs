//! The orchestrator's HTTP surface: REST routes to create, start, stop and read tests, a live
//! event stream, Prometheus metrics, an OpenAPI document, and the dashboard's static files.
//!
//! [`router`] builds an [`axum::Router`] around an [`Orchestrator`]; [`serve`] runs it on a
//! listener until a shutdown future completes, with deadlines for slow clients and a cap on
//! connections ([`serve_with`] sets them). Tests call the router without a socket.
//!
//! ```no_run
//! # async fn run(orchestrator: onslaught_orchestrator::Orchestrator) -> std::io::Result<()> {
//! let app = onslaught_api::router(orchestrator, onslaught_api::ApiOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! onslaught_api::serve(listener, app, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! # Layout
//! - [`routes`]: [`Endpoint`], the table of API routes, and their handlers.
//! - [`server`]: [`serve`], the HTTP/1.1 server with header and body deadlines and a cap on
//!   connections ([`ServeLimits`]).
//! - `body`: the JSON request body (content type, size limit, the field a decoding error names),
//!   and `Plan`, the extractor that takes a test's body on to its `TestPlan`.
//! - `error`: [`ApiError`], every refusal as a status and a JSON body.
//! - `auth`: bearer-token check on mutating requests, and CORS for one allowed origin.
//! - `events`: the Server-Sent Events stream of nodes and active tests.
//! - `metrics`: the Prometheus text exposition.
//! - [`openapi`]: the OpenAPI 3.1 document of [`Endpoint`]'s routes, schemas generated from the
//!   Rust types, and the contract files checked in under `docs/`.
//! - [`standby`]: the API of an orchestrator standing by in a cluster: redirects to the active
//!   one (307), or 503 while none is known; the full router once it leads.
//! - `dashboard`: the dashboard's files, embedded at build time (`build.rs`) or from a folder,
//!   or a page saying how to build it.
//!
//! `api` holds no state of its own beyond the options: everything shown comes from the
//! [`Orchestrator`], so any number of routers may share one.

mod auth;
mod body;
mod dashboard;
mod error;
mod events;
mod metrics;
pub mod openapi;
pub mod routes;
mod server;
pub mod standby;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use onslaught_orchestrator::Orchestrator;
use tokio_util::sync::CancellationToken;

pub use dashboard::is_embedded as dashboard_is_embedded;
pub use error::ApiError;
pub use routes::Endpoint;
pub use server::{ServeLimits, serve, serve_with};

/// Largest request body accepted (1 MiB); larger ones get a 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How the API behaves.
#[derive(Clone, Default)]
pub struct ApiOptions {
    /// When set (and not empty), every mutating request needs `Authorization: Bearer <token>`.
    pub api_token: Option<String>,
    /// A folder with a dashboard build to serve at `/` instead of the one embedded in the
    /// binary (development). Checked once, when the router is built: without an `index.html`
    /// there, `/` says how to build it.
    pub dashboard_dir: Option<PathBuf>,
    /// The one browser origin that gets CORS headers (`https://host:port`). `*` or a value
    /// that is not a valid header is refused (logged, and no origin gets CORS headers).
    pub allowed_origin: Option<String>,
}

impl fmt::Debug for ApiOptions {
    /// Shows whether a token is set, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiOptions")
            .field("api_token", &self.api_token.as_ref().map(|_| "<redacted>"))
            .field("dashboard_dir", &self.dashboard_dir)
            .field("allowed_origin", &self.allowed_origin)
            .finish()
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct AppState {
    /// Where every answer comes from.
    orchestrator: Orchestrator,
    /// The bearer token mutating requests need, if any.
    token: Option<Arc<str>>,
}

/// Set by [`serve`] on every request so endless responses (the event stream) end on shutdown.
#[derive(Clone)]
pub(crate) struct ServeShutdown(CancellationToken);

/// The whole HTTP surface over `orchestrator`.
pub fn router(orchestrator: Orchestrator, options: ApiOptions) -> Router {
    let state = AppState {
        orchestrator,
        token: options
            .api_token
            .filter(|t| !t.is_empty())
            .map(|t| Arc::from(t.as_str())),
    };
    let api = Endpoint::ALL
        .iter()
        .fold(Router::new(), |router, endpoint| {
            router.route(endpoint.path(), endpoint.method_router())
        })
        .route("/api", axum::routing::any(routes::no_such_route))
        .route("/api/", axum::routing::any(routes::no_such_route))
        .route("/api/{*rest}", axum::routing::any(routes::no_such_route))
        .method_not_allowed_fallback(routes::method_not_allowed);
    let app = dashboard::attach(api, options.dashboard_dir.as_deref())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .with_state(state);
    match options.allowed_origin.as_deref().and_then(auth::cors) {
        Some(cors) => app.layer(cors),
        None => app,
    }
}
