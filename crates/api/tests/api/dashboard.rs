//! The dashboard's files at `/` (from a folder, or embedded), or a page saying how to build it.

use axum::http::{StatusCode, header};
use onslaught_api::ApiOptions;

use crate::support::Harness;

#[tokio::test]
async fn a_built_dashboard_is_served_with_index_html_for_unknown_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<title>onslaught dashboard</title>",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("assets")).unwrap();
    std::fs::write(dir.path().join("assets/app.js"), "console.log(1)").unwrap();
    let options = ApiOptions {
        dashboard_dir: Some(dir.path().to_owned()),
        ..ApiOptions::default()
    };
    let h = Harness::start(0, options).await;

    for path in ["/", "/index.html", "/tests/t-1"] {
        let page = h.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.text().contains("onslaught dashboard"), "{path}");
        assert!(
            page.header(header::CONTENT_TYPE)
                .unwrap()
                .starts_with("text/html")
        );
    }
    let script = h.get("/assets/app.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.text(), "console.log(1)");
    assert!(
        script
            .header(header::CONTENT_TYPE)
            .unwrap()
            .contains("javascript")
    );
    // The API is not shadowed by the page.
    h.get("/api/nope").await.error(StatusCode::NOT_FOUND);
    assert_eq!(
        h.get("/api/nodes").await.json()["nodes"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn without_a_build_the_root_says_how_to_make_one() {
    let empty = tempfile::tempdir().unwrap();
    // Without a folder the embedded build is served (next test), unless there is none.
    let without_folder = (!onslaught_api::dashboard_is_embedded()).then_some(None);
    for dir in without_folder
        .into_iter()
        .chain([Some(empty.path().to_owned())])
    {
        let options = ApiOptions {
            dashboard_dir: dir,
            ..ApiOptions::default()
        };
        let h = Harness::start(0, options).await;
        let page = h.get("/").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.header(header::CONTENT_TYPE)
                .unwrap()
                .starts_with("text/html")
        );
        let text = page.text();
        assert!(text.contains("not built"), "{text}");
        assert!(text.contains("cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build"));
        h.get("/assets/app.js").await.error(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn without_a_folder_the_build_embedded_at_compile_time_is_served() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dashboard/dist");
    let h = Harness::start(0, ApiOptions::default()).await;
    if !onslaught_api::dashboard_is_embedded() {
        // Only a build without `dashboard/dist` may lack it; the suite builds it first.
        assert!(
            std::env::var_os("ONSLAUGHT_REQUIRE_DASHBOARD").is_none(),
            "ONSLAUGHT_REQUIRE_DASHBOARD is set but the dashboard is not embedded"
        );
        assert!(h.get("/").await.text().contains("not built"));
        return;
    }
    let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
    for path in ["/", "/index.html", "/tests/t-1"] {
        let page = h.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.text(), index, "{path}");
        assert_eq!(page.header(header::CACHE_CONTROL).unwrap(), "no-cache");
    }
    let script = index
        .split('"')
        .map(|s| s.strip_prefix('.').unwrap_or(s))
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("index.html loads a script from /assets/");
    let page = h.get(script).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header(header::CONTENT_TYPE)
            .unwrap()
            .contains("javascript")
    );
    assert!(
        page.header(header::CACHE_CONTROL)
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        page.text(),
        std::fs::read_to_string(dist.join(script.trim_start_matches('/'))).unwrap()
    );
    h.get("/api/nope").await.error(StatusCode::NOT_FOUND);
}
