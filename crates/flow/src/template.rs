//! Templates: text with `{{ ... }}` expressions, compiled once with minijinja and rendered per
//! request against a virtual user's [`Scope`]. Text without `{{`, `{%` or `{#` stays a literal
//! and costs nothing to render. The common shapes (text around `{{ name }}`, `{{ row.field }}`
//! and `{{ random_int(a, b) }}` with whole-number bounds) are also compiled to [`Part`]s rendered
//! without minijinja's machinery (a template lookup, a VM, its state per render): the same
//! output, a fraction of the cost per request; anything else renders through minijinja.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::{Object, Value};
use minijinja::{Environment, UndefinedBehavior};

/// Functions templates may call, and the variables every scope has.
pub const FUNCTIONS: [&str; 3] = ["random_int", "uuid", "timestamp_ms"];
/// Names every scope defines: the virtual user's index on its driver, the driver's index in
/// the test, the virtual user's iteration (from 0).
pub const BUILTINS: [&str; 3] = ["vu", "driver", "iteration"];

/// The compiled templates of a scenario (one minijinja environment).
pub(crate) struct Templates {
    env: Environment<'static>,
    count: usize,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("count", &self.count)
            .finish()
    }
}

/// A string that may hold template expressions.
#[derive(Clone, Debug)]
pub enum Text {
    /// No expression: taken as written.
    Literal(String),
    /// A compiled template, by its name in the scenario's environment; the source as written.
    Template {
        /// Its name in the environment.
        name: String,
        /// The source, for messages.
        source: String,
        /// The same template as parts rendered directly, when it has only the common shapes.
        parts: Option<Vec<Part>>,
    },
}

/// A piece of a template of the common shapes, rendered without minijinja's machinery.
#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    /// Text as written.
    Literal(String),
    /// `{{ a.b.c }}`: a name and the attributes looked up in it, printed.
    Path(Vec<String>),
    /// `{{ random_int(a, b) }}` with whole-number bounds.
    RandomInt(i64, i64),
}

/// Words minijinja reads as something other than a variable.
const KEYWORDS: [&str; 14] = [
    "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else",
    "loop",
];

/// `source` as parts, if it has only the common shapes (no statements, comments, whitespace
/// control, filters or other calls).
fn parts(source: &str) -> Option<Vec<Part>> {
    if source.contains("{%") || source.contains("{#") {
        return None;
    }
    let mut parts = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Literal(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}")?;
        let expression = &after[..close];
        if expression.starts_with('-') || expression.ends_with('-') {
            return None;
        }
        parts.push(expression_part(expression.trim())?);
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.to_owned()));
    }
    Some(parts)
}

fn expression_part(expression: &str) -> Option<Part> {
    let identifier = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    if let Some(arguments) = expression
        .strip_prefix("random_int")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('('))
        .and_then(|r| r.strip_suffix(')'))
    {
        let (a, b) = arguments.split_once(',')?;
        let whole = |s: &str| {
            let s = s.trim();
            let digits = s.strip_prefix('-').unwrap_or(s);
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            s.parse::<i64>().ok()
        };
        return Some(Part::RandomInt(whole(a)?, whole(b)?));
    }
    let path: Vec<&str> = expression.split('.').collect();
    // A keyword is only a name after a dot (`row.none` is an attribute).
    if path.iter().all(|p| identifier(p))
        && !KEYWORDS.contains(&path[0])
        && !FUNCTIONS.contains(&path[0])
    {
        Some(Part::Path(path.into_iter().map(str::to_owned).collect()))
    } else {
        None
    }
}

/// Renders `parts` in `scope` as minijinja renders the same template (strict undefined, no
/// escaping).
fn render_parts(parts: &[Part], scope: &Value) -> Result<String, String> {
    use std::fmt::Write;
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal(text) => out.push_str(text),
            Part::Path(path) => {
                let mut value = scope.clone();
                for name in path {
                    value = value
                        .get_attr(name)
                        .ok()
                        .filter(|v| !v.is_undefined())
                        .ok_or_else(|| format!("undefined value (`{}`)", path.join(".")))?;
                }
                let _ = write!(out, "{value}");
            }
            Part::RandomInt(a, b) => {
                let n = random_int(*a, *b).map_err(|e| template_error(&e))?;
                let _ = write!(out, "{n}");
            }
        }
    }
    Ok(out)
}

