//! Writing canonical records into RT. Every write first looks for the record's source
//! marker, so writing again updates instead of duplicating.

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::{Map, Value, json};
use switchover_adapter::{AdapterError, Adopted, ContentSource, WriteOutcome, WriteRequest};
use switchover_http::multipart::{Form, Part};
use switchover_model::*;

use crate::read::{
    CREATED_PREFIX, DELETED_NOTE, EMPTY_PREFIX, MANDATORY, NUMBER_PATTERN, ORIGIN_PREFIX,
};
use crate::{
    ImportField, ImportFields, MARKER, MARKER_FIELD, NAME, ORIGINAL_CREATED_FIELD,
    ORIGINAL_CREATOR_FIELD, Rt, USER_MARKER_PREFIX, sql_time, text,
};

fn invalid(kind: Kind, id: &str, field: &str, reason: impl Into<String>) -> AdapterError {
    AdapterError::invalid(NAME, kind, id, field, reason)
}

/// The RT user name a user is written under: its e-mail, or a name of its own.
fn rt_user_name(user: &User) -> String {
    user.email
        .clone()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| format!("switchover-{}", user.id))
}

pub(crate) fn status_to_rt(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::New => "new",
        TicketStatus::Open => "open",
        TicketStatus::Pending | TicketStatus::OnHold => "stalled",
        TicketStatus::Solved | TicketStatus::Closed => "resolved",
    }
}

fn priority_to_rt(priority: Option<Priority>) -> i64 {
    match priority {
        None => 0,
        Some(Priority::Low) => 10,
        Some(Priority::Normal) => 50,
        Some(Priority::High) => 75,
        Some(Priority::Urgent) => 100,
    }
}

fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

/// The id RT gives in a create answer (`{"id":"7",...}`).
fn created_id(answer: &Value) -> String {
    text(answer, "id")
}

impl Rt {
    pub(crate) fn write_kind(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        if kind == Kind::Ticket {
            return self.write_tickets(batch);
        }
        let mut outcomes = Vec::new();
        for request in batch {
            let source_id = request.record.id().to_string();
            let existing = match &request.existing {
                Some(id) => Some(id.clone()),
                None => self.find_one(kind, &source_id)?,
            };
            // A record the target has but the id map does not know is adopted.
            let mut adopted = None;
            let slot = request.existing.is_none().then_some(&mut adopted);
            let result = match (&request.record, kind) {
                (Record::User(user), Kind::User) => self.write_user(user, existing, slot),
                (Record::Group(group), Kind::Group) => self.write_queue(group, existing, slot),
                (Record::FieldDefinition(field), Kind::FieldDefinition) => {
                    self.write_field(field, existing)
                }
                (Record::Comment(comment), Kind::Comment) => match existing {
                    Some(id) => Ok(id), // transactions cannot change in RT
                    None => self.write_comment(comment, content),
                },
                (record, _) => Err(invalid(
                    kind,
                    &source_id,
                    "kind",
                    format!("a {} record in a batch of {kind}", record.kind()),
                )),
            };
            match result {
                Err(e) if e.stops_run() || e.is_retryable() => return Err(e),
                result => outcomes.push(WriteOutcome {
                    source_id,
                    result,
                    children: Vec::new(),
                    adopted,
                }),
            }
        }
        Ok(outcomes)
    }

    // ---- users ----

