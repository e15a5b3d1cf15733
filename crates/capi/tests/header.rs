//! The committed C header `include/daspack.h` must be exactly what cbindgen generates from this crate.
//!
//! Regenerate it with `scripts/gen-header.sh` (which runs this test with `DASPACK_BLESS_HEADER=1`).

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn committed_path() -> PathBuf {
    crate_dir().join("../../include/daspack.h")
}

fn generate(dir: &Path) -> String {
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("reading cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen failed to generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen wrote UTF-8")
}

#[test]
fn committed_header_matches_generation() {
    let fresh = generate(&crate_dir());
    let path = committed_path();
    if std::env::var_os("DASPACK_BLESS_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("writing include/daspack.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let line = committed.lines().zip(fresh.lines()).position(|(a, b)| a != b).map_or_else(
            || "line count differs".to_string(),
            |i| {
                format!(
                    "first difference at line {}:\n  committed: {}\n  generated: {}",
                    i + 1,
                    committed.lines().nth(i).unwrap_or(""),
                    fresh.lines().nth(i).unwrap_or("")
                )
            },
        );
        panic!(
            "include/daspack.h is out of date with crates/capi ({line}).\nRegenerate it with: bash scripts/gen-header.sh"
        );
    }
}

/// Every exported function is in the header, and the header declares no function the crate lacks.
#[test]
fn header_declares_every_entry_point() {
    let header = std::fs::read_to_string(committed_path()).expect("include/daspack.h");
    let mut declared: Vec<&str> = header
        .lines()
        .filter_map(|l| {
            let i = l.find("daspack_")?;
            let rest = &l[i..];
            let end = rest.find('(')?;
            (!l.trim_start().starts_with('*') && !l.trim_start().starts_with("/*")).then_some(&rest[..end])
        })
        .collect();
    declared.sort_unstable();
    declared.dedup();
    let mut exported = Vec::new();
    for entry in std::fs::read_dir(crate_dir().join("src")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for l in text.lines() {
            if let Some(i) = l.find("extern \"C\" fn daspack_") {
                let rest = &l[i + "extern \"C\" fn ".len()..];
                exported.push(rest[..rest.find('(').unwrap()].to_string());
            }
        }
    }
    exported.sort_unstable();
    assert_eq!(declared, exported);
}
