//! A small HTTP/1.1 server on std::net: thread per connection, keep-alive, stops on drop.
//! Hand-rolled rather than a crate so faults such as a connection reset in the middle of
//! a response can be produced exactly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::SandboxError;

/// Largest request body accepted (uploads of tens of MB must fit).
pub const MAX_BODY: usize = 128 * 1024 * 1024;

/// One HTTP request as an emulator sees it.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Method in upper case (`GET`, `POST`...).
    pub method: String,
    /// Percent-decoded path without the query string.
    pub path: String,
    /// Query parameters in order, percent-decoded (`page%5Bsize%5D` becomes `page[size]`).
    pub query: Vec<(String, String)>,
    /// Headers with lower-case names, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// The raw query string as sent (without `?`).
    pub raw_query: String,
}

impl Request {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a query parameter.
    pub fn query_all(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Fault: write part of the response, then drop the connection.
    pub reset: bool,
}

impl Response {
    /// A response with this status and no body.
    pub fn empty(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            reset: false,
        }
    }

    /// A JSON response (`application/json; charset=utf-8`).
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        Response::empty(status)
            .with_header("Content-Type", "application/json; charset=utf-8")
            .with_body(body)
    }

    /// A plain-text response.
    pub fn text(status: u16, text: &str) -> Self {
        Response::empty(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(text.as_bytes().to_vec())
    }

    /// A raw-bytes response with a content type.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Response::empty(status)
            .with_header("Content-Type", content_type)
            .with_body(body)
    }

    /// This response with one more header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// This response with a body.
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The function answering requests.
pub type Handler = Arc<dyn Fn(&Request) -> Response + Send + Sync>;

/// A running loopback server; stops (and closes its connections) when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<(u64, TcpStream)>>>,
    accept: Option<JoinHandle<()>>,
    served: Arc<Tally>,
}

/// Requests answered, and how many of them with 429, counted from every connection.
#[derive(Debug, Default)]
struct Tally {
    served: AtomicU64,
    rate_limited: AtomicU64,
    /// Requests read and not yet answered.
    in_flight: AtomicU64,
    /// Requests answered per endpoint (`GET /api/v2/tickets/:id/comments.json`).
    endpoints: Mutex<std::collections::BTreeMap<String, u64>>,
}

/// `GET /api/v2/tickets/12/comments.json` -> `GET /api/v2/tickets/:id/comments.json`: the
/// endpoint a request went to, with every path segment that is not a plain lower-case
/// word or an API version (ids, tokens, file names) as `:id`.
fn endpoint(request: &Request) -> String {
    let path: Vec<&str> = request
        .path
        .split('/')
        .map(|part| {
            let stem = part.strip_suffix(".json").unwrap_or(part);
            let version = stem
                .strip_prefix('v')
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            if version
                || stem
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
            {
                part
            } else {
                ":id"
            }
        })
        .collect();
    format!("{} {}", request.method, path.join("/"))
}

impl Server {
    /// Binds `127.0.0.1:port` (0 or `None` for any free port) and serves `handler`.
    pub fn start(port: Option<u16>, handler: Handler) -> Result<Server, SandboxError> {
        Server::serve(Server::bind(port)?, handler)
    }

    /// Binds `127.0.0.1:port` without serving yet (to learn the port first).
    pub fn bind(port: Option<u16>) -> Result<TcpListener, SandboxError> {
        TcpListener::bind(("127.0.0.1", port.unwrap_or(0)))
            .map_err(|source| SandboxError::Bind { source })
    }

