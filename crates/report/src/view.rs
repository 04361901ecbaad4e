//! What the templates print, computed from the engine's reports: totals, human units,
//! failures grouped by reason, lists capped at [`LIST_CAP`] with how many more.

use std::collections::BTreeMap;

use serde::Serialize;
use switchover_adapter::LossyField;
use switchover_engine::integrations::{IntegrationVerdict, IntegrationsReport};
use switchover_engine::state::Failure;
use switchover_engine::{
    DryRunReport, FieldFate, KindVerification, SampleOutcome, SampleRecord, SampleTicket,
    VerifyReport,
};
use switchover_model::{Kind, RulePart, Untranslated};

use crate::charts::{self, Bar};
use crate::{BudgetOrigin, ReportContext, redact};

/// How many ids a report lists per group or per bucket; the rest are counted
/// ("and 180 more").
pub const LIST_CAP: usize = 20;

/// Error kind of records the plan's policy skips instead of failing.
const SKIPPED: &str = "skipped_reference";

/// A capped list of ids or lines, and how many were left out.
#[derive(Debug, Clone, Serialize)]
pub struct Capped {
    /// The first [`LIST_CAP`].
    pub items: Vec<String>,
    /// How many more there are.
    pub more: u64,
}

impl Capped {
    /// The first [`LIST_CAP`] of `items`, out of `total` (which may be larger than the
    /// list when the list was itself capped upstream).
    fn new(items: &[String], total: u64) -> Self {
        let items: Vec<String> = items.iter().take(LIST_CAP).cloned().collect();
        Capped {
            more: total.saturating_sub(items.len() as u64),
            items,
        }
    }
}

/// Records of one kind that would fail (or be skipped) for one reason.
#[derive(Debug, Clone, Serialize)]
pub struct FailureGroup {
    /// The kind.
    pub kind: String,
    /// The error kind in words (`invalid record`, `unresolved reference`...).
    pub error_kind: String,
    /// How many records.
    pub count: u64,
    /// The first record's message: the reason, with that record's details.
    pub example: String,
    /// Source ids of the records.
    pub ids: Capped,
}

pub(crate) use switchover_engine::failures::reason_key;

/// A kind as a person reads it: `kb articles`, `group memberships`.
pub(crate) fn label(kind: Kind) -> String {
    kind.as_str().replace('_', " ")
}

fn error_kind_words(error_kind: &str) -> String {
    match error_kind {
        SKIPPED => "skipped: reference not on the target".to_string(),
        other => other.replace('_', " "),
    }
}

/// Groups failures by kind, error kind and reason; largest groups first within a kind,
/// kinds in dependency order.
pub(crate) fn group_failures<'a>(failures: impl Iterator<Item = &'a Failure>) -> Vec<FailureGroup> {
    let mut groups: BTreeMap<(Kind, String, String), (String, Vec<String>)> = BTreeMap::new();
    for f in failures {
        let key = (
            f.kind,
            f.error_kind.clone(),
            reason_key(&f.message, &f.source_id),
        );
        groups
            .entry(key)
            .or_insert_with(|| (f.message.clone(), Vec::new()))
            .1
            .push(f.source_id.clone());
    }
    let mut out: Vec<(Kind, FailureGroup)> = groups
        .into_iter()
        .map(|((kind, error_kind, _), (example, ids))| {
            (
                kind,
                FailureGroup {
                    kind: label(kind),
                    error_kind: error_kind_words(&error_kind),
                    count: ids.len() as u64,
                    example,
                    ids: Capped::new(&ids, ids.len() as u64),
                },
            )
        })
        .collect();
    out.sort_by(|(ka, a), (kb, b)| {
        ka.order()
            .cmp(&kb.order())
            .then(b.count.cmp(&a.count))
            .then(a.example.cmp(&b.example))
    });
    out.into_iter().map(|(_, g)| g).collect()
}

/// `2024-05-01T08:30:12.5Z` as `2024-05-01 08:30 UTC`; anything else as it is.
fn to_the_minute(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(minute) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{} UTC", minute.replacen('T', " ", 1))
        }
        _ => rfc3339.to_string(),
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    // ASCII digits: every group of three (from the right) is valid UTF-8.
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or_default())
        .collect();
    groups.join(",")
}

