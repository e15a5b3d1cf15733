//! The README example: `examples/temperature.txt` (12 h of a 12-bit temperature sensor read every
//! 10 s, with three gaps) must round-trip and take at least 90 % less room than 16-bit storage.

use daspack_sensor::{decode, encode, max_encoded_len, Decoder, SLOT_NO_MEASUREMENT};

fn load() -> Vec<i16> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/temperature.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| if l == "NA" { SLOT_NO_MEASUREMENT } else { l.parse().unwrap() })
        .collect()
}

#[test]
fn temperature_example_reduces_by_at_least_90_percent() {
    let series = load();
    assert!(series.len() >= 2000);
    assert!(series.iter().filter(|&&v| v == SLOT_NO_MEASUREMENT).count() >= 2);
    let mut buf = vec![0u8; max_encoded_len(series.len())];
    let enc = encode(&series, &mut buf).unwrap();
    assert_eq!(enc.items, series.len() as u64);
    let reduction = 100.0 * (1.0 - enc.bytes as f64 / (2.0 * series.len() as f64));
    println!(
        "{} samples, {} bytes, {:.3} bits/sample, reduction {reduction:.2} %",
        series.len(),
        enc.bytes,
        enc.bits as f64 / series.len() as f64
    );
    assert!(reduction >= 90.0, "reduction {reduction:.2} % < 90 %");

    let mut out = vec![0i16; series.len()];
    assert_eq!(decode(&buf[..enc.bytes], enc.items, &mut out), Ok(series.len()));
    assert_eq!(out, series);
    let mut d = Decoder::new(&buf[..enc.bytes], enc.items);
    assert_eq!(d.by_ref().count(), series.len());
    d.check_end().unwrap();
}
