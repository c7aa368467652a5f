//! The report writer: one thread that builds and writes every report file, fed by a channel, so
//! no event loop waits on the disk (or on summarising histograms).
//!
//! Jobs are done one at a time in the order they were queued. A checkpoint of a test whose final
//! report is already written is skipped, so a late checkpoint never overwrites a final report,
//! whatever the order the two were queued in. The queue holds at most one checkpoint (a tick
//! that finds one still queued leaves its work to the next tick) and one final report per ended
//! test.
//!
//! The writer of an elected orchestrator ([`Writer::spawn_fenced`]) writes nothing into a folder
//! whose leadership epoch ([`crate::lease`]) is higher than its own: it was deposed.
//!
//! A checkpoint may carry the tests' resume points ([`crate::resume`]), written after their
//! reports; a final report removes its test's resume point, so only a test that was running
//! when the orchestrator stopped has one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::html;
use crate::lease;
use crate::report::{self, ReportParts};
use crate::resume::{self, ResumePoint};

/// What the writer is asked to do.
#[derive(Debug)]
pub enum Job {
    /// Write running tests' reports as they stand into `dir`, except for a test whose final
    /// report is already written.
    Checkpoint {
        /// The report folder.
        dir: PathBuf,
        /// What to write.
        checkpoint: Checkpoint,
    },
    /// Write a test's final reports into `dir`; the result goes to the writer's `on_final`.
    Final {
        /// The report folder.
        dir: PathBuf,
        /// The test's reports.
        parts: Box<ReportParts>,
    },
    /// Answer once every job queued before this one is done.
    Flush(oneshot::Sender<()>),
}

/// The running tests' reports as they stand, and where their metrics are on the topic.
#[derive(Debug, Default)]
pub struct Checkpoint {
    /// One test's reports each.
    pub parts: Vec<ReportParts>,
    /// The tests' resume points (none for a transport that keeps no positions).
    pub resume: Vec<ResumePoint>,
}

impl From<Vec<ReportParts>> for Checkpoint {
    fn from(parts: Vec<ReportParts>) -> Self {
        Self {
            parts,
            resume: Vec::new(),
        }
    }
}

/// What becomes of a final report: its path, or why it could not be written.
pub type FinalResult = Result<PathBuf, String>;

/// Told each final report's test id and result.
type OnFinal = Arc<dyn Fn(&str, FinalResult) + Send + Sync>;

/// Hands jobs to the writer thread. The thread ends once the writer is dropped and its queue is
/// done.
pub struct Writer {
    /// The queue; `None` when the thread could not be started (every final report then fails
    /// with that reason).
    jobs: Option<mpsc::UnboundedSender<Job>>,
    /// A checkpoint is queued or being written.
    checkpoint_queued: Arc<AtomicBool>,
    /// Called with a test's id and the result of its final report when the thread cannot be
    /// started.
    on_final: OnFinal,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("running", &self.jobs.is_some())
            .field("checkpoint_queued", &self.checkpoint_queued)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread. `on_final` is called on it with each final report's test id
    /// and result.
    pub fn spawn(on_final: impl Fn(&str, FinalResult) + Send + Sync + 'static) -> Self {
        Self::spawn_fenced(None, on_final)
    }

    /// [`Writer::spawn`] for an orchestrator elected with `epoch`: a job for a folder whose
    /// recorded epoch is higher is skipped (a final report's result is then an error saying so).
    pub fn spawn_fenced(
        epoch: Option<u64>,
        on_final: impl Fn(&str, FinalResult) + Send + Sync + 'static,
    ) -> Self {
        let on_final: OnFinal = Arc::new(on_final);
        let (tx, rx) = mpsc::unbounded_channel();
        let checkpoint_queued = Arc::new(AtomicBool::new(false));
        let thread = Thread {
            epoch,
            jobs: rx,
            finished: HashSet::new(),
            checkpoint_queued: Arc::clone(&checkpoint_queued),
            on_final: Arc::clone(&on_final),
        };
        let jobs = match std::thread::Builder::new()
            .name("report-writer".to_owned())
            .spawn(move || thread.run())
        {
            Ok(_) => Some(tx),
            Err(e) => {
                tracing::error!("cannot start the report writer: {e}");
                None
            }
        };
        Self {
            jobs,
            checkpoint_queued,
            on_final,
        }
    }

    /// Queues a checkpoint of what `parts` returns into `dir`, unless one is still queued or
    /// being written (`parts` is then not called: what it would take is left for the next
    /// checkpoint). Returns whether one was queued. Never waits.
    pub fn checkpoint<C: Into<Checkpoint>>(&self, dir: &Path, parts: impl FnOnce() -> C) -> bool {
        if self.checkpoint_queued.swap(true, Ordering::AcqRel) {
            return false;
        }
        let checkpoint = parts().into();
        if checkpoint.parts.is_empty() {
            self.checkpoint_queued.store(false, Ordering::Release);
            return false;
        }
        let job = Job::Checkpoint {
            dir: dir.to_owned(),
            checkpoint,
        };
        let queued = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !queued {
            self.checkpoint_queued.store(false, Ordering::Release);
        }
        queued
    }