/// Bytes in binary units: `3.0 MiB`, `512 bytes`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Hours as a person reads them: `under a minute`, `25 minutes`, `3.4 hours`,
/// `31.0 hours (about 1.3 days)`.
pub(crate) fn human_hours(hours: f64) -> String {
    if !hours.is_finite() || hours < 0.0 {
        return "unknown".to_string();
    }
    let minutes = hours * 60.0;
    if minutes < 1.0 {
        "under a minute".to_string()
    } else if hours < 1.0 {
        format!("{} minutes", minutes.ceil() as u64)
    } else if hours < 24.0 {
        format!("{hours:.1} hours")
    } else {
        format!("{hours:.1} hours (about {:.1} days)", hours / 24.0)
    }
}

/// The header every report starts with.
#[derive(Debug, Clone, Serialize)]
pub struct Header {
    /// Source adapter.
    pub source: String,
    /// Target adapter.
    pub target: String,
    /// The plan's file name.
    pub plan: String,
    /// When the report was made, to the minute, in UTC (`2024-05-01 08:30 UTC`).
    pub generated_at: String,
}

impl Header {
    fn new(context: &ReportContext) -> Self {
        Header {
            source: context.source_adapter.clone(),
            target: context.target_adapter.clone(),
            plan: context.plan_name.clone(),
            generated_at: to_the_minute(&context.generated_at.to_string()),
        }
    }
}

/// One row of the dry run's per-kind table.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunKind {
    /// The kind.
    pub kind: String,
    /// Records that would be created (updated ones included).
    pub create: String,
    /// Records that would fail.
    pub fail: String,
    /// Records the plan's policy would skip.
    pub skip: String,
    /// Target requests.
    pub requests: String,
    /// Attachment bytes, human.
    pub attachment_bytes: String,
}

/// A kind's lossy fields.
#[derive(Debug, Clone, Serialize)]
pub struct LossyKind {
    /// The kind.
    pub kind: String,
    /// `(field, how)` pairs.
    pub fields: Vec<LossyLine>,
}

/// One lossy field.
#[derive(Debug, Clone, Serialize)]
pub struct LossyLine {
    /// Projection path of the field.
    pub field: String,
    /// What the target does with it.
    pub how: String,
}

/// A kind with a reason (left behind, not verified).
#[derive(Debug, Clone, Serialize)]
pub struct KindReason {
    /// The kind.
    pub kind: String,
    /// Why.
    pub reason: String,
}

fn kind_reasons(list: &[(Kind, String)]) -> Vec<KindReason> {
    list.iter()
        .map(|(kind, reason)| KindReason {
            kind: label(*kind),
            reason: reason.clone(),
        })
        .collect()
}

fn lossy_lines(lossy: &[LossyField]) -> Vec<LossyLine> {
    lossy
        .iter()
        .map(|l| LossyLine {
            field: l.field.clone(),
            how: l.how.clone(),
        })
        .collect()
}

/// The integrations section: per kind the share translated, per record its verdict,
/// and the external URLs the integrations call.
#[derive(Debug, Clone, Serialize, Default)]
pub struct IntegrationsView {
    /// Per kind: records, translated fully, parts translated.
    pub kinds: Vec<IntegrationShareRow>,
    /// Per record.
    pub items: Vec<IntegrationRow>,
    /// External URLs, each with the records that call it.
    pub urls: Vec<UrlRow>,
}

/// One kind's share translated.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationShareRow {
    /// The kind.
    pub kind: String,
    /// Records.
    pub records: String,
    /// Records translated fully.
    pub translated: String,
    /// Parts translated of all parts, in words ("45 of 48, 93.8%").
    pub parts: String,
}

/// One integration record.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrationRow {
    /// The kind.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Whether it is active in the source.
    pub active: bool,
    /// The verdict in words.
    pub verdict: &'static str,
    /// The parts named (untranslated or left out), each with why; e-mail addresses masked.
    pub parts: Vec<String>,
    /// Why it is left behind, when it is.
    pub reason: Option<String>,
}

