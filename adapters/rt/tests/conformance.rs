//! The RT adapter against a real, throwaway Request Tracker 5 (scripts/rt-server.sh):
//! the shared conformance suite as source and target, and the promise that a migration
//! e-mails nobody. One server for the whole binary (its start is most of the cost).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use switchover_adapter::{Secret, Settings};
use switchover_http::{Auth, ClientConfig, HttpClient};
use switchover_testkit::Conformance;

const RT_SERVER_BIN: &str = "/usr/share/request-tracker5/libexec/rt-server";

/// A running RT; stopped when dropped.
struct Server {
    script: PathBuf,
    dir: tempfile::TempDir,
    env: std::collections::BTreeMap<String, String>,
}

impl Server {
    fn var(&self, key: &str) -> String {
        self.env.get(key).cloned().unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// Which REST 2.0 behaviour the throwaway RT shows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RtKind {
    /// The RT Debian ships today, as installed.
    AsShipped,
    /// The same RT with REST 2.0 keeping Created and Creator on a create, as builds
    /// before the October 2026 security fix did (a plugin of rt-server.sh).
    HonouringImportFields,
}

/// Starts RT, or says loudly why not (and fails when the test command requires RT).
fn start() -> Option<Server> {
    start_kind(RtKind::AsShipped)
}

fn start_kind(kind: RtKind) -> Option<Server> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("scripts/rt-server.sh");
    if !Path::new(RT_SERVER_BIN).exists() {
        assert!(
            std::env::var("SWITCHOVER_REQUIRE_RT").as_deref() != Ok("1"),
            "SWITCHOVER_REQUIRE_RT=1 but Request Tracker 5 is not installed ({RT_SERVER_BIN} missing); run scripts/rt-server.sh install"
        );
        eprintln!("SKIPPED: Request Tracker 5 is not installed; run scripts/rt-server.sh install");
        return None;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let output = Command::new(&script)
        .arg("start")
        .arg(dir.path())
        .env(
            "RT_HONOUR_IMPORT_FIELDS",
            if kind == RtKind::HonouringImportFields {
                "1"
            } else {
                "0"
            },
        )
        .output()
        .expect("run rt-server.sh");
    assert!(
        output.status.success(),
        "rt-server.sh start failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let env = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let server = Server {
        script: script.clone(),
        dir,
        env,
    };
    // REST 2.0 cannot grant rights: let privileged users own and work tickets.
    let acl = server.dir.path().join("acl.pl");
    std::fs::write(
        &acl,
        "@ACL = map { +{ GroupDomain => 'SystemInternal', GroupType => 'Privileged', Right => $_ } }\n    qw(OwnTicket ShowTicket ReplyToTicket CommentOnTicket SeeQueue ModifyTicket CreateTicket);\n1;\n",
    )
    .expect("write acl");
    let output = Command::new(&script)
        .arg("insert")
        .arg(server.dir.path())
        .arg(&acl)
        .output()
        .expect("insert acl");
    assert!(
        output.status.success(),
        "granting rights failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "RT started and prepared in {:.1}s at {}",
        started.elapsed().as_secs_f64(),
        server.var("RT_URL")
    );
    Some(server)
}

fn settings(server: &Server, password: &str, name: &str) -> Settings {
    let file = server.dir.path().join(name);
    std::fs::write(&file, format!("{password}\n")).expect("write password file");
    Settings::new("rt", Default::default())
        .with("url", server.var("RT_URL"))
        .with("user", server.var("RT_USER"))
        .with("password", format!("file:{}", file.display()))
        .with("disable_notifications", true)
}

/// A plain REST 2.0 client, beside the adapter, to ask RT directly.
fn rest(server: &Server) -> HttpClient {
    HttpClient::new(ClientConfig {
        auth: Auth::basic(
            server.var("RT_USER"),
            Secret::new(server.var("RT_PASSWORD")),
        ),
        ..ClientConfig::new(format!("{}/REST/2.0/", server.var("RT_URL")))
    })
    .expect("client")
}

fn get(client: &HttpClient, path: &str) -> serde_json::Value {
    client
        .send(switchover_http::Request::get(path))
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .expect("json")
}

/// Whether this RT keeps a past `Created` on a REST 2.0 ticket create, asked of RT
/// itself with a throwaway ticket (in a queue of its own, so no migration reads it).
fn server_keeps_created(server: &Server) -> bool {
    let client = rest(server);
    let queue: serde_json::Value = client
        .send(
            switchover_http::Request::post("queue")
                .json(&serde_json::json!({"Name": "probe"}))
                .expect("body"),
        )
        .expect("create probe queue")
        .json()
        .expect("json");
    let answer: serde_json::Value = client
        .send(
            switchover_http::Request::post("ticket")
                .json(&serde_json::json!({
                    "Queue": queue["id"], "Subject": "probe", "Created": "2001-02-03 04:05:06"
                }))
                .expect("body"),
        )
        .expect("create probe ticket")
        .json()
        .expect("json");
    let id = answer["id"].as_str().expect("ticket id").to_string();
    let ticket = get(&client, &format!("ticket/{id}"));
    let _ = client.send(switchover_http::Request::delete(format!("ticket/{id}")));
    ticket["Created"] == "2001-02-03T04:05:06Z"
}

fn email_records(server: &Server) -> u64 {
    let client = rest(server);
    let answer: serde_json::Value = client
        .send(switchover_http::Request::get("transactions").query("query", "Type = 'EmailRecord'"))
        .expect("search EmailRecord transactions")
        .json()
        .expect("json");
    answer
        .get("total")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(u64::MAX)
}

#[test]
fn rt_passes_the_conformance_suite_and_sends_no_mail() {
    let Some(server) = start() else { return };
    let good = settings(&server, &server.var("RT_PASSWORD"), "password");
    let bad = settings(&server, "not-the-password", "bad-password");

    let preflight = {
        use switchover_adapter::TargetInfo;
        switchover_rt::Rt::connect(&good)
            .expect("connect")
            .preflight()
            .expect("preflight")
    };
    assert!(
        preflight
            .warnings
            .iter()
            .any(|w| w.contains("notification scrips")),
        "a fresh RT has active notification scrips and preflight must say so: {:?}",
        preflight.warnings
    );

    let started = Instant::now();
    Conformance::new(switchover_rt::register(), good.clone())
        .bad_credentials(bad)
        .run();
    eprintln!(
        "conformance against RT took {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let rt = switchover_rt::Rt::connect(&good).expect("connect");
    assert!(
        rt.active_notification_scrips()
            .expect("list scrips")
            .is_empty(),
        "notification scrips are still active"
    );
    let mail_log = PathBuf::from(server.var("RT_MAIL_LOG"));
    let mail = std::fs::read_to_string(&mail_log).unwrap_or_default();
    assert!(
        mail.trim().is_empty(),
        "RT queued mail during the migration:\n{mail}"
    );
    assert_eq!(
        email_records(&server),
        0,
        "RT recorded outgoing e-mail (EmailRecord transactions)"
    );
}

/// The scrip table is scraped from the web UI (REST 2.0 has no scrip endpoint).
#[test]
fn scrip_rows_are_parsed_with_action_and_state() {
    let html = r#"<tbody class="list-item" data-index="6"  data-record-id="7"><tr class=" oddline" >
<td class="collection-as-table" align="right"><a href="/Admin/Scrips/Modify.html?id=7">7</a></td>
<td class="collection-as-table" ><a href="/Admin/Scrips/Modify.html?id=7">On Create Autoreply To Requestors</a></td>
<td class="collection-as-table" >On Create</td>
<td class="collection-as-table" >Autoreply To Requestors</td>
<td class="collection-as-table" >Autoreply in HTML</td>
<td class="collection-as-table" >Enabled</td>
</tr></tbody>"#;
    let scrips = switchover_rt::parse_scrips(html);
    assert_eq!(scrips.len(), 1);
    assert_eq!(scrips[0].id, "7");
    assert_eq!(scrips[0].description, "On Create Autoreply To Requestors");
    assert!(scrips[0].enabled && scrips[0].sends_mail());
}

/// Scenario 3 in miniature: a helpdesk moves archive -> RT -> archive through the engine,
/// and both legs verify equal on the fields the two sides round-trip; what RT cannot keep
/// is listed as lossy, not silently dropped.
#[test]
fn archive_to_rt_to_archive_verifies_on_the_portable_fields() {
    round_trip(RtKind::AsShipped);
}

/// The same on an RT that keeps Created and Creator on REST 2.0 creates (RT 4.4 and
/// 5.0.x before the October 2026 security fix): the adapter sees it and stores the
/// originals as RT's own.
#[test]
fn archive_to_rt_to_archive_verifies_on_an_rt_that_keeps_import_fields() {
    round_trip(RtKind::HonouringImportFields);
}

fn round_trip(kind: RtKind) {
    use switchover_engine::Options;
    use switchover_model::Kind;

    let Some(server) = start_kind(kind) else {
        return;
    };
    let rt_settings = settings(&server, &server.var("RT_PASSWORD"), "password");
    let dataset = switchover_testkit::Dataset::conformance();
    let options = Options {
        batch_size: Some(10),
        ..Options::default()
    };
    let rt = switchover_rt::Rt::connect(&rt_settings).expect("connect");
    let rt_source = switchover_rt::Rt::connect(&rt_settings).expect("connect");
    let run = switchover_testkit::archive_round_trip(&rt, &rt_source, &options);
    assert_eq!(run.there.kinds[&Kind::Ticket].created, 4);
    assert!(
        run.lossy_fields(Kind::Comment).contains(&"created_at"),
        "RT cannot set comment times; the report must say so: {:?}",
        run.lossy
    );
    assert_eq!(run.back.kinds[&Kind::Ticket].created, 4);
    assert_eq!(run.back.kinds[&Kind::Comment].created, 6);

    let learned = originals_are_kept_where_this_rt_keeps_them(&server, &rt, &dataset);
    queues_are_predicted_as_they_are_written(&rt, &dataset);

    // What RT itself does, asked without the adapter, is what the adapter learned.
    let keeps = server_keeps_created(&server);
    assert_eq!(
        keeps,
        kind == RtKind::HonouringImportFields,
        "the {kind:?} server's own behaviour"
    );
    assert_eq!(
        learned == switchover_rt::ImportFields::Kept,
        keeps,
        "the adapter learned {learned:?} from a server that keeps Created: {keeps}"
    );
}

/// After archive -> RT: the adapter learned from RT's answers whether it keeps Created and
/// Creator, and each original lives where an RT user finds it: RT's own Created and
/// Creator, or the Switchover-Original-* ticket fields (searchable) and the user's Comments.
fn originals_are_kept_where_this_rt_keeps_them(
    server: &Server,
    rt: &switchover_rt::Rt,
    dataset: &switchover_testkit::Dataset,
) -> switchover_rt::ImportFields {
    use switchover_model::{Kind, Record};
    use switchover_rt::{
        ImportField, ImportFields, ORIGINAL_CREATED_FIELD, ORIGINAL_CREATOR_FIELD,
    };
    let client = rest(server);
    let created = rt
        .import_fields(ImportField::TicketCreated)
        .expect("the adapter learned what RT does with a ticket's Created");
    let creator = rt
        .import_fields(ImportField::TicketCreator)
        .expect("the adapter learned what RT does with a ticket's Creator");
    let user_created = rt
        .import_fields(ImportField::UserCreated)
        .expect("the adapter learned what RT does with a user's Created");
    let mut checked = 0;
    for record in dataset.of(Kind::Ticket) {
        let Record::Ticket(ticket) = record else {
            continue;
        };
        let Some(at) = ticket.created_at else {
            continue;
        };
        let query = format!("'CF.{{{}}}' = '{}'", switchover_rt::MARKER_FIELD, ticket.id);
        let found = client
            .send(switchover_http::Request::get("tickets").query("query", &query))
            .expect("search by marker")
            .json::<serde_json::Value>()
            .expect("json");
        let id = found["items"][0]["id"]
            .as_str()
            .expect("migrated ticket")
            .to_string();
        let full = get(&client, &format!("ticket/{id}"));
        let field = |name: &str| {
            full["CustomFields"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|cf| cf["name"] == name)
                .and_then(|cf| cf["values"][0].as_str())
                .map(str::to_string)
        };
        match created {
            ImportFields::Kept => {
                assert_eq!(
                    full["Created"],
                    at.to_string().as_str(),
                    "RT's own Created of {}",
                    ticket.id
                );
                assert_eq!(
                    field(ORIGINAL_CREATED_FIELD),
                    None,
                    "no copy where RT kept it"
                );
            }
            ImportFields::Dropped => {
                assert_eq!(
                    field(ORIGINAL_CREATED_FIELD),
                    Some(at.to_string()),
                    "ticket {}",
                    ticket.id
                );
                let query = format!("'CF.{{{ORIGINAL_CREATED_FIELD}}}' = '{at}'");
                let hits = get(&client, &format!("tickets?query={}", urlencode(&query)));
                assert!(
                    hits["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|t| t["id"] == id.as_str()),
                    "TicketSQL finds ticket {id} by its original creation time: {hits}"
                );
            }
        }
        if ticket.submitter.is_some() && creator == ImportFields::Dropped {
            assert!(
                field(ORIGINAL_CREATOR_FIELD).is_some(),
                "ticket {} keeps its creator",
                ticket.id
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "the dataset has tickets with creation times");
    for record in dataset.of(Kind::User) {
        let Record::User(user) = record else { continue };
        let (Some(at), Some(email)) = (user.created_at, &user.email) else {
            continue;
        };
        let full = get(&client, &format!("user/{}", urlencode(email)));
        let line = format!("[Switchover] created in the source helpdesk at {at}");
        let comments = full["Comments"].as_str().unwrap_or_default();
        match user_created {
            ImportFields::Kept => {
                assert_eq!(
                    full["Created"],
                    at.to_string().as_str(),
                    "RT's own Created of {email}"
                );
                assert!(
                    !comments.contains(&line),
                    "no copy where RT kept it: {comments}"
                );
            }
            ImportFields::Dropped => assert!(
                comments.contains(&line),
                "user {email}'s Comments: {comments}"
            ),
        }
    }
    created
}

fn urlencode(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A dry run predicts a queue's fate by the write's rule: a new name is created, the name
/// of a queue another record's marker is on is refused.
fn queues_are_predicted_as_they_are_written(
    rt: &switchover_rt::Rt,
    dataset: &switchover_testkit::Dataset,
) {
    use switchover_adapter::{Prediction, TargetInfo, WriteRequest};
    use switchover_model::{Entity, Group, Kind, Record};
    let Some(Record::Group(written)) = dataset.of(Kind::Group).first().cloned() else {
        panic!("the dataset has groups");
    };
    let twin = Group {
        id: format!("{}-twin", written.id),
        ..written.clone()
    };
    let fresh = Group {
        id: "g-new".into(),
        name: "A queue nobody made yet".into(),
        ..written
    };
    let predict = |group: Group| {
        rt.predict(Kind::Group, &WriteRequest::create(group.into_record()))
            .expect("predict")
    };
    assert!(
        matches!(predict(twin), Prediction::Refuse(_)),
        "another record's queue"
    );
    assert!(matches!(predict(fresh), Prediction::Create), "a new queue");
}
