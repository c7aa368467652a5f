//! [`Endpoint`]: the table of API routes the router is built from (and the OpenAPI document is
//! checked against), and the handlers of the REST routes.

use std::borrow::Cow;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, patch, post};
use onslaught_orchestrator::{NodeView, TestStatus, TestView, compare, html};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;

use crate::body::{LoadChange, Plan};
use crate::{ApiError, AppState, events, metrics, openapi};

/// Tests listed when the query gives no `limit`.
pub const DEFAULT_LIMIT: usize = 20;
/// Most tests one list answer holds.
pub const MAX_LIMIT: usize = 100;

/// One route of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /api/tests`
    ListTests,
    /// `POST /api/tests`
    CreateTest,
    /// `GET /api/tests/{id}`
    GetTest,
    /// `PATCH /api/tests/{id}`
    ChangeLoad,
    /// `POST /api/tests/{id}/start`
    StartTest,
    /// `POST /api/tests/{id}/stop`
    StopTest,
    /// `GET /api/tests/{id}/report`
    Report,
    /// `GET /api/tests/{id}/report.html`
    ReportPage,
    /// `GET /api/tests/{id}/compare?base=ID`
    Compare,
    /// `GET /api/tests/{id}/compare.html?base=ID`
    ComparePage,
    /// `GET /api/nodes`
    Nodes,
    /// `GET /api/events`
    Events,
    /// `GET /api/openapi.json`
    OpenApi,
    /// `GET /metrics`
    Metrics,
}

impl Endpoint {
    /// Every route, in the order the OpenAPI document lists them.
    pub const ALL: [Endpoint; 14] = [
        Endpoint::ListTests,
        Endpoint::CreateTest,
        Endpoint::GetTest,
        Endpoint::ChangeLoad,
        Endpoint::StartTest,
        Endpoint::StopTest,
        Endpoint::Report,
        Endpoint::ReportPage,
        Endpoint::Compare,
        Endpoint::ComparePage,
        Endpoint::Nodes,
        Endpoint::Events,
        Endpoint::OpenApi,
        Endpoint::Metrics,
    ];

    /// The HTTP method.
    pub fn method(self) -> Method {
        match self {
            Endpoint::CreateTest | Endpoint::StartTest | Endpoint::StopTest => Method::POST,
            Endpoint::ChangeLoad => Method::PATCH,
            _ => Method::GET,
        }
    }

    /// The path, with `{id}` for the test id.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::ListTests | Endpoint::CreateTest => "/api/tests",
            Endpoint::GetTest | Endpoint::ChangeLoad => "/api/tests/{id}",
            Endpoint::StartTest => "/api/tests/{id}/start",
            Endpoint::StopTest => "/api/tests/{id}/stop",
            Endpoint::Report => "/api/tests/{id}/report",
            Endpoint::ReportPage => "/api/tests/{id}/report.html",
            Endpoint::Compare => "/api/tests/{id}/compare",
            Endpoint::ComparePage => "/api/tests/{id}/compare.html",
            Endpoint::Nodes => "/api/nodes",
            Endpoint::Events => "/api/events",
            Endpoint::OpenApi => "/api/openapi.json",
            Endpoint::Metrics => "/metrics",
        }
    }

    /// The handler, for the router.
    pub(crate) fn method_router(self) -> MethodRouter<AppState> {
        match self {
            Endpoint::ListTests => get(list_tests),
            Endpoint::CreateTest => post(create_test),
            Endpoint::GetTest => get(get_test),
            Endpoint::ChangeLoad => patch(change_load),
            Endpoint::StartTest => post(start_test),
            Endpoint::StopTest => post(stop_test),
            Endpoint::Report => get(report),
            Endpoint::ReportPage => get(report_page),
            Endpoint::Compare => get(compare_tests),
            Endpoint::ComparePage => get(compare_page),
            Endpoint::Nodes => get(nodes),
            Endpoint::Events => get(events::stream),
            Endpoint::OpenApi => get(openapi_document),
            Endpoint::Metrics => get(metrics_text),
        }
    }
}

