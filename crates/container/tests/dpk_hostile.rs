//! `.dpk` under damage: flipped bytes name their entry and chunk, truncations give clear errors, interrupted
//! appends leave the previous archive readable, and forged indexes cannot make the reader panic or over-allocate.

use daspack_container::dpk::{Appender, Archive, ChunkCodec, EntryOptions, Error, Writer};
use std::io::Cursor;

fn sample(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32).map(|i| ((i / 7) ^ (i.wrapping_mul(seed) >> 5)) as u8).collect()
}

fn opts(codec: ChunkCodec) -> EntryOptions {
    EntryOptions { codec, chunk_size: 1024, ..Default::default() }
}

fn small_archive() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (a, b) = (sample(3000, 3), sample(2500, 11));
    let mut w = Writer::new(Cursor::new(Vec::new()), 1).unwrap();
    w.add_reader("first.bin", &a[..], &opts(ChunkCodec::Zstd)).unwrap();
    w.add_reader("sub/second.bin", &b[..], &opts(ChunkCodec::Lz4)).unwrap();
    (w.finish().unwrap().into_inner(), a, b)
}

/// Reads and verifies every entry; the first error.
fn check_all(bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let a = Archive::open(bytes)?;
    let mut out = Vec::new();
    for e in &a.index().entries {
        a.verify_entry(e, 1)?;
        let mut v = Vec::new();
        a.extract(e, &mut v, 2)?;
        out.push(v);
    }
    Ok(out)
}

#[test]
fn a_flipped_byte_in_any_chunk_names_the_entry_and_the_chunk() {
    let (archive, _, _) = small_archive();
    let a = Archive::open(&archive[..]).unwrap();
    for e in &a.index().entries {
        for (i, c) in e.chunks.iter().enumerate() {
            for pos in c.offset..c.offset + u64::from(c.stored_len) {
                let mut bad = archive.clone();
                bad[pos as usize] ^= 0x10;
                let err = check_all(&bad).unwrap_err();
                match &err {
                    Error::ChunkChecksum { entry, chunk, .. } => assert_eq!((entry, *chunk), (&e.name, i as u64)),
                    other => panic!("flip at {pos}: {other}"),
                }
                let msg = err.to_string();
                assert!(msg.contains(&format!("chunk {i}")) && msg.contains(&e.name), "{msg}");
            }
        }
    }
}

#[test]
fn any_flipped_byte_and_any_truncation_is_an_error_or_harmless_never_a_panic() {
    let (archive, a, b) = small_archive();
    for pos in 0..archive.len() {
        let mut bad = archive.clone();
        bad[pos] ^= 0x41;
        if let Ok(out) = check_all(&bad) {
            // Only bytes no committed structure uses (the empty slot 1) may change without an error.
            assert!((48..80).contains(&pos), "flip at {pos} went unnoticed");
            assert_eq!(out, vec![a.clone(), b.clone()]);
        }
    }
    for cut in 0..archive.len() {
        let err = check_all(&archive[..cut]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("truncated") || msg.contains("not a .dpk") || msg.contains("no committed"),
            "{cut}: {msg}"
        );
    }
}

#[test]
fn truncated_archive_error_says_so() {
    let (archive, _, _) = small_archive();
    let msg = Archive::open(&archive[..archive.len() - 10]).err().unwrap().to_string();
    assert!(msg.starts_with("truncated archive: index needs bytes"), "{msg}");
    let msg = Archive::open(&archive[..40]).err().unwrap().to_string();
    assert!(msg.starts_with("truncated archive: header"), "{msg}");
}

fn write_file(dir: &std::path::Path, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join("a.dpk");
    std::fs::write(&p, bytes).unwrap();
    p
}

fn open_rw(p: &std::path::Path) -> std::fs::File {
    std::fs::OpenOptions::new().read(true).write(true).open(p).unwrap()
}

