//! Writing and deleting.

use std::io::Read;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use switchover_adapter::{AdapterError, Adopted, ContentSource, WriteOutcome, WriteRequest};
use switchover_http::Request;
use switchover_http::multipart::{Form, Part};
use switchover_model::*;

use crate::read::{
    CONTACT_MARKER, DESC_MARKER, ORIGIN_OPEN, SIGNATURE_MARKER, escape, is_marker_field, num_id,
    text,
};
use crate::{FieldInfo, Freshdesk, MARKER_FIELD_LABEL, NAME};

/// Plain text of an HTML body (for read-back of migrated notes).
pub(crate) use switchover_adapter::html::text_of as html_text;

pub(crate) fn fd_object(object: FieldObject) -> &'static str {
    match object {
        FieldObject::Ticket => "ticket",
        FieldObject::User => "contact",
        FieldObject::Organization => "company",
    }
}

fn fd_type(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text | FieldType::Regex => "custom_text",
        FieldType::Textarea => "custom_paragraph",
        FieldType::Number => "custom_decimal",
        FieldType::Date => "custom_date",
        FieldType::Checkbox => "custom_checkbox",
        FieldType::Dropdown => "custom_dropdown",
        FieldType::MultiSelect => "custom_multi_select_dropdown",
    }
}

/// The refusal of an end user whose e-mail a deleted contact of the target still holds.
pub(crate) fn email_of_deleted_contact(id: &str) -> AdapterError {
    invalid(
        Kind::User,
        id,
        "email",
        "a deleted contact on the target still holds this e-mail: restore it in Freshdesk (Contacts > Deleted) or delete it for good, then run retry-failed",
    )
}

/// The refusal of an end user whose e-mail belongs to an agent of the target.
pub(crate) fn email_taken_by_agent(id: &str) -> AdapterError {
    invalid(Kind::User, id, "email", "the email is taken by an agent")
}

/// The contact of the target with a user's e-mail, which the user adopts, or the
/// refusal when another source record's marker is on it (two source users of one
/// e-mail): adopting it would take that record over. The write and the dry run's
/// prediction both ask this.
pub(crate) fn contact_to_adopt(user: &User, contact: Value) -> Result<Value, AdapterError> {
    let marker = contact.get("unique_external_id").and_then(Value::as_str);
    if let Some(other) = marker
        .and_then(|m| CONTACT_MARKER.id_in(m))
        .filter(|other| *other != user.id)
    {
        return Err(invalid(
            Kind::User,
            &user.id,
            "email",
            format!(
                "the target's contact with this e-mail already carries the source marker of another record ('{other}'); two source users share one e-mail: map one to the other in the plan's [map.users], or give one another e-mail"
            ),
        ));
    }
    Ok(contact)
}

fn invalid(kind: Kind, id: &str, field: &str, reason: impl Into<String>) -> AdapterError {
    AdapterError::invalid(NAME, kind, id, field, reason)
}

fn time_text(t: &Option<Timestamp>) -> String {
    t.as_ref()
        .map(Timestamp::to_canonical)
        .unwrap_or_else(|| "an unknown time".into())
}

