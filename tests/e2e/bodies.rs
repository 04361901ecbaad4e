//! Bodies keep working after the old account is closed: a Zendesk account whose
//! comments and articles embed images (token URLs and `data:` URIs) and link to each
//! other migrates through the engine into Freshdesk and into Zendesk (both seeded, not
//! empty), and then every image is an attachment on the target with the same bytes,
//! every image and internal link resolves on the target, nothing points at the source
//! except what the run's report lists, and a delta run re-points a link to a ticket
//! written after the first run.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use switchover_adapter::bodies::{Attr, host_of, urls};
use switchover_adapter::{PageRequest, Settings, Target};
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, RunSummary, Silent, migrate, verify};
use switchover_freshdesk::Freshdesk;
use switchover_freshdesk_emulator::FreshdeskEmulator;
use switchover_http::{Auth, ClientConfig, HttpClient, Request};
use switchover_model::{Kind, Record};
use switchover_sandbox::EmulatorConfig;
use switchover_zendesk::Zendesk;
use switchover_zendesk_emulator::ZendeskEmulator;

/// A 1x1 PNG.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==";

fn source_config() -> EmulatorConfig {
    EmulatorConfig {
        organizations: 1,
        users: 4,
        agents: 2,
        groups: 1,
        tickets: 4,
        comments_per_ticket: 2,
        attachment_share: 1.0,
        attachment_min_bytes: 64,
        attachment_max_bytes: 256,
        kb_articles: 3,
        ..EmulatorConfig::empty()
    }
}

fn zendesk_settings(dir: &Path, emulator: &ZendeskEmulator, name: &str) -> Settings {
    let file = dir.join(name);
    std::fs::write(&file, emulator.api_token()).expect("token file");
    Settings::new("zendesk", Default::default())
        .with("url", emulator.base_url())
        .with("email", emulator.email())
        .with("api_token", format!("file:{}", file.display()))
}

fn send(zendesk: &Zendesk, request: Request) -> Value {
    zendesk
        .http()
        .send(request)
        .expect("source request")
        .json()
        .expect("json")
}

fn post(zendesk: &Zendesk, path: &str, body: Value) -> Value {
    send(zendesk, Request::post(path).json(&body).expect("body"))
}

/// A new source ticket with one comment of `html`, uploading `files` with it; its id.
fn ticket_with(zendesk: &Zendesk, requester: u64, html: &str, tokens: &[String]) -> u64 {
    let answer = post(
        zendesk,
        "tickets.json",
        json!({"ticket": {"subject": "Bodies", "requester_id": requester,
            "comment": {"html_body": html, "uploads": tokens}}}),
    );
    answer["ticket"]["id"].as_u64().expect("ticket id")
}

/// Uploads a file to the source: its token and content URL.
fn upload(zendesk: &Zendesk, name: &str, bytes: &[u8]) -> (String, String) {
    let answer = send(
        zendesk,
        Request::post("uploads.json")
            .query("filename", name)
            .bytes(bytes.to_vec(), "image/png".to_string()),
    );
    let upload = &answer["upload"];
    (
        upload["token"].as_str().expect("token").to_string(),
        upload["attachment"]["content_url"]
            .as_str()
            .expect("content url")
            .to_string(),
    )
}

