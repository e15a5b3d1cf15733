//! The crate must stay `no_std` and allocation-free. Two checks that fail if std or alloc sneak in:
//!
//! 1. the sources: `#![no_std]` is an unconditional attribute of the crate root, no source names
//!    `std` or `alloc`, the crate has no features and depends only on `daspack-bitio` without its
//!    default (`alloc`) feature;
//! 2. a real build: a `#![no_std]` static library with its own `#[panic_handler]` and no global
//!    allocator, linking daspack-sensor, is built with cargo. If the crate graph pulled in std the
//!    panic handler would clash with std's ("duplicate lang item"); if it pulled in alloc the
//!    build would stop for want of a global allocator. A control build of the same library with
//!    `extern crate std` must fail, proving the check can fail on this toolchain.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Source text with `//` comments removed (doc comments mention std freely).
fn code_only(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn sources_are_no_std_and_alloc_free() {
    let dir = crate_dir();
    let lib = fs::read_to_string(dir.join("src/lib.rs")).unwrap();
    assert!(lib.lines().any(|l| l.trim() == "#![no_std]"), "src/lib.rs must carry an unconditional #![no_std]");
    assert!(!lib.contains("cfg_attr(not("), "no_std must not be conditional");
    for entry in fs::read_dir(dir.join("src")).unwrap() {
        let path = entry.unwrap().path();
        let code = code_only(&fs::read_to_string(&path).unwrap());
        for banned in ["std::", "extern crate std", "alloc::", "extern crate alloc", "Vec<", "Box<"] {
            assert!(!code.contains(banned), "{} uses `{banned}`", path.display());
        }
    }
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let manifest = code_only(&manifest.replace('#', "//"));
    assert!(!manifest.contains("[features]"), "the crate must have no features (no std switch)");
    let deps = manifest.split("[dependencies]").nth(1).expect("[dependencies] section").split("\n[").next().unwrap();
    let dep_lines: Vec<&str> = deps.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    assert_eq!(dep_lines.len(), 1, "only daspack-bitio: {dep_lines:?}");
    assert!(dep_lines[0].starts_with("daspack-bitio"));
    assert!(dep_lines[0].contains("default-features = false"));
}

fn write_probe(dir: &Path, with_std: bool) {
    fs::create_dir_all(dir.join("src")).unwrap();
    let sensor = crate_dir();
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "sensor-no-std-probe"
version = "0.0.0"
edition = "2021"
publish = false

[lib]
crate-type = ["staticlib"]

[dependencies]
daspack-sensor = {{ path = {:?} }}

[profile.dev]
panic = "abort"

[workspace]
"#,
            sensor.display().to_string()
        ),
    )
    .unwrap();
    let extra = if with_std { "extern crate std;\n" } else { "" };
    fs::write(
        dir.join("src/lib.rs"),
        format!(
            r#"#![no_std]
{extra}
use daspack_sensor::{{Decoder, Encoder}};

#[panic_handler]
fn on_panic(_: &core::panic::PanicInfo) -> ! {{
    loop {{}}
}}

#[no_mangle]
pub extern "C" fn sensor_probe(x: i16) -> usize {{
    let mut buf = [0u8; 32];
    let mut enc = Encoder::new(&mut buf);
    let _ = enc.push_sample(x);
    let _ = enc.push_sample(x);
    let _ = enc.push_no_measurement();
    let n = enc.finish().unwrap_or(0);
    let items = enc.items();
    let mut out = [0i16; 4];
    Decoder::new(&buf[..n], items).decode_into(&mut out).unwrap_or(0)
}}
"#
        ),
    )
    .unwrap();
}

fn build(dir: &Path, target: &Path) -> (bool, String) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let out = Command::new(cargo)
        .arg("build")
        .arg("--offline")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .expect("run cargo");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn builds_as_a_no_std_static_library_without_allocator() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sensor-no-std");
    let target = base.join("target");

    let probe = base.join("probe");
    write_probe(&probe, false);
    let (ok, stderr) = build(&probe, &target);
    assert!(ok, "no_std build of daspack-sensor failed:\n{stderr}");

    // Control: the same library linking std must fail, or this test proves nothing.
    let control = base.join("control");
    write_probe(&control, true);
    let (ok, stderr) = build(&control, &target);
    assert!(!ok, "control build with std unexpectedly succeeded");
    assert!(
        stderr.contains("duplicate lang item") || stderr.contains("panic_impl"),
        "control build failed for another reason:\n{stderr}"
    );
}
