//! The archive subcommands: `.dpk` (native) and `.blp` (Bloscpack) compress, decompress, info, append, verify,
//! pack, unpack and list. `-` is stdin or stdout; files are written to a temporary name and renamed when complete.

use crate::output::{is_stdio, read_input, write_output};
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use daspack::checksum::Checksum;
use daspack::container::blp;
use daspack::container::dpk::{self, Archive, ChunkCodec, EntryKind, EntryOptions, Filters, Writer};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::output;
use crate::progress::Ui;
use crate::CodecArgs;

/// Read buffer of input files. Small on purpose: chunk-sized reads (256 KiB and up) bypass a buffer this size and go
/// straight into the chunk, where a buffer as large as a chunk would copy every byte twice.
pub const INPUT_BUFFER: usize = 64 << 10;

/// Container options shared by `compress`, `append` and `pack`.
#[derive(Args, Debug, Clone, Default)]
pub struct ContainerArgs {
    /// Output format: dpk (native archive), blp (Bloscpack v3), stream (a bare DAS codec stream of a .npy array).
    /// Default: from the output's extension (.blp), else dpk.
    #[arg(long, value_parser = ["dpk", "blp", "stream"])]
    pub format: Option<String>,
    /// Chunk codec. dpk: das|zstd|lz4|deflate|stored (default: das for .npy arrays, zstd otherwise);
    /// blp: blosclz|lz4|lz4hc|zlib|zstd (default blosclz).
    #[arg(long)]
    pub codec: Option<String>,
    /// Compression level (zstd 1..22, deflate 0..9, blp 0..9), or `throughput`: level 1 and chunk size and threads
    /// tuned to the input size and the cores.
    #[arg(long)]
    pub level: Option<String>,
    /// Original bytes per chunk: a number with an optional K/M/G suffix (1M, 256K), or `max` (1G). Default 1M, and
    /// 8M for arrays coded with the DAS codec (whole rows).
    #[arg(long)]
    pub chunk_size: Option<String>,
    /// Checksum of each entry (dpk) or chunk (blp): none, adler32, crc32, md5, sha1, sha224, sha256, sha384,
    /// sha512, xxh64 (dpk default), blake3.
    #[arg(long)]
    pub checksum: Option<String>,
    /// Filters before a byte codec: none, or a comma list of delta, shuffle, bitshuffle (default shuffle).
    #[arg(long)]
    pub filter: Option<String>,
    /// Element size the filters work on, 1..=255 (default: an array's item size, 1 for other files).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..))]
    pub typesize: Option<u8>,
    /// A JSON file stored as user metadata (dpk: per entry, under "user"; blp: the metadata section).
    #[arg(long)]
    pub metadata: Option<PathBuf>,
}

fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("max") {
        return Ok(u64::from(dpk::MAX_CHUNK_SIZE));
    }
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| anyhow!("bad size {s:?} (e.g. 1M, 256K, 65536, max)"))?;
    n.checked_mul(mult).filter(|&v| v > 0).ok_or_else(|| anyhow!("bad size {s:?}"))
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl ContainerArgs {
    fn throughput(&self) -> bool {
        self.level.as_deref().is_some_and(|l| l.eq_ignore_ascii_case("throughput"))
    }

    fn level(&self) -> Result<Option<i32>> {
        match self.level.as_deref() {
            None => Ok(None),
            Some(l) if l.eq_ignore_ascii_case("throughput") => Ok(Some(1)),
            Some(l) => Ok(Some(l.parse().map_err(|_| anyhow!("bad level {l:?} (a number or `throughput`)"))?)),
        }
    }

    fn user_metadata(&self) -> Result<Option<serde_json::Value>> {
        let Some(p) = &self.metadata else { return Ok(None) };
        let text = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        let v: serde_json::Value =
            serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", p.display()))?;
        Ok(Some(v))
    }

    /// Chunk size and threads: as given, or tuned for throughput (about 8 chunks per thread, 256 KiB..4 MiB).
    fn chunk_and_threads(&self, input_len: Option<u64>, threads: usize) -> Result<(u32, usize)> {
        let threads = if threads == 0 || self.throughput() { cores() } else { threads };
        let chunk = match &self.chunk_size {
            Some(s) => parse_size(s)?,
            None if self.throughput() => {
                let per = input_len.unwrap_or(u64::MAX) / (threads as u64 * 8);
                per.clamp(256 << 10, 4 << 20).next_power_of_two().min(4 << 20)
            }
            None => u64::from(dpk::DEFAULT_CHUNK_SIZE),
        };
        if chunk > u64::from(dpk::MAX_CHUNK_SIZE) {
            bail!("chunk size {chunk} exceeds the maximum {}", dpk::MAX_CHUNK_SIZE);
        }
        Ok((chunk as u32, threads))
    }

    /// Entry options for dpk; `threads` is the writer's thread count.
    pub fn dpk_options(&self, codec: &CodecArgs, input_len: Option<u64>) -> Result<(EntryOptions, usize)> {
        let chosen = match &self.codec {
            Some(c) => ChunkCodec::from_name(c)
                .ok_or_else(|| anyhow!("unknown dpk codec {c:?} (das, zstd, lz4, deflate, stored)"))?,
            None => ChunkCodec::Das,
        };
        let (chunk_size, threads) = self.chunk_and_threads(input_len, codec.threads)?;
        // DAS chunks default to larger blocks (the codec's ratio suffers from short tiles); a given size sets both.
        let das_chunk_size = if self.chunk_size.is_some() { chunk_size } else { dpk::DEFAULT_DAS_CHUNK_SIZE };
        let checksum = match &self.checksum {
            Some(c) => c.parse::<Checksum>().map_err(|e| anyhow!("{e}"))?,
            None => Checksum::Xxh64,
        };
        let filters = match &self.filter {
            Some(f) => Filters::from_names(f).map_err(|e| anyhow!("{e}"))?,
            None => Filters { shuffle: true, ..Filters::NONE },
        };
        let level = self.level()?.unwrap_or(if chosen == ChunkCodec::Das { 0 } else { chosen.default_level() });
        let opts = EntryOptions {
            codec: chosen,
            level,
            filters,
            typesize: self.typesize,
            chunk_size,
            das_chunk_size,
            checksum,
            das: codec.params(),
            user_metadata: self.user_metadata()?,
        };
        Ok((opts, threads))
    }

    fn blp_options(&self, typesize: u8, input_len: u64, threads: usize) -> Result<blp::BlpOptions> {
        let codec = match &self.codec {
            Some(c) => blp::Codec::from_name(c)
                .filter(|c| blp::Codec::WRITABLE.contains(c))
                .ok_or_else(|| anyhow!("unknown blp codec {c:?} (blosclz, lz4, lz4hc, zlib, zstd)"))?,
            None => blp::Codec::BloscLz,
        };
        let shuffle = match self.filter.as_deref() {
            None => blp::Shuffle::Byte,
            Some(f) => {
                blp::Shuffle::from_name(f).ok_or_else(|| anyhow!("blp filter {f:?}: none, shuffle or bitshuffle"))?
            }
        };
        let clevel = match self.level()? {
            None => 7,
            Some(l) => u8::try_from(l).ok().filter(|&l| l <= 9).ok_or_else(|| anyhow!("blp level must be 0..=9"))?,
        };
        let checksum = match &self.checksum {
            Some(c) => c.parse::<Checksum>().map_err(|e| anyhow!("{e}"))?,
            None => Checksum::Adler32,
        };
        if checksum.bloscpack_id().is_none() {
            bail!("Bloscpack has no {checksum} checksum (none, adler32, crc32, md5, sha1, sha224..sha512)");
        }
        let (chunk, threads) = self.chunk_and_threads(Some(input_len), threads)?;
        let chunk =
            if self.chunk_size.is_none() && !self.throughput() { blp::DEFAULT_CHUNK_SIZE } else { chunk as usize };
        Ok(blp::BlpOptions {
            blosc: blp::CompressParams { codec, clevel, typesize, shuffle, blocksize: None },
            chunk_size: chunk.min(i32::MAX as usize - 16),
            checksum,
            metadata: self.user_metadata()?,
            threads,
            ..Default::default()
        })
    }
}

/// The name an input is stored under: its file name.
fn entry_name(input: &Path) -> Result<String> {
    let n = input.file_name().ok_or_else(|| anyhow!("{} has no file name", input.display()))?;
    n.to_str().map(str::to_string).ok_or_else(|| anyhow!("{} is not UTF-8", input.display()))
}

