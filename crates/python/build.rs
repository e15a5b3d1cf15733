//! Puts the standalone HDF5 filter plugin (`crates/hdf5`, `libh5daspack.so`) into `python/daspack/plugins/`, which
//! maturin packs into the wheel after cargo has finished: every `pip install ./crates/python` and `maturin build`
//! ships it (`daspack.plugin_path()`, for h5dump, h5repack and other programs reading `HDF5_PLUGIN_PATH`).
//!
//! h5py itself does not need that file: the extension module compiles the same filter in (the `daspack-hdf5`
//! dependency) and `import daspack` registers it with h5py's HDF5.
//!
//! Native builds (host = target, the `pip install` case): `daspack-hdf5` is also a build dependency, so cargo has
//! linked its cdylib, `<profile dir>/deps/libh5daspack.so`, before compiling this script, and the build-override
//! profiles in Cargo.toml make that the very compilation the extension links too: this script only copies the
//! file, the plugin costs no second compilation of the codec. It reruns whenever that library is rebuilt (a build
//! dependency changed) or the copy disappears.
//!
//! Cross builds, or a cargo that leaves the library elsewhere: a nested `cargo build` of `crates/hdf5` for the
//! target, in its own target directory (`<target>/h5plugin`, never the outer one, whose lock this build holds),
//! sharing the outer build's jobserver. That compiles the codec a second time.
//!
//! Failure is a build error: a wheel without the plugin must not be produced silently.
//! `DASPACK_SKIP_H5_PLUGIN=1` skips it on purpose (the h5py route still works);
//! `DASPACK_H5_PLUGIN_NESTED=1` forces the nested build.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn main() {
    let here = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let crates = here.parent().expect("crates/python has a parent").to_path_buf();
    let manifest = crates.join("hdf5").join("Cargo.toml");
    let dest_dir = here.join("python").join("daspack").join("plugins");
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let file_name = match target_os.as_str() {
        "windows" => "h5daspack.dll",
        "macos" | "ios" => "libh5daspack.dylib",
        _ => "libh5daspack.so",
    };
    let dest = dest_dir.join(file_name);

    println!("cargo:rerun-if-env-changed=DASPACK_SKIP_H5_PLUGIN");
    println!("cargo:rerun-if-changed=build.rs");
    // Rerun when the copy in the package disappears or is replaced (its mtime is set back below, so that writing
    // it here does not itself make the next build rerun this script).
    println!("cargo:rerun-if-changed={}", dest.display());
    let started = SystemTime::now();

    if env::var_os("DASPACK_SKIP_H5_PLUGIN").is_some_and(|v| !v.is_empty() && v != "0") {
        println!("cargo:warning=DASPACK_SKIP_H5_PLUGIN set: the wheel will not contain the standalone HDF5 plugin");
        return;
    }
    if !manifest.is_file() {
        panic!(
            "{} not found: the standalone HDF5 plugin cannot be built (set DASPACK_SKIP_H5_PLUGIN=1 to build \
             without it)",
            manifest.display()
        );
    }

    println!("cargo:rerun-if-env-changed=DASPACK_H5_PLUGIN_NESTED");
    let native = env::var("HOST").ok() == env::var("TARGET").ok();
    if native && env::var_os("DASPACK_H5_PLUGIN_NESTED").is_none_or(|v| v.is_empty() || v == "0") {
        // This script is <profile dir>/build/daspack-python-<hash>/build-script-build; build dependencies are in
        // <profile dir>/deps.
        let exe = env::current_exe().expect("path of the build script");
        if let Some(built) = exe.ancestors().nth(3).map(|d| d.join("deps").join(file_name)).filter(|p| p.is_file()) {
            println!("cargo:rerun-if-changed={}", built.display());
            install(&built, &dest, started);
            return;
        }
        println!(
            "cargo:warning=the build dependency daspack-hdf5 left no {file_name} beside {}: building the HDF5 \
             plugin with a nested cargo",
            exe.display()
        );
    }
    nested_build(&crates, &manifest, file_name, &dest, started);
}

