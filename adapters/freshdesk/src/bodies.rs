//! How Freshdesk spells the URLs of an account in bodies: attachments
//! (`/helpdesk/attachments/{id}`, and the pre-signed storage URLs the API hands out,
//! whose path holds `/attachments/`), agent ticket pages (`/a/tickets/{id}`,
//! `/helpdesk/tickets/{id}`, the portal's `/support/tickets/{id}`) and the solutions
//! portal (`/support/solutions/articles/{id}-{slug}`, `/support/solutions/folders/{id}`,
//! `/support/solutions/{id}`). A note's inline images are shown from the
//! `attachment_url` Freshdesk gives the uploaded file.

use serde_json::{Value, json};
use switchover_adapter::AdapterError;
use switchover_adapter::bodies::{BodyUrls, Pointed, host_of, path_of, resolve_inline};
use switchover_http::Request;
use switchover_model::Kind;

use crate::Freshdesk;

/// The leading digits of a path segment (`7-reset-password` is article 7).
fn leading_id(segment: &str) -> Option<String> {
    let id: String = segment.chars().take_while(char::is_ascii_digit).collect();
    (!id.is_empty()).then_some(id)
}

/// The `attachment_url` of each attachment of a conversation, in order.
pub(crate) fn attachment_urls(conversation: &Value) -> Vec<Option<String>> {
    conversation["attachments"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|a| a["attachment_url"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Freshdesk {
    /// Shows a written note's inline images from the URLs its attachments got: the
    /// body is sent again with them (`PUT conversations/{id}`) when it has any.
    pub(crate) fn resolve_note_images(
        &self,
        note: &str,
        html: &str,
        urls: &[Option<String>],
        source_id: &str,
    ) -> Result<(), AdapterError> {
        if !switchover_adapter::bodies::has_inline(html) {
            return Ok(());
        }
        self.api
            .write_json(
                Request::put(format!("conversations/{note}")),
                &json!({"body": resolve_inline(html, urls)}),
                Kind::Comment,
                source_id,
            )
            .map(|_| ())
    }

    /// The `attachment_url`s of a note already on the target, for an update.
    pub(crate) fn note_attachment_urls(
        &self,
        ticket: &str,
        note: &str,
    ) -> Result<Vec<Option<String>>, AdapterError> {
        let all = self
            .api
            .list_all(&format!("tickets/{ticket}/conversations"), &[])?;
        Ok(all
            .iter()
            .find(|c| match &c["id"] {
                serde_json::Value::String(id) => id == note,
                id => id.as_u64().is_some_and(|id| note.parse() == Ok(id)),
            })
            .map(attachment_urls)
            .unwrap_or_default())
    }
}

impl BodyUrls for Freshdesk {
    fn hosts(&self) -> Vec<String> {
        host_of(&self.api.root()).into_iter().collect()
    }

    fn classify(&self, url: &str) -> Option<Pointed> {
        let host = host_of(url)?;
        let path = path_of(url);
        let ours = Some(&host) == host_of(&self.api.root()).as_ref();
        // Stored files are served from the storage's host, under the account's path.
        if path.contains("/helpdesk/attachments/") || (ours && path.starts_with("/s3/attachments/"))
        {
            return Some(Pointed::Attachment);
        }
        if !ours {
            return None;
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let (kind, id) = match segments.as_slice() {
            ["a" | "helpdesk" | "support", "tickets", id, ..] => (Kind::Ticket, *id),
            ["support" | "a", "solutions", "articles", id, ..] => (Kind::KbArticle, *id),
            ["support" | "a", "solutions", "folders", id, ..] => (Kind::KbSection, *id),
            ["support", "solutions", id] => (Kind::KbCategory, *id),
            _ => return None,
        };
        leading_id(id).map(|id| Pointed::Record(kind, id))
    }

    fn record_url(&self, kind: Kind, id: &str) -> Option<String> {
        let root = self.api.root();
        let path = match kind {
            Kind::Ticket => "a/tickets",
            Kind::KbArticle => "support/solutions/articles",
            Kind::KbSection => "support/solutions/folders",
            Kind::KbCategory => "support/solutions",
            _ => return None,
        };
        Some(format!("{root}/{path}/{id}"))
    }
}
