//! Help Scout's integrations: saved replies as macros that add text, webhooks, and
//! workflows (read only: the API can neither create them nor show their conditions and
//! actions, so each is read with what a person must rebuild).
//!
//! Markers: a hidden span at the end of a saved reply's text; a `[switchover:<id>]`
//! suffix of a webhook's label.

use serde_json::{Value, json};
use switchover_adapter::{AdapterError, WriteOutcome};
use switchover_http::Request;
use switchover_model::*;

use crate::read::{Marked, id_of, text, time};
use crate::{HelpScout, NAME, SUFFIX_MARKER, THREAD_MARKER};

/// The events a Help Scout webhook can subscribe to.
pub(crate) const WEBHOOK_EVENTS: &[&str] = &[
    "beacon.chat.created",
    "beacon.chat.customer.replied",
    "convo.agent.reply.created",
    "convo.assigned",
    "convo.created",
    "convo.custom-fields",
    "convo.customer.reply.created",
    "convo.deleted",
    "convo.merged",
    "convo.moved",
    "convo.note.created",
    "convo.status",
    "convo.tags",
    "customer.created",
    "customer.deleted",
    "customer.updated",
    "message.survey.response.received",
    "organization.created",
    "organization.deleted",
    "organization.updated",
    "satisfaction.ratings",
    "tag.created",
    "tag.deleted",
    "tag.updated",
    "user.status.changed",
];

/// Whether a macro action adds text to a reply (Zendesk `comment_value`,
/// `comment_value_html`, the dataset's `comment_public`): what a saved reply holds.
/// The reply text an action adds, if it adds one.
fn reply_text(action: &Action) -> Option<&str> {
    match action {
        Action::PublicReply { body } => Some(body),
        _ => None,
    }
}

/// The Help Scout event a source's webhook event stands for, if any: Help Scout's own
/// events as they are, ticket and user events of other platforms (Zendesk's
/// `zen:event-type:` prefix dropped) by meaning.
pub(crate) fn helpscout_event(event: &str) -> Option<&'static str> {
    if let Some(own) = WEBHOOK_EVENTS.iter().find(|e| **e == event) {
        return Some(own);
    }
    let event = event.strip_prefix("zen:event-type:").unwrap_or(event);
    Some(match event {
        "ticket.created" => "convo.created",
        "ticket.solved" | "ticket.closed" | "ticket.status_changed" | "ticket.reopened" => {
            "convo.status"
        }
        "ticket.assigned" | "ticket.assignee_changed" | "ticket.group_assignment_changed" => {
            "convo.assigned"
        }
        "ticket.deleted" | "ticket.soft_deleted" => "convo.deleted",
        "ticket.merged" => "convo.merged",
        "ticket.tags_changed" => "convo.tags",
        "ticket.custom_field_changed" => "convo.custom-fields",
        "ticket.agent_reply_added" => "convo.agent.reply.created",
        "ticket.customer_reply_added" => "convo.customer.reply.created",
        "ticket.note_added" | "ticket.private_comment_added" => "convo.note.created",
        "user.created" => "customer.created",
        "user.deleted" => "customer.deleted",
        "user.updated" => "customer.updated",
        "organization.created" => "organization.created",
        "organization.deleted" => "organization.deleted",
        "organization.updated" => "organization.updated",
        e if e.starts_with("satisfaction_rating") => "satisfaction.ratings",
        _ => return None,
    })
}

impl HelpScout {
    /// The mailbox saved replies are written to: the plan's default, else the first.
    fn replies_mailbox(&self) -> Result<String, AdapterError> {
        let mailboxes = self.mailboxes()?;
        let chosen = match &self.default_mailbox {
            Some(name) => mailboxes
                .iter()
                .find(|m| text(m, "name").is_some_and(|n| n.eq_ignore_ascii_case(name))),
            None => mailboxes.first(),
        };
        chosen
            .and_then(|m| m.get("id").and_then(id_of))
            .ok_or_else(|| {
                AdapterError::config(NAME, "the account has no mailbox for saved replies")
            })
    }

    /// Every mailbox's saved replies as macros.
    pub(crate) fn read_macros(&self) -> Result<Marked, AdapterError> {
        let mut records = Vec::new();
        for mailbox in self.mailboxes()? {
            let Some(mid) = mailbox.get("id").and_then(id_of) else {
                continue;
            };
            let listed = self
                .api
                .get(&format!("mailboxes/{mid}/saved-replies"), &[])?;
            // The documented answer is a bare array; a HAL list is read too.
            let items = match &listed {
                Value::Array(items) => items.clone(),
                other => crate::api::hal_page(other, "replies")
                    .map(|p| p.items)
                    .unwrap_or_default(),
            };
            for item in items {
                let Some(rid) = item.get("id").and_then(id_of) else {
                    continue;
                };
                let reply = self
                    .api
                    .get(&format!("mailboxes/{mid}/saved-replies/{rid}"), &[])?;
                let (body, marker) =
                    THREAD_MARKER.split(reply.get("text").and_then(Value::as_str).unwrap_or(""));
                let record = Macro {
                    id: format!("{mid}/{rid}"),
                    title: text(&reply, "name").unwrap_or_default(),
                    active: true,
                    actions: vec![Action::PublicReply { body }],
                    ..Default::default()
                };
                records.push((marker, record.into_record()));
            }
        }
        Ok(records)
    }