#[test]
fn append_adds_entries_and_alternates_the_commit_slots() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, a, b) = small_archive();
    let p = write_file(dir.path(), &archive);
    let mut expected = vec![a, b];
    for round in 0..3u32 {
        let data = sample(1500 + round as usize * 700, 5 + round);
        let mut ap = Appender::open(open_rw(&p), 1).unwrap();
        ap.writer().add_reader(&format!("appended{round}"), &data[..], &opts(ChunkCodec::Deflate)).unwrap();
        assert!(ap.writer().add_reader("first.bin", &b"x"[..], &opts(ChunkCodec::Zstd)).is_err());
        let c = ap.commit().unwrap();
        assert_eq!(c.generation, u64::from(round) + 2);
        expected.push(data);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(check_all(&bytes).unwrap(), expected);
        assert_eq!(Archive::open(&bytes[..]).unwrap().commit().1, Some((round as usize + 1) % 2));
    }
}

#[test]
fn an_interrupted_append_leaves_the_previous_archive() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, a, b) = small_archive();
    let p = write_file(dir.path(), &archive);
    // One committed append first, so that both slots are in use.
    let mut ap = Appender::open(open_rw(&p), 1).unwrap();
    ap.writer().add_reader("c", &sample(900, 9)[..], &opts(ChunkCodec::Stored)).unwrap();
    ap.commit().unwrap();
    let before = std::fs::read(&p).unwrap();
    let expected = check_all(&before).unwrap();
    assert_eq!(expected[..2], [a, b]);

    // New chunks and index written and synced, commit never written (killed before the slot write).
    let mut ap = Appender::open(open_rw(&p), 1).unwrap();
    ap.writer().add_reader("d", &sample(5000, 13)[..], &opts(ChunkCodec::Zstd)).unwrap();
    ap.prepare().unwrap();
    drop(ap);
    let grown = std::fs::read(&p).unwrap();
    assert!(grown.len() > before.len());
    assert_eq!(check_all(&grown).unwrap(), expected);
    // Killed anywhere while writing the new bytes: every prefix reads as before.
    for cut in (before.len()..grown.len()).step_by(97) {
        assert_eq!(check_all(&grown[..cut]).unwrap(), expected, "cut at {cut}");
    }
    // A torn slot write (half of the new slot): its CRC fails, the other slot stands.
    let a2 = Archive::open(&before[..]).unwrap();
    let older = 1 - a2.commit().1.unwrap();
    let mut torn = grown.clone();
    let slot = 16 + 32 * older;
    for b in &mut torn[slot..slot + 16] {
        *b = 0xA5;
    }
    assert_eq!(check_all(&torn).unwrap(), expected);
    // And appending again after the interruption drops the left-overs and works.
    let mut ap = Appender::open(open_rw(&p), 1).unwrap();
    ap.writer().add_reader("e", &b"tail"[..], &opts(ChunkCodec::Lz4)).unwrap();
    ap.commit().unwrap();
    let after = check_all(&std::fs::read(&p).unwrap()).unwrap();
    assert_eq!(after.len(), expected.len() + 1);
    assert_eq!(after.last().unwrap(), b"tail");
}

/// Rewrites the index of a one-entry archive with `edit` applied, recomputing the commit so only the edit counts.
fn forge(archive: &[u8], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let a = Archive::open(archive).unwrap();
    let (c, slot) = a.commit();
    let (off, len) = (c.index_offset as usize, c.index_len as usize);
    let mut index = archive[off..off + len].to_vec();
    edit(&mut index);
    let mut out = archive[..off].to_vec();
    out.extend_from_slice(&index);
    let mut s = [0u8; 32];
    s[0..8].copy_from_slice(&c.generation.to_le_bytes());
    s[8..16].copy_from_slice(&c.index_offset.to_le_bytes());
    s[16..24].copy_from_slice(&(index.len() as u64).to_le_bytes());
    s[24..28].copy_from_slice(&crc32fast::hash(&index).to_le_bytes());
    let crc = crc32fast::hash(&s[..28]);
    s[28..32].copy_from_slice(&crc.to_le_bytes());
    let at = 16 + 32 * slot.unwrap();
    out[at..at + 32].copy_from_slice(&s);
    out
}