    /// Writes a user; one the target had (same e-mail, or found by marker with no id
    /// map row) is adopted, and `adopted` gets what it had before.
    fn write_user(
        &self,
        user: &User,
        existing: Option<String>,
        adopted: Option<&mut Option<Adopted>>,
    ) -> Result<String, AdapterError> {
        let mut body = Map::new();
        body.insert("RealName".into(), json!(user.name));
        body.insert(
            "EmailAddress".into(),
            json!(user.email.clone().unwrap_or_default()),
        );
        body.insert(
            "WorkPhone".into(),
            json!(user.phone.clone().unwrap_or_default()),
        );
        body.insert(
            "Privileged".into(),
            json!(if user.role == UserRole::EndUser { 0 } else { 1 }),
        );
        body.insert(
            "Disabled".into(),
            json!(if user.state == UserState::Active {
                0
            } else {
                1
            }),
        );
        body.insert(
            "Lang".into(),
            json!(user.locale.clone().unwrap_or_default()),
        );
        body.insert(
            "Timezone".into(),
            json!(user.time_zone.clone().unwrap_or_default()),
        );
        body.insert(
            "Organization".into(),
            json!(format!("{USER_MARKER_PREFIX}{}", user.id)),
        );
        let mut notes = Vec::new();
        if user.state == UserState::Deleted {
            notes.push(DELETED_NOTE.to_string());
        }
        if user.role == UserRole::Admin {
            notes.push(
                "[Switchover] admin in the source helpdesk; RT rights were not migrated".into(),
            );
        }
        let created_line = user.created_at.map(|at| format!("{CREATED_PREFIX}{at}"));
        if let Some(id) = existing {
            if let Some(slot) = adopted {
                *slot = Some(self.before(&format!("user/{id}"), &body, &["Comments"])?);
            }
            // Comments are written whole: keep the creation line where RT keeps its own Created.
            let keep_line = match self.import_fields(ImportField::UserCreated) {
                Some(ImportFields::Dropped) => true,
                Some(ImportFields::Kept) => false,
                None => text(&self.api.get(&format!("user/{id}"))?, "Comments")
                    .lines()
                    .any(|l| l.starts_with(CREATED_PREFIX)),
            };
            notes.extend(created_line.filter(|_| keep_line));
            body.insert("Comments".into(), json!(notes.join("\n")));
            self.api
                .put(&format!("user/{id}"), &Value::Object(body))
                .map_err(|e| e.for_record(NAME, Kind::User, &user.id))?;
            self.cache.lock().users_by_id.remove(&id);
            return Ok(id);
        }
        if self.import_fields(ImportField::UserCreated) == Some(ImportFields::Dropped) {
            notes.extend(created_line.clone());
        }
        body.insert("Comments".into(), json!(notes.join("\n")));
        let name = rt_user_name(user);
        body.insert("Name".into(), json!(name));
        if let Some(at) = &user.created_at {
            body.insert("Created".into(), json!(sql_time(at)));
        }
        match self.api.post("user", &Value::Object(body.clone())) {
            Ok(_) => {
                let Some(want) = &user.created_at else {
                    return Ok(self.user(&name)?.id);
                };
                if self.import_fields(ImportField::UserCreated).is_some() {
                    return Ok(self.user(&name)?.id);
                }
                // The first create with a Created: did RT keep it?
                let full = self.api.get(&format!("user/{}", crate::segment(&name)))?;
                let id = self.remember_user(&full).id;
                let kept =
                    crate::time(&full, "Created").map(|t| sql_time(&t)) == Some(sql_time(want));
                if self.learn_import_field(ImportField::UserCreated, kept) == ImportFields::Dropped
                {
                    notes.extend(created_line);
                    self.api
                        .put(
                            &format!("user/{id}"),
                            &json!({"Comments": notes.join("\n")}),
                        )
                        .map_err(|e| e.for_record(NAME, Kind::User, &user.id))?;
                }
                Ok(id)
            }
            Err(e) if e.is_rejection() => {
                // An RT user with this e-mail may exist already (auto-created requestor):
                // adopt it and mark it, unless another record's marker is on it.
                let existing = self.user_to_adopt(user)?.map(|u| text(&u, "id"));
                match existing.filter(|id| !id.is_empty()) {
                    Some(id) => {
                        body.remove("Name");
                        body.remove("Created");
                        if let Some(slot) = adopted {
                            *slot = Some(self.before(&format!("user/{id}"), &body, &[])?);
                        }
                        self.api
                            .put(&format!("user/{id}"), &Value::Object(body))
                            .map_err(|e| e.for_record(NAME, Kind::User, &user.id))?;
                        Ok(id)
                    }
                    None => Err(e.for_record(NAME, Kind::User, &user.id)),
                }
            }
            Err(e) => Err(e.for_record(NAME, Kind::User, &user.id)),
        }
    }

