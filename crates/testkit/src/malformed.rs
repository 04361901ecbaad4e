//! Reading through malformed vendor answers: every kind a source reads, page by page,
//! against a backend that malforms some answers (the sandbox's `mangle=` fault). Every
//! call must come back, with records or with an error; none may panic.

use std::panic::{AssertUnwindSafe, catch_unwind};

use switchover_adapter::{Operation, PageRequest, Source};
use switchover_model::Kind;

/// What reading every kind through malformed answers came to.
#[derive(Debug, Default)]
pub struct MalformedReads {
    /// Calls to `read_page` made.
    pub calls: u64,
    /// Calls answered with records.
    pub pages: u64,
    /// Calls answered with an error (what a malformed answer must give).
    pub errors: u64,
    /// Error messages that do not name the adapter, so a user cannot tell where the
    /// bad answer came from.
    pub unnamed: Vec<String>,
    /// Calls that panicked, with the panic's message: each one is a bug.
    pub panics: Vec<String>,
}

/// Reads every kind `source` reads, up to `max_calls` calls per kind: an error retries
/// the same page (a malformed answer is rarely malformed twice), up to three times in a
/// row, then moves to the next kind.
pub fn read_through_malformed_answers(source: &dyn Source, max_calls: u64) -> MalformedReads {
    let capabilities = source.capabilities();
    let mut tally = MalformedReads::default();
    for kind in Kind::ALL {
        if !capabilities.supports(kind, Operation::Read) {
            continue;
        }
        let mut request = PageRequest {
            page_size: Some(5),
            ..Default::default()
        };
        let mut errors_in_a_row = 0;
        for _ in 0..max_calls {
            tally.calls += 1;
            match catch_unwind(AssertUnwindSafe(|| source.read_page(kind, &request))) {
                Ok(Ok(page)) => {
                    tally.pages += 1;
                    errors_in_a_row = 0;
                    match page.next {
                        Some(next) => request.cursor = Some(next),
                        None => break,
                    }
                }
                Ok(Err(e)) => {
                    tally.errors += 1;
                    let text = e.to_string();
                    if !text.contains(capabilities.adapter.as_str()) {
                        tally.unnamed.push(format!("{kind}: {text}"));
                    }
                    errors_in_a_row += 1;
                    if errors_in_a_row >= 3 {
                        break;
                    }
                }
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    tally.panics.push(format!("{kind}: {message}"));
                    break;
                }
            }
        }
    }
    tally
}

/// Reads through malformed answers for each seed in `seeds`, with `read(seed)` building
/// the tally for one seed (an emulator started with `mangle=` under that seed), and
/// panics naming every panic and every error that does not name the adapter. The
/// totals, for a benchmark's figures.
pub fn assert_no_panic_for(
    seeds: impl IntoIterator<Item = u64>,
    read: impl Fn(u64) -> MalformedReads,
) -> MalformedReads {
    let mut total = MalformedReads::default();
    for seed in seeds {
        let tally = read(seed);
        total.calls += tally.calls;
        total.pages += tally.pages;
        total.errors += tally.errors;
        total.unnamed.extend(
            tally
                .unnamed
                .into_iter()
                .map(|u| format!("seed {seed}: {u}")),
        );
        total.panics.extend(
            tally
                .panics
                .into_iter()
                .map(|p| format!("seed {seed}: {p}")),
        );
    }
    assert!(
        total.panics.is_empty(),
        "reads panicked: {:#?}",
        total.panics
    );
    assert!(
        total.unnamed.is_empty(),
        "errors that do not name the adapter: {:#?}",
        total.unnamed
    );
    assert!(total.errors > 0, "no answer was malformed: {total:?}");
    total
}

/// The seeds a by-hand fuzz run goes through: as many as fit in
/// `SWITCHOVER_FUZZ_SECONDS` (default 600), from a start that differs per run.
pub fn seeds_for_a_while() -> impl Iterator<Item = u64> {
    let seconds = std::env::var("SWITCHOVER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600u64);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (start..).take_while(move |_| std::time::Instant::now() < until)
}

/// The two tests every SaaS adapter runs through malformed answers, from a function
/// `fn(seed) -> MalformedReads` that starts its emulator with `mangle=` under that seed:
/// `malformed_answers_are_errors_not_panics` (three seeds, in the test command) and
/// the ignored `fuzz_malformed_answers` (`SWITCHOVER_FUZZ_SECONDS`, default 600).
#[macro_export]
macro_rules! malformed_answer_tests {
    ($read:path, $adapter:literal) => {
        #[test]
        fn malformed_answers_are_errors_not_panics() {
            $crate::malformed::assert_no_panic_for(0..3, $read);
        }

        #[test]
        #[ignore = "fuzzing; run by hand (SWITCHOVER_FUZZ_SECONDS, default 600)"]
        fn fuzz_malformed_answers() {
            let total = $crate::malformed::assert_no_panic_for(
                $crate::malformed::seeds_for_a_while(),
                $read,
            );
            eprintln!("{} through malformed answers: {total:?}", $adapter);
        }
    };
}
