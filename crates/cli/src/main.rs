//! `daspack`: compress, decompress, inspect and benchmark DAS recordings from the command line.

mod archive;
mod bench;
mod output;
mod progress;
mod sensor;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use daspack::{npy, ArrayBuf, ArrayRef, DType, Params};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// mimalloc keeps freed chunk buffers for reuse. With glibc's malloc every 1 MiB chunk buffer was a fresh mmap, page
/// faults and an munmap (a TLB shootdown on the other cores): measured on a 2 GB .dpk, decompression with 2 threads
/// took 3.1 s instead of 2.3 s, no faster than 1 thread once the output went to a file.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "daspack", version, about = "Lossless and fixed-accuracy compression of DAS and sensor arrays")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Per-chunk sizes and timings, full chunk tables.
    #[arg(short, long, global = true)]
    verbose: bool,
    /// No progress bar, no summaries (errors only).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Sync each output file to the disk before renaming it into place (appends always sync).
    #[arg(long, global = true)]
    sync: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compress a synthetic DAS block (or FILE.npy), verify it and print ratio and speed.
    Demo(DemoArgs),
    /// Compress any file into a .dpk archive (.npy arrays through the DAS codec), a .blp file, or a bare DAS stream.
    Compress(CompressArgs),
    /// Decompress a .dpk archive, a Bloscpack (.blp) file or a bare DAS stream.
    Decompress(DecompressArgs),
    /// Print the header, metadata and chunk table of a .dpk, .blp or DAS stream, with ratios.
    Info {
        /// The compressed file (`-` for stdin).
        input: PathBuf,
    },
    /// Add files to a .dpk archive as new entries (crash-safe), or extend a .blp file's payload.
    Append(AppendArgs),
    /// Check every checksum of a .dpk, .blp or DAS stream; the exit status says whether all hold.
    Verify {
        /// Files to check.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Check only this entry of a .dpk archive.
        #[arg(long)]
        entry: Option<String>,
    },
    /// Pack a directory tree (nested directories, empty files and directories) into one .dpk archive.
    Pack(PackArgs),
    /// Extract every entry of a .dpk archive under a directory.
    Unpack {
        /// The archive (`-` for stdin).
        input: PathBuf,
        /// Directory to create (an existing one needs --force).
        dir: PathBuf,
        /// Worker threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Extract into an existing directory, replacing files.
        #[arg(long, short)]
        force: bool,
    },
    /// List the entries of a .dpk archive.
    List {
        /// The archive (`-` for stdin).
        input: PathBuf,
    },
    /// Benchmark the codec on .npy files beside zstd-3 on byte-shuffled data (median of several runs, in memory).
    Bench(bench::BenchArgs),
    /// The prefix-code codec for slow 12-bit sensors (protocol v0.2).
    #[command(subcommand)]
    Sensor(sensor::SensorCommand),
}

/// Codec parameters shared by `compress`, `demo` and `bench`.
#[derive(Args, Debug, Clone)]
pub struct CodecArgs {
    /// Maximum absolute error per element (0 = lossless; floats need > 0).
    #[arg(long, default_value_t = 0.0)]
    pub abs_error: f64,
    /// Worker threads (0 = all cores). The output does not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Tile height in time samples (0 = automatic).
    #[arg(long, default_value_t = 0)]
    pub block_height: usize,
    /// Tile width in channels (0 = automatic).
    #[arg(long, default_value_t = 0)]
    pub block_width: usize,
    /// Wavelet levels along space.
    #[arg(long, default_value_t = 0)]
    pub lx: u8,
    /// Wavelet levels along time.
    #[arg(long, default_value_t = 0)]
    pub lt: u8,
    /// Prediction order along time (0..=32).
    #[arg(long)]
    pub lpc_order: Option<u8>,
    /// Prediction order along channels (0..=8).
    #[arg(long)]
    pub lpc_space: Option<u8>,
    /// Refit the predictor every this many rows within a tile (0 = once per tile).
    #[arg(long, default_value_t = 0)]
    pub segment_rows: usize,
    /// Code residuals with the adaptive binary range coder instead of static per-tile tables (slower).
    #[arg(long)]
    pub adaptive: bool,
    /// Use exactly the given orders instead of choosing the predictor per tile.
    #[arg(long)]
    pub no_auto: bool,
    /// Predict each channel apart along time, then from the channels before it (their shared noise), with its tile's
    /// shared entropy tables: on, off, or auto (a trial decides for arrays of 8 to 64 channels). Streams that use it
    /// are version 4 or later
    #[arg(long, value_enum, default_value_t = Columns::Auto)]
    pub columns: Columns,
}

