//! `switchover bench soak`: a services engineer's bad night, on purpose. A migration
//! between two platforms with faults on both sides (5xx, dropped connections after the
//! write, 429 bursts) is killed with SIGKILL at random moments, then resumed to the end;
//! afterwards every record on the target is counted by its source marker, through the
//! target's own API, never through the state store, and verify runs.
//!
//! Design decisions:
//! - The emulators run in this process, so they outlive the killed runs; each run is a
//!   child `switchover migrate` process, killed with no chance to clean up.
//! - A source platform with an emulator is seeded like the demo's account; an archive
//!   source is first filled from such an account with no faults (not measured).
//! - Losses are source records with no copy on the target; duplicates are source ids
//!   with more than one copy; orphans are copies the id map does not know (a second
//!   copy a rollback would leave behind).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use switchover_adapter::{PageRequest, Source, Target};
use switchover_engine::Silent;
use switchover_engine::state::StateStore;
use switchover_model::Kind;
use switchover_sandbox::EmulatorConfig;

use crate::commands::{self, work_dir};
use crate::demo;

/// What `switchover bench soak` was asked for.
pub struct SoakOptions {
    /// The source platform (`archive` or one with an emulator).
    pub from: String,
    /// The target platform (`archive` or one with an emulator).
    pub to: String,
    /// SIGKILLs before the run may finish.
    pub kills: usize,
    /// Seed of the kill times.
    pub seed: u64,
    /// Tickets in the source account.
    pub tickets: usize,
    /// Faults on both emulated sides, in the sandbox's syntax.
    pub faults: String,
    /// Folder to work in (default: a new temp folder).
    pub dir: Option<PathBuf>,
}

/// The kinds counted by marker on the target.
const COUNTED: [Kind; 3] = [Kind::User, Kind::Ticket, Kind::Comment];

/// One side of the soak: its plan table, and the emulator behind it if any.
struct Side {
    table: String,
    _emulator: Option<Box<dyn switchover_sandbox::RunningEmulator>>,
}

fn side(name: &str, config: EmulatorConfig, archive: &str, secrets: &Path) -> Result<Side> {
    if name == "archive" {
        return Ok(Side {
            table: format!("adapter = \"archive\"\npath = \"{archive}\"\n"),
            _emulator: None,
        });
    }
    let setup = demo::setup(name)?;
    let started =
        (setup.start)(config, secrets).with_context(|| format!("starting the {name} emulator"))?;
    Ok(Side {
        table: demo::table(setup.name, &started.settings),
        _emulator: Some(started.emulator),
    })
}

fn write_plan(dir: &Path, name: &str, source: &str, target: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.toml"));
    demo::write_file(
        &path,
        &format!(
            "[source]\n{source}\n[target]\n{target}\n[run]\nstate = \"{name}.sqlite\"\n\
             concurrency = 3\nbatch_size = 5\npage_size = 25\ngive_up_after_seconds = 60\n\
             accept_risks = [\"target_notifications\"]\n"
        ),
    )?;
    Ok(path)
}

/// Counts per kind on the target: copies per source marker, and the target ids. A
/// record the target keeps no marker on (Zendesk's imported comments) is counted under
/// the source id the id map gives its target id, and `unmarked` says how many were.
fn copies(
    target: &dyn Target,
    kind: Kind,
    state: &StateStore,
    unmarked: &mut usize,
) -> Result<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut request = PageRequest::default();
    loop {
        let page = target
            .read_back(kind, &request)
            .with_context(|| format!("reading the target's {kind} back"))?;
        for read in page.records {
            let marker = match read.source_id {
                Some(marker) => Some(marker),
                None => {
                    let known = state.source_id_of(kind, read.record.id())?;
                    if known.is_some() {
                        *unmarked += 1;
                    }
                    known
                }
            };
            if let Some(marker) = marker {
                out.entry(marker)
                    .or_default()
                    .push(read.record.id().to_string());
            }
        }
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return Ok(out),
        }
    }
}

