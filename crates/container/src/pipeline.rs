//! The ordered pipeline both containers code their chunks with: the calling thread produces items (reads chunks) and
//! consumes results in order (writes them), while a rayon pool transforms them. At most `window` items are in flight
//! (produced and not yet consumed), so memory is bounded by `window` x chunk size whatever the input's length.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

/// A pool of `threads` workers (0 = one per core) and its size.
pub(crate) fn pool(threads: usize) -> std::io::Result<(rayon::ThreadPool, usize)> {
    let n = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
    let p = rayon::ThreadPoolBuilder::new().num_threads(n).build().map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((p, n))
}

/// Runs `work(i, item)` on `pool` for every item `produce` returns (in order, until `None`), and hands the results
/// to `consume(i, result)` in the order produced. A panicking `work` yields `panicked(i)` instead, so a bad chunk
/// becomes an error rather than an abort. The first error from `produce` or `consume` stops the pipeline (items in
/// flight finish and are dropped).
pub(crate) fn ordered<I, O, E>(
    pool: &rayon::ThreadPool,
    window: usize,
    mut produce: impl FnMut() -> Result<Option<I>, E>,
    work: impl Fn(usize, I) -> O + Sync,
    panicked: impl Fn(usize) -> O + Sync,
    mut consume: impl FnMut(usize, O) -> Result<(), E>,
) -> Result<(), E>
where
    I: Send,
    O: Send,
    E: From<std::io::Error>,
{
    let window = window.max(1);
    let (work, panicked) = (&work, &panicked);
    pool.in_place_scope_fifo(|s| {
        let (tx, rx) = mpsc::channel::<(usize, O)>();
        let mut pending = BTreeMap::new();
        let (mut produced, mut consumed, mut eof) = (0usize, 0usize, false);
        loop {
            while !eof && produced < consumed + window {
                match produce()? {
                    Some(item) => {
                        let (tx, i) = (tx.clone(), produced);
                        s.spawn_fifo(move |_| {
                            let out = std::panic::catch_unwind(AssertUnwindSafe(|| work(i, item)))
                                .unwrap_or_else(|_| panicked(i));
                            let _ = tx.send((i, out));
                        });
                        produced += 1;
                    }
                    None => eof = true,
                }
            }
            if consumed == produced {
                return Ok(());
            }
            // Every spawned item sends exactly one result, and item `consumed` has been spawned.
            let (i, out) = rx.recv().map_err(|_| std::io::Error::other("a pipeline worker was lost"))?;
            pending.insert(i, out);
            while let Some(out) = pending.remove(&consumed) {
                consume(consumed, out)?;
                consumed += 1;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_order_with_bounded_window() {
        let (p, _) = pool(3).unwrap();
        let mut next = 0u32;
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let mut got = Vec::new();
        let r: Result<(), std::io::Error> = ordered(
            &p,
            4,
            || {
                next += 1;
                Ok((next <= 200).then_some(next))
            },
            |i, x| {
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                assert!(now <= 4, "{now} items in flight");
                // Later items finish first now and then.
                std::thread::sleep(std::time::Duration::from_micros(u64::from(x % 7) * 50));
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                (i, x * 2)
            },
            |i| (i, u32::MAX),
            |i, (j, v)| {
                assert_eq!(i, j);
                got.push(v);
                Ok(())
            },
        );
        r.unwrap();
        assert_eq!(got, (1..=200).map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_worker_becomes_a_result_and_errors_stop_the_pipeline() {
        let (p, _) = pool(2).unwrap();
        let mut next = 0u32;
        let mut consumed = 0;
        let r: Result<(), std::io::Error> = ordered(
            &p,
            2,
            || {
                next += 1;
                Ok(Some(next))
            },
            |_, x| if x == 5 { panic!("chunk 5") } else { Ok(x) },
            Err,
            |_, out: Result<u32, usize>| {
                consumed += 1;
                out.map(drop).map_err(|i| std::io::Error::other(format!("item {i} panicked")))
            },
        );
        assert_eq!(r.unwrap_err().to_string(), "item 4 panicked");
        assert_eq!(consumed, 5);
        // The producer was never asked for more than window items past the failure.
        assert!(next <= 5 + 2, "{next}");
    }
}