/// Values of `--columns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Columns {
    Auto,
    On,
    Off,
}

impl CodecArgs {
    pub fn params(&self) -> Params {
        let d = Params::default();
        Params {
            block_height: self.block_height,
            block_width: self.block_width,
            lx: self.lx,
            lt: self.lt,
            lpc_order: self.lpc_order.unwrap_or(d.lpc_order),
            lpc_space: self.lpc_space.unwrap_or(d.lpc_space),
            auto: !self.no_auto,
            segment_rows: self.segment_rows,
            entropy: if self.adaptive { daspack::Entropy::Adaptive } else { daspack::Entropy::Static },
            abs_error: self.abs_error,
            threads: self.threads,
            columns: match self.columns {
                Columns::Auto => None,
                Columns::On => Some(true),
                Columns::Off => Some(false),
            },
        }
    }
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// A .npy recording to use instead of synthetic data.
    input: Option<PathBuf>,
    /// Time samples of the synthetic block.
    #[arg(long, default_value_t = 8192)]
    rows: usize,
    /// Channels of the synthetic block.
    #[arg(long, default_value_t = 2048)]
    cols: usize,
    #[command(flatten)]
    codec: CodecArgs,
}

#[derive(Args, Debug)]
struct CompressArgs {
    /// Input file (`-` for stdin). `.npy` arrays of int16, uint16, int32, float32 or float64 use the DAS codec.
    input: PathBuf,
    /// Output file (`-` for stdout). Default: the input name plus .dpk (or .blp with --format blp).
    output: Option<PathBuf>,
    #[command(flatten)]
    codec: CodecArgs,
    #[command(flatten)]
    container: archive::ContainerArgs,
    /// Overwrite the output if it exists.
    #[arg(long, short)]
    force: bool,
}

#[derive(Args, Debug)]
struct DecompressArgs {
    /// Compressed input file: .dpk, .blp or a bare DAS stream (`-` for stdin).
    input: PathBuf,
    /// Output file (`-` for stdout). Default: the input name without its .dpk/.blp/.das extension.
    output: Option<PathBuf>,
    /// The entry of a multi-entry .dpk archive to extract.
    #[arg(long)]
    entry: Option<String>,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Overwrite the output if it exists.
    #[arg(long, short)]
    force: bool,
}

#[derive(Args, Debug)]
struct AppendArgs {
    /// The archive to extend in place (.dpk or .blp).
    archive: PathBuf,
    /// Files to add (`-` for stdin).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    codec: CodecArgs,
    #[command(flatten)]
    container: archive::ContainerArgs,
}

#[derive(Args, Debug)]
struct PackArgs {
    /// Directory to pack.
    dir: PathBuf,
    /// Output archive (`-` for stdout).
    output: PathBuf,
    #[command(flatten)]
    codec: CodecArgs,
    #[command(flatten)]
    container: archive::ContainerArgs,
    /// Overwrite the output if it exists.
    #[arg(long, short)]
    force: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("daspack: error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let ui = progress::Ui { verbose: cli.verbose, quiet: cli.quiet };
    output::set_sync(cli.sync);
    match cli.command {
        Command::Demo(a) => demo(a),
        Command::Compress(a) => compress(a, &ui),
        Command::Decompress(a) => decompress(a),
        Command::Info { input } => info(&input, &ui),
        Command::Append(a) => append(a, &ui),
        Command::Verify { inputs, threads, entry } => verify(&inputs, threads, entry.as_deref(), &ui),
        Command::Pack(a) => archive::pack(&a.dir, &a.output, &a.codec, &a.container, a.force, &ui),
        Command::Unpack { input, dir, threads, force } => {
            archive::unpack(&archive::open_dpk(&input)?, &dir, threads, force)
        }
        Command::List { input } => archive::list(&archive::open_dpk(&input)?),
        Command::Bench(a) => bench::run(a),
        Command::Sensor(c) => sensor::run(c, cli.quiet),
    }
}

/// What a compressed input is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Dpk,
    Blp,
    Stream,
}

