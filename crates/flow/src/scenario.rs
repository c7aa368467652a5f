//! [`Scenario`]: a test's flows compiled once for the engine (templates, extraction, checks,
//! names, data), and what a virtual user keeps between requests ([`Vu`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use minijinja::value::Value;

use crate::check::{Checks, StatusSet, Think};
use crate::data::{Dataset, is_identifier};
use crate::error::CompileError;
use crate::extract::{Extraction, Response};
use crate::spec::{DatasetSpec, DefaultsSpec, FlowSpec, OnFailure};
use crate::template::{BUILTINS, FUNCTIONS, Scope, Templates, Text};

/// The request name requests beyond `max_names` distinct ones count under.
pub const OTHER: &str = "other";

/// Globals minijinja itself provides that templates may call.
const ENGINE_GLOBALS: [&str; 4] = ["range", "dict", "namespace", "debug"];

/// What a scenario is compiled from: the parts of the test request users wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScenarioSpec {
    /// The flows.
    pub flows: Vec<FlowSpec>,
    /// The datasets, by name.
    pub data: BTreeMap<String, DatasetSpec>,
    /// What every request step starts from.
    pub defaults: Option<DefaultsSpec>,
    /// Most distinct request names.
    pub max_names: u32,
}

/// A scenario ready to run: compiled once, shared by every virtual user of a driver.
pub struct Scenario {
    /// What it was compiled from (written back as the test request's fields).
    spec: ScenarioSpec,
    /// The compiled templates.
    templates: Templates,
    /// The flows, in the order given.
    pub flows: Vec<Flow>,
    /// The datasets, in name order (a flow's `datasets` index them).
    pub datasets: Vec<Dataset>,
    /// Request names, indexed by a request step's `name` (the last may be [`OTHER`]).
    pub names: Vec<String>,
    /// What users should know (names folded into `other`).
    pub warnings: Vec<String>,
    /// Running sums of the flows' weights, for the weighted choice.
    cumulative: Vec<u64>,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario")
            .field("spec", &self.spec)
            .finish()
    }
}

impl PartialEq for Scenario {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

/// One flow, compiled.
#[derive(Debug)]
pub struct Flow {
    /// Its name.
    pub name: String,
    /// Its steps, in order.
    pub steps: Vec<Step>,
    /// The datasets its templates read (indexes into [`Scenario::datasets`]): an iteration
    /// takes one row of each.
    pub datasets: Vec<usize>,
}

/// One step, compiled.
#[derive(Debug)]
pub enum Step {
    /// A request.
    Request(Box<RequestStep>),
    /// A pause.
    Think(Think),
}

/// A request step, compiled.
#[derive(Debug)]
pub struct RequestStep {
    /// Index of its name in [`Scenario::names`].
    pub name: usize,
    /// Method.
    method: Method,
    /// Path and query (origin-form), a template.
    path: Text,
    /// The path parsed once, when it has no template (rendering then only clones it).
    fixed_uri: Option<http::Uri>,
    /// Headers without templates (Content-Type of a JSON body included).
    fixed_headers: HeaderMap,
    /// Headers whose values are templates.
    templated_headers: Vec<(HeaderName, Text)>,
    /// The body.
    body: BodyTemplate,
    /// What the response must satisfy.
    pub checks: Checks,
    /// Variables to take from the response.
    pub extract: Vec<Extraction>,
    /// What a failure does to the iteration.
    pub on_failure: OnFailure,
    /// Whether an extraction reads the body as JSON.
    needs_json: bool,
}

/// A request body, compiled.
#[derive(Debug)]
enum BodyTemplate {
    /// No template: the bytes as they go.
    Fixed(Bytes),
    /// A text template.
    Text(Text),
    /// A JSON document whose strings are templates.
    Json(Json),
}

/// A JSON document with template strings.
#[derive(Debug)]
enum Json {
    /// A part without templates.
    Fixed(serde_json::Value),
    /// A template string.
    Text(Text),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(Vec<(String, Json)>),
}

/// A request rendered for one virtual user.
#[derive(Debug)]
pub struct Rendered {
    /// Method.
    pub method: Method,
    /// Origin-form URI (path and query).
    pub uri: http::Uri,
    /// Headers (Host is the engine's).
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// What a virtual user keeps: its indexes, iteration, variables and current rows.
#[derive(Debug, Default)]
pub struct Vu {
    /// Its index on its driver.
    pub index: u64,
    /// The driver's index in the test.
    pub driver: u64,
    /// Its current iteration, from 0.
    pub iteration: u64,
    /// Variables extracted so far (kept across iterations).
    vars: Arc<BTreeMap<String, Value>>,
    /// The current iteration's rows, by dataset name.
    rows: Arc<BTreeMap<String, Value>>,
}

impl Vu {
    /// Virtual user `index` of driver `driver`.
    pub fn new(index: u64, driver: u64) -> Self {
        Self {
            index,
            driver,
            ..Self::default()
        }
    }

