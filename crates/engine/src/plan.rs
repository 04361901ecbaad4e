//! Plan files: TOML naming the source and target adapters with their settings, the kinds
//! to move, where the state store lives and the run's limits. Validation reports every
//! problem at once. Secrets appear only as `env:VAR` or `file:PATH` references.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use switchover_adapter::Settings;
use switchover_model::Kind;

use crate::EngineError;
use crate::executor::{Options, UnresolvedPolicy};
use crate::mapping::MapSpec;

/// A parsed, validated plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Source adapter settings (adapter name included).
    pub source: Settings,
    /// Target adapter settings (adapter name included).
    pub target: Settings,
    /// Where the state store lives.
    pub state: PathBuf,
    /// Engine options.
    pub options: Options,
    /// The target's request budget per minute, if the plan sets one.
    pub requests_per_minute: Option<u32>,
    /// The plan's `[map]` tables, to be resolved against both sides
    /// ([`crate::mapping::Mapping::resolve`]) before anything moves.
    pub map: MapSpec,
    /// The plan's `[filter]` (empty: everything moves); its scope is discovered from
    /// the source before each run and verification ([`crate::filter::Scope::discover`]).
    pub filter: crate::filter::FilterSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    source: Option<toml::Table>,
    target: Option<toml::Table>,
    #[serde(default)]
    run: RawRun,
    map: Option<toml::Table>,
    filter: Option<toml::Table>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRun {
    state: Option<String>,
    kinds: Option<Vec<String>>,
    concurrency: Option<usize>,
    batch_size: Option<usize>,
    page_size: Option<usize>,
    requests_per_minute: Option<u32>,
    unresolved_references: Option<UnresolvedPolicy>,
    placeholder_user: Option<String>,
    incremental: Option<bool>,
    /// Sample tickets a dry run's report shows before and after (0: none).
    samples: Option<usize>,
    /// Seconds one side may fail only transiently before the run stops.
    give_up_after_seconds: Option<u64>,
    /// Preflight risks the plan accepts by name (`target_notifications`).
    accept_risks: Option<Vec<String>>,
}

/// Setting names that hold credentials and so must be references.
const SECRET_WORDS: &[&str] = &["password", "token", "secret", "api_key", "apikey", "key"];

fn adapter_settings(
    role: &str,
    table: Option<toml::Table>,
    base: &Path,
    rpm: Option<u32>,
    problems: &mut Vec<String>,
) -> Settings {
    let Some(mut table) = table else {
        problems.push(format!("missing [{role}] table; add one with `adapter = \"archive\"` (see `switchover adapters`)"));
        return Settings::default();
    };
    let adapter = match table.remove("adapter") {
        Some(toml::Value::String(name)) => name,
        Some(other) => {
            problems.push(format!("[{role}] adapter must be a name, found {other}"));
            String::new()
        }
        None => {
            problems.push(format!(
                "[{role}] has no `adapter = \"...\"`; see `switchover adapters` for the names"
            ));
            String::new()
        }
    };
    let mut values = serde_json::Map::new();
    for (key, value) in table {
        let lowered = key.to_ascii_lowercase();
        if let toml::Value::String(text) = &value {
            let secret_like = SECRET_WORDS
                .iter()
                .any(|w| lowered == *w || lowered.ends_with(&format!("_{w}")));
            if secret_like && !(text.starts_with("env:") || text.starts_with("file:")) {
                problems.push(format!(
                    "[{role}] {key} holds a literal secret; write `{key} = \"env:VARIABLE\"` or `\"file:PATH\"` so it never sits in a plan"
                ));
                continue;
            }
        }
        let mut json = match serde_json::to_value(&value) {
            Ok(json) => json,
            Err(e) => {
                problems.push(format!("[{role}] {key}: {e}"));
                continue;
            }
        };
        if key == "path"
            && let Some(text) = json.as_str()
        {
            json = serde_json::Value::String(base.join(text).display().to_string());
        }
        // A secret file named relative to the plan, like every other path in it.
        if let Some(file) = json.as_str().and_then(|t| t.strip_prefix("file:"))
            && Path::new(file).is_relative()
        {
            json = serde_json::Value::String(format!("file:{}", base.join(file).display()));
        }
        values.insert(key, json);
    }
    if let Some(rpm) = rpm {
        values.entry("requests_per_minute").or_insert(rpm.into());
    }
    Settings::new(adapter, values)
}