fn kind_of(magic: &[u8; 8]) -> Kind {
    if *magic == daspack::container::dpk::MAGIC {
        Kind::Dpk
    } else if magic.starts_with(b"blpk") {
        Kind::Blp
    } else {
        Kind::Stream
    }
}

pub fn read_npy(path: &Path) -> Result<npy::Npy> {
    npy::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn demo(a: DemoArgs) -> Result<()> {
    let (name, arr) = match &a.input {
        Some(p) => (p.display().to_string(), read_npy(p)?),
        None => {
            eprintln!("generating a synthetic DAS block: {} time samples x {} channels, int32 counts", a.rows, a.cols);
            let data = daspack::synth::das_block(a.rows, a.cols, 42);
            let shape = vec![a.rows, a.cols];
            ("synthetic DAS".to_string(), npy::Npy { shape, rows: a.rows, cols: a.cols, data: ArrayBuf::I32(data) })
        }
    };
    let params = a.codec.params();
    let raw = arr.data.len() * arr.data.dtype().size();
    let t = Instant::now();
    let packed = daspack::compress(arr.data.as_ref(), arr.rows, arr.cols, &params)?;
    let ct = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (_, back) = daspack::decompress(&packed, params.threads)?;
    let dt = t.elapsed().as_secs_f64();
    let err = bench::max_abs_error(arr.data.as_ref(), back.as_ref());
    let exact = arr.data.to_le_bytes() == back.to_le_bytes();
    if !(exact || (params.abs_error > 0.0 && err <= params.abs_error)) {
        bail!("verification FAILED: max |error| = {err}");
    }
    println!("input      {name}: {} x {} {}, {:.2} MB", arr.rows, arr.cols, arr.data.dtype().name(), mb(raw));
    println!("compressed {:.2} MB, ratio {:.3}", mb(packed.len()), raw as f64 / packed.len() as f64);
    println!(
        "compress   {:.1} MB/s   decompress {:.1} MB/s   (threads: {})",
        mb(raw) / ct,
        mb(raw) / dt,
        threads_label(params.threads)
    );
    println!(
        "verified   {}",
        if exact { "bit-exact".to_string() } else { format!("max |error| = {err} <= {}", params.abs_error) }
    );
    Ok(())
}

fn threads_label(t: usize) -> String {
    if t == 0 {
        format!("all ({})", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
    } else {
        t.to_string()
    }
}

fn compress(a: CompressArgs, ui: &progress::Ui) -> Result<()> {
    let stdin = a.input.as_os_str() == "-";
    let by_ext = |p: &Path| p.extension().is_some_and(|e| e == "blp").then(|| "blp".to_string());
    let format = a.container.format.clone().or_else(|| a.output.as_deref().and_then(by_ext)).unwrap_or("dpk".into());
    let output = match &a.output {
        Some(o) => o.clone(),
        None if stdin => PathBuf::from("-"),
        None => {
            let mut o = a.input.clone().into_os_string();
            o.push(if format == "blp" { ".blp" } else { ".dpk" });
            PathBuf::from(o)
        }
    };
    if output.as_os_str() != "-" {
        output::check_target(&output, a.force)?;
    }
    match format.as_str() {
        "blp" => archive::compress_blp(&a.input, &output, &a.codec, &a.container, a.force, ui),
        "stream" => compress_stream(&a.input, &output, &a.codec, a.force, ui),
        _ => archive::compress_dpk(&a.input, &output, &a.codec, &a.container, a.force, ui),
    }
}

/// A bare DAS codec stream of a `.npy` array (what `compress` wrote before archives).
fn compress_stream(input: &Path, output: &Path, codec: &CodecArgs, force: bool, ui: &progress::Ui) -> Result<()> {
    let arr = read_npy(input)?;
    let packed = daspack::compress(arr.data.as_ref(), arr.rows, arr.cols, &codec.params())
        .with_context(|| format!("cannot compress {}", input.display()))?;
    if output.as_os_str() == "-" {
        use std::io::Write;
        let mut o = std::io::stdout().lock();
        o.write_all(&packed)?;
        o.flush()?;
    } else {
        output::write_bytes(output, force, &packed)?;
    }
    let raw = arr.data.len() * arr.data.dtype().size();
    ui.summary(output, raw as u64, packed.len() as u64, "DAS stream");
    Ok(())
}

fn decompress(a: DecompressArgs) -> Result<()> {
    let output = match &a.output {
        Some(o) => o.clone(),
        None if a.input.as_os_str() == "-" => PathBuf::from("-"),
        None => match a.input.extension().and_then(|e| e.to_str()) {
            Some("dpk" | "blp" | "das") => a.input.with_extension(""),
            _ => bail!("name the output: {} has no .dpk/.blp/.das extension to strip", a.input.display()),
        },
    };
    let to_stdout = output.as_os_str() == "-";
    if !to_stdout {
        output::check_target(&output, a.force)?;
    }
    let (magic, held) = archive::sniff(&a.input)?;
    let kind = kind_of(&magic);
    if kind == Kind::Dpk {
        let opened = match held {
            Some(bytes) => archive::Opened::Memory(
                daspack::container::dpk::Archive::open(bytes)
                    .with_context(|| format!("cannot read {}", a.input.display()))?,
            ),
            None => archive::open_dpk(&a.input)?,
        };
        return archive::decompress_dpk(&opened, &a.input, &output, a.entry.as_deref(), a.threads, a.force);
    }
    if kind == Kind::Blp {
        return match held {
            Some(b) => decompress_blp(&b[..], &a, &output),
            None => {
                let f = std::fs::File::open(&a.input).with_context(|| format!("cannot read {}", a.input.display()))?;
                decompress_blp(std::io::BufReader::with_capacity(archive::INPUT_BUFFER, f), &a, &output)
            }
        };
    }
    let packed = match held {
        Some(b) => b,
        None => read_file(&a.input)?,
    };
    let (h, arr) =
        daspack::decompress(&packed, a.threads).with_context(|| format!("cannot decompress {}", a.input.display()))?;
    let shape = [h.rows as usize, h.cols as usize];
    if to_stdout {
        let mut o = std::io::BufWriter::new(std::io::stdout().lock());
        npy::write(&mut o, &arr, &shape)?;
        use std::io::Write;
        return Ok(o.flush()?);
    }
    output::write_atomic(&output, a.force, |w| Ok(npy::write(w, &arr, &shape)?))
}

/// Bloscpack: the raw payload, as `blpk d` writes it; an `.npy` output gets numpy's header back when the metadata
/// describes an array (as bloscpack's `pack_ndarray` stores it).
fn decompress_blp(input: impl std::io::Read, a: &DecompressArgs, output: &Path) -> Result<()> {
    use daspack::container::blp;
    use std::io::Write;
    let ctx = || format!("cannot decompress {}", a.input.display());
    let mut reader = blp::Reader::new(input).with_context(ctx)?.threads(a.threads);
    let wants_npy = output.extension().is_some_and(|e| e == "npy");
    let header = match (reader.metadata(), wants_npy) {
        (Some(meta), true) => blp::NumpyMeta::from_metadata(meta)?.map(|m| m.npy_header()),
        _ => None,
    };
    if output.as_os_str() == "-" {
        let mut o = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
        reader.copy_to(&mut o).with_context(ctx)?;
        return Ok(o.flush()?);
    }
    output::write_atomic(output, a.force, |w| {
        if let Some(h) = &header {
            w.write_all(h)?;
        }
        reader.copy_to(w).with_context(ctx)?;
        Ok(())
    })
}

fn info(input: &Path, ui: &progress::Ui) -> Result<()> {
    let (magic, held) = archive::sniff(input)?;
    let kind = kind_of(&magic);
    if kind == Kind::Dpk {
        let opened = match held {
            Some(b) => archive::Opened::Memory(daspack::container::dpk::Archive::open(b)?),
            None => archive::open_dpk(input)?,
        };
        return archive::info_dpk(&opened, ui.verbose);
    }
    let packed = match held {
        Some(b) => b,
        None => read_file(input)?,
    };
    if kind == Kind::Blp {
        return archive::info_blp(&packed, ui.verbose).with_context(|| format!("cannot read {}", input.display()));
    }
    let h = daspack::read_header(&packed).with_context(|| format!("cannot read {}", input.display()))?;
    let raw = h.rows as u128 * h.cols as u128 * h.dtype.size() as u128;
    println!("format      daspack stream v{}", h.version);
    println!("array       {} x {} {}", h.rows, h.cols, h.dtype.name());
    print_accuracy(&h, &packed)?;
    println!("tiles       {} of {} x {}", h.tiles.len(), h.block_height, h.block_width);
    println!("size        {} bytes, ratio {:.3}", packed.len(), raw as f64 / packed.len() as f64);
    let shown = if ui.verbose { h.tiles.len() } else { h.tiles.len().min(64) };
    for (i, t) in h.tiles.iter().enumerate().take(shown) {
        println!("  tile {i:5}  offset {:10}  {:9} bytes  crc32 {:08x}", t.offset, t.len, t.crc32);
    }
    if h.tiles.len() > shown {
        println!("  ... {} more tiles", h.tiles.len() - shown);
    }
    Ok(())
}

/// The `accuracy` line of a DAS stream.
pub fn print_accuracy(h: &daspack::Header, stream: &[u8]) -> Result<()> {
    match h.mode {
        daspack::Mode::Int { step: 1 } => println!("accuracy    lossless"),
        daspack::Mode::Int { step } => println!("accuracy    max |error| {} (step {step})", h.abs_error),
        daspack::Mode::FloatQuant { step } => println!("accuracy    max |error| {} (step {step:e})", h.abs_error),
        daspack::Mode::FloatScaled { scale } => {
            let exceptions = daspack::float_exceptions(stream)?.unwrap_or(0);
            if scale == 1.0 {
                println!("accuracy    lossless: integers ({exceptions} exceptions)");
            } else if h.dtype == daspack::DType::F32 && (scale as f32) as f64 != scale {
                println!(
                    "accuracy    lossless: scaled integers x {scale:e} in double precision ({exceptions} exceptions)"
                );
            } else {
                println!("accuracy    lossless: scaled integers x {scale:e} ({exceptions} exceptions)");
            }
        }
        daspack::Mode::FloatBits => println!("accuracy    lossless: float (bit map)"),
    }
    Ok(())
}

fn append(a: AppendArgs, ui: &progress::Ui) -> Result<()> {
    let (magic, _) = archive::sniff(&a.archive)?;
    match kind_of(&magic) {
        Kind::Dpk => archive::append_dpk(&a.archive, &a.inputs, &a.codec, &a.container, ui),
        Kind::Blp => archive::append_blp(&a.archive, &a.inputs, &a.container, ui),
        Kind::Stream => bail!("{}: only .dpk archives and .blp files can be appended to", a.archive.display()),
    }
}

fn verify(inputs: &[PathBuf], threads: usize, entry: Option<&str>, ui: &progress::Ui) -> Result<()> {
    let mut failed = 0usize;
    let mut checked = 0usize;
    for input in inputs {
        let result = (|| -> Result<usize> {
            let (magic, held) = archive::sniff(input)?;
            match kind_of(&magic) {
                Kind::Dpk => {
                    let opened = match held {
                        Some(b) => archive::Opened::Memory(daspack::container::dpk::Archive::open(b)?),
                        None => archive::open_dpk(input)?,
                    };
                    archive::verify_dpk(&opened, threads, entry, ui)
                }
                _ if entry.is_some() => bail!("--entry needs a .dpk archive"),
                kind => {
                    let bytes = match held {
                        Some(b) => b,
                        None => read_file(input)?,
                    };
                    if kind == Kind::Blp {
                        daspack::container::blp::Reader::new(&bytes[..])?.threads(threads).copy_to(std::io::sink())?;
                    } else {
                        daspack::decompress(&bytes, threads)?;
                    }
                    Ok(0)
                }
            }
        })();
        checked += 1;
        match result {
            Ok(0) => ui.say(&format!("ok      {}", input.display())),
            Ok(n) => {
                failed += 1;
                println!("FAILED  {}: {n} entries failed", input.display());
            }
            Err(e) => {
                failed += 1;
                let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                println!("FAILED  {}: {}", input.display(), chain.join(": "));
            }
        }
    }
    if failed > 0 {
        bail!("verification failed: {failed} of {checked} files");
    }
    Ok(())
}

/// The elements of an array as f64 (for error measurement).
pub fn as_f64(a: ArrayRef<'_>) -> Vec<f64> {
    match a {
        ArrayRef::I16(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::U16(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::I32(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::F32(v) => v.iter().map(|&x| x as f64).collect(),
        ArrayRef::F64(v) => v.to_vec(),
    }
}

pub fn dtype_size(d: DType) -> usize {
    d.size()
}
