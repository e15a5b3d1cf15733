//! Appending entries to an archive file without ever endangering what it holds: new chunks and a new index go
//! after the committed end, the file is synced, and only then is the older commit slot overwritten (and synced).
//! A crash before the slot write leaves the previous commit in force; a torn slot fails its CRC and is ignored.
//! A streamed archive (committed by its footer) first gets its commit copied into slot 0, so that nothing written
//! after the footer can leave the archive without a commit.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use super::layout::{parse_header, slot_offset, Commit, HEADER_LEN};
use super::read::Archive;
use super::write::Writer;
use super::Result;

/// An append in progress: add entries through [`Appender::writer`], then [`Appender::commit`].
pub struct Appender {
    writer: Writer<BufWriter<File>>,
    slot: usize,
    prepared: Option<Commit>,
}

impl Appender {
    /// Opens `file` (read and write) for appending; bytes after the committed end (left by an interrupted append)
    /// are dropped. `threads` = 0 uses every core.
    pub fn open(mut file: File, threads: usize) -> Result<Appender> {
        // An archive committed by its footer (written to a stream) gets that commit copied into slot 0 first, and
        // synced: the footer stops being needed before any byte is written after it (the footer must end the file,
        // so the first new byte would otherwise leave the archive without a commit until the append completes).
        // A torn slot write fails its CRC and leaves the footer in force.
        let footer_commit = {
            let archive = Archive::open(&file)?;
            match archive.commit() {
                (c, None) => Some(c),
                _ => None,
            }
        };
        if let Some(c) = footer_commit {
            file.write_all_at(&c.encode(), slot_offset(0))?;
            file.sync_all()?;
        }
        let (index, end, generation, slot) = {
            let archive = Archive::open(&file)?;
            let mut head = [0u8; HEADER_LEN as usize];
            file.read_exact_at(&mut head, 0)?;
            let header = parse_header(&head, archive.file_len())?;
            let (commit, _) = archive.commit();
            (archive.index().clone(), archive.committed_end(), commit.generation + 1, header.older_slot())
        };
        file.set_len(end)?;
        file.seek(SeekFrom::Start(end))?;
        let writer = Writer::resume(BufWriter::with_capacity(1 << 20, file), end, index, generation, threads)?;
        Ok(Appender { writer, slot, prepared: None })
    }

    /// The writer to add entries with (entry names must be new).
    pub fn writer(&mut self) -> &mut Writer<BufWriter<File>> {
        &mut self.writer
    }

    /// Writes the new index after the new chunks and syncs the file; the archive still reads as before.
    pub fn prepare(&mut self) -> Result<Commit> {
        if let Some(c) = self.prepared {
            return Ok(c);
        }
        let c = self.writer.write_index()?;
        self.writer.get_mut().get_ref().sync_all()?;
        self.prepared = Some(c);
        Ok(c)
    }

    /// Makes the new state the committed one: overwrites the older slot, then syncs.
    pub fn commit(mut self) -> Result<Commit> {
        let c = self.prepare()?;
        let file = self.writer.get_mut().get_ref();
        file.write_all_at(&c.encode(), slot_offset(self.slot))?;
        file.sync_all()?;
        Ok(c)
    }
}
