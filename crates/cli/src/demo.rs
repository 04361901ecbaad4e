//! `switchover demo`: the product's story on loopback. A seeded emulator of the prospect's
//! helpdesk (integrations included) and a seeded, non-empty emulator of the platform they
//! move to; a dry-run report, the migration with progress bars, verification and its
//! report, and an archive copy of the source kept for compliance. No credentials, no
//! network.
//!
//! Design decisions:
//! - The platforms offered are those of [`crate::adapters::platforms`] that bring an
//!   emulator *and* have a [`Setup`] in [`setups`]: the one place saying how the demo
//!   starts a platform's emulator and points a plan at it (settings, secret files).
//! - Secrets go to files under the demo folder (owner-only), referenced from the plan as
//!   `file:PATH`; they are never printed, never in argv.
//! - Both accounts come from the same seed: the target already holds the prospect's agents,
//!   groups, companies and fields (a live account the migration adopts into) and a few
//!   tickets and customers of its own, but none of the source's rules.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use switchover_sandbox::{EmulatorConfig, RunningEmulator};

use crate::adapters::platforms;
use crate::commands::{self, Outputs};

/// What `switchover demo` was asked for.
pub struct DemoOptions {
    /// Folder for plans, reports, state and the archive (default: a new temp folder).
    pub dir: Option<PathBuf>,
    /// The platform the prospect leaves.
    pub from: String,
    /// The platform they move to.
    pub to: String,
    /// Tickets in the prospect's account.
    pub tickets: usize,
}

