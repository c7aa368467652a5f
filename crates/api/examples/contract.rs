//! Writes the generated contract files (`docs/openapi.json`, `docs/report.schema.json`,
//! `docs/node-report.schema.json`) from the Rust types:
//! `cargo run -p onslaught-api --example contract`. The test `contract_files_are_current` fails while
//! they are stale; then `cd dashboard && npm run gen:types` regenerates the TypeScript types.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (path, text) in onslaught_api::openapi::files() {
        let file = root.join(path);
        let unchanged = std::fs::read_to_string(&file).is_ok_and(|old| old == text);
        if !unchanged {
            std::fs::write(&file, text)?;
        }
        println!(
            "{path}: {}",
            if unchanged { "unchanged" } else { "written" }
        );
    }
    Ok(())
}
