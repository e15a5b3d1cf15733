//! A small command-line front end to `daspack_container::blp`, used by `tests/bloscpack/run.sh` to check
//! compatibility with the Python bloscpack package.
//!
//! ```text
//! blp_tool write IN OUT [--codec blosclz|lz4|lz4hc|zlib|zstd] [--clevel N] [--typesize N]
//!                       [--shuffle none|byte|bit] [--blocksize N] [--chunk-size N] [--checksum NAME]
//!                       [--no-offsets] [--max-app-chunks N] [--metadata JSON | --metadata-file PATH]
//!                       [--meta-codec zlib|none] [--meta-level N] [--meta-checksum NAME] [--max-meta-size N]
//!                       [--stream]
//! blp_tool read IN OUT [--metadata-out PATH] [--stream]
//! blp_tool append FILE EXTRA [--codec ..] [--clevel N] [--shuffle ..] [--typesize N]
//! blp_tool info FILE                 (JSON on stdout)
//! blp_tool npy IN.blp OUT.npy        (numpy-convention files: rebuild the .npy)
//! blp_tool chunk-encode IN OUT [--codec ..] [--clevel N] [--typesize N] [--shuffle ..] [--blocksize N]
//! blp_tool chunk-decode IN OUT       (one raw Blosc1 chunk)
//! ```

use std::process::ExitCode;

use daspack_container::blp::{
    self, blosc, AppendOptions, BlpOptions, Checksum, Codec, CompressParams, MetaCodec, NumpyMeta, Shuffle,
};
use serde_json::{json, Value};

type Res<T> = Result<T, String>;

struct Args {
    positional: Vec<String>,
    flags: Vec<(String, Option<String>)>,
}

const SWITCHES: [&str; 2] = ["--no-offsets", "--stream"];

impl Args {
    fn parse(raw: impl Iterator<Item = String>) -> Res<Args> {
        let mut positional = Vec::new();
        let mut flags = Vec::new();
        let mut it = raw.peekable();
        while let Some(a) = it.next() {
            if let Some(stripped) = a.strip_prefix("--") {
                if let Some((k, v)) = stripped.split_once('=') {
                    flags.push((format!("--{k}"), Some(v.to_string())));
                } else if SWITCHES.contains(&a.as_str()) {
                    flags.push((a, None));
                } else {
                    let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                    flags.push((a, Some(v)));
                }
            } else {
                positional.push(a);
            }
        }
        Ok(Args { positional, flags })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags.iter().rev().find(|(k, _)| k == name).and_then(|(_, v)| v.as_deref())
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(k, _)| k == name)
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Res<Option<T>> {
        self.get(name).map(|v| v.parse::<T>().map_err(|_| format!("{name}: bad number {v:?}"))).transpose()
    }

    fn pos(&self, i: usize, what: &str) -> Res<&str> {
        self.positional.get(i).map(String::as_str).ok_or_else(|| format!("missing {what}"))
    }
}

fn checksum(name: &str) -> Res<Checksum> {
    Checksum::from_name(name).ok_or_else(|| format!("unknown checksum {name:?}"))
}

fn blosc_params(a: &Args, base: CompressParams) -> Res<CompressParams> {
    let mut p = base;
    if let Some(c) = a.get("--codec") {
        p.codec = Codec::from_name(c).ok_or_else(|| format!("unknown codec {c:?}"))?;
    }
    if let Some(l) = a.num("--clevel")? {
        p.clevel = l;
    }
    if let Some(t) = a.num("--typesize")? {
        p.typesize = t;
    }
    if let Some(s) = a.get("--shuffle") {
        p.shuffle = Shuffle::from_name(s).ok_or_else(|| format!("unknown shuffle {s:?}"))?;
    }
    if let Some(b) = a.num::<usize>("--blocksize")? {
        p.blocksize = (b > 0).then_some(b);
    }
    Ok(p)
}

fn read_file(p: &str) -> Res<Vec<u8>> {
    std::fs::read(p).map_err(|e| format!("{p}: {e}"))
}

fn write_file(p: &str, data: &[u8]) -> Res<()> {
    std::fs::write(p, data).map_err(|e| format!("{p}: {e}"))
}

fn cmd_write(a: &Args) -> Res<()> {
    let (input, output) = (a.pos(1, "IN")?, a.pos(2, "OUT")?);
    let mut o = BlpOptions { blosc: blosc_params(a, CompressParams::default())?, ..Default::default() };
    if let Some(cs) = a.num("--chunk-size")? {
        o.chunk_size = cs;
    }
    if let Some(c) = a.get("--checksum") {
        o.checksum = checksum(c)?;
    }
    o.offsets = !a.has("--no-offsets");
    o.max_app_chunks = a.num("--max-app-chunks")?;
    let meta_text = match (a.get("--metadata"), a.get("--metadata-file")) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(p)) => Some(String::from_utf8(read_file(p)?).map_err(|e| e.to_string())?),
        (None, None) => None,
    };
    if let Some(t) = meta_text {
        o.metadata = Some(serde_json::from_str(&t).map_err(|e| format!("metadata: {e}"))?);
    }
    if let Some(c) = a.get("--meta-codec") {
        o.meta.codec = match c.to_ascii_lowercase().as_str() {
            "zlib" => MetaCodec::Zlib,
            "none" => MetaCodec::None,
            _ => return Err(format!("unknown metadata codec {c:?}")),
        };
    }
    if let Some(l) = a.num("--meta-level")? {
        o.meta.level = l;
    }
    if let Some(c) = a.get("--meta-checksum") {
        o.meta.checksum = checksum(c)?;
    }
    o.meta.max_meta_size = a.num("--max-meta-size")?;
    if a.has("--stream") {
        let inp = std::fs::File::open(input).map_err(|e| format!("{input}: {e}"))?;
        let len = inp.metadata().map_err(|e| e.to_string())?.len();
        let out = std::fs::File::create(output).map_err(|e| format!("{output}: {e}"))?;
        blp::write_stream(std::io::BufReader::new(inp), len, std::io::BufWriter::new(out), &o)
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    let data = read_file(input)?;
    let mut out = Vec::new();
    blp::write(&mut out, &data, &o).map_err(|e| e.to_string())?;
    write_file(output, &out)
}