/// A platform's emulator, started, with the plan settings that reach it.
pub(crate) struct Started {
    /// The running emulator.
    pub(crate) emulator: Box<dyn RunningEmulator>,
    /// `key = value` pairs for the plan's `[source]` or `[target]` table, `adapter` excluded;
    /// secrets as `file:` references.
    pub(crate) settings: Vec<(&'static str, String)>,
}

/// How the demo brings up one platform: starts its emulator seeded with a configuration
/// and writes its secrets into a folder.
pub(crate) struct Setup {
    /// The platform's name (its adapter's and its emulator's).
    pub(crate) name: &'static str,
    /// Starts the emulator; secrets go to files in the folder given.
    pub(crate) start: fn(EmulatorConfig, &Path) -> Result<Started>,
}

/// Every platform the demo can start. A platform with an emulator but no entry here is
/// named in the error `--from`/`--to` give, so the gap is visible.
fn setups() -> Vec<Setup> {
    vec![
        Setup {
            name: "freshdesk",
            start: |config, secrets| {
                let emulator = switchover_freshdesk_emulator::FreshdeskEmulator::start(config)?;
                let key = write_secret(secrets, "freshdesk-api-key", &emulator.api_key())?;
                Ok(Started {
                    settings: vec![("url", emulator.base_url()), ("api_key", key)],
                    emulator: Box::new(emulator),
                })
            },
        },
        Setup {
            name: "helpscout",
            start: |config, secrets| {
                let emulator = switchover_helpscout_emulator::HelpScoutEmulator::start(config)?;
                let app_secret =
                    write_secret(secrets, "helpscout-app-secret", &emulator.client_secret())?;
                let docs_key =
                    write_secret(secrets, "helpscout-docs-api-key", &emulator.docs_api_key())?;
                Ok(Started {
                    settings: vec![
                        ("url", emulator.base_url()),
                        ("app_id", emulator.client_id()),
                        ("app_secret", app_secret),
                        ("docs_url", emulator.base_url()),
                        ("docs_api_key", docs_key),
                    ],
                    emulator: Box::new(emulator),
                })
            },
        },
        Setup {
            name: "zendesk",
            start: |config, secrets| {
                let emulator = switchover_zendesk_emulator::ZendeskEmulator::start(config)?;
                let token = write_secret(secrets, "zendesk-api-token", &emulator.api_token())?;
                Ok(Started {
                    settings: vec![
                        ("url", emulator.base_url()),
                        ("email", emulator.email()),
                        ("api_token", token),
                    ],
                    emulator: Box::new(emulator),
                })
            },
        },
    ]
}

/// Writes a secret to an owner-only file and returns its plan reference.
fn write_secret(folder: &Path, name: &str, value: &str) -> Result<String> {
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let path = folder.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(value.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(format!("file:{}", path.display()))
}

/// The names `--from`/`--to` accept: platforms with an emulator and a setup, in name order.
fn offered() -> Vec<&'static str> {
    let known = setups();
    platforms()
        .into_iter()
        .filter_map(|p| p.emulator)
        .filter(|e| known.iter().any(|s| s.name == e.name))
        .map(|e| e.name)
        .collect()
}

pub(crate) fn setup(name: &str) -> Result<Setup> {
    let has_emulator = platforms()
        .into_iter()
        .filter_map(|p| p.emulator)
        .any(|e| e.name.eq_ignore_ascii_case(name));
    let offered = offered().join(", ");
    if !has_emulator {
        bail!("the demo has no emulator of '{name}'; it can use: {offered}");
    }
    setups()
        .into_iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
        .with_context(|| {
            format!(
                "'{name}' has an emulator but no demo setup yet (crates/cli/src/demo.rs, setups()); the demo can use: {offered}"
            )
        })
}

/// The prospect's account: a bit of everything, integrations included.
pub(crate) fn source_config(tickets: usize) -> EmulatorConfig {
    EmulatorConfig {
        tickets,
        users: (tickets / 4).max(20),
        organizations: (tickets / 40).max(5),
        ..EmulatorConfig::small(SEED)
    }
}

/// The account they move to: already in use (the same agents, groups, companies and
/// fields, a few customers and tickets of its own), no rules that could e-mail anyone.
pub(crate) fn target_config() -> EmulatorConfig {
    let prospect = source_config(0);
    EmulatorConfig {
        seed: SEED,
        organizations: prospect.organizations,
        agents: prospect.agents,
        groups: prospect.groups,
        custom_fields: prospect.custom_fields,
        users: 5,
        tickets: 5,
        comments_per_ticket: 2,
        ..EmulatorConfig::empty()
    }
}

/// The seed both accounts share (so the target knows the prospect's agents).
const SEED: u64 = 16;

pub(crate) fn table(adapter: &str, settings: &[(&str, String)]) -> String {
    let mut text = format!("adapter = \"{adapter}\"\n");
    for (key, value) in settings {
        let _ = writeln!(text, "{key} = {}", toml_string(value));
    }
    text
}

/// A TOML basic string.
fn toml_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn say(text: &str) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// `switchover demo`.
pub fn demo(options: DemoOptions) -> Result<ExitCode> {
    let started = Instant::now();
    let from = setup(&options.from)?;
    let to = setup(&options.to)?;
    if from.name == to.name {
        bail!(
            "--from and --to are both '{}'; pick two platforms",
            from.name
        );
    }
    let dir = match options.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("switchover-demo-{}", std::process::id())),
    };
    let plan = dir.join("plan.toml");
    if plan.exists() {
        bail!(
            "{} already holds a demo; pass another --dir or remove it",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secrets = dir.join("secrets");

    let source = (from.start)(source_config(options.tickets), &secrets)
        .with_context(|| format!("starting the {} emulator", from.name))?;
    let target = (to.start)(target_config(), &secrets)
        .with_context(|| format!("starting the {} emulator", to.name))?;
    say(&format!(
        "{} emulator (the prospect's account: {} tickets, users, organizations, custom fields, macros, triggers, automations, webhooks, SLA policies, views, knowledge base) at {}",
        from.name,
        options.tickets,
        source.emulator.base_url()
    ))?;
    say(&format!(
        "{} emulator (the account they move to, already in use: the same agents and groups, a few customers and tickets of its own) at {}",
        to.name,
        target.emulator.base_url()
    ))?;

    write_file(
        &plan,
        &format!(
            "# The demo: {from} -> {to}, both emulated on loopback while `switchover demo` runs.\n\
             [source]\n{}\n[target]\n{}\n[run]\nstate = \"migration.sqlite\"\nconcurrency = 4\n",
            table(from.name, &source.settings),
            table(to.name, &target.settings),
            from = from.name,
            to = to.name,
        ),
    )?;
    let archive_plan = dir.join("compliance-plan.toml");
    write_file(
        &archive_plan,
        &format!(
            "# The compliance copy: everything the {from} account holds, kept as an archive.\n\
             [source]\n{}\n[target]\nadapter = \"archive\"\npath = \"compliance-archive\"\n\n\
             [run]\nstate = \"compliance.sqlite\"\nconcurrency = 4\n",
            table(from.name, &source.settings),
            from = from.name,
        ),
    )?;

    let file = |name: &str| dir.join(name);
    say(&format!(
        "\n== 1. dry run: nothing is written anywhere ({})",
        plan.display()
    ))?;
    let dry_run = Outputs {
        json: Some(file("dry-run.json")),
        html: Some(file("dry-run.html")),
        markdown: Some(file("dry-run.md")),
    };
    commands::dry_run(&plan, &dry_run)?;

    say(&format!("\n== 2. migration {} -> {}", from.name, to.name))?;
    let migrated = commands::migrate(&plan, false)?;

    say("\n== 3. verification: the source read afresh, the target read back")?;
    let verification = Outputs {
        json: Some(file("verification.json")),
        html: Some(file("verification.html")),
        markdown: Some(file("verification.md")),
    };
    let verified = commands::verify(&plan, &verification)?;

    say(&format!(
        "\n== 4. compliance copy: the {} account kept as an archive",
        from.name
    ))?;
    let archived = commands::migrate(&archive_plan, false)?;

    let seconds = started.elapsed().as_secs_f64();
    let all_matched = verified == ExitCode::SUCCESS;
    say(&format!(
        "\nIn {seconds:.0} seconds, a {from} account moved to {to}, both emulated on this machine. \
         The dry-run report a prospect reads before anything is written is {dry_html} (also {dry_md} and {dry_json}). \
         The migration {how}; verification, reading both sides afresh, found {matched}: \
         the report the customer signs off on is {ver_html} (also {ver_md} and {ver_json}). \
         A copy of the whole {from} account, rules included, is kept for compliance in {archive}. \
         The plans are {plan} and {archive_plan}, the state stores sit beside them, and the emulators stopped with the demo \
         (`switchover sandbox serve {from}` runs one for longer).",
        from = from.name,
        to = to.name,
        dry_html = file("dry-run.html").display(),
        dry_md = file("dry-run.md").display(),
        dry_json = file("dry-run.json").display(),
        how = if migrated == ExitCode::SUCCESS {
            "wrote every record it could"
        } else {
            "left records failed (`switchover failures` on the plan lists them)"
        },
        matched = if all_matched {
            "all matched"
        } else {
            "DIFFERENCES"
        },
        ver_html = file("verification.html").display(),
        ver_md = file("verification.md").display(),
        ver_json = file("verification.json").display(),
        archive = file("compliance-archive").display(),
        plan = plan.display(),
        archive_plan = archive_plan.display(),
    ))?;
    drop((source, target));
    Ok([migrated, verified, archived]
        .into_iter()
        .find(|code| *code != ExitCode::SUCCESS)
        .unwrap_or(ExitCode::SUCCESS))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every platform that brings an emulator can be picked with `--from`/`--to`: one
    /// added without a setup here fails this test, naming the one place to add it; a name
    /// without an emulator is refused with the names that work.
    #[test]
    fn every_emulated_platform_has_a_demo_setup() {
        let emulated: Vec<&str> = platforms()
            .into_iter()
            .filter_map(|p| p.emulator)
            .map(|e| e.name)
            .collect();
        assert!(emulated.contains(&"zendesk") && emulated.contains(&"freshdesk"));
        assert_eq!(
            offered(),
            emulated,
            "add the missing platforms to setups() in crates/cli/src/demo.rs"
        );
        let error = setup("archive")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("no emulator of 'archive'") && error.contains("zendesk"),
            "{error}"
        );
    }

    /// Settings land in the plan as TOML strings a plan loads back unchanged, even
    /// with quotes, backslashes or spaces in them.
    #[test]
    fn settings_are_quoted_as_toml() {
        let dir = tempfile::tempdir().expect("tempdir");
        let odd = "a \"b\" \\c";
        let plan = dir.path().join("plan.toml");
        let text = format!(
            "[source]\n{}\n[target]\nadapter = \"archive\"\npath = \"t\"\n[run]\nstate = \"s.sqlite\"\n",
            table("archive", &[("path", odd.into())])
        );
        write_file(&plan, &text).expect("write plan");
        let loaded = switchover_engine::plan::Plan::load(&plan).expect("the plan loads");
        assert_eq!(
            loaded.source.string("path").ok(),
            Some(dir.path().join(odd).display().to_string()),
            "{text}"
        );
    }
}
