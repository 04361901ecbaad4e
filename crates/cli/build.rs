//! Turns the CLI's dependencies on adapter crates (path dependencies under `adapters/`)
//! into the list of platforms the binary knows, so that adding a platform is one line in
//! `Cargo.toml`. Writes `$OUT_DIR/platforms.rs`: a `vec![...]` of each crate's
//! `platform()`, in name order.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo::rerun-if-changed=Cargo.toml");
    let manifest = std::fs::read_to_string("Cargo.toml").expect("reading crates/cli/Cargo.toml");
    let manifest: toml::Table = manifest
        .parse()
        .expect("crates/cli/Cargo.toml is valid TOML");
    let mut list = String::from("vec![\n");
    if let Some(toml::Value::Table(deps)) = manifest.get("dependencies") {
        for (name, spec) in deps {
            let path = spec.get("path").and_then(toml::Value::as_str).unwrap_or("");
            // A platform is a folder right under adapters/; an emulator crate inside one
            // (adapters/NAME/emulator) is a dependency like any other.
            if Path::new(path).parent() == Some(Path::new("../../adapters")) {
                let _ = writeln!(list, "    {}::platform(),", name.replace('-', "_"));
            }
        }
    }
    list.push_str("]\n");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    std::fs::write(Path::new(&out).join("platforms.rs"), list).expect("writing platforms.rs");
}
