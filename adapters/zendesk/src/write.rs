//! Writing: bulk upserts with job statuses, the Ticket Import API, comments with uploads,
//! integrations with title markers; finding by source marker; deleting for rollback.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use switchover_adapter::{
    AdapterError, Adopted, ContentSource, Preflight, WriteOutcome, WriteRequest,
};
use switchover_http::{HttpError, Request};
use switchover_model::*;

use crate::convert::*;
use crate::read::comment_record;
use crate::{NAME, Zendesk, rules, wire};

mod articles;
mod memberships;

/// Longest wait for one bulk job to complete.
const JOB_TIMEOUT: Duration = Duration::from_secs(600);

/// What `record` (as Zendesk lists it) had of the fields `body` is about to set; a
/// source marker another run left is cleared, so giving it back unmarks it.
fn before_values(record: &Value, body: &Value) -> Value {
    let mut before = Map::new();
    if let Value::Object(fields) = body {
        for key in fields.keys().filter(|k| k.as_str() != "id") {
            before.insert(key.clone(), record.get(key).cloned().unwrap_or(Value::Null));
        }
    }
    before.insert("external_id".into(), Value::Null);
    if let Some(previous) = record.get("external_id").filter(|e| !e.is_null())
        && body.get("external_id") != Some(previous)
    {
        before.insert("external_id".into(), previous.clone());
    }
    Value::Object(before)
}

fn outcome(source_id: &str, result: Result<String, AdapterError>) -> WriteOutcome {
    WriteOutcome {
        source_id: source_id.to_string(),
        result,
        children: Vec::new(),
        adopted: None,
    }
}

fn numeric(id: &str) -> Value {
    id.parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(id))
}

fn object_of<T: serde::de::DeserializeOwned>(
    response: &switchover_http::Response,
    key: &str,
) -> Result<T, HttpError> {
    let body: Value = response.json()?;
    serde_json::from_value(body.get(key).cloned().unwrap_or(Value::Null)).map_err(|e| {
        HttpError::Malformed {
            method: String::new(),
            path: response.path().to_string(),
            status: response.status(),
            message: format!("no '{key}' object: {e}"),
        }
    })
}

/// A new ticket ready for the Ticket Import API.
struct Import<'a> {
    /// Its place in the batch.
    index: usize,
    /// The ticket.
    ticket: &'a Ticket,
    /// The import body, comments included.
    body: Value,
    /// The comments in the body, in order.
    sent: Vec<&'a WriteRequest>,
    /// Comments left out because Zendesk refused their attachments.
    refused: Vec<WriteOutcome>,
}

/// Rejection details read from a Zendesk error body.
fn rejected(e: &HttpError, kind: Kind, id: &str) -> AdapterError {
    let parsed = e
        .body()
        .and_then(|b| serde_json::from_str::<wire::ErrorBody>(b).ok())
        .and_then(|b| b.field_and_reason());
    match parsed {
        Some((field, reason)) => e.invalid_record(NAME, kind, id, field, reason),
        None => e.for_record(NAME, kind, id),
    }
}

impl Zendesk {
    pub(crate) fn preflight_checks(&self) -> Result<Preflight, AdapterError> {
        self.whoami()?;
        let mut preflight = Preflight::default();
        let mut url = Some("triggers/active.json?page[size]=100".to_string());
        while let Some(current) = url {
            let answer = match self.list_http(&current, "triggers") {
                Ok(answer) => answer,
                Err(e) if e.status() == Some(404) => break,
                Err(e) => return Err(e.into_adapter(NAME)),
            };
            for item in answer.items {
                let Ok(rule) = serde_json::from_value::<wire::Rule>(item) else {
                    continue;
                };
                let notifies = rule.actions.unwrap_or_default().iter().any(|a| {
                    a.field.starts_with("notification_") || a.field == "notification_user"
                });
                if notifies && rule.active != Some(false) {
                    preflight.notifications(format!(
                        "active trigger '{}' (id {}) sends notifications: tickets are imported with their comments without running triggers, but comments added to tickets already on Zendesk (delta runs) and updates of migrated tickets run them; deactivate it or exclude migrated tickets before writing",
                        rule.title.unwrap_or_default(),
                        id_of(&rule.id)
                    ));
                }
            }
            url = answer.next;
        }
        Ok(preflight)
    }

    /// Sends a create that is not idempotent. When it fails so that it is unknown whether
    /// Zendesk processed it (a 5xx or a broken connection after sending), the record is
    /// looked up by its source marker before the create is sent again, so a retry never
    /// writes twice. Rejections come back as `Ok(Err(..))`.
    fn reconciled(
        &self,
        attempt: impl Fn() -> Result<String, HttpError>,
        find: impl Fn() -> Result<Option<String>, AdapterError>,
    ) -> Result<Result<String, HttpError>, AdapterError> {
        let mut last = None;
        for _ in 0..4 {
            match attempt() {
                Ok(id) => return Ok(Ok(id)),
                Err(e) => {
                    let failure = e.into_adapter(NAME);
                    if !failure.is_retryable() {
                        return Ok(Err(e));
                    }
                    if let Some(id) = find()? {
                        return Ok(Ok(id));
                    }
                    last = Some(failure);
                }
            }
        }
        Err(last.unwrap_or_else(|| AdapterError::fatal(NAME, "no attempt was made")))
    }

    ///
    /// `lookup`: look for earlier copies of new records by source marker first; `false`
    /// only for a batch the engine proves was never sent ([`switchover_adapter::Target::write_new_batch`]).
    pub(crate) fn write_kind(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
        lookup: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        match kind {
            Kind::Organization | Kind::User => self.upsert_many(kind, batch),
            Kind::Ticket => self.write_tickets(batch, content, lookup),
            Kind::Comment => self.write_comments(batch, content),
            _ => self.write_marked(kind, batch, lookup),
        }
    }

    fn custom_by_key(&self, fields: &CustomFields) -> Result<Map<String, Value>, AdapterError> {
        let mut out = Map::new();
        if fields.is_empty() {
            return Ok(out);
        }
        let known = self.fields()?;
        for (field, value) in fields {
            if let Some(info) = known.get(field.id()) {
                out.insert(info.key.clone(), value_to(value));
            }
        }
        Ok(out)
    }

    fn upsert_body(&self, request: &WriteRequest) -> Result<Value, AdapterError> {
        let mut body = match &request.record {
            Record::Organization(o) => json!({
                "external_id": o.id,
                "name": o.name,
                "domain_names": o.domains,
                "details": o.details,
                "notes": o.notes,
                "tags": o.tags,
                "organization_fields": self.custom_by_key(&o.custom_fields)?,
            }),
            Record::User(u) => {
                let mut tags: Vec<String> = u.tags.iter().cloned().collect();
                if u.state == UserState::Deleted {
                    tags.push(DELETED_TAG.into());
                }
                json!({
                    "external_id": u.id,
                    "name": u.name,
                    "email": u.email,
                    "phone": u.phone,
                    "role": role_to(u.role),
                    "verified": true,
                    "suspended": u.state != UserState::Active,
                    "organization_id": ref_json(&u.organization),
                    "locale": u.locale,
                    "time_zone": u.time_zone,
                    "tags": tags,
                    "user_fields": self.custom_by_key(&u.custom_fields)?,
                })
            }
            other => {
                return Err(AdapterError::fatal(
                    NAME,
                    format!(
                        "a {} record was given to the {} writer",
                        other.kind(),
                        Kind::User
                    ),
                ));
            }
        };
        if let (Some(existing), Value::Object(map)) = (&request.existing, &mut body) {
            map.insert("id".into(), numeric(existing));
        }
        Ok(body)
    }

