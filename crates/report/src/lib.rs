//! Reports a sales engineer hands to a prospect, and a services engineer to a customer:
//! a dry run ([`DryRunReport`]) or a verification ([`VerifyReport`]) rendered as one
//! self-contained HTML file (inline CSS; no JavaScript, fonts, images or links to
//! anything outside the file; prints on paper as it shows on screen) or as Markdown for
//! an e-mail or a ticket.
//!
//! Design decisions:
//! - The renderers get the engine's reports and a [`ReportContext`] of non-secret facts
//!   (adapter names, the plan's file name, the time), never the plan's settings: a
//!   report cannot leak a credential it was never given.
//! - Record ids, failure messages, field names and preflight warnings come from the
//!   customer's data. In HTML every value is escaped by the template engine (MiniJinja's
//!   HTML auto-escaping) and data is wrapped in `<bdi>` so right-to-left text cannot
//!   reorder the line around it. In Markdown every value is escaped by default too (a
//!   custom auto-escape mode), and ids go into code spans fenced so they cannot end.
//! - Sample tickets come from the engine unredacted; module [`redact`] masks the
//!   prospect's customers' personal data before any template sees it, and the report
//!   says what was redacted.
//! - Numbers, grouping and capping are computed here in Rust (module `view`); the templates
//!   under `templates/` only lay them out. The templates are compiled into the crate.

#![deny(missing_docs)]

pub mod charts;
mod markdown;
pub mod redact;
mod view;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use switchover_engine::{DryRunReport, VerifyReport};
use switchover_model::Timestamp;

pub use view::LIST_CAP;

/// Where the request budget a dry run's time estimate assumes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetOrigin {
    /// The plan's `requests_per_minute`.
    Plan,
    /// The target adapter's declared default quota.
    TargetDefault,
}

/// Non-secret facts about the run a report describes. Nothing here may come from the
/// plan's adapter settings: those may hold credentials.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportContext {
    /// Source adapter name (`zendesk`, `archive`...).
    pub source_adapter: String,
    /// Target adapter name.
    pub target_adapter: String,
    /// The plan's file name, without its folder (`acme.toml`).
    pub plan_name: String,
    /// When the report was made.
    pub generated_at: Timestamp,
    /// Where a dry run's request budget came from, when it had one.
    pub budget_origin: Option<BudgetOrigin>,
}

impl ReportContext {
    /// A context made now, with no budget origin.
    pub fn new(
        source_adapter: impl Into<String>,
        target_adapter: impl Into<String>,
        plan_name: impl Into<String>,
    ) -> Self {
        ReportContext {
            source_adapter: source_adapter.into(),
            target_adapter: target_adapter.into(),
            plan_name: plan_name.into(),
            generated_at: Timestamp::now(),
            budget_origin: None,
        }
    }
}

/// Why a report could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A template failed to compile or render (a bug in this crate's templates).
    #[error("cannot render the report template '{template}': {message}")]
    Template {
        /// The template's name.
        template: &'static str,
        /// The template engine's explanation, with line numbers.
        message: String,
    },
}

const BASE_HTML: &str = include_str!("../templates/base.html");
const DRY_RUN_HTML: &str = include_str!("../templates/dry_run.html");
const DRY_RUN_MD: &str = include_str!("../templates/dry_run.md");
const VERIFY_HTML: &str = include_str!("../templates/verify.html");
const VERIFY_MD: &str = include_str!("../templates/verify.md");
const INTEGRATIONS_HTML: &str = include_str!("../templates/integrations.html");
const INTEGRATIONS_MD: &str = include_str!("../templates/integrations.md");

/// The template environment: HTML templates auto-escape as HTML, Markdown templates
/// with [`markdown::ESCAPE`]; undefined variables are errors, not empty strings.
fn environment() -> Result<Environment<'static>, ReportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Block tags leave no blank lines behind: Markdown tables need rows back to back.
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
        .map_err(|e| template_error("syntax", &e))?;
    env.set_syntax(syntax);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else if name.ends_with(".md") {
            AutoEscape::Custom(markdown::ESCAPE.into())
        } else {
            AutoEscape::None
        }
    });
    env.set_formatter(markdown::formatter);
    env.add_filter("code", markdown::code);
    env.add_filter("cellcode", markdown::cell_code);
    for (name, source) in [
        ("base.html", BASE_HTML),
        ("dry_run.html", DRY_RUN_HTML),
        ("dry_run.md", DRY_RUN_MD),
        ("verify.html", VERIFY_HTML),
        ("verify.md", VERIFY_MD),
        ("integrations.html", INTEGRATIONS_HTML),
        ("integrations.md", INTEGRATIONS_MD),
    ] {
        env.add_template(name, source)
            .map_err(|e| template_error(name, &e))?;
    }
    Ok(env)
}

fn template_error(template: &'static str, error: &minijinja::Error) -> ReportError {
    // `{:#}` adds the template excerpt and line where it failed.
    ReportError::Template {
        template,
        message: format!("{error:#}"),
    }
}

fn render(template: &'static str, view: Value) -> Result<String, ReportError> {
    let env = environment()?;
    let tmpl = env
        .get_template(template)
        .map_err(|e| template_error(template, &e))?;
    tmpl.render(view).map_err(|e| template_error(template, &e))
}

fn dry_run_view(report: &DryRunReport, context: &ReportContext) -> Value {
    Value::from(Serde(view::DryRunView::new(report, context)))
}

fn verify_view(report: &VerifyReport, context: &ReportContext) -> Value {
    Value::from(Serde(view::VerifyView::new(report, context)))
}

/// A dry run as one self-contained HTML page: what would move, what would fail and why,
/// what the target cannot keep, requests and hours at the rate budget, the target's
/// preflight warnings and the kinds left behind.
pub fn dry_run_html(report: &DryRunReport, context: &ReportContext) -> Result<String, ReportError> {
    render("dry_run.html", dry_run_view(report, context))
}

/// A dry run as Markdown, with the same content as [`dry_run_html`].
pub fn dry_run_markdown(
    report: &DryRunReport,
    context: &ReportContext,
) -> Result<String, ReportError> {
    render("dry_run.md", dry_run_view(report, context))
}

/// A verification as one self-contained HTML page: per kind matched, differ, missing,
/// extra and unmarked records with their ids, attachments checked and differing, lossy
/// fields, Merkle roots, manifest digests and a verdict line.
pub fn verify_html(report: &VerifyReport, context: &ReportContext) -> Result<String, ReportError> {
    render("verify.html", verify_view(report, context))
}

/// A verification as Markdown, with the same content as [`verify_html`].
pub fn verify_markdown(
    report: &VerifyReport,
    context: &ReportContext,
) -> Result<String, ReportError> {
    render("verify.md", verify_view(report, context))
}
