//! A small `multipart/form-data` parser for emulators of upload endpoints: Freshdesk's
//! `attachments[]`, `tags[]` and `custom_fields[cf_x]` parts, Zendesk Help Center's
//! article attachments (`file`, `inline`).

/// One part of a multipart body.
#[derive(Debug, Clone)]
pub struct Part {
    /// Form field name.
    pub name: String,
    /// File name, for file parts.
    pub file_name: Option<String>,
    /// The part's own content type, if it has one.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

fn param(header: &str, name: &str) -> Option<String> {
    let lower = header.to_ascii_lowercase();
    let key = format!("{name}=");
    let mut search = 0;
    while let Some(at) = lower[search..].find(&key) {
        let start = search + at;
        // Must be a whole parameter name (not `filename=` when looking for `name=`).
        let before = lower[..start].chars().last();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '*') {
            search = start + key.len();
            continue;
        }
        let rest = &header[start + key.len()..];
        return Some(if let Some(quoted) = rest.strip_prefix('"') {
            quoted.split('"').next().unwrap_or("").to_string()
        } else {
            rest.split(';').next().unwrap_or("").trim().to_string()
        });
    }
    None
}

/// Parses a body with the boundary from its content type; `None` if malformed.
pub fn parse(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = param(content_type, "boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        at += 2; // CRLF after the delimiter
        let head_end = find(body, b"\r\n\r\n", at)?;
        let head = String::from_utf8_lossy(&body[at..head_end]).to_string();
        let data_start = head_end + 4;
        let mut next_delim = b"\r\n".to_vec();
        next_delim.extend_from_slice(&delimiter);
        let data_end = find(body, &next_delim, data_start)?;
        let mut name = String::new();
        let mut file_name = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':')?;
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                name = param(value, "name").unwrap_or_default();
                file_name = param(value, "filename");
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_string());
            }
        }
        parts.push(Part {
            name,
            file_name,
            content_type,
            data: body[data_start..data_end].to_vec(),
        });
        at = data_end + next_delim.len();
    }
}