/// What an adopted company had of the fields a write sets; its marker field cleared.
fn company_before(company: &Value, marker_field: &str) -> Value {
    let mut before = Map::new();
    for key in ["name", "description", "note", "domains"] {
        before.insert(key.into(), company.get(key).cloned().unwrap_or(Value::Null));
    }
    let mut custom = company
        .get("custom_fields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    custom.insert(marker_field.into(), Value::Null);
    before.insert("custom_fields".into(), Value::Object(custom));
    Value::Object(before)
}

/// What an adopted contact had of the fields `body` sets. A contact found by its marker
/// (`marked`) gives back its values with the marker cleared.
fn contact_before(contact: &Value, body: &Value, marked: bool) -> Value {
    let mut before = Map::new();
    if let Value::Object(fields) = body {
        for key in fields.keys() {
            let value = contact.get(key).cloned().unwrap_or(Value::Null);
            before.insert(key.clone(), value);
        }
    }
    let marker = before.get("unique_external_id").and_then(Value::as_str);
    if marked || marker.is_some_and(|m| CONTACT_MARKER.id_in(m).is_some()) {
        before.insert("unique_external_id".into(), Value::Null);
    }
    Value::Object(before)
}

impl Freshdesk {
    /// Writes a batch record by record. `lookup`: look for an earlier copy of each new
    /// record by marker first (under the write lock alone); `false` only for a batch the
    /// engine proves was never sent, written beside other such batches.
    pub(crate) fn write(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
        lookup: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let (_alone, _beside) = if lookup {
            let guard = self
                .write_lock
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (Some(guard), None)
        } else {
            let guard = self
                .write_lock
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (None, Some(guard))
        };
        let mut outcomes = Vec::new();
        for request in batch {
            let source_id = request.record.id().to_string();
            match self.write_one(kind, request, content, lookup) {
                Ok((target_id, adopted)) => {
                    self.cache
                        .lock()
                        .markers
                        .entry(kind)
                        .or_default()
                        .insert(source_id.clone(), target_id.clone());
                    outcomes.push(WriteOutcome {
                        source_id,
                        result: Ok(target_id),
                        children: Vec::new(),
                        adopted,
                    });
                }
                Err(e) if e.is_retryable() || e.stops_run() => {
                    // The write may have happened: the cache cannot say whether it is
                    // there until the target is read again (its ticket, for a note).
                    let mut cache = self.cache.lock();
                    cache.stale.insert(kind);
                    if let Record::Comment(c) = &request.record {
                        cache.notes_read.remove(c.ticket.id());
                    }
                    return Err(e);
                }
                Err(e) => outcomes.push(WriteOutcome {
                    source_id,
                    result: Err(e),
                    children: Vec::new(),
                    adopted: None,
                }),
            }
        }
        Ok(outcomes)
    }

    fn write_one(
        &self,
        kind: Kind,
        request: &WriteRequest,
        content: &dyn ContentSource,
        lookup: bool,
    ) -> Result<(String, Option<Adopted>), AdapterError> {
        let source_id = request.record.id();
        let existing = match (&request.existing, &request.record) {
            (Some(id), _) => Some(id.clone()),
            (None, _) if !lookup => None,
            // A note is looked for on its ticket, not in a scan of every ticket.
            (None, Record::Comment(c)) if !c.ticket.id().is_empty() => {
                self.note_on(c.ticket.id(), source_id)?
            }
            // A webhook is its definition: nothing to look for.
            (None, Record::Webhook(_)) => None,
            (None, _) => self.markers(kind)?.get(source_id).cloned(),
        };
        // A record not in the engine's id map that the target has (by marker or by name)
        // was there before this run could see: it is reported adopted, so a rollback
        // gives it back instead of deleting it.
        let fresh = request.existing.is_none();
        let created = |id: String| (id, None);
        match &request.record {
            Record::FieldDefinition(f) => self.write_field(f, existing, fresh),
            Record::Organization(o) => self.write_company(o, existing, fresh),
            Record::User(u) => self.write_user(u, existing, fresh),
            Record::Group(g) => self.write_group(g, existing, fresh),
            Record::Ticket(t) => self.write_ticket(t, existing).map(created),
            Record::Comment(c) => self.write_note(c, existing, content).map(created),
            Record::SatisfactionRating(r) => self.write_rating(r, existing).map(created),
            Record::Rule(r) => self.write_rule(r, existing).map(created),
            // Freshdesk keeps no webhook records: the definition is the target id, and
            // the rules that call it embed it (nothing is sent).
            Record::Webhook(w) => Ok(created(crate::rules::EmbeddedWebhook::of(w).target_id())),
            Record::Macro(m) => self.write_canned(m, existing).map(created),
            Record::SlaPolicy(s) => self.write_sla(s, existing).map(created),
            other => Err(AdapterError::unsupported(NAME, other.kind(), "write")),
        }
    }

    /// Gives back a record the migration adopted: writes back the values it had (which
    /// also removes the marker the adopting write added). Never deletes anything.
    pub(crate) fn release(
        &self,
        kind: Kind,
        id: &str,
        before: &Adopted,
    ) -> Result<(), AdapterError> {
        let path = match kind {
            Kind::FieldDefinition => {
                let object = before
                    .before
                    .get("object")
                    .and_then(Value::as_str)
                    .unwrap_or("ticket");
                format!("admin/{object}_fields/{id}")
            }
            Kind::Group => format!("groups/{id}"),
            Kind::Organization => format!("companies/{id}"),
            Kind::User if before.before.get("signature").is_some() => format!("agents/{id}"),
            Kind::User => format!("contacts/{id}"),
            other => return Err(AdapterError::unsupported(NAME, other, "give back")),
        };
        let mut body = before.before.clone();
        if let Value::Object(map) = &mut body {
            map.remove("object");
        }
        self.api
            .write_json(Request::put(path), &body, kind, id)
            .map(|_| ())?;
        if let Some(markers) = self.cache.lock().markers.get_mut(&kind) {
            markers.retain(|_, target| target != id);
        }
        if kind == Kind::FieldDefinition {
            self.refresh_fields();
        }
        Ok(())
    }

    fn target_id(value: &Value, kind: Kind, source_id: &str) -> Result<String, AdapterError> {
        num_id(value, "id").ok_or_else(|| {
            AdapterError::fatal(
                NAME,
                format!("writing {kind} '{source_id}': the answer carries no id"),
            )
        })
    }

    pub(crate) fn refresh_fields(&self) {
        let mut cache = self.cache.lock();
        cache.fields = None;
        cache.fields_generation += 1;
    }

    /// Applies a change this connection made to one field to the cached fields (when
    /// loaded), instead of listing them all again.
    fn update_cached_field(
        &self,
        id: u64,
        change: impl FnOnce(Option<&mut FieldInfo>) -> Option<FieldInfo>,
    ) {
        let mut cache = self.cache.lock();
        cache.fields_generation += 1;
        if let Some(fields) = cache.fields.as_mut() {
            let added = change(fields.iter_mut().find(|f| f.id == id));
            fields.extend(added);
        }
    }

    /// The custom text field holding source markers on tickets or companies, created on first use.
    fn ensure_marker_field(&self, object: &str) -> Result<FieldInfo, AdapterError> {
        if let Some(field) = self
            .fields()?
            .into_iter()
            .find(|f| f.object == object && is_marker_field(f))
        {
            return Ok(field);
        }
        // Writes side by side may all get here: one creates it, the others find it.
        let _creating = self
            .marker_field
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(field) = self
            .fields()?
            .into_iter()
            .find(|f| f.object == object && is_marker_field(f))
        {
            return Ok(field);
        }
        let body = json!({
            "label": MARKER_FIELD_LABEL, "label_for_customers": MARKER_FIELD_LABEL, "type": "custom_text",
            "description": "Written by Switchover migrations: the record's id in the source helpdesk. Safe to delete after cutover.",
            "displayed_to_customers": false, "customers_can_edit": false,
        });
        self.api.write_json(
            Request::post(format!("admin/{object}_fields")),
            &body,
            Kind::FieldDefinition,
            MARKER_FIELD_LABEL,
        )?;
        self.refresh_fields();
        self.fields()?
            .into_iter()
            .find(|f| f.object == object && is_marker_field(f))
            .ok_or_else(|| {
                AdapterError::fatal(
                    NAME,
                    format!("the {object} marker field was created but is not listed"),
                )
            })
    }

    /// Custom field values in Freshdesk form (keys are target field ids).
    pub(crate) fn custom_json(
        &self,
        object: &str,
        values: &CustomFields,
        kind: Kind,
        source_id: &str,
    ) -> Result<Map<String, Value>, AdapterError> {
        let mut out = Map::new();
        if values.is_empty() {
            return Ok(out);
        }
        let mut fields = self.fields()?;
        for (key, value) in values {
            let mut field = fields
                .iter()
                .find(|f| f.object == object && f.id.to_string() == key.id());
            if field.is_none() {
                self.refresh_fields();
                fields = self.fields()?;
                field = fields
                    .iter()
                    .find(|f| f.object == object && f.id.to_string() == key.id());
            }
            let Some(field) = field else {
                return Err(invalid(
                    kind,
                    source_id,
                    &format!("custom_fields.{}", key.id()),
                    "no such custom field on the target (was its definition migrated?)",
                ));
            };
            let json = match value {
                FieldValue::Dropdown(s)
                    if field.kind == "custom_dropdown" && !field.choices.is_empty() =>
                {
                    // Freshdesk takes a choice as it is spelled; the same choice in
                    // another case is the same choice. Anything else would be a 400.
                    let choice = field
                        .choices
                        .iter()
                        .find(|c| *c == s)
                        .or_else(|| field.choices.iter().find(|c| c.eq_ignore_ascii_case(s)))
                        .ok_or_else(|| {
                            invalid(
                                kind,
                                source_id,
                                &format!("custom_fields.{}", field.name),
                                format!(
                                    "'{s}' is not one of the field's choices ({}): add it on the target or map the value in the plan",
                                    field.choices.join(", ")
                                ),
                            )
                        })?;
                    json!(choice)
                }
                FieldValue::Text(s) | FieldValue::Date(s) | FieldValue::Dropdown(s) => json!(s),
                FieldValue::Number(n) if field.kind == "custom_number" => json!(n.round() as i64),
                FieldValue::Number(n) => json!(n),
                FieldValue::Checkbox(b) => json!(b),
                FieldValue::MultiSelect(set) => json!(set),
            };
            out.insert(field.name.clone(), json);
        }
        Ok(out)
    }

    fn write_field(
        &self,
        f: &FieldDefinition,
        existing: Option<String>,
        fresh: bool,
    ) -> Result<(String, Option<Adopted>), AdapterError> {
        let object = fd_object(f.object);
        let kind = Kind::FieldDefinition;
        let marker = DESC_MARKER.tag(&f.id);
        let fields = self.fields()?;
        let current = match &existing {
            Some(id) => fields.iter().find(|x| x.id.to_string() == *id),
            None => fields
                .iter()
                .find(|x| x.object == object && x.label.eq_ignore_ascii_case(&f.title)),
        };
        if let Some(current) = current {
            // Matched (or written before): make sure it carries the marker. A field the
            // target had (found by label, not by marker or id map) is adopted.
            let (text_part, found) = DESC_MARKER.split_opt(Some(&current.description));
            let adopted = fresh.then(|| Adopted {
                before: json!({
                    "object": object,
                    "description": match &found {
                        // Found by label: as the target had it.
                        None => current.description_raw.clone(),
                        // Found by marker with no id map row: the text without it.
                        Some(_) => json!(text_part.clone().unwrap_or_default()),
                    }
                }),
            });
            if found.as_deref() != Some(f.id.as_str()) {
                let description = match text_part {
                    Some(t) => format!("{t}\n{marker}"),
                    None => marker,
                };
                self.api.write_json(
                    Request::put(format!("admin/{object}_fields/{}", current.id)),
                    &json!({"description": description}),
                    kind,
                    &f.id,
                )?;
                self.update_cached_field(current.id, |cached| {
                    if let Some(cached) = cached {
                        cached.description_raw = json!(description);
                        cached.description = description;
                    }
                    None
                });
            }
            return Ok((current.id.to_string(), adopted));
        }
        let mut body = json!({
            "label": f.title, "label_for_customers": f.title, "type": fd_type(f.field_type),
            "description": marker, "required_for_agents": f.required,
        });
        if matches!(f.field_type, FieldType::Dropdown | FieldType::MultiSelect) {
            body["choices"] = json!(
                f.options
                    .iter()
                    .map(|o| o.value.clone())
                    .collect::<Vec<_>>()
            );
        }
        let created = self.api.write_json(
            Request::post(format!("admin/{object}_fields")),
            &body,
            kind,
            &f.id,
        )?;
        let id = Self::target_id(&created, kind, &f.id)?;
        match crate::read::field_info(object, &created) {
            Some(info) => self.update_cached_field(info.id, |_| Some(info)),
            None => self.refresh_fields(),
        }
        Ok((id, None))
    }

    fn write_company(
        &self,
        o: &Organization,
        existing: Option<String>,
        fresh: bool,
    ) -> Result<(String, Option<Adopted>), AdapterError> {
        let kind = Kind::Organization;
        let marker = self.ensure_marker_field("company")?;
        let mut custom = self.custom_json("company", &o.custom_fields, kind, &o.id)?;
        custom.insert(marker.name.clone(), json!(o.id));
        let body = json!({
            "name": o.name, "description": o.details, "note": o.notes,
            "domains": o.domains, "custom_fields": custom,
        });
        let answer = match &existing {
            Some(id) => {
                let before = fresh
                    .then(|| self.api.get(&format!("companies/{id}"), &[]))
                    .transpose()?;
                let answer = self.api.write_json(
                    Request::put(format!("companies/{id}")),
                    &body,
                    kind,
                    &o.id,
                )?;
                let adopted = before.map(|b| Adopted {
                    before: company_before(&b, &marker.name),
                });
                return Ok((Self::target_id(&answer, kind, &o.id)?, adopted));
            }
            None => match self
                .api
                .write_json(Request::post("companies"), &body, kind, &o.id)
            {
                Ok(answer) => answer,
                Err(AdapterError::InvalidRecord { field, .. }) if field.contains("name") => {
                    // Company names are unique: a company of that name is adopted, as
                    // Zendesk organizations are, unless another migration marked it.
                    let companies = self.api.list_all("companies", &[])?;
                    let found = self
                        .company_to_adopt(o, &companies, Some(&marker.name))?
                        .ok_or_else(|| {
                            invalid(
                                kind,
                                &o.id,
                                "name",
                                "duplicate name, but no company of that name is listed",
                            )
                        })?;
                    let id = Self::target_id(&found, kind, &o.id)?;
                    let answer = self.api.write_json(
                        Request::put(format!("companies/{id}")),
                        &body,
                        kind,
                        &o.id,
                    )?;
                    let adopted = Adopted {
                        before: company_before(&found, &marker.name),
                    };
                    return Ok((Self::target_id(&answer, kind, &o.id)?, Some(adopted)));
                }
                Err(e) => return Err(e),
            },
        };
        Ok((Self::target_id(&answer, kind, &o.id)?, None))
    }

    /// The agent seat a source agent or admin maps to, by e-mail: a migration never
    /// creates agents, so a missing seat refuses the user. The write and the dry run's
    /// prediction both ask this.
    pub(crate) fn seated_agent(&self, u: &User, email: &str) -> Result<Value, AdapterError> {
        let found = self
            .api
            .list("agents", &[("email", email.to_string())])?
            .items
            .into_iter()
            .next();
        found.ok_or_else(|| {
            invalid(Kind::User, &u.id, "email", format!(
                "no Freshdesk agent has the email '{email}'; a migration never creates agents (that e-mails an invitation and takes a paid seat): add the seat (an occasional agent is cheapest), then run again"
            ))
        })
    }

    /// A company of the target that `o` would adopt (same name), or the refusal when
    /// another migration's marker is on it. The write and the prediction both ask this.
    pub(crate) fn company_to_adopt(
        &self,
        o: &Organization,
        companies: &[Value],
        marker_name: Option<&str>,
    ) -> Result<Option<Value>, AdapterError> {
        let Some(found) = companies
            .iter()
            .find(|c| text(c, "name").is_some_and(|n| n.eq_ignore_ascii_case(&o.name)))
        else {
            return Ok(None);
        };
        let other = marker_name
            .and_then(|m| found.get("custom_fields").and_then(|c| c.get(m)))
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty() && *m != o.id);
        match other {
            Some(other) => Err(invalid(
                Kind::Organization,
                &o.id,
                "name",
                format!(
                    "the target's company '{}' already carries the source marker '{other}' of another record; rename one of them",
                    o.name
                ),
            )),
            None => Ok(Some(found.clone())),
        }
    }

    fn write_user(
        &self,
        u: &User,
        existing: Option<String>,
        fresh: bool,
    ) -> Result<(String, Option<Adopted>), AdapterError> {
        let kind = Kind::User;
        if matches!(u.role, UserRole::Agent | UserRole::Admin) {
            let email = u.email.clone().unwrap_or_default();
            let agent = match &existing {
                Some(id) => self.api.get(&format!("agents/{id}"), &[]).ok(),
                None => None,
            };
            let agent = match agent {
                Some(a) => a,
                None => self.seated_agent(u, &email)?,
            };
            let id = Self::target_id(&agent, kind, &u.id)?;
            let (rest, found) =
                SIGNATURE_MARKER.split_opt(agent.get("signature").and_then(Value::as_str));
            // Agents are never created: each is adopted, its signature kept to give back.
            let adopted = fresh.then(|| Adopted {
                before: json!({"signature": match &found {
                    None => agent.get("signature").cloned().unwrap_or(Value::Null),
                    Some(_) => json!(rest.clone().unwrap_or_default()),
                }}),
            });
            if found.as_deref() != Some(u.id.as_str()) {
                let signature = format!(
                    "{}{}",
                    rest.unwrap_or_default(),
                    SIGNATURE_MARKER.tag(&u.id)
                );
                self.api.write_json(
                    Request::put(format!("agents/{id}")),
                    &json!({"signature": signature}),
                    kind,
                    &u.id,
                )?;
            }
            return Ok((id, adopted));
        }
        let mut body = json!({
            "name": if u.name.is_empty() { u.email.clone().unwrap_or_else(|| u.id.clone()) } else { u.name.clone() },
            "email": u.email, "phone": u.phone, "tags": u.tags,
            "company_id": u.organization.as_ref().filter(|o| !o.id().is_empty()).and_then(|o| o.id().parse::<u64>().ok()),
            "unique_external_id": CONTACT_MARKER.value(&u.id),
            "custom_fields": self.custom_json("contact", &u.custom_fields, kind, &u.id)?,
        });
        if let Some(language) = u.locale.as_deref().and_then(|l| l.split(['-', '_']).next()) {
            body["language"] = json!(language.to_ascii_lowercase());
        }
        let mut adopted = None;
        let id = match existing {
            Some(id) => {
                if fresh {
                    let before = self.api.get(&format!("contacts/{id}"), &[])?;
                    adopted = Some(Adopted {
                        before: contact_before(&before, &body, true),
                    });
                }
                self.api
                    .write_json(Request::put(format!("contacts/{id}")), &body, kind, &u.id)?;
                id
            }
            None => match self
                .api
                .write_json(Request::post("contacts"), &body, kind, &u.id)
            {
                Ok(answer) => Self::target_id(&answer, kind, &u.id)?,
                Err(AdapterError::InvalidRecord { field, .. }) if field.contains("email") => {
                    // The customer already exists on the target: adopt the contact.
                    let email = u.email.clone().unwrap_or_default();
                    let found = match self
                        .api
                        .list("contacts", &[("email", email.clone())])?
                        .items
                        .into_iter()
                        .next()
                    {
                        Some(found) => found,
                        // Freshdesk keeps a deleted contact's e-mail to itself.
                        None if !self
                            .api
                            .list("contacts", &[("email", email), ("state", "deleted".into())])?
                            .items
                            .is_empty() =>
                        {
                            return Err(email_of_deleted_contact(&u.id));
                        }
                        None => return Err(email_taken_by_agent(&u.id)),
                    };
                    let found = contact_to_adopt(u, found)?;
                    let id = Self::target_id(&found, kind, &u.id)?;
                    adopted = Some(Adopted {
                        before: contact_before(&found, &body, false),
                    });
                    self.api.write_json(
                        Request::put(format!("contacts/{id}")),
                        &body,
                        kind,
                        &u.id,
                    )?;
                    id
                }
                Err(e) => return Err(e),
            },
        };
        if u.state == UserState::Deleted && adopted.is_none() {
            self.api.delete(&format!("contacts/{id}"), kind, &u.id)?;
        }
        Ok((id, adopted))
    }

    fn write_group(
        &self,
        g: &Group,
        existing: Option<String>,
        fresh: bool,
    ) -> Result<(String, Option<Adopted>), AdapterError> {
        let kind = Kind::Group;
        let marker = DESC_MARKER.tag(&g.id);
        let description = match g.description.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => format!("{d}\n{marker}"),
            None => marker,
        };
        let body = json!({"name": g.name, "description": description});
        let mut adopted = None;
        let answer = match existing {
            Some(id) => {
                if fresh {
                    // Marked, but not in the id map: give back its text without the marker.
                    let before = self.api.get(&format!("groups/{id}"), &[])?;
                    let (text_part, _) =
                        DESC_MARKER.split_opt(before.get("description").and_then(Value::as_str));
                    adopted = Some(Adopted {
                        before: json!({"name": before.get("name"), "description": text_part.unwrap_or_default()}),
                    });
                }
                self.api
                    .write_json(Request::put(format!("groups/{id}")), &body, kind, &g.id)?
            }
            None => match self
                .api
                .write_json(Request::post("groups"), &body, kind, &g.id)
            {
                Ok(answer) => answer,
                Err(AdapterError::InvalidRecord { field, .. }) if field.contains("name") => {
                    // A group of that name exists: adopt it.
                    let found = self
                        .api
                        .list_all("groups", &[])?
                        .into_iter()
                        .find(|x| text(x, "name").is_some_and(|n| n.eq_ignore_ascii_case(&g.name)))
                        .ok_or_else(|| {
                            invalid(
                                kind,
                                &g.id,
                                "name",
                                "duplicate name, but no such group is listed",
                            )
                        })?;
                    let (_, other) =
                        DESC_MARKER.split_opt(found.get("description").and_then(Value::as_str));
                    if let Some(other) = other.filter(|m| *m != g.id) {
                        return Err(invalid(
                            kind,
                            &g.id,
                            "name",
                            format!(
                                "the target's group '{}' already carries the source marker '{other}' of another record; rename one of them",
                                g.name
                            ),
                        ));
                    }
                    let id = Self::target_id(&found, kind, &g.id)?;
                    adopted = Some(Adopted {
                        before: json!({
                            "name": found.get("name"),
                            "description": found.get("description").cloned().unwrap_or(json!("")),
                        }),
                    });
                    self.api
                        .write_json(Request::put(format!("groups/{id}")), &body, kind, &g.id)?
                }
                Err(e) => return Err(e),
            },
        };
        Ok((Self::target_id(&answer, kind, &g.id)?, adopted))
    }

    fn write_ticket(&self, t: &Ticket, existing: Option<String>) -> Result<String, AdapterError> {
        let kind = Kind::Ticket;
        let marker = self.ensure_marker_field("ticket")?;
        let mut custom = self.custom_json("ticket", &t.custom_fields, kind, &t.id)?;
        custom.insert(marker.name.clone(), json!(t.id));
        let id_of = |r: &Option<Ref<User>>| {
            r.as_ref()
                .filter(|r| !r.id().is_empty())
                .and_then(|r| r.id().parse::<u64>().ok())
        };
        let requester = match id_of(&t.requester) {
            Some(id) => id,
            None => self
                .api
                .get("agents/me", &[])?
                .get("id")
                .and_then(Value::as_u64)
                .ok_or_else(|| AdapterError::fatal(NAME, "agents/me has no id"))?,
        };
        let description = format!(
            "{ORIGIN_OPEN}Migrated by Switchover: originally created at {} · source id <code>{}</code></p><p>The conversation follows as notes.</p>",
            time_text(&t.created_at),
            escape(&t.id)
        );
        let mut body = json!({
            "subject": if t.subject.is_empty() { "(no subject)" } else { t.subject.as_str() },
            "description": description,
            "status": crate::read::status_code(t.status),
            "priority": crate::read::priority_code(t.priority),
            "source": match t.channel.as_deref() {
                Some("email") => 1,
                Some("phone") => 3,
                Some("chat") => 7,
                _ => 2,
            },
            "requester_id": requester,
            "tags": t.tags,
            "custom_fields": custom,
        });
        if let Some(agent) = id_of(&t.assignee) {
            body["responder_id"] = json!(agent);
        }
        if let Some(group) = t
            .group
            .as_ref()
            .filter(|g| !g.id().is_empty())
            .and_then(|g| g.id().parse::<u64>().ok())
        {
            body["group_id"] = json!(group);
        }
        // Explicitly none: otherwise Freshdesk files the ticket under the requester's company.
        body["company_id"] = json!(
            t.organization
                .as_ref()
                .filter(|o| !o.id().is_empty())
                .and_then(|o| o.id().parse::<u64>().ok())
        );
        if let Some(kind_name) = match t.ticket_type {
            Some(TicketType::Question) => Some("Question"),
            Some(TicketType::Incident) => Some("Incident"),
            Some(TicketType::Problem) => Some("Problem"),
            _ => None,
        } {
            body["type"] = json!(kind_name);
        }
        let answer = match existing {
            Some(id) => {
                self.api
                    .write_json(Request::put(format!("tickets/{id}")), &body, kind, &t.id)?
            }
            None => self
                .api
                .write_json(Request::post("tickets"), &body, kind, &t.id)?,
        };
        Self::target_id(&answer, kind, &t.id)
    }

    fn write_note(
        &self,
        c: &Comment,
        existing: Option<String>,
        content: &dyn ContentSource,
    ) -> Result<String, AdapterError> {
        let kind = Kind::Comment;
        let ticket = c.ticket.id();
        if ticket.is_empty() {
            return Err(invalid(
                kind,
                &c.id,
                "ticket",
                "the ticket is not on the target",
            ));
        }
        let author = c.author.as_ref().map(|a| a.id()).filter(|a| !a.is_empty());
        let author_id = author.and_then(|a| a.parse::<u64>().ok());
        let incoming = match author_id {
            Some(id) => !self.agent_ids()?.contains(&id),
            None => false,
        };
        let who = match author {
            Some(a) => format!("user {}", escape(a)),
            None => "an unknown author".into(),
        };
        let body_html = match &c.body_html {
            Some(html) if !html.is_empty() => html.clone(),
            _ => format!("<p>{}</p>", escape(&c.body_text).replace('\n', "<br>")),
        };
        let html = format!(
            "{ORIGIN_OPEN}Originally written by {who} at {} · source id <code>{}</code></p>{body_html}",
            time_text(&c.created_at),
            escape(&c.id)
        );
        if let Some(id) = existing {
            let html = if switchover_adapter::bodies::has_inline(&html) {
                let urls = self.note_attachment_urls(ticket, &id)?;
                switchover_adapter::bodies::resolve_inline(&html, &urls)
            } else {
                html
            };
            self.api.write_json(
                Request::put(format!("conversations/{id}")),
                &json!({"body": html}),
                kind,
                &c.id,
            )?;
            return Ok(id);
        }
        let total: u64 = c.attachments.iter().map(|a| a.size).sum();
        if total > 20 * 1024 * 1024 {
            return Err(invalid(
                kind,
                &c.id,
                "attachments",
                format!("{total} bytes of attachments; Freshdesk accepts at most 20 MB per note"),
            ));
        }
        let path = format!("tickets/{ticket}/notes");
        if c.attachments.is_empty() {
            let mut body = json!({"body": html, "private": !c.public, "incoming": incoming});
            if let Some(id) = author_id {
                body["user_id"] = json!(id);
            }
            let answer = self
                .api
                .write_json(Request::post(path), &body, kind, &c.id)?;
            return Self::target_id(&answer, kind, &c.id);
        }
        let mut files = Vec::new();
        for a in &c.attachments {
            let mut bytes = Vec::new();
            content.open(a)?.read_to_end(&mut bytes).map_err(|e| {
                AdapterError::transient(
                    NAME,
                    format!(
                        "reading attachment '{}' of comment '{}': {e}",
                        a.file_name, c.id
                    ),
                )
            })?;
            files.push((a.file_name.clone(), a.content_type.clone(), bytes));
        }
        let files = Arc::new(files);
        let sent_html = html.clone();
        let private = (!c.public).to_string();
        let user = author_id.map(|a| a.to_string());
        let request = Request::post(path).multipart(move || {
            let mut form = Form::new()
                .text("body", html.clone())
                .text("private", private.clone())
                .text("incoming", incoming.to_string());
            if let Some(user) = &user {
                form = form.text("user_id", user.clone());
            }
            for (name, content_type, bytes) in files.iter() {
                let part = Part::bytes(bytes.clone()).file_name(name.clone());
                let part = match part.mime_str(content_type) {
                    Ok(p) => p,
                    Err(_) => Part::bytes(bytes.clone())
                        .file_name(name.clone())
                        .mime_str("application/octet-stream")
                        .map_err(std::io::Error::other)?,
                };
                form = form.part("attachments[]", part);
            }
            Ok(form)
        });
        let answer = self.api.write(request, kind, &c.id)?;
        let note = Self::target_id(&answer, kind, &c.id)?;
        let urls = crate::bodies::attachment_urls(&answer);
        self.resolve_note_images(&note, &sent_html, &urls, &c.id)?;
        Ok(note)
    }

    /// Freshdesk is one of the few targets that takes historical ratings; they cannot be
    /// edited or deleted, so a rating written before is left as it is.
    fn write_rating(
        &self,
        r: &SatisfactionRating,
        existing: Option<String>,
    ) -> Result<String, AdapterError> {
        let kind = Kind::SatisfactionRating;
        if let Some(id) = existing {
            return Ok(id);
        }
        let ticket = r.ticket.id();
        if ticket.is_empty() {
            return Err(invalid(
                kind,
                &r.id,
                "ticket",
                "the ticket is not on the target",
            ));
        }
        let score = match &r.score {
            Score::Good => 103,
            Score::Bad => -103,
            Score::Scale { value, max } if *max == 103 => *value,
            // Other scales: the nearest of Freshdesk's seven points, by position on the scale.
            Score::Scale { value, max } => {
                let points = [-103, -102, -101, 100, 101, 102, 103];
                let share = if *max > 1 {
                    (*value - 1).clamp(0, *max - 1) as f64 / (*max - 1) as f64
                } else {
                    1.0
                };
                points[(share * 6.0).round() as usize]
            }
        };
        let marker = DESC_MARKER.tag(&r.id);
        let feedback = match r.comment.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => format!("{c}\n{marker}"),
            None => marker,
        };
        let answer = self.api.write_json(
            Request::post(format!("tickets/{ticket}/satisfaction_ratings")),
            &json!({"ratings": {"default_question": score}, "feedback": feedback}),
            kind,
            &r.id,
        )?;
        Self::target_id(&answer, kind, &r.id)
    }

    pub(crate) fn delete_records(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        let mut results = Vec::new();
        for id in target_ids {
            let result = match kind {
                Kind::FieldDefinition => self.delete_field(id),
                Kind::Organization => self.api.delete(&format!("companies/{id}"), kind, id),
                Kind::Group => self.api.delete(&format!("groups/{id}"), kind, id),
                Kind::Ticket => self.api.delete(&format!("tickets/{id}"), kind, id),
                Kind::Comment => self.api.delete(&format!("conversations/{id}"), kind, id),
                Kind::User => self.delete_user(id),
                Kind::Rule | Kind::Macro | Kind::Webhook => self.delete_rule_kind(kind, id),
                Kind::SlaPolicy => Err(invalid(
                    kind,
                    id,
                    "id",
                    "Freshdesk cannot delete SLA policies (DELETE answers 405): the migrated policy stays, switched off, for a person to remove",
                )),
                other => Err(AdapterError::unsupported(NAME, other, "delete")),
            };
            if let Err(e) = &result
                && (e.stops_run() || e.is_retryable())
            {
                let mut cache = self.cache.lock();
                cache.stale.insert(kind);
                if kind == Kind::Comment {
                    cache.notes_read.clear();
                }
                return Err(e.clone());
            }
            if result.is_ok()
                && let Some(markers) = self.cache.lock().markers.get_mut(&kind)
            {
                markers.retain(|_, target| target != id);
            }
            results.push(result);
        }
        if kind == Kind::FieldDefinition {
            self.refresh_fields();
        }
        Ok(results)
    }

    fn delete_field(&self, id: &str) -> Result<(), AdapterError> {
        let kind = Kind::FieldDefinition;
        let Some(field) = self.fields()?.into_iter().find(|f| f.id.to_string() == id) else {
            return Ok(());
        };
        let (rest, _) = DESC_MARKER.split_opt(Some(&field.description));
        match rest {
            // Created by the migration: only the marker in its description.
            None => self
                .api
                .delete(&format!("admin/{}_fields/{id}", field.object), kind, id),
            // Matched: keep the field, drop the marker.
            Some(rest) => self
                .api
                .write_json(
                    Request::put(format!("admin/{}_fields/{id}", field.object)),
                    &json!({"description": rest}),
                    kind,
                    id,
                )
                .map(|_| ()),
        }
    }

    fn delete_user(&self, id: &str) -> Result<(), AdapterError> {
        let kind = Kind::User;
        let is_agent = id
            .parse::<u64>()
            .ok()
            .is_some_and(|n| self.agent_ids().is_ok_and(|a| a.contains(&n)));
        if is_agent {
            // Agents are never deleted (that frees a seat and demotes them): drop the marker.
            let agent = self.api.get(&format!("agents/{id}"), &[])?;
            let (rest, found) =
                SIGNATURE_MARKER.split_opt(agent.get("signature").and_then(Value::as_str));
            if found.is_some() {
                self.api.write_json(
                    Request::put(format!("agents/{id}")),
                    &json!({"signature": rest}),
                    kind,
                    id,
                )?;
            }
            return Ok(());
        }
        self.api
            .delete(&format!("contacts/{id}/hard_delete?force=true"), kind, id)
    }
}
