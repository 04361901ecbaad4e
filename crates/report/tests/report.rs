//! The reports a sales engineer hands to a prospect, rendered from real dry runs and
//! verifications over archives seeded with the hostile conformance dataset.

use std::path::Path;

use switchover_adapter::{
    AdapterError, Capabilities, LossyField, PageRequest, Preflight, Source, Target, TargetInfo,
    WriteRequest,
};
use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{
    Cancel, DryRunReport, Options, Silent, VerifyReport, dry_run, migrate, verify,
};
use switchover_model::{Kind, Record};
use switchover_report::{
    BudgetOrigin, ReportContext, dry_run_html, dry_run_markdown, verify_html, verify_markdown,
};
use switchover_testkit::Dataset;
use switchover_testkit::dataset::{AnyContent, Generated, seed_kind};
use switchover_testkit::wrap::{Wrap, Wrapped};

/// A ticket id a hostile export could hold: markup, quotes, right-to-left text, emoji.
const HOSTILE_TICKET: &str = "<script>alert(\"t\")</script> تذكرة 🔥 '&";
/// A comment id likewise, on a comment whose attachment is too large for the target.
const HOSTILE_COMMENT: &str = "<script>alert('c')</script><img src=x onerror=alert(1)> \u{202E}cba";
/// A file name likewise.
const HOSTILE_FILE: &str = "<script>steal()</script>.txt";
/// A preflight warning naming a trigger the customer called something hostile.
const HOSTILE_WARNING: &str =
    "trigger \"<script>notify()</script>\" e-mails requesters when a ticket is created";
/// Personal data a prospect's customer wrote into every generated ticket and comment:
/// no report may show it.
const CUSTOMER_EMAIL: &str = "jane.doe@prospect-customer.com";
/// Likewise a phone number.
const CUSTOMER_PHONE: &str = "+1 (555) 010-9999";
/// The target's attachment limit in these tests: generated attachments are 4096 bytes.
const LIMIT: u64 = 4000;
/// Generated tickets, each with two comments, the second carrying an attachment.
const TICKETS: usize = 30;

/// The conformance dataset plus generated tickets, one of them (and one of its comments
/// and that comment's attachment) named with hostile strings.
fn seed(path: &Path) {
    let dataset = Dataset::conformance();
    let content = AnyContent(&dataset);
    let archive = Archive::open_target(path).expect("seed archive");
    dataset.seed(&archive, &content).expect("seed dataset");
    let (mut tickets, mut comments) = Generated::tickets(0..TICKETS, 2, 4096);
    let first = tickets[0].id().to_string();
    for ticket in &mut tickets {
        if let Record::Ticket(t) = ticket {
            t.subject = format!("{}: call me at {CUSTOMER_PHONE}", t.subject);
        }
    }
    for comment in &mut comments {
        if let Record::Comment(c) = comment {
            c.body_text = format!(
                "{} Write to {CUSTOMER_EMAIL} <b>or</b> {CUSTOMER_PHONE}",
                c.body_text
            );
            c.body_html = Some(format!(
                "<p>Write to <a href=\"mailto:{CUSTOMER_EMAIL}\">{CUSTOMER_EMAIL}</a> or {CUSTOMER_PHONE}</p>"
            ));
        }
    }
    *tickets[0].id_mut() = HOSTILE_TICKET.to_string();
    for comment in &mut comments {
        if let Record::Comment(c) = comment
            && c.ticket.id() == first
        {
            *c.ticket.id_mut() = HOSTILE_TICKET.to_string();
            if !c.attachments.is_empty() {
                c.id = HOSTILE_COMMENT.to_string();
                c.attachments[0].file_name = HOSTILE_FILE.to_string();
            }
        }
    }
    seed_kind(&archive, Kind::Ticket, &tickets, &content).expect("seed tickets");
    seed_kind(&archive, Kind::Comment, &comments, &content).expect("seed comments");
    Target::finish(&archive).expect("finish seed");
}

/// The archive as a narrower SaaS would declare itself: a 4000-byte attachment limit, a
/// request quota, tickets' tags kept only as a label, no webhooks, and a notification
/// rule its preflight warns about.
struct Narrow(Archive);

