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

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// A well-formed body of `parts` under `boundary`.
    fn body(boundary: &str, parts: &[(String, Vec<u8>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in parts {
            out.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    proptest! {
        /// A body built from parts parses back into those parts.
        #[test]
        fn a_built_body_parses_back(
            parts in prop::collection::vec(("[a-z\\[\\]_]{1,12}", prop::collection::vec(any::<u8>(), 0..64)), 1..5)
        ) {
            let boundary = "XyZ-boundary-0123456789";
            let content_type = format!("multipart/form-data; boundary={boundary}");
            let parsed = parse(&content_type, &body(boundary, &parts)).expect("well formed");
            prop_assert_eq!(parsed.len(), parts.len());
            for (part, (name, data)) in parsed.iter().zip(&parts) {
                prop_assert_eq!(&part.name, name);
                prop_assert_eq!(&part.data, data);
            }
        }

        /// Any bytes, any content type, a real body cut or flipped anywhere: parts or
        /// `None`, never a panic.
        #[test]
        fn any_body_is_parts_or_none(
            content_type in "\\PC{0,40}|multipart/form-data; boundary=\"?[a-zA-Z0-9=-]{0,12}\"?",
            raw in prop::collection::vec(any::<u8>(), 0..256),
            cut in 0usize..400,
            flip in 0usize..400,
        ) {
            let _ = parse(&content_type, &raw);
            let boundary = "b0undary";
            let mut real = body(boundary, &[("file".into(), raw.clone()), ("tags[]".into(), b"x".to_vec())]);
            if let Some(byte) = real.get_mut(flip) {
                *byte ^= 0x5a;
            }
            real.truncate(cut.min(real.len()));
            let _ = parse(&format!("multipart/form-data; boundary={boundary}"), &real);
        }
    }
}
