//! Markdown escaping. Every value a Markdown template prints is escaped unless marked
//! safe, so customer data (an id with `|` or `<script>`, a message with `*` or a line
//! break) reads as text and cannot break a table, start a list or inject HTML.

use minijinja::value::Value;
use minijinja::{AutoEscape, Error, Output, State};

/// The name of the Markdown auto-escape mode.
pub const ESCAPE: &str = "markdown";

/// Prints a value: Markdown-escaped in Markdown templates, else as MiniJinja would.
pub fn formatter(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    match state.auto_escape() {
        AutoEscape::Custom(name) if name == ESCAPE && !value.is_safe() => {
            let text = match value.as_str() {
                Some(s) => escape_text(s),
                None => escape_text(&value.to_string()),
            };
            out.write_str(&text).map_err(Error::from)
        }
        AutoEscape::Custom(name) if name == ESCAPE => {
            out.write_str(&value.to_string()).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// One line of text: line breaks become spaces, so a value never ends a table row or
/// a list item.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' | '\u{b}' | '\u{c}' => ' ',
            c => c,
        })
        .collect()
}

/// Escapes text for inline Markdown (CommonMark with GitHub tables): backslash before
/// every character that could start markup there (emphasis, code, links, HTML, entity,
/// table cell, strikethrough), line breaks as spaces.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in one_line(text).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A code span that shows `text` exactly, whatever backticks it holds: the fence is
/// one backtick longer than the longest run inside, padded with a space when the text
/// starts or ends with a backtick or a space.
fn code_span(text: &str) -> String {
    let text = one_line(text);
    if text.is_empty() {
        return "` `".to_string();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' '));
    if pad {
        format!("{fence} {text} {fence}")
    } else {
        format!("{fence}{text}{fence}")
    }
}

/// Filter `code`: a value as a code span (outside tables).
pub fn code(value: Value) -> Value {
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string);
    Value::from_safe_string(code_span(&text))
}

/// Filter `cellcode`: a value as a code span inside a table cell, where GitHub tables
/// need `|` escaped even in code.
pub fn cell_code(value: Value) -> Value {
    let text = value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_string);
    Value::from_safe_string(code_span(&text).replace('|', "\\|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_text_cannot_open_markup_or_end_a_row() {
        assert_eq!(
            escape_text("<script>a|b</script>\n*x*"),
            "\\<script\\>a\\|b\\</script\\> \\*x\\*"
        );
    }

    #[test]
    fn a_code_span_holding_backticks_is_fenced_longer() {
        assert_eq!(code_span("a``b"), "```a``b```");
        assert_eq!(code_span("`x"), "`` `x ``");
    }
}