    /// Sets the current iteration's rows.
    pub fn set_rows(&mut self, rows: BTreeMap<String, Value>) {
        self.rows = Arc::new(rows);
    }

    /// A variable's value as text, if set.
    pub fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).map(ToString::to_string)
    }

    /// What its templates see now.
    fn scope(&self) -> Value {
        Value::from_object(Scope {
            vu: self.index,
            driver: self.driver,
            iteration: self.iteration,
            vars: Arc::clone(&self.vars),
            rows: Arc::clone(&self.rows),
        })
    }
}

/// The check name a request that could not be built counts under (a template that failed to
/// render, a URL on another origin).
pub const RENDER: &str = "request";

impl Scenario {
    /// Compiles `spec` for a test whose base URL is `base` and whose expected statuses are
    /// `expected`. Errors name the path in the document.
    pub fn compile(
        spec: ScenarioSpec,
        base: &url::Url,
        expected: &StatusSet,
    ) -> Result<Self, CompileError> {
        if spec.flows.is_empty() {
            return Err(CompileError::new(
                "flows",
                "a scenario needs at least one flow",
            ));
        }
        let datasets = spec
            .data
            .iter()
            .map(|(name, d)| Dataset::compile(name, d))
            .collect::<Result<Vec<_>, _>>()?;
        let dataset_names: BTreeMap<&str, usize> = datasets
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name.as_str(), i))
            .collect();
        // Variables persist per virtual user across iterations and flows: any step may read a
        // variable any step extracts.
        let mut variables = BTreeSet::new();
        for (f, flow) in spec.flows.iter().enumerate() {
            for (s, step) in flow.steps.iter().enumerate() {
                for name in step.extract.keys() {
                    let path = format!("flows[{f}].steps[{s}].extract.{name}");
                    if !is_identifier(name) {
                        return Err(CompileError::new(
                            path,
                            "a variable's name must be an identifier (letters, digits, _; not a digit first)",
                        ));
                    }
                    if BUILTINS.contains(&name.as_str())
                        || FUNCTIONS.contains(&name.as_str())
                        || dataset_names.contains_key(name.as_str())
                    {
                        return Err(CompileError::new(
                            path,
                            "is already the name of a dataset, a built-in variable or a function",
                        ));
                    }
                    variables.insert(name.clone());
                }
            }
        }
        let mut compiler = Compiler {
            templates: Templates::new(),
            variables: &variables,
            datasets: &dataset_names,
            names: Vec::new(),
            name_index: BTreeMap::new(),
            max_names: usize::try_from(spec.max_names.max(1)).unwrap_or(usize::MAX),
            warnings: Vec::new(),
            base,
            origin: base.origin().ascii_serialization(),
            expected,
            defaults: spec.defaults.as_ref(),
            used: BTreeSet::new(),
        };
        let mut flows = Vec::with_capacity(spec.flows.len());
        let mut seen = BTreeSet::new();
        let mut cumulative = Vec::with_capacity(spec.flows.len());
        let mut total = 0u64;
        for (f, flow) in spec.flows.iter().enumerate() {
            if flow.name.trim().is_empty() {
                return Err(CompileError::new(
                    format!("flows[{f}].name"),
                    "must not be empty",
                ));
            }
            if !seen.insert(flow.name.as_str()) {
                return Err(CompileError::new(
                    format!("flows[{f}].name"),
                    format!("`{}` is the name of an earlier flow", flow.name),
                ));
            }
            if !(1..=1_000_000).contains(&flow.weight) {
                return Err(CompileError::new(
                    format!("flows[{f}].weight"),
                    "must be between 1 and 1000000",
                ));
            }
            total += u64::from(flow.weight);
            cumulative.push(total);
            flows.push(compiler.flow(f, flow)?);
        }
        let Compiler {
            templates,
            names,
            warnings,
            ..
        } = compiler;
        Ok(Self {
            spec,
            templates,
            flows,
            datasets,
            names,
            warnings,
            cumulative,
        })
    }

    /// The statuses each request name accepts: its steps' (`check.status`, else the test's
    /// expected statuses). Steps that share a name, and the names folded into [`OTHER`], accept
    /// what any of them accepts.
    pub fn accepted_by_name(&self) -> BTreeMap<String, StatusSet> {
        let mut accepted: BTreeMap<String, StatusSet> = BTreeMap::new();
        for step in self.flows.iter().flat_map(|f| &f.steps) {
            let Step::Request(step) = step else { continue };
            let Some(name) = self.names.get(step.name) else {
                continue;
            };
            match accepted.get_mut(name) {
                Some(set) => set.insert_all(&step.checks.status),
                None => {
                    accepted.insert(name.clone(), step.checks.status.clone());
                }
            }
        }
        accepted
    }

    /// What it was compiled from.
    pub fn spec(&self) -> &ScenarioSpec {
        &self.spec
    }

    /// A flow picked by weight.
    pub fn pick(&self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let point = fastrand::u64(0..total);
        self.cumulative.partition_point(|&sum| sum <= point)
    }

    /// `step` rendered for `vu`, or why it cannot be (a template failed, a URL on another
    /// origin).
    pub fn render(&self, step: &RequestStep, vu: &Vu) -> Result<Rendered, String> {
        let needs_scope = matches!(step.path, Text::Template { .. })
            || !step.templated_headers.is_empty()
            || !matches!(step.body, BodyTemplate::Fixed(_));
        let scope = if needs_scope {
            vu.scope()
        } else {
            Value::UNDEFINED
        };
        let uri = match &step.fixed_uri {
            Some(uri) => uri.clone(),
            None => origin_form(&self.templates.render(&step.path, &scope)?)?,
        };
        let mut headers = step.fixed_headers.clone();
        for (name, value) in &step.templated_headers {
            let text = self.templates.render(value, &scope)?;
            let value = HeaderValue::from_str(text.trim())
                .map_err(|_| format!("header `{name}`: `{text}` is not a header value"))?;
            headers.insert(name.clone(), value);
        }
        let body = match &step.body {
            BodyTemplate::Fixed(bytes) => bytes.clone(),
            BodyTemplate::Text(text) => {
                Bytes::from(self.templates.render(text, &scope)?.into_owned())
            }
            BodyTemplate::Json(json) => {
                let mut out = Vec::with_capacity(128);
                self.write_json(json, &scope, &mut out)?;
                Bytes::from(out)
            }
        };
        Ok(Rendered {
            method: step.method.clone(),
            uri,
            headers,
            body,
        })
    }

    /// Writes `json` rendered in `scope` to `out`, as `serde_json::to_vec` writes the value it
    /// stands for (the same text: members in the order the value iterates them), without
    /// building the value.
    fn write_json(&self, json: &Json, scope: &Value, out: &mut Vec<u8>) -> Result<(), String> {
        let text = |e: serde_json::Error| e.to_string();
        match json {
            Json::Fixed(value) => serde_json::to_writer(&mut *out, value).map_err(text)?,
            Json::Text(t) => {
                let rendered = self.templates.render(t, scope)?;
                serde_json::to_writer(&mut *out, rendered.as_ref()).map_err(text)?;
            }
            Json::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_json(item, scope, out)?;
                }
                out.push(b']');
            }
            Json::Object(fields) => {
                out.push(b'{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut *out, key).map_err(text)?;
                    out.push(b':');
                    self.write_json(value, scope, out)?;
                }
                out.push(b'}');
            }
        }
        Ok(())
    }
}

