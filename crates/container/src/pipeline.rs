//! The ordered pipeline both containers code their chunks with: the calling thread produces items (reads chunks) and
//! consumes results in order (writes them), while a rayon pool transforms them. At most `window` items are in flight
//! (produced and not yet consumed), so memory is bounded by `window` x chunk size whatever the input's length.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc;

/// Where the workers come from: rayon's global pool (one worker per core, started once per process), or a pool of
/// a given size.
pub(crate) enum Pool {
    Global,
    Own(rayon::ThreadPool),
}

/// The pool for `threads` workers (0 = one per core: the global pool) and its size. A caller that is itself a worker
/// of a rayon pool gets a pool of its own: [`ordered`] blocks its calling thread while the workers code, and workers
/// of one pool all blocked that way would wait for each other's queued items forever.
pub(crate) fn pool(threads: usize) -> std::io::Result<(Pool, usize)> {
    if threads == 0 && rayon::current_thread_index().is_none() {
        return Ok((Pool::Global, rayon::current_num_threads()));
    }
    let n = if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads };
    let p = rayon::ThreadPoolBuilder::new().num_threads(n).build().map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok((Pool::Own(p), n))
}

/// Runs `work(i, item)` on `pool` for every item `produce` returns (in order, until `None`), and hands the results
/// to `consume(i, result)` in the order produced. A panicking `work` yields `panicked(i)` instead, so a bad chunk
/// becomes an error rather than an abort. Errors come out as a serial loop would give them: an error from `consume`
/// stops the pipeline at once (items in flight finish and are dropped); an error from `produce` is returned only
/// after every item produced before it has been consumed, so an earlier item's error wins over it.
pub(crate) fn ordered<I, O, E>(
    pool: &Pool,
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
    match pool {
        Pool::Global => rayon::in_place_scope_fifo(|s| drive(s, window, &mut produce, &work, &panicked, &mut consume)),
        Pool::Own(p) => p.in_place_scope_fifo(|s| drive(s, window, &mut produce, &work, &panicked, &mut consume)),
    }
}

/// The body of [`ordered`] inside a scope of its pool.
fn drive<'scope, I, O, E>(
    s: &rayon::ScopeFifo<'scope>,
    window: usize,
    produce: &mut impl FnMut() -> Result<Option<I>, E>,
    work: &'scope (impl Fn(usize, I) -> O + Sync),
    panicked: &'scope (impl Fn(usize) -> O + Sync),
    consume: &mut impl FnMut(usize, O) -> Result<(), E>,
) -> Result<(), E>
where
    I: Send + 'scope,
    O: Send + 'scope,
    E: From<std::io::Error>,
{
    let (tx, rx) = mpsc::channel::<(usize, O)>();
    let mut pending = BTreeMap::new();
    let (mut produced, mut consumed, mut eof) = (0usize, 0usize, false);
    let mut produce_error = None;
    loop {
        while !eof && produced < consumed + window {
            match produce() {
                Err(e) => {
                    produce_error = Some(e);
                    eof = true;
                }
                Ok(None) => eof = true,
                Ok(Some(item)) => {
                    let (tx, i) = (tx.clone(), produced);
                    s.spawn_fifo(move |_| {
                        let out = std::panic::catch_unwind(AssertUnwindSafe(|| work(i, item)))
                            .unwrap_or_else(|_| panicked(i));
                        let _ = tx.send((i, out));
                    });
                    produced += 1;
                }
            }
        }
        if consumed == produced {
            return produce_error.map_or(Ok(()), Err);
        }
        // Every spawned item sends exactly one result, and item `consumed` has been spawned.
        let (i, out) = rx.recv().map_err(|_| std::io::Error::other("a pipeline worker was lost"))?;
        pending.insert(i, out);
        while let Some(out) = pending.remove(&consumed) {
            consume(consumed, out)?;
            consumed += 1;
        }
    }
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

    #[test]
    fn callers_on_pool_workers_do_not_deadlock() {
        use rayon::prelude::*;
        // Every worker of the global pool runs a pipeline of its own at once.
        let sums: Vec<u64> = (0..4 * rayon::current_num_threads() as u64)
            .into_par_iter()
            .map(|k| {
                let (p, _) = pool(0).unwrap();
                let mut next = 0u64;
                let mut sum = 0u64;
                let r: Result<(), std::io::Error> = ordered(
                    &p,
                    4,
                    || {
                        next += 1;
                        Ok((next <= 50).then_some(next))
                    },
                    |_, x| x * k,
                    |_| 0,
                    |_, x| {
                        sum += x;
                        Ok(())
                    },
                );
                r.unwrap();
                sum
            })
            .collect();
        assert!(sums.iter().enumerate().all(|(k, &s)| s == 1275 * k as u64));
    }

    #[test]
    fn an_earlier_items_error_wins_over_a_later_produce_error() {
        let (p, _) = pool(2).unwrap();
        for fail_at in [1u32, 2, 3, 6] {
            let mut next = 0u32;
            let mut consumed = Vec::new();
            let r: Result<(), std::io::Error> = ordered(
                &p,
                4,
                || {
                    next += 1;
                    if next == 4 {
                        Err(std::io::Error::other("produce failed at item 3"))
                    } else {
                        Ok(Some(next))
                    }
                },
                |i, x| {
                    // Item 0 finishes last, after the producer has failed.
                    if i == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    x
                },
                |_| 0,
                |i, x| {
                    consumed.push(x);
                    if i as u32 + 1 == fail_at {
                        return Err(std::io::Error::other(format!("consume failed at item {i}")));
                    }
                    Ok(())
                },
            );
            let want = if fail_at <= 3 {
                format!("consume failed at item {}", fail_at - 1)
            } else {
                "produce failed at item 3".to_string()
            };
            assert_eq!(r.unwrap_err().to_string(), want);
            assert_eq!(consumed, (1..=fail_at.min(3)).collect::<Vec<_>>());
        }
    }
}
