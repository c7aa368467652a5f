//! Datasets: rows templates read as `NAME.column`, and how a driver's virtual users take them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use minijinja::value::Value;

use crate::error::CompileError;
use crate::spec::{DataOrder, DatasetSpec};

/// One dataset, compiled: its rows as template values.
#[derive(Debug)]
pub struct Dataset {
    /// Its name (what templates read).
    pub name: String,
    /// How rows are taken.
    pub order: DataOrder,
    /// The rows, each a map of column to value.
    rows: Vec<Value>,
}

impl Dataset {
    /// Compiles dataset `name`; a CSV file must have been read into `rows` before (the CLI
    /// does it).
    pub fn compile(name: &str, spec: &DatasetSpec) -> Result<Self, CompileError> {
        let path = format!("data.{name}");
        if !is_identifier(name) {
            return Err(CompileError::new(
                path,
                "a dataset's name must be an identifier (letters, digits, _; not a digit first)",
            ));
        }
        if spec.rows.is_empty() {
            let message = match &spec.csv {
                Some(file) => format!(
                    "has no rows: the CSV file `{file}` is read by the command line; the API takes `rows`"
                ),
                None => "has no rows".to_owned(),
            };
            return Err(CompileError::new(path, message));
        }
        Ok(Self {
            name: name.to_owned(),
            order: spec.order,
            rows: spec.rows.iter().map(Value::from_serialize).collect(),
        })
    }

    /// How many rows it has.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows (never, once compiled).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Whether `name` is a template identifier.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One driver's cursor over a dataset, shared by its virtual users (one atomic per take).
#[derive(Debug)]
pub struct Cursor {
    /// Rows taken so far on this driver.
    taken: AtomicU64,
    /// This driver's index and the test's driver count (for `shard`).
    driver: u64,
    drivers: u64,
}

impl Cursor {
    /// A cursor for driver `driver` of `drivers` (at least one).
    pub fn new(driver: u64, drivers: u64) -> Self {
        let drivers = drivers.max(1);
        Self {
            taken: AtomicU64::new(0),
            driver: driver.min(drivers - 1),
            drivers,
        }
    }

    /// The next row of `data` for an iteration; `None` when a shard's share is used up.
    pub fn next(&self, data: &Dataset) -> Option<Value> {
        let len = data.rows.len() as u64;
        let index = match data.order {
            DataOrder::Sequential => self.taken.fetch_add(1, Ordering::Relaxed) % len,
            DataOrder::Random => fastrand::u64(0..len),
            DataOrder::Shard => {
                let n = self.taken.fetch_add(1, Ordering::Relaxed);
                // Row i is this driver's when i mod drivers = driver.
                let index = n.checked_mul(self.drivers)?.checked_add(self.driver)?;
                if index >= len {
                    return None;
                }
                index
            }
        };
        data.rows.get(usize::try_from(index).ok()?).cloned()
    }
}

/// The cursors of one driver, one per dataset of the scenario.
#[derive(Debug)]
pub struct Cursors(Vec<Cursor>);

impl Cursors {
    /// Cursors for driver `driver` of `drivers` over `count` datasets.
    pub fn new(count: usize, driver: u64, drivers: u64) -> Self {
        Self((0..count).map(|_| Cursor::new(driver, drivers)).collect())
    }

    /// The rows for one iteration that reads the datasets `used` (indexes into `datasets`),
    /// by name; `None` when a sharded dataset is used up.
    pub fn take(&self, datasets: &[Dataset], used: &[usize]) -> Option<BTreeMap<String, Value>> {
        let mut rows = BTreeMap::new();
        for &i in used {
            let data = datasets.get(i)?;
            let row = self.0.get(i)?.next(data)?;
            rows.insert(data.name.clone(), row);
        }
        Some(rows)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn dataset(order: DataOrder, n: usize) -> Dataset {
        let rows = (0..n)
            .map(|i| BTreeMap::from([("user".to_owned(), format!("u{i}"))]))
            .collect();
        Dataset::compile(
            "accounts",
            &DatasetSpec {
                csv: None,
                rows,
                order,
            },
        )
        .unwrap()
    }

    fn user(v: &Value) -> String {
        v.get_attr("user").unwrap().to_string()
    }

    #[test]
    fn sequential_wraps_and_random_stays_in_range() {
        let data = dataset(DataOrder::Sequential, 3);
        let c = Cursor::new(0, 1);
        let got: Vec<String> = (0..5).map(|_| user(&c.next(&data).unwrap())).collect();
        assert_eq!(got, ["u0", "u1", "u2", "u0", "u1"]);
        let data = dataset(DataOrder::Random, 3);
        for _ in 0..50 {
            assert!(["u0", "u1", "u2"].contains(&user(&c.next(&data).unwrap()).as_str()));
        }
    }

    #[test]
    fn shards_split_rows_across_drivers_and_use_each_once() {
        let data = dataset(DataOrder::Shard, 10);
        let mut all = Vec::new();
        for driver in 0..3 {
            let c = Cursor::new(driver, 3);
            let mine: Vec<String> = std::iter::from_fn(|| c.next(&data))
                .map(|v| user(&v))
                .collect();
            assert!(c.next(&data).is_none(), "stays used up");
            all.extend(mine);
        }
        all.sort();
        let mut want: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
        want.sort();
        assert_eq!(all, want);
    }

    #[test]
    fn bad_datasets_are_named() {
        let empty = DatasetSpec {
            csv: Some("a.csv".into()),
            rows: Vec::new(),
            order: DataOrder::Shard,
        };
        let e = Dataset::compile("accounts", &empty).unwrap_err();
        assert_eq!(e.path, "data.accounts");
        assert!(e.message.contains("a.csv"));
        assert!(Dataset::compile("my-data", &empty).is_err());
    }
}