    /// The RT user that `user` would adopt: the one of the name the write gives it (its
    /// e-mail, as RT names the requestors it creates from mail), or the refusal when
    /// another record's marker is on it. The write (when RT refuses the create because
    /// the name is taken) and the dry run's prediction both ask this.
    pub(crate) fn user_to_adopt(&self, user: &User) -> Result<Option<Value>, AdapterError> {
        let name = rt_user_name(user);
        let path = format!("user/{}", crate::segment(&name));
        let found = match self.api.try_send(switchover_http::Request::get(path)) {
            Ok(found) => found,
            // No user of that name.
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(crate::api::http_err(&e)),
        };
        let organization = text(&found, "Organization");
        if let Some(other) = organization
            .strip_prefix(USER_MARKER_PREFIX)
            .filter(|m| *m != user.id)
        {
            return Err(invalid(
                Kind::User,
                &user.id,
                "email",
                format!(
                    "RT user '{name}' already carries the source marker '{other}' of another record (user names are unique in RT); map one of the two to the other in the plan's [map.users], or give one another e-mail"
                ),
            ));
        }
        Ok(Some(found))
    }

    /// What the record at `path` had of the keys `body` sets (plus `extra`), to give back.
    fn before(
        &self,
        path: &str,
        body: &Map<String, Value>,
        extra: &[&str],
    ) -> Result<Adopted, AdapterError> {
        let current = self.api.get(path)?;
        let mut before = Map::new();
        for key in body.keys().map(String::as_str).chain(extra.iter().copied()) {
            let value = match current.get(key) {
                Some(Value::Object(reference)) => {
                    reference.get("id").cloned().unwrap_or(Value::Null)
                }
                Some(other) => other.clone(),
                None => Value::Null,
            };
            before.insert(key.to_string(), value);
        }
        // A marker an earlier run left (this run has no id map row) goes too.
        if let Some(Value::String(org)) = before.get("Organization")
            && org.starts_with(USER_MARKER_PREFIX)
        {
            before.insert("Organization".into(), json!(""));
        }
        Ok(Adopted {
            before: Value::Object(before),
        })
    }

    /// The queue of the target that `group` would adopt (queue names are unique), or the
    /// refusal when another record's marker is on it. The write and the dry run's
    /// prediction both ask this.
    pub(crate) fn queue_to_adopt(&self, group: &Group) -> Result<Option<Value>, AdapterError> {
        let path = format!("queue/{}", crate::segment(&group.name));
        let queue = match self.api.try_send(switchover_http::Request::get(path)) {
            Ok(queue) => queue,
            // No queue of that name.
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(crate::api::http_err(&e)),
        };
        let (_, other) = MARKER.split_opt(Some(&text(&queue, "Description")));
        if let Some(other) = other.filter(|m| *m != group.id) {
            return Err(invalid(
                Kind::Group,
                &group.id,
                "name",
                format!(
                    "RT queue '{}' already carries the source marker '{other}' of another record (queue names are unique); rename one of them",
                    group.name
                ),
            ));
        }
        Ok(Some(queue))
    }

    /// A queue found by its marker with no id map row: given back without the marker.
    fn before_unmarked_queue(&self, id: &str) -> Result<Adopted, AdapterError> {
        let current = self.api.get(&format!("queue/{id}"))?;
        let (description, _) = MARKER.split_opt(Some(&text(&current, "Description")));
        Ok(Adopted {
            before: json!({"Name": text(&current, "Name"), "Description": description.unwrap_or_default()}),
        })
    }

    /// Gives back an adopted user or queue: its earlier values, marker removed.
    pub(crate) fn release(&self, kind: Kind, id: &str, had: &Adopted) -> Result<(), AdapterError> {
        let path = match kind {
            Kind::User => format!("user/{id}"),
            Kind::Group => format!("queue/{id}"),
            other => return Err(AdapterError::unsupported(NAME, other, "give back")),
        };
        self.api
            .put(&path, &had.before)
            .map_err(|e| e.for_record(NAME, kind, id))?;
        self.cache.lock().users_by_id.remove(id);
        Ok(())
    }

    // ---- queues ----

