//! `switchover bench latency`: a migration through an emulator that answers every request
//! after a delay, as a real SaaS round trip does, under a per-minute budget; prints how
//! much of the budget the run used, how many requests it took per record against the
//! vendor's minimum, the 429s and peak memory.
//!
//! Design decisions:
//! - The emulator runs in this process with the sandbox's `latency=` fault and its own
//!   per-minute budget, started by the demo's setup of the platform ([`demo::setup`]), so
//!   requests and 429s are counted where they arrive, not where they are sent.
//! - Reading (`--direction read`) migrates the emulated account into a new archive.
//!   Writing (`--direction write`) first copies the same account into an archive with no
//!   latency and no budget (not measured), then migrates that archive into a fresh,
//!   non-empty target account behind the latency and the budget.
//! - The vendor's minimum (see [`vendor_minimum`]) is what the vendor's API cannot go
//!   below for the records moved, so "requests per record" is judged against it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use switchover_adapter::{PageRequest, Source};
use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Event, Observer, RunSummary, Silent};
use switchover_model::Kind;
use switchover_sandbox::{EmulatorConfig, Faults};

use crate::commands::{self, peak_rss_mb, work_dir};
use crate::demo;

/// Which way the measured migration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Direction {
    /// The platform's account into an archive (the platform is the source).
    Read,
    /// An archive of the same account into a fresh account (the platform is the target).
    Write,
}

/// What `switchover bench latency` was asked for.
pub struct LatencyOptions {
    /// The emulated platform (`zendesk`, `freshdesk`).
    pub platform: String,
    /// Read from it or write to it.
    pub direction: Direction,
    /// Latency added to every request, in milliseconds.
    pub latency_ms: u64,
    /// The account's budget, requests per minute (also the plan's budget).
    pub rpm: u32,
    /// Tickets in the account (5 comments each, half of them with an attachment).
    pub tickets: usize,
    /// Folder to work in (default: a new temp folder).
    pub dir: Option<PathBuf>,
}

/// The account measured: tickets with 5 comments each, every second one with an attachment
/// of 1 to 16 KB (the mix of the measurement: 300 tickets, 1,500 comments, 750
/// attachments), plus the demo account's users, organizations and rules.
fn account(tickets: usize) -> EmulatorConfig {
    EmulatorConfig {
        comments_per_ticket: 5,
        attachment_share: 0.5,
        attachment_min_bytes: 1024,
        attachment_max_bytes: 16 * 1024,
        ..demo::source_config(tickets)
    }
}

/// Writes a plan from `source` to `target` (each a `[table]` body) with the budget.
fn plan(dir: &Path, name: &str, source: &str, target: &str, rpm: Option<u32>) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.toml"));
    let budget = rpm
        .map(|rpm| format!("requests_per_minute = {rpm}\n"))
        .unwrap_or_default();
    demo::write_file(
        &path,
        &format!(
            "[source]\n{source}\n[target]\n{target}\n[run]\nstate = \"{name}.sqlite\"\nconcurrency = 4\n{budget}"
        ),
    )?;
    Ok(path)
}

/// Runs the migration of a plan without progress output.
fn run(plan: &Path) -> Result<RunSummary> {
    run_observed(plan, &Silent)
}

/// Runs the migration of a plan, telling `observer` what happens.
fn run_observed(plan: &Path, observer: &dyn Observer) -> Result<RunSummary> {
    let opened = commands::open(plan)?;
    let mut state = StateStore::open(&opened.plan.state)?;
    Ok(switchover_engine::migrate(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options,
        observer,
        &Cancel::new(),
    )?)
}

/// When each kind started and finished during the measured run.
#[derive(Default)]
struct Phases {
    marks: Mutex<Vec<(Instant, Kind, bool)>>,
}

impl Observer for Phases {
    fn event(&self, event: &Event) {
        let mark = match event {
            Event::KindStarted { kind, .. } => (*kind, true),
            Event::KindFinished { kind, .. } => (*kind, false),
            _ => return,
        };
        if let Ok(mut marks) = self.marks.lock() {
            marks.push((Instant::now(), mark.0, mark.1));
        }
    }
}

