//! Redaction of the prospect's customers' personal data in sample tickets.
//!
//! A dry-run report leaves the sales engineer's laptop, so the sample tickets it shows
//! keep the shape of the data and none of its content:
//! - e-mail addresses keep the first character and the top-level domain only
//!   (`jane.doe@acme.co.uk` as `j***@***.uk`);
//! - phone numbers (a run of 7 or more digits, with spaces, dots, dashes, slashes or
//!   brackets between them) become `[phone]`; without separators their digits are
//!   masked like any other number;
//! - every other digit becomes `#` (order numbers, account numbers, dates in text);
//! - every word keeps its first letter, the rest becomes `•` (names cannot be told from
//!   other words, so every word is treated as one);
//! - free text is cut at [`TEXT_CAP`] characters after masking, with its length given
//!   as a range; HTML bodies lose their tags first;
//! - user references show the role (requester, assignee), organization and group
//!   references show only that there is one; vendor leftovers only how many;
//! - attachments show their file extension and size only.
//!
//! Values the model defines as enumerations (status, priority) and timestamps are shown
//! as they are when they look like one; anything else falls back to the text rules.
//! When unsure, redact.

use serde_json::Value;

/// Characters of masked text a report shows.
pub const TEXT_CAP: usize = 60;

/// What a report says was redacted.
pub const NOTICE: &str = "Personal data redacted: e-mail addresses, phone numbers, names and every other word (first letter kept), numbers; bodies truncated; people shown by role, attachments by extension and size.";

/// The mask character for the hidden letters of a word.
const MASK: char = '•';

/// `jane.doe@acme.co.uk` as `j***@***.uk`.
pub fn email(address: &str) -> String {
    let (local, domain) = address.rsplit_once('@').unwrap_or(("", address));
    let first = local
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_string())
        .unwrap_or_default();
    let tld = domain
        .rsplit_once('.')
        .map(|(_, t)| t)
        .filter(|t| !t.is_empty() && t.len() <= 6 && t.chars().all(|c| c.is_ascii_alphabetic()))
        .map(|t| format!(".{}", t.to_ascii_lowercase()))
        .unwrap_or_default();
    format!("{first}***@***{tld}")
}

/// Whether a whitespace-separated token is (or holds) an e-mail address.
fn is_email(token: &str) -> bool {
    match token.split_once('@') {
        Some((local, domain)) => {
            local.chars().any(char::is_alphanumeric) && domain.chars().any(char::is_alphanumeric)
        }
        None => false,
    }
}

fn is_phone_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}')
}

/// Masks e-mail addresses, phone numbers and digits, leaving words alone: what failure
/// messages and other engine-made text get.
pub fn contact_details(text: &str) -> String {
    mask(text, false)
}

/// An engine's reason (a failure message, a target's note): e-mail addresses, phone
/// numbers and digits masked, and what is in square brackets (file names) hidden.
pub fn reason(text: &str) -> String {
    let mut hidden = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' => {
                if depth == 0 {
                    hidden.push_str("[…");
                }
                depth += 1;
            }
            ']' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    hidden.push(']');
                }
            }
            c if depth == 0 => hidden.push(c),
            _ => {}
        }
    }
    if depth > 0 {
        hidden.push(']');
    }
    contact_details(&hidden)
}

/// Masks free text: e-mail addresses, phone numbers, digits and words.
fn mask(text: &str, words: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // E-mail addresses first, token by token (whitespace kept as it is).
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&masked_run(&rest[..start], words));
        rest = &rest[start..];
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        if is_email(token) {
            // Keep punctuation around the address (`<a@b.com>,`).
            let lead = token
                .find(|c: char| c.is_alphanumeric())
                .unwrap_or(token.len());
            let trail = token
                .rfind(|c: char| c.is_alphanumeric())
                .map(|i| i + token[i..].chars().next().map_or(1, char::len_utf8))
                .unwrap_or(token.len())
                .max(lead);
            out.push_str(&masked_run(&token[..lead], words));
            out.push_str(&email(&token[lead..trail]));
            out.push_str(&masked_run(&token[trail..], words));
            rest = &rest[end..];
        } else {
            // Not an address: the token and what follows up to the next address are
            // masked as one run, so phone numbers with spaces in them are found.
            out.push_str(&masked_run(token, words));
            rest = &rest[end..];
        }
    }
    phones_across_tokens(&out)
}

