//! Plan files: the document `POST /api/tests` takes, in YAML or JSON, read from disk into a
//! [`TestRequest`]; each dataset's `csv` file (relative to the plan file) is read into its
//! `rows` here, since only the CLI sees the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use onslaught_plan::document::{self, Syntax};
use onslaught_plan::request::{MAX_DATA_BYTES, data_bytes, dataset_bytes};
use onslaught_plan::{DocumentError, TestRequest};

/// Largest plan file read, in bytes: as much as the API takes.
const MAX_PLAN_BYTES: u64 = onslaught_api::MAX_BODY_BYTES as u64;

/// Why a plan file could not be made a test request.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The file (or a file it names) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is larger than a plan may be.
    #[error("{} is larger than {MAX_PLAN_BYTES} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The document is not a test request.
    #[error("{}: {source}", path.display())]
    Document {
        /// The file.
        path: PathBuf,
        /// Where in it and why.
        source: DocumentError,
    },
    /// A dataset's CSV file is not what a dataset needs.
    #[error("{}: data.{name}.csv: {message}", path.display())]
    Dataset {
        /// The plan file.
        path: PathBuf,
        /// The dataset.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// The syntax a plan file is written in: JSON for `.json`, YAML otherwise (YAML also reads
/// most JSON).
pub fn syntax_of(path: &Path) -> Syntax {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => Syntax::Json,
        _ => Syntax::Yaml,
    }
}

/// Reads the plan file at `path` into a test request with every dataset's rows.
pub fn load(path: &Path) -> Result<TestRequest, PlanFileError> {
    let text = read_text(path)?;
    let mut request =
        document::parse(&text, syntax_of(path)).map_err(|source| PlanFileError::Document {
            path: path.to_owned(),
            source,
        })?;
    let folder = path.parent().unwrap_or(Path::new("."));
    read_datasets(&mut request, folder).map_err(|(name, message)| PlanFileError::Dataset {
        path: path.to_owned(),
        name,
        message,
    })?;
    Ok(request)
}

