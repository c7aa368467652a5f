//! A small JSON Schema checker for the OpenAPI document's component schemas and the published
//! report schemas: `$ref`, `type` (one or a list), `enum`, `const`, `allOf`, `anyOf`, `oneOf`,
//! `required`, `properties`, `additionalProperties`, `items`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `maxLength`, `not` (not `pattern`, nor `if`/`then`). Enough to hold real
//! answers to the document.

use serde_json::Value;

/// The problems of `value` against component schema `name` of `document` (empty when valid).
pub fn check(document: &Value, name: &str, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    walk(document, &schema, value, name, &mut problems);
    problems
}

/// Panics with every problem of `value` against the root of a standalone JSON Schema document
/// (`$ref`s point into it, e.g. `#/$defs/...`).
pub fn assert_valid_root(schema: &Value, value: &Value) {
    let mut problems = Vec::new();
    walk(schema, schema, value, "$", &mut problems);
    assert!(problems.is_empty(), "not valid: {problems:#?}\n{value:#}");
}

/// Panics with every problem of `value` against schema `name`.
pub fn assert_valid(document: &Value, name: &str, value: &Value) {
    let problems = check(document, name, value);
    assert!(
        problems.is_empty(),
        "not a valid {name}: {problems:#?}\n{value:#}"
    );
}

fn resolve<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("local $ref");
    document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn type_matches(kind: &str, value: &Value) -> bool {
    match kind {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        other => panic!("unknown type {other}"),
    }
}

/// How many of the schemas listed under `key` (`allOf`, `anyOf`, `oneOf`) `value` matches, of
/// how many, and the problems with each.
fn matches(
    document: &Value,
    schema: &Value,
    key: &str,
    value: &Value,
    at: &str,
) -> Option<(usize, usize, Vec<String>)> {
    let options = schema.get(key)?.as_array()?;
    let mut all = Vec::new();
    let mut matched = 0;
    for option in options {
        let mut problems = Vec::new();
        walk(document, option, value, at, &mut problems);
        matched += usize::from(problems.is_empty());
        all.extend(problems);
    }
    Some((matched, options.len(), all))
}

fn walk(document: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        walk(document, resolve(document, reference), value, at, problems);
    }
    if let Some((matched, of, found)) = matches(document, schema, "allOf", value, at)
        && matched < of
    {
        problems.extend(found);
    }
    if let Some((matched, _, found)) = matches(document, schema, "anyOf", value, at)
        && matched == 0
    {
        problems.push(format!("{at}: matches none of anyOf: {found:?}"));
    }
    if let Some((matched, _, found)) = matches(document, schema, "oneOf", value, at)
        && matched != 1
    {
        problems.push(format!("{at}: matches {matched} of oneOf: {found:?}"));
    }
    if let Some(negated) = schema.get("not") {
        let mut found = Vec::new();
        walk(document, negated, value, at, &mut found);
        if found.is_empty() {
            problems.push(format!("{at}: matches what `not` excludes: {negated}"));
        }
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        problems.push(format!("{at}: {value} is not {constant}"));
    }
    if let Some(kind) = schema.get("type") {
        let kinds: Vec<&str> = match kind {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().map(|k| k.as_str().unwrap()).collect(),
            _ => panic!("bad type at {at}"),
        };
        if !kinds.iter().any(|k| type_matches(k, value)) {
            problems.push(format!("{at}: {value} is not {kinds:?}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(n) = value.as_f64() {
        let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
        if bound("minimum").is_some_and(|m| n < m)
            || bound("maximum").is_some_and(|m| n > m)
            || bound("exclusiveMinimum").is_some_and(|m| n <= m)
        {
            problems.push(format!("{at}: {n} is out of range"));
        }
    }
    if let (Some(s), Some(max)) = (
        value.as_str(),
        schema.get("maxLength").and_then(Value::as_u64),
    ) && s.chars().count() as u64 > max
    {
        problems.push(format!("{at}: longer than {max}"));
    }
    if let Some(object) = value.as_object() {
        for field in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let field = field.as_str().unwrap();
            if !object.contains_key(field) {
                problems.push(format!("{at}: `{field}` is missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, item) in object {
            let here = format!("{at}.{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(property), _) => walk(document, property, item, &here, problems),
                (None, Some(Value::Bool(false))) => {
                    problems.push(format!("{here}: not allowed"));
                }
                (None, Some(additional @ Value::Object(_))) => {
                    walk(document, additional, item, &here, problems);
                }
                // Objects with documented properties must not carry undocumented ones (a
                // subschema without a type, such as an `anyOf` branch, constrains only some).
                (None, _) if properties.is_some() && schema.get("type").is_some() => {
                    problems.push(format!("{here}: not documented"));
                }
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            walk(document, items, item, &format!("{at}[{i}]"), problems);
        }
    }
}