/// An external URL and who calls it.
#[derive(Debug, Clone, Serialize)]
pub struct UrlRow {
    /// The URL.
    pub url: String,
    /// Titles of the records that call it.
    pub callers: String,
}

/// Masks the e-mail addresses in a rule part (the rest is configuration, kept).
fn mask_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        if token.contains('@') && token.contains('.') {
            out.push_str(&redact::email(token));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_whitespace() || "\"',;:[]{}<>()".contains(c) {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

fn integrations_view(report: &IntegrationsReport) -> IntegrationsView {
    let part = |u: &Untranslated| {
        let name = match u.part {
            RulePart::Event => "event",
            RulePart::Condition => "condition",
            RulePart::Action => "action",
            RulePart::Placeholder => "placeholder",
            RulePart::Setting => "setting",
        };
        format!(
            "{name} {}: {}",
            mask_addresses(&u.vendor_form),
            mask_addresses(&u.reason)
        )
    };
    IntegrationsView {
        kinds: report
            .shares
            .iter()
            .map(|(kind, s)| IntegrationShareRow {
                kind: label(*kind),
                records: thousands(s.records),
                translated: thousands(s.translated),
                parts: if s.parts == 0 {
                    "none".to_string()
                } else {
                    format!(
                        "{} of {} ({:.1}%)",
                        thousands(s.parts_translated),
                        thousands(s.parts),
                        100.0 * s.parts_translated as f64 / s.parts as f64
                    )
                },
            })
            .collect(),
        items: report
            .items
            .iter()
            .map(|item| {
                let (verdict, parts, reason) = match &item.verdict {
                    IntegrationVerdict::Translated => ("translated fully", Vec::new(), None),
                    IntegrationVerdict::WithChanges { changes } => (
                        "translated with changes",
                        changes.iter().map(part).collect(),
                        None,
                    ),
                    IntegrationVerdict::NeedsPerson { parts } => {
                        ("needs a person", parts.iter().map(part).collect(), None)
                    }
                    IntegrationVerdict::LeftBehind { reason } => {
                        ("left behind", Vec::new(), Some(reason.clone()))
                    }
                };
                IntegrationRow {
                    kind: label(item.kind),
                    title: item.title.clone(),
                    active: item.active,
                    verdict,
                    parts,
                    reason,
                }
            })
            .collect(),
        urls: report
            .external_urls
            .iter()
            .map(|(url, callers)| UrlRow {
                url: url.clone(),
                callers: callers.join(", "),
            })
            .collect(),
    }
}

/// One chart: its SVG for the HTML report, its rows for the Markdown one.
#[derive(Debug, Clone, Serialize)]
pub struct ChartView {
    /// Its title.
    pub title: String,
    /// Inline SVG, built and escaped by [`crate::charts`].
    pub svg: String,
    /// The values, for a table.
    pub rows: Vec<Bar>,
}

/// One source value in use and where it lands.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageView {
    /// The field (`status`, `group`, a custom field's name).
    pub field: String,
    /// The source value.
    pub value: String,
    /// Records using it.
    pub records: String,
    /// Where it lands, in words.
    pub lands: String,
    /// Whether the plan leaves it unmapped.
    pub unmapped: bool,
}

/// The estimate at one of the target's plans.
#[derive(Debug, Clone, Serialize)]
pub struct TierRow {
    /// The plan.
    pub name: String,
    /// Its budget.
    pub budget: String,
    /// The estimated time, human.
    pub duration: String,
    /// Whether the estimate above assumed it.
    pub assumed: bool,
}

fn counted(map: &BTreeMap<String, u64>) -> Vec<Bar> {
    map.iter()
        .map(|(label, n)| Bar {
            label: label.clone(),
            value: *n,
            shown: thousands(*n),
        })
        .collect()
}

fn charts(report: &DryRunReport) -> Vec<ChartView> {
    let profile = &report.profile;
    let mut out = Vec::new();
    let mut push = |title: &str, rows: Vec<Bar>, series: bool| {
        if rows.is_empty() {
            return;
        }
        let svg = if series {
            charts::columns(title, &rows)
        } else {
            charts::bars(title, &rows)
        };
        out.push(ChartView {
            title: title.to_string(),
            svg,
            rows,
        });
    };
    let months: Vec<Bar> = counted(&profile.tickets_per_month)
        .into_iter()
        .filter(|b| b.label != "unknown")
        .collect();
    push("Tickets created per month", months, true);
    push("Tickets by status", counted(&profile.by_status), false);
    push("Tickets by priority", counted(&profile.by_priority), false);
    push("Tickets by channel", counted(&profile.by_channel), false);
    let bytes: Vec<Bar> = profile
        .attachment_bytes_per_month
        .iter()
        .filter(|(m, _)| m.as_str() != "unknown")
        .map(|(m, b)| Bar {
            label: m.clone(),
            value: *b,
            shown: human_bytes(*b),
        })
        .collect();
    push("Attachment volume per month", bytes, true);
    let budget = report.requests_per_minute;
    let requests: Vec<Bar> = report
        .run
        .kinds
        .iter()
        .filter(|(_, c)| c.requests > 0)
        .map(|(k, c)| Bar {
            label: label(*k),
            value: c.requests,
            shown: match budget {
                Some(b) => format!(
                    "{} ({})",
                    thousands(c.requests),
                    human_hours(c.requests as f64 / f64::from(b.max(1)) / 60.0)
                ),
                None => thousands(c.requests),
            },
        })
        .collect();
    let title = match budget {
        Some(b) => format!(
            "Requests per kind, and their time at {} requests/minute",
            thousands(u64::from(b))
        ),
        None => "Requests per kind".to_string(),
    };
    push(&title, requests, false);
    out
}

/// Everything a dry-run template prints.
#[derive(Debug, Clone, Serialize)]
pub struct DryRunView {
    /// Header.
    pub header: Header,
    /// Records that would be created.
    pub create: String,
    /// Records that would fail.
    pub fail: String,
    /// Records that would be skipped.
    pub skip: String,
    /// Records read.
    pub processed: String,
    /// Attachment bytes, human.
    pub attachment_bytes: String,
    /// Attachment bytes, exact.
    pub attachment_bytes_exact: String,
    /// Target requests.
    pub requests: String,
    /// Estimated time, human; `None` without a budget.
    pub duration: Option<String>,
    /// The budget, requests per minute.
    pub budget: Option<String>,
    /// Where the budget came from, in words.
    pub budget_origin: Option<String>,
    /// Per-kind rows.
    pub kinds: Vec<DryRunKind>,
    /// Totals row.
    pub totals: DryRunKind,
    /// Records that would fail, grouped by reason.
    pub failures: Vec<FailureGroup>,
    /// Records that would be skipped, grouped by reason.
    pub skipped: Vec<FailureGroup>,
    /// Fields the target would not keep as they are.
    pub lossy: Vec<LossyKind>,
    /// The target's preflight warnings.
    pub warnings: Vec<String>,
    /// Kinds that would not move, with why.
    pub left_behind: Vec<KindReason>,
    /// Integration kinds that would move (a person reviews them before switching them
    /// on).
    pub integrations: Vec<String>,
    /// The integrations inventory.
    pub inventory: IntegrationsView,
    /// Charts of the account and the run.
    pub charts: Vec<ChartView>,
    /// Every status, priority, type, group, assignee and custom field value the source
    /// uses, with its record count and where the plan's map lands it.
    pub coverage: Vec<CoverageView>,
    /// How many of those values are unmapped.
    pub unmapped: usize,
    /// The estimate at each of the target's plans.
    pub tiers: Vec<TierRow>,
    /// Whether the dry run was stopped before the end (the numbers are partial).
    pub interrupted: bool,
    /// Sample tickets before and after, redacted.
    pub samples: Vec<SampleView>,
    /// What the samples' redaction hides, in one sentence.
    pub redaction: &'static str,
}

/// One field of a sample record, redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRow {
    /// Projection path.
    pub field: String,
    /// The value in the source, redacted.
    pub source: String,
    /// What the target does with it, in words.
    pub target: String,
    /// `kept`, `altered` or `dropped`, for styling.
    pub fate: &'static str,
}

