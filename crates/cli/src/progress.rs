//! Draws the engine's events: one indicatif bar per kind with count, rate and ETA.

use std::collections::HashMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use switchover_engine::{Event, Observer};
use switchover_model::Kind;

/// Progress bars on stderr.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<Kind, ProgressBar>>,
}

impl Bars {
    /// Bars drawn on stderr (hidden when stderr is not a terminal).
    pub fn new() -> Self {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(HashMap::new()),
        }
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
            }
            Event::Progress { kind, done } => self.bar(*kind, None).set_position(*done),
            Event::ReadAhead { kind, read } => {
                self.bar(*kind, None)
                    .set_message(format!("{read} read ahead to go inside their parents"));
            }
            Event::KindFinished { kind, counts } => {
                let bar = self.bar(*kind, None);
                bar.set_position(counts.processed());
                bar.finish_with_message(format!(
                    "created {} adopted {} updated {} unchanged {} failed {}",
                    counts.created, counts.adopted, counts.updated, counts.unchanged, counts.failed
                ));
            }
            Event::Backoff { kind, wait, reason } => {
                self.bar(*kind, None)
                    .set_message(format!("waiting {:.1}s: {reason}", wait.as_secs_f64()));
            }
            Event::Warning(text) => {
                let _ = self.multi.println(format!("warning: {text}"));
            }
        }
    }
}