/// The emulator's tally at one moment: requests answered so far and requests in flight.
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    served: u64,
    in_flight: u64,
}

/// Between two moments, from the samples taken: requests answered, seconds, the mean
/// number of requests in flight and the share of samples with none in flight.
fn window(samples: &[Sample], from: Instant, to: Instant) -> (u64, f64, f64, f64) {
    let inside: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= from && s.at <= to)
        .collect();
    let (Some(first), Some(last)) = (inside.first(), inside.last()) else {
        return (0, 0.0, 0.0, 0.0);
    };
    let requests = last.served - first.served;
    let secs = to.duration_since(from).as_secs_f64();
    let mean = inside.iter().map(|s| s.in_flight as f64).sum::<f64>() / inside.len() as f64;
    let idle = inside.iter().filter(|s| s.in_flight == 0).count() as f64 / inside.len() as f64;
    (requests, secs, mean, idle)
}

/// Tickets, comments and attachments in an archive.
fn archive_contents(path: &Path) -> Result<(u64, u64, u64)> {
    let archive = Archive::open_source(path)?;
    let count = |kind: Kind| -> Result<(u64, u64)> {
        let mut records = 0u64;
        let mut attachments = 0u64;
        let mut request = PageRequest::default();
        loop {
            let page = archive.read_page(kind, &request)?;
            records += page.records.len() as u64;
            attachments += page
                .records
                .iter()
                .map(|r| r.attachments().len() as u64)
                .sum::<u64>();
            match page.next {
                Some(next) => request.cursor = Some(next),
                None => return Ok((records, attachments)),
            }
        }
    };
    let (tickets, _) = count(Kind::Ticket)?;
    let (comments, attachments) = count(Kind::Comment)?;
    Ok((tickets, comments, attachments))
}