/// Builds `crates/hdf5` for the target with a cargo of its own and installs the library.
fn nested_build(crates: &Path, manifest: &Path, file_name: &str, dest: &Path, started: SystemTime) {
    // The root manifest and lock file that the nested build resolves the plugin's dependencies with; its sources
    // are listed after the build from the compiler's dep-info (`watch_sources`).
    for f in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", crates.join("..").join(f).display());
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    // OUT_DIR is <target>[/<triple>]/<profile>/build/<pkg>-<hash>/out.
    let nested_target = out_dir.ancestors().nth(4).unwrap_or(&out_dir).join("h5plugin");
    let triple = env::var("TARGET").expect("TARGET");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--lib")
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target")
        .arg(&triple)
        .arg("--target-dir")
        .arg(&nested_target)
        // Settings of the outer build that must not leak into the nested one (it has its own target dir and
        // profile); rustflags (CARGO_ENCODED_RUSTFLAGS), the linker and the jobserver are kept.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_PRIMARY_PACKAGE")
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_MANIFEST_PATH");
    // The nested cargo's stdout must not reach this script's stdout, which the outer cargo parses for directives.
    cmd.stdout(std::io::stderr());
    let status = cmd.status().unwrap_or_else(|e| panic!("cannot run cargo for the HDF5 plugin: {e}"));
    if !status.success() {
        panic!(
            "building the HDF5 plugin ({}) failed: {status} (set DASPACK_SKIP_H5_PLUGIN=1 to build without it)",
            manifest.display()
        );
    }

    let built_dir = nested_target.join(&triple).join("release");
    watch_sources(&built_dir.join(dep_info_name(file_name)), crates);
    install(&built_dir.join(file_name), dest, started);
}

/// Copies the library into the package, dated before this script started: cargo reruns a build script when a
/// watched file is newer than its last run, and the copy is watched only to notice its disappearance.
fn install(built: &Path, dest: &Path, started: SystemTime) {
    copy_atomic(built, dest);
    let old = started.checked_sub(Duration::from_secs(60)).unwrap_or(started);
    if let Err(e) = fs::File::options().write(true).open(dest).and_then(|f| f.set_modified(old)) {
        println!("cargo:warning=cannot set the mtime of {}: {e}", dest.display());
    }
}

/// Copies `from` to `to` through a temporary file, so that a concurrent packer never sees half a library.
fn copy_atomic(from: &Path, to: &Path) {
    let dir = to.parent().expect("destination has a directory");
    fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let tmp = dir.join(format!(".{}.tmp{}", to.file_name().unwrap().to_string_lossy(), std::process::id()));
    fs::copy(from, &tmp).unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), tmp.display()));
    fs::rename(&tmp, to).unwrap_or_else(|e| panic!("cannot move {} to {}: {e}", tmp.display(), to.display()));
}

/// `libh5daspack.so` -> `libh5daspack.d`: the dep-info file cargo writes beside the library.
fn dep_info_name(file_name: &str) -> String {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    format!("{stem}.d")
}

/// Reruns this script when a source file of the plugin changes: every file of the dep-info `<lib>: src...` line
/// (Rust sources of crates/hdf5 and of the crates it compiles in, wherever they are), plus the manifest of each
/// local crate among them. Without the dep-info (never expected), falls back to the whole `crates/` directory.
fn watch_sources(dep_info: &Path, crates: &Path) {
    let Ok(text) = fs::read_to_string(dep_info) else {
        println!("cargo:warning=no dep-info at {}: watching all of crates/", dep_info.display());
        println!("cargo:rerun-if-changed={}", crates.display());
        return;
    };
    let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else { return };
    let Some((_, deps)) = line.split_once(": ") else { return };
    let mut manifests = std::collections::BTreeSet::new();
    // Paths are separated by spaces; a space inside a path is escaped as `\ `.
    for path in deps.replace("\\ ", "\0").split(' ').filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path.replace('\0', " "));
        println!("cargo:rerun-if-changed={}", path.display());
        if path.starts_with(crates) {
            if let Some(m) = path.ancestors().map(|d| d.join("Cargo.toml")).find(|m| m.is_file()) {
                manifests.insert(m);
            }
        }
    }
    for m in manifests {
        println!("cargo:rerun-if-changed={}", m.display());
    }
}
