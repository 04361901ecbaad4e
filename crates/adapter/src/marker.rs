//! Source markers: how an adapter writes the source id of a migrated record into the
//! record itself, so that a re-run or a recovery after a crash finds what already exists
//! even when the id map has no row for it.
//!
//! Three forms, one implementation each:
//! - [`SuffixMarker`]: a bracketed suffix of a text field (`Billing [switchover:42]`), for
//!   names, titles and descriptions;
//! - [`HiddenMarker`]: an HTML comment or an empty hidden span in an HTML field, invisible
//!   to the people who read it (signatures, bodies);
//! - [`ValueMarker`]: a whole field value, such as an external id or a custom field
//!   (`switchover:42`).
//!
//! The id is escaped inside a marker, so a source id can hold any text, and the text
//! around a marker is given back byte for byte: `split(append(text, id)) == (text, id)`
//! whatever the text holds, fake markers included (the proptests below say so).

use crate::html;

/// Characters a suffix marker's id may not hold as they are.
const SUFFIX_ESCAPED: &[char] = &['%', '[', ']'];
/// Characters a hidden marker's id may not hold as they are (`-` so that no `--` ends a
/// comment).
const HIDDEN_ESCAPED: &[char] = &['%', '<', '>', '"', '&', '-'];

/// Percent-escapes `escaped` and control characters, which would let an id end its
/// marker early.
fn escape_id(id: &str, escaped: &[char]) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        if escaped.contains(&c) || c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The id [`escape_id`] wrote; text that is not a valid escape is kept as it is, so
/// markers written before escaping existed still read.
fn unescape_id(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// A marker kept as the suffix of a text field: `<text><separator><open><id><close>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuffixMarker {
    open: &'static str,
    close: &'static str,
    separator: &'static str,
}

impl SuffixMarker {
    /// A suffix marker opened by `open` (which must start with `[`), closed by `]`, and
    /// separated from the text before it by `separator` (left out when the text is empty).
    pub const fn new(open: &'static str, separator: &'static str) -> Self {
        SuffixMarker {
            open,
            close: "]",
            separator,
        }
    }

    /// The marker alone.
    pub fn tag(&self, id: &str) -> String {
        format!(
            "{}{}{}",
            self.open,
            escape_id(id, SUFFIX_ESCAPED),
            self.close
        )
    }

    /// `text` with the marker of `id` after it.
    pub fn append(&self, text: &str, id: &str) -> String {
        if text.is_empty() {
            self.tag(id)
        } else {
            format!("{text}{}{}", self.separator, self.tag(id))
        }
    }

    /// [`SuffixMarker::append`] of an optional text.
    pub fn append_opt(&self, text: Option<&str>, id: &str) -> String {
        self.append(text.unwrap_or_default(), id)
    }

    /// The text without its marker, and the marker's id if it has one.
    pub fn split(&self, text: &str) -> (String, Option<String>) {
        if let Some(body) = text.strip_suffix(self.close)
            && let Some(at) = body.rfind(self.open)
        {
            let id = unescape_id(&body[at + self.open.len()..]);
            let before = &body[..at];
            let before = before.strip_suffix(self.separator).unwrap_or(before);
            return (before.to_string(), Some(id));
        }
        (text.to_string(), None)
    }

    /// [`SuffixMarker::split`] of an optional text; an empty text is `None`.
    pub fn split_opt(&self, text: Option<&str>) -> (Option<String>, Option<String>) {
        let Some(text) = text else {
            return (None, None);
        };
        let (rest, id) = self.split(text);
        ((!rest.is_empty()).then_some(rest), id)
    }

    /// Only the marker's id, if `text` carries one.
    pub fn id_in(&self, text: &str) -> Option<String> {
        self.split(text).1
    }
}

/// How a [`HiddenMarker`] hides itself in HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HiddenStyle {
    /// `<!-- label: id -->`: for fields whose HTML keeps comments (signatures).
    Comment,
    /// `<span hidden data-label="id"></span>`: for bodies whose sanitizer drops comments.
    Span,
}

/// A marker hidden in an HTML field, appended at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HiddenMarker {
    label: &'static str,
    style: HiddenStyle,
}

impl HiddenMarker {
    /// A hidden marker named `label` (letters, digits and `-` only), in `style`.
    pub const fn new(label: &'static str, style: HiddenStyle) -> Self {
        HiddenMarker { label, style }
    }

    fn open(&self) -> String {
        match self.style {
            HiddenStyle::Comment => format!("<!-- {}: ", self.label),
            HiddenStyle::Span => format!("<span hidden data-{}=\"", self.label),
        }
    }

