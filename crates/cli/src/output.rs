//! Output files are written to a temporary name beside the target and renamed when complete, so a failure never
//! leaves a half-written file under the final name, and an existing file is only replaced with `--force`.

use anyhow::{bail, Context, Result};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether outputs are synced to the disk before their rename (`--sync`). Off by default, as gzip and zstd do:
/// the rename already guarantees that a failed run leaves no partial file, and syncing makes a large
/// decompression wait for the disk rather than the decoder.
static SYNC: AtomicBool = AtomicBool::new(false);

/// Sets [`SYNC`].
pub fn set_sync(on: bool) {
    SYNC.store(on, Ordering::Relaxed);
}

/// Refuses to go on when `path` exists and `force` is not set (checked before any work is done).
pub fn check_target(path: &Path, force: bool) -> Result<()> {
    if !force && path.exists() {
        bail!("{} already exists (use --force to overwrite)", path.display());
    }
    Ok(())
}

/// Writes through `fill` into a temporary file next to `path`, then renames it over `path`.
/// On any error the temporary file is removed and `path` is left as it was.
pub fn write_atomic<F>(path: &Path, force: bool, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    check_target(path, force)?;
    let tmp = temp_name(path);
    let result = (|| -> Result<()> {
        let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        fill(&mut w)?;
        w.flush()?;
        if SYNC.load(Ordering::Relaxed) {
            w.get_ref().sync_all().with_context(|| format!("cannot sync {}", tmp.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if !force && path.exists() {
        let _ = fs::remove_file(&tmp);
        bail!("{} appeared while writing (use --force to overwrite)", path.display());
    }
    fs::rename(&tmp, path).with_context(|| format!("cannot rename to {}", path.display()))?;
    Ok(())
}

/// Gives `file` its final length `len` with the blocks allocated up front: the workers' positional writes then fill
/// allocated space instead of extending a sparse file (measured: a 2 GB output written in about half the kernel
/// time). Falls back to a sparse `set_len` where the file system cannot preallocate.
pub fn preallocate(file: &File, len: u64) -> std::io::Result<()> {
    if len > 0 && rustix::fs::fallocate(file, rustix::fs::FallocateFlags::empty(), 0, len).is_ok() {
        return Ok(());
    }
    file.set_len(len)
}

/// Writes a whole byte buffer atomically.
pub fn write_bytes(path: &Path, force: bool, bytes: &[u8]) -> Result<()> {
    write_atomic(path, force, |w| Ok(w.write_all(bytes)?))
}

pub fn temp_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = format!(".{name}.daspack-tmp-{}", std::process::id());
    // File names are limited to 255 bytes: a name near the limit (which an archive may hold) gets a short
    // temporary name, unique within the process.
    if tmp.len() <= 255 {
        return path.with_file_name(tmp);
    }
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_file_name(format!(".daspack-tmp-{}-{n}", std::process::id()))
}

/// `-`: stdin or stdout.
pub fn is_stdio(p: &Path) -> bool {
    p.as_os_str() == "-"
}

/// The whole of a file, or of stdin (`-`).
pub fn read_input(p: &Path) -> Result<Vec<u8>> {
    if is_stdio(p) {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut v)?;
        Ok(v)
    } else {
        std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
    }
}

/// Writes `bytes` to stdout (`-`) or, through a temporary file renamed into place, to `p`.
pub fn write_output(p: &Path, force: bool, bytes: &[u8]) -> Result<()> {
    if is_stdio(p) {
        let mut o = std::io::stdout().lock();
        o.write_all(bytes)?;
        Ok(o.flush()?)
    } else {
        write_bytes(p, force, bytes)
    }
}
