//! Draws the engine's events: one indicatif bar per kind with count, rounded rate and ETA
//! on a terminal; plain lines on anything else (nohup, CI, a tmux log), one per kind
//! every few seconds whether or not records moved, so that a run never goes silent and a
//! wait says what it waits for.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use switchover_engine::{Event, Observer};
use switchover_model::Kind;

/// How often a plain line repeats each running kind's progress when stderr is not a
/// terminal, unless `--progress-every` says otherwise.
const LINE_EVERY: Duration = Duration::from_secs(10);

static EVERY: OnceLock<Duration> = OnceLock::new();

/// Sets how often plain progress lines go out (`--progress-every`); the first call wins.
pub fn set_line_interval(every: Duration) {
    let _ = EVERY.set(every.max(Duration::from_millis(100)));
}

fn line_interval() -> Duration {
    EVERY.get().copied().unwrap_or(LINE_EVERY)
}

/// How much a run says while it runs (`-q`, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// No bars, no progress lines: warnings and errors only.
    Quiet,
    /// Bars on a terminal, a line per kind every few seconds otherwise.
    Normal,
    /// Also each wait as a line on a terminal, and each batch's progress as a line
    /// otherwise.
    Verbose,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Sets how much runs say (`-q`, `-v`); the first call wins.
pub fn set_verbosity(verbosity: Verbosity) {
    let _ = VERBOSITY.set(verbosity);
}

fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or(Verbosity::Normal)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What a kind has done, for its plain line.
#[derive(Debug, Clone)]
struct KindProgress {
    done: u64,
    total: Option<u64>,
    started: Instant,
    /// Until when it waits, and why.
    waiting: Option<(Instant, String)>,
    finished: bool,
}

/// The plain-line side of [`Bars`]: the kinds' progress and the thread that prints it.
struct Lines {
    kinds: Mutex<BTreeMap<Kind, KindProgress>>,
    stopped: Mutex<bool>,
    wake: Condvar,
    /// Where lines go: stderr, or a test's list.
    print: Printer,
}

/// Prints one line.
type Printer = Arc<dyn Fn(&str) + Send + Sync>;

impl Lines {
    /// Prints a line for every kind still running, every `every`, until stopped.
    fn run(&self, every: Duration) {
        let mut stopped = lock(&self.stopped);
        loop {
            stopped = match self.wake.wait_timeout(stopped, every) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
            if *stopped {
                return;
            }
            let now = Instant::now();
            let lines: Vec<String> = lock(&self.kinds)
                .iter()
                .filter(|(_, p)| !p.finished)
                .map(|(kind, p)| plain_line(*kind, p, now))
                .collect();
            for line in lines {
                (self.print)(&line);
            }
        }
    }
}

/// Prints one timestamped line on stderr; never a panic when stderr's reader is gone
/// (`2>&1 | head`).
fn log_line(text: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "{} {text}",
        switchover_model::Timestamp::now()
    );
}

/// A rate a person reads: whole records per second, one decimal under ten.
fn rate_text(per_second: f64) -> String {
    if per_second >= 10.0 {
        format!("{per_second:.0}/s")
    } else {
        format!("{per_second:.1}/s")
    }
}

/// A duration a person reads: seconds, minutes or hours, rounded.
fn duration_text(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 90.0 * 60.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// `tickets: 1200/3000 (40%), 35/s, eta 51 s`, or what it waits for.
fn plain_line(kind: Kind, progress: &KindProgress, now: Instant) -> String {
    let mut text = match progress.total.filter(|t| *t > 0) {
        Some(total) => format!(
            "{kind}: {}/{total} ({:.0}%)",
            progress.done,
            100.0 * progress.done.min(total) as f64 / total as f64
        ),
        None => format!("{kind}: {}", progress.done),
    };
    if let Some((until, reason)) = progress.waiting.as_ref().filter(|(until, _)| *until > now) {
        text.push_str(&format!(
            ", waiting {}: {reason}",
            duration_text(until.duration_since(now))
        ));
        return text;
    }
    let elapsed = now.duration_since(progress.started).as_secs_f64();
    if elapsed > 0.0 && progress.done > 0 {
        let rate = progress.done as f64 / elapsed;
        text.push_str(&format!(", {}", rate_text(rate)));
        if let Some(total) = progress.total.filter(|t| *t > progress.done) {
            let eta = Duration::from_secs_f64((total - progress.done) as f64 / rate);
            text.push_str(&format!(", eta {}", duration_text(eta)));
        }
    }
    text
}

/// Progress bars on stderr; plain lines instead when stderr is not a terminal.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Kind, ProgressBar>>,
    /// `None` on a terminal.
    lines: Option<Arc<Lines>>,
    ticker: Option<JoinHandle<()>>,
    /// Set with `-q`: where warnings go, as nothing else is printed.
    quiet: Option<Printer>,
}

