//! The OpenAPI 3.1 document of the API. Operations are described here; every schema is
//! generated from the Rust type that is read or written (schemars, from the serde attributes),
//! so a field added to a type is in the document. The tests check that its paths are exactly
//! [`crate::Endpoint::ALL`], that real answers validate against its schemas, that each schema's
//! `required` list is what the Rust types demand and always write, and that the checked-in
//! copies ([`files`]: `docs/openapi.json`, the report schemas) are current; write them with
//! `cargo run -p onslaught-api --example contract`.

use onslaught_orchestrator::html;
use onslaught_orchestrator::report::{self, TestReport};
use onslaught_orchestrator::{TestRequest, TestView};
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::error::ErrorBody;
use crate::routes::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET, NodeList, TestList};

/// A `$ref` to a component schema.
fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A JSON response with a schema.
fn json_response(description: &str, schema_name: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema(schema_name) } }
    })
}

fn error(description: &str) -> Value {
    json_response(description, "Error")
}

fn id_parameter() -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "description": "Test id (`t-…`).",
        "schema": { "type": "string" }
    })
}

fn base_parameter() -> Value {
    json!({
        "name": "base", "in": "query", "required": true,
        "description": "The base run's test id.",
        "schema": { "type": "string", "minLength": 1 }
    })
}

/// Tolerances as a regular expression for the document: a subset of what is accepted
/// (percentages, which fit every metric).
const MAX_REGRESSION_PATTERN: &str = "^((throughput|error_rate|p50|p90|p95|p99|p99\\.9|max|mean)=[0-9]{1,3}%)(,(throughput|error_rate|p50|p90|p95|p99|p99\\.9|max|mean)=[0-9]{1,3}%)*$";

fn max_regression_parameter() -> Value {
    json!({
        "name": "max_regression", "in": "query", "required": false,
        "description": "How much worse each metric may get, as `onslaught compare --max-regression` takes it: `p99=10%,error_rate=0.5pp,max=50ms` (the pattern shows the percentage form every metric takes).",
        "schema": { "type": "string", "pattern": MAX_REGRESSION_PATTERN }
    })
}