/// `path` as an origin-form URI (a path from `/` and a query), or why it is not one.
fn origin_form(path: &str) -> Result<http::Uri, String> {
    http::Uri::from_maybe_shared(Bytes::copy_from_slice(path.as_bytes()))
        .ok()
        .filter(|u| u.scheme().is_none() && u.path().starts_with('/'))
        .ok_or_else(|| format!("`{path}` is not a path and query"))
}

impl RequestStep {
    /// Whether judging a response reads its body (a check or an extraction does): the engine
    /// keeps the body only then.
    pub fn needs_body(&self) -> bool {
        self.checks.body_contains.is_some() || !self.extract.is_empty()
    }

    /// Judges a response and extracts its variables into `vu`: calls `verdict(check, passed)`
    /// for every check and extraction, and returns whether the response is a success (an
    /// expected status and every check and extraction passed).
    pub fn judge(
        &self,
        response: &Response<'_>,
        latency: Duration,
        vu: &mut Vu,
        mut verdict: impl FnMut(&str, bool),
    ) -> bool {
        let mut success = true;
        self.checks
            .judge(response.status, response.body, latency, |check, passed| {
                success &= passed;
                verdict(check, passed);
            });
        if self.extract.is_empty() {
            return success;
        }
        let json = if self.needs_json {
            serde_json::from_slice::<serde_json::Value>(response.body).ok()
        } else {
            None
        };
        for extraction in &self.extract {
            match extraction.apply(response, json.as_ref()) {
                Some(value) => {
                    Arc::make_mut(&mut vu.vars).insert(extraction.variable.clone(), value);
                    verdict(&extraction.check, true);
                }
                None => {
                    success = false;
                    verdict(&extraction.check, false);
                }
            }
        }
        success
    }
}

