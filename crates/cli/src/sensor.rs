//! `daspack sensor`: the prefix-code sensor codec (protocol v0.2, `docs/sensor.md`) on text series.
//!
//! A series is a text file with one item per line: a sample (an integer in -2048..=2047), `NA` for no measurement,
//! or one of the reserved events `CLOCK_BACKWARDS`, `LONG_TERM_JITTER`, `USER_EVENT` (case does not matter). Blank
//! lines are ignored. The encoded file is the raw bit stream, zero-padded to a whole byte, with no header: the
//! decoder must be told the item count (the number of non-blank lines), which `encode` prints. `-` names stdin or
//! stdout; the summaries then go to stderr, and `--quiet` drops them. The text format is in `docs/sensor.md`
//! section 10.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use crate::output::{is_stdio, read_input, write_output};
use daspack_sensor::{
    encode, max_encoded_len, DecodeErrorKind, Decoder, Encoded, Event, Item, MAX_SAMPLE, MIN_SAMPLE,
    SLOT_NO_MEASUREMENT,
};

#[derive(Subcommand, Debug)]
pub enum SensorCommand {
    /// Encode a text series (one sample per line, NA for no measurement) into a raw bit stream; prints the item
    /// count that `decode` needs.
    Encode {
        /// Text series (`-` for stdin): per line an integer sample (-2048..=2047), NA (no measurement) or a reserved
        /// event (CLOCK_BACKWARDS, LONG_TERM_JITTER, USER_EVENT), in any case; blank lines are ignored.
        input: PathBuf,
        /// Output (`-` for stdout): the raw bit stream, zero-padded to a whole byte.
        output: PathBuf,
        /// Overwrite OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Decode a raw bit stream into a text series (one item per line).
    Decode {
        /// The raw bit stream written by `encode` (`-` for stdin).
        input: PathBuf,
        /// Output text series (`-` for stdout): one item per line, events in upper case.
        output: PathBuf,
        /// Number of items (lines) in the stream, as printed by `encode`.
        #[arg(long)]
        count: u64,
        /// Overwrite OUTPUT if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print how a text series codes: samples, gaps, events, bits, bits per item, reduction vs 16-bit storage.
    Stats {
        /// Text series (`-` for stdin), as for `encode`.
        input: PathBuf,
    },
}

pub fn run(cmd: SensorCommand, quiet: bool) -> Result<()> {
    match cmd {
        SensorCommand::Encode { input, output, force } => {
            if !is_stdio(&output) {
                crate::output::check_target(&output, force)?;
            }
            let slots = read_series(&input)?;
            let (bytes, enc) = encode_slots(&slots)?;
            write_output(&output, force, &bytes)?;
            let s = Summary::new(&slots, &enc);
            let summary = format!(
                "{} items ({} NA, {} other events) -> {} bytes ({} bits, {:.3} bits/item, {:.2} % smaller than \
                 16-bit)\ndecode with: --count {}",
                s.items,
                s.gaps,
                s.events,
                enc.bytes,
                enc.bits,
                s.bits_per_item(),
                s.reduction_percent(),
                enc.items
            );
            report(&summary, quiet, is_stdio(&output));
            Ok(())
        }
        SensorCommand::Decode { input, output, count, force } => {
            if !is_stdio(&output) {
                crate::output::check_target(&output, force)?;
            }
            let data = read_input(&input)?;
            let text = decode_to_text(&data, count).with_context(|| format!("cannot decode {}", input.display()))?;
            write_output(&output, force, text.as_bytes())?;
            report(&format!("{count} items -> {}", output.display()), quiet, true);
            Ok(())
        }
        SensorCommand::Stats { input } => {
            let slots = read_series(&input)?;
            let (_, enc) = encode_slots(&slots)?;
            let s = Summary::new(&slots, &enc);
            println!("file:                 {}", input.display());
            println!("samples:              {}", s.samples);
            println!("no measurement (NA):  {}", s.gaps);
            if s.events > 0 {
                println!("reserved events:      {}", s.events);
            }
            println!("items (--count):      {}", s.items);
            println!("bits:                 {}", enc.bits);
            println!("bytes:                {}", enc.bytes);
            println!("bits per item:        {:.3}", s.bits_per_item());
            println!("16-bit storage:       {} bytes", 2 * s.items);
            println!("reduction vs 16-bit:  {:.2} %", s.reduction_percent());
            Ok(())
        }
    }
}

/// A summary for the user: on stdout, or on stderr when stdout carries the data; nothing with `--quiet`.
fn report(text: &str, quiet: bool, to_stderr: bool) {
    if quiet {
        return;
    }
    if to_stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// Counts of a series and its coded size.
struct Summary {
    items: u64,
    samples: u64,
    gaps: u64,
    events: u64,
    bits: u64,
    bytes: u64,
}

impl Summary {
    fn new(slots: &[i16], enc: &Encoded) -> Self {
        let samples = slots.iter().filter(|&&v| (MIN_SAMPLE..=MAX_SAMPLE).contains(&v)).count() as u64;
        let gaps = slots.iter().filter(|&&v| v == SLOT_NO_MEASUREMENT).count() as u64;
        let items = slots.len() as u64;
        Summary { items, samples, gaps, events: items - samples - gaps, bits: enc.bits, bytes: enc.bytes as u64 }
    }

    /// Bits per item (sample slot, gaps included), padding excluded.
    fn bits_per_item(&self) -> f64 {
        if self.items == 0 {
            0.0
        } else {
            self.bits as f64 / self.items as f64
        }
    }

    /// Size saved against 2 bytes per item, in percent of the latter.
    fn reduction_percent(&self) -> f64 {
        if self.items == 0 {
            0.0
        } else {
            100.0 * (1.0 - self.bytes as f64 / (2.0 * self.items as f64))
        }
    }
}

/// Reads a text series into `i16` slots (events as the `SLOT_*` sentinels).
fn read_series(path: &Path) -> Result<Vec<i16>> {
    let text = String::from_utf8(read_input(path)?).with_context(|| format!("{} is not UTF-8 text", path.display()))?;
    parse_series(&text).with_context(|| format!("in {}", path.display()))
}

fn parse_series(text: &str) -> Result<Vec<i16>> {
    let mut slots = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let token = line.trim();
        if token.is_empty() {
            continue;
        }
        slots.push(parse_item(token).with_context(|| format!("line {}", i + 1))?.to_slot());
    }
    Ok(slots)
}

fn parse_item(token: &str) -> Result<Item> {
    let event = match token.to_ascii_uppercase().as_str() {
        "NA" => Some(Event::NoMeasurement),
        "CLOCK_BACKWARDS" => Some(Event::ClockBackwards),
        "LONG_TERM_JITTER" => Some(Event::LongTermJitter),
        "USER_EVENT" => Some(Event::User),
        _ => None,
    };
    if let Some(e) = event {
        return Ok(Item::Event(e));
    }
    let Ok(v) = token.parse::<i64>() else {
        bail!("expected an integer sample or NA, found `{token}`");
    };
    if !(MIN_SAMPLE as i64..=MAX_SAMPLE as i64).contains(&v) {
        bail!("sample {v} is outside the 12-bit range {MIN_SAMPLE}..={MAX_SAMPLE}");
    }
    Ok(Item::Sample(v as i16))
}

fn item_token(item: Item) -> &'static str {
    match item {
        Item::Event(Event::NoMeasurement) => "NA",
        Item::Event(Event::ClockBackwards) => "CLOCK_BACKWARDS",
        Item::Event(Event::LongTermJitter) => "LONG_TERM_JITTER",
        Item::Event(Event::User) => "USER_EVENT",
        Item::Sample(_) => "",
    }
}

/// Encodes slots into a buffer of the worst-case size; returns the stream bytes.
fn encode_slots(slots: &[i16]) -> Result<(Vec<u8>, Encoded)> {
    let mut buf = vec![0u8; max_encoded_len(slots.len())];
    let enc = encode(slots, &mut buf).map_err(|e| anyhow::anyhow!("item {}: {}", e.consumed + 1, e.error))?;
    buf.truncate(enc.bytes);
    Ok((buf, enc))
}

/// Decodes `count` items into text, one per line, and checks that only zero padding follows them.
fn decode_to_text(data: &[u8], count: u64) -> Result<String> {
    let mut dec = Decoder::new(data, count);
    let mut text = String::new();
    let mut chunk = vec![0i16; 1 << 16];
    loop {
        let n = dec
            .decode_into(&mut chunk)
            .map_err(|e| anyhow::anyhow!("{e} (after {} of {count} items; is --count right?)", dec.items_decoded()))?;
        if n == 0 {
            break;
        }
        for &slot in &chunk[..n] {
            match Item::from_slot(slot) {
                Some(Item::Sample(v)) => writeln!(text, "{v}")?,
                Some(item) => writeln!(text, "{}", item_token(item))?,
                None => bail!("internal error: decoder produced slot {slot}"),
            }
        }
    }
    if let Err(e) = dec.check_end() {
        match e.kind {
            DecodeErrorKind::TrailingData => bail!(
                "the stream goes on after item {count} (bit {} of {}): is --count right?",
                e.bit_offset,
                data.len() * 8
            ),
            _ => bail!("{e}"),
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_round_trip() {
        let text = "412\n 412 \n\nNA\n413\nna\nuser_event\n-2048\n2047\n";
        let slots = parse_series(text).unwrap();
        assert_eq!(slots.len(), 8);
        let (bytes, enc) = encode_slots(&slots).unwrap();
        assert_eq!(enc.items, 8);
        let back = decode_to_text(&bytes, enc.items).unwrap();
        assert_eq!(back, "412\n412\nNA\n413\nNA\nUSER_EVENT\n-2048\n2047\n");
        assert_eq!(parse_series(&back).unwrap(), slots);
    }

    #[test]
    fn bad_lines_name_their_number() {
        let e = parse_series("1\n\n2\nx3\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 4"), "{e:#}");
        let e = parse_series("1\n2048\n").unwrap_err();
        assert!(format!("{e:#}").contains("line 2") && format!("{e:#}").contains("outside"), "{e:#}");
        assert!(parse_series("-2049").is_err());
        assert!(parse_series("1.5").is_err());
    }

    #[test]
    fn wrong_count_is_reported() {
        let slots = parse_series("5\n5\n6\n7\n9\n").unwrap();
        let (bytes, enc) = encode_slots(&slots).unwrap();
        assert!(decode_to_text(&bytes, enc.items).is_ok());
        assert!(decode_to_text(&bytes, enc.items - 1).is_err());
        assert!(decode_to_text(&bytes, enc.items + 1).is_err());
    }
}