    fn close(&self) -> &'static str {
        match self.style {
            HiddenStyle::Comment => " -->",
            HiddenStyle::Span => "\"></span>",
        }
    }

    /// The marker alone.
    pub fn tag(&self, id: &str) -> String {
        format!(
            "{}{}{}",
            self.open(),
            escape_id(id, HIDDEN_ESCAPED),
            self.close()
        )
    }

    /// `html` with the marker of `id` at its end.
    pub fn append(&self, html: &str, id: &str) -> String {
        format!("{html}{}", self.tag(id))
    }

    /// The HTML without its marker (the last one, wherever it is), and the marker's id.
    pub fn split(&self, html: &str) -> (String, Option<String>) {
        let open = self.open();
        if let Some(at) = html.rfind(&open) {
            let rest = &html[at + open.len()..];
            if let Some(end) = rest.find(self.close()) {
                let id = unescape_id(&html::unescape(&rest[..end]));
                let mut remaining = html[..at].to_string();
                remaining.push_str(&rest[end + self.close().len()..]);
                return (remaining, Some(id));
            }
        }
        (html.to_string(), None)
    }

    /// [`HiddenMarker::split`] of an optional field; an empty remainder is `None`.
    pub fn split_opt(&self, html: Option<&str>) -> (Option<String>, Option<String>) {
        let Some(html) = html else {
            return (None, None);
        };
        let (rest, id) = self.split(html);
        ((!rest.is_empty()).then_some(rest), id)
    }
}

/// A marker that is a whole field value: `<prefix><id>` (an external id, a custom field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueMarker {
    prefix: &'static str,
}

impl ValueMarker {
    /// A value marker starting with `prefix` (may be empty when the field holds only
    /// markers).
    pub const fn new(prefix: &'static str) -> Self {
        ValueMarker { prefix }
    }

    /// The field value that marks `id`.
    pub fn value(&self, id: &str) -> String {
        format!("{}{id}", self.prefix)
    }

    /// The id a field value marks, if it is a marker.
    pub fn id_in<'a>(&self, value: &'a str) -> Option<&'a str> {
        value.strip_prefix(self.prefix).filter(|id| !id.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SUFFIX: SuffixMarker = SuffixMarker::new("[switchover:", " ");
    const COMMENT: HiddenMarker = HiddenMarker::new("switchover-source-id", HiddenStyle::Comment);
    const SPAN: HiddenMarker = HiddenMarker::new("switchover-source-id", HiddenStyle::Span);

    /// Text that looks like markers, to try to confuse the parser.
    fn hostile() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("[switchover:".to_string()),
                Just("]".to_string()),
                Just(" ".to_string()),
                Just("<!-- switchover-source-id: ".to_string()),
                Just(" -->".to_string()),
                Just("<span hidden data-switchover-source-id=\"".to_string()),
                Just("\"></span>".to_string()),
                Just("%5D".to_string()),
                "\\PC{0,8}",
            ],
            0..8,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn a_suffix_marker_reads_back_its_id_and_gives_the_text_back_unchanged(
            text in hostile(), id in "\\PC{1,12}|[\\[\\]%-]{1,4}"
        ) {
            let marked = SUFFIX.append(&text, &id);
            prop_assert_eq!(SUFFIX.split(&marked), (text.clone(), Some(id.clone())));
        }

        #[test]
        fn a_hidden_marker_reads_back_its_id_and_gives_the_html_back_unchanged(
            html in hostile(), id in "\\PC{1,12}|[\\[\\]%\"<>-]{1,4}"
        ) {
            for marker in [COMMENT, SPAN] {
                let marked = marker.append(&html, &id);
                prop_assert_eq!(marker.split(&marked), (html.clone(), Some(id.clone())));
                // The id never opens markup or ends a comment.
                let tag = marker.tag(&id);
                prop_assert!(!tag[4..tag.len() - 4].contains("--"));
            }
        }

        #[test]
        fn a_value_marker_reads_back_its_id(id in "\\PC{1,20}") {
            let marker = ValueMarker::new("switchover:");
            let value = marker.value(&id);
            prop_assert_eq!(marker.id_in(&value), Some(id.as_str()));
        }
    }

    #[test]
    fn text_without_a_marker_is_read_as_it_is() {
        assert_eq!(SUFFIX.split("Billing"), ("Billing".to_string(), None));
        assert_eq!(SUFFIX.split_opt(Some("")), (None, None));
        assert_eq!(
            COMMENT.split("<p>Regards</p>"),
            ("<p>Regards</p>".to_string(), None)
        );
        assert_eq!(ValueMarker::new("switchover:").id_in("crm-7"), None);
    }

    #[test]
    fn markers_written_before_ids_were_escaped_still_read() {
        // Zendesk wrote `<text> [switchover:<id>]`, an empty text as ` [switchover:<id>]`.
        assert_eq!(
            SUFFIX.split(" [switchover:org-1]"),
            (String::new(), Some("org-1".to_string()))
        );
        assert_eq!(
            COMMENT.split("Thanks<!-- switchover-source-id: a&amp;b -->"),
            ("Thanks".to_string(), Some("a&b".to_string()))
        );
    }
}
