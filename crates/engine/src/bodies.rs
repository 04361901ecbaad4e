//! Bodies that keep working after the old account is closed.
//!
//! Between read and write, the HTML bodies of comments and articles are put in portable
//! form ([`extract`]): an image the source account hosts, or a `data:` URI, becomes an
//! attachment of the record (hashed like every other one) and its `src` the placeholder
//! of that attachment; a link to a source ticket, article, section or category becomes
//! the placeholder of that record. The digest, the copy kept for retries and verify all
//! see that form, so the portable record says which attachment a body shows.
//!
//! Before the write, links are resolved through the id map to the target's URLs
//! ([`Bodies::prepare`]): one to a record not on the target yet keeps its source URL, is
//! listed as still pointing at the source, and is written again once that record exists
//! (deferred like forward references, and on a later run when it arrives then). The
//! target resolves the image placeholders to the URLs its uploads get. Verify puts the
//! target's bodies in the same form ([`normalize_target`]), so a link or image that did
//! not move shows as a difference, and lists bodies still pointing at the source.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Mutex;

use switchover_adapter::bodies::{
    self, Attr, BodyUrls, Placeholder, Pointed, host_of, path_of, query_param,
};
use switchover_adapter::{AdapterError, Source};
use switchover_model::digest::{ContentHasher, Digest};
use switchover_model::{Attachment, Kind, Record};

use crate::EngineError;

/// What the run did to the bodies of its records.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BodyReport {
    /// Inline images moved as attachments and shown from the target.
    pub inline_images: u64,
    /// Links to source records re-pointed at their copies on the target.
    pub links_rewritten: u64,
    /// Links to source records not on the target (yet): they keep the source URL.
    pub links_waiting: u64,
    /// Bodies that still reference the source account's domain after rewriting, with
    /// the URLs (images hosted elsewhere by the account, links to its portal pages,
    /// links to records not migrated).
    pub outside: Vec<OutsideBody>,
}

/// A body that still references the source account after rewriting.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OutsideBody {
    /// Kind of the record.
    pub kind: Kind,
    /// Its source id.
    pub source_id: String,
    /// The URLs that still point at the source.
    pub urls: Vec<String>,
}

impl std::fmt::Display for OutsideBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} '{}': {}",
            self.kind,
            self.source_id,
            self.urls.join(", ")
        )
    }
}

/// What one record's bodies hold once prepared for the write.
#[derive(Debug, Clone, Default)]
struct RecordStats {
    images: u64,
    links: u64,
    waiting: u64,
    outside: Vec<String>,
}

/// The body rewriting of one run: both sides' URL spellings and what was done.
pub(crate) struct Bodies<'a> {
    source: Option<&'a dyn BodyUrls>,
    target: &'a dyn BodyUrls,
    /// The kinds the run moves: a link to a record of another kind never resolves, so
    /// it keeps its source URL (reported as pointing outside) instead of waiting.
    moves: Vec<Kind>,
    /// Per record, the last preparation (a record prepared again replaces its entry).
    stats: Mutex<BTreeMap<(Kind, String), RecordStats>>,
}

/// The HTML bodies of a record and its attachments, when it has bodies.
fn parts(record: &mut Record) -> Option<(Vec<&mut String>, &mut Vec<Attachment>)> {
    match record {
        Record::Comment(c) => Some((c.body_html.iter_mut().collect(), &mut c.attachments)),
        Record::KbArticle(a) => {
            let mut bodies = vec![&mut a.body_html];
            bodies.extend(a.translations.values_mut().map(|t| &mut t.body_html));
            Some((bodies, &mut a.attachments))
        }
        _ => None,
    }
}

fn linkable(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Ticket | Kind::KbArticle | Kind::KbSection | Kind::KbCategory
    )
}

/// Whether two URLs name the same file: same host and path (signatures and query
/// parameters aside).
fn same_file(a: &str, b: &str) -> bool {
    host_of(a) == host_of(b) && path_of(a) == path_of(b)
}