/// Adds one input file to a dpk writer (arrays detected by content).
/// Entries for which the writer did not do what an option asked (docs/format.md, A.4), reported once per command
/// rather than once per file of a large directory.
#[derive(Default)]
struct Overrides {
    /// `--codec das` on inputs that are not arrays the DAS codec takes.
    not_arrays: Vec<(String, ChunkCodec)>,
    /// `--filter` on arrays coded with the DAS codec, which takes no filter.
    unfiltered: Vec<String>,
}

impl Overrides {
    /// Notes what became of the entry `e` written with the options `asked`.
    fn note(&mut self, asked: &ContainerArgs, e: &dpk::Entry) {
        if e.kind == EntryKind::Dir {
            return;
        }
        if asked.codec.as_deref() == Some("das") && e.codec != ChunkCodec::Das {
            self.not_arrays.push((e.name.clone(), e.codec));
        }
        if asked.filter.as_deref().is_some_and(|f| f != "none") && e.codec == ChunkCodec::Das {
            self.unfiltered.push(e.name.clone());
        }
    }

    fn warn(&self, ui: &Ui) {
        // "x is" or "3 entries (x, ...) are".
        let which = |names: &[&str]| match names {
            [first] => format!("{first:?} is"),
            [first, ..] => format!("{} entries ({first:?}, ...) are", names.len()),
            [] => String::new(),
        };
        if let Some((_, codec)) = self.not_arrays.first() {
            let names: Vec<&str> = self.not_arrays.iter().map(|(n, _)| n.as_str()).collect();
            ui.warn(&format!(
                "--codec das: {} not what the DAS codec takes (a little-endian int16, uint16, int32, float32 or float64 \
                 .npy array); stored with {}",
                which(&names),
                codec.name()
            ));
        }
        if !self.unfiltered.is_empty() {
            let names: Vec<&str> = self.unfiltered.iter().map(String::as_str).collect();
            ui.warn(&format!("--filter: {} coded with the DAS codec, which takes no filter", which(&names)));
        }
    }
}

fn add_input<W: Write>(w: &mut Writer<W>, name: &str, path: &Path, opts: &EntryOptions) -> Result<()> {
    if is_stdio(path) {
        let stdin = std::io::stdin();
        w.add_reader(name, stdin.lock(), opts)?;
        return Ok(());
    }
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let len = f.metadata()?.len();
    let r = std::io::BufReader::with_capacity(INPUT_BUFFER, f);
    w.add_npy(name, r, len, opts).with_context(|| format!("cannot compress {}", path.display()))?;
    Ok(())
}

fn input_len(path: &Path) -> Option<u64> {
    (!is_stdio(path)).then(|| std::fs::metadata(path).map(|m| m.len()).ok()).flatten()
}