/// What compiling the flows needs to know and collects.
struct Compiler<'a> {
    templates: Templates,
    variables: &'a BTreeSet<String>,
    datasets: &'a BTreeMap<&'a str, usize>,
    names: Vec<String>,
    name_index: BTreeMap<String, usize>,
    max_names: usize,
    warnings: Vec<String>,
    base: &'a url::Url,
    origin: String,
    expected: &'a StatusSet,
    defaults: Option<&'a DefaultsSpec>,
    /// Datasets read by the flow being compiled.
    used: BTreeSet<usize>,
}

impl Compiler<'_> {
    fn flow(&mut self, f: usize, flow: &FlowSpec) -> Result<Flow, CompileError> {
        if flow.steps.is_empty() {
            return Err(CompileError::new(
                format!("flows[{f}].steps"),
                "needs at least one step",
            ));
        }
        self.used.clear();
        let mut steps = Vec::with_capacity(flow.steps.len());
        for (s, step) in flow.steps.iter().enumerate() {
            let path = format!("flows[{f}].steps[{s}]");
            steps.push(match (&step.request, &step.think) {
                (Some(_), Some(_)) => {
                    return Err(CompileError::new(
                        path,
                        "a step has a request or a think time, not both",
                    ));
                }
                (None, None) => {
                    return Err(CompileError::new(
                        path,
                        "a step needs a request or a think time",
                    ));
                }
                (None, Some(think)) => {
                    if step.name.is_some() || !step.extract.is_empty() || step.check.is_some() {
                        return Err(CompileError::new(
                            path,
                            "a think step has no name, extract or check",
                        ));
                    }
                    Step::Think(
                        Think::parse(think)
                            .map_err(|m| CompileError::new(format!("{path}.think"), m))?,
                    )
                }
                (Some(_), None) => Step::Request(Box::new(self.request(&path, step)?)),
            });
        }
        if !steps.iter().any(|s| matches!(s, Step::Request(_))) {
            return Err(CompileError::new(
                format!("flows[{f}].steps"),
                "needs at least one request step",
            ));
        }
        Ok(Flow {
            name: flow.name.clone(),
            steps,
            datasets: self.used.iter().copied().collect(),
        })
    }

    fn request(
        &mut self,
        path: &str,
        step: &crate::spec::StepSpec,
    ) -> Result<RequestStep, CompileError> {
        let Some(request) = &step.request else {
            return Err(CompileError::new(path, "a step needs a request"));
        };
        let rpath = format!("{path}.request");
        let method = method(&request.method).ok_or_else(|| {
            CompileError::new(
                format!("{rpath}.method"),
                "must be an HTTP method such as GET or POST",
            )
        })?;
        let url_path = format!("{rpath}.url");
        let relative = self
            .same_origin(&request.url)
            .map_err(|m| CompileError::new(&url_path, m))?;
        let path_text = self.text(&relative, &url_path)?;
        let mut fixed_headers = HeaderMap::new();
        let mut templated_headers = Vec::new();
        // By lower-case name: a step's own headers override the defaults'.
        let mut all: BTreeMap<String, (HeaderName, String, &str)> = BTreeMap::new();
        let defaults = self.defaults.map(|d| &d.headers);
        for (source, headers) in [
            ("defaults.headers", defaults),
            (&format!("{rpath}.headers") as &str, Some(&request.headers)),
        ] {
            for (name, value) in headers.into_iter().flatten() {
                let hpath = format!("{source}.{name}");
                let header = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| CompileError::new(&hpath, "is not a header name"))?;
                all.insert(header.as_str().to_owned(), (header, hpath, value.as_str()));
            }
        }
        for (name, hpath, value) in all.into_values() {
            match self.text(value, &hpath)? {
                Text::Literal(text) => {
                    let value = HeaderValue::from_str(text.trim())
                        .map_err(|_| CompileError::new(&hpath, "is not a header value"))?;
                    fixed_headers.insert(name, value);
                }
                template => templated_headers.push((name, template)),
            }
        }
        let body = match (&request.body, &request.json) {
            (Some(_), Some(_)) => {
                return Err(CompileError::new(
                    format!("{rpath}.json"),
                    "not with body: give one of them",
                ));
            }
            (None, None) => BodyTemplate::Fixed(Bytes::new()),
            (Some(text), None) => match self.text(text, &format!("{rpath}.body"))? {
                Text::Literal(text) => BodyTemplate::Fixed(Bytes::from(text)),
                template => BodyTemplate::Text(template),
            },
            (None, Some(json)) => {
                if !fixed_headers.contains_key(CONTENT_TYPE)
                    && !templated_headers.iter().any(|(n, _)| n == CONTENT_TYPE)
                {
                    fixed_headers
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                }
                match self.json(json, &format!("{rpath}.json"))? {
                    Json::Fixed(value) => BodyTemplate::Fixed(Bytes::from(value.to_string())),
                    template => BodyTemplate::Json(template),
                }
            }
        };
        let checks = Checks::compile(step.check.as_ref(), self.expected, &format!("{path}.check"))?;
        let extract = step
            .extract
            .iter()
            .map(|(name, spec)| Extraction::compile(name, spec, &format!("{path}.extract.{name}")))
            .collect::<Result<Vec<_>, _>>()?;
        let written = step
            .name
            .clone()
            .unwrap_or_else(|| format!("{} {}", method.as_str(), request.url));
        if written.trim().is_empty() {
            return Err(CompileError::new(
                format!("{path}.name"),
                "must not be empty",
            ));
        }
        let name = self.name(path, written);
        let fixed_uri = match &path_text {
            Text::Literal(literal) => origin_form(literal).ok(),
            Text::Template { .. } => None,
        };
        Ok(RequestStep {
            name,
            method,
            fixed_uri,
            path: path_text,
            fixed_headers,
            templated_headers,
            body,
            checks,
            needs_json: extract.iter().any(Extraction::needs_json),
            extract,
            on_failure: step.on_failure,
        })
    }

    /// The index of request name `written`; beyond `max_names` distinct names, [`OTHER`]'s.
    fn name(&mut self, path: &str, written: String) -> usize {
        if let Some(&index) = self.name_index.get(&written) {
            return index;
        }
        if self.name_index.len() >= self.max_names {
            self.warnings.push(format!(
                "{path}: the request name `{written}` is beyond max_names ({}): counted under `{OTHER}`",
                self.max_names
            ));
            let next = self.names.len();
            return *self.name_index.entry(OTHER.to_owned()).or_insert_with(|| {
                self.names.push(OTHER.to_owned());
                next
            });
        }
        let index = self.names.len();
        self.names.push(written.clone());
        self.name_index.insert(written, index);
        index
    }

    /// A step's URL as a path and query on the base URL's origin: absolute URLs must be on
    /// that origin, written out; a relative path without `/` is joined to the base's folder.
    fn same_origin(&self, url: &str) -> Result<String, String> {
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let after_scheme = url.find("://").map_or(0, |i| i + 3);
            let end = url[after_scheme..]
                .find(['/', '?'])
                .map_or(url.len(), |i| after_scheme + i);
            let origin_part = &url[..end];
            if origin_part.contains("{{") || origin_part.contains("{%") {
                return Err("an absolute URL's scheme, host and port must be written out (templates only in its path)".to_owned());
            }
            let origin = url::Url::parse(origin_part)
                .map_err(|e| format!("`{origin_part}` is not a URL ({e})"))?
                .origin()
                .ascii_serialization();
            if origin != self.origin {
                return Err(format!(
                    "is on {origin}, not on the base URL's origin {}: a test sends to one origin (write a path, or an absolute URL on that origin)",
                    self.origin
                ));
            }
            let rest = &url[end..];
            return Ok(if rest.starts_with('/') {
                rest.to_owned()
            } else {
                format!("/{rest}")
            });
        }
        if url.starts_with('/') {
            return Ok(url.to_owned());
        }
        let base = self.base.path();
        let folder = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        Ok(format!(
            "{}{url}",
            if folder.is_empty() { "/" } else { folder }
        ))
    }

    /// Compiles a template at `path`, checking every name it reads.
    fn text(&mut self, source: &str, path: &str) -> Result<Text, CompileError> {
        let (text, names) = self
            .templates
            .compile(source)
            .map_err(|m| CompileError::new(path, format!("bad template: {m}")))?;
        for name in names {
            if let Some(&index) = self.datasets.get(name.as_str()) {
                self.used.insert(index);
            } else if !(self.variables.contains(&name)
                || BUILTINS.contains(&name.as_str())
                || FUNCTIONS.contains(&name.as_str())
                || ENGINE_GLOBALS.contains(&name.as_str()))
            {
                return Err(CompileError::new(
                    path,
                    format!(
                        "unknown name `{name}`: not a variable a step extracts, a dataset, nor one of {}, {}",
                        BUILTINS.join(", "),
                        FUNCTIONS.map(|f| format!("{f}()")).join(", ")
                    ),
                ));
            }
        }
        Ok(text)
    }

    fn json(&mut self, json: &serde_json::Value, path: &str) -> Result<Json, CompileError> {
        Ok(match json {
            serde_json::Value::String(s) => match self.text(s, path)? {
                Text::Literal(_) => Json::Fixed(json.clone()),
                template => Json::Text(template),
            },
            serde_json::Value::Array(items) => {
                let parts = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.json(v, &format!("{path}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                if parts.iter().all(|p| matches!(p, Json::Fixed(_))) {
                    Json::Fixed(json.clone())
                } else {
                    Json::Array(parts)
                }
            }
            serde_json::Value::Object(fields) => {
                let parts = fields
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.json(v, &format!("{path}.{k}"))?)))
                    .collect::<Result<Vec<_>, CompileError>>()?;
                if parts.iter().all(|(_, p)| matches!(p, Json::Fixed(_))) {
                    Json::Fixed(json.clone())
                } else {
                    Json::Object(parts)
                }
            }
            other => Json::Fixed(other.clone()),
        })
    }
}

