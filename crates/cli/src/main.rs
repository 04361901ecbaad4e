//! `switchover`: moves a helpdesk's data and integrations from one platform to another.

mod adapters;
mod commands;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Move a helpdesk off one platform onto another, resumably, and prove it with SHA-256.
#[derive(Parser)]
#[command(name = "switchover", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole job on an embedded demo helpdesk: no credentials, no network.
    Demo {
        /// Folder for the demo's archives, plan and state (default: a new temp folder).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Generated tickets on top of the fixed hostile dataset.
        #[arg(long, default_value_t = 2000)]
        tickets: usize,
    },
    /// Move everything the plan names; resumes an interrupted run, or moves only what
    /// changed since the last completed one.
    Migrate {
        /// The plan file (TOML).
        plan: PathBuf,
    },
    /// Read the target back and compare digests with what was moved.
    Verify {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Delete from the target everything this migration created.
    Rollback {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Confirm: rollback deletes records on the target.
        #[arg(long)]
        yes: bool,
    },
    /// Plan, read, map and validate without writing anywhere; report counts, failures to
    /// be, requests and an ETA at the target's quota.
    DryRun {
        /// The plan file (TOML).
        plan: PathBuf,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Send again only the records that failed.
    RetryFailed {
        /// The plan file (TOML).
        plan: PathBuf,
    },
    /// List the adapters this build knows, with what each can read and write.
    Adapters {
        /// Print capabilities as JSON (for scripts and adapter authors).
        #[arg(long)]
        json: bool,
    },
    /// Measure a large archive-to-archive migration: records per second, peak memory,
    /// verify time.
    Bench {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { dir, tickets } => commands::demo(dir, tickets),
        Command::Migrate { plan } => commands::migrate(&plan),
        Command::Verify { plan, json } => commands::verify(&plan, json.as_deref()),
        Command::Rollback { plan, yes } => commands::rollback(&plan, yes),
        Command::DryRun { plan, json } => commands::dry_run(&plan, json.as_deref()),
        Command::RetryFailed { plan } => commands::retry_failed(&plan),
        Command::Adapters { json } => commands::list_adapters(json),
        Command::Bench {
            tickets,
            attachment_bytes,
            dir,
        } => commands::bench(tickets, attachment_bytes, dir),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(commands::exit_code_for(&error))
        }
    }
}
