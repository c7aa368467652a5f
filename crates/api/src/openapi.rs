//! The OpenAPI 3.1 document of the API, written by hand. The tests check that its paths are
//! exactly [`crate::Endpoint::ALL`], that real answers validate against its schemas, and that
//! each schema's `required` list is what the Rust types demand and always write.

use orchestrator::request::{
    DEFAULT_CONCURRENCY, DEFAULT_MAX_START_SKEW_MS, DEFAULT_TIMEOUT_MS, MAX_BODY_BYTES,
    MAX_BODY_CHARS, MAX_CONCURRENCY, MAX_DRIVERS, MAX_DURATION_MS, MAX_RATE, MAX_REQUESTS,
    MAX_START_SKEW_MS,
};
use serde_json::{Value, json};

use crate::routes::{DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET};

/// Spellings of `test_type` the schema lists (the API accepts any case).
const TSUNAMI: [&str; 3] = ["tsunami", "TSUNAMI", "Tsunami"];
/// See [`TSUNAMI`].
const AVALANCHE: [&str; 3] = ["avalanche", "AVALANCHE", "Avalanche"];

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
                configured, POST routes need `Authorization: Bearer <token>`; GET routes and \
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
                        "content": { "application/json": { "schema": schema("TestRequest") } }
                    },
                    "responses": {
                        "201": json_response("The test as created (or started).", "TestView"),
                        "400": error("Invalid JSON or an invalid field (`field` names it)."),
                        "401": error("A token is configured and was not sent."),
                        "408": error("The body did not arrive within the server's body \
                            deadline (30 s by default)."),
                        "409": error("It cannot start: no live drivers, all busy, fewer than \
                            it asks for, or they did not acknowledge it."),
                        "413": error("The body is larger than 1 MiB."),
                        "415": error("The body is not declared as `application/json`."),
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

fn nullable(kind: &str) -> Value {
    json!([kind, "null"])
}

fn count_map() -> Value {
    json!({ "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 } })
}

fn schemas() -> Value {
    let uint = json!({ "type": "integer", "minimum": 0 });
    let number = json!({ "type": "number" });
    let summary_fields = [
        "count", "min", "max", "mean", "stdev", "median", "mode", "p90", "p95", "p99", "p999",
    ];
    let summary_properties: serde_json::Map<String, Value> = summary_fields
        .iter()
        .map(|f| {
            let kind = if *f == "count" { &uint } else { &number };
            ((*f).to_owned(), kind.clone())
        })
        .collect();
    let test_view_properties = json!({
        "id": { "type": "string" },
        "status": schema("TestStatus"),
        "config": schema("TestRequest"),
        "drivers": { "type": "array", "items": { "type": "string" } },
        "created_at_ms": uint,
        "started_at_ms": { "type": nullable("integer"), "minimum": 0 },
        "ended_at_ms": { "type": nullable("integer"), "minimum": 0 },
        "message": { "type": nullable("string") },
        "warnings": {
            "type": "array", "items": { "type": "string" },
            "description": "What makes the numbers less than they seem, such as a driver that started more than max_start_skew_ms after the test's start time."
        },
        "aggregate": schema("StatsView"),
        "nodes": { "type": "object", "additionalProperties": schema("StatsView") },
        "node_facts": { "type": "object", "additionalProperties": schema("NodeFacts") },
        "series": { "type": "array", "items": schema("SeriesPoint") },
        "report_path": { "type": nullable("string") },
        "report_error": {
            "type": "string",
            "description": "Why the final report could not be written; the test is over all the same."
        },
        "last_metrics_sent_at_ms": { "type": nullable("integer"), "minimum": 0 }
    });
    let test_view_required = [
        "id",
        "status",
        "config",
        "drivers",
        "created_at_ms",
        "started_at_ms",
        "ended_at_ms",
        "message",
        "warnings",
        "aggregate",
        "nodes",
        "node_facts",
        "series",
        "report_path",
        "last_metrics_sent_at_ms",
    ];
    let list_item_required: Vec<&str> = test_view_required
        .iter()
        .copied()
        .filter(|f| *f != "series")
        .collect();
    let mut report_properties = test_view_properties.clone();
    if let Some(properties) = report_properties.as_object_mut() {
        properties.insert("report_version".to_owned(), uint.clone());
        properties.insert(
            "histograms".to_owned(),
            json!({
                "type": "object",
                "required": ["latency", "service_time"],
                "properties": {
                    "latency": { "type": "string" },
                    "service_time": { "type": "string" }
                }
            }),
        );
        properties.insert(
            "node_reports".to_owned(),
            json!({ "type": "object", "additionalProperties": { "type": "string" } }),
        );
    }
    let report_required: Vec<&str> = test_view_required
        .iter()
        .copied()
        .chain(["report_version", "histograms", "node_reports"])
        .collect();
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": { "type": "string", "description": "What went wrong." },
                "field": {
                    "type": "string",
                    "description": "The request field at fault (400 only), e.g. `url` or \
                        `headers[0].name`."
                }
            },
            "additionalProperties": false
        },
        "Header": {
            "type": "object",
            "required": ["name", "value"],
            "properties": {
                "name": { "type": "string", "pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" },
                "value": { "type": "string", "pattern": "^[^\\r\\n\\u0000]*$" }
            }
        },
        "TestRequest": {
            "type": "object",
            "description": "A test. Counts, rates and concurrency are per driver.",
            "required": ["test_type", "url"],
            "additionalProperties": false,
            "allOf": [
                {
                    "description": "A request count, a duration, or both.",
                    "anyOf": [
                        { "required": ["requests_per_driver"],
                          "properties": { "requests_per_driver": { "type": "integer" } } },
                        { "required": ["duration_ms"],
                          "properties": { "duration_ms": { "type": "integer" } } }
                    ]
                },
                {
                    "description": "A tsunami test needs a delay > 0 or a rate.",
                    "if": { "properties": { "test_type": { "enum": TSUNAMI } } },
                    "then": {
                        "anyOf": [
                            { "required": ["rate"], "properties": { "rate": { "type": "number" } } },
                            { "required": ["delay_ms"],
                              "properties": { "delay_ms": { "type": "number", "exclusiveMinimum": 0 } } }
                        ]
                    }
                },
                {
                    "description": "A rate or a delay above 0, not both.",
                    "not": {
                        "required": ["rate", "delay_ms"],
                        "properties": {
                            "rate": { "type": "number" },
                            "delay_ms": { "type": "number", "exclusiveMinimum": 0 }
                        }
                    }
                },
                {
                    "description": "The body as text or as base64, not both.",
                    "not": {
                        "required": ["body", "body_base64"],
                        "properties": {
                            "body": { "type": "string" }, "body_base64": { "type": "string" }
                        }
                    }
                },
                {
                    "description": "An avalanche test has no rate.",
                    "if": { "properties": { "test_type": { "enum": AVALANCHE } } },
                    "then": { "properties": { "rate": { "type": "null" } } }
                }
            ],
            "properties": {
                "test_type": {
                    "type": "string",
                    "enum": ["avalanche", "tsunami", "AVALANCHE", "TSUNAMI", "Avalanche", "Tsunami"],
                    "description": "`avalanche` (as fast as possible) or `tsunami` (a fixed \
                        delay or rate); any case is accepted."
                },
                "url": {
                    "type": "string",
                    "pattern": orchestrator::request::URL_PATTERN,
                    "description": "Absolute http:// or https:// URL: a host name (IDN \
                        accepted), an IPv4 address or an IPv6 address in brackets, a port \
                        1 to 65535; no user info, no fragment; the path and query \
                        percent-encoded."
                },
                "method": { "type": "string", "default": "GET", "pattern": "^[A-Za-z]{1,32}$" },
                "headers": { "type": "array", "items": schema("Header"), "default": [] },
                "body": {
                    "type": nullable("string"), "maxLength": MAX_BODY_CHARS,
                    "description": "Request body as UTF-8 text."
                },
                "body_base64": {
                    "type": nullable("string"),
                    "contentEncoding": "base64",
                    "pattern": "^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
                    "maxLength": MAX_BODY_BYTES / 3 * 4,
                    "description": format!("Request body as standard base64, for bytes that \
                        are not UTF-8 text (at most {MAX_BODY_BYTES} bytes decoded); not with \
                        `body`.")
                },
                "delay_ms": {
                    "type": nullable("number"), "minimum": 0, "maximum": 3_600_000,
                    "description": "Tsunami: gap between sends on each driver (ms). A tsunami \
                        test needs a delay > 0 or a rate."
                },
                "rate": {
                    "type": nullable("number"), "exclusiveMinimum": 0, "maximum": MAX_RATE,
                    "description": "Tsunami: requests per second per driver."
                },
                "requests_per_driver": {
                    "type": nullable("integer"), "minimum": 1, "maximum": MAX_REQUESTS,
                    "description": "Give this, `duration_ms`, or both."
                },
                "duration_ms": {
                    "type": nullable("integer"), "minimum": 1, "maximum": MAX_DURATION_MS
                },
                "concurrency": {
                    "type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY,
                    "default": DEFAULT_CONCURRENCY
                },
                "timeout_ms": {
                    "type": "integer", "minimum": 1, "maximum": 3_600_000,
                    "default": DEFAULT_TIMEOUT_MS
                },
                "insecure": { "type": "boolean", "default": false },
                "drivers": {
                    "type": nullable("integer"), "minimum": 1, "maximum": MAX_DRIVERS,
                    "description": "How many live drivers take part (all when null)."
                },
                "max_start_skew_ms": {
                    "type": "integer", "minimum": 0, "maximum": MAX_START_SKEW_MS,
                    "default": DEFAULT_MAX_START_SKEW_MS,
                    "description": "A driver that starts more than this many ms after the test's start time is named in the test's warnings."
                },
                "expect_status": {
                    "type": nullable("string"),
                    "pattern": "^ *([1-5][0-9][0-9]|[1-5][xX][xX]) *(, *([1-5][0-9][0-9]|[1-5][xX][xX]) *)*$",
                    "description": "Statuses that count as success: a comma-separated list \
                        of statuses (404) and classes (2xx). 2xx and 3xx when \
                        null; other statuses count as errors (`http_404`, `http_5xx`)."
                },
                "max_error_ratio": {
                    "type": "number", "minimum": 0, "maximum": 1, "default": 0.0,
                    "description": "Largest share of failed requests with which the test \
                        still passes; 0: any failed request fails it."
                },
                "start": { "type": "boolean", "default": false }
            }
        },
        "TestStatus": {
            "type": "string",
            "enum": [
                "created", "configuring", "running", "completed", "degraded", "failed",
                "aborted", "interrupted"
            ]
        },
        "Summary": {
            "type": "object",
            "description": "Latency summary in milliseconds.",
            "required": summary_fields,
            "properties": summary_properties
        },
        "LatencySummary": {
            "type": nullable("object"),
            "description": "Latency summary in milliseconds; null without responses.",
            "required": summary_fields,
            "properties": summary_properties
        },
        "StatsView": {
            "type": "object",
            "required": [
                "requests_attempted", "requests_sent", "responses_received", "errors",
                "error_reasons", "status_codes", "bytes_sent", "bytes_received", "late_sends",
                "rps", "success_ratio", "latency", "service_time"
            ],
            "properties": {
                "requests_attempted": {
                    "type": "integer", "minimum": 0,
                    "description": "Requests started: sent, or failed before they could be (connection not opened)."
                },
                "requests_sent": {
                    "type": "integer", "minimum": 0,
                    "description": "Requests written to a connection."
                },
                "responses_received": uint,
                "errors": count_map(),
                "error_reasons": {
                    "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 },
                    "description": "Errors by kind and cause, e.g. `connect: connection refused (os error 111)`; at most 32 distinct, the rest under `other reasons`."
                },
                "status_codes": count_map(),
                "bytes_sent": {
                    "type": "integer", "minimum": 0,
                    "description": "Bytes written to sockets."
                },
                "bytes_received": uint,
                "late_sends": uint,
                "rps": number,
                "success_ratio": number,
                "latency": schema("LatencySummary"),
                "service_time": schema("LatencySummary"),
                "send_gap": schema("Summary"),
                "send_lag": schema("Summary")
            }
        },
        "SeriesPoint": {
            "type": "object",
            "required": [
                "second", "requests", "responses", "errors", "p50", "p95", "p99", "mean", "nodes"
            ],
            "properties": {
                "second": uint,
                "requests": uint,
                "responses": uint,
                "errors": uint,
                "p50": { "type": nullable("number") },
                "p95": { "type": nullable("number") },
                "p99": { "type": nullable("number") },
                "mean": { "type": nullable("number") },
                "nodes": count_map()
            }
        },
        "NodeFacts": {
            "type": "object",
            "required": ["finished", "lost", "messages", "missing_messages", "elapsed_ms"],
            "properties": {
                "finished": { "type": "boolean" },
                "lost": { "type": "boolean" },
                "messages": uint,
                "missing_messages": uint,
                "elapsed_ms": uint,
                "started_at_ms": {
                    "type": "integer", "minimum": 0,
                    "description": "When the driver's run actually started, ms since the Unix epoch."
                },
                "start_offset_ms": {
                    "type": "integer",
                    "description": "How many ms after the test's start time the driver's run started."
                },
                "lost_at_ms": { "type": "integer", "minimum": 0, "description": "When the driver was declared dead." },
                "stopped": { "type": "string", "description": "Why the driver ended its run early." },
                "last_send_us": { "type": "integer", "minimum": 0, "description": "µs from the driver's start to its last send." },
                "last_response_us": { "type": "integer", "minimum": 0, "description": "µs from the driver's start to the end of its last request." }
            }
        },
        "TestView": {
            "type": "object",
            "required": test_view_required,
            "properties": test_view_properties
        },
        "TestListItem": {
            "type": "object",
            "description": "A TestView; list answers leave `series` out.",
            "required": list_item_required,
            "properties": test_view_properties
        },
        "TestList": {
            "type": "object",
            "required": ["tests", "total"],
            "properties": {
                "tests": { "type": "array", "items": schema("TestListItem") },
                "total": uint
            }
        },
        "NodeState": {
            "type": "string",
            "enum": ["idle", "configured", "running", "finished", "rejected"]
        },
        "Liveness": { "type": "string", "enum": ["alive", "missing", "dead"] },
        "NodeView": {
            "type": "object",
            "required": [
                "node_id", "address", "state", "test_id", "liveness", "last_heartbeat_ms",
                "registered_at_ms", "requests_sent"
            ],
            "properties": {
                "node_id": { "type": "string" },
                "address": { "type": "string" },
                "state": schema("NodeState"),
                "test_id": { "type": nullable("string") },
                "liveness": schema("Liveness"),
                "last_heartbeat_ms": uint,
                "registered_at_ms": uint,
                "requests_sent": uint,
                "reason": { "type": "string", "description": "Why it rejected its last config." },
                "counters": { "type": "object", "additionalProperties": uint, "description": "The driver's own counters (refused messages, refused targets, retries)." }
            }
        },
        "NodeList": {
            "type": "object",
            "required": ["nodes"],
            "properties": { "nodes": { "type": "array", "items": schema("NodeView") } }
        },
        "Report": {
            "type": "object",
            "description": "The aggregate report file: the TestView at the end of the test, \
                plus `report_version`, exact HdrHistograms (`histograms`, V2 deflate, base64) \
                and the paths of the per-node reports.",
            "required": report_required,
            "properties": report_properties
        }
    })
}
