//! `daspack`: compress, decompress, inspect and benchmark DAS recordings from the command line.

mod bench;
mod output;
mod sensor;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use daspack::{npy, ArrayBuf, ArrayRef, DType, Params};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(name = "daspack", version, about = "Lossless and fixed-accuracy compression of DAS and sensor arrays")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compress a synthetic DAS block (or FILE.npy), verify it and print ratio and speed.
    Demo(DemoArgs),
    /// Compress a .npy array (time x channel) into a daspack stream.
    Compress(CompressArgs),
    /// Decompress a daspack stream into a .npy file, or a Bloscpack (.blp) file into its payload.
    Decompress(DecompressArgs),
    /// Print the header and tile index of a daspack stream.
    Info {
        /// The compressed file.
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
    /// Input .npy file (int16, uint16, int32, float32 or float64; 1-D or 2-D time x channel).
    input: PathBuf,
    /// Output file.
    output: PathBuf,
    #[command(flatten)]
    codec: CodecArgs,
    /// Overwrite the output if it exists.
    #[arg(long, short)]
    force: bool,
}

#[derive(Args, Debug)]
struct DecompressArgs {
    /// Compressed input file.
    input: PathBuf,
    /// Output .npy file.
    output: PathBuf,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
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
    match cli.command {
        Command::Demo(a) => demo(a),
        Command::Compress(a) => compress(a),
        Command::Decompress(a) => decompress(a),
        Command::Info { input } => info(&input),
        Command::Bench(a) => bench::run(a),
        Command::Sensor(c) => sensor::run(c),
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

fn compress(a: CompressArgs) -> Result<()> {
    output::check_target(&a.output, a.force)?;
    let arr = read_npy(&a.input)?;
    let packed = daspack::compress(arr.data.as_ref(), arr.rows, arr.cols, &a.codec.params())
        .with_context(|| format!("cannot compress {}", a.input.display()))?;
    output::write_bytes(&a.output, a.force, &packed)?;
    let raw = arr.data.len() * arr.data.dtype().size();
    eprintln!(
        "{}: {} -> {} bytes (ratio {:.3})",
        a.output.display(),
        raw,
        packed.len(),
        raw as f64 / packed.len().max(1) as f64
    );
    Ok(())
}

fn decompress(a: DecompressArgs) -> Result<()> {
    output::check_target(&a.output, a.force)?;
    let packed = read_file(&a.input)?;
    if packed.starts_with(b"blpk") {
        return decompress_blp(&packed, &a);
    }
    let (h, arr) =
        daspack::decompress(&packed, a.threads).with_context(|| format!("cannot decompress {}", a.input.display()))?;
    output::write_atomic(&a.output, a.force, |w| Ok(npy::write(w, &arr, &[h.rows as usize, h.cols as usize])?))
}

/// Bloscpack: the raw payload, as `blpk d` writes it; an `.npy` output gets numpy's header back when the metadata
/// describes an array (as bloscpack's `pack_ndarray` stores it).
fn decompress_blp(packed: &[u8], a: &DecompressArgs) -> Result<()> {
    use daspack::container::blp;
    let file = blp::read(packed).with_context(|| format!("cannot decompress {}", a.input.display()))?;
    let wants_npy = a.output.extension().is_some_and(|e| e == "npy");
    let header = match (&file.metadata, wants_npy) {
        (Some(meta), true) => blp::NumpyMeta::from_metadata(meta)?.map(|m| m.npy_header()),
        _ => None,
    };
    output::write_atomic(&a.output, a.force, |w| {
        use std::io::Write;
        if let Some(h) = &header {
            w.write_all(h)?;
        }
        Ok(w.write_all(&file.data)?)
    })
}

fn info(input: &Path) -> Result<()> {
    let packed = read_file(input)?;
    let h = daspack::read_header(&packed).with_context(|| format!("cannot read {}", input.display()))?;
    let raw = h.rows as u128 * h.cols as u128 * h.dtype.size() as u128;
    println!("format      daspack stream v{}", h.version);
    println!("array       {} x {} {}", h.rows, h.cols, h.dtype.name());
    match h.mode {
        daspack::Mode::Int { step: 1 } => println!("accuracy    lossless"),
        daspack::Mode::Int { step } => println!("accuracy    max |error| {} (step {step})", h.abs_error),
        daspack::Mode::FloatQuant { step } => println!("accuracy    max |error| {} (step {step:e})", h.abs_error),
        daspack::Mode::FloatScaled { scale } => {
            let exceptions = daspack::float_exceptions(&packed)?.unwrap_or(0);
            if scale == 1.0 {
                println!("accuracy    lossless: integers ({exceptions} exceptions)");
            } else {
                println!("accuracy    lossless: scaled integers x {scale:e} ({exceptions} exceptions)");
            }
        }
        daspack::Mode::FloatBits => println!("accuracy    lossless: float (bit map)"),
    }
    println!("tiles       {} of {} x {}", h.tiles.len(), h.block_height, h.block_width);
    println!("size        {} bytes, ratio {:.3}", packed.len(), raw as f64 / packed.len() as f64);
    for (i, t) in h.tiles.iter().enumerate().take(64) {
        println!("  tile {i:5}  offset {:10}  {:9} bytes  crc32 {:08x}", t.offset, t.len, t.crc32);
    }
    if h.tiles.len() > 64 {
        println!("  ... {} more tiles", h.tiles.len() - 64);
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
