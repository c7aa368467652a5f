//! Embeds the built dashboard (`dashboard/dist`) in the binary: writes `dashboard_files.rs` into
//! `OUT_DIR`, a sorted list of `(path, include_bytes!(file))`. Without a build there (a fresh
//! clone before `npm run build`) the list is empty, cargo prints a warning, and the binary serves
//! a page saying how to build the dashboard. Cargo reruns this script when anything under
//! `dashboard/dist` changes (or, while it does not exist, under `dashboard/`), so the binary
//! always carries the dashboard that was there when it was built.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dashboard = manifest.join("../../dashboard");
    let dist = dashboard.join("dist");

    let mut files = Vec::new();
    if dist.join("index.html").is_file() {
        println!("cargo::rerun-if-changed={}", dist.display());
        collect(&dist, &dist, &mut files)?;
        files.sort();
    } else {
        // Watching a missing path would rerun this script (and rebuild the crate) on every
        // build: watch the dashboard's folder instead, which changes when `dist` appears.
        println!("cargo::rerun-if-changed={}", dashboard.display());
        println!(
            "cargo::warning=dashboard/dist/index.html not found: this binary will serve a page \
             saying how to build the dashboard (cd dashboard && npm ci && npm run build, then \
             build onslaught again)"
        );
    }

    let mut code =
        String::from("/// The dashboard's built files: (path under `dist/`, contents).\n");
    code.push_str("pub(crate) static FILES: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        let path = path.canonicalize()?;
        let path = path.to_str().ok_or("dashboard file path is not UTF-8")?;
        writeln!(code, "    ({name:?}, include_bytes!({path:?})),")?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("dashboard_files.rs");
    std::fs::write(out, code)?;
    Ok(())
}

/// Every file under `dir`, as (`/`-separated path relative to `root`, file path).
fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, PathBuf)>,
) -> Result<(), Box<dyn Error>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if path.is_file() {
            let relative = path.strip_prefix(root)?;
            let name = relative
                .components()
                .map(|c| {
                    c.as_os_str()
                        .to_str()
                        .ok_or("dashboard file name is not UTF-8")
                })
                .collect::<Result<Vec<_>, _>>()?
                .join("/");
            files.push((name, path));
        }
    }
    Ok(())
}
