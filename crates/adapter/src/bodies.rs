//! The URLs in HTML bodies that point into a helpdesk account: its attachments and
//! inline images, and its tickets and knowledge base pages.
//!
//! Bodies carry them in portable form between read and write. The engine replaces an
//! image the source account hosts (or a `data:` URI) with [`inline`] (`switchover-inline:N`,
//! the record's `N`th attachment) and a link to a source record with [`link`]
//! (`switchover-link:<kind>/<id>`), resolves links to the target's URLs before the write,
//! and a target resolves the images to the URLs its uploads got ([`resolve_inline`]),
//! since only it knows them. An adapter says how its vendor spells these URLs by
//! implementing [`BodyUrls`]; the scanning and rewriting are here, in one place.

use switchover_model::Kind;

use crate::html::{escape, unescape};

/// The scheme of a placeholder for an inline image: the record's attachment at an index.
pub const INLINE: &str = "switchover-inline:";
/// The scheme of a placeholder for a link to a record of the source account.
pub const LINK: &str = "switchover-link:";

/// What a URL of the account points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pointed {
    /// A file the account hosts (an attachment, an inline image).
    Attachment,
    /// A record of the account (a ticket, an article, a section, a category), by id.
    Record(Kind, String),
}

/// How a vendor spells the URLs of one account in bodies.
pub trait BodyUrls: Send + Sync {
    /// The hosts (with the port, when not the default) the account's URLs use.
    fn hosts(&self) -> Vec<String>;
    /// What `url` (an absolute URL, entities read) points at, when it is the account's.
    fn classify(&self, url: &str) -> Option<Pointed>;
    /// The URL people open to see a record of the account (`None`: the kind has none).
    fn record_url(&self, kind: Kind, id: &str) -> Option<String>;
}

/// Which attribute a URL was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attr {
    /// The `src` of an `<img>`.
    Src,
    /// The `href` of an `<a>`.
    Href,
}

/// A placeholder read back from a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placeholder {
    /// The record's attachment at this index.
    Inline(usize),
    /// A record of the source account.
    Link(Kind, String),
}

/// The placeholder of the record's attachment at `index`.
pub fn inline(index: usize) -> String {
    format!("{INLINE}{index}")
}

/// The placeholder of a link to a source record.
pub fn link(kind: Kind, id: &str) -> String {
    format!("{LINK}{}/{id}", kind.as_str())
}

/// The placeholder `url` is, if it is one.
pub fn placeholder(url: &str) -> Option<Placeholder> {
    if let Some(index) = url.strip_prefix(INLINE) {
        return index.parse().ok().map(Placeholder::Inline);
    }
    let (kind, id) = url.strip_prefix(LINK)?.split_once('/')?;
    Some(Placeholder::Link(kind.parse().ok()?, id.to_string()))
}

/// The host (and port) of an absolute URL, lowercase.
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..end];
    let host = host.rsplit_once('@').map(|(_, h)| h).unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The path of an absolute URL, without query and fragment.
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let rest = &rest[rest.find('/').unwrap_or(rest.len())..];
    &rest[..rest.find(['?', '#']).unwrap_or(rest.len())]
}

/// The value of a query parameter of a URL, percent-decoding left to the caller.
pub fn query_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `html` with every `<img src>` and `<a href>` handed to `visit` (entities read) and
/// replaced by what it returns, when it returns something. Everything else is kept
/// byte for byte.
pub fn rewrite_urls(html: &str, mut visit: impl FnMut(Attr, &str) -> Option<String>) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        rest = &rest[open..];
        let end = tag_end(rest);
        let tag = &rest[..end];
        out.push_str(&rewrite_tag(tag, &mut visit));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// Every `<img src>` and `<a href>` of `html`, entities read.
pub fn urls(html: &str) -> Vec<(Attr, String)> {
    let mut found = Vec::new();
    rewrite_urls(html, |attr, url| {
        found.push((attr, url.to_string()));
        None
    });
    found
}

/// `html` with its inline placeholders replaced by the URLs the target gave the
/// record's attachments (`urls[i]` for attachment `i`); placeholders without a URL are
/// left as they are.
pub fn resolve_inline(html: &str, urls: &[Option<String>]) -> String {
    rewrite_urls(html, |attr, url| match (attr, placeholder(url)) {
        (Attr::Src, Some(Placeholder::Inline(i))) => urls.get(i).cloned().flatten(),
        _ => None,
    })
}