impl Bars {
    /// Bars drawn on stderr, or plain lines when stderr is not a terminal.
    pub fn new() -> Self {
        Bars::with(verbosity(), std::io::stderr().is_terminal())
    }

    fn with(verbosity: Verbosity, terminal: bool) -> Self {
        match (verbosity, terminal) {
            (Verbosity::Quiet, _) => Bars::quiet(Arc::new(log_line)),
            (_, true) => Bars::terminal(),
            (_, false) => Bars::plain(line_interval(), Arc::new(log_line)),
        }
    }

    /// No bars and no progress lines; warnings still go to `print`.
    fn quiet(print: Printer) -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            bars: Mutex::new(HashMap::new()),
            lines: None,
            ticker: None,
            quiet: Some(print),
        }
    }

    fn terminal() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            lines: None,
            ticker: None,
            quiet: None,
        }
    }

    fn plain(every: Duration, print: Printer) -> Self {
        let lines = Arc::new(Lines {
            kinds: Mutex::new(BTreeMap::new()),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
            print,
        });
        let running = lines.clone();
        let ticker = std::thread::Builder::new()
            .name("progress-lines".into())
            .spawn(move || running.run(every))
            .ok();
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            bars: Mutex::new(HashMap::new()),
            lines: Some(lines),
            ticker,
            quiet: None,
        }
    }

    /// Prints a plain line now (not a terminal only).
    fn say(&self, text: impl FnOnce() -> String) {
        if let Some(lines) = &self.lines {
            (lines.print)(&text());
        }
    }

    /// Updates a kind's plain-line progress (not a terminal only).
    fn track(&self, kind: Kind, update: impl FnOnce(&mut KindProgress)) {
        let Some(lines) = &self.lines else { return };
        let mut kinds = lock(&lines.kinds);
        let progress = kinds.entry(kind).or_insert_with(|| KindProgress {
            done: 0,
            total: None,
            started: Instant::now(),
            waiting: None,
            finished: false,
        });
        update(progress);
    }

    fn bar(&self, kind: Kind, total: Option<u64>) -> ProgressBar {
        let mut bars = lock(&self.bars);
        bars.entry(kind)
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
                let template = if total.is_some() {
                    "{prefix:>22} [{bar:30}] {pos}/{len} {rate} eta {eta} {msg}"
                } else {
                    "{prefix:>22} {spinner} {pos} {rate} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(
                        style
                            .with_key(
                                "rate",
                                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                                    let _ = w.write_str(&rate_text(state.per_sec()));
                                },
                            )
                            .progress_chars("=> "),
                    );
                }
                bar.set_prefix(kind.as_str());
                bar
            })
            .clone()
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        if let Some(lines) = &self.lines {
            *lock(&lines.stopped) = true;
            lines.wake.notify_all();
        }
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