/// One record of a sample, redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRecordView {
    /// Its source id (record ids are not personal data).
    pub id: String,
    /// Its fields.
    pub rows: Vec<SampleRow>,
    /// The predicted outcome, in words.
    pub outcome: String,
    /// Whether that outcome is a success.
    pub ok: bool,
}

/// One sample ticket with its comments, redacted.
#[derive(Debug, Clone, Serialize)]
pub struct SampleView {
    /// The ticket.
    pub ticket: SampleRecordView,
    /// Its first comments.
    pub comments: Vec<SampleRecordView>,
}

fn sample_record(record: &SampleRecord) -> SampleRecordView {
    let rows = record
        .fields
        .iter()
        .map(|f| {
            let (target, fate) = match &f.target {
                FieldFate::Kept => ("kept as is".to_string(), "kept"),
                FieldFate::Altered { how } => match &f.after {
                    // The value the target will hold, by its own rule.
                    Some(after) => (
                        format!(
                            "becomes {} ({})",
                            redact::field(&f.field, after),
                            redact::contact_details(how)
                        ),
                        "altered",
                    ),
                    None => (
                        format!("altered: {}", redact::contact_details(how)),
                        "altered",
                    ),
                },
                FieldFate::Dropped { reason } => (
                    format!("not kept: {}", redact::contact_details(reason)),
                    "dropped",
                ),
            };
            SampleRow {
                field: f.field.clone(),
                source: redact::field(&f.field, &f.value),
                target,
                fate,
            }
        })
        .collect();
    let (outcome, ok) = match &record.outcome {
        SampleOutcome::WouldBeCreated => ("would be created".to_string(), true),
        SampleOutcome::WouldFail { error_kind, reason } => (
            format!(
                "would fail ({}): {}",
                error_kind.replace('_', " "),
                redact::reason(reason)
            ),
            false,
        ),
        SampleOutcome::WouldBeSkipped { reason } => (
            format!("would be skipped: {}", redact::reason(reason)),
            false,
        ),
        SampleOutcome::NotWritten => ("not reached by the dry run".to_string(), false),
    };
    SampleRecordView {
        id: record.source_id.clone(),
        rows,
        outcome,
        ok,
    }
}