/// A mutating operation on one test.
fn test_action(summary: &str, operation_id: &str, conflict: &str) -> Value {
    json!({
        "post": {
            "summary": summary,
            "operationId": operation_id,
            "tags": ["tests"],
            "security": [{ "bearer": [] }],
            "parameters": [id_parameter()],
            "responses": {
                "200": json_response("The test after the change.", "TestView"),
                "401": error("A token is configured and was not sent."),
                "404": error("No test with this id."),
                "409": error(conflict),
                "503": error("The message transport to the drivers failed.")
            }
        }
    })
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "onslaught orchestrator API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Create, start, stop and read distributed HTTP load tests. Counts, \
                rates and concurrency in a test request are per driver. With an API token \
                configured, POST and PATCH routes need `Authorization: Bearer <token>`; GET routes and \
                the event stream stay open. Every error answers `{\"error\": \"...\"}`, and a \
                400 about one field adds `\"field\"`."
        },
        "tags": [
            { "name": "tests", "description": "Load tests." },
            { "name": "nodes", "description": "Drivers." },
            { "name": "meta", "description": "Events, metrics and this document." }
        ],
        "paths": {
            "/api/tests": {
                "get": {
                    "summary": "List tests, newest first",
                    "operationId": "listTests",
                    "tags": ["tests"],
                    "parameters": [
                        {
                            "name": "limit", "in": "query", "required": false,
                            "schema": {
                                "type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                "default": DEFAULT_LIMIT
                            }
                        },
                        {
                            "name": "offset", "in": "query", "required": false,
                            "schema": {
                                "type": "integer", "minimum": 0,
                                "maximum": MAX_OFFSET, "default": 0
                            }
                        }
                    ],
                    "responses": {
                        "200": json_response("A page of tests (without `series`).", "TestList"),
                        "400": error("`limit` or `offset` is out of range (`field` says which).")
                    }
                },
                "post": {
                    "summary": "Create a test (and start it with `\"start\": true`)",
                    "operationId": "createTest",
                    "tags": ["tests"],
                    "security": [{ "bearer": [] }],
                    "requestBody": {
                        "required": true,
                        "description": "The test as JSON, or as YAML (`application/yaml`, \
                            `application/x-yaml` or `text/yaml`): the same document as a plan \
                            file. A dataset gives its `rows` (a `csv` file is for the CLI).",
                        "content": {
                            "application/json": { "schema": schema("TestRequest") },
                            "application/yaml": { "schema": schema("TestRequest") }
                        }
                    },
                    "responses": {
                        "201": json_response("The test as created (or started).", "TestView"),
                        "400": error("Invalid JSON or YAML, or an invalid field (`field` names its path in the document)."),
                        "401": error("A token is configured and was not sent."),
                        "408": error("The body did not arrive within the server's body \
                            deadline (30 s by default)."),
                        "409": error("It cannot start: no live drivers, all busy, fewer than \
                            it asks for, or they did not acknowledge it."),
                        "413": error("The body is larger than 1 MiB."),
                        "415": error("The body is declared neither as JSON nor as YAML."),
                        "503": error("The message transport to the drivers failed.")
                    }
                }
            },
            "/api/tests/{id}": {
                "get": {
                    "summary": "One test, with its per-second series",
                    "operationId": "getTest",
                    "tags": ["tests"],
                    "parameters": [id_parameter()],
                    "responses": {
                        "200": json_response("The test.", "TestView"),
                        "404": error("No test with this id.")
                    }
                },
                "patch": {
                    "summary": "Change a running test's rate or users",
                    "description": "A new `rate` (requests per second per driver) or \
                        `rate_total` (over all the test's drivers) for a running tsunami with a \
                        constant rate. The test keeps its split: a rate per driver stays one \
                        (a total given is divided among the drivers), a total stays one (the \
                        drivers keep their stripes of one schedule). Or new `users` (per \
                        driver) or `users_total` (split by stripe, at least one per driver) for \
                        a running avalanche with constant users: users above the new number \
                        finish their request in flight and wait, new users start with a \
                        connection of their own. Every driver switches at \
                        one instant, half a second after the request: the answer's last \
                        `load_changes` entry states it (`at_ms`, and `offset_ms` on the test's \
                        clock); arrivals from then on follow the new rate, their send times \
                        still computed from their index. The change is kept in the test's view \
                        and reports. `X-Requested-By` (at most 64 printable characters) names \
                        who asked in the record; `api` otherwise.",
                    "operationId": "changeLoad",
                    "tags": ["tests"],
                    "security": [{ "bearer": [] }],
                    "parameters": [id_parameter()],
                    "requestBody": {
                        "required": true,
                        "content": {
                            "application/json": { "schema": schema("LoadChangeRequest") }
                        }
                    },
                    "responses": {
                        "200": json_response("The test, with the change in `load_changes`.", "TestView"),
                        "400": error("Invalid JSON, not exactly one of `rate`, `rate_total`, `users` and `users_total`, or a rate or users out of bounds (also once converted to the test's split; `field` says which)."),
                        "401": error("A token is configured and was not sent."),
                        "404": error("No test with this id."),
                        "408": error("The body did not arrive within the server's body \
                            deadline (30 s by default)."),
                        "409": error("The test is not running (created, configuring, stopping \
                            or ended), is an avalanche given a rate or a tsunami given users, \
                            follows stages, ends before the change could take effect, or \
                            changed its load 100 times."),
                        "413": error("The body is larger than 1 MiB."),
                        "415": error("The body is not declared as JSON."),
                        "503": error("The message transport to the drivers failed.")
                    }
                }
            },
            "/api/tests/{id}/start": test_action(
                "Start a created test on the live drivers",
                "startTest",
                "Already started, no live drivers, or they did not acknowledge it."
            ),
            "/api/tests/{id}/stop": test_action(
                "Stop a test (what was measured is kept)",
                "stopTest",
                "The test has already ended."
            ),
            "/api/tests/{id}/report": {
                "get": {
                    "summary": "Download the aggregate report of an ended test",
                    "operationId": "getReport",
                    "tags": ["tests"],
                    "parameters": [id_parameter()],
                    "responses": {
                        "200": {
                            "description": "The report file, as an attachment.",
                            "headers": {
                                "Content-Disposition": { "schema": { "type": "string" } }
                            },
                            "content": { "application/json": { "schema": schema("Report") } }
                        },
                        "404": error("No test with this id, or it has no report yet.")
                    }
                }
            },
            "/api/tests/{id}/report.html": {
                "get": {
                    "summary": "The self-contained HTML report of an ended test",
                    "description": "One HTML file with every script and style inlined (it opens offline); its data block (`<script type=\"application/json\" id=\"report-data\">`) holds a `ReportPage`.",
                    "operationId": "getReportPage",
                    "tags": ["tests"],
                    "parameters": [id_parameter()],
                    "responses": {
                        "200": {
                            "description": "The report page.",
                            "content": { "text/html": { "schema": { "type": "string" } } }
                        },
                        "404": error("No test with this id, or it has no report yet."),
                        "500": error("The page could not be made (a binary built without the dashboard).")
                    }
                }
            },
            "/api/tests/{id}/compare": {
                "get": {
                    "summary": "Compare an ended test with a base run",
                    "description": "The path's test is the new run; each metric (throughput, error rate, latency percentiles) is judged against its tolerance, as `onslaught compare` does.",
                    "operationId": "compareTests",
                    "tags": ["tests"],
                    "parameters": [id_parameter(), base_parameter(), max_regression_parameter()],
                    "responses": {
                        "200": json_response("One row per metric and the regressions.", "ComparisonView"),
                        "400": error("No `base`, or tolerances that cannot be read."),
                        "404": error("No test with one of the ids, or it has no report yet.")
                    }
                }
            },
            "/api/tests/{id}/compare.html": {
                "get": {
                    "summary": "The comparison page of an ended test and a base run",
                    "description": "The new run's self-contained HTML report with the base run's charts overlaid and the verdicts; its data block holds a `ReportPage` with `base`.",
                    "operationId": "getComparePage",
                    "tags": ["tests"],
                    "parameters": [id_parameter(), base_parameter(), max_regression_parameter()],
                    "responses": {
                        "200": {
                            "description": "The comparison page.",
                            "content": { "text/html": { "schema": { "type": "string" } } }
                        },
                        "400": error("No `base`, or tolerances that cannot be read."),
                        "404": error("No test with one of the ids, or it has no report yet."),
                        "500": error("The page could not be made (a binary built without the dashboard).")
                    }
                }
            },
            "/api/nodes": {
                "get": {
                    "summary": "Every known driver",
                    "operationId": "listNodes",
                    "tags": ["nodes"],
                    "responses": { "200": json_response("The drivers.", "NodeList") }
                }
            },
            "/api/events": {
                "get": {
                    "summary": "Live updates as Server-Sent Events",
                    "description": "Event `nodes` carries a NodeList; event `test` carries the \
                        TestView of each active test (created, configuring, running) and once \
                        more when a test ends. Each kind is sent at most 5 times a second, and \
                        at least once a second; comments keep the connection alive.",
                    "operationId": "events",
                    "tags": ["meta"],
                    "responses": {
                        "200": {
                            "description": "An endless event stream.",
                            "content": { "text/event-stream": { "schema": { "type": "string" } } }
                        }
                    }
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "tags": ["meta"],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1.",
                            "content": { "application/json": { "schema": { "type": "object" } } }
                        }
                    }
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "operationId": "metrics",
                    "tags": ["meta"],
                    "responses": {
                        "200": {
                            "description": "Prometheus text format 0.0.4.",
                            "content": { "text/plain": { "schema": { "type": "string" } } }
                        }
                    }
                }
            }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer" }
            },
            "schemas": schemas()
        }
    })
}