impl Wrap for Narrow {
    type Inner = Archive;
    fn inner(&self) -> &Archive {
        &self.0
    }
    fn capabilities(&self) -> Capabilities {
        let mut caps = TargetInfo::capabilities(&self.0);
        caps.adapter = "narrow".into();
        caps.max_attachment_bytes = Some(LIMIT);
        caps.requests_per_minute = Some(60);
        caps.kinds.remove(&Kind::Webhook);
        // A SaaS charges a request a record, where the local archive charges none.
        for capability in caps.kinds.values_mut() {
            capability.write_cost = switchover_adapter::RequestCost::default();
        }
        if let Some(ticket) = caps.kinds.get_mut(&Kind::Ticket) {
            ticket.fields.remove("tags");
            ticket.lossy = LossyField::list(&[("tags", "joined into one <b>label</b>")]);
        }
        caps
    }
    fn preflight(&self) -> Result<Preflight, AdapterError> {
        Ok(Preflight {
            warnings: vec![HOSTILE_WARNING.to_string()],
            ..Preflight::default()
        })
    }
}

fn options() -> Options {
    Options {
        batch_size: Some(25),
        page_size: Some(60),
        ..Options::default()
    }
}

fn context(target: &str) -> ReportContext {
    ReportContext {
        budget_origin: Some(BudgetOrigin::TargetDefault),
        ..ReportContext::new("archive", target, "prospect <acme>.toml")
    }
}

fn dry_run_report() -> DryRunReport {
    dry_run_report_with(&options())
}

fn dry_run_report_with(options: &Options) -> DryRunReport {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"));
    let source = Archive::open_source(&dir.path().join("src")).expect("source");
    let target = Wrapped(Narrow(
        Archive::open_target(&dir.path().join("dst")).expect("target"),
    ));
    dry_run(&source, &target, options, None, &Silent, &Cancel::new()).expect("dry run")
}

/// Migrates into the narrower target and verifies; with `edit`, first changes the
/// hostile ticket on the target behind the migration's back.
fn verify_report(edit: bool) -> VerifyReport {
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&dir.path().join("src"));
    let source = Archive::open_source(&dir.path().join("src")).expect("source");
    let target = Wrapped(Narrow(
        Archive::open_target(&dir.path().join("dst")).expect("target"),
    ));
    let mut state = StateStore::open(&dir.path().join("state.sqlite")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &options(),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    if edit {
        let mut ticket = read_all(&source, Kind::Ticket)
            .into_iter()
            .find(|t| t.id() == HOSTILE_TICKET)
            .expect("hostile ticket");
        if let Record::Ticket(t) = &mut ticket {
            t.subject = "edited on the target".into();
        }
        target
            .write_batch(
                Kind::Ticket,
                &[WriteRequest {
                    record: ticket,
                    existing: None,
                    children: Vec::new(),
                }],
                &Dataset::conformance(),
            )
            .expect("edit");
    }
    verify(&source, &target, &mut state, &Kind::ALL, &Silent).expect("verify")
}

fn read_all(source: &Archive, kind: Kind) -> Vec<Record> {
    let mut out = Vec::new();
    let mut request = PageRequest::default();
    loop {
        let page = source.read_page(kind, &request).expect("read");
        out.extend(page.records);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return out,
        }
    }
}

/// `s` as MiniJinja's HTML auto-escaping writes it.
fn html_escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

fn label(kind: Kind) -> String {
    kind.as_str().replace('_', " ")
}

/// Every tag the page opens, by name.
fn tags(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|rest| {
            rest.trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

/// The page is one file of known, inert markup: no script, image, frame or link, and no
/// address of anything outside it.
fn assert_self_contained_and_inert(html: &str) {
    const ALLOWED: &[&str] = &[
        "!doctype", "html", "head", "meta", "title", "style", "body", "header", "main", "footer",
        "section", "h1", "h2", "h3", "p", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th",
        "td", "ul", "li", "code", "bdi", "span", "div", "h4", "svg", "title", "rect", "text",
        "line",
    ];
    for tag in tags(html) {
        assert!(
            ALLOWED.contains(&tag.as_str()),
            "unexpected <{tag}> in the page"
        );
    }
    for tag in html.split('<').skip(1) {
        let inside = tag.split('>').next().unwrap_or_default();
        for attribute in ["src=", "href=", "url(", "style="] {
            assert!(!inside.contains(attribute), "<{inside}> refers outside");
        }
    }
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .expect("inline style");
    for outside in ["url(", "@import", "@font-face", "//"] {
        assert!(
            !style.contains(outside),
            "the style refers outside: {outside}"
        );
    }
    // URLs appear only as inert text: the external URLs an integration calls, each in
    // its own <code>.
    for scheme in ["http:", "https:"] {
        for (at, _) in html.match_indices(scheme) {
            assert!(
                html[..at].ends_with("<code>"),
                "a URL outside a code span: {}",
                &html[at.saturating_sub(40)..(at + 40).min(html.len())]
            );
        }
    }
}

/// Cells of a Markdown table row, split on pipes that are not backslash-escaped.
fn cells(row: &str) -> usize {
    let mut pipes = 0;
    let mut chars = row.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '|' => pipes += 1,
            _ => {}
        }
    }
    pipes - 1
}

