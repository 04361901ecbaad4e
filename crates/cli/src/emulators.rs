//! `switchover sandbox serve`: runs one of the emulators the platforms bring
//! ([`crate::adapters::emulators`]).

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{Context, Result};
use switchover_sandbox::{EmulatorConfig, EmulatorSpec, Faults};

use crate::adapters::emulators;

/// What `sandbox serve` was asked for.
pub struct ServeOptions {
    /// Emulator name.
    pub name: String,
    /// Port (default: any free one).
    pub port: Option<u16>,
    /// Seed of the generated data.
    pub seed: u64,
    /// Seeded tickets.
    pub tickets: usize,
    /// Comments per ticket.
    pub comments: usize,
    /// End users.
    pub users: usize,
    /// Requests per minute before 429.
    pub rpm: Option<u32>,
    /// Fault spec (`500=0.05,503=0.05,latency=20ms,reset=0.01,burst429=10`).
    pub faults: Option<String>,
}

/// Runs an emulator until Ctrl-C, printing its URL and credentials.
pub fn serve(options: ServeOptions) -> Result<ExitCode> {
    let specs = emulators();
    let spec = EmulatorSpec::find(&specs, &options.name)?;
    let faults: Faults = match &options.faults {
        Some(text) => text.parse()?,
        None => Faults::none(),
    };
    let config = EmulatorConfig {
        port: options.port,
        tickets: options.tickets,
        comments_per_ticket: options.comments,
        users: options.users,
        organizations: (options.users / 10).max(5),
        rpm: options.rpm,
        faults,
        ..EmulatorConfig::small(options.seed)
    };
    let emulator =
        (spec.start)(config).with_context(|| format!("starting the {} emulator", spec.name))?;
    let (stop, stopped) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("installing the Ctrl-C handler")?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}: {}", spec.name, spec.summary)?;
        writeln!(out, "base url:   {}", emulator.base_url())?;
        for line in emulator.credentials() {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "serving until Ctrl-C")?;
    }
    let _ = stopped.recv();
    eprintln!("\nstopped after {} requests", emulator.requests_served());
    Ok(ExitCode::SUCCESS)
}