/// The answer of `GET /api/tests`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct TestList {
    /// Newest first, without `series` (the detail route has it).
    tests: Vec<TestListItem>,
    /// Tests known in all.
    total: usize,
}

/// A test in a list: its [`TestView`] without `series`.
#[derive(Serialize)]
#[serde(transparent)]
struct TestListItem(serde_json::Value);

impl JsonSchema for TestListItem {
    fn schema_name() -> Cow<'static, str> {
        "TestListItem".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        openapi::schema_without::<TestView>(
            generator,
            "series",
            "A TestView; list answers leave `series` out.",
        )
    }
}

/// The answer of `GET /api/nodes` (and the `nodes` event).
#[derive(Serialize, JsonSchema)]
pub(crate) struct NodeList {
    /// Every known driver.
    pub(crate) nodes: Vec<NodeView>,
}

async fn list_tests(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<TestList>, ApiError> {
    let (offset, limit) = page(query.as_deref().unwrap_or_default())?;
    let (views, total) = state.orchestrator.tests(offset, limit);
    let tests = views
        .iter()
        .map(|view| {
            let mut value = serde_json::to_value(view)
                .map_err(|e| ApiError::Internal(format!("cannot encode test {}: {e}", view.id)))?;
            if let Some(object) = value.as_object_mut() {
                object.remove("series");
            }
            Ok(TestListItem(value))
        })
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(TestList { tests, total }))
}

/// Largest `offset` (the largest integer JSON numbers carry exactly).
pub const MAX_OFFSET: u64 = (1 << 53) - 1;

/// `offset` and `limit` from a query string; other parameters are ignored.
fn page(query: &str) -> Result<(usize, usize), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| ApiError::BadRequest {
            message: format!("invalid query string: {e}"),
            field: None,
        })?;
    let mut offset = 0;
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in pairs {
        match name.as_str() {
            "limit" => {
                limit = value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::field(
                            "limit",
                            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "offset" => {
                offset = value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= MAX_OFFSET)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::field("offset", "offset must be an integer from 0 to 2^53 - 1")
                    })?;
            }
            _ => {}
        }
    }
    Ok((offset, limit))
}

/// Creates a test (201); with `"start": true` starts it too, and creates nothing when it is
/// plain that it cannot start (no live drivers, or fewer than it asks for).
async fn create_test(
    State(state): State<AppState>,
    Plan(plan): Plan,
) -> Result<(StatusCode, Json<TestView>), ApiError> {
    let orchestrator = &state.orchestrator;
    let start = plan.start;
    // Recorded unstarted and started here, so that the id is known if the start fails.
    let view = orchestrator.record_test(plan)?;
    if !start {
        tracing::info!(test_id = view.id, "test created");
        return Ok((StatusCode::CREATED, Json(view)));
    }
    tracing::info!(test_id = view.id, "test created; starting it");
    match orchestrator.start_test(&view.id).await {
        Ok(view) => Ok((StatusCode::CREATED, Json(view))),
        Err(e) => {
            let error = ApiError::from(e);
            let never_began = orchestrator
                .test(&view.id)
                .is_some_and(|t| t.status == TestStatus::Created);
            match error {
                // The drivers went away between the check and the start.
                ApiError::Conflict(message) if never_began => Err(ApiError::Conflict(format!(
                    "{message}; test {} was created but not started",
                    view.id
                ))),
                other => Err(other),
            }
        }
    }
}

/// The `{id}` of a path, or a JSON 400.
fn test_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|e| ApiError::BadRequest {
        message: format!("invalid test id: {}", e.body_text()),
        field: Some("id".to_owned()),
    })
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no test with id `{id}`"))
}