/// `compress` to dpk: one entry named after the input.
pub fn compress_dpk(
    input: &Path,
    output: &Path,
    codec: &CodecArgs,
    c: &ContainerArgs,
    force: bool,
    ui: &Ui,
) -> Result<()> {
    let total = input_len(input);
    let (opts, threads) = c.dpk_options(codec, total)?;
    let name = if is_stdio(input) { "stdin".to_string() } else { entry_name(input)? };
    let bar = ui.bar(total);
    let items = [(name, input.to_path_buf(), false)];
    if is_stdio(output) {
        let mut w = Writer::new(std::io::stdout().lock(), threads)?;
        fill(&mut w, &items, (&opts, c), ui, &bar)?.warn(ui);
        drop(w.finish_stream()?);
    } else {
        output::write_atomic(output, force, |f| {
            let mut w = Writer::new(f, threads)?;
            fill(&mut w, &items, (&opts, c), ui, &bar)?.warn(ui);
            let e = &w.index().entries[0];
            ui.summary(output, e.size, e.stored_size(), e.codec.name());
            w.finish()?;
            Ok(())
        })?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// Writes `items` (entry name, path, is a directory) into `w`.
fn fill<W: Write>(
    w: &mut Writer<W>,
    items: &[(String, PathBuf, bool)],
    (opts, asked): (&EntryOptions, &ContainerArgs),
    ui: &Ui,
    bar: &indicatif::ProgressBar,
) -> Result<Overrides> {
    ui.hook(w, bar.clone());
    let mut overrides = Overrides::default();
    for (name, path, is_dir) in items {
        if *is_dir {
            w.add_dir(name)?;
        } else {
            add_input(w, name, path, opts)?;
            if let Some(e) = w.index().entries.last() {
                overrides.note(asked, e);
            }
        }
    }
    Ok(overrides)
}

/// `compress` to blp: the input's bytes (an `.npy` array's data, with bloscpack's numpy metadata), one chunk in
/// memory at a time when the input is a file.
pub fn compress_blp(
    input: &Path,
    output: &Path,
    codec: &CodecArgs,
    c: &ContainerArgs,
    force: bool,
    ui: &Ui,
) -> Result<()> {
    let (mut reader, len): (Box<dyn Read>, u64) = if is_stdio(input) {
        let data = read_input(input)?;
        let n = data.len() as u64;
        (Box::new(std::io::Cursor::new(data)), n)
    } else {
        let f = File::open(input).with_context(|| format!("cannot read {}", input.display()))?;
        let n = f.metadata()?.len();
        (Box::new(std::io::BufReader::with_capacity(INPUT_BUFFER, f)), n)
    };
    // The first bytes tell whether it is a .npy array (its header is at most 1 MiB, as numpy writes it).
    let mut head = Vec::new();
    (&mut reader).take(1 << 20).read_to_end(&mut head)?;
    let (skip, detected, meta) = match dpk::NpyInfo::parse(&head[..head.len().min(1 << 20)], len) {
        Some(info) => {
            let nm = blp::NumpyMeta::simple(&info.descr, info.shape.clone(), info.fortran_order);
            (info.data_offset as usize, u8::try_from(info.itemsize).unwrap_or(1), Some(nm.to_metadata()))
        }
        None => (0, 1, None),
    };
    let payload_len = len - skip as u64;
    let typesize = c.typesize.unwrap_or(detected);
    let mut opts = c.blp_options(typesize, payload_len, codec.threads)?;
    if opts.metadata.is_none() {
        opts.metadata = meta;
    }
    let rest = std::io::Cursor::new(head[skip.min(head.len())..].to_vec()).chain(reader);
    let written = if is_stdio(output) {
        // Bloscpack fills in its offsets at the end: build it in memory for a stream.
        let mut buf = std::io::Cursor::new(Vec::new());
        blp::write_stream(rest, payload_len, &mut buf, &opts)?;
        write_output(output, force, buf.get_ref())?;
        buf.get_ref().len() as u64
    } else {
        let mut n = 0;
        output::write_atomic(output, force, |w| {
            n = blp::write_stream(rest, payload_len, w, &opts)?;
            Ok(())
        })?;
        n
    };
    ui.summary(output, payload_len, written, opts.blosc.codec.name());
    Ok(())
}

/// An archive opened from a file, or from stdin held in memory.
pub enum Opened {
    File(Archive<File>),
    Memory(Archive<Vec<u8>>),
}

macro_rules! with_archive {
    ($o:expr, $a:ident => $body:expr) => {
        match $o {
            Opened::File($a) => $body,
            Opened::Memory($a) => $body,
        }
    };
}

pub fn open_dpk(p: &Path) -> Result<Opened> {
    let ctx = || format!("cannot read {}", p.display());
    Ok(if is_stdio(p) {
        Opened::Memory(Archive::open(read_input(p)?).with_context(ctx)?)
    } else {
        Opened::File(Archive::open(File::open(p).with_context(ctx)?).with_context(ctx)?)
    })
}

/// The first bytes of a file (or of stdin, which is then held in memory and returned).
pub fn sniff(p: &Path) -> Result<([u8; 8], Option<Vec<u8>>)> {
    let mut m = [0u8; 8];
    if is_stdio(p) {
        let all = read_input(p)?;
        let n = all.len().min(8);
        m[..n].copy_from_slice(&all[..n]);
        return Ok((m, Some(all)));
    }
    let mut f = File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
    let mut n = 0;
    while n < 8 {
        let k = f.read(&mut m[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    Ok((m, None))
}

/// `decompress` of a dpk archive: its single entry (or `entry`) to `output`, `.npy` header first for arrays.
pub fn decompress_dpk(
    opened: &Opened,
    input: &Path,
    output: &Path,
    entry: Option<&str>,
    threads: usize,
    force: bool,
) -> Result<()> {
    with_archive!(opened, a => {
        let e = match entry {
            Some(n) => a.entry(n)?,
            None => match a.index().entries.as_slice() {
                [e] => e,
                es => bail!("{} holds {} entries: name one with --entry, or use unpack", input.display(), es.len()),
            },
        };
        if e.kind == EntryKind::Dir {
            bail!("entry {:?} is a directory", e.name);
        }
        let pre = if e.kind == EntryKind::Array { a.npy_info(e)?.preamble() } else { Vec::new() };
        let ctx = || format!("cannot decompress {}", input.display());
        if is_stdio(output) {
            let mut o = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            o.write_all(&pre)?;
            a.extract(e, &mut o, threads).with_context(ctx)?;
            o.flush()?;
        } else {
            output::write_atomic(output, force, |w| {
                w.write_all(&pre)?;
                w.flush()?;
                let f = w.get_ref();
                output::preallocate(f, pre.len() as u64 + e.size)?;
                a.extract_to_file(e, f, pre.len() as u64, threads).with_context(ctx)?;
                Ok(())
            })?;
        }
        Ok(())
    })
}

fn ratio(orig: u64, stored: u64) -> f64 {
    orig as f64 / stored.max(1) as f64
}

/// `info` of a dpk archive.
pub fn info_dpk(opened: &Opened, verbose: bool) -> Result<()> {
    with_archive!(opened, a => {
        let (c, slot) = a.commit();
        let total: u64 = a.index().entries.iter().map(|e| e.size).sum();
        println!("format      daspack archive (.dpk) v{}", dpk::VERSION);
        let from = slot.map_or("footer (streamed)".to_string(), |s| format!("slot {s}"));
        println!("commit      generation {} from {from}, index at {} ({} bytes, crc32 {:08x})",
            c.generation, c.index_offset, c.index_len, c.index_crc);
        println!("size        {} bytes, {} entries, {} original bytes, ratio {:.3}",
            a.file_len(), a.index().entries.len(), total, ratio(total, a.file_len()));
        if a.file_len() > a.committed_end() {
            println!("trailing    {} bytes after the committed end (ignored)", a.file_len() - a.committed_end());
        }
        for e in &a.index().entries {
            println!("entry       {:?} ({})", e.name, e.kind.name());
            if e.kind == EntryKind::Dir {
                continue;
            }
            println!("  coding    {} level {}, filters {}, typesize {}, {} chunks of up to {} bytes",
                e.codec.name(), e.level, e.filters.names(), e.typesize, e.chunks.len(), e.chunk_size);
            println!("  size      {} -> {} bytes, ratio {:.3}", e.size, e.stored_size(), ratio(e.size, e.stored_size()));
            if e.checksum == Checksum::None {
                println!("  digest    none");
            } else {
                let hex: String = e.digest.iter().map(|b| format!("{b:02x}")).collect();
                println!("  digest    {} {hex}", e.checksum);
            }
            if e.kind == EntryKind::Array {
                let info = a.npy_info(e)?;
                let dims: Vec<String> = info.shape.iter().map(|d| d.to_string()).collect();
                let dtype = info.das_dtype().map_or(info.descr.clone(), |d| d.name().to_string());
                println!("  array     {} {} ({} order, .npy v{}.{})", dims.join(" x "), dtype,
                    if info.fortran_order { "Fortran" } else { "C" }, info.version.0, info.version.1);
                if e.codec == ChunkCodec::Das && !e.chunks.is_empty() {
                    let first = a.read_stored(e, 0)?;
                    let h = daspack::read_header(&first)?;
                    print!("  chunk 0   ");
                    crate::print_accuracy(&h, &first)?;
                }
            }
            if let Some(u) = e.metadata.get("user") {
                println!("  metadata  {u}");
            }
            let shown = if verbose { e.chunks.len() } else { e.chunks.len().min(16) };
            for (i, ch) in e.chunks.iter().enumerate().take(shown) {
                println!("    chunk {i:5}  offset {:10}  {:9} -> {:9} bytes  crc32 {:08x}",
                    ch.offset, ch.orig_len, ch.stored_len, ch.crc32);
            }
            if e.chunks.len() > shown {
                println!("    ... {} more chunks (-v lists all)", e.chunks.len() - shown);
            }
        }
        Ok(())
    })
}

/// `info` of a Bloscpack file.
pub fn info_blp(bytes: &[u8], verbose: bool) -> Result<()> {
    let i = blp::info(bytes)?;
    let h = &i.header;
    println!("format      Bloscpack v{}", h.format_version);
    println!(
        "header      checksum {}, typesize {}, chunk size {}, last chunk {}, {} chunks (+{} slots for append)",
        h.checksum, h.typesize, h.chunk_size, h.last_chunk, h.nchunks, h.max_app_chunks
    );
    println!(
        "size        {} bytes, {} original bytes, ratio {:.3}",
        i.file_size,
        i.data_size,
        ratio(i.data_size, i.file_size)
    );
    if let Some(m) = &i.metadata {
        println!("metadata    {m}");
    }
    let shown = if verbose { i.chunks.len() } else { i.chunks.len().min(16) };
    for c in i.chunks.iter().take(shown) {
        println!(
            "    chunk {:5}  offset {:10}  {:9} -> {:9} bytes  {}  checksum {}",
            c.index,
            c.offset,
            c.header.nbytes,
            c.header.cbytes,
            c.header.flags,
            if c.checksum_ok { "ok" } else { "MISMATCH" }
        );
    }
    if i.chunks.len() > shown {
        println!("    ... {} more chunks (-v lists all)", i.chunks.len() - shown);
    }
    Ok(())
}

/// `verify` of a dpk archive: every entry (or only `entry`); prints one line per entry; the number that failed.
pub fn verify_dpk(opened: &Opened, threads: usize, entry: Option<&str>, ui: &Ui) -> Result<usize> {
    with_archive!(opened, a => {
        let mut failed = 0;
        let entries = match entry {
            Some(name) => vec![a.entry(name)?],
            None => a.index().entries.iter().collect(),
        };
        for e in entries {
            match a.verify_entry(e, threads) {
                Ok(r) => {
                    let digest = if e.checksum == Checksum::None {
                        "chunk CRCs only".to_string()
                    } else {
                        format!("{} {}", e.checksum, r.digest)
                    };
                    ui.say(&format!("ok      {} ({} chunks, {} bytes, {digest})", e.name, r.chunks, r.size));
                }
                Err(err) => {
                    failed += 1;
                    println!("FAILED  {}: {err}", e.name);
                }
            }
        }
        Ok(failed)
    })
}

/// `append` to a dpk archive: each input as a new entry, crash-safe.
pub fn append_dpk(archive: &Path, inputs: &[PathBuf], codec: &CodecArgs, c: &ContainerArgs, ui: &Ui) -> Result<()> {
    let total: u64 = inputs.iter().filter_map(|p| input_len(p)).sum();
    let (opts, threads) = c.dpk_options(codec, Some(total))?;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(archive)
        .with_context(|| format!("cannot open {}", archive.display()))?;
    let mut ap = dpk::Appender::open(f, threads).with_context(|| format!("cannot append to {}", archive.display()))?;
    let bar = ui.bar(Some(total));
    ui.hook(ap.writer(), bar.clone());
    let mut overrides = Overrides::default();
    for p in inputs {
        let name = if is_stdio(p) { "stdin".to_string() } else { entry_name(p)? };
        add_input(ap.writer(), &name, p, &opts)?;
        if let Some(e) = ap.writer().index().entries.last() {
            overrides.note(c, e);
        }
    }
    overrides.warn(ui);
    let commit = ap.commit()?;
    bar.finish_and_clear();
    ui.say(&format!("{}: {} entries appended (generation {})", archive.display(), inputs.len(), commit.generation));
    Ok(())
}

/// `append` to a Bloscpack file: the inputs' bytes extend its payload (as `blpk append`).
pub fn append_blp(archive: &Path, inputs: &[PathBuf], c: &ContainerArgs, ui: &Ui) -> Result<()> {
    let mut extra = Vec::new();
    for p in inputs {
        extra.extend_from_slice(&read_input(p)?);
    }
    let mut opts = blp::AppendOptions::default();
    if let Some(name) = &c.codec {
        opts.codec = blp::Codec::from_name(name).ok_or_else(|| anyhow!("unknown blp codec {name:?}"))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(archive)
        .with_context(|| format!("cannot open {}", archive.display()))?;
    let r = blp::append_file(&mut f, &extra, &opts)?;
    ui.say(&format!("{}: {} bytes appended, {} chunks now", archive.display(), extra.len(), r.nchunks));
    Ok(())
}

/// Every directory and file under `root`, sorted, as (entry name, path, is_dir).
fn walk(root: &Path, ui: &Ui) -> Result<Vec<(String, PathBuf, bool)>> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), root.to_path_buf())];
    while let Some((prefix, dir)) = stack.pop() {
        let mut items: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .collect::<std::io::Result<_>>()?;
        items.sort_by_key(|e| e.file_name());
        for it in items.into_iter().rev() {
            let name = it.file_name().into_string().map_err(|n| anyhow!("{n:?} is not UTF-8"))?;
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let ft = it.file_type()?;
            if ft.is_dir() {
                out.push((rel.clone(), it.path(), true));
                stack.push((rel, it.path()));
            } else if ft.is_file() {
                out.push((rel, it.path(), false));
            } else {
                ui.warn(&format!("skipping {} (not a regular file or directory)", it.path().display()));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `pack DIR OUT`: every file and directory under DIR as entries of one dpk archive.
pub fn pack(dir: &Path, output: &Path, codec: &CodecArgs, c: &ContainerArgs, force: bool, ui: &Ui) -> Result<()> {
    if c.format.as_deref().is_some_and(|f| f != "dpk") {
        bail!("pack writes .dpk archives only (a Bloscpack file holds one payload)");
    }
    let items = walk(dir, ui)?;
    let total: u64 = items.iter().filter(|i| !i.2).filter_map(|i| input_len(&i.1)).sum();
    let (opts, threads) = c.dpk_options(codec, Some(total))?;
    let bar = ui.bar(Some(total));
    if is_stdio(output) {
        let mut w = Writer::new(std::io::stdout().lock(), threads)?;
        fill(&mut w, &items, (&opts, c), ui, &bar)?.warn(ui);
        drop(w.finish_stream()?);
    } else {
        output::write_atomic(output, force, |f| {
            let mut w = Writer::new(f, threads)?;
            fill(&mut w, &items, (&opts, c), ui, &bar)?.warn(ui);
            let stored: u64 = w.index().entries.iter().map(|e| e.stored_size()).sum();
            ui.summary(output, total, stored, &format!("{} entries", items.len()));
            w.finish()?;
            Ok(())
        })?;
    }
    bar.finish_and_clear();
    Ok(())
}

/// `unpack ARCHIVE DIR`: every entry under DIR (created; an existing DIR needs --force). Into a new directory
/// everything goes to a temporary directory renamed at the end, so a failure leaves nothing.
pub fn unpack(opened: &Opened, dir: &Path, threads: usize, force: bool) -> Result<()> {
    if dir.exists() && !force {
        bail!("{} already exists (use --force to extract into it)", dir.display());
    }
    let fresh = !dir.exists();
    let target = if fresh { output::temp_name(dir) } else { dir.to_path_buf() };
    let result = (|| -> Result<()> {
        std::fs::create_dir_all(&target).with_context(|| format!("cannot create {}", target.display()))?;
        with_archive!(opened, a => {
            for e in &a.index().entries {
                // Names are checked when the index is read: relative, no '..', so the path stays under target.
                let path = target.join(&e.name);
                if e.kind == EntryKind::Dir {
                    std::fs::create_dir_all(&path)?;
                    continue;
                }
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                decompress_dpk(opened, Path::new(&e.name), &path, Some(&e.name), threads, force)
                    .with_context(|| format!("entry {:?}", e.name))?;
            }
            Ok::<(), anyhow::Error>(())
        })?;
        Ok(())
    })();
    match result {
        Err(e) => {
            if fresh {
                let _ = std::fs::remove_dir_all(&target);
            }
            Err(e)
        }
        Ok(()) if fresh => std::fs::rename(&target, dir).with_context(|| format!("cannot rename to {}", dir.display())),
        Ok(()) => Ok(()),
    }
}

/// `list ARCHIVE`.
pub fn list(opened: &Opened) -> Result<()> {
    with_archive!(opened, a => {
        for e in &a.index().entries {
            println!("{:5} {:12} {:12} {:8.3} {:7} {}", e.kind.name(), e.size, e.stored_size(),
                ratio(e.size, e.stored_size()), e.codec.name(), e.name);
        }
        Ok(())
    })
}