impl Plan {
    /// Reads and validates a plan file; relative paths are relative to the file.
    pub fn load(path: &Path) -> Result<Plan, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            EngineError::Plan(vec![format!("cannot read plan {}: {e}", path.display())])
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Plan::parse(&text, base)
    }

    /// Parses and validates plan text; every problem is reported at once.
    pub fn parse(text: &str, base: &Path) -> Result<Plan, EngineError> {
        let raw: RawPlan = toml::from_str(text)
            .map_err(|e| EngineError::Plan(vec![format!("not a valid plan: {e}")]))?;
        let mut problems = Vec::new();
        let run = raw.run;
        let source = adapter_settings("source", raw.source, base, None, &mut problems);
        let target = adapter_settings(
            "target",
            raw.target,
            base,
            run.requests_per_minute,
            &mut problems,
        );
        let state = match run.state {
            Some(state) => base.join(state),
            None => {
                problems.push("[run] has no `state = \"migration.sqlite\"`: the state store is what makes a run resumable".into());
                PathBuf::new()
            }
        };
        let mut kinds = Vec::new();
        match run.kinds {
            None => kinds = Kind::ALL.to_vec(),
            Some(names) => {
                for name in names {
                    if name == "all" {
                        kinds.extend(Kind::ALL);
                        continue;
                    }
                    match name.parse::<Kind>() {
                        Ok(kind) => kinds.push(kind),
                        Err(e) => problems.push(format!("[run] kinds: {e}")),
                    }
                }
            }
        }
        for risk in run.accept_risks.iter().flatten() {
            if risk != switchover_adapter::TARGET_NOTIFICATIONS {
                problems.push(format!(
                    "[run] accept_risks: unknown risk '{risk}'; the known risk is '{}'",
                    switchover_adapter::TARGET_NOTIFICATIONS
                ));
            }
        }
        if run.give_up_after_seconds == Some(0) {
            problems.push("[run] give_up_after_seconds must be at least 1 (default 300)".into());
        }
        if run.concurrency == Some(0) {
            problems.push("[run] concurrency must be at least 1".into());
        }
        if run.batch_size == Some(0) {
            problems.push("[run] batch_size must be at least 1".into());
        }
        if run.requests_per_minute == Some(0) {
            problems.push("[run] requests_per_minute must be at least 1".into());
        }
        let unresolved = run.unresolved_references.unwrap_or_default();
        if unresolved == UnresolvedPolicy::Placeholder && run.placeholder_user.is_none() {
            problems.push("[run] unresolved_references = \"placeholder\" needs `placeholder_user = \"<target user id>\"`".into());
        }
        let map = raw
            .map
            .map(|table| MapSpec::parse(&table, &mut problems))
            .unwrap_or_default();
        let filter = raw
            .filter
            .map(|table| crate::filter::FilterSpec::parse(&table, &mut problems))
            .unwrap_or_default();
        if !problems.is_empty() {
            return Err(EngineError::Plan(problems));
        }
        Ok(Plan {
            source,
            target,
            state,
            options: Options {
                kinds,
                concurrency: run.concurrency.unwrap_or(4),
                batch_size: run.batch_size,
                page_size: run.page_size,
                unresolved,
                placeholder_user: run.placeholder_user,
                incremental: run.incremental.unwrap_or(false),
                samples: run.samples.unwrap_or(Options::default().samples),
                accept_risks: run.accept_risks.clone().unwrap_or_default(),
                give_up_after: run
                    .give_up_after_seconds
                    .map(std::time::Duration::from_secs)
                    .unwrap_or(Options::default().give_up_after),
                ..Options::default()
            },
            requests_per_minute: run.requests_per_minute,
            map,
            filter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plan that parses, with mappings, secrets by file and every [run] setting.
    const FULL_PLAN: &str = "[source]\nadapter = \"zendesk\"\nurl = \"https://acme.zendesk.com\"\nemail = \"a@b.c\"\napi_token = \"file:token\"\n[target]\nadapter = \"freshdesk\"\nurl = \"https://acme.freshdesk.com\"\napi_key = \"env:FD_KEY\"\n[run]\nstate = \"s.sqlite\"\nkinds = [\"tickets\", \"users\"]\nconcurrency = 4\nbatch_size = 50\nsamples = 2\ngive_up_after_seconds = 60\naccept_risks = [\"target_notifications\"]\n[map.status]\npending = \"on_hold\"\n[map.groups]\n\"Tier 2\" = \"Escalations\"\n[map.users]\ndeparted_agents = \"former@acme.com\"\n[map.fields.\"Product area\"]\nto = \"Product\"\nvalues = { \"a\" = \"b\" }\nunmapped = \"default:Other\"\n";

    proptest! {
        /// Any text is a plan or a plan error, never a panic.
        #[test]
        fn any_text_is_a_plan_or_a_plan_error(text in "\\PC{0,200}") {
            let _ = Plan::parse(&text, Path::new("."));
        }

        /// A real plan with lines dropped, repeated or cut short: a plan or an error
        /// naming the problem, never a panic.
        #[test]
        fn a_damaged_plan_is_a_plan_or_a_plan_error(
            edits in prop::collection::vec((0usize..40, 0u8..4, "\\PC{0,8}"), 0..6)
        ) {
            let mut lines: Vec<String> = FULL_PLAN.lines().map(str::to_string).collect();
            for (at, how, junk) in edits {
                let i = at % lines.len().max(1);
                match how {
                    0 if !lines.is_empty() => { lines.remove(i); }
                    1 => { let line = lines.get(i).cloned().unwrap_or_default(); lines.insert(i, line); }
                    2 => { if let Some(line) = lines.get_mut(i) { let cut = line.len() / 2; line.truncate(line.char_indices().map(|(n, _)| n).take_while(|n| *n <= cut).last().unwrap_or(0)); } }
                    _ => { if let Some(line) = lines.get_mut(i) { line.push_str(&junk); } }
                }
            }
            let _ = Plan::parse(&lines.join("\n"), Path::new("."));
        }
    }

    #[test]
    fn the_plan_the_damage_trial_starts_from_parses() {
        let plan = Plan::parse(FULL_PLAN, Path::new("."));
        assert!(plan.is_ok(), "{:?}", plan.err());
    }

    #[test]
    fn every_plan_problem_is_reported_at_once() {
        let text = r#"
            [source]
            path = "in"
            [target]
            adapter = "zendesk"
            api_token = "abc123"
            [run]
            kinds = ["tickets", "tikets"]
            concurrency = 0
            unresolved_references = "placeholder"
        "#;
        let Err(EngineError::Plan(problems)) = Plan::parse(text, Path::new(".")) else {
            panic!("a broken plan must be refused");
        };
        let all = problems.join("\n");
        for expected in [
            "[source] has no `adapter",
            "literal secret",
            "unknown record kind 'tikets'",
            "concurrency",
            "state",
            "placeholder_user",
        ] {
            assert!(all.contains(expected), "missing '{expected}' in:\n{all}");
        }
        assert!(
            !all.contains("abc123"),
            "a secret leaked into the error: {all}"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_plan() {
        let text = "[source]\nadapter = \"archive\"\npath = \"in\"\n[target]\nadapter = \"archive\"\npath = \"out\"\n[run]\nstate = \"s.sqlite\"\n";
        let plan = Plan::parse(text, Path::new("/plans")).ok();
        assert_eq!(
            plan.as_ref().map(|p| p.state.clone()),
            Some(PathBuf::from("/plans/s.sqlite"))
        );
        assert_eq!(
            plan.and_then(|p| p.source.optional_string("path").ok().flatten()),
            Some("/plans/in".into())
        );
    }

    #[test]
    fn secret_files_are_relative_to_the_plan_and_environment_references_untouched() {
        let text = "[source]\nadapter = \"zendesk\"\napi_token = \"file:secrets/token\"\n[target]\nadapter = \"freshdesk\"\napi_key = \"env:FD_KEY\"\npassword = \"file:/etc/pw\"\n[run]\nstate = \"s.sqlite\"\n";
        let plan = Plan::parse(text, Path::new("/plans")).ok();
        let value = |role: &str, key: &str| {
            plan.as_ref().and_then(|p| {
                let settings = if role == "source" {
                    &p.source
                } else {
                    &p.target
                };
                settings.optional_string(key).ok().flatten()
            })
        };
        assert_eq!(
            value("source", "api_token"),
            Some("file:/plans/secrets/token".into())
        );
        assert_eq!(value("target", "api_key"), Some("env:FD_KEY".into()));
        assert_eq!(value("target", "password"), Some("file:/etc/pw".into()));
    }
}
