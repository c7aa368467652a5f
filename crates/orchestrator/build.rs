//! Embeds the dashboard's report page (`dashboard/dist-report/report.html`, built by
//! `npm run build`: one file with every script and style inlined) in the binary: writes
//! `report_template.rs` into `OUT_DIR`, `TEMPLATE: Option<&str>`. Without a build there (a fresh
//! clone before `npm run build`) it is `None`, cargo prints a warning, and reports say that the
//! page could not be made (`html::HtmlError::NotBuilt`). Cargo reruns this script when the page
//! changes (or, while it does not exist, when anything under `dashboard/` does).

use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let dashboard = manifest.join("../../dashboard");
    let page = dashboard.join("dist-report/report.html");
    let code = if page.is_file() {
        println!("cargo::rerun-if-changed={}", page.display());
        let path = page.canonicalize()?;
        let path = path.to_str().ok_or("report page path is not UTF-8")?;
        format!("static TEMPLATE: Option<&str> = Some(include_str!({path:?}));\n")
    } else {
        println!("cargo::rerun-if-changed={}", dashboard.display());
        println!(
            "cargo::warning=dashboard/dist-report/report.html not found: this binary cannot \
             write HTML reports (cd dashboard && npm ci && npm run build, then build onslaught \
             again)"
        );
        "static TEMPLATE: Option<&str> = None;\n".to_owned()
    };
    let code = format!("/// The report page with its data block to fill, if built.\n{code}");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("report_template.rs");
    std::fs::write(out, code)?;
    Ok(())
}
