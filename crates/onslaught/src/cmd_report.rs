//! `onslaught report TEST_DIR [--html OUT]`: the self-contained HTML report page of a test,
//! made from its report folder (`onslaught_orchestrator::html`).

use onslaught_orchestrator::html::{self, HtmlError, ReportFolder};

use crate::exit;
use crate::flags::ReportArgs;

/// Writes the page; exit 2 when TEST_DIR is not a readable report folder, 4 when the page
/// cannot be made or written.
pub fn run(args: &ReportArgs) -> anyhow::Result<u8> {
    let folder = match ReportFolder::read(&args.test_dir) {
        Ok(folder) => folder,
        Err(e @ (HtmlError::NotAReport(_) | HtmlError::Parse { .. } | HtmlError::Io { .. })) => {
            errln!("error: {e}");
            return Ok(exit::BAD_CONFIG);
        }
        Err(e) => return Err(e.into()),
    };
    let page = html::render(&folder)?;
    let out = args
        .html
        .clone()
        .unwrap_or_else(|| args.test_dir.join(html::FILE_NAME));
    html::write_atomic(&out, page.as_bytes())?;
    outln!("{}", out.display());
    Ok(exit::OK)
}
