//! `switchover`: moves a helpdesk's data and integrations from one platform to another.

mod adapters;
mod bench;
mod check;
mod commands;
mod demo;
mod emulators;
mod progress;
mod soak;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Move a helpdesk off one platform onto another, resumably, and prove it with SHA-256.
#[derive(Parser)]
#[command(name = "switchover", version, about)]
struct Cli {
    /// When stderr is not a terminal (nohup, CI, a log file): seconds between the plain
    /// progress lines of each running kind.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10)]
    progress_every: u64,
    /// No progress bars or progress lines: only warnings, errors and the final summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Also every retry wait and rate-limit pause as its own line on a terminal, and a
    /// line per batch of progress when stderr is not a terminal.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole story on loopback, no credentials, no network: a prospect's emulated
    /// helpdesk moved to another emulated platform, with a dry-run report, progress,
    /// verification report and an archive copy kept for compliance.
    Demo {
        /// Folder for the reports, plans, state and archive (default: a new temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The platform the prospect leaves (one with an emulator).
        #[arg(long, default_value = "zendesk")]
        from: String,
        /// The platform they move to (one with an emulator).
        #[arg(long, default_value = "freshdesk")]
        to: String,
        /// Tickets in the prospect's account (3 comments each).
        #[arg(long, default_value_t = 1000)]
        tickets: usize,
    },
    /// Move everything the plan names; resumes an interrupted run, or moves only what
    /// changed since the last completed one.
    Migrate {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print the run's summary and failure groups as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Read the target back and compare digests with what was moved.
    Verify {
        /// The plan file (TOML).
        plan: PathBuf,
        #[command(flatten)]
        outputs: commands::Outputs,
    },
    /// Delete from the target everything this migration created.
    Rollback {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Confirm: rollback deletes records on the target.
        #[arg(long)]
        yes: bool,
    },
    /// Render again, from the state store, the last migration's summary and the last
    /// verification's report (HTML, Markdown, JSON); contacts no system.
    Report {
        /// The plan file (TOML).
        plan: PathBuf,
        #[command(flatten)]
        outputs: commands::Outputs,
    },
    /// After the final delta run: switch on the migrated rules, automations and
    /// webhooks that were active in the source (migrations create them switched off).
    Cutover {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Confirm: switches the migrated rules on, so they fire on the target.
        #[arg(long)]
        enable_rules: bool,
        /// Only list what would be switched on.
        #[arg(long)]
        dry_run: bool,
        /// Also write the list as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Plan, read, map and validate without writing anywhere; report counts, failures to
    /// be, requests and an ETA at the target's quota.
    DryRun {
        /// The plan file (TOML).
        plan: PathBuf,
        #[command(flatten)]
        outputs: commands::Outputs,
    },
    /// Send again only the records that failed.
    RetryFailed {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print the run's summary and failure groups as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the records that failed, grouped by root cause: a record whose failure made
    /// others fail comes first, with their count and what to do.
    Failures {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print the groups, and every failure, as JSON.
        #[arg(long)]
        json: bool,
        /// Only failures rooted in this kind (e.g. `organizations`).
        #[arg(long)]
        kind: Option<String>,
    },
    /// In seconds, before a full read: credentials on both sides, the target's preflight
    /// (warnings, blockers, notification risks the plan has not accepted), the request
    /// budget, and what the target would do with the first records of each kind
    /// (create, adopt, refuse). Exits with the status `migrate` would end with.
    Check {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Print the findings as JSON on stdout (with a schema_version).
        #[arg(long)]
        json: bool,
    },
    /// List the adapters this build knows, with what each can read and write.
    Adapters {
        /// Print capabilities as JSON (for scripts and adapter authors).
        #[arg(long)]
        json: bool,
    },
    /// Measure a large archive-to-archive migration: records per second, peak memory,
    /// verify time. `bench latency` measures a platform behind a real round trip.
    #[command(args_conflicts_with_subcommands = true)]
    Bench {
        #[command(subcommand)]
        what: Option<BenchWhat>,
        /// Generated tickets (each with 4 comments, half of them with an attachment).
        #[arg(long, default_value_t = 20_000)]
        tickets: usize,
        /// Bytes per generated attachment.
        #[arg(long, default_value_t = 256)]
        attachment_bytes: usize,
        /// Folder to work in (default: a new temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Print a shell completion script, e.g. `switchover completions bash >
    /// ~/.local/share/bash-completion/completions/switchover`.
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Run a vendor emulator on loopback for manual use or other clients.
    Sandbox {
        #[command(subcommand)]
        action: SandboxAction,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// A migration between two platforms with faults on both sides, killed with SIGKILL
    /// at random moments and resumed to the end; then every record counted on the
    /// target by its marker (lost, duplicated, orphaned) and verified.
    Soak {
        /// The source platform: archive, or one with an emulator (zendesk, freshdesk,
        /// helpscout).
        #[arg(long, default_value = "zendesk")]
        from: String,
        /// The target platform, likewise.
        #[arg(long, default_value = "freshdesk")]
        to: String,
        /// SIGKILLs before the run may finish.
        #[arg(long, default_value_t = 20)]
        kills: usize,
        /// Seed of the kill times.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Tickets in the source account (4 comments each).
        #[arg(long, default_value_t = 120)]
        tickets: usize,
        /// Faults on both emulated sides.
        #[arg(long, default_value = "500=0.03,503=0.03,reset=0.01,burst429=3")]
        faults: String,
        /// Folder to work in (default: a new temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// A migration through an emulator with latency on every request and a per-minute
    /// budget: requests, share of the budget used, 429s, requests per record against
    /// the vendor's minimum, peak memory.
    Latency {
        /// The emulated platform: zendesk or freshdesk.
        #[arg(long)]
        platform: String,
        /// `read`: the platform into an archive; `write`: an archive into the platform.
        #[arg(long, value_enum)]
        direction: bench::Direction,
        /// Milliseconds added to every request (a SaaS round trip is about 250).
        #[arg(long, default_value_t = 250)]
        latency_ms: u64,
        /// The account's budget in requests per minute (also the plan's).
        #[arg(long, default_value_t = 700)]
        rpm: u32,
        /// Tickets (5 comments each, every second comment with an attachment).
        #[arg(long, default_value_t = 100)]
        tickets: usize,
        /// Folder to work in (default: a new temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SandboxAction {
    /// Serve an emulator (e.g. `zendesk`) until Ctrl-C, printing its URL and credentials.
    Serve {
        /// Emulator name.
        name: String,
        /// Port on 127.0.0.1 (default: any free port).
        #[arg(long)]
        port: Option<u16>,
        /// Seed of the generated account.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Seeded tickets.
        #[arg(long, default_value_t = 200)]
        tickets: usize,
        /// Comments per ticket.
        #[arg(long, default_value_t = 3)]
        comments: usize,
        /// Seeded end users.
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// Requests per minute before 429 (default: unlimited).
        #[arg(long)]
        rpm: Option<u32>,
        /// Faults, e.g. `500=0.05,503=0.05,latency=20ms,reset=0.01,burst429=10`.
        #[arg(long)]
        faults: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    progress::set_line_interval(std::time::Duration::from_secs(cli.progress_every));
    progress::set_verbosity(if cli.quiet {
        progress::Verbosity::Quiet
    } else if cli.verbose {
        progress::Verbosity::Verbose
    } else {
        progress::Verbosity::Normal
    });
    let result = match cli.command {
        Command::Demo {
            dir,
            from,
            to,
            tickets,
        } => demo::demo(demo::DemoOptions {
            dir,
            from,
            to,
            tickets,
        }),
        Command::Migrate { plan, json } => commands::migrate(&plan, json),
        Command::Verify { plan, outputs } => commands::verify(&plan, &outputs),
        Command::Rollback { plan, yes } => commands::rollback(&plan, yes),
        Command::Report { plan, outputs } => commands::report(&plan, &outputs),
        Command::Cutover {
            plan,
            enable_rules,
            dry_run,
            json,
        } => commands::cutover(&plan, enable_rules, dry_run, json.as_deref()),
        Command::DryRun { plan, outputs } => commands::dry_run(&plan, &outputs),
        Command::RetryFailed { plan, json } => commands::retry_failed(&plan, json),
        Command::Failures { plan, json, kind } => commands::failures(&plan, json, kind.as_deref()),
        Command::Check { plan, json } => check::check(&plan, json),
        Command::Adapters { json } => commands::list_adapters(json),
        Command::Completions { shell } => completions(shell),
        Command::Bench {
            what:
                Some(BenchWhat::Latency {
                    platform,
                    direction,
                    latency_ms,
                    rpm,
                    tickets,
                    dir,
                }),
            ..
        } => bench::latency(bench::LatencyOptions {
            platform,
            direction,
            latency_ms,
            rpm,
            tickets,
            dir,
        }),
        Command::Bench {
            what:
                Some(BenchWhat::Soak {
                    from,
                    to,
                    kills,
                    seed,
                    tickets,
                    faults,
                    dir,
                }),
            ..
        } => soak::soak(soak::SoakOptions {
            from,
            to,
            kills,
            seed,
            tickets,
            faults,
            dir,
        }),
        Command::Bench {
            what: None,
            tickets,
            attachment_bytes,
            dir,
        } => commands::bench(tickets, attachment_bytes, dir),
        Command::Sandbox {
            action:
                SandboxAction::Serve {
                    name,
                    port,
                    seed,
                    tickets,
                    comments,
                    users,
                    rpm,
                    faults,
                },
        } => emulators::serve(emulators::ServeOptions {
            name,
            port,
            seed,
            tickets,
            comments,
            users,
            rpm,
            faults,
        }),
    };
    match result {
        Ok(code) => code,
        // `switchover ... | head`: the reader has what it wanted; end quietly.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr().lock(), "error: {error:#}");
            ExitCode::from(commands::exit_code_for(&error))
        }
    }
}

/// Whether an error is stdout's reader having gone away.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `switchover completions SHELL`: the script is built in memory first, so that a closed
/// pipe is an error like any other write (clap_complete panics on one).
fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "switchover", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(ExitCode::SUCCESS)
}
