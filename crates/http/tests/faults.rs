//! The HTTP kit against a scripted loopback server: retries, Retry-After, idempotency,
//! error mapping and secrecy, with faults injected by a list of replies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Deserialize;
use switchover_adapter::model::Kind;
use switchover_adapter::{AdapterError, ErrorKind, Secret};
use switchover_http::multipart::{Form, Part};
use switchover_http::{
    Auth, ClientConfig, HttpClient, HttpError, Request, RetryPolicy, TransportFailure,
};

// ---------------------------------------------------------------------------------------
// Scripted loopback server
// ---------------------------------------------------------------------------------------

/// What the server does with one request.
#[derive(Clone)]
enum Reply {
    /// Answers with a status, extra headers and a body.
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Reads the request, then closes the connection without answering.
    Drop,
}

fn answer(status: u16, body: &str) -> Reply {
    Reply::Answer {
        status,
        headers: Vec::new(),
        body: body.to_string(),
    }
}

fn answer_with(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
    Reply::Answer {
        status,
        headers: headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
        body: body.to_string(),
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A server on 127.0.0.1:0 that answers requests from a script, one reply per request
/// (500 once the script is used up), records what it saw, and stops when dropped.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, seen) = (stop.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut script = script.into_iter();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let Some(request) = read_request(&stream) else {
                        continue;
                    };
                    seen.lock().expect("the request log").push(request);
                    let reply = script
                        .next()
                        .unwrap_or_else(|| answer(500, "script exhausted"));
                    respond(stream, reply);
                }
            })
        };
        Server {
            addr,
            stop,
            seen,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://{}/api/v2/", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("the request log").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let at = Instant::now();
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    } else if header("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Seen {
        at,
        method,
        target,
        headers,
        body,
    })
}

fn respond(mut stream: TcpStream, reply: Reply) {
    match reply {
        // Closing with the request fully read and nothing written: the client sees the
        // connection end before any response.
        Reply::Drop => drop(stream),
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            if !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            {
                head.push_str("Content-Type: application/json\r\n");
            }
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Fast retries so the suite stays quick; Retry-After still applies as sent.
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
        max_total_wait: Duration::from_secs(5),
    }
}

fn client_for(server: &Server) -> HttpClient {
    client_with(server, Auth::None)
}

fn client_with(server: &Server, auth: Auth) -> HttpClient {
    HttpClient::new(ClientConfig {
        auth,
        retry: fast_retries(),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        ..ClientConfig::new(server.url())
    })
    .expect("a client for the loopback server")
}

#[derive(Debug, Deserialize, PartialEq)]
struct Ticket {
    id: u64,
}

const TICKET: &str = r#"{"id": 42}"#;

// ---------------------------------------------------------------------------------------
// Retries
// ---------------------------------------------------------------------------------------

#[test]
fn rate_limited_request_waits_for_retry_after_then_succeeds() {
    let server = Server::start(vec![
        answer_with(429, &[("Retry-After", "1")], "{}"),
        answer(200, TICKET),
    ]);
    let client = client_for(&server);
    let ticket: Ticket = client
        .get_json("tickets/42.json")
        .expect("success after the 429");
    assert_eq!(ticket, Ticket { id: 42 });
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after only {gap:?}"
    );
    let counters = client.snapshot();
    assert_eq!(
        (counters.requests, counters.retries, counters.rate_limited),
        (2, 1, 1)
    );
    assert!(counters.paced >= Duration::from_millis(950), "{counters:?}");
}

#[test]
fn service_unavailable_twice_then_success_takes_three_requests() {
    let server = Server::start(vec![answer(503, ""), answer(503, ""), answer(200, TICKET)]);
    let client = client_for(&server);
    let ticket: Ticket = client
        .get_json("tickets/42.json")
        .expect("success after two 503s");
    assert_eq!(ticket.id, 42);
    assert_eq!(server.seen().len(), 3);
    assert_eq!(client.snapshot().retries, 2);
}