#[test]
fn forged_indexes_with_absurd_sizes_are_errors() {
    let data = sample(4000, 7);
    let mut w = Writer::new(Cursor::new(Vec::new()), 1).unwrap();
    w.add_reader("x", &data[..], &opts(ChunkCodec::Zstd)).unwrap();
    let archive = w.finish().unwrap().into_inner();
    // Layout of the single entry: "DPKI", count, name_len (2) @8, "x" @10, fields @11 (kind, codec @12, filters @13,
    // typesize, checksum @15, level, reserved), size @19, chunk_size @27, meta_len @31, meta "{}" @35,
    // digest (xxh64, 8) @37, nchunks @45, records @53 (offset, stored @61, original @65, crc).
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("entry count", Box::new(|i| i[4..8].copy_from_slice(&u32::MAX.to_le_bytes()))),
        ("size", Box::new(|i| i[19..27].copy_from_slice(&u64::MAX.to_le_bytes()))),
        ("chunk size", Box::new(|i| i[27..31].copy_from_slice(&u32::MAX.to_le_bytes()))),
        ("meta length", Box::new(|i| i[31..35].copy_from_slice(&u32::MAX.to_le_bytes()))),
        ("chunk count", Box::new(|i| i[45..53].copy_from_slice(&u64::MAX.to_le_bytes()))),
        ("chunk offset", Box::new(|i| i[53..61].copy_from_slice(&(u64::MAX - 3).to_le_bytes()))),
        ("stored length", Box::new(|i| i[61..65].copy_from_slice(&u32::MAX.to_le_bytes()))),
        ("original length", Box::new(|i| i[65..69].copy_from_slice(&(1u32 << 30).to_le_bytes()))),
        ("codec", Box::new(|i| i[12] = 99)),
        ("filters", Box::new(|i| i[13] = 6)),
        ("checksum", Box::new(|i| i[15] = 200)),
        ("name", Box::new(|i| i[10] = b'/')),
        ("trailing", Box::new(|i| i.push(0))),
    ];
    for (what, edit) in cases {
        let bad = forge(&archive, edit);
        assert!(check_all(&bad).is_err(), "{what} accepted");
    }
    // A legal-looking expansion claim beyond what zstd can produce from the stored bytes.
    let bad = forge(&archive, |i| {
        i[27..31].copy_from_slice(&(1u32 << 30).to_le_bytes());
        i[65..69].copy_from_slice(&(1u32 << 30).to_le_bytes());
    });
    let msg = check_all(&bad).unwrap_err().to_string();
    assert!(msg.contains("cannot come from"), "{msg}");
}

/// `before` followed by the bytes an append wrote after it, cut at `cut` (the header as it was: the commit slot is
/// only written once everything else is synced).
fn killed_at(before: &[u8], grown: &[u8], cut: usize) -> Vec<u8> {
    let mut v = before[..HEADER.min(before.len())].to_vec();
    v.extend_from_slice(&grown[HEADER..cut]);
    v
}
const HEADER: usize = 80;

