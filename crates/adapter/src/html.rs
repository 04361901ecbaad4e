//! The HTML every adapter needs around bodies and markers: escaping text into HTML,
//! reading entities back, and the plain text of a body.

/// `text` escaped for an HTML text node or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The text the entities [`escape`] writes (and `&#39;`) stand for.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The plain text of an HTML fragment: tags dropped, entities read, ends trimmed.
pub fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn escaped_text_reads_back_as_it_was_and_opens_no_markup(text in "\\PC*") {
            let escaped = escape(&text);
            prop_assert!(!escaped.contains('<') && !escaped.contains('"'));
            prop_assert_eq!(unescape(&escaped), text.clone());
            prop_assert_eq!(text_of(&format!("<p>{escaped}</p>")), text.trim().to_string());
        }
    }
}