#[test]
fn connection_dropped_without_answer_is_retried_for_get() {
    let server = Server::start(vec![Reply::Drop, answer(200, TICKET)]);
    let client = client_for(&server);
    let ticket: Ticket = client
        .get_json("tickets/42.json")
        .expect("success after the drop");
    assert_eq!(ticket.id, 42);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn persistent_503_exhausts_retries_and_is_transient() {
    let server = Server::start(vec![answer(503, "down"); 10]);
    let client = client_for(&server);
    let err = client
        .get_json::<Ticket>("tickets/42.json")
        .expect_err("503 forever fails");
    assert_eq!(server.seen().len(), 4, "max_attempts requests");
    assert_eq!(err.status(), Some(503));
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    assert_eq!(err.into_adapter("zendesk").kind(), ErrorKind::Transient);
}

#[test]
fn persistent_429_becomes_rate_limited_with_retry_after() {
    let server = Server::start(vec![answer_with(429, &[("Retry-After", "30")], ""); 3]);
    let client = client_for(&server);
    let err = client
        .get_json::<Ticket>("tickets.json")
        .expect_err("a wait past max_total_wait is not made");
    assert_eq!(server.seen().len(), 1);
    let adapter = err.into_adapter("zendesk");
    assert_eq!(adapter.kind(), ErrorKind::RateLimited);
    assert_eq!(adapter.retry_after(), Some(Duration::from_secs(30)));
}

// ---------------------------------------------------------------------------------------
// Idempotency: writes that may have been processed are not sent twice
// ---------------------------------------------------------------------------------------

#[test]
fn non_idempotent_post_answered_503_is_sent_once_and_transient() {
    let server = Server::start(vec![answer(503, ""), answer(201, TICKET)]);
    let client = client_for(&server);
    let err = client
        .post_json::<_, Ticket>("tickets.json", &serde_json::json!({"ticket": {}}))
        .expect_err("a 503 on a POST is returned, not retried");
    assert_eq!(server.seen().len(), 1);
    assert_eq!(err.into_adapter("zendesk").kind(), ErrorKind::Transient);
}

#[test]
fn non_idempotent_post_dropped_after_sending_is_sent_once() {
    let server = Server::start(vec![Reply::Drop, answer(201, TICKET)]);
    let client = client_for(&server);
    let err = client
        .post_json::<_, Ticket>("tickets.json", &serde_json::json!({"ticket": {}}))
        .expect_err("the server may have processed it");
    assert_eq!(server.seen().len(), 1);
    assert!(
        matches!(
            err,
            HttpError::Transport {
                failure: TransportFailure::Interrupted,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.into_adapter("zendesk").kind(), ErrorKind::Transient);
}

#[test]
fn non_idempotent_post_answered_429_is_retried() {
    let server = Server::start(vec![
        answer_with(429, &[("Retry-After", "0")], ""),
        answer(201, TICKET),
    ]);
    let client = client_for(&server);
    let ticket: Ticket = client
        .post_json("tickets.json", &serde_json::json!({"ticket": {}}))
        .expect("a 429 means the server did not process it");
    assert_eq!(ticket.id, 42);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
}

#[test]
fn post_marked_idempotent_is_retried_after_503() {
    let server = Server::start(vec![answer(503, ""), answer(200, TICKET)]);
    let client = client_for(&server);
    let request = Request::post("tickets/create_or_update.json")
        .idempotency_key("Idempotency-Key", "source-17")
        .json(&serde_json::json!({"ticket": {"external_id": "17"}}))
        .expect("a JSON body");
    let ticket: Ticket = client
        .send(request)
        .expect("an upsert may be retried")
        .json()
        .expect("JSON");
    assert_eq!(ticket.id, 42);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].header("idempotency-key"), Some("source-17"));
}

#[test]
fn connection_refused_is_retried_even_for_post() {
    // A port nobody listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let client = HttpClient::new(ClientConfig {
        retry: fast_retries(),
        ..ClientConfig::new(format!("http://127.0.0.1:{port}/"))
    })
    .expect("a client");
    let err = client
        .post_json::<_, Ticket>("tickets.json", &serde_json::json!({}))
        .expect_err("nobody listens");
    assert!(
        matches!(
            err,
            HttpError::Transport {
                failure: TransportFailure::Connect,
                attempts: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(client.snapshot().requests, 4);
    assert_eq!(err.into_adapter("zendesk").kind(), ErrorKind::Transient);
}

// ---------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------

#[test]
fn unauthorized_is_an_authentication_error_at_once() {
    let server = Server::start(vec![answer(
        401,
        r#"{"error":"Couldn't authenticate you"}"#,
    )]);
    let client = client_for(&server);
    let err = client.get_json::<Ticket>("users/me.json").expect_err("401");
    assert_eq!(server.seen().len(), 1);
    let adapter = err.into_adapter("zendesk");
    assert_eq!(adapter.kind(), ErrorKind::Authentication);
    assert!(adapter.stops_run());
}

#[test]
fn forbidden_and_not_found_map_to_permission_and_missing_record() {
    let server = Server::start(vec![answer(403, "{}"), answer(404, "{}")]);
    let client = client_for(&server);
    let forbidden = client.get_json::<Ticket>("macros.json").expect_err("403");
    assert_eq!(
        forbidden.into_adapter("zendesk").kind(),
        ErrorKind::Permission
    );
    let missing = client.delete("tickets/9.json").expect_err("404");
    match missing.for_record("zendesk", Kind::Ticket, "9") {
        AdapterError::NotFound { kind, id, .. } => {
            assert_eq!((kind, id.as_str()), (Kind::Ticket, "9"))
        }
        other => panic!("expected not found, got {other:?}"),
    }
}

#[test]
fn rejected_record_keeps_the_vendor_body_and_names_the_field() {
    let body = r#"{"description":"Validation failed","errors":[{"field":"email","message":"It should be a valid email address","code":"invalid_value"}]}"#;
    let server = Server::start(vec![answer(400, body)]);
    let client = client_for(&server);
    let err = client
        .post_json::<_, Ticket>("contacts", &serde_json::json!({"email": "nope"}))
        .expect_err("400");
    assert!(err.is_rejection());
    assert_eq!(err.body(), Some(body));
    match err.for_record("freshdesk", Kind::User, "u-1") {
        AdapterError::InvalidRecord { field, reason, .. } => {
            assert_eq!(field, "email");
            assert_eq!(reason, "It should be a valid email address");
        }
        other => panic!("expected an invalid record, got {other:?}"),
    }
}

#[test]
fn malformed_json_is_a_clear_error_naming_the_path_not_the_query() {
    let server = Server::start(vec![answer(200, r#"{"tickets": [{"id": 1},"#)]);
    let client = client_for(&server);
    let err = client
        .get_json::<serde_json::Value>("tickets.json?page=2&api_token=sekrit-query")
        .expect_err("truncated JSON");
    let text = err.to_string();
    assert!(matches!(err, HttpError::Malformed { .. }), "{err:?}");
    assert!(
        text.contains("GET /api/v2/tickets.json: malformed response body"),
        "{text}"
    );
    assert!(!text.contains("sekrit-query"), "{text}");
    assert_eq!(
        server.seen()[0].target,
        "/api/v2/tickets.json?page=2&api_token=sekrit-query"
    );
}

#[test]
fn failed_request_error_names_path_without_query_string() {
    let server = Server::start(vec![answer(422, "nope")]);
    let client = client_for(&server);
    let err = client
        .send(Request::get("search.json").query("token", "sekrit-param"))
        .expect_err("422");
    let text = format!("{err} {err:?} {}", err.into_adapter("zendesk"));
    assert!(text.contains("GET /api/v2/search.json"), "{text}");
    assert!(!text.contains("sekrit-param"), "{text}");
}

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

#[test]
fn basic_auth_is_sent_and_the_password_never_shows() {
    let encoded = "YWdlbnRAZXhhbXBsZS5jb206aHVudGVyMi1wdw=="; // agent@example.com:hunter2-pw
    // A careless server echoing the credentials back in its error body.
    let echo =
        format!(r#"{{"error":"bad credentials hunter2-pw","authorization":"Basic {encoded}"}}"#);
    let server = Server::start(vec![
        answer(200, TICKET),
        answer(403, &echo),
        answer(500, &echo),
    ]);
    let auth = Auth::basic("agent@example.com", Secret::new("hunter2-pw"));
    let client = HttpClient::new(ClientConfig {
        auth: auth.clone(),
        retry: RetryPolicy::never(),
        ..ClientConfig::new(server.url())
    })
    .expect("a client");
    client
        .get_json::<Ticket>("users/me.json")
        .expect("authorized");
    let forbidden = client.get_json::<Ticket>("users/me.json").expect_err("403");
    let broken = client.get_json::<Ticket>("users/me.json").expect_err("500");
    let seen = server.seen();
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Basic {encoded}").as_str())
    );

    let config = ClientConfig {
        auth,
        ..ClientConfig::new(server.url())
    };
    let everything_printed = format!(
        "{forbidden} {forbidden:?} {} {:?} {broken} {broken:?} {} {client:?} {config:?}",
        forbidden.into_adapter("freshdesk"),
        forbidden.into_adapter("freshdesk"),
        broken.into_adapter("freshdesk"),
    );
    assert!(
        !everything_printed.contains("hunter2-pw"),
        "{everything_printed}"
    );
    assert!(
        !everything_printed.contains(encoded),
        "{everything_printed}"
    );
}

#[test]
fn bearer_and_custom_header_credentials_never_leave_the_base_origin() {
    let elsewhere = Server::start(vec![answer(200, "attachment bytes")]);
    let redirect_target = format!("http://{}/files/a.bin", elsewhere.addr);
    let server = Server::start(vec![
        answer(200, TICKET),
        answer_with(302, &[("Location", &redirect_target)], ""),
    ]);
    let client = client_with(
        &server,
        Auth::header("X-Api-Key", Secret::new("key-0123456789")),
    );
    client
        .get_json::<Ticket>("tickets/42.json")
        .expect("authorized");
    let mut content = String::new();
    client
        .download("attachments/7/content")
        .expect("a redirected download")
        .read_to_string(&mut content)
        .expect("the bytes");
    assert_eq!(content, "attachment bytes");
    let seen = server.seen();
    assert_eq!(seen[0].header("x-api-key"), Some("key-0123456789"));
    assert_eq!(seen[1].header("x-api-key"), Some("key-0123456789"));
    let other = elsewhere.seen();
    assert_eq!(other.len(), 1);
    assert_eq!(other[0].target, "/files/a.bin");
    assert_eq!(
        other[0].header("x-api-key"),
        None,
        "credential sent to another origin"
    );
    assert!(!format!("{client:?}").contains("key-0123456789"));

    let bearer_server = Server::start(vec![answer(200, TICKET)]);
    let bearer = client_with(&bearer_server, Auth::bearer(Secret::new("tok-abcdef")));
    bearer
        .get_json::<Ticket>("/tickets/42.json")
        .expect("authorized");
    let seen = bearer_server.seen();
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok-abcdef"));
    assert_eq!(
        seen[0].target, "/api/v2/tickets/42.json",
        "leading / is relative to the base"
    );
}

// ---------------------------------------------------------------------------------------
// Convenience: user agent, uploads, downloads, pacing
// ---------------------------------------------------------------------------------------

#[test]
fn user_agent_and_json_bodies_are_sent() {
    let server = Server::start(vec![answer(200, TICKET)]);
    let client = HttpClient::new(ClientConfig {
        user_agent: "switchover-test/1".into(),
        ..ClientConfig::new(server.url())
    })
    .expect("a client");
    let ticket: Ticket = client
        .put_json(
            "tickets/42.json",
            &serde_json::json!({"ticket": {"status": "open"}}),
        )
        .expect("ok");
    assert_eq!(ticket.id, 42);
    let seen = server.seen();
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].header("user-agent"), Some("switchover-test/1"));
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    assert_eq!(seen[0].body, br#"{"ticket":{"status":"open"}}"#);
}

#[test]
fn multipart_upload_is_rebuilt_for_a_retry() {
    let server = Server::start(vec![answer(503, ""), answer(201, TICKET)]);
    let client = client_for(&server);
    let built = Arc::new(Mutex::new(0));
    let counter = built.clone();
    let request = Request::post("tickets/42/reply")
        .idempotent(true)
        .multipart(move || {
            *counter.lock().expect("the counter") += 1;
            Ok(Form::new().text("body", "see attached").part(
                "attachments[]",
                Part::reader(std::io::Cursor::new(b"%PDF-1.4 hello".to_vec())).file_name("a.pdf"),
            ))
        });
    client.send(request).expect("uploaded on the second try");
    assert_eq!(*built.lock().expect("the counter"), 2);
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[1]
            .header("content-type")
            .is_some_and(|t| t.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        seen[1].headers
    );
    let body = String::from_utf8_lossy(&seen[1].body);
    assert!(
        body.contains("filename=\"a.pdf\"") && body.contains("%PDF-1.4 hello"),
        "{body}"
    );
}

#[test]
fn multipart_content_that_cannot_be_opened_sends_nothing() {
    let server = Server::start(vec![answer(201, TICKET)]);
    let client = client_for(&server);
    let err = client
        .send(
            Request::post("uploads")
                .multipart(|| Err(std::io::Error::other("source attachment unavailable"))),
        )
        .expect_err("no content");
    assert!(matches!(err, HttpError::Content { .. }), "{err:?}");
    assert!(
        err.to_string().contains("source attachment unavailable"),
        "{err}"
    );
    assert_eq!(err.into_adapter("freshdesk").kind(), ErrorKind::Transient);
    assert!(server.seen().is_empty());
}

#[test]
fn download_streams_the_body() {
    let content = "x".repeat(100_000);
    let server = Server::start(vec![answer_with(
        200,
        &[("Content-Type", "application/octet-stream")],
        &content,
    )]);
    let client = client_for(&server);
    let mut bytes = Vec::new();
    client
        .download("attachments/1/content")
        .expect("a stream")
        .read_to_end(&mut bytes)
        .expect("all bytes");
    assert_eq!(bytes.len(), 100_000);
}

#[test]
fn vendor_rate_limit_headers_set_the_shared_pace() {
    let server = Server::start(vec![answer_with(
        200,
        &[
            ("X-RateLimit-Total", "6000"),
            ("X-RateLimit-Remaining", "5999"),
        ],
        TICKET,
    )]);
    let client = HttpClient::new(ClientConfig {
        requests_per_minute: Some(20_000),
        ..ClientConfig::new(server.url())
    })
    .expect("a client");
    assert_eq!(client.pacer().interval(), Duration::from_millis(3));
    client.get_json::<Ticket>("tickets/42.json").expect("ok");
    // 6000 per minute is slower than the budget: the vendor's limit now applies, to clones too.
    assert_eq!(client.clone().pacer().interval(), Duration::from_millis(10));
}

#[test]
fn budget_spaces_requests_from_several_threads() {
    let server = Server::start(vec![answer(200, TICKET); 6]);
    let client = HttpClient::new(ClientConfig {
        requests_per_minute: Some(1200), // one every 50 ms
        burst: 1,
        ..ClientConfig::new(server.url())
    })
    .expect("a client");
    let threads: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                for _ in 0..2 {
                    client.get_json::<Ticket>("tickets/42.json").expect("ok");
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a worker");
    }
    let mut times: Vec<Instant> = server.seen().iter().map(|s| s.at).collect();
    times.sort();
    assert_eq!(times.len(), 6);
    // Six starts at 50 ms spacing span at least 250 ms (a lower bound, never an upper one).
    let span = times[5] - times[0];
    assert!(
        span >= Duration::from_millis(240),
        "six requests within {span:?}"
    );
    assert!(client.snapshot().paced > Duration::ZERO);
}
