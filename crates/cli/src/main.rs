//! `switchover`: moves a helpdesk's data and integrations from one platform to another.

mod adapters;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use switchover_adapter::Capabilities;
use switchover_model::Kind;

/// Move a helpdesk off one platform onto another, resumably, and prove it with SHA-256.
#[derive(Parser)]
#[command(name = "switchover", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the adapters this build knows, with what each can read and write.
    Adapters {
        /// Print capabilities as JSON (for scripts and adapter authors).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Adapters { json } => list_adapters(json),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn flags(caps: &Capabilities, kind: Kind) -> String {
    let Some(cap) = caps.kind(kind) else {
        return "-".into();
    };
    [
        (cap.read, 'r'),
        (cap.incremental, 'i'),
        (cap.write, 'w'),
        (cap.update, 'u'),
        (cap.read_back, 'b'),
        (cap.delete, 'd'),
    ]
    .iter()
    .map(|(on, c)| if *on { *c } else { '.' })
    .collect()
}

fn list_adapters(json: bool) -> Result<ExitCode> {
    let registry = adapters::registry();
    let mut out = std::io::stdout().lock();
    if json {
        let all: Vec<_> = registry
            .specs()
            .map(|spec| {
                serde_json::json!({
                    "name": spec.name,
                    "summary": spec.summary,
                    "source": spec.source.is_some(),
                    "target": spec.target.is_some(),
                    "settings": spec.settings_help,
                    "capabilities": (spec.capabilities)(),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    for spec in registry.specs() {
        let caps = (spec.capabilities)();
        let roles = match (spec.source.is_some(), spec.target.is_some()) {
            (true, true) => "source + target",
            (true, false) => "source",
            (false, true) => "target",
            (false, false) => "neither",
        };
        writeln!(out, "{}  ({roles})  {}", spec.name, spec.summary)?;
        for line in spec.settings_help {
            writeln!(out, "    setting: {line}")?;
        }
        writeln!(
            out,
            "    {:<22} {:<7} {}",
            "kind", "r i w u b d", "fields round-tripped / lossy"
        )?;
        for kind in Kind::ALL {
            let Some(cap) = caps.kind(kind) else {
                writeln!(out, "    {:<22} {:<7} not supported", kind.as_str(), "-")?;
                continue;
            };
            let lossy = if cap.lossy.is_empty() {
                String::new()
            } else {
                format!(
                    "; lossy: {}",
                    cap.lossy
                        .iter()
                        .map(|l| format!("{} ({})", l.field, l.how))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let spaced: String = flags(&caps, kind).chars().map(|c| format!("{c} ")).collect();
            writeln!(
                out,
                "    {:<22} {:<11} {} of {} fields{lossy}",
                kind.as_str(),
                spaced.trim_end(),
                cap.fields.len(),
                kind.fields().len()
            )?;
        }
        for note in &caps.notes {
            writeln!(out, "    note: {note}")?;
        }
        writeln!(out)?;
    }
    writeln!(
        out,
        "flags: r read, i incremental (delta), w write, u update, b read back (verify), d delete (rollback)"
    )?;
    Ok(ExitCode::SUCCESS)
}