    /// `create_or_update_many` keyed by external_id, then the job status until done.
    fn upsert_many(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let (path, key) = match kind {
            Kind::Organization => ("organizations/create_or_update_many.json", "organizations"),
            _ => ("users/create_or_update_many.json", "users"),
        };
        let mut items = Vec::new();
        let mut outcomes: Vec<Option<WriteOutcome>> = Vec::new();
        let mut positions = Vec::new();
        // Users the target already has (same e-mail) are updated by the upsert: keep what
        // they had first, so that the write reports them adopted and a rollback can give
        // them back.
        let mut before: HashMap<usize, Adopted> = HashMap::new();
        // Zendesk's upsert matches users by e-mail and organizations by name: the one
        // the target has is adopted, unless another record's marker is on it. The
        // target is asked for several of them at once.
        let matches =
            switchover_adapter::parallel::map_ordered(batch, self.read_width, |request| {
                match (&request.existing, &request.record) {
                    (None, Record::User(user)) => self.user_to_adopt(user),
                    (None, Record::Organization(org)) => self.organization_to_adopt(org),
                    _ => Ok(None),
                }
            });
        for ((i, request), found) in batch.iter().enumerate().zip(matches) {
            match self.upsert_body(request) {
                Ok(body) => {
                    if request.existing.is_none() {
                        match found {
                            Ok(Some(had)) => {
                                before.insert(
                                    i,
                                    Adopted {
                                        before: before_values(&had, &body),
                                    },
                                );
                            }
                            Ok(None) => {}
                            Err(e) if e.kind() == switchover_adapter::ErrorKind::InvalidRecord => {
                                outcomes.push(Some(outcome(request.record.id(), Err(e))));
                                continue;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                    items.push(body);
                    positions.push(i);
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(outcome(request.record.id(), Err(e)))),
            }
        }
        if !items.is_empty() {
            let request = Request::post(path)
                .json(&json!({ key: items }))
                .map_err(|e| e.into_adapter(NAME))?
                .idempotent(true);
            let response = self.http.send(request).map_err(|e| e.into_adapter(NAME))?;
            let job: wire::JobStatus =
                object_of(&response, "job_status").map_err(|e| e.into_adapter(NAME))?;
            let job = self.wait_for_job(job)?;
            let mut by_index = job.results_by_index();
            let mut missing = Vec::new();
            for (n, i) in positions.iter().enumerate() {
                let source_id = batch[*i].record.id();
                match by_index.remove(&n) {
                    Some(r) if r.succeeded_id().is_some() => {
                        let mut written = outcome(source_id, Ok(id_of(&r.id)));
                        written.adopted = before.remove(i);
                        outcomes[*i] = Some(written);
                    }
                    Some(r) => {
                        let reason = r
                            .failure_reason()
                            .unwrap_or_else(|| "the job reported a failure".into());
                        outcomes[*i] = Some(outcome(
                            source_id,
                            Err(AdapterError::invalid(
                                NAME,
                                kind,
                                source_id,
                                "(job result)",
                                reason,
                            )),
                        ));
                    }
                    None => missing.push(*i),
                }
            }
            if !missing.is_empty() {
                // Results without an index: find the records by their markers.
                let ids: Vec<String> = missing
                    .iter()
                    .map(|i| batch[*i].record.id().to_string())
                    .collect();
                let found = self.find_markers(kind, &ids)?;
                for i in missing {
                    let source_id = batch[i].record.id();
                    let result = found.get(source_id).cloned().ok_or_else(|| {
                        AdapterError::invalid(
                            NAME,
                            kind,
                            source_id,
                            "(job result)",
                            "the job completed without creating or updating it",
                        )
                    });
                    outcomes[i] = Some(outcome(source_id, result));
                }
            }
        }
        if kind == Kind::Organization {
            for (slot, request) in outcomes.iter_mut().zip(batch) {
                let refused_name = matches!(
                    slot,
                    Some(WriteOutcome { result: Err(AdapterError::InvalidRecord { reason, .. }), .. })
                        if reason.contains("DuplicateValue") || reason.contains("name")
                );
                if refused_name && let Some((id, had)) = self.adopt_organization(request)? {
                    *slot = Some(WriteOutcome::adopted(request.record.id(), id, had));
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .zip(batch)
            .map(|(o, r)| {
                o.unwrap_or_else(|| {
                    outcome(r.record.id(), Err(AdapterError::fatal(NAME, "no outcome")))
                })
            })
            .collect())
    }

    /// An organization refused because its name is taken: the target's organization of
    /// that name, if it carries no other source marker, is adopted (marked and updated).
    fn adopt_organization(
        &self,
        request: &WriteRequest,
    ) -> Result<Option<(String, Adopted)>, AdapterError> {
        let Record::Organization(org) = &request.record else {
            return Ok(None);
        };
        let query = format!("type:organization name:\"{}\"", org.name.replace('"', ""));
        let page: wire::ListPage = self
            .http
            .send(Request::get("search.json").query("query", query))
            .and_then(|r| r.json())
            .map_err(|e| e.into_adapter(NAME))?;
        let found = page
            .rest
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| {
                serde_json::from_value::<wire::Organization>(v.clone())
                    .ok()
                    .map(|o| (o, v))
            })
            .find(|(o, _)| {
                o.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&org.name))
                    && o.external_id
                        .as_deref()
                        .is_none_or(|e| e.is_empty() || e == org.id)
            });
        let Some((target, raw)) = found.and_then(|(o, raw)| o.id.map(|id| (id, raw))) else {
            return Ok(None);
        };
        let upsert = self.upsert_body(request)?;
        let had = Adopted {
            before: before_values(raw, &upsert),
        };
        let body = json!({"organization": upsert});
        let sent = Request::put(format!("organizations/{target}.json"))
            .json(&body)
            .map_err(|e| e.into_adapter(NAME))?;
        match self.http.send(sent) {
            Ok(_) => Ok(Some((target.0, had))),
            Err(e) if e.is_rejection() => Ok(None),
            Err(e) => Err(e.into_adapter(NAME)),
        }
    }

    /// The organization of the target that `org` would adopt (same name), or the
    /// refusal when another record's marker is on it. The write and the dry run's
    /// prediction both ask this.
    pub(crate) fn organization_to_adopt(
        &self,
        org: &Organization,
    ) -> Result<Option<Value>, AdapterError> {
        let Some(had) = self.organization_named(&org.name)? else {
            return Ok(None);
        };
        let marker = had.get("external_id").and_then(Value::as_str);
        if let Some(other) = marker.filter(|m| !m.is_empty() && *m != org.id) {
            return Err(AdapterError::invalid(
                NAME,
                Kind::Organization,
                org.id.clone(),
                "name",
                format!(
                    "the target's organization '{}' already carries the source marker '{other}' of another record (names are unique in Zendesk); rename one of them",
                    org.name
                ),
            ));
        }
        Ok(Some(had))
    }

    /// The target's organization of this name (names are unique), as Zendesk lists it.
    fn organization_named(&self, name: &str) -> Result<Option<Value>, AdapterError> {
        let query = format!("type:organization name:\"{}\"", name.replace('"', ""));
        let page: wire::ListPage = self
            .http
            .send(Request::get("search.json").query("query", query))
            .and_then(|r| r.json())
            .map_err(|e| e.into_adapter(NAME))?;
        Ok(page
            .rest
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| {
                o.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .cloned())
    }

    /// The target's user that `user` would adopt (same e-mail: Zendesk's upsert matches
    /// on it), or the refusal when its `external_id` holds another value: another
    /// record's marker, or the account's own (single sign-on) id, which the upsert
    /// would overwrite. The write and the dry run's prediction both ask this.
    pub(crate) fn user_to_adopt(&self, user: &User) -> Result<Option<Value>, AdapterError> {
        let Some(had) = self.user_with_email(user)? else {
            return Ok(None);
        };
        let marker = had.get("external_id").and_then(Value::as_str);
        if let Some(other) = marker.filter(|m| !m.is_empty() && *m != user.id) {
            return Err(AdapterError::invalid(
                NAME,
                Kind::User,
                user.id.clone(),
                "email",
                format!(
                    "the target's user with this e-mail already has the external_id '{other}' (another record's source marker, or the account's own single sign-on id), which adopting it would overwrite; map the user to a target user in the plan's [map.users], or clear that external_id"
                ),
            ));
        }
        Ok(Some(had))
    }

    /// The target's user with the e-mail of a user about to be upserted, as Zendesk
    /// lists it; `None` when there is none (the upsert will create one).
    fn user_with_email(&self, user: &User) -> Result<Option<Value>, AdapterError> {
        let Some(email) = user.email.as_deref().filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        let page: Value = self
            .http
            .send(Request::get("users/search.json").query("query", format!("email:{email}")))
            .and_then(|r| r.json())
            .map_err(|e| e.into_adapter(NAME))?;
        Ok(page
            .get("users")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|u| {
                u.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
            .cloned())
    }

    /// Gives back an adopted user or organization: its earlier values, marker cleared.
    /// Switches a migrated trigger, automation or webhook on or off (cutover).
    pub(crate) fn set_active(
        &self,
        kind: Kind,
        id: &str,
        record: &Record,
        active: bool,
    ) -> Result<(), AdapterError> {
        let (path, key) = Self::endpoint(kind, record);
        let sent = match kind {
            // PATCH changes only what it names; PUT would need the whole webhook.
            Kind::Webhook => Request::patch(format!("{path}/{id}"))
                .json(&json!({ key: {"status": if active { "active" } else { "inactive" }} })),
            Kind::Rule => {
                Request::put(format!("{path}/{id}.json")).json(&json!({ key: {"active": active} }))
            }
            other => return Err(AdapterError::unsupported(NAME, other, "switch on or off")),
        }
        .map_err(|e| e.into_adapter(NAME))?;
        self.http
            .send(sent)
            .map(|_| ())
            .map_err(|e| rejected(&e, kind, record.id()))
    }

    pub(crate) fn release(&self, kind: Kind, id: &str, had: &Adopted) -> Result<(), AdapterError> {
        let (path, key) = match kind {
            Kind::User => (format!("users/{id}.json"), "user"),
            Kind::Organization => (format!("organizations/{id}.json"), "organization"),
            // A pair the agent already had carries no marker: nothing to give back. (A
            // default moved to it stays: Zendesk cannot unset an agent's default group.)
            Kind::GroupMembership => return Ok(()),
            // Records written by their marked body: the values kept at adoption.
            _ if had.before.get("path").is_some() => {
                let path = had.before["path"].as_str().unwrap_or_default().to_string();
                let key = had.before["key"].as_str().unwrap_or_default().to_string();
                let sent = Request::put(path)
                    .json(&json!({ key: had.before["values"] }))
                    .map_err(|e| e.into_adapter(NAME))?;
                self.http.send(sent).map_err(|e| e.into_adapter(NAME))?;
                self.forget_fields();
                return Ok(());
            }
            other => return Err(AdapterError::unsupported(NAME, other, "give back")),
        };
        let sent = Request::put(path)
            .json(&json!({ key: had.before }))
            .map_err(|e| e.into_adapter(NAME))?;
        self.http.send(sent).map_err(|e| e.into_adapter(NAME))?;
        Ok(())
    }

    fn wait_for_job(&self, mut job: wire::JobStatus) -> Result<wire::JobStatus, AdapterError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match job.status.as_deref() {
                Some("completed") => return Ok(job),
                Some("failed") | Some("killed") => {
                    return Err(AdapterError::transient(
                        NAME,
                        format!(
                            "job {} ended {}: {}",
                            id_of(&job.id),
                            job.status.unwrap_or_default(),
                            job.message.unwrap_or_default()
                        ),
                    ));
                }
                _ => {}
            }
            if started.elapsed() > JOB_TIMEOUT {
                return Err(AdapterError::transient(
                    NAME,
                    format!("job {} did not complete in {JOB_TIMEOUT:?}", id_of(&job.id)),
                ));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(3));
            let response = self
                .http
                .send(Request::get(format!(
                    "job_statuses/{}.json",
                    id_of(&job.id)
                )))
                .map_err(|e| e.into_adapter(NAME))?;
            job = object_of(&response, "job_status").map_err(|e| e.into_adapter(NAME))?;
        }
    }

    /// A ticket as Zendesk takes it; an import also carries its timestamps and comments.
    fn ticket_body(t: &Ticket, comments: Option<&[Value]>) -> Value {
        let custom_fields: Vec<Value> = t
            .custom_fields
            .iter()
            .map(|(field, value)| json!({"id": numeric(field.id()), "value": value_to(value)}))
            .collect();
        let problem = t
            .links
            .iter()
            .find(|l| l.kind == LinkKind::IncidentOf && !l.ticket.id().is_empty())
            .map(|l| numeric(l.ticket.id()))
            .unwrap_or(Value::Null);
        let mut body = json!({
            "external_id": t.id,
            "subject": t.subject,
            "status": status_to(t.status),
            "priority": priority_to(t.priority),
            "type": type_to(t.ticket_type),
            "tags": t.tags,
            "requester_id": ref_json(&t.requester),
            "submitter_id": ref_json(&t.submitter),
            "assignee_id": ref_json(&t.assignee),
            "group_id": ref_json(&t.group),
            "organization_id": ref_json(&t.organization),
            "custom_fields": custom_fields,
            "problem_id": problem,
        });
        if let (Some(comments), Value::Object(map)) = (comments, &mut body) {
            map.insert("created_at".into(), json!(t.created_at));
            map.insert("updated_at".into(), json!(t.updated_at));
            map.insert("solved_at".into(), json!(t.solved_at));
            map.insert("comments".into(), Value::Array(comments.to_vec()));
        }
        body
    }

    /// One comment as a ticket import carries it: author, body, visibility, original
    /// time, and upload tokens for its attachments (uploaded here).
    fn import_comment(
        &self,
        comment: &Comment,
        content: &dyn ContentSource,
    ) -> Result<Value, AdapterError> {
        let (token, urls) = self.upload(comment, content)?;
        let mut body = json!({
            "author_id": ref_json(&comment.author),
            "public": comment.public,
            "created_at": comment.created_at,
            "uploads": token.into_iter().collect::<Vec<_>>(),
        });
        if let Value::Object(map) = &mut body {
            match &comment.body_html {
                Some(html) if !html.is_empty() => map.insert(
                    "html_body".into(),
                    switchover_adapter::bodies::resolve_inline(html, &urls).into(),
                ),
                _ => map.insert("body".into(), comment.body_text.clone().into()),
            };
        }
        Ok(body)
    }

    /// Writes tickets: new ones through the Ticket Import API with their comments inside
    /// (original authors and times, no triggers), known ones as updates.
    fn write_tickets(
        &self,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
        lookup: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let found = self.earlier_copies(Kind::Ticket, batch, lookup)?;
        let mut results: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
        let mut new: Vec<Import> = Vec::new();
        // New tickets are prepared (their attachments uploaded) several at once.
        let mut to_prepare: Vec<(usize, &Ticket, &[WriteRequest])> = Vec::new();
        for (i, request) in batch.iter().enumerate() {
            let Record::Ticket(ticket) = &request.record else {
                return Err(AdapterError::fatal(
                    NAME,
                    "a non-ticket record in a ticket batch",
                ));
            };
            if request.existing.is_none()
                && let Some(target_id) = found.get(&ticket.id)
            {
                // Imported by an earlier attempt whose answer was lost: keep it, and
                // report the comments it carried.
                let mut done = outcome(&ticket.id, Ok(target_id.clone()));
                done.children = self.embedded_outcomes(target_id, &request.children)?;
                results[i] = Some(done);
                continue;
            }
            let Some(target_id) = request.existing.clone() else {
                to_prepare.push((i, ticket, &request.children));
                continue;
            };
            let body = json!({"ticket": Self::ticket_body(ticket, None)});
            let sent = Request::put(format!("tickets/{target_id}.json"))
                .json(&body)
                .map_err(|e| e.into_adapter(NAME))?;
            let result = match self.http.send(sent) {
                Ok(_) => Ok(target_id),
                // Closed tickets cannot change; what is there stays.
                Err(e)
                    if e.status() == Some(422)
                        && e.body().is_some_and(|b| b.contains("closed")) =>
                {
                    Ok(target_id)
                }
                Err(e) => Err(rejected(&e, Kind::Ticket, &ticket.id)),
            };
            if let Err(e) = &result
                && e.stops_run()
            {
                return Err(e.clone());
            }
            results[i] = Some(outcome(&ticket.id, result));
        }
        let prepared = switchover_adapter::parallel::map_ordered(
            &to_prepare,
            self.read_width,
            |(i, ticket, children)| self.prepare_import(*i, ticket, children, content),
        );
        for import in prepared {
            new.push(import?);
        }
        let imported = if new.len() > 1 {
            self.import_many(&new)?
        } else {
            let mut one = Vec::new();
            for import in &new {
                one.push(self.import_one(import)?);
            }
            one
        };
        // The comments each imported ticket got are asked for several tickets at once.
        let done: Vec<(&Import, WriteOutcome)> = new
            .iter()
            .zip(imported)
            .map(|(import, result)| (import, outcome(&import.ticket.id, result)))
            .collect();
        let children =
            switchover_adapter::parallel::map_ordered(&done, self.read_width, |(import, done)| {
                match &done.result {
                    Ok(target_id) => {
                        let sent: Vec<WriteRequest> =
                            import.sent.iter().map(|&c| c.clone()).collect();
                        self.embedded_outcomes(target_id, &sent).map(Some)
                    }
                    Err(_) => Ok(None),
                }
            });
        for ((import, mut done), children) in done.into_iter().zip(children) {
            if let Some(mut children) = children? {
                children.extend(import.refused.iter().cloned());
                done.children = children;
            }
            results[import.index] = Some(done);
        }
        Ok(batch
            .iter()
            .zip(results)
            .map(|(r, done)| {
                done.unwrap_or_else(|| {
                    outcome(r.record.id(), Err(AdapterError::fatal(NAME, "no outcome")))
                })
            })
            .collect())
    }

    /// Uploads the attachments of a new ticket's comments and builds its import body.
    /// A comment whose upload is refused is left out with its refusal (the engine then
    /// reports it); anything that stops the run stops it.
    fn prepare_import<'a>(
        &self,
        index: usize,
        ticket: &'a Ticket,
        children: &'a [WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Import<'a>, AdapterError> {
        let mut comments = Vec::with_capacity(children.len());
        let mut sent = Vec::with_capacity(children.len());
        let mut refused = Vec::new();
        for child in children {
            let Record::Comment(comment) = &child.record else {
                continue;
            };
            match self.import_comment(comment, content) {
                Ok(body) => {
                    comments.push(body);
                    sent.push(child);
                }
                Err(e) if e.stops_run() || e.is_retryable() => return Err(e),
                Err(e) => refused.push(outcome(&comment.id, Err(e))),
            }
        }
        Ok(Import {
            index,
            ticket,
            body: Self::ticket_body(ticket, Some(&comments)),
            sent,
            refused,
        })
    }

    /// `POST /imports/tickets`: one ticket, its id or why it was refused.
    fn import_one(&self, import: &Import) -> Result<Result<String, AdapterError>, AdapterError> {
        let body = json!({"ticket": import.body});
        let id = &import.ticket.id;
        let attempt = || {
            let sent = Request::post("imports/tickets.json").json(&body)?;
            let response = self.http.send(sent)?;
            object_of::<wire::Ticket>(&response, "ticket").map(|t| id_of(&t.id))
        };
        let find = || {
            Ok(self
                .find_markers(Kind::Ticket, std::slice::from_ref(id))?
                .remove(id))
        };
        let result = self
            .reconciled(attempt, find)?
            .map_err(|e| rejected(&e, Kind::Ticket, id));
        match result {
            Err(e) if e.stops_run() || e.is_retryable() => Err(e),
            other => Ok(other),
        }
    }

    /// `POST /imports/tickets/create_many` (up to 100) and its job; a refused request
    /// falls back to one import per ticket so one bad ticket does not sink the batch.
    fn import_many(
        &self,
        imports: &[Import],
    ) -> Result<Vec<Result<String, AdapterError>>, AdapterError> {
        let bodies: Vec<&Value> = imports.iter().map(|i| &i.body).collect();
        let sent = Request::post("imports/tickets/create_many.json")
            .json(&json!({ "tickets": bodies }))
            .map_err(|e| e.into_adapter(NAME))?;
        let response = match self.http.send(sent) {
            Ok(response) => response,
            Err(e) if e.is_rejection() => {
                return imports.iter().map(|i| self.import_one(i)).collect();
            }
            Err(e) if e.into_adapter(NAME).is_retryable() => {
                // Unknown whether the batch was processed: keep what is there, import
                // the rest one by one.
                let ids: Vec<String> = imports.iter().map(|i| i.ticket.id.clone()).collect();
                let found = self.find_markers(Kind::Ticket, &ids)?;
                return imports
                    .iter()
                    .map(|i| match found.get(&i.ticket.id) {
                        Some(id) => Ok(Ok(id.clone())),
                        None => self.import_one(i),
                    })
                    .collect();
            }
            Err(e) => return Err(e.into_adapter(NAME)),
        };
        let job: wire::JobStatus =
            object_of(&response, "job_status").map_err(|e| e.into_adapter(NAME))?;
        let job = self.wait_for_job(job)?;
        let mut by_index = job.results_by_index();
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for (n, import) in imports.iter().enumerate() {
            let ticket = import.ticket;
            match by_index.remove(&n) {
                Some(r) if r.succeeded_id().is_some() => {
                    out.push(Ok(id_of(&r.id)));
                }
                Some(r) => out.push(Err(AdapterError::invalid(
                    NAME,
                    Kind::Ticket,
                    ticket.id.clone(),
                    "(job result)",
                    r.failure_reason()
                        .unwrap_or_else(|| "the import job reported a failure".into()),
                ))),
                None => {
                    missing.push(ticket.id.clone());
                    out.push(Err(AdapterError::fatal(NAME, "pending")));
                }
            }
        }
        if !missing.is_empty() {
            let found = self.find_markers(Kind::Ticket, &missing)?;
            for (import, result) in imports.iter().zip(out.iter_mut()) {
                let ticket = import.ticket;
                if missing.contains(&ticket.id) {
                    *result = found.get(&ticket.id).cloned().ok_or_else(|| {
                        AdapterError::invalid(
                            NAME,
                            Kind::Ticket,
                            ticket.id.clone(),
                            "(job result)",
                            "the import job completed without importing it",
                        )
                    });
                }
            }
        }
        Ok(out)
    }

    /// Outcomes of the comments imported inside the ticket `ticket_id`; comments not
    /// found on it get none (the engine settles them later).
    fn embedded_outcomes(
        &self,
        ticket_id: &str,
        children: &[WriteRequest],
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        if children.is_empty() {
            return Ok(Vec::new());
        }
        let found = self.embedded_comments(ticket_id, children)?;
        Ok(children
            .iter()
            .filter_map(|c| {
                found
                    .get(c.record.id())
                    .map(|target| outcome(c.record.id(), Ok(target.clone())))
            })
            .collect())
    }

    /// Target ids of comments imported inside the ticket `ticket_id`, by source id.
    /// Imported comments carry no marker (an import has no audit metadata), so each is
    /// matched, in the order sent, to the first unclaimed comment of the ticket with the
    /// same author, visibility and creation second; comments added later by ticket
    /// update are matched by their marker.
    pub(crate) fn embedded_comments(
        &self,
        ticket_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut on_ticket: Vec<(Option<String>, Comment)> = Vec::new();
        let mut url = Some(format!("tickets/{ticket_id}/comments.json?page[size]=100"));
        while let Some(current) = url {
            let answer = match self.list(&current, "comments") {
                Ok(answer) => answer,
                Err(e) if e.kind() == switchover_adapter::ErrorKind::NotFound => {
                    return Ok(BTreeMap::new());
                }
                Err(e) => return Err(e),
            };
            for item in answer.items {
                // Stop rather than guess: an unmatched comment would be written twice.
                let c: wire::Comment = serde_json::from_value(item).map_err(|e| {
                    AdapterError::fatal(
                        NAME,
                        format!(
                            "Zendesk answered a comment of ticket {ticket_id} in a shape this adapter does not know ({e}); report it with the response"
                        ),
                    )
                })?;
                if let (marker, Record::Comment(comment)) = comment_record(ticket_id, c) {
                    on_ticket.push((marker, comment));
                }
            }
            url = answer.next;
        }
        let mut claimed = vec![false; on_ticket.len()];
        let mut found = BTreeMap::new();
        for child in children {
            let Record::Comment(wanted) = &child.record else {
                continue;
            };
            let by_marker = on_ticket
                .iter()
                .position(|(marker, _)| marker.as_deref() == Some(wanted.id.as_str()));
            let same = |(n, (marker, c)): &(usize, &(Option<String>, Comment))| {
                !claimed[*n]
                    && marker.is_none()
                    && c.public == wanted.public
                    && c.author.as_ref().map(|a| a.id()) == wanted.author.as_ref().map(|a| a.id())
                    && match (&c.created_at, &wanted.created_at) {
                        (Some(have), Some(want)) => have.unix() == want.unix(),
                        _ => true,
                    }
            };
            let position =
                by_marker.or_else(|| on_ticket.iter().enumerate().find(same).map(|(n, _)| n));
            if let Some(n) = position {
                claimed[n] = true;
                found.insert(wanted.id.clone(), on_ticket[n].1.id.clone());
            }
        }
        Ok(found)
    }

    /// The comments on one target ticket, by source marker, and the ticket's status.
    fn ticket_state(
        &self,
        ticket_id: &str,
    ) -> Result<(String, HashMap<String, String>), AdapterError> {
        let response = self
            .http
            .send(Request::get(format!("tickets/{ticket_id}.json")))
            .map_err(|e| e.for_record(NAME, Kind::Ticket, ticket_id))?;
        let ticket: wire::Ticket =
            object_of(&response, "ticket").map_err(|e| e.into_adapter(NAME))?;
        let mut markers = HashMap::new();
        let mut url = Some(format!("tickets/{ticket_id}/comments.json?page[size]=100"));
        while let Some(current) = url {
            let answer = self.list(&current, "comments")?;
            for item in answer.items {
                let Ok(c) = serde_json::from_value::<wire::Comment>(item) else {
                    continue;
                };
                if let (Some(marker), Record::Comment(comment)) = comment_record(ticket_id, c) {
                    markers.insert(marker, comment.id);
                }
            }
            url = answer.next;
        }
        Ok((ticket.status.unwrap_or_else(|| "open".into()), markers))
    }

    /// Uploads a comment's attachments under one token; with the content URL each got,
    /// in order, for the inline images of the body.
    fn upload(
        &self,
        comment: &Comment,
        content: &dyn ContentSource,
    ) -> Result<(Option<String>, Vec<Option<String>>), AdapterError> {
        let mut token: Option<String> = None;
        let mut urls = Vec::with_capacity(comment.attachments.len());
        for attachment in &comment.attachments {
            let mut bytes = Vec::new();
            content
                .open(attachment)?
                .read_to_end(&mut bytes)
                .map_err(|e| {
                    AdapterError::transient(
                        NAME,
                        format!("reading attachment '{}' failed: {e}", attachment.file_name),
                    )
                })?;
            let content_type = if attachment.content_type.is_empty() {
                "application/octet-stream".to_string()
            } else {
                attachment.content_type.clone()
            };
            // A repeated upload only leaves an unused token, which expires in 3 days.
            let mut request = Request::post("uploads.json")
                .query("filename", &attachment.file_name)
                .bytes(bytes, content_type)
                .idempotent(true);
            if let Some(token) = &token {
                request = request.query("token", token);
            }
            let response = self
                .http
                .send(request)
                .map_err(|e| rejected(&e, Kind::Comment, &comment.id))?;
            let upload: wire::Upload =
                object_of(&response, "upload").map_err(|e| e.into_adapter(NAME))?;
            token = upload.token.or(token);
            urls.push(upload.attachment.and_then(|a| a.content_url));
        }
        Ok((token, urls))
    }

    fn write_comments(
        &self,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let mut states: HashMap<String, (String, HashMap<String, String>)> = HashMap::new();
        let mut out = Vec::new();
        for request in batch {
            let Record::Comment(comment) = &request.record else {
                return Err(AdapterError::fatal(
                    NAME,
                    "a non-comment record in a comment batch",
                ));
            };
            if let Some(existing) = &request.existing {
                // Comments cannot be edited; the one written stays.
                out.push(outcome(&comment.id, Ok(existing.clone())));
                continue;
            }
            let ticket_id = comment.ticket.id().to_string();
            if !states.contains_key(&ticket_id) {
                match self.ticket_state(&ticket_id) {
                    Ok(state) => {
                        states.insert(ticket_id.clone(), state);
                    }
                    Err(e) if e.stops_run() || e.is_retryable() => return Err(e),
                    Err(e) => {
                        out.push(outcome(&comment.id, Err(e)));
                        continue;
                    }
                }
            }
            let Some((status, markers)) = states.get(&ticket_id) else {
                continue;
            };
            if let Some(found) = markers.get(&comment.id) {
                out.push(outcome(&comment.id, Ok(found.clone())));
                continue;
            }
            let (token, urls) = match self.upload(comment, content) {
                Ok(uploaded) => uploaded,
                Err(e) if e.stops_run() || e.is_retryable() => return Err(e),
                Err(e) => {
                    out.push(outcome(&comment.id, Err(e)));
                    continue;
                }
            };
            let mut body = json!({
                "author_id": ref_json(&comment.author),
                "public": comment.public,
                "uploads": token.into_iter().collect::<Vec<_>>(),
            });
            if let Value::Object(map) = &mut body {
                match &comment.body_html {
                    Some(html) if !html.is_empty() => map.insert(
                        "html_body".into(),
                        switchover_adapter::bodies::resolve_inline(html, &urls).into(),
                    ),
                    _ => map.insert("body".into(), comment.body_text.clone().into()),
                };
            }
            let mut ticket = json!({
                "comment": body,
                // Zendesk keeps a ticket update's `metadata` as the audit's (and its
                // comment's) `metadata.custom`.
                "metadata": {"switchover_source_id": comment.id},
            });
            // A requester's reply reopens a waiting or solved ticket: keep its status.
            if matches!(status.as_str(), "pending" | "hold" | "solved")
                && let Value::Object(map) = &mut ticket
            {
                map.insert("status".into(), status.clone().into());
            }
            let payload = json!({ "ticket": ticket });
            let attempt = || {
                let sent = Request::put(format!("tickets/{ticket_id}.json"))
                    .json(&payload)?
                    // A blindly retried comment would be a second comment.
                    .idempotent(false);
                self.http.send(sent)
            };
            let mut sent = attempt();
            for _ in 0..3 {
                let Err(e) = &sent else { break };
                if !e.into_adapter(NAME).is_retryable() {
                    break;
                }
                // Written after all? Then it carries its marker.
                let (_, markers) = self.ticket_state(&ticket_id)?;
                if markers.contains_key(&comment.id) {
                    break;
                }
                sent = attempt();
            }
            let result = match sent {
                Err(e) if e.into_adapter(NAME).is_retryable() => {
                    let (_, markers) = self.ticket_state(&ticket_id)?;
                    match markers.get(&comment.id) {
                        Some(id) => Ok(id.clone()),
                        None => return Err(e.into_adapter(NAME)),
                    }
                }
                Ok(response) => {
                    let audit: Value = response
                        .json::<Value>()
                        .ok()
                        .and_then(|b| b.get("audit").cloned())
                        .unwrap_or(Value::Null);
                    let from_audit = audit
                        .get("events")
                        .and_then(Value::as_array)
                        .and_then(|events| {
                            events
                                .iter()
                                .find(|e| e.get("type").and_then(Value::as_str) == Some("Comment"))
                        })
                        .and_then(|e| e.get("id"))
                        .map(|id| match id {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                    match from_audit {
                        Some(id) => Ok(id),
                        None => {
                            let (_, markers) = self.ticket_state(&ticket_id)?;
                            markers.get(&comment.id).cloned().ok_or_else(|| AdapterError::invalid(NAME, Kind::Comment, comment.id.clone(), "metadata", "Zendesk accepted the comment but it cannot be found by its marker"))
                        }
                    }
                }
                Err(e) => {
                    let e = rejected(&e, Kind::Comment, &comment.id);
                    if e.stops_run() || e.is_retryable() {
                        return Err(e);
                    }
                    Err(e)
                }
            };
            out.push(outcome(&comment.id, result));
        }
        Ok(out)
    }

    /// Endpoint path and JSON key of a kind written with a marker.
    fn endpoint(kind: Kind, record: &Record) -> (&'static str, &'static str) {
        match (kind, record) {
            (Kind::Group, _) => ("groups", "group"),
            (Kind::FieldDefinition, Record::FieldDefinition(f)) => match f.object {
                FieldObject::Ticket => ("ticket_fields", "ticket_field"),
                FieldObject::User => ("user_fields", "user_field"),
                FieldObject::Organization => ("organization_fields", "organization_field"),
            },
            (Kind::Macro, _) => ("macros", "macro"),
            (Kind::Rule, Record::Rule(r)) if r.rule_kind == RuleKind::Automation => {
                ("automations", "automation")
            }
            (Kind::Rule, _) => ("triggers", "trigger"),
            (Kind::View, _) => ("views", "view"),
            (Kind::SlaPolicy, _) => ("slas/policies", "sla_policy"),
            (Kind::KbCategory, _) => ("help_center/categories", "category"),
            (Kind::KbSection, _) => ("help_center/sections", "section"),
            _ => ("webhooks", "webhook"),
        }
    }

    fn marked_body(record: &Record) -> Value {
        let marked = |text: &Option<String>, id: &str| {
            MARKER.append(text.as_deref().unwrap_or_default(), id)
        };
        match record {
            Record::SlaPolicy(p) => json!({
                "title": p.title,
                "description": marked(&p.description, &p.id),
                "position": p.position,
                "filter": rules::conditions_to(&p.filter, &Default::default(), &p.untranslated),
                "policy_metrics": p.targets.iter().map(|t| json!({
                    "priority": priority_to(t.priority),
                    "metric": t.metric,
                    "target": t.minutes,
                    "business_hours": t.business_hours,
                })).collect::<Vec<_>>(),
            }),
            Record::KbCategory(c) => json!({
                "name": c.name,
                "description": marked(&c.description, &c.id),
                "locale": c.locale,
                "position": c.position,
            }),
            Record::KbSection(c) => json!({
                "name": c.name,
                "description": marked(&c.description, &c.id),
                "locale": c.locale,
                "position": c.position,
                "parent_section_id": ref_json(&c.parent),
            }),
            Record::Group(g) => json!({
                "name": g.name,
                "description": MARKER.append(g.description.as_deref().unwrap_or_default(), &g.id),
            }),
            Record::FieldDefinition(f) => {
                let mut body = json!({
                    "type": field_type_to(f.field_type, f.object),
                    "title": f.title,
                    "description": MARKER.append("", &f.id),
                    "required": f.required,
                    "active": f.active,
                    "position": f.position,
                    "regexp_for_validation": f.pattern,
                });
                if let Value::Object(map) = &mut body {
                    if f.object != FieldObject::Ticket {
                        map.insert("key".into(), f.key.clone().into());
                    }
                    if !f.options.is_empty() {
                        map.insert(
                            "custom_field_options".into(),
                            f.options
                                .iter()
                                .map(|o| json!({"name": o.label, "value": o.value}))
                                .collect(),
                        );
                    }
                }
                body
            }
            Record::Macro(m) => json!({
                "title": MARKER.append(&m.title, &m.id),
                "description": m.description,
                "active": m.active,
                "actions": rules::actions_to(&m.actions, &m.untranslated),
            }),
            Record::Rule(r) => json!({
                "title": MARKER.append(&r.title, &r.id),
                // Created switched off, so that nothing fires during the migration;
                // `cutover --enable-rules` switches on those active in the source.
                "active": false,
                "conditions": rules::conditions_to(&r.conditions, &r.events, &r.untranslated),
                "actions": rules::actions_to(&r.actions, &r.untranslated),
            }),
            Record::View(v) => {
                let c = rules::conditions_to(&v.conditions, &Default::default(), &v.untranslated);
                json!({
                    "title": MARKER.append(&v.title, &v.id),
                    "active": v.active,
                    "all": c.all,
                    "any": c.any,
                    "output": {
                        "columns": v.columns,
                        "sort_by": v.sort_by,
                        "sort_order": if v.sort_ascending { "asc" } else { "desc" },
                    },
                })
            }
            Record::Webhook(w) => {
                let authentication = match &w.auth {
                    WebhookAuth::None => Value::Null,
                    WebhookAuth::Basic { username } => {
                        json!({"type": "basic_auth", "data": {"username": username}, "add_position": "header"})
                    }
                    WebhookAuth::BearerToken => {
                        json!({"type": "bearer_token", "data": {}, "add_position": "header"})
                    }
                    WebhookAuth::ApiKey { header } => {
                        json!({"type": "api_key", "data": {"name": header}, "add_position": "header"})
                    }
                };
                json!({
                    "name": w.name,
                    "description": MARKER.append("", &w.id),
                    "endpoint": w.endpoint,
                    "http_method": w.method,
                    "request_format": w.format,
                    // Switched off until cutover, like the rules that call it.
                    "status": "inactive",
                    "subscriptions": w.subscriptions,
                    "authentication": authentication,
                })
            }
            _ => Value::Null,
        }
    }

    /// Kinds without an external id: create or update one by one, marker in a title or
    /// description; custom fields adopt an existing field of the same key or title.
    fn write_marked(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        lookup: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let found = self.earlier_copies(kind, batch, lookup)?;
        let mut out = Vec::new();
        // Target ids of this batch's records, for nested sections whose parent is
        // written earlier in the same batch.
        let mut written: HashMap<String, String> = HashMap::new();
        for request in batch {
            let mut record = request.record.clone();
            if let Record::KbSection(section) = &mut record
                && let Some(parent) = &mut section.parent
            {
                if let Some(target) = written.get(parent.id()) {
                    *parent.id_mut() = target.clone();
                } else if parent.id().parse::<u64>().is_err() {
                    section.parent = None;
                }
            }
            let record = &record;
            let source_id = record.id().to_string();
            let (path, key) = Self::endpoint(kind, record);
            let create_path = match record {
                Record::KbSection(section) => {
                    format!("help_center/categories/{}/sections", section.category.id())
                }
                _ => path.to_string(),
            };
            let mut existing = request
                .existing
                .clone()
                .or_else(|| found.get(&source_id).cloned());
            if existing.is_none()
                && let Record::FieldDefinition(f) = record
            {
                existing = self.same_field(f)?;
            }
            let body = json!({ key: Self::marked_body(record) });
            let suffix = if kind == Kind::Webhook { "" } else { ".json" };
            // On the target, but not in the id map (a field of the same key, or found by
            // marker): adopted, with what it had, so a rollback gives it back.
            let adopted = match (&existing, &request.existing) {
                (Some(id), None) => Some(self.before_marked(path, key, id, suffix, &body[key])?),
                _ => None,
            };
            let result = match &existing {
                Some(id) => {
                    let sent = Request::put(format!("{path}/{id}{suffix}"))
                        .json(&body)
                        .map_err(|e| e.into_adapter(NAME))?;
                    self.http
                        .send(sent)
                        .map(|_| id.clone())
                        .map_err(|e| rejected(&e, kind, &source_id))
                }
                None => {
                    let attempt = || {
                        let sent = Request::post(format!("{create_path}{suffix}")).json(&body)?;
                        let response = self.http.send(sent)?;
                        object_of::<Value>(&response, key).map(|o| match o.get("id") {
                            Some(Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => String::new(),
                        })
                    };
                    let find = || {
                        Ok(self
                            .find_markers(kind, std::slice::from_ref(&source_id))?
                            .remove(&source_id))
                    };
                    self.reconciled(attempt, find)?
                        .map_err(|e| rejected(&e, kind, &source_id))
                }
            };
            if let Err(e) = &result
                && (e.stops_run() || e.is_retryable())
            {
                return Err(e.clone());
            }
            if let Ok(target) = &result {
                written.insert(source_id.clone(), target.clone());
            }
            let mut done = outcome(&source_id, result);
            if done.result.is_ok() {
                done.adopted = adopted;
            }
            out.push(done);
        }
        if kind == Kind::FieldDefinition {
            self.forget_fields();
        }
        Ok(out)
    }

    /// What the record at `path/id` has of the fields `body` sets, and where it lives,
    /// for [`Zendesk::release`] to write back.
    fn before_marked(
        &self,
        path: &str,
        key: &str,
        id: &str,
        suffix: &str,
        body: &Value,
    ) -> Result<Adopted, AdapterError> {
        let response = self
            .http
            .send(Request::get(format!("{path}/{id}{suffix}")))
            .map_err(|e| e.into_adapter(NAME))?;
        let current: Value = object_of(&response, key).map_err(|e| e.into_adapter(NAME))?;
        let mut values = Map::new();
        if let Value::Object(fields) = body {
            for field in fields.keys() {
                // A view is written with `all`/`any` and shown with them under
                // `conditions`; a field the record does not show is left out, never
                // given back as null (a null `all` breaks the view).
                let had = current
                    .get(field)
                    .or_else(|| current.get("conditions").and_then(|c| c.get(field)));
                if let Some(had) = had {
                    values.insert(field.clone(), had.clone());
                }
            }
        }
        Ok(Adopted {
            before: json!({"path": format!("{path}/{id}{suffix}"), "key": key, "values": values}),
        })
    }

    /// An existing custom field this definition should adopt: same key (user and
    /// organization fields) or same title (ticket fields), same object, a type that
    /// holds the same values (a text field and a regex field both hold text: sources
    /// without regex fields, such as Freshdesk, read a Zendesk regex field as text).
    fn same_field(&self, f: &FieldDefinition) -> Result<Option<String>, AdapterError> {
        let holds_text = |t: FieldType| matches!(t, FieldType::Text | FieldType::Regex);
        let fields = self.fields()?;
        Ok(fields
            .into_iter()
            .find(|(_, info)| {
                info.object == f.object
                    && info.key == f.key
                    && (info.field_type == f.field_type
                        || (holds_text(info.field_type) && holds_text(f.field_type)))
            })
            .map(|(id, _)| id))
    }

    /// Target ids by source marker.
    /// Target ids of earlier copies of the batch's new records, found by source marker;
    /// none looked for when `lookup` is off (a batch proven never sent).
    fn earlier_copies(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        lookup: bool,
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        if !lookup {
            return Ok(BTreeMap::new());
        }
        let unknown: Vec<String> = batch
            .iter()
            .filter(|r| r.existing.is_none())
            .map(|r| r.record.id().to_string())
            .collect();
        self.find_markers(kind, &unknown)
    }

    pub(crate) fn find_markers(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut found = BTreeMap::new();
        if source_ids.is_empty() {
            return Ok(found);
        }
        let wanted: std::collections::BTreeSet<&str> =
            source_ids.iter().map(String::as_str).collect();
        match kind {
            Kind::Organization | Kind::User => {
                let (path, key) = if kind == Kind::User {
                    ("users/show_many.json", "users")
                } else {
                    ("organizations/show_many.json", "organizations")
                };
                for chunk in source_ids.chunks(100) {
                    let request = Request::get(path).query("external_ids", chunk.join(","));
                    let page: wire::ListPage = self
                        .http
                        .send(request)
                        .and_then(|r| r.json())
                        .map_err(|e| e.into_adapter(NAME))?;
                    for item in page
                        .rest
                        .get(key)
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                    {
                        let external = item
                            .get("external_id")
                            .and_then(Value::as_str)
                            .map(str::to_string);
                        let active = item.get("active").and_then(Value::as_bool) != Some(false);
                        let id = item.get("id").map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                        if let (Some(external), Some(id), true) = (external, id, active)
                            && wanted.contains(external.as_str())
                        {
                            found.insert(external, id);
                        }
                    }
                }
            }
            Kind::Ticket => {
                for source_id in source_ids {
                    let request = Request::get("tickets.json").query("external_id", source_id);
                    let page: wire::ListPage = self
                        .http
                        .send(request)
                        .and_then(|r| r.json())
                        .map_err(|e| e.into_adapter(NAME))?;
                    for item in page
                        .rest
                        .get("tickets")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                    {
                        let t: wire::Ticket = match serde_json::from_value(item) {
                            Ok(t) => t,
                            Err(_) => continue,
                        };
                        if t.external_id.as_deref() == Some(source_id.as_str())
                            && t.status.as_deref() != Some("deleted")
                        {
                            found.insert(source_id.clone(), id_of(&t.id));
                        }
                    }
                }
            }
            _ => {
                let mut request = switchover_adapter::PageRequest {
                    page_size: Some(100),
                    ..Default::default()
                };
                loop {
                    let (records, next) = self.read_kind(kind, &request, true)?;
                    for (marker, record) in records {
                        if let Some(marker) = marker
                            && wanted.contains(marker.as_str())
                        {
                            found.insert(marker, record.id().to_string());
                        }
                    }
                    match next {
                        Some(next) => request.cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        Ok(found)
    }

    pub(crate) fn delete_kind(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        let fields = if kind == Kind::FieldDefinition {
            Some(self.fields()?)
        } else {
            None
        };
        let mut out = Vec::new();
        for id in target_ids {
            let paths: Vec<String> = match kind {
                Kind::Organization => vec![format!("organizations/{id}.json")],
                Kind::User => vec![format!("users/{id}.json")],
                Kind::Group => vec![format!("groups/{id}.json")],
                Kind::Ticket => vec![format!("tickets/{id}.json")],
                Kind::Macro => vec![format!("macros/{id}.json")],
                Kind::Rule => vec![
                    format!("triggers/{id}.json"),
                    format!("automations/{id}.json"),
                ],
                Kind::View => vec![format!("views/{id}.json")],
                Kind::Webhook => vec![format!("webhooks/{id}")],
                Kind::SlaPolicy => vec![format!("slas/policies/{id}.json")],
                Kind::KbCategory => vec![format!("help_center/categories/{id}.json")],
                Kind::KbSection => vec![format!("help_center/sections/{id}.json")],
                Kind::FieldDefinition => {
                    let object = fields.as_ref().and_then(|f| f.get(id)).map(|i| i.object);
                    match object {
                        Some(FieldObject::User) => vec![format!("user_fields/{id}.json")],
                        Some(FieldObject::Organization) => {
                            vec![format!("organization_fields/{id}.json")]
                        }
                        _ => vec![format!("ticket_fields/{id}.json")],
                    }
                }
                other => return Err(AdapterError::unsupported(NAME, other, "delete")),
            };
            let mut result = Ok(());
            for path in paths {
                match self.http.delete(&path) {
                    Ok(_) => {
                        result = Ok(());
                        break;
                    }
                    // Already gone, or (rules) on the other endpoint.
                    Err(e) if e.status() == Some(404) => result = Ok(()),
                    Err(e) => {
                        let e = e.for_record(NAME, kind, id);
                        if e.stops_run() {
                            return Err(e);
                        }
                        result = Err(e);
                        break;
                    }
                }
            }
            out.push(result);
        }
        if kind == Kind::FieldDefinition {
            self.forget_fields();
        }
        Ok(out)
    }
}