fn sample_view(sample: &SampleTicket) -> SampleView {
    SampleView {
        ticket: sample_record(&sample.ticket),
        comments: sample.comments.iter().map(sample_record).collect(),
    }
}

fn dry_run_row(kind: String, c: &switchover_engine::KindCounts) -> DryRunKind {
    DryRunKind {
        kind,
        create: thousands(c.created + c.updated),
        fail: thousands(c.failed),
        skip: thousands(c.skipped),
        requests: thousands(c.requests),
        attachment_bytes: human_bytes(c.attachment_bytes),
    }
}

impl DryRunView {
    /// The view of a dry run.
    pub fn new(report: &DryRunReport, context: &ReportContext) -> Self {
        let totals = report.run.totals();
        let (failed, skipped): (Vec<&Failure>, Vec<&Failure>) = report
            .run
            .failures
            .iter()
            .partition(|f| f.error_kind != SKIPPED);
        DryRunView {
            header: Header::new(context),
            create: thousands(totals.created + totals.updated),
            fail: thousands(totals.failed),
            skip: thousands(totals.skipped),
            processed: thousands(totals.processed()),
            attachment_bytes: human_bytes(report.attachment_bytes),
            attachment_bytes_exact: thousands(report.attachment_bytes),
            requests: thousands(report.requests),
            duration: report.estimated_hours.map(human_hours),
            budget: report.requests_per_minute.map(|b| thousands(u64::from(b))),
            budget_origin: report
                .requests_per_minute
                .and(context.budget_origin)
                .map(|o| match o {
                    BudgetOrigin::Plan => "the plan's requests_per_minute".to_string(),
                    BudgetOrigin::TargetDefault => {
                        format!("the default quota {} declares", context.target_adapter)
                    }
                }),
            kinds: report
                .run
                .kinds
                .iter()
                .map(|(k, c)| dry_run_row(label(*k), c))
                .collect(),
            totals: dry_run_row("total".to_string(), &totals),
            failures: group_failures(failed.into_iter()),
            skipped: group_failures(skipped.into_iter()),
            lossy: report
                .lossy
                .iter()
                .map(|(k, l)| LossyKind {
                    kind: label(*k),
                    fields: lossy_lines(l),
                })
                .collect(),
            warnings: report.warnings.clone(),
            left_behind: kind_reasons(&report.run.left_behind),
            integrations: report
                .run
                .kinds
                .keys()
                .filter(|k| k.is_integration())
                .map(|k| label(*k))
                .collect(),
            inventory: integrations_view(&report.integrations),
            charts: charts(report),
            coverage: report
                .coverage
                .iter()
                .map(|row| CoverageView {
                    field: row.field.clone(),
                    value: row.value.clone(),
                    records: thousands(row.records),
                    lands: row.lands.clone(),
                    unmapped: row.unmapped,
                })
                .collect(),
            unmapped: report.coverage.iter().filter(|r| r.unmapped).count(),
            tiers: report
                .tiers
                .iter()
                .map(|t| TierRow {
                    name: t.name.clone(),
                    budget: format!(
                        "{} requests/minute",
                        thousands(u64::from(t.requests_per_minute))
                    ),
                    duration: human_hours(t.hours),
                    assumed: t.assumed,
                })
                .collect(),
            interrupted: report.run.interrupted,
            samples: report.samples.iter().map(sample_view).collect(),
            redaction: redact::NOTICE,
        }
    }
}