/// Phone numbers split over tokens (`+1 555 010 9999`) were masked digit by digit to
/// `#`: a run of 7 or more `#` with separators between becomes `[phone]`.
fn phones_across_tokens(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '#' || (chars[i] == '+' && chars.get(i + 1) == Some(&'#')) {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit = i;
            while j < chars.len()
                && (chars[j] == '#' || chars[j] == '+' || is_phone_separator(chars[j]))
            {
                if chars[j] == '#' {
                    digits += 1;
                    last_digit = j;
                }
                j += 1;
            }
            let run: String = chars[i..=last_digit].iter().collect();
            // A date (`2025-12-31`) is not a phone number; its digits are masked anyway.
            let separated = run.contains(|c: char| c == '+' || is_phone_separator(c));
            if digits >= 7 && separated && run != "####-##-##" {
                out.push_str("[phone]");
                i = last_digit + 1;
                continue;
            }
            out.extend(&chars[i..=last_digit]);
            i = last_digit + 1;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Masks a run of text with no e-mail address in it: digits to `#` and, with `words`,
/// every word to its first letter and `•`.
fn masked_run(text: &str, words: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_word = false;
    for c in text.chars() {
        if c.is_ascii_digit() || c.is_numeric() {
            out.push('#');
            in_word = false;
        } else if c.is_alphabetic() && words {
            if in_word {
                out.push(MASK);
            } else {
                out.push(c);
                in_word = true;
            }
        } else {
            // Marks inside words (accents, Arabic vowel signs) count as letters.
            if words && in_word && is_mark(c) {
                continue;
            }
            out.push(c);
            in_word = false;
        }
    }
    out
}

fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x064B..=0x065F | 0x0670 | 0x200C | 0x200D)
}

/// How long a text is, as a range.
fn length_range(chars: usize) -> &'static str {
    match chars {
        0..=49 => "under 50 characters",
        50..=199 => "50 to 200 characters",
        200..=999 => "200 to 1,000 characters",
        _ => "over 1,000 characters",
    }
}

/// Free text (subjects, bodies, custom field text): every rule above, cut at
/// [`TEXT_CAP`] characters, with its length range.
pub fn text(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "(empty)".to_string();
    }
    let masked = mask(&one_line(trimmed), true);
    let length = trimmed.chars().count();
    let shown: String = masked.chars().take(TEXT_CAP).collect();
    let cut = if masked.chars().count() > TEXT_CAP {
        "…"
    } else {
        ""
    };
    format!("{shown}{cut} ({})", length_range(length))
}

/// An HTML body: tags removed, the common entities decoded, then as [`text`].
pub fn html(body: &str) -> String {
    let mut plain = String::with_capacity(body.len());
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                plain.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{} [HTML, tags removed]", text(&collapsed))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The extension of a file name, lowercased: `.pdf`; or `(no extension)`.
pub fn extension(file_name: &str) -> String {
    file_name
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_else(|| "(no extension)".to_string())
}

/// Whether a string looks like an enumeration value (`open`, `question`, `refers_to`).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 24
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
}

/// Whether a string looks like a canonical timestamp (`2023-05-01T09:00:00Z`).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() >= 20
        && s.len() <= 35
        && b.get(4) == Some(&b'-')
        && b.get(10) == Some(&b'T')
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | 'Z' | '.' | '+'))
}