fn decode(b64: &str) -> Vec<u8> {
    let table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut acc, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in b64.chars().filter(|c| *c != '=') {
        acc = (acc << 6) | table.find(c).expect("base64") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// What the source holds besides its seeded records: a ticket whose comment shows an
/// uploaded image by its token URL, an image of another comment, a `data:` image, and
/// links to another ticket, an article, and a help center page that is no record; an
/// article with a `data:` image linking to that ticket and another article. Returns the
/// ticket's id and the bytes of the images by name.
struct Seeded {
    ticket: u64,
    linked_ticket: u64,
}

fn seed_source(zendesk: &Zendesk, base: &str) -> Seeded {
    let users = send(zendesk, Request::get("users.json"));
    let requester = users["users"]
        .as_array()
        .and_then(|all| {
            all.iter()
                .find(|u| u["role"] == "end-user" && u["active"] != false)
        })
        .and_then(|u| u["id"].as_u64())
        .expect("an end user");
    let articles = send(zendesk, Request::get("help_center/articles.json"));
    let article_ids: Vec<u64> = articles["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter_map(|a| a["id"].as_u64())
        .collect();
    assert!(article_ids.len() >= 2, "the source has articles");
    let linked_ticket = ticket_with(zendesk, requester, "<p>The first report.</p>", &[]);
    let (token, url) = upload(zendesk, "screenshot.png", &decode(PNG));
    let html = format!(
        r#"<p>Screenshot: <img src="{url}"> and inline <img src="data:image/png;base64,{PNG}"></p><p>Same as <a href="{base}/agent/tickets/{linked_ticket}">#{linked_ticket}</a>, see <a href="{base}/hc/en-us/articles/{}-fixing-it">the article</a> and <a href="{base}/hc/en-us/community/posts">the community</a>; also <a href="https://example.org/elsewhere">elsewhere</a>.</p>"#,
        article_ids[0]
    );
    let ticket = ticket_with(zendesk, requester, &html, &[token]);
    // An article embedding an image and linking to a ticket and another article.
    let body = format!(
        r#"<p>Steps <img src="data:image/png;base64,{PNG}"></p><p>Reported in <a href="{base}/agent/tickets/{ticket}">a ticket</a>; background in <a href="{base}/hc/en-us/articles/{}">another article</a>.</p>"#,
        article_ids[1]
    );
    let article = article_ids[0];
    let translations = send(
        zendesk,
        Request::get(format!("help_center/articles/{article}/translations.json")),
    );
    let locale = translations["translations"][0]["locale"]
        .as_str()
        .unwrap_or("en-us")
        .to_string();
    send(
        zendesk,
        Request::put(format!(
            "help_center/articles/{article}/translations/{locale}.json"
        ))
        .json(&json!({"translation": {"body": body}}))
        .expect("body"),
    );
    Seeded {
        ticket,
        linked_ticket,
    }
}

fn options(kinds: &[Kind]) -> Options {
    Options {
        kinds: kinds.to_vec(),
        batch_size: Some(10),
        concurrency: 1,
        backoff: Duration::from_millis(10),
        accept_risks: vec![switchover_adapter::TARGET_NOTIFICATIONS.into()],
        samples: 0,
        ..Options::default()
    }
}

/// Every record of a kind on the target, as read back.
fn read_back(target: &dyn Target, kind: Kind) -> Vec<Record> {
    let mut request = PageRequest::default();
    let mut all = Vec::new();
    loop {
        let page = target.read_back(kind, &request).expect("read back");
        all.extend(page.records.into_iter().map(|r| r.record));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return all,
        }
    }
}

fn body_of(record: &Record) -> Option<String> {
    match record {
        Record::Comment(c) => c.body_html.clone(),
        Record::KbArticle(a) => Some(a.body_html.clone()),
        _ => None,
    }
}

fn fetch(client: &HttpClient, url: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    client
        .download(url)
        .map_err(|e| e.to_string())?
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// The checks after a run into `target`: every image of a migrated body is one of its
/// record's attachments on the target and fetches with those bytes, every link into the
/// target resolves, and only bodies the run's report lists still point at the source.
fn check_bodies(
    target: &dyn Target,
    client: &HttpClient,
    source_host: &str,
    target_host: &str,
    summary: &RunSummary,
    kinds: &[Kind],
) -> (usize, usize) {
    let (mut images, mut links) = (0, 0);
    let listed: Vec<&String> = summary
        .bodies
        .outside
        .iter()
        .flat_map(|o| &o.urls)
        .collect();
    for kind in kinds {
        for record in read_back(target, *kind) {
            let Some(html) = body_of(&record) else {
                continue;
            };
            for (attr, url) in urls(&html) {
                let host = host_of(&url);
                if host.as_deref() == Some(source_host) {
                    assert!(
                        listed.contains(&&url),
                        "{kind} '{}' points at the source ({url}) and the report does not list it: {:?}",
                        record.id(),
                        summary.bodies.outside
                    );
                    continue;
                }
                assert!(
                    !url.starts_with("switchover-"),
                    "a placeholder reached the target: {html}"
                );
                if host.as_deref() != Some(target_host) {
                    continue;
                }
                let bytes = fetch(client, &url).unwrap_or_else(|e| {
                    panic!("{kind} '{}': {url} does not resolve: {e}", record.id())
                });
                match attr {
                    Attr::Src => {
                        images += 1;
                        let path = switchover_adapter::bodies::path_of(&url);
                        let attachment = record
                            .attachments()
                            .iter()
                            .find(|a| {
                                a.location
                                    .as_deref()
                                    .is_some_and(|l| switchover_adapter::bodies::path_of(l) == path)
                            })
                            .unwrap_or_else(|| {
                                panic!("{url} is not an attachment of {kind} '{}'", record.id())
                            });
                        assert_eq!(bytes.len() as u64, attachment.size, "{url}");
                    }
                    Attr::Href => links += 1,
                }
            }
        }
    }
    (images, links)
}

/// Verify compares the bodies (images by their bytes, links by the record they point
/// at) and lists no body pointing at the source beyond the run's own list.
fn check_verify(source: &Zendesk, target: &dyn Target, state: &mut StateStore, kinds: &[Kind]) {
    let report = verify(source, target, state, kinds, &Silent).expect("verify");
    for kind in kinds {
        let v = &report.kinds[kind];
        assert_eq!(
            (v.differ, v.missing),
            (0, 0),
            "{kind} differs on the target: {:#?}",
            v.differing
        );
        assert!(
            v.attachments_differ.is_empty(),
            "{:?}",
            v.attachments_differ
        );
        if *kind == Kind::Comment {
            assert!(v.attachments_checked > 0);
        }
    }
}

fn freshdesk_client(emulator: &FreshdeskEmulator) -> HttpClient {
    HttpClient::new(ClientConfig {
        auth: Auth::basic(emulator.api_key(), switchover_adapter::Secret::new("X")),
        ..ClientConfig::new(format!("{}/api/v2/", emulator.base_url()))
    })
    .expect("client")
}

#[test]
fn zendesk_into_freshdesk_moves_inline_images_rewrites_links_and_a_delta_repoints_a_late_ticket() {
    let dir = tempfile::tempdir().expect("dir");
    let source_emulator = ZendeskEmulator::start(source_config()).expect("zendesk");
    let source =
        Zendesk::connect(&zendesk_settings(dir.path(), &source_emulator, "src")).expect("source");
    let base = source_emulator.base_url();
    let seeded = seed_source(&source, &base);
    // A comment linking to a ticket the source writes only after the first run: the
    // source numbers tickets in order, so it is the one after this comment's ticket.
    let next_ticket = seeded.ticket + 2;
    let requester = send(
        &source,
        Request::get(format!("tickets/{}.json", seeded.ticket)),
    )["ticket"]["requester_id"]
        .as_u64()
        .expect("requester");
    let early = ticket_with(
        &source,
        requester,
        &format!(
            r#"<p>Follow-up in <a href="{base}/agent/tickets/{next_ticket}">the next ticket</a>.</p>"#
        ),
        &[],
    );
    assert_eq!(
        early,
        seeded.ticket + 1,
        "the source numbers tickets in order"
    );

    // A seeded Freshdesk account whose admin seated the source's agents.
    let freshdesk = FreshdeskEmulator::start(EmulatorConfig {
        tickets: 2,
        users: 2,
        comments_per_ticket: 1,
        seed: 7,
        ..EmulatorConfig::empty()
    })
    .expect("freshdesk");
    let generator = switchover_sandbox::generate::Generator::new(&source_config());
    for i in 1..=2 {
        let agent = generator.agent(i);
        freshdesk.add_agent(&agent.name, agent.email.as_deref().unwrap_or_default());
    }
    std::fs::write(dir.path().join("fd-key"), freshdesk.api_key()).expect("key");
    let target = Freshdesk::connect(
        &Settings::new("freshdesk", Default::default())
            .with("url", freshdesk.base_url())
            .with(
                "api_key",
                format!("file:{}", dir.path().join("fd-key").display()),
            ),
    )
    .expect("target");
    let kinds = [
        Kind::Organization,
        Kind::User,
        Kind::Group,
        Kind::Ticket,
        Kind::Comment,
    ];
    let mut state = StateStore::open(&dir.path().join("state.db")).expect("state");
    let options = options(&kinds);
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
    assert!(summary.bodies.inline_images >= 3, "{:?}", summary.bodies);
    assert!(summary.bodies.links_rewritten >= 1, "{:?}", summary.bodies);
    assert_eq!(
        summary.bodies.links_waiting, 1,
        "the link to the ticket not written yet waits"
    );
    let source_host = host_of(&base).expect("host");
    let target_host = host_of(&freshdesk.base_url()).expect("host");
    let client = freshdesk_client(&freshdesk);
    let (images, links) = check_bodies(
        &target,
        &client,
        &source_host,
        &target_host,
        &summary,
        &[Kind::Comment],
    );
    assert!(
        images >= 3 && links >= 1,
        "{images} images, {links} links resolved"
    );
    check_verify(&source, &target, &mut state, &[Kind::Comment]);

    // The ticket the early comment links to is written after the first run.
    let late = ticket_with(&source, requester, "<p>The follow-up.</p>", &[]);
    assert_eq!(late, next_ticket, "the source numbers tickets in order");
    let delta = migrate(
        &source,
        &target,
        &mut state,
        &options,
        &Silent,
        &Cancel::new(),
    )
    .expect("delta");
    assert!(delta.failures.is_empty(), "{:#?}", delta.failures);
    assert_eq!(delta.bodies.links_waiting, 0, "{:?}", delta.bodies);
    let late_target = state
        .target_id(Kind::Ticket, &late.to_string())
        .expect("state")
        .expect("the late ticket is on the target");
    let wanted = format!("{}/a/tickets/{late_target}", freshdesk.base_url());
    let repointed = read_back(&target, Kind::Comment)
        .iter()
        .filter_map(body_of)
        .any(|html| html.contains(&wanted));
    assert!(repointed, "no comment links to {wanted}");
    fetch(&client, &wanted).expect("the re-pointed link resolves");
    let _ = seeded.linked_ticket;
}

#[test]
fn zendesk_into_zendesk_moves_comment_and_article_images_and_links() {
    let dir = tempfile::tempdir().expect("dir");
    let source_emulator = ZendeskEmulator::start(source_config()).expect("zendesk");
    let source =
        Zendesk::connect(&zendesk_settings(dir.path(), &source_emulator, "src")).expect("source");
    let base = source_emulator.base_url();
    seed_source(&source, &base);
    let target_emulator = ZendeskEmulator::start(EmulatorConfig {
        seed: 9,
        users: 2,
        agents: 1,
        tickets: 2,
        comments_per_ticket: 1,
        kb_articles: 1,
        ..EmulatorConfig::empty()
    })
    .expect("target zendesk");
    let target =
        Zendesk::connect(&zendesk_settings(dir.path(), &target_emulator, "dst")).expect("target");
    let kinds = [
        Kind::Organization,
        Kind::User,
        Kind::Group,
        Kind::Ticket,
        Kind::Comment,
        Kind::KbCategory,
        Kind::KbSection,
        Kind::KbArticle,
    ];
    let mut state = StateStore::open(&dir.path().join("state.db")).expect("state");
    let summary = migrate(
        &source,
        &target,
        &mut state,
        &options(&kinds),
        &Silent,
        &Cancel::new(),
    )
    .expect("migrate");
    assert!(summary.failures.is_empty(), "{:#?}", summary.failures);
    assert!(summary.bodies.inline_images >= 4, "{:?}", summary.bodies);
    // The article's links (to the ticket, to the other article) are re-pointed. Zendesk
    // cannot update an imported comment, so the comment's links to records written
    // after it stay pointing at the source: check_bodies requires the report to list
    // each of them.
    assert!(summary.bodies.links_rewritten >= 2, "{:?}", summary.bodies);
    let source_host = host_of(&base).expect("host");
    let target_host = host_of(&target_emulator.base_url()).expect("host");
    let (images, links) = check_bodies(
        &target,
        target.http(),
        &source_host,
        &target_host,
        &summary,
        &[Kind::Comment, Kind::KbArticle],
    );
    assert!(
        images >= 4 && links >= 2,
        "{images} images, {links} links resolved"
    );
    check_verify(
        &source,
        &target,
        &mut state,
        &[Kind::Comment, Kind::KbArticle],
    );
}
