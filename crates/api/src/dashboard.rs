//! The dashboard's built files at `/` (unknown paths get `index.html`), or, when no build is
//! there, a small page at `/` saying how to build it.

use std::path::Path;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState};

/// Routes everything `router` does not know to the dashboard.
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
        None => router.fallback(not_built),
    }
}

const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>onslaught</title></head>
<body>
<h1>onslaught</h1>
<p>The dashboard is not built. Build it, then restart the orchestrator with the dashboard
directory pointing at <code>dashboard/dist</code>:</p>
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
