//! What the user sees besides the output: the progress bar (only on a terminal, never with -q), per-chunk lines
//! with -v, one-line summaries.

use daspack::container::dpk::Writer;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// Verbosity flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ui {
    pub verbose: bool,
    pub quiet: bool,
}

/// Jobs smaller than this finish too fast for a bar to help.
const BAR_MIN_BYTES: u64 = 64 << 20;

impl Ui {
    /// A progress bar over `total` original bytes, hidden unless stderr is a terminal, the job is long and not -q.
    pub fn bar(&self, total: Option<u64>) -> ProgressBar {
        let show = !self.quiet && std::io::stderr().is_terminal() && total.is_none_or(|t| t >= BAR_MIN_BYTES);
        if !show {
            return ProgressBar::hidden();
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    }

    /// Reports each written chunk to the bar and, with -v, as a line on stderr.
    pub fn hook<W: Write>(&self, w: &mut Writer<W>, bar: ProgressBar) {
        let verbose = self.verbose && !self.quiet;
        w.on_chunk(move |ev| {
            bar.inc(u64::from(ev.orig_len));
            if verbose {
                bar.suspend(|| {
                    eprintln!(
                        "{} chunk {}: {} -> {} bytes ({:.3}) in {:.1} ms",
                        ev.entry,
                        ev.index,
                        ev.orig_len,
                        ev.stored_len,
                        f64::from(ev.orig_len) / f64::from(ev.stored_len.max(1)),
                        ev.seconds * 1e3
                    )
                });
            }
        });
    }

    /// `OUT: N -> M bytes (ratio R, what)` on stderr unless -q.
    pub fn summary(&self, out: &Path, orig: u64, stored: u64, what: &str) {
        if !self.quiet {
            eprintln!(
                "{}: {orig} -> {stored} bytes (ratio {:.3}, {what})",
                out.display(),
                orig as f64 / stored.max(1) as f64
            );
        }
    }

    /// A line on stdout unless -q.
    pub fn say(&self, s: &str) {
        if !self.quiet {
            println!("{s}");
        }
    }

    /// A warning on stderr unless -q.
    pub fn warn(&self, s: &str) {
        if !self.quiet {
            eprintln!("daspack: warning: {s}");
        }
    }
}