impl Templates {
    pub(crate) fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        env.add_function("random_int", random_int);
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function("timestamp_ms", || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        });
        Self { env, count: 0 }
    }

    /// Compiles `source`: a literal when it holds no expression. Returns the text and the
    /// top-level names it reads (variables, datasets, functions).
    pub(crate) fn compile(&mut self, source: &str) -> Result<(Text, Vec<String>), String> {
        if !["{{", "{%", "{#"].iter().any(|open| source.contains(open)) {
            return Ok((Text::Literal(source.to_owned()), Vec::new()));
        }
        let name = format!("t{}", self.count);
        self.count += 1;
        self.env
            .add_template_owned(name.clone(), source.to_owned())
            .map_err(|e| template_error(&e))?;
        let template = self
            .env
            .get_template(&name)
            .map_err(|e| template_error(&e))?;
        let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
        names.sort();
        Ok((
            Text::Template {
                name,
                source: source.to_owned(),
                parts: parts(source),
            },
            names,
        ))
    }

    /// Renders `text` in `scope`.
    pub(crate) fn render<'a>(&self, text: &'a Text, scope: &Value) -> Result<Cow<'a, str>, String> {
        match text {
            Text::Literal(text) => Ok(Cow::Borrowed(text)),
            Text::Template {
                source,
                parts: Some(parts),
                ..
            } => render_parts(parts, scope)
                .map(Cow::Owned)
                .map_err(|e| format!("`{source}`: {e}")),
            Text::Template {
                name,
                source,
                parts: None,
            } => self
                .env
                .get_template(name)
                .and_then(|t| t.render(scope))
                .map(Cow::Owned)
                .map_err(|e| format!("`{source}`: {}", template_error(&e))),
        }
    }
}

fn template_error(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{} ({detail})", e.kind()),
        None => e.kind().to_string(),
    }
}

/// `random_int(a, b)`: a uniform integer from `a` to `b`, both included.
fn random_int(a: i64, b: i64) -> Result<i64, minijinja::Error> {
    if a > b {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("random_int({a}, {b}): the first bound is above the second"),
        ));
    }
    Ok(fastrand::i64(a..=b))
}

