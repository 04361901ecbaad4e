//! Requests of one read sent at the same time, so a source keeps its budget busy while
//! each answer takes a round trip: results come back in the order asked, whatever order
//! they arrive in, so a cursor still only moves past what comes first.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many read requests a source keeps in flight for a budget of `requests_per_minute`:
/// a second's worth of the budget (enough to fill it at round trips up to a second; the
/// HTTP kit's pacer still spaces every start), at least 2 and at most 16; 8 without a
/// budget.
pub fn read_width(requests_per_minute: Option<u32>) -> usize {
    match requests_per_minute {
        Some(rpm) => (rpm as usize).div_ceil(60).clamp(2, 16),
        None => 8,
    }
}

/// `f` applied to every item, at most `width` at once on scoped threads, results in the
/// order of `items`. A width of 1 (or a single item) runs on the calling thread.
pub fn map_ordered<T, R, F>(items: &[T], width: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let width = width.clamp(1, items.len().max(1));
    if width == 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..width {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    let mut all = results.lock().unwrap_or_else(|p| p.into_inner());
                    all[i] = Some(result);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Items that finish in reverse order still come back in the order asked, and no
    /// more than `width` run at once.
    #[test]
    fn results_keep_the_order_asked_and_the_width_holds() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<u64> = (0..12).collect();
        let out = map_ordered(&items, 4, |n| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(2 * (12 - n)));
            running.fetch_sub(1, Ordering::SeqCst);
            n * 10
        });
        assert_eq!(out, items.iter().map(|n| n * 10).collect::<Vec<_>>());
        let peak = peak.load(Ordering::SeqCst);
        assert!((2..=4).contains(&peak), "{peak} at once");
    }

    #[test]
    fn the_width_follows_the_budget() {
        assert_eq!(read_width(Some(700)), 12);
        assert_eq!(read_width(Some(50)), 2);
        assert_eq!(read_width(Some(100_000)), 16);
        assert_eq!(read_width(None), 8);
    }
}
