//! The dashboard at `/` (unknown paths get `index.html`): the files built into the binary, or
//! those of a folder given as an override for development (`--dashboard-dir`). When neither has
//! a build, `/` is a small page saying how to build it.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/dashboard_files.rs"));
}

/// Routes everything `router` does not know to the dashboard: the folder `dir` when given, else
/// the files embedded at build time.
pub(crate) fn attach(router: Router<AppState>, dir: Option<&Path>) -> Router<AppState> {
    match dir {
        Some(dir) if dir.join("index.html").is_file() => {
            let files = ServeDir::new(dir)
                .append_index_html_on_directories(true)
                .fallback(ServeFile::new(dir.join("index.html")));
            router.fallback_service(files)
        }
        Some(dir) => {
            tracing::warn!(
                "no dashboard build in {} (no index.html); `/` explains how to build it",
                dir.display()
            );
            router.fallback(not_built)
        }
        None if is_embedded() => router.fallback(embedded_file),
        None => {
            tracing::warn!(
                "this binary was built without the dashboard (no dashboard/dist at build time); \
                 `/` explains how to build it"
            );
            router.fallback(not_built)
        }
    }
}

/// Whether the binary carries a dashboard build.
pub fn is_embedded() -> bool {
    lookup("index.html").is_some()
}

/// An embedded file by its path under `dist/`.
fn lookup(name: &str) -> Option<&'static [u8]> {
    embedded::FILES
        .binary_search_by(|(path, _)| (*path).cmp(name))
        .ok()
        .map(|i| embedded::FILES[i].1)
}

/// Serves an embedded file, `index.html` for directories and for paths that name no file (the
/// dashboard routes in the browser), as a folder would be served.
async fn embedded_file(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return ApiError::MethodNotAllowed(format!("`{method}` is not allowed on the dashboard"))
            .into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let name = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let (name, body) = match lookup(&name) {
        Some(body) => (name.as_str(), body),
        None => match lookup("index.html") {
            Some(body) => ("index.html", body),
            None => return not_built(uri).await,
        },
    };
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let content_type = HeaderValue::from_str(mime.as_ref())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    // Vite names assets by their content hash: they never change; index.html must be revalidated.
    let cache = if name.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>onslaught</title></head>
<body>
<h1>onslaught</h1>
<p>The dashboard is not built. Build it, then build onslaught again (the dashboard is embedded
in the binary), or start the orchestrator with <code>--dashboard-dir dashboard/dist</code>:</p>
<pre>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>The API works without it: see <a href="api/openapi.json">api/openapi.json</a>,
<a href="api/tests">api/tests</a>, <a href="api/nodes">api/nodes</a> and
<a href="metrics">metrics</a>.</p>
</body>
</html>
"#;

/// `/` explains how to build the dashboard; other paths are not found.
async fn not_built(uri: Uri) -> Response {
    if uri.path() == "/" || uri.path() == "/index.html" {
        (StatusCode::OK, Html(NOT_BUILT)).into_response()
    } else {
        ApiError::NotFound(format!("no such path `{}`", uri.path())).into_response()
    }
}