fn list(items: &[Value], each: impl Fn(&Value) -> String) -> String {
    if items.is_empty() {
        return "(empty)".to_string();
    }
    items.iter().map(each).collect::<Vec<_>>().join(", ")
}

/// Any value with no rule of its own: strings as free text, numbers as `#`, lists and
/// objects element by element (object keys are field definition ids, not personal).
pub fn generic(value: &Value) -> String {
    match value {
        Value::Null => "(empty)".to_string(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        Value::Number(_) => "#".to_string(),
        Value::String(s) if is_token(s) => s.clone(),
        Value::String(s) => text(s),
        Value::Array(items) => list(items, generic),
        Value::Object(map) if map.len() == 1 && map.contains_key("value") => generic(&map["value"]),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: {}", contact_details(k), generic(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// One field of a sample record, redacted by what the field is.
pub fn field(field: &str, value: &Value) -> String {
    if value.is_null() {
        return "(empty)".to_string();
    }
    match field {
        "requester" | "submitter" | "assignee" | "author" | "user" => {
            format!("‹{}›", field.replace('_', " "))
        }
        // The parent ticket: a record id, not personal.
        "ticket" => match value {
            Value::String(s) => contact_details(s),
            other => generic(other),
        },
        "organization" => "‹an organization›".to_string(),
        "group" => "‹a group›".to_string(),
        "subject" | "body_text" | "description" | "comment" | "title" | "name" => match value {
            Value::String(s) => text(s),
            other => generic(other),
        },
        "body_html" => match value {
            Value::String(s) => html(s),
            other => generic(other),
        },
        "status" | "priority" | "ticket_type" | "channel" | "public" | "archived" => match value {
            Value::String(s) if is_token(s) => s.clone(),
            Value::Bool(_) => generic(value),
            _ => "(redacted)".to_string(),
        },
        "created_at" | "updated_at" | "solved_at" => match value {
            Value::String(s) if is_timestamp(s) => s.clone(),
            other => generic(other),
        },
        "tags" => match value {
            Value::Array(items) => list(items, |t| match t {
                Value::String(s) => mask(s, true),
                other => generic(other),
            }),
            other => generic(other),
        },
        "links" => match value {
            Value::Array(items) => list(items, |l| {
                let kind = l
                    .get("kind")
                    .and_then(Value::as_str)
                    .filter(|k| is_token(k))
                    .unwrap_or("link");
                format!("{} a ticket", kind.replace('_', " "))
            }),
            other => generic(other),
        },
        "extra" => match value {
            Value::Object(map) => format!("{} vendor field(s), values not shown", map.len()),
            _ => "vendor fields, values not shown".to_string(),
        },
        "attachments.file_name" => match value {
            Value::Array(items) => list(items, |n| extension(n.as_str().unwrap_or_default())),
            _ => "(redacted)".to_string(),
        },
        "attachments.size" => match value {
            Value::Array(items) => list(items, |n| match n.as_u64() {
                Some(size) => crate::view::human_bytes(size),
                None => "(unknown)".to_string(),
            }),
            _ => "(redacted)".to_string(),
        },
        "attachments.content_type" => match value {
            Value::Array(items) => list(items, |t| match t.as_str() {
                Some(s)
                    if s.len() <= 60
                        && s.split_once('/').is_some_and(|(a, b)| {
                            is_token(a)
                                && b.chars().all(|c| {
                                    c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')
                                })
                        }) =>
                {
                    s.to_string()
                }
                _ => "(redacted)".to_string(),
            }),
            _ => "(redacted)".to_string(),
        },
        "attachments.sha256" => match value {
            Value::Array(items) => list(items, |h| {
                if h.is_null() {
                    "not known yet"
                } else {
                    "known"
                }
                .to_string()
            }),
            _ => "(redacted)".to_string(),
        },
        "attachments.inline" => generic(value),
        _ => generic(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_email_address_keeps_its_first_letter_and_top_level_domain_only() {
        assert_eq!(email("jane.doe@acme.co.uk"), "j***@***.uk");
        assert_eq!(email("ada@helpdesk.example"), "a***@***");
        let out = text("write to jane.doe@acme.com, or <bob@corp.io>");
        assert!(out.contains("j***@***.com"), "{out}");
        assert!(out.contains("b***@***.io"), "{out}");
        assert!(!out.contains("jane"), "{out}");
        assert!(!out.contains("acme"), "{out}");
        assert!(!out.contains("corp"), "{out}");
    }

    #[test]
    fn phone_numbers_with_separators_become_a_placeholder() {
        for phone in [
            "+1 (555) 010-9999",
            "555.010.9999",
            "0044 20 7946 0958",
            "555 0109999",
        ] {
            let out = contact_details(&format!("call {phone} today"));
            assert_eq!(out, "call [phone] today", "{phone}");
        }
        // Short numbers are numbers, not phones: masked digit by digit.
        assert_eq!(contact_details("order 12345"), "order #####");
        assert_eq!(contact_details("5550109999"), "##########");
        assert_eq!(contact_details("due 2025-12-31"), "due ####-##-##");
    }

    #[test]
    fn words_keep_their_first_letter_and_digits_are_masked() {
        assert_eq!(mask("John Smith paid 42", true), "J••• S•••• p••• ##");
        assert_eq!(mask("Привет", true), "П•••••");
        assert!(!text("Dear Margaret Hamilton").contains("argaret"));
    }

    #[test]
    fn reasons_hide_file_names_in_brackets() {
        assert_eq!(
            reason("comment 'c-1' rejected: field 'attachments[Jane passport.pdf]': 3145745 bytes"),
            "comment 'c-#' rejected: field 'attachments[…]': ####### bytes"
        );
    }

    #[test]
    fn long_bodies_are_cut_and_say_how_long_they_were() {
        let body = "word ".repeat(100);
        let out = text(&body);
        assert!(out.contains("…"), "{out}");
        assert!(out.ends_with("(200 to 1,000 characters)"), "{out}");
        assert!(out.chars().count() < TEXT_CAP + 40, "{out}");
    }

    #[test]
    fn html_bodies_lose_their_tags_before_masking() {
        let out = html("<p>Call <b>Ann</b> at 555-010-9999</p>");
        assert_eq!(
            out,
            "C••• A•• a• [phone] (under 50 characters) [HTML, tags removed]"
        );
    }

    #[test]
    fn people_show_as_their_role_and_attachments_as_extension_and_size() {
        assert_eq!(field("requester", &json!("u-alice")), "‹requester›");
        assert_eq!(field("author", &json!("u-agent")), "‹author›");
        assert_eq!(field("organization", &json!("org-1")), "‹an organization›");
        assert_eq!(field("group", &json!("g-1")), "‹a group›");
        assert_eq!(
            field(
                "attachments.file_name",
                &json!(["Passport Jane Doe.PDF", "<script>x()</script>.txt", "noext"])
            ),
            ".pdf, .txt, (no extension)"
        );
        assert_eq!(field("attachments.size", &json!([4096])), "4.0 KiB");
        assert_eq!(
            field("extra", &json!({"brand": 3})),
            "1 vendor field(s), values not shown"
        );
    }

    #[test]
    fn enumerations_and_timestamps_show_as_they_are_anything_else_is_redacted() {
        assert_eq!(field("status", &json!("open")), "open");
        assert_eq!(field("channel", &json!("Jane's phone")), "(redacted)");
        assert_eq!(
            field("created_at", &json!("2023-05-01T09:00:00Z")),
            "2023-05-01T09:00:00Z"
        );
        let custom = field(
            "custom_fields",
            &json!({"cf-1": "Jane Doe 555 010 9999", "cf-2": 42.5}),
        );
        assert!(
            !custom.contains("Jane") && !custom.contains("555"),
            "{custom}"
        );
        assert!(!custom.contains("42"), "{custom}");
    }
}
