//! Where a running test's metrics start on the `metrics` topic, kept beside its checkpoint
//! (`<report_dir>/<test_id>/resume.json`), so a restarted orchestrator can replay them.
//!
//! A test's merged state is derivable from the topic: replaying every metrics message of the
//! test, de-duplicated by `report_id`, gives exactly what an uninterrupted run merged. The
//! checkpoint records, per partition, the offset from which the test's messages can be found
//! (`metrics_from`: where the orchestrator's consumer stood when the start trigger went out,
//! before any of them was published) and the offset up to which it had merged when the
//! checkpoint was taken (`merged_to`). A restarted orchestrator replays from `metrics_from` rather
//! than from `merged_to`: the checkpoint's report holds summaries, not the per-second histograms
//! a merge goes on from, so starting over from the test's first message is what makes the
//! result exact. `merged_to` tells how much of the replay was already in the checkpoint.
//!
//! Only a transport that keeps messages and their positions (Kafka) gives offsets; in-process
//! there is nothing to write and nothing to resume.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use onslaught_transport::Position;
use serde::{Deserialize, Serialize};

use crate::report::safe_name;

/// The version of `resume.json` written.
pub const RESUME_VERSION: u32 = 1;

/// Offsets per partition: the next message to read in each.
pub type Offsets = BTreeMap<i32, i64>;

/// Where a running test's metrics are on the topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumePoint {
    /// Format version of the file.
    pub resume_version: u32,
    /// The test.
    pub test_id: String,
    /// Every metrics message of the test is at or after these offsets.
    pub metrics_from: Offsets,
    /// What had been merged when the checkpoint was taken: the next offset to read per
    /// partition.
    pub merged_to: Offsets,
}

impl ResumePoint {
    /// The positions to replay the test's metrics from.
    pub fn replay_from(&self) -> Vec<Position> {
        positions(&self.metrics_from)
    }
}

/// `offsets` as transport positions.
pub fn positions(offsets: &Offsets) -> Vec<Position> {
    offsets
        .iter()
        .map(|(&partition, &offset)| Position { partition, offset })
        .collect()
}

/// The lowest offset per partition over `points`: one replay that covers every test. A
/// partition some point does not list is left out (replayed from its first kept message).
pub fn earliest<'a>(points: impl IntoIterator<Item = &'a Offsets>) -> Offsets {
    let mut points = points.into_iter();
    let Some(first) = points.next() else {
        return Offsets::new();
    };
    let mut lowest = first.clone();
    for offsets in points {
        lowest.retain(|partition, _| offsets.contains_key(partition));
        for (partition, offset) in offsets {
            if let Some(low) = lowest.get_mut(partition) {
                *low = (*low).min(*offset);
            }
        }
    }
    lowest
}

fn path(dir: &Path, test_id: &str) -> PathBuf {
    dir.join(safe_name(test_id)).join("resume.json")
}

/// Writes `point` beside its test's report, atomically.
pub fn write(dir: &Path, point: &ResumePoint) -> io::Result<()> {
    let path = path(dir, &point.test_id);
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(point).map_err(io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The resume point of `test_id`, if one was written in a format this build reads.
pub fn load(dir: &Path, test_id: &str) -> Option<ResumePoint> {
    let bytes = std::fs::read(path(dir, test_id)).ok()?;
    let point: ResumePoint = serde_json::from_slice(&bytes)
        .map_err(|e| tracing::warn!(test_id, "unreadable resume.json: {e}"))
        .ok()?;
    (point.resume_version <= RESUME_VERSION
        && point.test_id == test_id
        && !point.metrics_from.is_empty())
    .then_some(point)
}

/// Forgets `test_id`'s resume point (its final report is written).
pub fn remove(dir: &Path, test_id: &str) {
    match std::fs::remove_file(path(dir, test_id)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(test_id, "cannot remove resume.json: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn offsets(pairs: &[(i32, i64)]) -> Offsets {
        pairs.iter().copied().collect()
    }

    #[test]
    fn one_replay_covers_every_test() {
        let a = offsets(&[(0, 10), (1, 5), (2, 7)]);
        let b = offsets(&[(0, 3), (1, 9)]);
        assert_eq!(earliest([&a, &b]), offsets(&[(0, 3), (1, 5)]));
        assert_eq!(earliest([&a]), a);
        assert!(earliest(std::iter::empty()).is_empty());
    }

    #[test]
    fn a_point_round_trips_and_is_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("t-1")).unwrap();
        let point = ResumePoint {
            resume_version: RESUME_VERSION,
            test_id: "t-1".to_owned(),
            metrics_from: offsets(&[(0, 1), (5, 42)]),
            merged_to: offsets(&[(0, 3), (5, 50)]),
        };
        write(dir.path(), &point).unwrap();
        assert_eq!(load(dir.path(), "t-1"), Some(point.clone()));
        assert_eq!(
            point.replay_from(),
            vec![
                Position {
                    partition: 0,
                    offset: 1
                },
                Position {
                    partition: 5,
                    offset: 42
                }
            ]
        );
        assert_eq!(load(dir.path(), "t-2"), None);
        remove(dir.path(), "t-1");
        assert_eq!(load(dir.path(), "t-1"), None);
        remove(dir.path(), "t-1");
    }
}