async fn get_test(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TestView>, ApiError> {
    let id = test_id(path)?;
    state
        .orchestrator
        .test(&id)
        .map(Json)
        .ok_or_else(|| not_found(&id))
}

/// Longest `X-Requested-By` kept as who changed a test's rate.
const MAX_REQUESTED_BY: usize = 64;

/// Who asks, for the record of a change: the request's `X-Requested-By` (printable ASCII, at
/// most [`MAX_REQUESTED_BY`] characters), else `api`.
fn requested_by(headers: &axum::http::HeaderMap) -> String {
    headers
        .get("x-requested-by")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|by| {
            !by.is_empty()
                && by.len() <= MAX_REQUESTED_BY
                && by.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        })
        .unwrap_or("api")
        .to_owned()
}

/// Changes a running test's rate; every driver switches at one instant, stated in the answer's
/// last `load_changes` entry.
async fn change_load(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    headers: axum::http::HeaderMap,
    LoadChange(new): LoadChange,
) -> Result<Json<TestView>, ApiError> {
    let id = test_id(path)?;
    let by = requested_by(&headers);
    let view = state.orchestrator.change_load(&id, new, &by).await?;
    Ok(Json(view))
}

async fn start_test(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TestView>, ApiError> {
    let id = test_id(path)?;
    let view = state.orchestrator.start_test(&id).await?;
    tracing::info!(test_id = id, "test started");
    Ok(Json(view))
}

async fn stop_test(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<TestView>, ApiError> {
    let id = test_id(path)?;
    let view = state.orchestrator.stop_test(&id).await?;
    tracing::info!(test_id = id, "test stop requested");
    Ok(Json(view))
}

/// The aggregate report file as an attachment.
async fn report(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = test_id(path)?;
    let view = state.orchestrator.test(&id).ok_or_else(|| not_found(&id))?;
    let Some(file) = state.orchestrator.report_path(&id) else {
        return Err(ApiError::NotFound(format!(
            "test {id} has no report yet: it is {}; reports are written when a test ends",
            status_name(view.status)
        )));
    };
    let bytes = tokio::fs::read(&file).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ApiError::NotFound(format!("the report of test {id} is no longer on disk"))
        } else {
            ApiError::Internal(format!("cannot read the report of test {id}: {e}"))
        }
    })?;
    let file_name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"onslaught-{file_name}.json\""
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The self-contained HTML report of an ended test: the `report.html` written beside its
/// `test.json`, or, for a report folder without one (written by an older version), made from
/// the folder now.
async fn report_page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = test_id(path)?;
    let view = state.orchestrator.test(&id).ok_or_else(|| not_found(&id))?;
    let Some(dir) = state
        .orchestrator
        .report_path(&id)
        .and_then(|file| file.parent().map(std::path::Path::to_path_buf))
    else {
        return Err(ApiError::NotFound(format!(
            "test {id} has no report yet: it is {}; reports are written when a test ends",
            status_name(view.status)
        )));
    };
    let page = tokio::task::spawn_blocking(move || {
        match std::fs::read_to_string(dir.join(html::FILE_NAME)) {
            Ok(page) => Ok(page),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                html::ReportFolder::read(&dir).and_then(|folder| html::render(&folder))
            }
            Err(source) => Err(html::HtmlError::Io {
                path: dir.join(html::FILE_NAME),
                source,
            }),
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the report page task failed: {e}")))?
    .map_err(|e| match e {
        html::HtmlError::NotAReport(_) => {
            ApiError::NotFound(format!("the report of test {id} is no longer on disk"))
        }
        other => ApiError::Internal(format!("cannot make the report page of test {id}: {other}")),
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        page,
    )
        .into_response())
}

/// The report folder of an ended test, or why there is none.
fn report_folder_of(state: &AppState, id: &str) -> Result<std::path::PathBuf, ApiError> {
    let view = state.orchestrator.test(id).ok_or_else(|| not_found(id))?;
    state
        .orchestrator
        .report_path(id)
        .and_then(|file| file.parent().map(std::path::Path::to_path_buf))
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "test {id} has no report yet: it is {}; reports are written when a test ends",
                status_name(view.status)
            ))
        })
}

/// What a comparison route is asked: the base run's id and the tolerances.
struct CompareQuery {
    /// The base run's test id.
    base: String,
    /// Tolerances, as `onslaught compare --max-regression` takes them.
    tolerances: compare::Tolerances,
}