/// Where component schemas live in the document.
const SCHEMAS_PATH: &str = "/components/schemas";

/// A generator of component schemas for what the API reads (`Contract::Deserialize`: fields with
/// a default are optional) or writes (`Contract::Serialize`: every field always written is
/// required).
fn generator(reads: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = SCHEMAS_PATH.into();
        s.meta_schema = None;
    });
    let settings = if reads {
        settings.for_deserialize()
    } else {
        settings.for_serialize()
    };
    settings.into_generator()
}

/// The name of the written form of a type whose read form differs (a request's defaults are
/// optional when read and always present when written back in a view).
fn written_name(name: &str) -> String {
    match name {
        "TestRequest" => "TestConfig".to_owned(),
        other => format!("{other}Written"),
    }
}

/// Every component schema: the request body as read, the answers and the report as written.
fn schemas() -> Map<String, Value> {
    let mut reads = generator(true);
    reads.subschema_for::<TestRequest>();
    reads.subschema_for::<onslaught_plan::LoadChangeRequest>();
    let mut writes = generator(false);
    writes.subschema_for::<ErrorBody>();
    writes.subschema_for::<TestView>();
    writes.subschema_for::<TestList>();
    writes.subschema_for::<NodeList>();
    writes.subschema_for::<TestReport>();
    writes.subschema_for::<html::ReportPage<'static>>();
    writes.subschema_for::<onslaught_orchestrator::compare::ComparisonView>();
    let mut schemas = reads.take_definitions(true);
    let mut written = Value::Object(writes.take_definitions(true));
    let renamed: Vec<String> = written
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, schema)| schemas.get(*name).is_some_and(|read| read != *schema))
        .map(|(name, _)| name.clone())
        .collect();
    for name in &renamed {
        rename_refs(&mut written, name, &written_name(name));
    }
    if let Value::Object(written) = written {
        for (name, schema) in written {
            let name = if renamed.contains(&name) {
                written_name(&name)
            } else {
                name
            };
            schemas.insert(name, schema);
        }
    }
    schemas
}

/// Points every `$ref` to schema `from` in `value` to schema `to`.
fn rename_refs(value: &mut Value, from: &str, to: &str) {
    let old = format!("#{SCHEMAS_PATH}/{from}");
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(r) if key == "$ref" && *r == old => {
                        *r = format!("#{SCHEMAS_PATH}/{to}");
                    }
                    _ => rename_refs(item, from, to),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rename_refs(i, from, to)),
        _ => {}
    }
}

/// `T`'s schema with `field` no longer required, and `description` (for answers that leave a
/// field out).
pub(crate) fn schema_without<T: JsonSchema>(
    generator: &mut SchemaGenerator,
    field: &str,
    description: &str,
) -> schemars::Schema {
    let mut schema = T::json_schema(generator);
    if let Some(Value::Array(required)) = schema.get_mut("required") {
        required.retain(|r| r != field);
    }
    schema.insert("description".to_owned(), description.into());
    schema
}

/// The generated files of the contract, by path from the workspace root, as written there.
pub fn files() -> Vec<(&'static str, String)> {
    [
        ("docs/openapi.json", document()),
        (
            "docs/report.schema.json",
            report::test_report_schema().to_value(),
        ),
        (
            "docs/node-report.schema.json",
            report::node_report_schema().to_value(),
        ),
    ]
    .into_iter()
    .map(|(path, value)| {
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        (path, text)
    })
    .collect()
}
