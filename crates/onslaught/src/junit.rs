//! `--junit FILE`: a JUnit XML report for CI systems, one test case per threshold (a failure
//! names what was measured), plus one for the run's own verdict when it has no threshold.

use std::fmt::Write as _;

use onslaught_orchestrator::TestView;

use crate::summary::threshold_value;

/// The report, as XML text.
pub fn report(test: &TestView) -> String {
    let seconds = match (test.started_at_ms, test.ended_at_ms) {
        (Some(s), Some(e)) => e.saturating_sub(s) as f64 / 1000.0,
        _ => 0.0,
    };
    // (name, failure message if it failed)
    let cases: Vec<(String, Option<String>)> = if test.thresholds.is_empty() {
        let failure = (!test.passed()).then(|| {
            format!(
                "status {}{}",
                format!("{:?}", test.status).to_lowercase(),
                test.message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default()
            )
        });
        vec![("verdict".to_owned(), failure)]
    } else {
        test.thresholds
            .iter()
            .map(|t| {
                let failure = (!t.passed).then(|| {
                    if t.warming_up {
                        format!(
                            "{} not judged: the test ended in its warm-up (after)",
                            t.expression
                        )
                    } else {
                        format!(
                            "{} not met: measured {}",
                            t.expression,
                            threshold_value(&t.expression, t.value)
                        )
                    }
                });
                (t.expression.clone(), failure)
            })
            .collect()
    };
    let failures = cases.iter().filter(|(_, f)| f.is_some()).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"onslaught\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">",
        cases.len()
    );
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">",
        escape(&format!("onslaught test {}", test.id)),
        cases.len()
    );
    for (name, failure) in &cases {
        let name = escape(name);
        let classname = escape(&format!("onslaught.thresholds.{}", test.id));
        match failure {
            None => {
                let _ = writeln!(
                    xml,
                    "    <testcase name=\"{name}\" classname=\"{classname}\" time=\"{seconds:.3}\"/>"
                );
            }
            Some(message) => {
                let message = escape(message);
                let _ = writeln!(
                    xml,
                    "    <testcase name=\"{name}\" classname=\"{classname}\" time=\"{seconds:.3}\">\n      \
                     <failure message=\"{message}\" type=\"threshold\">{message}</failure>\n    </testcase>"
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// Text for an XML attribute or element: the five special characters as entities, control
/// characters XML 1.0 cannot carry dropped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_characters_are_escaped() {
        assert_eq!(
            escape("p99<250ms & \"x\" 'y' >\u{1}"),
            "p99&lt;250ms &amp; &quot;x&quot; &apos;y&apos; &gt;"
        );
    }
}