/// Every table: a header, a delimiter row of as many cells, rows of as many cells, each
/// starting and ending with a pipe; returns the number of tables.
fn assert_tables_well_formed(markdown: &str) -> usize {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut tables = 0;
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with('|') {
            i += 1;
            continue;
        }
        tables += 1;
        let header = cells(lines[i]);
        let delimiter = lines.get(i + 1).copied().unwrap_or_default();
        assert!(
            delimiter.starts_with("|---") || delimiter.starts_with("|:--"),
            "a table without a delimiter row after: {}",
            lines[i]
        );
        assert_eq!(cells(delimiter), header, "delimiter of: {}", lines[i]);
        i += 2;
        while i < lines.len() && lines[i].starts_with('|') {
            assert!(lines[i].ends_with('|'), "row not closed: {}", lines[i]);
            assert_eq!(cells(lines[i]), header, "row: {}", lines[i]);
            i += 1;
        }
        assert!(
            lines.get(i).is_none_or(|l| l.is_empty()),
            "a table must end at a blank line, not: {:?}",
            lines.get(i)
        );
    }
    tables
}

#[test]
fn dry_run_html_has_every_kind_with_the_engines_counts() {
    let report = dry_run_report();
    let html = dry_run_html(&report, &context("narrow")).expect("render");
    assert!(report.run.kinds.len() > 10, "{:?}", report.run.kinds.keys());
    for (kind, c) in &report.run.kinds {
        let row = format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            label(*kind),
            c.created + c.updated,
            c.failed,
            c.skipped,
            c.requests
        );
        assert!(html.contains(&row), "no row {row}");
    }
    let totals = report.run.totals();
    assert!(totals.failed > 0 && totals.created > 0);
    assert!(html.contains(&format!(
        "<tr class=\"total\"><td>total</td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
        totals.created, totals.failed
    )));
    // The header: source -> target, plan, when.
    assert!(html.contains("<bdi>archive</bdi> → <bdi>narrow</bdi>"));
    assert!(html.contains(&html_escaped("prospect <acme>.toml")));
    assert!(html.contains("Dry run report — nothing was written"));
}

#[test]
fn dry_run_failures_are_grouped_by_reason_with_capped_ids() {
    let report = dry_run_report();
    let html = dry_run_html(&report, &context("narrow")).expect("render");
    // Every comment whose attachment is over the limit fails for the one reason: the
    // generated ones and the conformance dataset's 3 MB file, whatever their names.
    let oversized = report
        .run
        .failures
        .iter()
        .filter(|f| f.kind == Kind::Comment)
        .count();
    assert_eq!(oversized, TICKETS + 1, "{:?}", report.run.failures);
    assert!(
        html.contains(&format!(
            "<h3><bdi>comments</bdi>: {oversized} records, invalid record</h3>"
        )),
        "{html}"
    );
    assert!(html.contains(&html_escaped(&format!(
        "over the target's {LIMIT} byte limit"
    ))));
    assert!(html.contains(&format!(
        "<li class=\"more\">and {} more</li>",
        oversized - 20
    )));
    // The knowledge base article with a 40 kB guide is its own group.
    assert!(html.contains("<h3><bdi>kb articles</bdi>: 1 record, invalid record</h3>"));
    assert!(html.contains("<code><bdi>ka-1</bdi></code>"));
}