    /// Queues a test's final reports into `dir`. Never waits; the result goes to `on_final`.
    pub fn finish(&self, dir: &Path, parts: ReportParts) {
        let id = parts.id().to_owned();
        let job = Job::Final {
            dir: dir.to_owned(),
            parts: Box::new(parts),
        };
        let queued = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok());
        if !queued {
            (self.on_final)(
                &id,
                Err(format!(
                    "cannot write the report into {}: the report writer is not running",
                    dir.display()
                )),
            );
        }
    }

    /// Waits until every job queued so far is done, for at most `within`. Returns whether they
    /// are.
    pub async fn flush(&self, within: Duration) -> bool {
        let (done, flushed) = oneshot::channel();
        let Some(jobs) = &self.jobs else {
            return true;
        };
        if jobs.send(Job::Flush(done)).is_err() {
            return true;
        }
        matches!(tokio::time::timeout(within, flushed).await, Ok(Ok(())))
    }
}

/// The writer thread's side.
struct Thread {
    /// The orchestrator's leadership epoch, when it was elected.
    epoch: Option<u64>,
    jobs: mpsc::UnboundedReceiver<Job>,
    /// Tests whose final report is written (or failed): no checkpoint of theirs after it.
    finished: HashSet<String>,
    checkpoint_queued: Arc<AtomicBool>,
    on_final: OnFinal,
}

impl Thread {
    fn run(mut self) {
        while let Some(job) = self.jobs.blocking_recv() {
            self.work(job);
        }
    }

    /// The higher epoch recorded in `dir`, when this writer's orchestrator was deposed.
    fn superseded(&self, dir: &Path) -> Option<u64> {
        self.epoch.and_then(|epoch| lease::superseded(dir, epoch))
    }

    fn work(&mut self, job: Job) {
        match job {
            Job::Checkpoint { dir, .. } if self.superseded(&dir).is_some() => {
                tracing::warn!(
                    "deposed: not checkpointing into {} (a newer leader's folder)",
                    dir.display()
                );
                self.checkpoint_queued.store(false, Ordering::Release);
            }
            Job::Final { dir, parts } if self.superseded(&dir).is_some() => {
                let newer = self.superseded(&dir).unwrap_or_default();
                (self.on_final)(
                    parts.id(),
                    Err(format!(
                        "not written: an orchestrator with epoch {newer} leads and writes into {}",
                        dir.display()
                    )),
                );
            }
            Job::Checkpoint { dir, checkpoint } => {
                let Checkpoint { parts, mut resume } = checkpoint;
                for part in parts {
                    if self.finished.contains(part.id()) {
                        continue;
                    }
                    let id = part.id().to_owned();
                    let (report, nodes) = part.build();
                    if let Err(e) = report::write(&dir, report, nodes) {
                        tracing::warn!(test_id = id, "cannot checkpoint the report: {e}");
                        continue;
                    }
                    // After the report: a resume point never points at a test without one.
                    if let Some(i) = resume.iter().position(|p| p.test_id == id)
                        && let Err(e) = resume::write(&dir, &resume.swap_remove(i))
                    {
                        tracing::warn!(test_id = id, "cannot write the resume point: {e}");
                    }
                }
                self.checkpoint_queued.store(false, Ordering::Release);
            }
            Job::Final { dir, parts } => {
                let id = parts.id().to_owned();
                self.finished.insert(id.clone());
                let (report, nodes) = (*parts).build();
                let result = report::write(&dir, report, nodes)
                    .inspect(|path| html::write_page_beside(path))
                    .map_err(|e| format!("cannot write the report into {}: {e}", dir.display()));
                if result.is_ok() {
                    resume::remove(&dir, &id);
                }
                (self.on_final)(&id, result);
            }
            Job::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::mpsc as std_mpsc;

    use super::*;
    use crate::views::{TestStatus, TestView};

    fn parts(id: &str, status: TestStatus) -> ReportParts {
        ReportParts {
            test: TestView::fixture(id, status),
            aggregate: None,
            nodes: Vec::new(),
            accepted: onslaught_plan::Accepted::default(),
        }
    }

    fn writer() -> (Writer, std_mpsc::Receiver<(String, FinalResult)>) {
        let (tx, rx) = std_mpsc::channel();
        let tx = parking_lot::Mutex::new(tx);
        let writer = Writer::spawn(move |id, result| {
            let _ = tx.lock().send((id.to_owned(), result));
        });
        (writer, rx)
    }

    /// An elected orchestrator's writer writes nothing once the folder records a higher epoch
    /// (it was deposed); an equal one is its own.
    #[tokio::test]
    async fn a_deposed_writer_writes_nothing_into_a_newer_leaders_folder() {
        let dir = tempfile::tempdir().unwrap();
        let (tx, finals) = std_mpsc::channel();
        let tx = parking_lot::Mutex::new(tx);
        let writer = Writer::spawn_fenced(Some(2), move |id, result| {
            let _ = tx.lock().send((id.to_owned(), result));
        });
        lease::claim(dir.path(), 2).unwrap();
        assert!(writer.checkpoint(dir.path(), || vec![parts("t1", TestStatus::Running)]));
        assert!(writer.flush(Duration::from_secs(10)).await);
        assert_eq!(report::load_all(dir.path()).len(), 1, "its own epoch");

        lease::claim(dir.path(), 3).unwrap();
        assert!(writer.checkpoint(dir.path(), || vec![parts("t2", TestStatus::Running)]));
        writer.finish(dir.path(), parts("t1", TestStatus::Degraded));
        assert!(writer.flush(Duration::from_secs(10)).await);
        let on_disk = report::load_all(dir.path());
        assert_eq!(on_disk.len(), 1, "no checkpoint of t2");
        assert_eq!(on_disk[0].test.status, TestStatus::Running, "t1 untouched");
        let (id, result) = finals.try_recv().unwrap();
        assert_eq!(id, "t1");
        assert!(result.unwrap_err().contains("epoch 3"));
    }

    /// A checkpoint queued after (or built before and queued after) the final report is
    /// dropped; one queued before it is overwritten by it; other tests are still checkpointed.
    #[tokio::test]
    async fn a_late_checkpoint_never_overwrites_the_final_report() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, finals) = writer();
        assert!(
            !writer.checkpoint(dir.path(), Vec::<ReportParts>::new),
            "nothing to write"
        );
        assert!(writer.checkpoint(dir.path(), || vec![parts("t1", TestStatus::Running)]));
        writer.finish(dir.path(), parts("t1", TestStatus::Completed));
        assert!(writer.flush(Duration::from_secs(10)).await);
        let late = vec![
            parts("t1", TestStatus::Running),
            parts("t2", TestStatus::Running),
        ];
        assert!(writer.checkpoint(dir.path(), || late));
        assert!(writer.flush(Duration::from_secs(10)).await);
        let (id, path) = finals.try_recv().unwrap();
        assert_eq!(id, "t1");
        assert_eq!(path.unwrap(), dir.path().join("t1").join("test.json"));
        assert!(finals.try_recv().is_err(), "one final report");
        let mut on_disk = report::load_all(dir.path());
        on_disk.sort_by(|a, b| a.test.id.cmp(&b.test.id));
        let statuses: Vec<(&str, TestStatus)> = on_disk
            .iter()
            .map(|r| (r.test.id.as_str(), r.test.status))
            .collect();
        assert_eq!(
            statuses,
            vec![("t1", TestStatus::Completed), ("t2", TestStatus::Running)]
        );
    }