#[test]
fn an_append_to_a_streamed_archive_killed_anywhere_leaves_it_readable() {
    // Written to a stream: committed by its footer, both slots empty.
    let (a, b) = (sample(3000, 3), sample(2000, 17));
    let mut w = Writer::new(Vec::new(), 1).unwrap();
    w.add_reader("first.bin", &a[..], &opts(ChunkCodec::Zstd)).unwrap();
    w.add_reader("second.bin", &b[..], &opts(ChunkCodec::Deflate)).unwrap();
    let streamed = w.finish_stream().unwrap();
    assert_eq!(Archive::open(&streamed[..]).unwrap().commit().1, None);
    let expected = check_all(&streamed).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), &streamed);

    // Killed after the chunks and the index are written and synced, before the commit.
    let mut ap = Appender::open(open_rw(&p), 2).unwrap();
    ap.writer().add_reader("third.bin", &sample(9000, 23)[..], &opts(ChunkCodec::Lz4)).unwrap();
    ap.prepare().unwrap();
    drop(ap);
    let grown = std::fs::read(&p).unwrap();
    // The footer's commit now sits in slot 0, so the archive reads without its footer.
    let now = Archive::open(&grown[..]).unwrap();
    assert_eq!(now.commit().1, Some(0));
    assert_eq!(check_all(&grown).unwrap(), expected);
    // Every prefix of what the append wrote, with the header as it was when the append started writing.
    let footer_end = streamed.len() - 40;
    for cut in (footer_end..grown.len()).step_by(61).chain([grown.len() - 1]) {
        let killed = [&grown[..HEADER], &grown[HEADER..cut]].concat();
        assert_eq!(check_all(&killed).unwrap(), expected, "cut at {cut}");
    }
    // Killed while copying the commit into slot 0 (torn slot): the footer still ends the file and stands.
    let mut torn = streamed.clone();
    torn[16..32].copy_from_slice(&grown[16..32]);
    assert_eq!(check_all(&torn).unwrap(), expected);

    // The append completes after the interruption: generation 2 in slot 1, everything verifies.
    let mut ap = Appender::open(open_rw(&p), 2).unwrap();
    ap.writer().add_reader("fourth.bin", &b"late"[..], &opts(ChunkCodec::Stored)).unwrap();
    assert_eq!(ap.commit().unwrap().generation, 2);
    let done = std::fs::read(&p).unwrap();
    assert_eq!(Archive::open(&done[..]).unwrap().commit().1, Some(1));
    let all = check_all(&done).unwrap();
    assert_eq!(all[..2], expected[..]);
    assert_eq!(all.last().unwrap(), b"late");
}

#[test]
fn an_append_killed_at_any_point_of_its_chunks_or_index_keeps_every_previous_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (archive, _, _) = small_archive();
    let p = write_file(dir.path(), &archive);
    let mut expected = check_all(&archive).unwrap();
    // Three generations, so that both slots hold commits; each append is killed at many points first.
    for round in 0..3usize {
        let before = std::fs::read(&p).unwrap();
        let extra = sample(6000 + 1000 * round, 29 + round as u32);
        let mut ap = Appender::open(open_rw(&p), 2).unwrap();
        ap.writer().add_reader(&format!("r{round}"), &extra[..], &opts(ChunkCodec::Zstd)).unwrap();
        ap.writer().add_dir(&format!("d{round}")).unwrap();
        ap.prepare().unwrap();
        drop(ap);
        let grown = std::fs::read(&p).unwrap();
        let (c, _) = Archive::open(&before[..]).unwrap().commit();
        let old_end = (c.index_offset + c.index_len) as usize;
        // Cut inside the new chunks, at the start and inside the new index, and just before its end.
        for cut in (old_end..grown.len()).step_by(53).chain([old_end, grown.len() - 1]) {
            let killed = killed_at(&before, &grown, cut);
            assert_eq!(check_all(&killed).unwrap(), expected, "round {round}, cut at {cut}");
        }
        // Garbage instead of the new bytes (a crash with unwritten blocks) is harmless too.
        let mut garbage = grown.clone();
        for b in &mut garbage[old_end..] {
            *b = 0xEE;
        }
        assert_eq!(check_all(&garbage).unwrap(), expected, "round {round}, garbage tail");
        // Then the append is done for real.
        let mut ap = Appender::open(open_rw(&p), 2).unwrap();
        ap.writer().add_reader(&format!("r{round}"), &extra[..], &opts(ChunkCodec::Zstd)).unwrap();
        ap.commit().unwrap();
        expected.push(extra);
        assert_eq!(check_all(&std::fs::read(&p).unwrap()).unwrap(), expected);
    }
}