    /// Serves `handler` on a bound listener.
    pub fn serve(listener: TcpListener, handler: Handler) -> Result<Server, SandboxError> {
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { source })?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<(u64, TcpStream)>>> = Arc::default();
        let served = Arc::new(Tally::default());
        let accept = {
            let stop = stop.clone();
            let connections = connections.clone();
            let served = served.clone();
            std::thread::Builder::new()
                .name("sandbox-accept".into())
                .spawn(move || accept_loop(listener, handler, stop, connections, served))
                .map_err(|source| SandboxError::Bind { source })?
        };
        Ok(Server {
            addr,
            stop,
            connections,
            accept: Some(accept),
            served,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far (including faults).
    pub fn requests_served(&self) -> u64 {
        self.served.served.load(Ordering::Relaxed)
    }

    /// Requests answered 429 so far (budget exceeded or a forced burst).
    pub fn requests_rate_limited(&self) -> u64 {
        self.served.rate_limited.load(Ordering::Relaxed)
    }

    /// Requests received and not answered yet (benchmarks sample it to see how many a
    /// client keeps in flight).
    pub fn requests_in_flight(&self) -> u64 {
        self.served.in_flight.load(Ordering::Relaxed)
    }

    /// Requests answered so far per endpoint (method and path, ids and file names as
    /// `:id`), for benchmarks to say where requests went.
    pub fn requests_by_endpoint(&self) -> Vec<(String, u64)> {
        match self.served.endpoints.lock() {
            Ok(map) => map.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(poisoned) => poisoned
                .into_inner()
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Ok(list) = self.connections.lock() {
            for (_, stream) in list.iter() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    handler: Handler,
    stop: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<(u64, TcpStream)>>>,
    served: Arc<Tally>,
) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        next_id += 1;
        let id = next_id;
        if let (Ok(clone), Ok(mut list)) = (stream.try_clone(), connections.lock()) {
            list.push((id, clone));
        }
        let handler = handler.clone();
        let connections = connections.clone();
        let served = served.clone();
        let stop = stop.clone();
        let _ = std::thread::Builder::new()
            .name("sandbox-conn".into())
            .spawn(move || {
                let _ = serve_connection(stream, &handler, &served, &stop);
                if let Ok(mut list) = connections.lock() {
                    list.retain(|(other, _)| *other != id);
                }
            });
    }
}

fn serve_connection(
    stream: TcpStream,
    handler: &Handler,
    served: &Tally,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let Some((request, keep_alive)) = read_request(&mut reader, &mut writer)? else {
            return Ok(());
        };
        served.in_flight.fetch_add(1, Ordering::Relaxed);
        let response = handler(&request);
        served.in_flight.fetch_sub(1, Ordering::Relaxed);
        served.served.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut endpoints) = served.endpoints.lock() {
            *endpoints.entry(endpoint(&request)).or_default() += 1;
        }
        if response.status == 429 {
            served.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        if response.reset {
            let head = format!(
                "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
                response.status,
                reason(response.status),
                response.body.len() + 1000
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.flush();
            let _ = writer.shutdown(Shutdown::Both);
            return Ok(());
        }
        write_response(&mut writer, &request, &response, keep_alive)?;
        if !keep_alive {
            let _ = writer.shutdown(Shutdown::Both);
            return Ok(());
        }
    }
}

fn bad(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_string())
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> std::io::Result<Option<(Request, bool)>> {
    let mut line = String::new();
    // Skip stray empty lines between requests.
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or_else(|| bad("no method"))?.to_uppercase();
    let target = parts.next().ok_or_else(|| bad("no target"))?.to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        if headers.len() > 200 {
            return Err(bad("too many headers"));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if find("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size_text = line.trim().split(';').next().unwrap_or("0");
            let size = usize::from_str_radix(size_text, 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // trailers
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("body too large"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = find("content-length") {
        let length: usize = length.parse().map_err(|_| bad("content-length"))?;
        if length > MAX_BODY {
            return Err(bad("body too large"));
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    let connection = find("connection").unwrap_or_default().to_ascii_lowercase();
    let keep_alive = if version == "HTTP/1.0" {
        connection == "keep-alive"
    } else {
        connection != "close"
    };
    let (raw_path, raw_query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target.clone(), String::new()),
    };
    // Absolute-form targets (proxies) keep only the path.
    let raw_path = match raw_path.find("://") {
        Some(at) => raw_path[at + 3..]
            .find('/')
            .map(|slash| raw_path[at + 3 + slash..].to_string())
            .unwrap_or_else(|| "/".into()),
        None => raw_path,
    };
    let query = parse_query(&raw_query);
    Ok(Some((
        Request {
            method,
            path: percent_decode(&raw_path, false),
            query,
            headers,
            body,
            raw_query,
        },
        keep_alive,
    )))
}

/// Parses `a=1&b=%20x` into decoded pairs (`+` is a space).
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) => (percent_decode(k, true), percent_decode(v, true)),
            None => (percent_decode(part, true), String::new()),
        })
        .collect()
}

/// Decodes `%XX` escapes (and `+` as space when `plus` is set); invalid escapes stay as-is.
pub fn percent_decode(text: &str, plus: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Encodes a query component (unreserved characters stay, everything else is `%XX`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn write_response(
    writer: &mut TcpStream,
    request: &Request,
    response: &Response,
    keep_alive: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    let no_body = request.method == "HEAD" || response.status == 204 || response.status == 304;
    if response.status != 204 && response.status != 304 {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write_all(head.as_bytes())?;
    if !no_body {
        writer.write_all(&response.body)?;
    }
    writer.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo() -> Handler {
        Arc::new(|request: &Request| {
            let mut response = Response::json(
                200,
                &serde_json::json!({
                    "method": request.method, "path": request.path,
                    "size": request.query("page[size]"), "body": String::from_utf8_lossy(&request.body),
                }),
            );
            response.reset = request.path == "/reset";
            response
        })
    }

    fn exchange(stream: &mut TcpStream, raw: &str) -> String {
        stream.write_all(raw.as_bytes()).expect("write");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("read") == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().expect("length");
            }
            head.push_str(&line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        head + &String::from_utf8_lossy(&body)
    }

    #[test]
    fn serves_keep_alive_chunked_and_decoded_queries_then_stops_on_drop() {
        let server = Server::start(None, echo()).expect("start");
        let mut stream = TcpStream::connect(server.addr()).expect("connect");
        let first = exchange(
            &mut stream,
            "GET /a%20b?page%5Bsize%5D=5 HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        assert!(
            first.contains("\"path\":\"/a b\"") && first.contains("\"size\":\"5\""),
            "{first}"
        );
        let second = exchange(
            &mut stream,
            "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        );
        assert!(second.contains("\"body\":\"abcde\""), "{second}");
        assert_eq!(server.requests_served(), 2);
        assert_eq!(server.requests_in_flight(), 0);
        let _ = exchange(
            &mut stream,
            "GET /api/v2/tickets/12/comments.json HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        let _ = exchange(
            &mut stream,
            "GET /api/v2/tickets/13/comments.json HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        // Benchmarks say where requests went: ids and file names stand as `:id`.
        let endpoints = server.requests_by_endpoint();
        assert!(
            endpoints.contains(&("GET /api/v2/tickets/:id/comments.json".to_string(), 2)),
            "{endpoints:?}"
        );
        assert!(
            endpoints.contains(&("GET /:id".to_string(), 1)),
            "{endpoints:?}"
        );
        let addr = server.addr();
        drop(server);
        let mut buf = [0u8; 1];
        // The kept-alive connection is closed, and nothing listens any more.
        assert!(matches!(stream.read(&mut buf), Ok(0) | Err(_)));
        assert!(TcpStream::connect(addr).is_err());
    }

    #[test]
    fn a_reset_response_breaks_off_mid_response() {
        let server = Server::start(None, echo()).expect("start");
        let mut stream = TcpStream::connect(server.addr()).expect("connect");
        stream
            .write_all(b"GET /reset HTTP/1.1\r\n\r\n")
            .expect("write");
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        let text = String::from_utf8_lossy(&received);
        assert!(
            text.starts_with("HTTP/1.1 200") && !text.contains("\r\n\r\n"),
            "{text}"
        );
    }
}