    /// A checkpoint writes its tests' resume points beside their reports; the final report
    /// removes its test's.
    #[tokio::test]
    async fn resume_points_live_until_the_final_report() {
        let dir = tempfile::tempdir().unwrap();
        let (writer, _finals) = writer();
        let point = |id: &str| ResumePoint {
            resume_version: resume::RESUME_VERSION,
            test_id: id.to_owned(),
            metrics_from: [(0, 7)].into_iter().collect(),
            merged_to: [(0, 9)].into_iter().collect(),
        };
        assert!(writer.checkpoint(dir.path(), || Checkpoint {
            parts: vec![
                parts("t1", TestStatus::Running),
                parts("t2", TestStatus::Running)
            ],
            resume: vec![point("t1"), point("t2")],
        }));
        assert!(writer.flush(Duration::from_secs(10)).await);
        assert_eq!(resume::load(dir.path(), "t1"), Some(point("t1")));
        writer.finish(dir.path(), parts("t1", TestStatus::Completed));
        assert!(writer.flush(Duration::from_secs(10)).await);
        assert_eq!(resume::load(dir.path(), "t1"), None);
        assert_eq!(resume::load(dir.path(), "t2"), Some(point("t2")));
    }

    /// A final report that cannot be written says why, with the folder, and later checkpoints
    /// of the test are still skipped.
    #[tokio::test]
    async fn a_failed_final_report_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("afile");
        std::fs::write(&file, b"not a folder").unwrap();
        let (writer, finals) = writer();
        writer.finish(&file, parts("t1", TestStatus::Completed));
        assert!(writer.checkpoint(&file, || vec![parts("t1", TestStatus::Running)]));
        assert!(writer.flush(Duration::from_secs(10)).await);
        let (id, result) = finals.try_recv().unwrap();
        assert_eq!(id, "t1");
        let error = result.unwrap_err();
        assert!(
            error.starts_with(&format!(
                "cannot write the report into {}: ",
                file.display()
            )),
            "{error}"
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"not a folder");
    }
}
