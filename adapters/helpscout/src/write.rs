//! Writing the canonical model into Help Scout: customers and organizations created (or
//! adopted by e-mail and name), users, mailboxes and fields matched, conversations
//! created with their threads in one imported request.

use std::io::Read;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use switchover_adapter::{
    AdapterError, Adopted, ContentSource, ErrorKind, Prediction, WriteOutcome, WriteRequest,
};
use switchover_http::Request;
use switchover_model::*;

use crate::read::{hs_time, id_of, marker_tag, split_name, text, user_number, user_target_id};
use crate::{AUTHOR_MARKER, EMPTY_MARKER, HelpScout, NAME, SUFFIX_MARKER, THREAD_MARKER};

fn invalid(kind: Kind, id: &str, field: &str, reason: impl Into<String>) -> AdapterError {
    AdapterError::invalid(NAME, kind, id, field, reason)
}

fn number(id: &str, kind: Kind, source: &str, field: &str) -> Result<u64, AdapterError> {
    id.parse().map_err(|_| {
        invalid(
            kind,
            source,
            field,
            format!("'{id}' is not a Help Scout id"),
        )
    })
}

impl HelpScout {
    /// Writes a batch, one record after another; refusals stay with their record.
    pub(crate) fn write(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in batch {
            let source_id = request.record.id().to_string();
            let outcome = match self.write_one(kind, request, content) {
                Ok(outcome) => outcome,
                Err(e)
                    if e.kind() == ErrorKind::InvalidRecord || e.kind() == ErrorKind::NotFound =>
                {
                    WriteOutcome::new(source_id, Err(e))
                }
                Err(e) => return Err(e),
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    fn write_one(
        &self,
        kind: Kind,
        request: &WriteRequest,
        content: &dyn ContentSource,
    ) -> Result<WriteOutcome, AdapterError> {
        match (&request.record, kind) {
            (Record::Organization(o), Kind::Organization) => {
                self.write_organization(o, request.existing.as_deref())
            }
            (Record::User(u), Kind::User) => match u.role {
                UserRole::EndUser => self.write_customer(u, request.existing.as_deref()),
                UserRole::Agent | UserRole::Admin => self.match_user(u),
            },
            (Record::Group(g), Kind::Group) => self.match_mailbox(g),
            (Record::FieldDefinition(f), Kind::FieldDefinition) => self.match_field(f),
            (Record::Ticket(t), Kind::Ticket) => match &request.existing {
                Some(existing) => self.update_conversation(t, existing),
                None => self.create_conversation(t, &request.children, content),
            },
            (Record::Comment(c), Kind::Comment) => {
                self.write_thread(c, request.existing.as_deref(), content)
            }
            (Record::Macro(m), Kind::Macro) => self.write_macro(m, request.existing.as_deref()),
            (Record::Webhook(w), Kind::Webhook) => {
                self.write_webhook(w, request.existing.as_deref())
            }
            (record @ (Record::KbCategory(_) | Record::KbSection(_) | Record::KbArticle(_)), _) => {
                self.docs(kind)?
                    .write(kind, record, request.existing.as_deref())
            }
            (_, kind) => Err(AdapterError::unsupported(NAME, kind, "write")),
        }
    }

    /// What the write would do, by the write's own rules: agents, mailboxes and fields
    /// are matched or refused; organizations and customers are predicted created (a
    /// look-up each would cost a request).
    pub(crate) fn predict_write(
        &self,
        kind: Kind,
        request: &WriteRequest,
    ) -> Result<Prediction, AdapterError> {
        let matched = |result: Result<WriteOutcome, AdapterError>| match result {
            Ok(outcome) => Ok(match outcome.result {
                Ok(id) => Prediction::AdoptAs(id),
                Err(_) => Prediction::Adopt,
            }),
            Err(e) if e.kind() == ErrorKind::InvalidRecord => Ok(Prediction::Refuse(e)),
            Err(e) => Err(e),
        };
        match (&request.record, kind) {
            (Record::User(u), Kind::User) if u.role != UserRole::EndUser => {
                matched(self.match_user(u))
            }
            (Record::Group(g), Kind::Group) => matched(self.match_mailbox(g)),
            (Record::FieldDefinition(f), Kind::FieldDefinition) => matched(self.match_field(f)),
            _ => Ok(Prediction::Create),
        }
    }

    fn write_organization(
        &self,
        o: &Organization,
        existing: Option<&str>,
    ) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::Organization;
        let mut body = json!({
            "name": o.name,
            "description": o.details,
            "note": SUFFIX_MARKER.append_opt(o.notes.as_deref(), &o.id),
        });
        if !o.domains.is_empty() {
            body["domains"] = json!(o.domains);
        }
        if let Some(id) = existing {
            self.api.change(
                Request::put(format!("organizations/{id}")),
                Some(&body),
                kind,
                &o.id,
            )?;
            return Ok(WriteOutcome::new(&o.id, Ok(id.to_string())));
        }
        // An organization of the same name with no other record's marker is adopted.
        let all = self.api.all("organizations", "organizations", &[])?;
        let same = all.iter().find(|x| {
            text(x, "name").is_some_and(|n| n.eq_ignore_ascii_case(&o.name))
                && SUFFIX_MARKER
                    .id_in(x.get("note").and_then(Value::as_str).unwrap_or(""))
                    .is_none_or(|m| m == o.id)
        });
        if let Some(found) = same {
            let id = found.get("id").and_then(id_of).unwrap_or_default();
            let (before_note, marker) =
                SUFFIX_MARKER.split_opt(found.get("note").and_then(Value::as_str));
            self.api.change(
                Request::put(format!("organizations/{id}")),
                Some(&body),
                kind,
                &o.id,
            )?;
            let before = json!({
                "name": found.get("name"),
                "description": found.get("description"),
                "note": before_note,
                "domains": found.get("domains"),
            });
            return Ok(match marker {
                // Ours already (a lost answer): created by an earlier attempt.
                Some(_) => WriteOutcome::new(&o.id, Ok(id)),
                None => WriteOutcome::adopted(&o.id, id, Adopted { before }),
            });
        }
        let id = self.api.create("organizations", &body, kind, &o.id)?;
        Ok(WriteOutcome::new(&o.id, Ok(id)))
    }

    fn customer_body(&self, u: &User, background: String) -> Result<Value, AdapterError> {
        let (first, last) = split_name(&u.name);
        let mut body = Map::new();
        if !first.is_empty() {
            body.insert("firstName".into(), json!(first));
        }
        if !last.is_empty() {
            body.insert("lastName".into(), json!(last));
        }
        body.insert("background".into(), json!(background));
        if let Some(org) = u
            .organization
            .as_ref()
            .map(Ref::id)
            .filter(|i| !i.is_empty())
        {
            body.insert(
                "organizationId".into(),
                json!(number(org, Kind::User, &u.id, "organization")?),
            );
        }
        Ok(Value::Object(body))
    }

    fn write_customer(
        &self,
        u: &User,
        existing: Option<&str>,
    ) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::User;
        if let Some(id) = existing {
            let current = self.api.get(&format!("customers/{id}"), &[])?;
            let (background, _) =
                SUFFIX_MARKER.split_opt(current.get("background").and_then(Value::as_str));
            let body =
                self.customer_body(u, SUFFIX_MARKER.append_opt(background.as_deref(), &u.id))?;
            self.api.change(
                Request::put(format!("customers/{id}")),
                Some(&body),
                kind,
                &u.id,
            )?;
            return Ok(WriteOutcome::new(&u.id, Ok(id.to_string())));
        }
        // A customer with this e-mail is adopted (Help Scout keeps one per address),
        // unless another record's marker is on it.
        if let Some(email) = u.email.as_deref().filter(|e| !e.is_empty()) {
            let query = format!("(email:\"{}\")", email.replace('"', ""));
            let listing = self
                .api
                .page("customers", "customers", &[("query", query)], 1)?;
            if let Some(found) = listing.items.first() {
                let id = found.get("id").and_then(id_of).unwrap_or_default();
                let (background, marker) =
                    SUFFIX_MARKER.split_opt(found.get("background").and_then(Value::as_str));
                if let Some(other) = marker.as_ref().filter(|m| **m != u.id) {
                    return Err(invalid(
                        kind,
                        &u.id,
                        "email",
                        format!(
                            "the Help Scout customer {id} with e-mail {email} was migrated from source record '{other}'"
                        ),
                    ));
                }
                let body =
                    self.customer_body(u, SUFFIX_MARKER.append_opt(background.as_deref(), &u.id))?;
                self.api.change(
                    Request::put(format!("customers/{id}")),
                    Some(&body),
                    kind,
                    &u.id,
                )?;
                return Ok(match marker {
                    Some(_) => WriteOutcome::new(&u.id, Ok(id)),
                    None => WriteOutcome::adopted(
                        &u.id,
                        id,
                        Adopted {
                            before: json!({
                                "firstName": found.get("firstName"),
                                "lastName": found.get("lastName"),
                                "background": background,
                                "organizationId": found.get("organizationId"),
                            }),
                        },
                    ),
                });
            }
        }
        let mut body = self.customer_body(u, SUFFIX_MARKER.tag(&u.id))?;
        if let Some(email) = u.email.as_deref().filter(|e| !e.is_empty()) {
            body["emails"] = json!([{"type": "work", "value": email}]);
        }
        if let Some(phone) = u.phone.as_deref().filter(|p| !p.is_empty()) {
            body["phones"] = json!([{"type": "work", "value": phone}]);
        }
        let id = self.api.create("customers", &body, kind, &u.id)?;
        Ok(WriteOutcome::new(&u.id, Ok(id)))
    }

    /// An agent: the Help Scout user with the same e-mail (users cannot be created).
    fn match_user(&self, u: &User) -> Result<WriteOutcome, AdapterError> {
        let email = u.email.clone().unwrap_or_default();
        let found = self.users()?.into_iter().find(|x| {
            !email.is_empty()
                && (text(x, "email").is_some_and(|e| e.eq_ignore_ascii_case(&email))
                    || x.get("alternateEmails")
                        .and_then(Value::as_array)
                        .is_some_and(|alts| {
                            alts.iter()
                                .filter_map(Value::as_str)
                                .any(|a| a.eq_ignore_ascii_case(&email))
                        }))
        });
        match found.and_then(|x| x.get("id").and_then(id_of)) {
            Some(id) => Ok(WriteOutcome::adopted(
                &u.id,
                user_target_id(&id),
                Adopted { before: json!({}) },
            )),
            None => Err(invalid(
                Kind::User,
                &u.id,
                "email",
                format!(
                    "no Help Scout user has the e-mail '{email}': invite the agent in Help Scout (Manage > Users) first; users cannot be created through the API"
                ),
            )),
        }
    }

    fn match_mailbox(&self, g: &Group) -> Result<WriteOutcome, AdapterError> {
        let found = self
            .mailboxes()?
            .into_iter()
            .find(|m| text(m, "name").is_some_and(|n| n.eq_ignore_ascii_case(&g.name)));
        match found.and_then(|m| m.get("id").and_then(id_of)) {
            Some(id) => Ok(WriteOutcome::adopted(
                &g.id,
                id,
                Adopted { before: json!({}) },
            )),
            None => Err(invalid(
                Kind::Group,
                &g.id,
                "name",
                format!(
                    "no Help Scout mailbox is named '{}': create it in Help Scout (Manage > Mailboxes) first; mailboxes cannot be created through the API",
                    g.name
                ),
            )),
        }
    }

    fn match_field(&self, f: &FieldDefinition) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::FieldDefinition;
        if f.object != FieldObject::Ticket {
            return Err(invalid(
                kind,
                &f.id,
                "object",
                "Help Scout custom fields belong to conversations; user and organization fields have no place",
            ));
        }
        let names = [
            f.title.to_lowercase(),
            f.key.to_lowercase().replace('_', " "),
        ];
        let found = self
            .fields()?
            .into_iter()
            .find(|(_, x)| text(x, "name").is_some_and(|n| names.contains(&n.to_lowercase())));
        match found.and_then(|(_, x)| x.get("id").and_then(id_of)) {
            Some(id) => Ok(WriteOutcome::adopted(
                &f.id,
                id,
                Adopted { before: json!({}) },
            )),
            None => Err(invalid(
                kind,
                &f.id,
                "title",
                format!(
                    "no mailbox has a custom field named '{}': create it in Help Scout (Manage > Mailboxes > Custom Fields) first; fields cannot be created through the API",
                    f.title
                ),
            )),
        }
    }

