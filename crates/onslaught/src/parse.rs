//! Parsers for flag values: durations (`10ms`, `1h30m`), counts (`10k`, `1m`), headers,
//! expected statuses (`2xx,404`).

use std::time::Duration;

/// A duration such as `250ms`, `30s`, `5m` or `1h30m`.
pub fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration like 10ms, 30s or 1h30m ({e})"))
}

/// A rate curve as `--stages` takes it: `DURATION:TARGET` stages, comma-separated.
#[derive(Clone, Debug, PartialEq)]
pub struct StageList(pub Vec<onslaught_plan::Stage>);

/// `30s:100,2m:500,30s:0`: each stage's duration and the rate (per second) it ends at.
pub fn stages(s: &str) -> Result<StageList, String> {
    s.split(',')
        .map(|stage| {
            let (duration, target) = stage.split_once(':').ok_or_else(|| {
                format!("`{stage}` is not a stage like 30s:100 (DURATION:TARGET)")
            })?;
            let duration = self::duration(duration)?;
            let target: f64 = target
                .trim()
                .parse()
                .map_err(|_| format!("`{target}` is not a rate (requests per second)"))?;
            Ok(onslaught_plan::Stage {
                duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
                target,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map(StageList)
}

/// A count with an optional suffix: `500`, `10k` (10,000), `2m` (2,000,000), `1g`.
pub fn count(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let (digits, factor) = match t.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (&t[..t.len() - 1], 1_000),
        Some('m') => (&t[..t.len() - 1], 1_000_000),
        Some('g') => (&t[..t.len() - 1], 1_000_000_000),
        _ => (t.as_str(), 1),
    };
    let value: f64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a count like 500, 10k or 1m"))?;
    let n = value * factor as f64;
    if !(n.is_finite() && n >= 0.0 && n <= u64::MAX as f64) || n.fract() != 0.0 {
        return Err(format!("`{s}` is not a whole count"));
    }
    Ok(n as u64)
}

/// A cluster name (`--cluster`): part of a Kafka consumer group's name, so 1 to 100 of
/// `A-Z a-z 0-9 . _ -`.
pub fn cluster_name(s: &str) -> Result<String, String> {
    let valid = (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not a cluster name: 1 to 100 letters, digits, `.`, `_` or `-`"
        ))
    }
}

/// A header given as `Name: value`.
pub fn header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("header `{s}` must look like `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("header `{s}` has no name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// A `KEY=VALUE` pair.
pub fn key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("`{s}` must look like key=value")),
    }
}

/// A target allowlist pattern.
pub fn target_pattern(s: &str) -> Result<onslaught_driver::allow::TargetPattern, String> {
    onslaught_driver::allow::TargetPattern::parse(s)
}

/// Statuses that count as success: `200,404`, `2xx`.
pub fn expect_status(s: &str) -> Result<onslaught_orchestrator::ExpectStatus, String> {
    onslaught_orchestrator::ExpectStatus::parse(s)
}

/// A ratio between 0 and 1.
pub fn ratio(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("`{s}` is not a ratio between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_are_group_id_safe() {
        assert_eq!(cluster_name("prod-eu.1_a"), Ok("prod-eu.1_a".to_owned()));
        for bad in ["", "a b", "x/y", &"n".repeat(101)] {
            assert!(cluster_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn counts_take_suffixes() {
        assert_eq!(count("500"), Ok(500));
        assert_eq!(count("10k"), Ok(10_000));
        assert_eq!(count("1.5k"), Ok(1_500));
        assert_eq!(count("2M"), Ok(2_000_000));
        assert_eq!(count("1_000"), Ok(1_000));
        assert!(count("ten").is_err());
        assert!(count("1.5").is_err());
        assert!(count("-3").is_err());
    }

    #[test]
    fn durations_and_headers_parse() {
        assert_eq!(duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(duration("10ms"), Ok(Duration::from_millis(10)));
        assert!(duration("soon").is_err());
        assert_eq!(header("X-Id: 42"), Ok(("X-Id".into(), "42".into())));
        assert!(header("nocolon").is_err());
        assert_eq!(ratio("0.25"), Ok(0.25));
        let stage = |duration_ms, target| onslaught_plan::Stage {
            duration_ms,
            target,
        };
        assert_eq!(
            stages("30s:100, 2m:500,500ms:0"),
            Ok(StageList(vec![
                stage(30_000, 100.0),
                stage(120_000, 500.0),
                stage(500, 0.0)
            ]))
        );
        assert!(stages("30s").is_err());
        assert!(stages("30s:fast").is_err());
        assert!(stages("soon:5").is_err());
        assert!(ratio("2").is_err());
    }
}