#[test]
fn dry_run_html_shows_lossy_fields_warnings_kinds_left_behind_and_the_estimate() {
    let report = dry_run_report();
    let html = dry_run_html(&report, &context("narrow")).expect("render");
    assert!(html.contains(&format!(
        "<tr><td>tickets</td><td><code><bdi>tags</bdi></code></td><td><bdi>{}</bdi></td></tr>",
        html_escaped("joined into one <b>label</b>")
    )));
    assert!(html.contains(&format!(
        "<li><bdi>{}</bdi></li>",
        html_escaped(HOSTILE_WARNING)
    )));
    assert!(
        html.contains(
            "<tr><td>webhooks</td><td><bdi>narrow does not write webhooks</bdi></td></tr>"
        )
    );
    assert_eq!(report.requests_per_minute, Some(60));
    assert!(html.contains("60 requests/minute"));
    assert!(html.contains("the default quota narrow declares"));
    let hours = report.estimated_hours.expect("estimate");
    assert!(hours > 0.0);
    assert!(html.contains(&format!("{} minutes", (hours * 60.0).ceil() as u64)));
    assert!(html.contains(&format!("({} bytes)", thousands(report.attachment_bytes))));
    assert!(html.contains("Integrations (macros, rules, sla policies, views)"));
    // The inventory names each rule and macro with its verdict: the archive holds
    // every part, so each is translated fully.
    assert!(html.contains("<section id=\"integrations\">"));
    for title in [
        "Close &amp; thank",
        "Notify requester of receipt",
        "Close solved after 4 days",
    ] {
        assert!(
            html.contains(&format!(
                "<td><bdi>{title}</bdi></td><td>yes</td><td>translated fully</td>"
            )),
            "{title} in the inventory"
        );
    }
    // Every value in use, with where it lands.
    assert!(html.contains("<section id=\"coverage\">"));
    let open = report
        .coverage
        .iter()
        .find(|r| r.field == "status" && r.value == "open")
        .expect("the open status is in use");
    assert!(html.contains(&format!(
        "<td><bdi>status</bdi></td><td><code><bdi>open</bdi></code></td><td class=\"num\">{}</td>",
        open.records
    )));
    // Charts of the account, with counts that add up to the tickets read.
    assert!(html.contains("<section id=\"charts\">"));
    assert!(html.contains("<svg role=\"img\" aria-label=\"Tickets by status\""));
    let tickets = report.run.kinds[&Kind::Ticket].processed();
    assert_eq!(report.profile.by_status.values().sum::<u64>(), tickets);
    assert_eq!(
        report.profile.tickets_per_month.values().sum::<u64>(),
        tickets
    );
    // The target writes no webhooks: the one the source has is named, left behind.
    assert!(
        html.contains("<td><bdi>CRM sync</bdi></td><td>yes</td><td>left behind</td>"),
        "the webhook left behind is named"
    );
    assert!(html.contains(&format!(
        "<code>{}</code>",
        html_escaped("https://crm.example/hooks/helpdesk?src=zd")
    )));
}

#[test]
fn customer_data_in_a_report_renders_as_text_never_as_markup() {
    let dry = dry_run_report();
    let failed_ids: Vec<&str> = dry
        .run
        .failures
        .iter()
        .map(|f| f.source_id.as_str())
        .collect();
    assert!(failed_ids.contains(&HOSTILE_COMMENT), "{failed_ids:?}");
    let mismatch = verify_report(true);
    let pages = [
        dry_run_html(&dry, &context("narrow")).expect("dry run"),
        verify_html(&mismatch, &context("narrow")).expect("verify"),
    ];
    for html in &pages {
        assert!(!html.contains("<script"), "raw script in the page");
        assert!(!html.contains("<img"), "raw image in the page");
        assert!(!html.contains("<b>"), "raw markup in the page");
        assert_self_contained_and_inert(html);
        // The text is all there, readable: right-to-left and emoji as they are.
        assert!(html.contains("تذكرة 🔥") || html.contains("\u{202E}cba"));
    }
    assert!(pages[0].contains(&format!(
        "<code><bdi>{}</bdi></code>",
        html_escaped(HOSTILE_COMMENT)
    )));
    assert!(pages[0].contains(&html_escaped(HOSTILE_FILE)));
    assert!(pages[1].contains(&format!(
        "<code><bdi>{} (subject)</bdi></code>",
        html_escaped(HOSTILE_TICKET)
    )));
}

/// The parts of the personal data a redaction that let them through would show.
fn assert_no_personal_data(page: &str) {
    for leak in [
        CUSTOMER_EMAIL,
        "jane.doe",
        "prospect-customer",
        "prospect\\-customer",
        "010-9999",
        "(555)",
        "010\\-9999",
        "5550109999",
    ] {
        assert!(!page.contains(leak), "the report shows {leak:?}");
    }
}