/// A file's text, at most [`MAX_PLAN_BYTES`].
fn read_text(path: &Path) -> Result<String, PlanFileError> {
    use std::io::Read as _;
    let read = |source| PlanFileError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read)?;
    let mut text = String::new();
    file.take(MAX_PLAN_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read)?;
    if text.len() as u64 > MAX_PLAN_BYTES {
        return Err(PlanFileError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(text)
}

/// Replaces each dataset's `csv` by the file's rows (relative to `folder`), keeping all the
/// datasets' rows within [`MAX_DATA_BYTES`]; an error names the dataset.
fn read_datasets(request: &mut TestRequest, folder: &Path) -> Result<(), (String, String)> {
    for (name, set) in &mut request.data {
        let Some(file) = set.csv.take() else {
            continue;
        };
        if !set.rows.is_empty() {
            return Err((
                name.clone(),
                "a dataset has a csv file or rows, not both".to_owned(),
            ));
        }
        set.rows = read_csv(&folder.join(&file)).map_err(|e| (name.clone(), e))?;
    }
    let total = data_bytes(&request.data);
    if total > MAX_DATA_BYTES {
        // Name the largest dataset: the one to trim.
        let largest = request
            .data
            .iter()
            .max_by_key(|(_, set)| dataset_bytes(set))
            .map(|(name, _)| name.clone())
            .unwrap_or_default();
        return Err((
            largest,
            format!(
                "the datasets take {total} bytes as JSON, more than the {MAX_DATA_BYTES} a test \
                 may carry (they travel in the test_config message to every driver); use fewer \
                 rows or shorter values"
            ),
        ));
    }
    Ok(())
}

/// The rows of a CSV file with a header line, each a map of column to value. Reading stops
/// once the rows are past [`MAX_DATA_BYTES`] (the caller then refuses them).
fn read_csv(path: &Path) -> Result<Vec<BTreeMap<String, String>>, String> {
    let shown = path.display();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| format!("{shown}: {e}"))?
        .iter()
        .map(str::to_owned)
        .collect();
    if columns.is_empty() || columns.iter().any(String::is_empty) {
        return Err(format!(
            "{shown} needs a header line naming every column (user,password)"
        ));
    }
    let mut rows = Vec::new();
    let mut bytes = 0_usize;
    for record in reader.records() {
        let record = record.map_err(|e| format!("{shown}: {e}"))?;
        let row: BTreeMap<String, String> = columns
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_owned))
            .collect();
        bytes = bytes.saturating_add(
            row.iter()
                .map(|(k, v)| k.len() + v.len() + 6)
                .sum::<usize>(),
        );
        rows.push(row);
        if bytes > MAX_DATA_BYTES {
            break;
        }
    }
    if rows.is_empty() {
        return Err(format!("{shown} has no rows under its header line"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use onslaught_flow::spec::DataOrder;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const PLAN: &str = "
base_url: http://127.0.0.1:8000
test_type: avalanche
iterations_per_driver: 10
data:
  accounts: {csv: data/accounts.csv, order: shard}
flows:
  - name: login
    steps:
      - request: {method: POST, url: /login, json: {user: '{{ accounts.user }}'}}
";

    #[test]
    fn a_csv_dataset_is_read_relative_to_the_plan_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        write(
            &dir.path().join("data"),
            "accounts.csv",
            "user, password\nuser001,a1\n\"user,002\",b2\n",
        );
        let plan = write(dir.path(), "shop.yaml", PLAN);
        let request = load(&plan).unwrap();
        let accounts = &request.data["accounts"];
        assert_eq!(accounts.csv, None);
        assert_eq!(accounts.order, DataOrder::Shard);
        assert_eq!(accounts.rows.len(), 2);
        assert_eq!(accounts.rows[0]["user"], "user001");
        assert_eq!(accounts.rows[0]["password"], "a1");
        assert_eq!(accounts.rows[1]["user"], "user,002");
    }

    #[test]
    fn dataset_errors_name_the_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let plan = write(dir.path(), "shop.yaml", PLAN);
        let e = load(&plan).unwrap_err().to_string();
        assert!(e.contains("data.accounts.csv: cannot read"), "{e}");

        std::fs::create_dir(dir.path().join("data")).unwrap();
        let csv = write(&dir.path().join("data"), "accounts.csv", "user,password\n");
        let e = load(&plan).unwrap_err().to_string();
        assert!(
            e.contains("data.accounts.csv:") && e.contains("no rows"),
            "{e}"
        );

        std::fs::write(&csv, "user,password\na,b,c\n").unwrap();
        let e = load(&plan).unwrap_err().to_string();
        assert!(e.contains("data.accounts.csv:"), "{e}");

        let mut big = String::from("user,password\n");
        let value = "x".repeat(100);
        for i in 0..MAX_DATA_BYTES / 100 {
            big.push_str(&format!("u{i},{value}\n"));
        }
        std::fs::write(&csv, big).unwrap();
        let e = load(&plan).unwrap_err().to_string();
        assert!(
            e.contains("data.accounts.csv:") && e.contains(&MAX_DATA_BYTES.to_string()),
            "{e}"
        );

        let both = PLAN.replace("order: shard", "order: shard, rows: [{user: a}]");
        let plan = write(dir.path(), "both.yaml", &both);
        let e = load(&plan).unwrap_err().to_string();
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn document_errors_name_the_file_and_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let plan = write(
            dir.path(),
            "bad.yaml",
            &PLAN.replace("order: shard", "order: shuffled"),
        );
        let e = load(&plan).unwrap_err().to_string();
        assert!(
            e.contains("bad.yaml: data.accounts.order: unknown variant"),
            "{e}"
        );
        let json = write(dir.path(), "bad.json", "{\"test_type\": 1}");
        let e = load(&json).unwrap_err().to_string();
        assert!(e.contains("bad.json: test_type: invalid type"), "{e}");
    }

    /// Every plan file in examples/ reads into a test request, and (once the validation runs
    /// flows) into a test plan.
    #[test]
    fn every_example_plan_loads() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(&examples).unwrap() {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let request = match ext {
                "yaml" | "yml" | "json" => load(&path),
                "targets" => crate::targets::load(&path)
                    .map_err(|e| panic!("{}: {e}", path.display()))
                    .map(|mut request| {
                        // A targets file has no bound; `onslaught run` gives its default one.
                        request.duration_ms = Some(10_000);
                        request
                    }),
                _ => continue,
            }
            .unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
            if let Err(e) = onslaught_plan::TestPlan::try_from(request.clone()) {
                panic!("{}: {e}", path.display());
            }
        }
        assert!(
            seen >= 3,
            "expected the example plans in {}",
            examples.display()
        );
    }
}