/// What a template sees: the built-in indexes, the virtual user's variables and its current
/// rows (by dataset name).
#[derive(Debug)]
pub struct Scope {
    /// The virtual user's index on its driver.
    pub vu: u64,
    /// The driver's index in the test.
    pub driver: u64,
    /// The virtual user's iteration, from 0.
    pub iteration: u64,
    /// Variables extracted so far.
    pub vars: Arc<BTreeMap<String, Value>>,
    /// The iteration's rows, by dataset name.
    pub rows: Arc<BTreeMap<String, Value>>,
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        match key {
            "vu" => Some(Value::from(self.vu)),
            "driver" => Some(Value::from(self.driver)),
            "iteration" => Some(Value::from(self.iteration)),
            _ => self.vars.get(key).or_else(|| self.rows.get(key)).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn scope() -> Value {
        let mut vars = BTreeMap::new();
        vars.insert("token".to_owned(), Value::from("abc"));
        let mut rows = BTreeMap::new();
        let row: BTreeMap<String, String> = [("user".to_owned(), "ann".to_owned())].into();
        rows.insert("accounts".to_owned(), Value::from_serialize(&row));
        Value::from_object(Scope {
            vu: 3,
            driver: 1,
            iteration: 7,
            vars: Arc::new(vars),
            rows: Arc::new(rows),
        })
    }

    #[test]
    fn literals_stay_literal_and_templates_render() {
        let mut t = Templates::new();
        let (lit, names) = t.compile("/ping").unwrap();
        assert!(matches!(lit, Text::Literal(_)) && names.is_empty());
        let (tpl, names) = t
            .compile("/u/{{ accounts.user }}/{{ token }}/{{ vu }}-{{ driver }}-{{ iteration }}")
            .unwrap();
        assert_eq!(names, ["accounts", "driver", "iteration", "token", "vu"]);
        assert_eq!(t.render(&tpl, &scope()).unwrap(), "/u/ann/abc/3-1-7");
    }

    #[test]
    fn functions_give_values_in_range() {
        let mut t = Templates::new();
        let (tpl, _) = t
            .compile("{{ random_int(5, 6) }} {{ uuid() }} {{ timestamp_ms() }}")
            .unwrap();
        for _ in 0..50 {
            let out = t.render(&tpl, &scope()).unwrap();
            let parts: Vec<&str> = out.split(' ').collect();
            assert!(["5", "6"].contains(&parts[0]), "{out}");
            assert_eq!(parts[1].len(), 36);
            assert!(parts[2].parse::<u64>().unwrap() > 1_600_000_000_000);
        }
        let (bad, _) = t.compile("{{ random_int(2, 1) }}").unwrap();
        assert!(t.render(&bad, &scope()).is_err());
    }

    #[test]
    fn undefined_names_fail_to_render_and_bad_syntax_to_compile() {
        let mut t = Templates::new();
        let (tpl, _) = t.compile("{{ nope }}").unwrap();
        assert!(t.render(&tpl, &scope()).unwrap_err().contains("nope"));
        assert!(t.compile("{{ unclosed ").is_err());
        // The direct parts fail alike, naming the template.
        let (deep, _) = t.compile("x {{ accounts.nope }}").unwrap();
        assert!(matches!(deep, Text::Template { parts: Some(_), .. }));
        let err = t.render(&deep, &scope()).unwrap_err();
        assert!(err.contains("accounts.nope"), "{err}");
    }

    /// The direct parts render exactly what minijinja renders for the same source, and every
    /// other shape goes through minijinja.
    #[test]
    fn parts_render_as_minijinja_does() {
        let mut t = Templates::new();
        let mut row = BTreeMap::new();
        row.insert("n".to_owned(), Value::from(42));
        row.insert("f".to_owned(), Value::from(1.5));
        row.insert("none".to_owned(), Value::from(()));
        let mut vars = BTreeMap::new();
        vars.insert("token".to_owned(), Value::from("a<b>&\"c\""));
        vars.insert("row".to_owned(), Value::from_serialize(&row));
        vars.insert("list".to_owned(), Value::from(vec![1, 2]));
        let scope = Value::from_object(Scope {
            vu: 3,
            driver: 1,
            iteration: 7,
            vars: Arc::new(vars),
            rows: Arc::new(BTreeMap::new()),
        });
        for source in [
            "{{ token }}",
            "Bearer {{token}}",
            "/u/{{ row.n }}/{{ row.f }}?x={{ row.none }}&l={{ list }}\n",
            "{{ vu }}-{{ driver }}-{{ iteration }}",
            "}} {{ token }} {",
            "{{ random_int(4, 4) }}{{ random_int( -2 , -2 ) }}",
        ] {
            let (text, _) = t.compile(source).unwrap();
            let Text::Template {
                name,
                parts: Some(parts),
                ..
            } = &text
            else {
                panic!("{source}: not direct");
            };
            let direct = render_parts(parts, &scope).unwrap();
            let jinja = t.env.get_template(name).unwrap().render(&scope).unwrap();
            assert_eq!(direct, jinja, "{source}");
        }
        for source in [
            "{{ token | upper }}",
            "{{- token }}",
            "{% if vu %}x{% endif %}",
            "{{ uuid() }}",
            "{{ random_int(1, n) }}",
            "{{ true }}",
            "{{ row['n'] }}",
            "{# c #}{{ vu }}",
        ] {
            let (text, _) = t
                .compile(source)
                .unwrap_or_else(|e| panic!("{source}: {e}"));
            assert!(
                matches!(text, Text::Template { parts: None, .. }),
                "{source}: should go through minijinja"
            );
        }
    }
}