    fn write_queue(
        &self,
        group: &Group,
        existing: Option<String>,
        adopted: Option<&mut Option<Adopted>>,
    ) -> Result<String, AdapterError> {
        let body = json!({
            "Name": group.name,
            "Description": MARKER.append_opt(group.description.as_deref(), &group.id),
        });
        if let Some(id) = existing {
            if let Some(slot) = adopted {
                *slot = Some(self.before_unmarked_queue(&id)?);
            }
            self.api
                .put(&format!("queue/{id}"), &body)
                .map_err(|e| e.for_record(NAME, Kind::Group, &group.id))?;
            return Ok(id);
        }
        match self.api.post("queue", &body) {
            Ok(answer) => Ok(created_id(&answer)),
            Err(e) if e.is_rejection() => {
                // A queue with this name exists: adopt it (unless another record's).
                let queue = self
                    .queue_to_adopt(group)?
                    .ok_or_else(|| e.for_record(NAME, Kind::Group, &group.id))?;
                let id = text(&queue, "id");
                let map = body.as_object().cloned().unwrap_or_default();
                if let Some(slot) = adopted {
                    *slot = Some(self.before(&format!("queue/{id}"), &map, &[])?);
                }
                self.api
                    .put(&format!("queue/{id}"), &body)
                    .map_err(|e| e.for_record(NAME, Kind::Group, &group.id))?;
                Ok(id)
            }
            Err(e) => Err(e.for_record(NAME, Kind::Group, &group.id)),
        }
    }

    // ---- custom fields ----

    fn write_field(
        &self,
        field: &FieldDefinition,
        existing: Option<String>,
    ) -> Result<String, AdapterError> {
        let (rt_type, mut pattern) = match field.field_type {
            FieldType::Text => ("FreeformSingle", String::new()),
            FieldType::Textarea => ("TextSingle", String::new()),
            FieldType::Number => ("FreeformSingle", NUMBER_PATTERN.to_string()),
            FieldType::Date => ("DateSingle", String::new()),
            FieldType::Checkbox => ("SelectSingle", String::new()),
            FieldType::Dropdown => ("SelectSingle", String::new()),
            FieldType::MultiSelect => ("SelectMultiple", String::new()),
            FieldType::Regex => ("FreeformSingle", field.pattern.clone().unwrap_or_default()),
        };
        if field.required {
            pattern = format!(
                "{MANDATORY}{}",
                if pattern.is_empty() {
                    "."
                } else {
                    pattern.as_str()
                }
            );
        }
        let options: Vec<FieldOption> = if field.field_type == FieldType::Checkbox {
            ["true", "false"]
                .iter()
                .map(|v| FieldOption {
                    value: v.to_string(),
                    label: v.to_string(),
                })
                .collect()
        } else {
            field.options.clone()
        };
        let mut body = json!({
            "Name": field.key,
            "Description": MARKER.append(&field.title, &field.id),
            "Pattern": pattern,
            "SortOrder": field.position.unwrap_or(0),
            "Disabled": if field.active { 0 } else { 1 },
        });
        let id = match existing {
            Some(id) => {
                self.api
                    .put(&format!("customfield/{id}"), &body)
                    .map_err(|e| e.for_record(NAME, Kind::FieldDefinition, &field.id))?;
                id
            }
            None => {
                if let Value::Object(map) = &mut body {
                    map.insert("Type".into(), json!(rt_type));
                    match field.object {
                        FieldObject::Ticket => {
                            map.insert("LookupType".into(), json!("RT::Queue-RT::Ticket"));
                            map.insert("Queue".into(), json!(0));
                        }
                        FieldObject::User => {
                            map.insert("LookupType".into(), json!("RT::User"));
                        }
                        FieldObject::Organization => {
                            map.insert("LookupType".into(), json!("RT::Group"));
                        }
                    }
                }
                let answer = self
                    .api
                    .post("customfield", &body)
                    .map_err(|e| e.for_record(NAME, Kind::FieldDefinition, &field.id))?;
                created_id(&answer)
            }
        };
        if !options.is_empty() {
            let list = self.api.get_query(
                &format!("customfield/{id}/values"),
                &[("per_page", "100".into())],
            )?;
            let have: Vec<String> = list
                .get("items")
                .and_then(Value::as_array)
                .map(|items| items.iter().map(|i| text(i, "name")).collect())
                .unwrap_or_default();
            for (i, option) in options.iter().enumerate() {
                if have.contains(&option.value) {
                    continue;
                }
                self.api
                    .post(&format!("customfield/{id}/value"), &json!({"Name": option.value, "Description": option.label, "SortOrder": i + 1}))
                    .map_err(|e| e.for_record(NAME, Kind::FieldDefinition, &field.id))?;
            }
        }
        self.cache.lock().fields.remove(&id);
        Ok(id)
    }

