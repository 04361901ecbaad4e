//! How Zendesk spells the URLs of an account in bodies: attachments and inline images
//! (`/attachments/token/{token}/?name=`, `/sc/attachments/...`, Help Center
//! `/hc/article_attachments/{id}/{name}`), agent ticket pages (`/agent/tickets/{id}`,
//! `/tickets/{id}`), and Help Center articles, sections and categories
//! (`/hc/{locale}/articles/{id}-{slug}`, the locale optional).

use switchover_adapter::bodies::{BodyUrls, Pointed, host_of, path_of};
use switchover_model::Kind;

use crate::Zendesk;

impl Zendesk {
    /// The account's root URL (`https://acme.zendesk.com`), without the API path.
    fn root(&self) -> String {
        let base = self.http.base_url().as_str().trim_end_matches('/');
        base.strip_suffix("/api/v2").unwrap_or(base).to_string()
    }
}

/// The leading digits of a path segment (`456-how-to` is article 456).
fn leading_id(segment: &str) -> Option<String> {
    let id: String = segment.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

impl BodyUrls for Zendesk {
    fn hosts(&self) -> Vec<String> {
        host_of(&self.root()).into_iter().collect()
    }

    fn classify(&self, url: &str) -> Option<Pointed> {
        if host_of(url)? != host_of(&self.root())? {
            return None;
        }
        let path = path_of(url);
        if [
            "/attachments/token/",
            "/sc/attachments/",
            "/hc/article_attachments/",
        ]
        .iter()
        .any(|p| path.starts_with(p))
        {
            return Some(Pointed::Attachment);
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            ["agent", "tickets", id, ..] | ["tickets", id] | ["hc", "requests", id] => {
                leading_id(id).map(|id| Pointed::Record(Kind::Ticket, id))
            }
            ["hc", rest @ ..] => {
                // With or without the locale segment.
                let rest = match rest {
                    [_, kind @ ("articles" | "sections" | "categories"), id, ..] => {
                        Some((*kind, *id))
                    }
                    [kind, id, ..] => Some((*kind, *id)),
                    _ => None,
                };
                let (kind, id) = rest?;
                let kind = match kind {
                    "articles" => Kind::KbArticle,
                    "sections" => Kind::KbSection,
                    "categories" => Kind::KbCategory,
                    _ => return None,
                };
                leading_id(id).map(|id| Pointed::Record(kind, id))
            }
            _ => None,
        }
    }

    fn record_url(&self, kind: Kind, id: &str) -> Option<String> {
        let root = self.root();
        let path = match kind {
            Kind::Ticket => "agent/tickets",
            Kind::KbArticle => "hc/articles",
            Kind::KbSection => "hc/sections",
            Kind::KbCategory => "hc/categories",
            _ => return None,
        };
        Some(format!("{root}/{path}/{id}"))
    }
}