#[test]
fn dry_run_samples_show_tickets_before_and_after_without_personal_data() {
    // Every ticket a sample: the conformance tickets come first, the generated ones
    // holding the customer's e-mail address and phone number after them.
    let dry = dry_run_report_with(&Options {
        samples: 100,
        ..options()
    });
    assert_eq!(dry.samples.len(), 4 + TICKETS);
    let html = dry_run_html(&dry, &context("narrow")).expect("html");
    let markdown = dry_run_markdown(&dry, &context("narrow")).expect("markdown");
    for page in [&html, &markdown] {
        assert!(page.contains("Sample tickets, before and after"));
        assert!(page.contains("Personal data redacted"));
        assert_no_personal_data(page);
    }
    // Redacted, not left out: the shape of the data is still there.
    assert!(
        html.contains("j***@***.com"),
        "no masked address in the page"
    );
    assert!(html.contains("[phone]"), "no masked phone in the page");
    assert!(markdown.contains("j\\*\\*\\*@\\*\\*\\*.com"));
    assert!(markdown.contains("\\[phone\\]"));
    // People by role, the lossy field with the target's (hostile) words, escaped.
    assert!(html.contains("‹requester›"));
    assert!(html.contains("altered: joined into one &lt;b&gt;label&lt;&#x2f;b&gt;"));
    assert!(html.contains("kept as is"));
    assert!(!html.contains("<b>"), "raw markup in the page");
    assert!(!html.contains("<a "), "raw link in the page");
    assert_self_contained_and_inert(&html);
    assert_tables_well_formed(&markdown);
    // The hostile ticket is a sample (it sorts first): its id is escaped text.
    assert!(
        dry.samples
            .iter()
            .any(|s| s.ticket.source_id == HOSTILE_TICKET),
        "hostile ticket not sampled"
    );
    assert!(html.contains(&format!(
        "Ticket <code><bdi>{}</bdi></code>",
        html_escaped(HOSTILE_TICKET)
    )));
}

#[test]
fn verify_html_says_all_matched_after_a_clean_migration() {
    let report = verify_report(false);
    assert!(report.all_matched());
    let html = verify_html(&report, &context("narrow")).expect("render");
    let matched: u64 = report.kinds.values().map(|k| k.matched).sum();
    assert!(html.contains(&format!(
        "<p class=\"verdict ok\" id=\"verdict\">Verdict: ALL MATCHED: all {} record(s) read from the source are on the target",
        thousands(matched)
    )));
    assert!(!html.contains("DIFFERENCES FOUND"));
    assert!(html.contains(&format!(
        "<tr><th>Source manifest digest</th><td class=\"digest\">{}</td></tr>",
        report.source_manifest
    )));
    assert!(html.contains(">equal<"));
    // What the target cannot keep is listed, and what it cannot hold is not verified.
    assert!(html.contains("<h3>tickets</h3>\n<p>Kept only in altered form, so not compared:</p>"));
    assert!(html.contains(&format!(
        "<tr><td><code><bdi>tags</bdi></code></td><td><bdi>{}</bdi></td></tr>",
        html_escaped("joined into one <b>label</b>")
    )));
    assert!(
        html.contains(
            "<tr><td>webhooks</td><td><bdi>narrow does not write webhooks</bdi></td></tr>"
        )
    );
    assert!(html.contains("1 kind(s) not verified, listed below"));
    for (kind, v) in &report.kinds {
        assert!(html.contains(&format!(
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">0</td>",
            label(*kind),
            thousands(v.source_records),
            thousands(v.matched)
        )));
        assert!(html.contains(&format!(
            "<td class=\"digest\">{}</td><td class=\"digest\">{}</td>",
            v.source_root, v.target_root
        )));
    }
    let comments = &report.kinds[&Kind::Comment];
    assert!(comments.attachments_checked > 0);
    assert!(html.contains(&format!(
        "<td class=\"num\">{}</td><td class=\"num\">0</td><td class=\"ok\">matched</td>",
        comments.attachments_checked
    )));
}