/// Whether `html` has an inline placeholder to resolve.
pub fn has_inline(html: &str) -> bool {
    html.contains(INLINE)
}

/// The length of the tag (or other markup) at the start of `html`, quotes respected.
fn tag_end(html: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in html.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            (None, '<') => return i,
            _ => {}
        }
    }
    html.len()
}

fn rewrite_tag(tag: &str, visit: &mut impl FnMut(Attr, &str) -> Option<String>) -> String {
    let name: String = tag[1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let (attr, wanted) = match name.as_str() {
        "img" => (Attr::Src, "src"),
        "a" => (Attr::Href, "href"),
        _ => return tag.to_string(),
    };
    let Some((start, end, value)) = attribute(tag, wanted) else {
        return tag.to_string();
    };
    match visit(attr, &unescape(value)) {
        Some(new) => format!("{}\"{}\"{}", &tag[..start], escape(&new), &tag[end..]),
        None => tag.to_string(),
    }
}

/// Where the value of attribute `wanted` sits in `tag` (quotes included) and the value.
fn attribute<'a>(tag: &'a str, wanted: &str) -> Option<(usize, usize, &'a str)> {
    let bytes = tag.as_bytes();
    let mut i = 1 + tag[1..].find(|c: char| c.is_ascii_whitespace() || c == '/')?;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = &tag[name_start..i];
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            if name.is_empty() {
                i += 1;
            }
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value_start = i;
        let (value, value_end) = match bytes.get(i) {
            Some(q @ (b'"' | b'\'')) => {
                let close = tag[i + 1..].find(*q as char).map(|p| i + 1 + p)?;
                (&tag[i + 1..close], close + 1)
            }
            _ => {
                let end = tag[i..]
                    .find(|c: char| c.is_ascii_whitespace() || c == '>')
                    .map(|p| i + p)
                    .unwrap_or(tag.len());
                (&tag[i..end], end)
            }
        };
        if name.eq_ignore_ascii_case(wanted) {
            return Some((value_start, value_end, value));
        }
        i = value_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_sources_and_link_targets_are_rewritten_and_nothing_else() {
        let html = r#"<p>See <a class="x" href='https://a.example/agent/tickets/5'>#5</a> <img alt="a > b" src="https://a.example/t?x=1&amp;name=y.png"><img src=cid:9 /><link href="keep"> <b src="keep">"#;
        let seen = urls(html);
        assert_eq!(
            seen,
            vec![
                (Attr::Href, "https://a.example/agent/tickets/5".to_string()),
                (Attr::Src, "https://a.example/t?x=1&name=y.png".to_string()),
                (Attr::Src, "cid:9".to_string()),
            ]
        );
        let out = rewrite_urls(html, |attr, url| match attr {
            Attr::Src if url.starts_with("cid:") => Some(inline(0)),
            Attr::Href => Some(link(Kind::Ticket, "5")),
            _ => None,
        });
        assert_eq!(
            out,
            r#"<p>See <a class="x" href="switchover-link:tickets/5">#5</a> <img alt="a > b" src="https://a.example/t?x=1&amp;name=y.png"><img src="switchover-inline:0" /><link href="keep"> <b src="keep">"#
        );
        assert_eq!(
            resolve_inline(&out, &[Some("https://b.example/f?a=1&b=2".into())]),
            out.replace("switchover-inline:0", "https://b.example/f?a=1&amp;b=2")
        );
        assert_eq!(
            placeholder("switchover-link:tickets/5"),
            Some(Placeholder::Link(Kind::Ticket, "5".into()))
        );
    }

    #[test]
    fn hosts_paths_and_queries_are_read_from_urls() {
        let url = "https://user@Acme.zendesk.com:8443/attachments/token/t/?name=a.png#x";
        assert_eq!(host_of(url).as_deref(), Some("acme.zendesk.com:8443"));
        assert_eq!(path_of(url), "/attachments/token/t/");
        assert_eq!(query_param(url, "name"), Some("a.png"));
        assert_eq!(host_of("cid:1"), None);
    }
}