fn short_hash(text: &str) -> String {
    Digest::of(text.as_bytes()).to_hex()[..16].to_string()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(h), Some(l)) if hex(*h).is_some() && hex(*l).is_some() => {
                out.push((hex(*h).unwrap_or(0) * 16 + hex(*l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The content type a file name suggests (images mostly; inline files are images).
fn content_type_of(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    }
}

/// The bytes and content type of a `data:` URI.
pub(crate) fn data_uri(uri: &str) -> Option<(String, Vec<u8>)> {
    let (meta, data) = uri.strip_prefix("data:")?.split_once(',')?;
    let base64 = meta.ends_with(";base64");
    let mime = meta
        .trim_end_matches(";base64")
        .split(';')
        .next()
        .unwrap_or_default();
    let mime = if mime.is_empty() { "text/plain" } else { mime };
    let bytes = if base64 {
        decode_base64(&percent_decode(data))?
    } else {
        percent_decode(data).into_bytes()
    };
    Some((mime.to_string(), bytes))
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Opens an attachment's bytes: a `data:` URI the engine took out of a body is read
/// here, everything else from the source.
pub(crate) fn open(
    source: &dyn Source,
    attachment: &Attachment,
) -> Result<Box<dyn Read + Send>, AdapterError> {
    match attachment.location.as_deref().and_then(data_uri) {
        Some((_, bytes)) => Ok(Box::new(std::io::Cursor::new(bytes))),
        None => source.open_attachment(attachment),
    }
}

/// Puts a record's bodies in portable form (see the module docs); a body already in
/// that form is left as it is. `source` is how the source spells its URLs (`None`: only
/// `data:` images move). Returns how many images and links it turned into placeholders.
pub(crate) fn extract(source: Option<&dyn BodyUrls>, record: &mut Record) -> (u64, u64) {
    let id = record.id().to_string();
    let Some((bodies, attachments)) = parts(record) else {
        return (0, 0);
    };
    let (mut images, mut links) = (0, 0);
    for body in bodies {
        if !body.contains("src") && !body.contains("href") {
            continue;
        }
        *body = bodies::rewrite_urls(body, |attr, url| {
            if bodies::placeholder(url).is_some() {
                return None;
            }
            match attr {
                Attr::Src => {
                    let index = image_attachment(source, &id, url, attachments)?;
                    images += 1;
                    Some(bodies::inline(index))
                }
                Attr::Href => match source?.classify(url)? {
                    Pointed::Record(kind, target) if linkable(kind) => {
                        links += 1;
                        Some(bodies::link(kind, &target))
                    }
                    _ => None,
                },
            }
        });
    }
    (images, links)
}

/// The index of the attachment an image source shows, added to the record when it is
/// not one of its attachments yet; `None` for images the source account does not host.
fn image_attachment(
    source: Option<&dyn BodyUrls>,
    record_id: &str,
    url: &str,
    attachments: &mut Vec<Attachment>,
) -> Option<usize> {
    let id = format!("{record_id}:inline:{}", short_hash(url));
    if let Some(i) = attachments.iter().position(|a| a.id == id) {
        return Some(i);
    }
    let attachment = if let Some((mime, bytes)) = data_uri(url) {
        let (sha, size) = ContentHasher::hash_reader(&mut bytes.as_slice()).ok()?;
        let ext = mime
            .rsplit('/')
            .next()
            .unwrap_or("bin")
            .split('+')
            .next()
            .unwrap_or("bin");
        Attachment {
            file_name: format!("inline-{}.{ext}", &id[id.len() - 8..]),
            content_type: mime,
            size,
            sha256: Some(sha.to_hex()),
            ..Default::default()
        }
    } else {
        if source?.classify(url)? != Pointed::Attachment {
            return None;
        }
        if let Some(i) = attachments
            .iter()
            .position(|a| a.location.as_deref().is_some_and(|l| same_file(l, url)))
        {
            attachments[i].inline = true;
            return Some(i);
        }
        let name = query_param(url, "name")
            .map(percent_decode)
            .or_else(|| {
                path_of(url)
                    .rsplit('/')
                    .find(|s| !s.is_empty())
                    .map(percent_decode)
            })
            .unwrap_or_else(|| "image".into());
        Attachment {
            content_type: content_type_of(&name).to_string(),
            file_name: name,
            ..Default::default()
        }
    };
    attachments.push(Attachment {
        id,
        inline: true,
        location: Some(url.to_string()),
        ..attachment
    });
    Some(attachments.len() - 1)
}

/// The URLs of `html` on one of `hosts`.
fn on_hosts(html: &str, hosts: &[String]) -> Vec<String> {
    bodies::urls(html)
        .into_iter()
        .map(|(_, url)| url)
        .filter(|url| host_of(url).is_some_and(|h| hosts.contains(&h)))
        .collect()
}

/// The URLs of a record's bodies that point at one of `hosts`.
pub(crate) fn pointing_at(record: &mut Record, hosts: &[String]) -> Vec<String> {
    let Some((bodies, _)) = parts(record) else {
        return Vec::new();
    };
    bodies
        .into_iter()
        .flat_map(|b| on_hosts(b, hosts))
        .collect()
}

/// Puts a body read back from the target in portable form: images shown from the
/// record's own attachments become their placeholders, links to target records the
/// placeholders of their source records (`source_of` maps a target id back). A link
/// still pointing at a source record (written before its record was migrated, and
/// waiting for the next run to re-point it) becomes that record's placeholder too: the
/// body is the same, and verify lists it among the bodies still pointing at the source.
pub(crate) fn normalize_target(
    target: &dyn BodyUrls,
    source: Option<&dyn BodyUrls>,
    record: &mut Record,
    mut source_of: impl FnMut(Kind, &str) -> Option<String>,
) {
    let Some((bodies, attachments)) = parts(record) else {
        return;
    };
    for body in bodies {
        *body = bodies::rewrite_urls(body, |attr, url| match attr {
            Attr::Src => attachments
                .iter()
                .position(|a| a.location.as_deref().is_some_and(|l| same_file(l, url)))
                .map(bodies::inline),
            Attr::Href => match target.classify(url) {
                Some(Pointed::Record(kind, id)) if linkable(kind) => {
                    source_of(kind, &id).map(|source| bodies::link(kind, &source))
                }
                _ => match source.and_then(|s| s.classify(url)) {
                    Some(Pointed::Record(kind, id)) if linkable(kind) => {
                        Some(bodies::link(kind, &id))
                    }
                    _ => None,
                },
            },
        });
    }
}

impl<'a> Bodies<'a> {
    /// The rewriting of a run from `source` into a target spelling URLs as `target`.
    pub(crate) fn new(
        source: Option<&'a dyn BodyUrls>,
        target: &'a dyn BodyUrls,
        moves: Vec<Kind>,
    ) -> Self {
        Bodies {
            source,
            target,
            moves,
            stats: Mutex::new(BTreeMap::new()),
        }
    }

    /// How the source spells its URLs.
    pub(crate) fn source(&self) -> Option<&'a dyn BodyUrls> {
        self.source
    }

    /// Resolves the link placeholders of a record about to be written (its references
    /// already mapped; its id the source id): to the target's URL of the record when
    /// `target_id` knows it, else back to the source URL. Returns how many links are
    /// still waiting for their record.
    pub(crate) fn prepare(
        &self,
        record: &mut Record,
        mut target_id: impl FnMut(Kind, &str) -> Result<Option<String>, EngineError>,
    ) -> Result<u64, EngineError> {
        let key = (record.kind(), record.id().to_string());
        let Some((bodies, _)) = parts(record) else {
            return Ok(0);
        };
        let mut stats = RecordStats::default();
        let mut failed: Option<EngineError> = None;
        for body in bodies {
            if !body.contains(bodies::LINK) && !body.contains(bodies::INLINE) {
                continue;
            }
            *body = bodies::rewrite_urls(body, |_, url| match bodies::placeholder(url)? {
                Placeholder::Inline(_) => {
                    stats.images += 1;
                    None
                }
                Placeholder::Link(kind, id) => {
                    let found = match target_id(kind, &id) {
                        Ok(found) => found,
                        Err(e) => {
                            failed.get_or_insert(e);
                            None
                        }
                    };
                    let url = found.and_then(|t| self.target.record_url(kind, &t));
                    match url {
                        Some(url) => {
                            stats.links += 1;
                            Some(url)
                        }
                        // Not moved by this run: it stays pointing at the source.
                        None if !self.moves.contains(&kind) => {
                            self.source.and_then(|s| s.record_url(kind, &id))
                        }
                        None => {
                            stats.waiting += 1;
                            self.source.and_then(|s| s.record_url(kind, &id))
                        }
                    }
                }
            });
        }
        if let Some(e) = failed {
            return Err(e);
        }
        if let Some(source) = self.source {
            stats.outside = pointing_at(record, &source.hosts());
        }
        let waiting = stats.waiting;
        let mut all = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        if stats.images + stats.links + stats.waiting > 0 || !stats.outside.is_empty() {
            all.insert(key, stats);
        } else {
            all.remove(&key);
        }
        Ok(waiting)
    }

    /// What was done to the bodies of the run.
    pub(crate) fn report(&self) -> BodyReport {
        let all = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        let mut report = BodyReport::default();
        for ((kind, id), stats) in all.iter() {
            report.inline_images += stats.images;
            report.links_rewritten += stats.links;
            report.links_waiting += stats.waiting;
            if !stats.outside.is_empty() {
                report.outside.push(OutsideBody {
                    kind: *kind,
                    source_id: id.clone(),
                    urls: stats.outside.clone(),
                });
            }
        }
        report
    }
}

/// A digest a write stores for a record whose links still wait for their records: it
/// differs from the record's own, so the next run writes the record again and
/// re-points them once those records are on the target.
pub(crate) fn waiting_digest(digest: Digest) -> Digest {
    let mut bytes = digest.0.to_vec();
    bytes.extend_from_slice(b"links-waiting");
    Digest::of(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchover_model::Comment;

    struct Acme;
    impl BodyUrls for Acme {
        fn hosts(&self) -> Vec<String> {
            vec!["acme.example".into()]
        }
        fn classify(&self, url: &str) -> Option<Pointed> {
            if host_of(url)? != "acme.example" {
                return None;
            }
            let path = path_of(url);
            if path.starts_with("/files/") {
                return Some(Pointed::Attachment);
            }
            path.strip_prefix("/tickets/")
                .map(|id| Pointed::Record(Kind::Ticket, id.to_string()))
        }
        fn record_url(&self, kind: Kind, id: &str) -> Option<String> {
            (kind == Kind::Ticket).then(|| format!("https://acme.example/tickets/{id}"))
        }
    }

    struct Other;
    impl BodyUrls for Other {
        fn hosts(&self) -> Vec<String> {
            vec!["other.example".into()]
        }
        fn classify(&self, _: &str) -> Option<Pointed> {
            None
        }
        fn record_url(&self, kind: Kind, id: &str) -> Option<String> {
            (kind == Kind::Ticket).then(|| format!("https://other.example/t/{id}"))
        }
    }

    #[test]
    fn images_become_attachments_and_links_resolve_or_keep_the_source_url() {
        let body = r#"<img src="https://acme.example/files/1?name=a.png"><img src="https://acme.example/files/2?name=b%20c.png"><img src="data:image/png;base64,aGVsbG8="><img src="https://cdn.example/x.png"><a href="https://acme.example/tickets/7">7</a> <a href="https://acme.example/tickets/8">8</a> <a href="https://acme.example/portal">p</a>"#;
        let mut record = Record::Comment(Comment {
            id: "c1".into(),
            body_html: Some(body.into()),
            attachments: vec![Attachment {
                id: "a1".into(),
                location: Some("https://acme.example/files/1?name=a.png&sig=x".into()),
                ..Default::default()
            }],
            ..Default::default()
        });
        assert_eq!(extract(Some(&Acme), &mut record), (3, 2));
        let before = record.clone();
        assert_eq!(
            extract(Some(&Acme), &mut record),
            (0, 0),
            "already portable"
        );
        assert_eq!(record, before);
        let Record::Comment(c) = &record else {
            unreachable!()
        };
        assert_eq!(c.attachments.len(), 3);
        assert!(c.attachments[0].inline);
        assert_eq!(c.attachments[1].file_name, "b c.png");
        assert_eq!(c.attachments[1].content_type, "image/png");
        assert_eq!(c.attachments[2].size, 5);
        let html = c.body_html.clone().unwrap_or_default();
        assert!(html.contains(r#"src="switchover-inline:2""#), "{html}");
        assert!(html.contains("https://cdn.example/x.png"));
        assert!(html.contains(r#"href="switchover-link:tickets/7""#));

        let bodies = Bodies::new(Some(&Acme), &Other, Kind::ALL.to_vec());
        let mut written = record.clone();
        let waiting = bodies
            .prepare(&mut written, |_, id| {
                Ok((id == "7").then(|| "70".to_string()))
            })
            .expect("prepare");
        assert_eq!(waiting, 1);
        let Record::Comment(w) = &written else {
            unreachable!()
        };
        let html = w.body_html.clone().unwrap_or_default();
        assert!(html.contains("https://other.example/t/70"), "{html}");
        assert!(html.contains("https://acme.example/tickets/8"));
        let report = bodies.report();
        assert_eq!(
            (
                report.inline_images,
                report.links_rewritten,
                report.links_waiting
            ),
            (3, 1, 1)
        );
        assert_eq!(
            report.outside[0].urls,
            vec![
                "https://acme.example/tickets/8",
                "https://acme.example/portal"
            ]
        );
        let (mime, data) = data_uri("data:image/png;base64,aGVsbG8=").expect("data");
        assert_eq!(
            (mime.as_str(), data.as_slice()),
            ("image/png", &b"hello"[..])
        );
    }
}
