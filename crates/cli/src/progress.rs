//! Draws the engine's events: one indicatif bar per kind with count, rate and ETA.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use switchover_engine::{Event, Observer};
use switchover_model::Kind;

/// Progress bars on stderr; log lines instead when stderr is not a terminal (nohup,
/// CI, a tmux log), so that a run never goes silent.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Kind, ProgressBar>>,
    /// `None` on a terminal; else when each kind last printed a progress line.
    lines: Option<Mutex<HashMap<Kind, Instant>>>,
}

/// How often a log line repeats a kind's progress when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(10);

impl Bars {
    /// Bars drawn on stderr, or log lines when stderr is not a terminal.
    pub fn new() -> Self {
        let terminal = std::io::stderr().is_terminal();
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
            lines: (!terminal).then(|| Mutex::new(HashMap::new())),
        }
    }

    /// Prints a log line (not a terminal only); `throttled` lines at most every
    /// [`LINE_EVERY`] per kind.
    fn line(&self, kind: Option<Kind>, throttled: bool, text: impl FnOnce() -> String) {
        let Some(lines) = &self.lines else { return };
        if let (Some(kind), true) = (kind, throttled) {
            let mut last = match lines.lock() {
                Ok(l) => l,
                Err(poisoned) => poisoned.into_inner(),
            };
            let now = Instant::now();
            if last
                .get(&kind)
                .is_some_and(|at| now.duration_since(*at) < LINE_EVERY)
            {
                return;
            }
            last.insert(kind, now);
        }
        // Never a panic when stderr's reader is gone (`2>&1 | head`).
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {}",
            switchover_model::Timestamp::now(),
            text()
        );
    }

    fn bar(&self, kind: Kind, total: Option<u64>) -> ProgressBar {
        let mut bars = match self.bars.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        bars.entry(kind)
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(total.unwrap_or(0)));
                let template = if total.is_some() {
                    "{prefix:>22} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}"
                } else {
                    "{prefix:>22} {spinner} {pos} {per_sec} {msg}"
                };
                if let Ok(style) = ProgressStyle::with_template(template) {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(kind.as_str());
                bar
            })
            .clone()
    }
}

impl Observer for Bars {
    fn event(&self, event: &Event) {
        match event {
            Event::KindStarted { kind, total } => {
                let bar = self.bar(*kind, *total);
                if let Some(total) = total {
                    bar.set_length(*total);
                }
                self.line(Some(*kind), false, || match total {
                    Some(total) => format!("{kind}: started, {total} in the source"),
                    None => format!("{kind}: started"),
                });
            }
            Event::Progress { kind, done } => {
                let bar = self.bar(*kind, None);
                bar.set_position(*done);
                self.line(Some(*kind), true, || {
                    match bar.length().filter(|n| *n > 0) {
                        Some(total) => format!("{kind}: {done}/{total}"),
                        None => format!("{kind}: {done}"),
                    }
                });
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
                self.line(Some(*kind), false, || format!("{kind}: done: {text}"));
                bar.finish_with_message(text);
            }
            Event::Backoff { kind, wait, reason } => {
                let text = format!("waiting {:.1}s: {reason}", wait.as_secs_f64());
                self.line(Some(*kind), false, || format!("{kind}: {text}"));
                self.bar(*kind, None).set_message(text);
            }
            Event::Warning(text) => {
                if self.lines.is_some() {
                    self.line(None, false, || format!("warning: {text}"));
                } else {
                    let _ = self.multi.println(format!("warning: {text}"));
                }
            }
        }
    }
}