/// Records of each kind the run moved (written, adopted, updated, found), comments
/// written inside their tickets included.
fn moved(summary: &RunSummary) -> Vec<(Kind, u64)> {
    summary
        .kinds
        .iter()
        .map(|(kind, c)| (*kind, c.created + c.adopted + c.updated + c.reconciled))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The fewest requests the vendor's API allows for what moved:
/// - reading, any platform: one list request per 100 records of every kind but comments
///   (100 is the largest page both APIs give), one comment (conversation) list per
///   ticket (neither API lists the comments of many tickets with their attachments at
///   once), one download per attachment;
/// - writing Zendesk: comments travel inside their ticket's import, 100 tickets per
///   `imports/tickets/create_many`, organizations and users 100 per `create_many`, each
///   of those three a job polled at least once (2 requests per 100); one request per
///   record of every other kind; one upload per attachment;
/// - writing Freshdesk: no bulk create, so one request per record (a ticket carries its
///   first comment as its description, attachments travel inside their request).
fn vendor_minimum(
    platform: &str,
    direction: Direction,
    moved: &[(Kind, u64)],
    tickets: u64,
    attachments: u64,
) -> u64 {
    let pages = |n: u64| n.div_ceil(100);
    match (direction, platform) {
        (Direction::Read, _) => {
            moved
                .iter()
                .filter(|(k, _)| *k != Kind::Comment)
                .map(|(_, n)| pages(*n))
                .sum::<u64>()
                + tickets
                + attachments
        }
        (Direction::Write, "zendesk") => {
            moved
                .iter()
                .map(|(k, n)| match k {
                    Kind::Comment => 0,
                    Kind::Ticket | Kind::User | Kind::Organization => 2 * pages(*n),
                    _ => *n,
                })
                .sum::<u64>()
                + attachments
        }
        (Direction::Write, _) => moved
            .iter()
            .map(|(k, n)| {
                if *k == Kind::Comment {
                    n.saturating_sub(tickets)
                } else {
                    *n
                }
            })
            .sum(),
    }
}

/// `switchover bench latency`.
pub fn latency(options: LatencyOptions) -> Result<ExitCode> {
    if options.rpm == 0 {
        bail!("--rpm must be at least 1");
    }
    let setup = demo::setup(&options.platform)?;
    let dir = work_dir(options.dir.clone(), "bench-latency")?;
    let secrets = dir.join("secrets");
    let archive_table = "adapter = \"archive\"\npath = \"archive\"\n";
    if dir.join("archive").exists() {
        bail!(
            "{} already holds a benchmark; pass another --dir or remove it",
            dir.display()
        );
    }
    let faults = Faults {
        latency: Duration::from_millis(options.latency_ms),
        ..Faults::none()
    };
    let measured = EmulatorConfig {
        rpm: Some(options.rpm),
        faults: faults.clone(),
        ..account(options.tickets)
    };
    let (emulator, plan_path) = match options.direction {
        Direction::Read => {
            let started = (setup.start)(measured, &secrets)
                .with_context(|| format!("starting the {} emulator", setup.name))?;
            let source = demo::table(setup.name, &started.settings);
            let path = plan(&dir, "read", &source, archive_table, Some(options.rpm))?;
            (started.emulator, path)
        }
        Direction::Write => {
            // The records to write: the same account, copied with no latency or budget.
            let seed = (setup.start)(account(options.tickets), &secrets)
                .with_context(|| format!("starting the {} emulator", setup.name))?;
            let source = demo::table(setup.name, &seed.settings);
            let seeding = plan(&dir, "seed", &source, archive_table, None)?;
            run(&seeding).context("copying the account into the archive to write from")?;
            drop(seed);
            let config = EmulatorConfig {
                rpm: Some(options.rpm),
                faults,
                ..demo::target_config()
            };
            let started = (setup.start)(config, &secrets)
                .with_context(|| format!("starting the {} emulator", setup.name))?;
            let target = demo::table(setup.name, &started.settings);
            let path = plan(&dir, "write", archive_table, &target, Some(options.rpm))?;
            (started.emulator, path)
        }
    };
    let endpoints_before = emulator.requests_by_endpoint();
    let requests_before = emulator.requests_served();
    let limited_before = emulator.requests_rate_limited();
    let phases = Phases::default();
    let t0 = Instant::now();
    // The migration runs on its own thread; this one samples the emulator's tally.
    let finished = AtomicBool::new(false);
    let mut samples: Vec<Sample> = Vec::new();
    let summary = std::thread::scope(|scope| {
        let migration = scope.spawn(|| {
            let summary = run_observed(&plan_path, &phases);
            finished.store(true, Ordering::SeqCst);
            summary
        });
        while !finished.load(Ordering::SeqCst) {
            samples.push(Sample {
                at: Instant::now(),
                served: emulator.requests_served(),
                in_flight: emulator.requests_in_flight(),
            });
            std::thread::sleep(Duration::from_millis(10));
        }
        migration
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the measured migration panicked")))
    })?;
    let t1 = Instant::now();
    samples.push(Sample {
        at: t1,
        served: emulator.requests_served(),
        in_flight: 0,
    });
    let secs = t0.elapsed().as_secs_f64();
    let requests = emulator.requests_served() - requests_before;
    let limited = emulator.requests_rate_limited() - limited_before;
    let mut endpoints: Vec<(String, u64)> = emulator
        .requests_by_endpoint()
        .into_iter()
        .map(|(name, n)| {
            let before = endpoints_before
                .iter()
                .find(|(b, _)| *b == name)
                .map_or(0, |(_, n)| *n);
            (name, n - before)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    endpoints.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    drop(emulator);

    let (tickets, comments, attachments) = archive_contents(&dir.join("archive"))?;
    let moved = moved(&summary);
    let records: u64 = moved.iter().map(|(_, n)| n).sum();
    let minimum = vendor_minimum(setup.name, options.direction, &moved, tickets, attachments);
    let per_minute = requests as f64 * 60.0 / secs.max(1e-9);
    let failed = summary.totals().failed;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bench latency: {} {:?}, {} ms latency, budget {} requests/min, in {}",
        setup.name,
        options.direction,
        options.latency_ms,
        options.rpm,
        dir.display()
    )?;
    writeln!(
        out,
        "account:   {tickets} tickets, {comments} comments, {attachments} attachments; {records} records moved, {failed} failed"
    )?;
    writeln!(
        out,
        "requests:  {requests} in {secs:.1} s = {per_minute:.0}/min = {:.1}% of the budget",
        per_minute * 100.0 / f64::from(options.rpm)
    )?;
    writeln!(
        out,
        "429s:      {limited} ({:.2}% of requests)",
        limited as f64 * 100.0 / (requests.max(1)) as f64
    )?;
    writeln!(
        out,
        "per record: {:.3} requests; vendor minimum {minimum} requests = {:.3}; {:.2}x the minimum",
        requests as f64 / records.max(1) as f64,
        minimum as f64 / records.max(1) as f64,
        requests as f64 / minimum.max(1) as f64
    )?;
    writeln!(
        out,
        "peak RSS:  {:.0} MB (this process, the emulator included)",
        peak_rss_mb().unwrap_or(0.0)
    )?;
    if let Some(path) = std::env::var_os("SWITCHOVER_BENCH_TIMELINE") {
        // Every sample, for a person to plot: seconds since start, answered, in flight.
        let lines: String = samples
            .iter()
            .map(|s| {
                format!(
                    "{:.2}\t{}\t{}\n",
                    s.at.duration_since(t0).as_secs_f64(),
                    s.served - requests_before,
                    s.in_flight
                )
            })
            .collect();
        std::fs::write(&path, lines)
            .with_context(|| format!("writing the timeline to {}", Path::new(&path).display()))?;
    }
    let (_, _, mean, idle) = window(&samples, t0, t1);
    let needed = f64::from(options.rpm) / 60.0 * options.latency_ms as f64 / 1000.0;
    writeln!(
        out,
        "in flight: {mean:.1} on average ({needed:.1} fill the budget at this latency); none {:.0}% of the time",
        idle * 100.0
    )?;
    writeln!(out, "requests by endpoint:")?;
    for (name, n) in &endpoints {
        writeln!(out, "  {n:6}  {name}")?;
    }
    // Each kind's stretch of the run, in the order they ran.
    writeln!(
        out,
        "stretches of the run (a kind's pass, and what follows it):"
    )?;
    let marks = phases.marks.into_inner().unwrap_or_default();
    let mut from = t0;
    let mut label = "start".to_string();
    for (at, kind, started) in marks.iter().copied().chain([(t1, Kind::Ticket, true)]) {
        let (n, secs, mean, idle) = window(&samples, from, at);
        if secs >= 0.5 || n > 0 {
            writeln!(
                out,
                "  {label:<28} {secs:6.1} s {n:5} requests {:5.0}/min  in flight {mean:4.1}  none {:3.0}%",
                n as f64 * 60.0 / secs.max(1e-9),
                idle * 100.0
            )?;
        }
        from = at;
        label = format!(
            "{} {}",
            kind.as_str(),
            if started { "pass" } else { "after" }
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zendesk's minimum for writing counts uploads and bulk jobs, not comments (they
    /// travel inside their ticket); reading counts a comment list per ticket.
    #[test]
    fn the_vendor_minimum_follows_each_api() {
        let moved = [
            (Kind::User, 150),
            (Kind::Ticket, 300),
            (Kind::Comment, 1500),
            (Kind::Macro, 3),
        ];
        assert_eq!(
            vendor_minimum("zendesk", Direction::Write, &moved, 300, 750),
            2 * 2 + 2 * 3 + 3 + 750
        );
        assert_eq!(
            vendor_minimum("zendesk", Direction::Read, &moved, 300, 750),
            2 + 3 + 1 + 300 + 750
        );
        assert_eq!(
            vendor_minimum("freshdesk", Direction::Write, &moved, 300, 750),
            150 + 300 + 1200 + 3
        );
    }
}