impl Observer for Bars {
    fn event(&self, event: &Event) {
        if let Some(print) = &self.quiet {
            if let Event::Warning(text) = event {
                print(&format!("warning: {text}"));
            }
            return;
        }
        let verbose = verbosity() == Verbosity::Verbose;
        match event {
            Event::KindStarted { kind, total } => {
                let bar = self.bar(*kind, *total);
                if let Some(total) = total {
                    bar.set_length(*total);
                }
                self.track(*kind, |p| {
                    p.total = *total;
                    p.started = Instant::now();
                });
                self.say(|| match total {
                    Some(total) => format!("{kind}: started, {total} in the source"),
                    None => format!("{kind}: started"),
                });
            }
            Event::Progress { kind, done } => {
                let bar = self.bar(*kind, None);
                bar.set_position(*done);
                // Records moved again: whatever it waited for is over.
                bar.set_message("");
                self.track(*kind, |p| {
                    p.done = *done;
                    p.waiting = None;
                });
                if verbose {
                    self.say(|| format!("{kind}: {done} done"));
                }
            }
            Event::ReadAhead { kind, read } => {
                self.bar(*kind, None)
                    .set_message(format!("{read} read ahead to go inside their parents"));
            }
            Event::KindFinished { kind, counts } => {
                let bar = self.bar(*kind, None);
                bar.set_position(counts.processed());
                let text = format!(
                    "created {} adopted {} updated {} unchanged {} failed {}",
                    counts.created, counts.adopted, counts.updated, counts.unchanged, counts.failed
                );
                self.track(*kind, |p| {
                    p.done = counts.processed();
                    p.finished = true;
                });
                self.say(|| format!("{kind}: done: {text}"));
                bar.finish_with_message(text);
            }
            Event::Backoff { kind, wait, reason } => {
                let text = format!("waiting {}: {reason}", duration_text(*wait));
                self.track(*kind, |p| {
                    p.waiting = Some((Instant::now() + *wait, reason.clone()));
                });
                self.say(|| format!("{kind}: {text}"));
                if verbose && self.lines.is_none() {
                    let _ = self.multi.println(format!("{kind}: {text}"));
                }
                self.bar(*kind, None).set_message(text);
            }
            Event::Warning(text) => {
                if self.lines.is_some() {
                    self.say(|| format!("warning: {text}"));
                } else {
                    let _ = self.multi.println(format!("warning: {text}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(done: u64, total: Option<u64>, seconds_ago: u64) -> (KindProgress, Instant) {
        let now = Instant::now();
        let started = now
            .checked_sub(Duration::from_secs(seconds_ago))
            .unwrap_or(now);
        (
            KindProgress {
                done,
                total,
                started,
                waiting: None,
                finished: false,
            },
            now,
        )
    }

    /// The line a log reader sees: count against the total, a rounded rate and an ETA
    /// (the issue saw `49.0066/s`).
    #[test]
    fn a_plain_line_has_the_total_a_rounded_rate_and_an_eta() {
        let (p, now) = progress(1000, Some(3000), 20);
        assert_eq!(
            plain_line(Kind::Ticket, &p, now),
            "tickets: 1000/3000 (33%), 50/s, eta 40 s"
        );
        let (p, now) = progress(7, None, 2);
        assert_eq!(plain_line(Kind::Comment, &p, now), "comments: 7, 3.5/s");
    }

    /// During a wait the line says how long and why instead of a rate falling to zero.
    #[test]
    fn a_wait_is_shown_with_its_reason() {
        let (mut p, now) = progress(1000, Some(3000), 20);
        p.waiting = Some((now + Duration::from_secs(23), "rate limited (429)".into()));
        assert_eq!(
            plain_line(Kind::Ticket, &p, now),
            "tickets: 1000/3000 (33%), waiting 23 s: rate limited (429)"
        );
    }

    #[test]
    fn durations_and_rates_are_rounded_for_people() {
        assert_eq!(duration_text(Duration::from_secs(89)), "89 s");
        assert_eq!(duration_text(Duration::from_secs(600)), "10 min");
        assert_eq!(duration_text(Duration::from_secs(31 * 3600)), "31.0 h");
        assert_eq!(rate_text(49.0066), "49/s");
        assert_eq!(rate_text(0.25), "0.2/s");
    }

    /// Not a terminal: lines keep coming every interval while a kind runs, even when no
    /// record moves (a long wait), and stop when it is done.
    #[test]
    fn plain_lines_repeat_while_a_kind_runs_and_stop_when_it_is_done() {
        let printed = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = printed.clone();
        let bars = Bars::plain(
            Duration::from_millis(40),
            Arc::new(move |line: &str| lock(&sink).push(line.to_string())),
        );
        bars.event(&Event::KindStarted {
            kind: Kind::Ticket,
            total: Some(10),
        });
        bars.event(&Event::Progress {
            kind: Kind::Ticket,
            done: 4,
        });
        std::thread::sleep(Duration::from_millis(400));
        let repeated = lock(&printed)
            .iter()
            .filter(|l| l.starts_with("tickets: 4/10 (40%)"))
            .count();
        assert!(repeated >= 3, "{:?}", lock(&printed));
        bars.event(&Event::KindFinished {
            kind: Kind::Ticket,
            counts: switchover_engine::KindCounts::default(),
        });
        std::thread::sleep(Duration::from_millis(100));
        let after = lock(&printed).len();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(lock(&printed).len(), after, "lines after the kind finished");
    }

    /// `-q`: nothing of the run's progress or waits is printed, only its warnings.
    #[test]
    fn quiet_bars_print_only_warnings() {
        let printed = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = printed.clone();
        let bars = Bars::quiet(Arc::new(move |line: &str| {
            lock(&sink).push(line.to_string())
        }));
        bars.event(&Event::KindStarted {
            kind: Kind::Ticket,
            total: Some(10),
        });
        bars.event(&Event::Progress {
            kind: Kind::Ticket,
            done: 4,
        });
        bars.event(&Event::Backoff {
            kind: Kind::Ticket,
            wait: Duration::from_secs(30),
            reason: "rate limited (429)".into(),
        });
        bars.event(&Event::Warning("3 macros left behind".into()));
        bars.event(&Event::KindFinished {
            kind: Kind::Ticket,
            counts: switchover_engine::KindCounts::default(),
        });
        assert_eq!(
            *lock(&printed),
            vec!["warning: 3 macros left behind".to_string()]
        );
    }
}