    /// A macro as a saved reply: its text; a macro that adds no text is refused, as a
    /// saved reply can hold nothing else (its other actions are lossy).
    pub(crate) fn write_macro(
        &self,
        m: &Macro,
        existing: Option<&str>,
    ) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::Macro;
        let Some(body) = m.actions.iter().find_map(reply_text) else {
            return Err(AdapterError::invalid(
                NAME,
                kind,
                &m.id,
                "actions",
                "a Help Scout saved reply holds text only and this macro adds none: rebuild it by hand as a workflow",
            ));
        };
        let body = json!({"name": m.title, "text": THREAD_MARKER.append(body, &m.id)});
        let existing = match existing {
            Some(e) => Some(e.to_string()),
            None => self
                .read_macros()?
                .into_iter()
                .find(|(marker, _)| marker.as_deref() == Some(m.id.as_str()))
                .map(|(_, r)| r.id().to_string()),
        };
        let target = match existing {
            Some(id) => {
                let (mid, rid) = id.split_once('/').ok_or_else(|| {
                    AdapterError::invalid(
                        NAME,
                        kind,
                        &m.id,
                        "id",
                        format!("'{id}' is not a saved reply id"),
                    )
                })?;
                self.api.change(
                    Request::put(format!("mailboxes/{mid}/saved-replies/{rid}")),
                    Some(&body),
                    kind,
                    &m.id,
                )?;
                id.clone()
            }
            None => {
                let mid = self.replies_mailbox()?;
                let rid = self.api.create(
                    &format!("mailboxes/{mid}/saved-replies"),
                    &body,
                    kind,
                    &m.id,
                )?;
                format!("{mid}/{rid}")
            }
        };
        Ok(WriteOutcome::new(&m.id, Ok(target)))
    }

    /// Webhooks as they are (their secrets are never read back).
    pub(crate) fn read_webhooks(&self) -> Result<Marked, AdapterError> {
        Ok(self
            .api
            .all("webhooks", "webhooks", &[])?
            .iter()
            .map(|w| {
                let (name, marker) =
                    SUFFIX_MARKER.split_opt(w.get("label").and_then(Value::as_str));
                let record = Webhook {
                    id: w.get("id").and_then(id_of).unwrap_or_default(),
                    name: name.unwrap_or_default(),
                    endpoint: text(w, "url").unwrap_or_default(),
                    method: "POST".into(),
                    format: "json".into(),
                    active: text(w, "state").as_deref() == Some("enabled"),
                    subscriptions: w
                        .get("events")
                        .and_then(Value::as_array)
                        .map(|e| {
                            e.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                    created_at: time(w, "createdAt"),
                    updated_at: time(w, "updatedAt"),
                    ..Default::default()
                };
                (marker, record.into_record())
            })
            .collect())
    }

    /// A webhook subscribing to Help Scout events. Help Scout signs every delivery with a
    /// secret the source's API never gives: a new one is made, and the receiving service
    /// must be given it (the capability notes say so).
    pub(crate) fn write_webhook(
        &self,
        w: &Webhook,
        existing: Option<&str>,
    ) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::Webhook;
        let events: std::collections::BTreeSet<&str> = w
            .subscriptions
            .iter()
            .filter_map(|e| helpscout_event(e))
            .collect();
        if events.is_empty() {
            return Err(AdapterError::invalid(
                NAME,
                kind,
                &w.id,
                "subscriptions",
                format!(
                    "none of its events ({}) has a Help Scout equivalent (convo.created, convo.assigned, …): choose the events by hand",
                    w.subscriptions
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let mut body = json!({
            "url": w.endpoint,
            "events": events,
            "label": SUFFIX_MARKER.append(&w.name, &w.id),
            "payloadVersion": "V2",
        });
        let existing = match existing {
            Some(e) => Some(e.to_string()),
            None => self
                .read_webhooks()?
                .into_iter()
                .find(|(marker, _)| marker.as_deref() == Some(w.id.as_str()))
                .map(|(_, r)| r.id().to_string()),
        };
        let target = match existing {
            Some(id) => {
                body["secret"] = json!(new_secret());
                self.api.change(
                    Request::put(format!("webhooks/{id}")),
                    Some(&body),
                    kind,
                    &w.id,
                )?;
                id
            }
            None => {
                body["secret"] = json!(new_secret());
                self.api.create("webhooks", &body, kind, &w.id)?
            }
        };
        Ok(WriteOutcome::new(&w.id, Ok(target)))
    }

    /// Workflows as rules (automatic ones as triggers, manual ones as automations), with
    /// what a person must do: the API shows neither their conditions nor their actions
    /// and cannot create them.
    pub(crate) fn read_workflows(&self) -> Result<Marked, AdapterError> {
        Ok(self
            .api
            .all("workflows", "workflows", &[])?
            .iter()
            .map(|w| {
                let automation = text(w, "type").as_deref() == Some("manual");
                let record = Rule {
                    id: w.get("id").and_then(id_of).unwrap_or_default(),
                    rule_kind: if automation {
                        RuleKind::Automation
                    } else {
                        RuleKind::Trigger
                    },
                    title: text(w, "name").unwrap_or_default(),
                    active: text(w, "status").as_deref() == Some("active"),
                    position: w.get("order").and_then(Value::as_i64),
                    untranslated: vec![Untranslated::new(
                        NAME,
                        RulePart::Setting,
                        format!(
                            "{} workflow '{}'",
                            text(w, "type").unwrap_or_default(),
                            text(w, "name").unwrap_or_default()
                        ),
                        "the Help Scout API gives neither its conditions nor its actions; rebuild it by hand on the target",
                    )],
                    created_at: time(w, "createdAt"),
                    updated_at: time(w, "modifiedAt"),
                    ..Default::default()
                };
                (None, record.into_record())
            })
            .collect())
    }
}

/// A webhook signing secret of 40 random hex characters (Help Scout's limit).
fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 20]>())
}