    /// Creates a global ticket custom field of Switchover's (free text, one value), if
    /// missing: the source marker, or one of the fields that keep original values.
    fn ensure_ticket_field(
        &self,
        name: &'static str,
        description: &str,
    ) -> Result<(), AdapterError> {
        if self.cache.lock().ticket_fields_ready.contains(name) {
            return Ok(());
        }
        let list = self.api.search_json(
            "customfields",
            &[("fields", "Name,LookupType".into())],
            &json!([{"field": "Name", "operator": "=", "value": name}]),
        )?;
        let exists = list
            .get("items")
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|i| text(i, "LookupType") == "RT::Queue-RT::Ticket")
            });
        if !exists {
            self.api
                .post(
                    "customfield",
                    &json!({
                        "Name": name,
                        "Type": "FreeformSingle",
                        "LookupType": "RT::Queue-RT::Ticket",
                        "Queue": 0,
                        "Description": description,
                    }),
                )
                .map_err(|e| crate::api::http_err(&e))?;
        }
        self.cache.lock().ticket_fields_ready.insert(name);
        Ok(())
    }

    fn ensure_marker_field(&self) -> Result<(), AdapterError> {
        self.ensure_ticket_field(
            MARKER_FIELD,
            "Id of the ticket in the helpdesk it was migrated from (written by Switchover; keep it for re-runs)",
        )
    }

    /// The custom fields that keep what RT dropped of a ticket's create, for the import
    /// fields this server is known to drop.
    fn original_fields(&self, ticket: &Ticket) -> Result<Map<String, Value>, AdapterError> {
        let mut cfs = Map::new();
        if self.import_fields(ImportField::TicketCreated) == Some(ImportFields::Dropped)
            && let Some(at) = &ticket.created_at
        {
            self.ensure_ticket_field(
                ORIGINAL_CREATED_FIELD,
                "When the ticket was created in the helpdesk it was migrated from (RFC 3339, UTC; written by Switchover because this RT keeps its own Created)",
            )?;
            cfs.insert(ORIGINAL_CREATED_FIELD.into(), json!(at.to_string()));
        }
        if self.import_fields(ImportField::TicketCreator) == Some(ImportFields::Dropped)
            && let Some(submitter) = &ticket.submitter
        {
            self.ensure_ticket_field(
                ORIGINAL_CREATOR_FIELD,
                "Who created the ticket in the helpdesk it was migrated from (RT user name; written by Switchover because this RT keeps its own Creator)",
            )?;
            cfs.insert(
                ORIGINAL_CREATOR_FIELD.into(),
                json!(self.user(submitter.id())?.name),
            );
        }
        Ok(cfs)
    }

    /// After the first create that carried `Created` or `Creator`: reads the ticket back
    /// to learn whether RT kept them, and if it dropped them, keeps the originals.
    fn learn_ticket_import_fields(
        &self,
        ticket: &Ticket,
        id: &str,
        sent_creator: bool,
    ) -> Result<(), AdapterError> {
        let created_unknown =
            ticket.created_at.is_some() && self.import_fields(ImportField::TicketCreated).is_none();
        let creator_unknown =
            sent_creator && self.import_fields(ImportField::TicketCreator).is_none();
        if !created_unknown && !creator_unknown {
            return Ok(());
        }
        let current = self.api.get(&format!("ticket/{id}"))?;
        if created_unknown && let Some(want) = &ticket.created_at {
            let kept =
                crate::time(&current, "Created").map(|t| sql_time(&t)) == Some(sql_time(want));
            self.learn_import_field(ImportField::TicketCreated, kept);
        }
        if creator_unknown && let Some(submitter) = &ticket.submitter {
            let want = self.user(submitter.id())?;
            let have = text(&current, "Creator");
            self.learn_import_field(
                ImportField::TicketCreator,
                have == want.name || have == want.id,
            );
        }
        let cfs = self.original_fields(ticket)?;
        if !cfs.is_empty() {
            self.api
                .put(&format!("ticket/{id}"), &json!({"CustomFields": cfs}))
                .map_err(|e| e.for_record(NAME, Kind::Ticket, &ticket.id))?;
        }
        Ok(())
    }

    // ---- tickets ----

    fn ticket_body(
        &self,
        ticket: &Ticket,
        create: bool,
    ) -> Result<Map<String, Value>, AdapterError> {
        let mut body = Map::new();
        body.insert("Subject".into(), json!(ticket.subject));
        body.insert("Status".into(), json!(status_to_rt(ticket.status)));
        body.insert("Priority".into(), json!(priority_to_rt(ticket.priority)));
        if let Some(group) = &ticket.group {
            body.insert("Queue".into(), json!(group.id()));
        } else if create {
            body.insert("Queue".into(), json!("General"));
        }
        if let Some(requester) = &ticket.requester {
            let user = self.user(requester.id())?;
            let who = if user.email.is_empty() {
                user.name
            } else {
                user.email
            };
            body.insert("Requestor".into(), json!([who]));
        }
        let owner = match &ticket.assignee {
            Some(assignee) => self.user(assignee.id())?.name,
            None => "Nobody".into(),
        };
        body.insert("Owner".into(), json!(owner));
        let mut cfs = Map::new();
        cfs.insert(MARKER_FIELD.into(), json!(ticket.id));
        for (field, value) in &ticket.custom_fields {
            let v = match value {
                FieldValue::Text(t) | FieldValue::Date(t) | FieldValue::Dropdown(t) => json!(t),
                FieldValue::Number(n) => json!(number_text(*n)),
                FieldValue::Checkbox(b) => json!(if *b { "true" } else { "false" }),
                FieldValue::MultiSelect(set) => json!(set.iter().collect::<Vec<_>>()),
            };
            cfs.insert(field.id().to_string(), v);
        }
        cfs.extend(self.original_fields(ticket)?);
        body.insert("CustomFields".into(), Value::Object(cfs));
        if create {
            if let Some(submitter) = &ticket.submitter {
                let id = self.user(submitter.id())?.id;
                if let Ok(n) = id.parse::<u64>() {
                    body.insert("Creator".into(), json!(n));
                }
            }
            if let Some(at) = &ticket.created_at {
                body.insert("Created".into(), json!(sql_time(at)));
            }
        }
        if let Some(at) = &ticket.solved_at {
            body.insert("Resolved".into(), json!(sql_time(at)));
        }
        Ok(body)
    }

    fn write_ticket(
        &self,
        ticket: &Ticket,
        existing: Option<String>,
    ) -> Result<String, AdapterError> {
        let id = match existing {
            Some(id) => {
                let body = self.ticket_body(ticket, false)?;
                self.api
                    .put(&format!("ticket/{id}"), &Value::Object(body))
                    .map_err(|e| e.for_record(NAME, Kind::Ticket, &ticket.id))?;
                id
            }
            None => {
                let mut body = self.ticket_body(ticket, true)?;
                let sent_creator = body.contains_key("Creator");
                // RT's default lifecycle does not let a ticket be born stalled.
                let later = (status_to_rt(ticket.status) == "stalled")
                    .then(|| body.insert("Status".into(), json!("open")))
                    .flatten();
                let answer = self
                    .api
                    .post("ticket", &Value::Object(body))
                    .map_err(|e| e.for_record(NAME, Kind::Ticket, &ticket.id))?;
                let id = created_id(&answer);
                self.learn_ticket_import_fields(ticket, &id, sent_creator)?;
                if later.is_some() {
                    self.api
                        .put(
                            &format!("ticket/{id}"),
                            &json!({"Status": status_to_rt(ticket.status)}),
                        )
                        .map_err(|e| e.for_record(NAME, Kind::Ticket, &ticket.id))?;
                }
                id
            }
        };
        // RT drops an owner without the OwnTicket right silently: check.
        if let Some(assignee) = &ticket.assignee {
            let current = self.api.get(&format!("ticket/{id}"))?;
            let owner = text(&current, "Owner");
            let want = self.user(assignee.id())?;
            if owner != want.name && owner != want.id {
                return Err(invalid(
                    Kind::Ticket,
                    &ticket.id,
                    "assignee",
                    format!(
                        "RT ticket {id} was written but RT refused owner '{}': the user lacks the OwnTicket right in the queue",
                        want.name
                    ),
                ));
            }
        }
        Ok(id)
    }

    fn write_tickets(&self, batch: &[WriteRequest]) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.ensure_marker_field()?;
        let mut outcomes = Vec::new();
        let mut written: BTreeMap<String, String> = BTreeMap::new();
        for request in batch {
            let source_id = request.record.id().to_string();
            let Record::Ticket(ticket) = &request.record else {
                outcomes.push(WriteOutcome {
                    source_id: source_id.clone(),
                    result: Err(invalid(Kind::Ticket, &source_id, "kind", "not a ticket")),
                    children: Vec::new(),
                    adopted: None,
                });
                continue;
            };
            let existing = match &request.existing {
                Some(id) => Some(id.clone()),
                None => self.find_one(Kind::Ticket, &source_id)?,
            };
            let result = self.write_ticket(ticket, existing);
            match &result {
                Ok(id) => {
                    written.insert(source_id.clone(), id.clone());
                }
                Err(e) if e.stops_run() || e.is_retryable() => return Err(e.clone()),
                Err(_) => {}
            }
            outcomes.push(WriteOutcome {
                source_id,
                result,
                children: Vec::new(),
                adopted: None,
            });
        }
        // Links need both tickets: set them once the whole batch exists.
        for (request, outcome) in batch.iter().zip(outcomes.iter_mut()) {
            let (Record::Ticket(ticket), Ok(id)) = (&request.record, &outcome.result) else {
                continue;
            };
            if let Err(e) = self.write_links(ticket, id, &written) {
                if e.stops_run() || e.is_retryable() {
                    return Err(e);
                }
                outcome.result = Err(e);
            }
        }
        Ok(outcomes)
    }

    /// The RT id a link points at: a ticket of this batch by source id, a ticket found by
    /// its source marker, or an RT ticket id the engine already mapped.
    fn link_target(
        &self,
        other: &str,
        written: &BTreeMap<String, String>,
    ) -> Result<Option<String>, AdapterError> {
        // An empty id: the engine does not know the linked ticket's target id yet and
        // writes this ticket again once it does.
        if other.is_empty() {
            return Ok(None);
        }
        if let Some(id) = written.get(other) {
            return Ok(Some(id.clone()));
        }
        if let Some(id) = self.find_one(Kind::Ticket, other)? {
            return Ok(Some(id));
        }
        if other.parse::<u64>().is_ok() {
            return Ok(Some(other.to_string()));
        }
        Ok(None)
    }

    fn write_links(
        &self,
        ticket: &Ticket,
        id: &str,
        written: &BTreeMap<String, String>,
    ) -> Result<(), AdapterError> {
        if ticket.links.is_empty() {
            return Ok(());
        }
        let mut by_kind: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for link in &ticket.links {
            let key = match link.kind {
                LinkKind::DependsOn => "DependsOn",
                LinkKind::DependedOnBy => "DependedOnBy",
                LinkKind::RefersTo | LinkKind::IncidentOf => "RefersTo",
                LinkKind::ReferredToBy => "ReferredToBy",
                LinkKind::Parent => "Parent",
                LinkKind::Child => "Child",
            };
            match self.link_target(link.ticket.id(), written)? {
                Some(other) => by_kind
                    .entry(key)
                    .or_default()
                    .push(json!(other.parse::<u64>().unwrap_or(0))),
                None => log::warn!(
                    "rt: ticket {} links to '{}', which is not on the target yet; the link is added when that ticket is written with a link back",
                    ticket.id,
                    link.ticket.id()
                ),
            }
        }
        if by_kind.is_empty() {
            return Ok(());
        }
        let body: Map<String, Value> = by_kind
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::Array(v)))
            .collect();
        self.api
            .put(&format!("ticket/{id}"), &Value::Object(body))
            .map_err(|e| e.for_record(NAME, Kind::Ticket, &ticket.id))?;
        Ok(())
    }

    // ---- comments ----

    fn origin_line(&self, comment: &Comment) -> Result<Option<String>, AdapterError> {
        let who = match &comment.author {
            Some(author) => match self.user(author.id()) {
                Ok(user) => {
                    let name = if user.real_name.is_empty() {
                        user.name.clone()
                    } else {
                        user.real_name.clone()
                    };
                    format!("{name} <{}> (user {})", user.email, user.id)
                }
                Err(_) => format!("unknown (user {})", author.id()),
            },
            None => "unknown (user )".to_string(),
        };
        let at = comment
            .created_at
            .map(|t| t.to_string())
            .unwrap_or_else(|| "unknown".into());
        Ok(Some(format!("{ORIGIN_PREFIX}{who} at {at}")))
    }

    fn write_comment(
        &self,
        comment: &Comment,
        content: &dyn ContentSource,
    ) -> Result<String, AdapterError> {
        let ticket_id = comment.ticket.id().to_string();
        let mut header: Vec<String> = self.origin_line(comment)?.into_iter().collect();
        let mut files: Vec<(String, String, Vec<u8>)> = Vec::new();
        for (index, attachment) in comment.attachments.iter().enumerate() {
            let mut bytes = Vec::new();
            content
                .open(attachment)?
                .read_to_end(&mut bytes)
                .map_err(|e| {
                    AdapterError::transient(
                        NAME,
                        format!("reading attachment '{}': {e}", attachment.file_name),
                    )
                })?;
            if bytes.is_empty() {
                header.push(format!(
                    "{EMPTY_PREFIX}{index} {}: {}",
                    attachment.content_type, attachment.file_name
                ));
            } else {
                files.push((
                    attachment.file_name.clone(),
                    attachment.content_type.clone(),
                    bytes,
                ));
            }
        }
        let (body, content_type) = if comment.body_text.is_empty() && comment.body_html.is_some() {
            let html = comment.body_html.clone().unwrap_or_default();
            let head: String = header
                .iter()
                .map(|l| format!("<p>{}</p>\n", switchover_adapter::html::escape(l)))
                .collect();
            (format!("{head}{html}"), "text/html")
        } else {
            (
                format!("{}\n\n{}", header.join("\n"), comment.body_text),
                "text/plain",
            )
        };
        let before = self.api.get(&format!("ticket/{ticket_id}"))?;
        let status_before = text(&before, "Status");
        let json_part = json!({
            "Subject": format!("{}{}", crate::read::COMMENT_MARKER_PREFIX, comment.id),
            "Content": body,
            "ContentType": content_type,
        });
        let path = format!(
            "ticket/{ticket_id}/{}",
            if comment.public {
                "correspond"
            } else {
                "comment"
            }
        );
        let result = if files.is_empty() {
            self.api.post(&path, &json_part)
        } else {
            let json_text = json_part.to_string();
            self.api.multipart(&path, move || {
                let mut form = Form::new().part(
                    "JSON",
                    Part::text(json_text.clone())
                        .mime_str("application/json")
                        .map_err(std::io::Error::other)?,
                );
                for (name, ctype, bytes) in &files {
                    let part = Part::bytes(bytes.clone())
                        .file_name(name.clone())
                        .mime_str(ctype)
                        .map_err(std::io::Error::other)?;
                    form = form.part("Attachments", part);
                }
                Ok(form)
            })
        };
        result.map_err(|e| e.for_record(NAME, Kind::Comment, &comment.id))?;
        // A reply reopens a resolved ticket (RT's "Open Inactive Tickets" scrip): put it back.
        let after = self.api.get(&format!("ticket/{ticket_id}"))?;
        if text(&after, "Status") != status_before && !status_before.is_empty() {
            self.api
                .put(
                    &format!("ticket/{ticket_id}"),
                    &json!({"Status": status_before}),
                )
                .map_err(|e| e.for_record(NAME, Kind::Comment, &comment.id))?;
            // Resolving again stamps Resolved with now: keep the original time.
            if let Some(resolved) = crate::time(&before, "Resolved") {
                self.api
                    .put(
                        &format!("ticket/{ticket_id}"),
                        &json!({"Resolved": sql_time(&resolved)}),
                    )
                    .map_err(|e| e.for_record(NAME, Kind::Comment, &comment.id))?;
            }
        }
        self.find_one(Kind::Comment, &comment.id)?.ok_or_else(|| {
            invalid(Kind::Comment, &comment.id, "ticket", format!("RT accepted the comment on ticket {ticket_id} but it cannot be found by its marker"))
        })
    }
}
