//! The report folder's leadership epoch, `<report_dir>/leader-epoch`: the orchestrators of a
//! cluster share their report folder, and each, once elected, writes its epoch there before it
//! resumes the running tests. The report writer of an orchestrator whose epoch is lower than the
//! folder's writes nothing more: a deposed orchestrator that runs again (frozen, cut off) before
//! it learns of its deposition cannot overwrite the new leader's checkpoints or reports. (The
//! file is read before each write: a write already under way when the new leader takes over
//! still lands, and the new leader's next checkpoint replaces it.)

use std::io;
use std::path::Path;

/// The file's name in the report folder.
pub const FILE: &str = "leader-epoch";

/// Records `epoch` as the folder's (written to a temporary file, then renamed over the old one,
/// so a reader never sees half a number).
pub fn claim(dir: &Path, epoch: u64) -> io::Result<()> {
    let temporary = dir.join(format!(".{FILE}.{}", std::process::id()));
    std::fs::write(&temporary, format!("{epoch}\n"))?;
    std::fs::rename(&temporary, dir.join(FILE))
}

/// The folder's epoch, if one was recorded (and readable).
pub fn current(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The folder's epoch when it is higher than `epoch`: an orchestrator of `epoch` must not write
/// there any more.
pub fn superseded(dir: &Path, epoch: u64) -> Option<u64> {
    current(dir).filter(|newer| *newer > epoch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_higher_epoch_in_the_folder_supersedes_a_lower_one_only() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(current(dir.path()), None);
        assert_eq!(superseded(dir.path(), 1), None);
        claim(dir.path(), 3).unwrap();
        assert_eq!(current(dir.path()), Some(3));
        assert_eq!(superseded(dir.path(), 2), Some(3));
        assert_eq!(superseded(dir.path(), 3), None);
        assert_eq!(superseded(dir.path(), 4), None);
        claim(dir.path(), 4).unwrap();
        assert_eq!(superseded(dir.path(), 3), Some(4));
    }
}