    /// The plan's `default_mailbox`, else the account's first mailbox.
    pub(crate) fn default_mailbox_id(&self) -> Result<Option<String>, AdapterError> {
        let mailboxes = self.mailboxes()?;
        let chosen = match &self.default_mailbox {
            Some(name) => mailboxes
                .iter()
                .find(|m| text(m, "name").is_some_and(|n| n.eq_ignore_ascii_case(name))),
            None => mailboxes.first(),
        };
        Ok(chosen.and_then(|m| m.get("id").and_then(id_of)))
    }

    /// The mailbox of a ticket: its group's, else the plan's default, else the first.
    fn mailbox_of(&self, t: &Ticket) -> Result<u64, AdapterError> {
        if let Some(group) = t.group.as_ref().map(Ref::id).filter(|g| !g.is_empty()) {
            return number(group, Kind::Ticket, &t.id, "group");
        }
        self.default_mailbox_id()?
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| {
                invalid(
                    Kind::Ticket,
                    &t.id,
                    "group",
                    "the ticket has no group and no default mailbox was found (setting default_mailbox)",
                )
            })
    }

    /// The conversation's custom field values: each source field's value on the field
    /// of the same name in the ticket's mailbox; fields the mailbox lacks are left out.
    fn field_values(&self, t: &Ticket, mailbox: u64) -> Result<Vec<Value>, AdapterError> {
        let fields = self.fields()?;
        let mut out = Vec::new();
        for (field_ref, value) in &t.custom_fields {
            let Some(name) = fields
                .iter()
                .find(|(_, f)| f.get("id").and_then(id_of).as_deref() == Some(field_ref.id()))
                .and_then(|(_, f)| text(f, "name"))
            else {
                continue;
            };
            let Some((_, field)) = fields
                .iter()
                .find(|(m, f)| *m == mailbox && text(f, "name").as_deref() == Some(name.as_str()))
            else {
                continue;
            };
            let Some(id) = field.get("id").and_then(Value::as_u64) else {
                continue;
            };
            let kind = field.get("type").and_then(Value::as_str).unwrap_or("");
            let written = match (kind, value) {
                ("dropdown", FieldValue::Dropdown(v)) => option_id(field, v),
                ("dropdown", FieldValue::Checkbox(b)) => {
                    option_id(field, if *b { "Yes" } else { "No" })
                }
                ("number", FieldValue::Number(n)) => Some(json!(n.to_string())),
                ("date", FieldValue::Date(d)) => Some(json!(d)),
                ("singleline" | "multiline", FieldValue::Text(s)) => Some(json!(s)),
                _ => None,
            };
            if let Some(v) = written {
                out.push(json!({"id": id, "value": v}));
            }
        }
        Ok(out)
    }

    /// Who a comment's thread is from, as Help Scout takes it.
    fn thread_body(
        &self,
        c: &Comment,
        requester: Option<u64>,
        content: &dyn ContentSource,
    ) -> Result<(String, Value), AdapterError> {
        let kind = Kind::Comment;
        let author = c.author.as_ref().map(Ref::id).filter(|a| !a.is_empty());
        let user = author.and_then(user_number).map(str::to_string);
        let customer = match author.filter(|a| user_number(a).is_none()) {
            Some(id) => Some(number(id, kind, &c.id, "author")?),
            None => requester,
        };
        let html = c
            .body_html
            .clone()
            .filter(|h| !h.trim().is_empty())
            .unwrap_or_else(|| {
                format!("<p>{}</p>", switchover_adapter::html::escape(&c.body_text))
            });
        let endpoint = match (c.public, &user) {
            (false, _) => "notes",
            (true, Some(_)) => "reply",
            (true, None) => "customer",
        };
        let mut text = THREAD_MARKER.append(&html, &c.id);
        if endpoint == "notes"
            && user.is_none()
            && let Some(author) = author
        {
            text = AUTHOR_MARKER.append(&text, author);
        }
        let mut body = json!({
            "text": text,
            "imported": true,
        });
        if let Some(at) = c.created_at {
            body["createdAt"] = json!(hs_time(&at));
        }
        if let Some(user) = &user {
            body["user"] = json!(number(user, kind, &c.id, "author")?);
        }
        if endpoint != "notes" {
            let customer = customer.ok_or_else(|| {
                invalid(
                    kind,
                    &c.id,
                    "author",
                    "a public comment needs a customer (the ticket's requester)",
                )
            })?;
            body["customer"] = json!({"id": customer});
        }
        let mut files = Vec::new();
        for a in &c.attachments {
            let mut bytes = Vec::new();
            content.open(a)?.read_to_end(&mut bytes).map_err(|e| {
                AdapterError::transient(NAME, format!("reading attachment '{}': {e}", a.file_name))
            })?;
            if bytes.len() > 10 * 1024 * 1024 {
                return Err(invalid(
                    kind,
                    &c.id,
                    "attachments",
                    format!(
                        "'{}' is larger than Help Scout's 10 MB per file",
                        a.file_name
                    ),
                ));
            }
            files.push(json!({
                "fileName": a.file_name,
                "mimeType": if a.content_type.is_empty() { "application/octet-stream" } else { &a.content_type },
                "data": base64::engine::general_purpose::STANDARD.encode(&bytes),
            }));
        }
        if !files.is_empty() {
            body["attachments"] = Value::Array(files);
        }
        Ok((endpoint.to_string(), body))
    }

    fn requester_of(&self, t: &Ticket) -> Result<Value, AdapterError> {
        let Some(requester) = t.requester.as_ref().map(Ref::id).filter(|r| !r.is_empty()) else {
            return Err(invalid(
                Kind::Ticket,
                &t.id,
                "requester",
                "Help Scout needs a customer for every conversation",
            ));
        };
        match user_number(requester) {
            // An agent's ticket: the customer of the agent's e-mail (created if new).
            Some(user) => {
                let agent = self
                    .users()?
                    .into_iter()
                    .find(|u| u.get("id").and_then(id_of).as_deref() == Some(user))
                    .ok_or_else(|| {
                        invalid(
                            Kind::Ticket,
                            &t.id,
                            "requester",
                            format!("no Help Scout user {user}"),
                        )
                    })?;
                Ok(
                    json!({"email": agent.get("email"), "firstName": agent.get("firstName"), "lastName": agent.get("lastName")}),
                )
            }
            None => Ok(json!({"id": number(requester, Kind::Ticket, &t.id, "requester")?})),
        }
    }

    fn create_conversation(
        &self,
        t: &Ticket,
        children: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::Ticket;
        // Written before (an answer lost, a run written again): update it, and add the
        // comments it does not have yet.
        if let Some(cid) = self.find(kind, std::slice::from_ref(&t.id))?.remove(&t.id) {
            self.update_conversation(t, &cid)?;
            let found = self.find_threads(&cid, children)?;
            let mut outcomes = Vec::new();
            for child in children {
                let Record::Comment(c) = &child.record else {
                    continue;
                };
                let id = match found.get(&c.id) {
                    Some(tid) => tid.clone(),
                    None => {
                        let mut c = c.clone();
                        c.ticket = Ref::new(cid.clone());
                        self.write_thread(&c, None, content)?.result?
                    }
                };
                outcomes.push(WriteOutcome::new(&c.id, Ok(id)));
            }
            return Ok(WriteOutcome {
                children: outcomes,
                ..WriteOutcome::new(&t.id, Ok(cid))
            });
        }
        let mailbox = self.mailbox_of(t)?;
        let customer = self.requester_of(t)?;
        let requester = customer.get("id").and_then(Value::as_u64);
        let mut threads = Vec::new();
        let mut written = Vec::new();
        for child in children {
            let Record::Comment(c) = &child.record else {
                continue;
            };
            let (endpoint, mut body) = self.thread_body(c, requester, content)?;
            body["type"] = json!(match endpoint.as_str() {
                "notes" => "note",
                other => other,
            });
            threads.push(body);
            written.push(c.id.clone());
        }
        if threads.is_empty() {
            // Help Scout needs a thread: a note the reading leaves out.
            let mut note = json!({
                "type": "note",
                "text": EMPTY_MARKER.append("<p>(migrated without messages)</p>", &t.id),
                "imported": true,
            });
            if let Some(at) = t.created_at {
                note["createdAt"] = json!(hs_time(&at));
            }
            threads.push(note);
        }
        let mut tags: Vec<String> = t.tags.iter().cloned().collect();
        tags.push(marker_tag(&t.id));
        let mut body = json!({
            "subject": if t.subject.is_empty() { "(no subject)" } else { &t.subject },
            "customer": customer,
            "mailboxId": mailbox,
            "type": conversation_type(t.channel.as_deref()),
            "status": status_of(t.status),
            "imported": true,
            "tags": tags,
            "threads": threads,
            "assignTo": Value::Null,
        });
        if let Some(assignee) = t.assignee.as_ref().map(Ref::id).filter(|a| !a.is_empty()) {
            let user = user_number(assignee).ok_or_else(|| {
                invalid(
                    kind,
                    &t.id,
                    "assignee",
                    format!("'{assignee}' is not a Help Scout user"),
                )
            })?;
            body["assignTo"] = json!(number(user, kind, &t.id, "assignee")?);
        }
        if let Some(at) = t.created_at {
            body["createdAt"] = json!(hs_time(&at));
        }
        if status_of(t.status) == "closed"
            && let Some(at) = t.solved_at.or(t.updated_at)
        {
            body["closedAt"] = json!(hs_time(&at));
        }
        let fields = self.field_values(t, mailbox)?;
        if !fields.is_empty() {
            body["fields"] = Value::Array(fields);
        }
        let cid = self.api.create("conversations", &body, kind, &t.id)?;
        // The threads' ids: read back once, matched by marker.
        let found = self.find_threads(&cid, children)?;
        let outcomes = written
            .iter()
            .filter_map(|source| {
                found
                    .get(source)
                    .map(|tid| WriteOutcome::new(source, Ok(tid.clone())))
            })
            .collect();
        Ok(WriteOutcome {
            children: outcomes,
            ..WriteOutcome::new(&t.id, Ok(cid))
        })
    }

    fn update_conversation(&self, t: &Ticket, cid: &str) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::Ticket;
        let patch = |op: &str, path: &str, value: Value| {
            self.api.change(
                Request::patch(format!("conversations/{cid}")),
                Some(&json!({"op": op, "path": path, "value": value})),
                kind,
                &t.id,
            )
        };
        patch("replace", "/subject", json!(t.subject))?;
        patch("replace", "/status", json!(status_of(t.status)))?;
        match t.assignee.as_ref().map(Ref::id).and_then(user_number) {
            Some(user) => patch(
                "replace",
                "/assignTo",
                json!(number(user, kind, &t.id, "assignee")?),
            )?,
            None => patch("remove", "/assignTo", Value::Null)?,
        }
        let mut tags: Vec<String> = t.tags.iter().cloned().collect();
        tags.push(marker_tag(&t.id));
        self.api.change(
            Request::put(format!("conversations/{cid}/tags")),
            Some(&json!({"tags": tags})),
            kind,
            &t.id,
        )?;
        let mailbox = self.mailbox_of(t)?;
        let fields = self.field_values(t, mailbox)?;
        if !fields.is_empty() {
            self.api.change(
                Request::put(format!("conversations/{cid}/fields")),
                Some(&json!({"fields": fields})),
                kind,
                &t.id,
            )?;
        }
        Ok(WriteOutcome::new(&t.id, Ok(cid.to_string())))
    }

    /// A comment of a conversation already on the target (a delta run's new reply).
    fn write_thread(
        &self,
        c: &Comment,
        existing: Option<&str>,
        content: &dyn ContentSource,
    ) -> Result<WriteOutcome, AdapterError> {
        let kind = Kind::Comment;
        if let Some(id) = existing {
            let (cid, tid) = id
                .split_once('/')
                .ok_or_else(|| invalid(kind, &c.id, "id", format!("'{id}' is not a thread id")))?;
            let (_, body) = self.thread_body(c, None, &NoContent)?;
            self.api.change(
                Request::patch(format!("conversations/{cid}/threads/{tid}")),
                Some(&json!({"op": "replace", "path": "/text", "value": body["text"]})),
                kind,
                &c.id,
            )?;
            return Ok(WriteOutcome::new(&c.id, Ok(id.to_string())));
        }
        let cid = c.ticket.id();
        if cid.is_empty() {
            return Err(invalid(
                kind,
                &c.id,
                "ticket",
                "the ticket is not on the target",
            ));
        }
        // Written before (a lost answer): the thread carrying its marker.
        if let Some((_, found)) = self
            .threads_of(cid)?
            .into_iter()
            .find(|(marker, _)| marker.as_deref() == Some(c.id.as_str()))
        {
            return Ok(WriteOutcome::new(&c.id, Ok(found.id().to_string())));
        }
        let conversation = self.api.get(&format!("conversations/{cid}"), &[])?;
        let requester = conversation
            .get("primaryCustomer")
            .and_then(|p| p.get("id"))
            .and_then(Value::as_u64);
        let (endpoint, body) = self.thread_body(c, requester, content)?;
        let tid = self.api.create(
            &format!("conversations/{cid}/{endpoint}"),
            &body,
            kind,
            &c.id,
        )?;
        Ok(WriteOutcome::new(&c.id, Ok(format!("{cid}/{tid}"))))
    }

    pub(crate) fn delete_one(&self, kind: Kind, id: &str) -> Result<(), AdapterError> {
        match kind {
            Kind::Organization => self.api.delete(&format!("organizations/{id}"), kind, id),
            Kind::User if user_number(id).is_some() => Ok(()),
            Kind::User => self.api.delete(&format!("customers/{id}"), kind, id),
            Kind::Ticket => self.api.delete(&format!("conversations/{id}"), kind, id),
            Kind::KbCategory | Kind::KbSection | Kind::KbArticle => {
                self.docs(kind)?.delete(kind, id)
            }
            Kind::Macro => {
                let (mid, rid) = id.split_once('/').ok_or_else(|| {
                    invalid(kind, id, "id", format!("'{id}' is not a saved reply id"))
                })?;
                self.api
                    .delete(&format!("mailboxes/{mid}/saved-replies/{rid}"), kind, id)
            }
            Kind::Webhook => self.api.delete(&format!("webhooks/{id}"), kind, id),
            other => Err(AdapterError::unsupported(NAME, other, "delete")),
        }
    }

    /// Gives back an adopted record: the organization's and customer's earlier values;
    /// matched users, mailboxes and fields were never changed.
    pub(crate) fn give_back(
        &self,
        kind: Kind,
        id: &str,
        before: &Adopted,
    ) -> Result<(), AdapterError> {
        let b = &before.before;
        match kind {
            Kind::Organization => {
                let mut body = json!({
                    "name": b.get("name"),
                    "description": b.get("description"),
                    "note": b.get("note"),
                });
                if let Some(domains) = b.get("domains").filter(|d| !d.is_null()) {
                    body["domains"] = domains.clone();
                }
                self.api.change(
                    Request::put(format!("organizations/{id}")),
                    Some(&body),
                    kind,
                    id,
                )
            }
            Kind::User if user_number(id).is_none() => {
                let mut body = Map::new();
                for key in ["firstName", "lastName", "background", "organizationId"] {
                    if let Some(v) = b.get(key).filter(|v| !v.is_null()) {
                        body.insert(key.into(), v.clone());
                    }
                }
                body.entry("background").or_insert(json!(""));
                self.api.change(
                    Request::put(format!("customers/{id}")),
                    Some(&Value::Object(body)),
                    kind,
                    id,
                )
            }
            _ => Ok(()),
        }
    }
}

/// Content for a thread text update, which sends no attachments.
struct NoContent;

impl ContentSource for NoContent {
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError> {
        Err(AdapterError::NotFound {
            adapter: NAME.into(),
            kind: Kind::Attachment,
            id: attachment.id.clone(),
        })
    }
}

fn option_id(field: &Value, label: &str) -> Option<Value> {
    field
        .get("options")
        .and_then(Value::as_array)?
        .iter()
        .find(|o| {
            text(o, "label")
                .is_some_and(|l| l == label || l.eq_ignore_ascii_case(&label.replace('_', " ")))
        })
        .and_then(|o| o.get("id"))
        .and_then(id_of)
        .map(Value::from)
}

pub(crate) fn status_of(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::New | TicketStatus::Open => "active",
        TicketStatus::Pending | TicketStatus::OnHold => "pending",
        TicketStatus::Solved | TicketStatus::Closed => "closed",
    }
}

fn conversation_type(channel: Option<&str>) -> &'static str {
    match channel {
        Some("chat") => "chat",
        Some("phone" | "voice") => "phone",
        _ => "email",
    }
}