/// A method as users write it: standard ones in any case, extension methods as written.
fn method(text: &str) -> Option<Method> {
    if text.is_empty() || text.len() > 32 || !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let canonical = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ]
    .into_iter()
    .find(|m| m.eq_ignore_ascii_case(text))
    .unwrap_or(text);
    Method::from_bytes(canonical.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn compile(json: serde_json::Value) -> Result<Scenario, CompileError> {
        let flows: Vec<FlowSpec> = serde_json::from_value(json["flows"].clone()).unwrap();
        let data = serde_json::from_value(json.get("data").cloned().unwrap_or_default())
            .unwrap_or_default();
        let spec = ScenarioSpec {
            flows,
            data,
            defaults: None,
            max_names: json
                .get("max_names")
                .and_then(|m| m.as_u64())
                .map_or(100, |m| m as u32),
        };
        let base = url::Url::parse("http://127.0.0.1:8000/api/v1").unwrap();
        Scenario::compile(
            spec,
            &base,
            &StatusSet::from_fn(|s| (200..400).contains(&s)),
        )
    }

    fn shop() -> serde_json::Value {
        serde_json::json!({
            "data": {"accounts": {"rows": [{"user": "ann", "password": "pw"}], "order": "shard"}},
            "flows": [{
                "name": "buy", "weight": 3,
                "steps": [
                    {"name": "login",
                     "request": {"method": "post", "url": "/login",
                                 "json": {"user": "{{ accounts.user }}", "password": "{{ accounts.password }}", "n": 1}},
                     "extract": {"token": {"json": "$.token"}},
                     "check": {"status": 200}},
                    {"think": "1ms..2ms"},
                    {"request": {"url": "http://127.0.0.1:8000/items/{{ random_int(1, 9) }}",
                                 "headers": {"Authorization": "Bearer {{ token }}"}}}
                ]
            }, {"name": "browse", "steps": [{"request": {"url": "ping"}}]}]
        })
    }

    /// A JSON body is written straight from its parts: the bytes `serde_json::to_vec` writes
    /// for the value it stands for (members in the same order, strings escaped alike).
    #[test]
    fn a_json_body_is_written_as_serde_json_writes_its_value() {
        let s = compile(serde_json::json!({
            "data": {"accounts": {"rows": [{"user": "a\"n\\n\u{e9}", "password": "pw"}]}},
            "flows": [{"name": "f", "steps": [{"name": "s", "request": {"method": "POST", "url": "/x",
                "json": {"z": [1, "{{ accounts.user }}", {"k": "{{ vu }}"}, [true, null]],
                         "a": {"fixed": [1.5, "t"], "t": "<{{ accounts.password }}>"},
                         "m": "plain"}}}]}]
        }))
        .unwrap();
        let mut vu = Vu::new(4, 0);
        vu.set_rows(BTreeMap::from([(
            "accounts".to_owned(),
            Value::from_serialize(BTreeMap::from([
                ("user", "a\"n\\n\u{e9}"),
                ("password", "pw"),
            ])),
        )]));
        let Step::Request(step) = &s.flows[0].steps[0] else {
            panic!()
        };
        let body = s.render(step, &vu).unwrap().body;
        let expected = serde_json::json!({
            "z": [1, "a\"n\\n\u{e9}", {"k": "4"}, [true, null]],
            "a": {"fixed": [1.5, "t"], "t": "<pw>"},
            "m": "plain"
        });
        assert_eq!(
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&serde_json::to_vec(&expected).unwrap())
        );
    }

    #[test]
    fn a_flow_compiles_renders_and_judges() {
        let s = compile(shop()).unwrap();
        assert_eq!(
            s.names,
            [
                "login",
                "GET http://127.0.0.1:8000/items/{{ random_int(1, 9) }}",
                "GET ping"
            ]
        );
        assert_eq!(s.flows[0].datasets, [0]);
        assert!(s.flows[1].datasets.is_empty());
        let mut vu = Vu::new(2, 0);
        vu.set_rows(BTreeMap::from([(
            "accounts".to_owned(),
            Value::from_serialize(BTreeMap::from([("user", "ann"), ("password", "pw")])),
        )]));
        let Step::Request(login) = &s.flows[0].steps[0] else {
            panic!()
        };
        let r = s.render(login, &vu).unwrap();
        assert_eq!(
            (r.method.as_str(), r.uri.to_string().as_str()),
            ("POST", "/login")
        );
        assert_eq!(r.headers[CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"user": "ann", "password": "pw", "n": 1})
        );
        let headers = HeaderMap::new();
        let mut verdicts = Vec::new();
        let ok = login.judge(
            &Response {
                status: 200,
                headers: &headers,
                body: br#"{"token":"T1"}"#,
            },
            Duration::ZERO,
            &mut vu,
            |c, p| verdicts.push((c.to_owned(), p)),
        );
        assert!(ok);
        assert_eq!(
            verdicts,
            [
                ("status".to_owned(), true),
                ("extract token".to_owned(), true)
            ]
        );
        assert_eq!(vu.var("token").as_deref(), Some("T1"));
        let Step::Request(item) = &s.flows[0].steps[2] else {
            panic!()
        };
        let r = s.render(item, &vu).unwrap();
        assert!(r.uri.path().starts_with("/items/"), "{}", r.uri);
        assert_eq!(r.headers["authorization"], "Bearer T1");
        let Step::Request(ping) = &s.flows[1].steps[0] else {
            panic!()
        };
        assert_eq!(s.render(ping, &vu).unwrap().uri, "/api/ping");
        // A failed extraction fails the response and leaves the variable as it was.
        let ok = login.judge(
            &Response {
                status: 401,
                headers: &headers,
                body: b"no",
            },
            Duration::ZERO,
            &mut vu,
            |_, _| {},
        );
        assert!(!ok);
        assert_eq!(vu.var("token").as_deref(), Some("T1"));
    }

    #[test]
    fn flows_are_picked_by_weight() {
        let s = compile(shop()).unwrap();
        let buys = (0..4000).filter(|_| s.pick() == 0).count();
        assert!((2700..3300).contains(&buys), "{buys}");
    }

    #[test]
    fn each_name_accepts_its_steps_statuses() {
        let mut doc = shop();
        doc["flows"][1]["steps"] = serde_json::json!([
            {"name": "item", "request": {"url": "/items/1"}, "check": {"status": [200, 404]}},
            {"name": "item", "request": {"url": "/items/2"}, "check": {"status": 410}},
            {"name": "ping", "request": {"url": "/ping"}}
        ]);
        let accepted = compile(doc).unwrap().accepted_by_name();
        let login = &accepted["login"];
        assert!(login.contains(200) && !login.contains(201) && !login.contains(404));
        // Steps sharing a name accept what either accepts; no check: the test's statuses.
        let item = &accepted["item"];
        assert!(item.contains(200) && item.contains(404) && item.contains(410));
        assert!(!item.contains(201) && !item.contains(500));
        let ping = &accepted["ping"];
        assert!(ping.contains(204) && ping.contains(302) && !ping.contains(404));
        assert_eq!(accepted.len(), 4, "{:?}", accepted.keys());
    }

    #[test]
    fn names_beyond_max_names_fold_into_other() {
        let mut doc = shop();
        doc["max_names"] = 2.into();
        let s = compile(doc).unwrap();
        assert_eq!(
            s.names,
            [
                "login",
                "GET http://127.0.0.1:8000/items/{{ random_int(1, 9) }}",
                OTHER
            ]
        );
        assert_eq!(s.warnings.len(), 1);
        assert!(
            s.warnings[0].starts_with("flows[1].steps[0]"),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn errors_name_their_path() {
        let cases: [(&str, serde_json::Value, &str); 10] = [
            (
                "/flows/0/steps/0/extract/token/json",
                "$.[".into(),
                "flows[0].steps[0].extract.token.json",
            ),
            (
                "/flows/0/steps/2/request/url",
                "http://127.0.0.1:9/x".into(),
                "flows[0].steps[2].request.url",
            ),
            (
                "/flows/0/steps/2/request/url",
                "http://{{ host }}/x".into(),
                "flows[0].steps[2].request.url",
            ),
            (
                "/flows/0/steps/2/request/headers/Authorization",
                "Bearer {{ tokn }}".into(),
                "flows[0].steps[2].request.headers.Authorization",
            ),
            (
                "/flows/0/steps/0/request/json/user",
                "{{ accounts.user ".into(),
                "flows[0].steps[0].request.json.user",
            ),
            (
                "/flows/0/steps/1/think",
                "soon".into(),
                "flows[0].steps[1].think",
            ),
            (
                "/flows/0/steps/0/check",
                serde_json::json!({"max_latency": "fast"}),
                "flows[0].steps[0].check.max_latency",
            ),
            (
                "/flows/0/steps/0/request/method",
                "G T".into(),
                "flows[0].steps[0].request.method",
            ),
            ("/flows/1/name", "buy".into(), "flows[1].name"),
            (
                "/flows/0/steps/0/extract/token",
                serde_json::json!({"status": true, "header": "a"}),
                "flows[0].steps[0].extract.token",
            ),
        ];
        for (pointer, value, path) in cases {
            let mut doc = shop();
            *doc.pointer_mut(pointer).unwrap() = value;
            let e = compile(doc).err().unwrap();
            assert_eq!(e.path, path, "{e}");
        }
        let mut doc = shop();
        doc["flows"][0]["steps"][2]["request"]["url"] = "http://127.0.0.1:9/x".into();
        let e = compile(doc).err().unwrap();
        assert!(e.message.contains("one origin"), "{e}");
        let mut doc = shop();
        doc["flows"][1]["steps"] = serde_json::json!([{"think": "1ms"}]);
        assert_eq!(compile(doc).err().unwrap().path, "flows[1].steps");
    }
}