impl CompareQuery {
    /// `base` (required) and `max_regression` from a query string; other parameters are
    /// ignored.
    fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
            .map_err(|e| ApiError::BadRequest {
                message: format!("invalid query string: {e}"),
                field: None,
            })?;
        let value = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let base = value("base")
            .filter(|b| !b.is_empty())
            .ok_or_else(|| ApiError::field("base", "give the base run's test id: ?base=t-..."))?
            .clone();
        let tolerances =
            compare::Tolerances::parse(value("max_regression").map_or("", String::as_str))
                .map_err(|e| ApiError::field("max_regression", e.to_string()))?;
        Ok(Self { base, tolerances })
    }
}

/// Both runs' report folders, read off the event loop; `new` is the path's test.
async fn compared_folders(
    state: &AppState,
    new: &str,
    base: &str,
) -> Result<(html::ReportFolder, html::ReportFolder), ApiError> {
    let dirs = (
        report_folder_of(state, base)?,
        report_folder_of(state, new)?,
    );
    let ids = (base.to_owned(), new.to_owned());
    tokio::task::spawn_blocking(move || {
        let read = |dir: &std::path::Path, id: &str| {
            html::ReportFolder::read(dir).map_err(|e| match e {
                html::HtmlError::NotAReport(_) => {
                    ApiError::NotFound(format!("the report of test {id} is no longer on disk"))
                }
                other => {
                    ApiError::Internal(format!("cannot read the report of test {id}: {other}"))
                }
            })
        };
        Ok((read(&dirs.0, &ids.0)?, read(&dirs.1, &ids.1)?))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the comparison task failed: {e}")))?
}

/// The comparison of the path's test (the new run) against `?base=ID`, each metric judged
/// against `?max_regression=` (the defaults of `onslaught compare` otherwise).
async fn compare_tests(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Json<compare::ComparisonView>, ApiError> {
    let id = test_id(path)?;
    let query = CompareQuery::parse(query.as_deref())?;
    let (base, new) = compared_folders(&state, &id, &query.base).await?;
    let comparison = compare::compare(&base.report, &new.report, &query.tolerances);
    Ok(Json(compare::ComparisonView::of(
        &base.report,
        &new.report,
        &comparison,
    )))
}

/// The comparison page: the new run's HTML report with the base run's charts overlaid and the
/// verdicts (what `onslaught compare --html` writes).
async fn compare_page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let id = test_id(path)?;
    let query = CompareQuery::parse(query.as_deref())?;
    let (base, new) = compared_folders(&state, &id, &query.base).await?;
    let comparison = compare::compare(&base.report, &new.report, &query.tolerances);
    let page = html::render_comparison(&base, &new, &comparison)
        .map_err(|e| ApiError::Internal(format!("cannot make the comparison page: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        page,
    )
        .into_response())
}

/// A status as the JSON shows it (`running`).
fn status_name(status: TestStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("{status:?}").to_lowercase())
}

async fn nodes(State(state): State<AppState>) -> Json<NodeList> {
    Json(NodeList {
        nodes: state.orchestrator.nodes(),
    })
}

async fn openapi_document() -> Json<serde_json::Value> {
    Json(openapi::document())
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::render(&state.orchestrator),
    )
}

/// A JSON 404 for paths under `/api` that no route serves.
pub(crate) async fn no_such_route(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no API route `{}`", uri.path()))
}

/// A JSON 405 for a known path with another method.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("`{}` does not accept {method}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_validated() {
        assert_eq!(page("").unwrap(), (0, DEFAULT_LIMIT));
        assert_eq!(page("limit=5&offset=10&x=1").unwrap(), (10, 5));
        for bad in ["limit=0", "limit=101", "limit=x", "limit=-1", "limit="] {
            assert!(
                matches!(page(bad), Err(ApiError::BadRequest { field: Some(f), .. }) if f == "limit"),
                "{bad}"
            );
        }
        assert!(
            matches!(page("offset=-1"), Err(ApiError::BadRequest { field: Some(f), .. }) if f == "offset")
        );
    }
}