#[test]
fn verify_html_names_the_record_edited_on_the_target() {
    let report = verify_report(true);
    assert!(!report.all_matched());
    assert_eq!(
        report.kinds[&Kind::Ticket].differing,
        [switchover_engine::DifferingRecord {
            source_id: HOSTILE_TICKET.into(),
            fields: vec!["subject".into()],
        }]
    );
    let html = verify_html(&report, &context("narrow")).expect("render");
    assert!(
        html.contains("<p class=\"verdict bad\" id=\"verdict\">Verdict: DIFFERENCES FOUND: of ")
    );
    assert!(html.contains(
        "record(s) read from the source, 1 differ and 0 are missing on the target; 0 extra on the target"
    ));
    assert!(!html.contains("ALL MATCHED"));
    assert!(html.contains(&format!(
        "<p>Differ (1), with the fields that differ:</p><ul class=\"ids\"><li><code><bdi>{} (subject)</bdi></code></li></ul>",
        html_escaped(HOSTILE_TICKET)
    )));
    assert!(html.contains("<td class=\"bad\">differences</td>"));
    assert!(html.contains(">different<"));
    assert_ne!(report.source_manifest, report.target_manifest);
    assert!(html.contains(&report.target_manifest.to_string()));
}

#[test]
fn markdown_reports_have_well_formed_tables_and_escape_customer_data() {
    let dry = dry_run_report();
    let matched = verify_report(false);
    let mismatch = verify_report(true);
    let documents = [
        dry_run_markdown(&dry, &context("narrow")).expect("dry run"),
        verify_markdown(&matched, &context("narrow")).expect("verify matched"),
        verify_markdown(&mismatch, &context("narrow")).expect("verify mismatch"),
    ];
    for md in &documents {
        assert!(assert_tables_well_formed(md) >= 2, "{md}");
        // Markup from the data is backslash-escaped or inside a code span.
        for line in md.lines() {
            let outside_code: String = line.split('`').step_by(2).collect();
            for (at, _) in outside_code.match_indices('<') {
                assert!(
                    outside_code[..at].ends_with('\\'),
                    "unescaped markup: {line}"
                );
            }
        }
    }
    let [dry_md, matched_md, mismatch_md] = &documents;
    assert!(dry_md.starts_with("# Dry run: archive → narrow\n"));
    for (kind, c) in &dry.run.kinds {
        let row = format!(
            "| {} | {} | {} | {} | {} |",
            label(*kind).replace('_', "\\_"),
            c.created + c.updated,
            c.failed,
            c.skipped,
            c.requests
        );
        assert!(dry_md.contains(&row), "no row {row}");
    }
    assert!(dry_md.contains(&format!(
        "### comments: {} records, invalid record",
        TICKETS + 1
    )));
    assert!(dry_md.contains(&format!(" and {} more\n", TICKETS + 1 - 20)));
    assert!(dry_md.contains("| tickets | `tags` | joined into one \\<b\\>label\\</b\\> |"));
    assert!(dry_md.contains("- trigger \"\\<script\\>notify()\\</script\\>\" e-mails requesters"));
    assert!(dry_md.contains(&format!("`{HOSTILE_COMMENT}`")));
    assert!(matched_md.contains("**Verdict: ALL MATCHED: "));
    assert!(mismatch_md.contains("**Verdict: DIFFERENCES FOUND: of "));
    assert!(
        mismatch_md.contains(" read from the source, 1 differ and 0 are missing on the target;")
    );
    assert!(mismatch_md.contains(&format!(
        "- Differ (1), with the fields that differ: `{HOSTILE_TICKET} (subject)`"
    )));
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).expect("ascii"))
        .collect();
    groups.join(",")
}

/// A customer reads in the verification report which values the plan mapped before the
/// comparison, and how many records it folded into records the target already had.
#[test]
fn the_verification_report_names_what_the_plan_mapped() {
    let mut report = VerifyReport::default();
    report.kinds.insert(
        Kind::Ticket,
        switchover_engine::KindVerification {
            source_records: 3,
            matched: 3,
            mapped_fields: vec!["status".into(), "custom_fields (Product area)".into()],
            ..Default::default()
        },
    );
    report.kinds.insert(
        Kind::User,
        switchover_engine::KindVerification {
            source_records: 5,
            matched: 4,
            mapped: 1,
            ..Default::default()
        },
    );
    let markdown = verify_markdown(&report, &context("archive")).expect("markdown");
    assert!(
        markdown.contains("Mapped by the plan")
            && markdown.contains("`custom_fields (Product area)`"),
        "{markdown}"
    );
    let html = verify_html(&report, &context("archive")).expect("html");
    assert!(html.contains("Mapped by the plan"), "{html}");
    assert!(
        html.contains("Folded by the plan into records the target already has (not compared): 1"),
        "{html}"
    );
}
