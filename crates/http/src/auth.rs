use std::fmt;

use switchover_adapter::Secret;

/// How requests prove who they are. Every credential is a [`Secret`]; `Debug` shows only
/// the scheme (and a custom header's name), never a value or a user name, because some
/// vendors put the API key in the user name (Freshdesk: `Auth::basic(key, "X")`).
///
/// Credentials are sent only to the origin (scheme, host, port) of the client's base URL:
/// absolute URLs elsewhere (signed attachment links, redirects to a CDN) get none.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name (for some vendors, the API key itself; never printed).
        user: String,
        /// The password.
        password: Secret,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): the client POSTs
    /// `grant_type=client_credentials&client_id=…&client_secret=…` (form-encoded) to
    /// `token_url`, sends `Authorization: Bearer <access_token>`, asks again shortly before
    /// `expires_in` runs out, and on a 401 asks for a new token once and repeats the
    /// request. A token endpoint that refuses the client is an authentication error.
    ClientCredentials {
        /// Absolute URL of the token endpoint.
        token_url: String,
        /// The application's id.
        client_id: String,
        /// The application's secret.
        client_secret: Secret,
    },
    /// A vendor-specific header carrying the credential (`X-Api-Key: ...`).
    Header {
        /// The header's name.
        name: String,
        /// The header's value.
        value: Secret,
    },
}

impl Auth {
    /// HTTP basic authentication.
    pub fn basic(user: impl Into<String>, password: Secret) -> Self {
        Auth::Basic {
            user: user.into(),
            password,
        }
    }

    /// A bearer token.
    pub fn bearer(token: Secret) -> Self {
        Auth::Bearer(token)
    }

    /// OAuth 2.0 client credentials exchanged at `token_url` for bearer tokens.
    pub fn client_credentials(
        token_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: Secret,
    ) -> Self {
        Auth::ClientCredentials {
            token_url: token_url.into(),
            client_id: client_id.into(),
            client_secret,
        }
    }

    /// A credential in a header of the vendor's choosing.
    pub fn header(name: impl Into<String>, value: Secret) -> Self {
        Auth::Header {
            name: name.into(),
            value,
        }
    }

    /// Strings that must never leave the client in an error or a log line: the raw
    /// credentials and the encoded basic-auth token, as a server might echo either back.
    pub(crate) fn sensitive_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Auth::None => {}
            Auth::Basic { user, password } => {
                out.push(user.clone());
                out.push(password.expose().to_string());
                out.push(base64(format!("{user}:{}", password.expose()).as_bytes()));
            }
            Auth::Bearer(token) => out.push(token.expose().to_string()),
            Auth::ClientCredentials { client_secret, .. } => {
                out.push(client_secret.expose().to_string())
            }
            Auth::Header { value, .. } => out.push(value.expose().to_string()),
        }
        // Very short strings would blank out ordinary words; they are not real credentials.
        out.retain(|s| s.len() >= 4);
        out
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Basic { .. } => f.write_str("Auth::Basic(***)"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer(***)"),
            Auth::ClientCredentials { token_url, .. } => {
                write!(f, "Auth::ClientCredentials({token_url}, ***)")
            }
            Auth::Header { name, .. } => write!(f, "Auth::Header({name}: ***)"),
        }
    }
}

/// Replaces every occurrence of a sensitive string with `***`.
pub(crate) fn scrub(text: &str, sensitive: &[String]) -> String {
    let mut out = text.to_string();
    for s in sensitive {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Standard base64 with padding: what an `Authorization: Basic` header carries.
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_credentials_or_user() {
        let auths = [
            Auth::basic("api-key-123", Secret::new("hunter2-pw")),
            Auth::bearer(Secret::new("tok-abcdef")),
            Auth::header("X-Api-Key", Secret::new("hdr-secret")),
        ];
        let text = format!("{auths:?}");
        for leaked in ["api-key-123", "hunter2-pw", "tok-abcdef", "hdr-secret"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert!(text.contains("X-Api-Key"));
    }

    #[test]
    fn base64_matches_the_basic_auth_encoding() {
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn scrub_removes_raw_and_encoded_credentials() {
        let auth = Auth::basic("agent@example.com", Secret::new("hunter2-pw"));
        let sensitive = auth.sensitive_strings();
        let echoed = format!(
            "bad password hunter2-pw in Basic {}",
            base64(b"agent@example.com:hunter2-pw")
        );
        let clean = scrub(&echoed, &sensitive);
        assert!(!clean.contains("hunter2-pw"));
        assert!(!clean.contains(&base64(b"agent@example.com:hunter2-pw")));
    }
}