fn source_ids(source: &dyn Source, kind: Kind) -> Result<HashSet<String>> {
    let mut out = HashSet::new();
    let mut request = PageRequest::default();
    loop {
        let page = source
            .read_page(kind, &request)
            .with_context(|| format!("reading the source's {kind}"))?;
        out.extend(page.records.iter().map(|r| r.id().to_string()));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// `switchover bench soak`.
pub fn soak(options: SoakOptions) -> Result<ExitCode> {
    let faults: switchover_sandbox::Faults = options
        .faults
        .parse()
        .map_err(|e| anyhow::anyhow!("--faults: {e}"))?;
    let dir = work_dir(options.dir.clone(), "bench-soak")?;
    if dir.join("soak.toml").exists() {
        bail!(
            "{} already holds a soak; pass another --dir or remove it",
            dir.display()
        );
    }
    let secrets = dir.join("secrets");
    let account = EmulatorConfig {
        comments_per_ticket: 4,
        attachment_share: 0.25,
        attachment_min_bytes: 256,
        attachment_max_bytes: 4096,
        ..demo::source_config(options.tickets)
    };
    // An archive source is filled first from an emulated account, with no faults.
    let source = if options.from == "archive" {
        let seed = side("zendesk", account.clone(), "", &secrets)?;
        let fill = write_plan(
            &dir,
            "fill",
            &seed.table,
            "adapter = \"archive\"\npath = \"source\"\n",
        )?;
        let status = Command::new(std::env::current_exe()?)
            .arg("migrate")
            .arg(&fill)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("filling the archive source failed ({status})");
        }
        side("archive", account.clone(), "source", &secrets)?
    } else {
        side(
            &options.from,
            EmulatorConfig {
                faults: faults.clone(),
                ..account.clone()
            },
            "",
            &secrets,
        )?
    };
    let target = side(
        &options.to,
        EmulatorConfig {
            faults: faults.clone(),
            ..demo::target_config()
        },
        "target",
        &secrets,
    )?;
    let plan = write_plan(&dir, "soak", &source.table, &target.table)?;

    // Kill at random moments; a run that finishes ends the killing.
    let mut dice = switchover_sandbox::rng::Rng::for_item(options.seed, "soak-kills", 0);
    let started = Instant::now();
    let mut killed = 0usize;
    for _ in 0..options.kills {
        let delay = Duration::from_millis(300 + dice.below(2700));
        let mut child = Command::new(std::env::current_exe()?)
            .arg("migrate")
            .arg(&plan)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting a migrate run")?;
        let t0 = Instant::now();
        while t0.elapsed() < delay && child.try_wait()?.is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        if child.try_wait()?.is_some() {
            break;
        }
        child.kill()?;
        let _ = child.wait();
        killed += 1;
    }
    // Then to the end: a run may stop on a fault storm (exit 6) and is run again.
    let mut last = None;
    for _ in 0..8 {
        let output = Command::new(std::env::current_exe()?)
            .arg("migrate")
            .arg(&plan)
            .output()
            .context("the final migrate run")?;
        let done = output.status.code() == Some(0);
        last = Some(output);
        if done {
            break;
        }
    }
    let last = last.context("no final run")?;
    let finished = last.status.success();
    let run_secs = started.elapsed().as_secs_f64();

    // Count through the target's own API, by marker.
    let opened = commands::open(&plan)?;
    let state = StateStore::open(&opened.plan.state)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bench soak: {} -> {}, {} tickets, faults {}, seed {}, in {}",
        options.from,
        options.to,
        options.tickets,
        options.faults,
        options.seed,
        dir.display()
    )?;
    writeln!(
        out,
        "runs:      {killed} killed mid-run, then {} to the end ({:.0} s in all)",
        if finished {
            "finished"
        } else {
            "did not finish"
        },
        run_secs
    )?;
    let (mut lost_all, mut doubled_all, mut orphans_all) = (0usize, 0usize, 0usize);
    for kind in COUNTED {
        let wanted = source_ids(opened.source.as_ref(), kind)?;
        let mut unmarked = 0usize;
        let found = copies(opened.target.as_ref(), kind, &state, &mut unmarked)?;
        let lost = wanted.iter().filter(|id| !found.contains_key(*id)).count();
        let doubled = found.values().filter(|c| c.len() > 1).count();
        let mut orphans = 0usize;
        for (source_id, targets) in &found {
            let known = state.target_id(kind, source_id)?;
            orphans += targets
                .iter()
                .filter(|t| known.as_deref() != Some(t.as_str()))
                .count();
        }
        let how = if unmarked > 0 {
            format!(" ({unmarked} carry no marker on this target and are known by the id map)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:<10} {} in the source, {} on the target by marker{how}: {lost} lost, {doubled} duplicated, {orphans} orphans",
            kind.as_str(),
            wanted.len(),
            found.len()
        )?;
        lost_all += lost;
        doubled_all += doubled;
        orphans_all += orphans;
    }
    drop(state);
    let mut state = StateStore::open(&opened.plan.state)?;
    let report = switchover_engine::verify_mapped(
        opened.source.as_ref(),
        opened.target.as_ref(),
        &mut state,
        &opened.plan.options.kinds,
        &opened.plan.options.mapping,
        &Silent,
    )?;
    for (kind, v) in report.kinds.iter().filter(|(_, v)| v.differ > 0) {
        let examples: Vec<String> = v
            .differing
            .iter()
            .take(3)
            .map(|d| format!("{} ({})", d.source_id, d.fields.join(", ")))
            .collect();
        writeln!(
            out,
            "differ:    {} {kind}, e.g. {}",
            v.differ,
            examples.join("; ")
        )?;
    }
    let differ: u64 = report.kinds.values().map(|k| k.differ).sum();
    let missing: u64 = report.kinds.values().map(|k| k.missing).sum();
    writeln!(
        out,
        "verify:    {} ({differ} differing, {missing} missing)",
        if report.all_matched() {
            "all matched"
        } else {
            "DIFFERENCES"
        }
    )?;
    let clean =
        finished && lost_all == 0 && doubled_all == 0 && orphans_all == 0 && report.all_matched();
    if !finished {
        writeln!(
            out,
            "the last run ended with {}: {}",
            last.status,
            String::from_utf8_lossy(&last.stderr)
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .join(" / ")
        )?;
    }
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