/// One kind of a verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyKind {
    /// The kind.
    pub kind: String,
    /// Whether everything of it matched.
    pub ok: bool,
    /// Records read from the source (the plan's scope).
    pub source_records: String,
    /// Matched records.
    pub matched: String,
    /// Differing records.
    pub differ: String,
    /// Missing on the target.
    pub missing: String,
    /// Extra on the target.
    pub extra: String,
    /// Unmarked records on the target.
    pub unmarked: String,
    /// Attachments hashed on the target.
    pub attachments_checked: String,
    /// Attachments whose bytes differ.
    pub attachments_differing: String,
    /// Records that differ, each with the fields that differ.
    pub differ_ids: Capped,
    /// Records missing on the target, each with why.
    pub missing_ids: Capped,
    /// How many are missing for each reason, in words.
    pub missing_by_reason: Vec<String>,
    /// Source markers extra on the target, each with what is known of it.
    pub extra_ids: Capped,
    /// Attachments that differ, one line each.
    pub attachments_differ: Capped,
    /// Lossy fields.
    pub lossy: Vec<LossyLine>,
    /// Fields whose source values the plan's map changed before the comparison.
    pub mapped_fields: Vec<String>,
    /// Source records the plan's map folded into target records (not compared), in
    /// words; empty when none.
    pub folded: String,
    /// Merkle root of the source digests.
    pub source_root: String,
    /// Merkle root of the target digests.
    pub target_root: String,
    /// Whether the roots are equal.
    pub roots_equal: bool,
}

/// One line per listed record.
fn lines<T: std::fmt::Display>(records: &[T]) -> Vec<String> {
    records.iter().map(ToString::to_string).collect()
}

impl VerifyKind {
    fn new(kind: Kind, v: &KindVerification) -> Self {
        VerifyKind {
            kind: label(kind),
            ok: v.all_matched(),
            source_records: thousands(v.source_records),
            matched: thousands(v.matched),
            differ: thousands(v.differ),
            missing: thousands(v.missing),
            extra: thousands(v.extra),
            unmarked: thousands(v.unmarked),
            attachments_checked: thousands(v.attachments_checked),
            attachments_differing: thousands(v.attachments_differ.len() as u64),
            differ_ids: Capped::new(&lines(&v.differing), v.differ),
            missing_ids: Capped::new(&lines(&v.missing_records), v.missing),
            missing_by_reason: v
                .missing_by_reason
                .iter()
                .map(|(reason, n)| format!("{} {}", thousands(*n), reason.describe()))
                .collect(),
            extra_ids: Capped::new(&lines(&v.extra_records), v.extra),
            attachments_differ: Capped::new(
                &v.attachments_differ,
                v.attachments_differ.len() as u64,
            ),
            lossy: lossy_lines(&v.lossy),
            mapped_fields: v.mapped_fields.clone(),
            folded: if v.mapped == 0 {
                String::new()
            } else {
                thousands(v.mapped)
            },
            source_root: v.source_root.to_string(),
            target_root: v.target_root.to_string(),
            roots_equal: v.source_root == v.target_root,
        }
    }
}