fn cmd_read(a: &Args) -> Res<()> {
    let (input, output) = (a.pos(1, "IN")?, a.pos(2, "OUT")?);
    let metadata = if a.has("--stream") {
        let f = std::fs::File::open(input).map_err(|e| format!("{input}: {e}"))?;
        let mut r = blp::Reader::new(std::io::BufReader::new(f)).map_err(|e| e.to_string())?;
        let out = std::fs::File::create(output).map_err(|e| format!("{output}: {e}"))?;
        r.copy_to(std::io::BufWriter::new(out)).map_err(|e| e.to_string())?;
        r.metadata().cloned()
    } else {
        let f = blp::read(&read_file(input)?).map_err(|e| e.to_string())?;
        write_file(output, &f.data)?;
        f.metadata
    };
    if let Some(p) = a.get("--metadata-out") {
        let text = metadata.map_or_else(|| "null".to_string(), |m| m.to_string());
        write_file(p, text.as_bytes())?;
    }
    Ok(())
}

fn cmd_append(a: &Args) -> Res<()> {
    let (file, extra) = (a.pos(1, "FILE")?, a.pos(2, "EXTRA")?);
    let p = blosc_params(a, CompressParams::default())?;
    let opts = AppendOptions {
        codec: p.codec,
        clevel: p.clevel,
        shuffle: p.shuffle,
        typesize: a.num("--typesize")?,
        blocksize: p.blocksize,
    };
    let extra = read_file(extra)?;
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(file).map_err(|e| format!("{file}: {e}"))?;
    let r = blp::append_file(&mut f, &extra, &opts).map_err(|e| e.to_string())?;
    eprintln!("appended {} chunks; nchunks {} max_app_chunks {}", r.chunks_added, r.nchunks, r.max_app_chunks);
    Ok(())
}

fn cmd_info(a: &Args) -> Res<()> {
    let info = blp::info(&read_file(a.pos(1, "FILE")?)?).map_err(|e| e.to_string())?;
    let h = &info.header;
    let mh = info.meta_header.map(|m| {
        json!({
            "magic": m.magic_str(), "meta_options": m.meta_options, "meta_checksum": m.meta_checksum.name(),
            "meta_codec": m.meta_codec.name(), "meta_level": m.meta_level, "meta_size": m.meta_size,
            "max_meta_size": m.max_meta_size, "meta_comp_size": m.meta_comp_size,
        })
    });
    let chunks: Vec<Value> = info
        .chunks
        .iter()
        .map(|c| {
            let ch = &c.header;
            json!({
                "offset": c.offset, "version": ch.version, "versionlz": ch.versionlz, "flags": ch.flags,
                "typesize": ch.typesize, "nbytes": ch.nbytes, "blocksize": ch.blocksize, "cbytes": ch.cbytes,
                "codec": ch.codec_code(), "checksum_ok": c.checksum_ok,
            })
        })
        .collect();
    let v = json!({
        "format_version": h.format_version, "options": h.options(), "offsets": h.offsets, "metadata": h.metadata,
        "checksum": h.checksum.name(), "typesize": h.typesize, "chunk_size": h.chunk_size,
        "last_chunk": h.last_chunk, "nchunks": h.nchunks, "max_app_chunks": h.max_app_chunks,
        "meta_header": mh, "metadata_json": info.metadata, "offsets_pos": info.offsets_pos,
        "offsets": info.offsets, "chunks": chunks, "data_size": info.data_size,
        "trailing_bytes": info.trailing_bytes, "offsets_consistent": info.offsets_consistent,
    });
    println!("{v:#}");
    Ok(())
}

fn cmd_npy(a: &Args) -> Res<()> {
    let (input, output) = (a.pos(1, "IN")?, a.pos(2, "OUT")?);
    let f = blp::read(&read_file(input)?).map_err(|e| e.to_string())?;
    let meta = f.metadata.as_ref().ok_or("the file has no metadata")?;
    let nm = NumpyMeta::from_metadata(meta).map_err(|e| e.to_string())?.ok_or("not a numpy container")?;
    let mut out = nm.npy_header();
    out.extend_from_slice(&f.data);
    write_file(output, &out)
}

fn cmd_chunk(a: &Args, encode: bool) -> Res<()> {
    let (input, output) = (a.pos(1, "IN")?, a.pos(2, "OUT")?);
    let data = read_file(input)?;
    let out = if encode {
        blosc::compress(&data, &blosc_params(a, CompressParams::default())?)
    } else {
        blosc::decompress(&data)
    }
    .map_err(|e| e.to_string())?;
    write_file(output, &out)
}

fn run() -> Res<()> {
    let a = Args::parse(std::env::args().skip(1))?;
    match a.positional.first().map(String::as_str) {
        Some("write") => cmd_write(&a),
        Some("read") => cmd_read(&a),
        Some("append") => cmd_append(&a),
        Some("info") => cmd_info(&a),
        Some("npy") => cmd_npy(&a),
        Some("chunk-encode") => cmd_chunk(&a, true),
        Some("chunk-decode") => cmd_chunk(&a, false),
        _ => Err("usage: blp_tool write|read|append|info|npy|chunk-encode|chunk-decode ... (see source)".into()),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("blp_tool: {e}");
            ExitCode::FAILURE
        }
    }
}
