//! Parsing of the common `Authorization` schemes. Each emulator decides what it accepts.

use base64::Engine as _;

use crate::Request;

/// Credentials found in an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `Basic base64(user:password)`.
    Basic {
        /// The part before the first colon.
        user: String,
        /// The part after it.
        password: String,
    },
    /// `Bearer token`.
    Bearer(String),
}

/// Parses the request's `Authorization` header; `None` when absent or malformed.
pub fn credentials(request: &Request) -> Option<Credentials> {
    let header = request.header("authorization")?.trim();
    let (scheme, rest) = header.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let (user, password) = parse_basic(rest)?;
        Some(Credentials::Basic { user, password })
    } else if scheme.eq_ignore_ascii_case("bearer") && !rest.is_empty() {
        Some(Credentials::Bearer(rest.to_string()))
    } else {
        None
    }
}

/// Decodes the value of a basic credential (`base64(user:password)`).
pub fn parse_basic(encoded: &str) -> Option<(String, String)> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Encodes a basic credential header value: `Basic base64(user:password)`.
pub fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Standard base64 of bytes (opaque cursors, tokens).
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64; `None` when invalid.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}