/// Everything a verification template prints.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyView {
    /// Header.
    pub header: Header,
    /// Whether everything matched (the engine's verdict).
    pub all_matched: bool,
    /// The verdict in one line.
    pub verdict: String,
    /// Per kind.
    pub kinds: Vec<VerifyKind>,
    /// Kinds with something to list (differences or lossy fields).
    pub details: Vec<VerifyKind>,
    /// Kinds not verified, with why.
    pub not_verified: Vec<KindReason>,
    /// Manifest digest over the source roots.
    pub source_manifest: String,
    /// Manifest digest over the target roots.
    pub target_manifest: String,
    /// Whether the manifests are equal.
    pub manifests_equal: bool,
    /// The integrations inventory (what the target holds of each rule and macro).
    pub inventory: IntegrationsView,
}

impl VerifyView {
    /// The view of a verification.
    pub fn new(report: &VerifyReport, context: &ReportContext) -> Self {
        let all_matched = report.all_matched();
        let kinds: Vec<VerifyKind> = report
            .kinds
            .iter()
            .map(|(k, v)| VerifyKind::new(*k, v))
            .collect();
        let sum = |f: fn(&KindVerification) -> u64| report.kinds.values().map(f).sum::<u64>();
        let matched = sum(|v| v.matched);
        let not_verified = if report.not_verified.is_empty() {
            String::new()
        } else {
            format!(
                "; {} kind(s) not verified, listed below",
                report.not_verified.len()
            )
        };
        let verdict = if all_matched {
            format!(
                "ALL MATCHED: all {} record(s) read from the source are on the target and equal on every compared field{not_verified}.",
                thousands(matched)
            )
        } else {
            format!(
                "DIFFERENCES FOUND: of {} record(s) read from the source, {} differ and {} are missing on the target; {} extra on the target, {} attachment(s) differ; {} matched{not_verified}.",
                thousands(sum(|v| v.source_records)),
                thousands(sum(|v| v.differ)),
                thousands(sum(|v| v.missing)),
                thousands(sum(|v| v.extra)),
                thousands(sum(|v| v.attachments_differ.len() as u64)),
                thousands(matched)
            )
        };
        VerifyView {
            header: Header::new(context),
            all_matched,
            verdict,
            details: kinds
                .iter()
                .filter(|k| {
                    !k.ok
                        || !k.lossy.is_empty()
                        || !k.mapped_fields.is_empty()
                        || !k.folded.is_empty()
                })
                .cloned()
                .collect(),
            kinds,
            not_verified: kind_reasons(&report.not_verified),
            source_manifest: report.source_manifest.to_string(),
            target_manifest: report.target_manifest.to_string(),
            manifests_equal: report.source_manifest == report.target_manifest,
            inventory: integrations_view(&report.integrations),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_file_names_do_not_split_a_reason_but_referenced_ids_do() {
        let a = reason_key(
            "archive: comment 'c-1' rejected: field 'attachments[big.bin]': 3145745 bytes is over the target's 1048576 byte limit",
            "c-1",
        );
        let b = reason_key(
            "archive: comment 'x-9' rejected: field 'attachments[o'brien.bin]': 2000000 bytes is over the target's 1048576 byte limit",
            "x-9",
        );
        assert_eq!(a, b);
        assert_ne!(
            reason_key(
                "references user 'agent-12', which is not on the target",
                "c-1"
            ),
            reason_key(
                "references user 'agent-13', which is not on the target",
                "c-2"
            ),
        );
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(512), "512 bytes");
        assert_eq!(human_bytes(3 * 1024 * 1024 + 17), "3.0 MiB");
        assert_eq!(human_hours(31.0), "31.0 hours (about 1.3 days)");
        assert_eq!(human_hours(0.4), "24 minutes");
        assert_eq!(
            to_the_minute("2024-05-01T08:30:12.5Z"),
            "2024-05-01 08:30 UTC"
        );
    }
}
