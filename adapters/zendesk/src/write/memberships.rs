//! Group memberships. Zendesk gives them no external id and no free text, so the
//! (agent, group) pair is their key: a write lists the agent's memberships first and
//! adopts one of the same group instead of creating a second, which makes every write,
//! resumed or retried, idempotent. Only agents can be group members; Zendesk refuses an
//! end user's membership with 422 `RecordInvalid`, reported for that record alone.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};
use switchover_adapter::{AdapterError, Adopted, WriteOutcome, WriteRequest};
use switchover_http::Request;
use switchover_model::{GroupMembership, Kind, Record};

use super::{object_of, outcome};
use crate::convert::id_of;
use crate::{NAME, Zendesk, wire};

/// A membership as the target holds it.
#[derive(Debug, Clone)]
struct Held {
    id: String,
    default: bool,
}

/// One record of a batch, with its target ids checked.
struct Wanted<'a> {
    index: usize,
    membership: &'a GroupMembership,
    existing: Option<&'a str>,
    user: String,
    group: String,
}

/// Each membership of a bulk create with its target id or why it was refused.
type Created<'w, 'a> = Vec<(&'w Wanted<'a>, Result<String, AdapterError>)>;

fn refused(source_id: &str, field: &str, reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidRecord {
        adapter: NAME.into(),
        kind: Kind::GroupMembership,
        id: source_id.into(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// A refused job item's details (`{"user_id": [{"description": ...}]}` or text) as the
/// field it names and a readable reason.
fn job_refusal(result: &wire::JobResult) -> (String, String) {
    let parsed: Option<wire::ErrorBody> = result
        .details
        .clone()
        .filter(Value::is_object)
        .and_then(|details| serde_json::from_value(json!({ "details": details })).ok());
    if let Some((field, reason)) = parsed.and_then(|b| b.field_and_reason()) {
        return (field, reason);
    }
    let text = |v: &Option<Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let reason = text(&result.details)
        .or_else(|| text(&result.error))
        .unwrap_or_else(|| "the job reported a failure".into());
    ("(job result)".into(), reason)
}

impl Zendesk {
    /// The memberships agent `user` holds, by group id. `None` when the user does not
    /// exist on the target.
    fn held_by(&self, user: &str) -> Result<Option<HashMap<String, Held>>, AdapterError> {
        let mut held = HashMap::new();
        let mut url = Some(format!(
            "users/{user}/group_memberships.json?page[size]=100"
        ));
        while let Some(current) = url {
            let answer = match self.list_http(&current, "group_memberships") {
                Ok(answer) => answer,
                Err(e) if e.status() == Some(404) => return Ok(None),
                Err(e) => return Err(e.into_adapter(NAME)),
            };
            for item in answer.items {
                let Ok(m) = serde_json::from_value::<wire::GroupMembership>(item) else {
                    continue;
                };
                if id_of(&m.user_id) == user && m.id.is_some() {
                    held.insert(
                        id_of(&m.group_id),
                        Held {
                            id: id_of(&m.id),
                            default: m.default.unwrap_or(false),
                        },
                    );
                }
            }
            url = answer.next;
        }
        Ok(Some(held))
    }

    /// The target memberships of these (user, group) pairs, one listing per user.
    fn held_pairs<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<BTreeMap<(String, String), Held>, AdapterError> {
        let mut by_user: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (user, group) in pairs {
            by_user.entry(user).or_default().push(group);
        }
        let mut found = BTreeMap::new();
        for (user, groups) in by_user {
            let Some(mut held) = self.held_by(user)? else {
                continue;
            };
            for group in groups {
                if let Some(h) = held.remove(group) {
                    found.insert((user.to_string(), group.to_string()), h);
                }
            }
        }
        Ok(found)
    }

    fn remember_memberships(&self, wanted: &[Wanted<'_>]) {
        let mut cache = self.cache.lock();
        for w in wanted {
            cache
                .memberships
                .insert(w.membership.id.clone(), (w.user.clone(), w.group.clone()));
        }
    }

    /// `PUT users/{user}/group_memberships/{id}/make_default`.
    fn make_default(&self, source_id: &str, user: &str, id: &str) -> Result<(), AdapterError> {
        let sent = Request::put(format!(
            "users/{user}/group_memberships/{id}/make_default.json"
        ));
        self.http
            .send(sent)
            .map(|_| ())
            .map_err(|e| e.for_record(NAME, Kind::GroupMembership, source_id))
    }

    /// Writes memberships: pairs the target holds are adopted (and made default when the
    /// source says so), the others created, one by `POST` or up to 100 by `create_many`
    /// and its job; an update to another pair creates that pair and removes the old one.
    pub(crate) fn write_memberships(
        &self,
        batch: &[WriteRequest],
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let mut results: Vec<Option<Result<String, AdapterError>>> = vec![None; batch.len()];
        let mut wanted = Vec::new();
        for (index, request) in batch.iter().enumerate() {
            let Record::GroupMembership(membership) = &request.record else {
                return Err(AdapterError::fatal(
                    NAME,
                    format!(
                        "a {} record was given to the {} writer",
                        request.record.kind(),
                        Kind::GroupMembership
                    ),
                ));
            };
            let (user, group) = (membership.user.id(), membership.group.id());
            let numeric = |id: &str| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
            if !numeric(user) || !numeric(group) {
                results[index] = Some(Err(refused(
                    &membership.id,
                    if numeric(user) { "group" } else { "user" },
                    format!(
                        "the membership's {} is not on the target (reference '{}')",
                        if numeric(user) { "group" } else { "user" },
                        if numeric(user) { group } else { user }
                    ),
                )));
                continue;
            }
            wanted.push(Wanted {
                index,
                membership,
                existing: request.existing.as_deref(),
                user: user.to_string(),
                group: group.to_string(),
            });
        }
        self.remember_memberships(&wanted);
        let mut held =
            self.held_pairs(wanted.iter().map(|w| (w.user.as_str(), w.group.as_str())))?;
        let mut to_create: Vec<&Wanted<'_>> = Vec::new();
        // Pairs the target held for records the id map does not know: adopted, so a
        // rollback leaves them (a pair has no marker to remove).
        let mut adopted: std::collections::HashMap<usize, Adopted> = Default::default();
        for w in &wanted {
            let key = (w.user.clone(), w.group.clone());
            match held.get(&key) {
                Some(h) => {
                    if w.existing.is_none() {
                        adopted.insert(
                            w.index,
                            Adopted {
                                before: json!({"default": h.default}),
                            },
                        );
                    }
                    let result = if w.membership.is_default && !h.default {
                        self.make_default(&w.membership.id, &w.user, &h.id)
                            .map(|_| h.id.clone())
                    } else {
                        Ok(h.id.clone())
                    };
                    results[w.index] = Some(result);
                }
                // Two source memberships of one pair in a batch: the first creates it.
                None if to_create
                    .iter()
                    .any(|c| c.user == w.user && c.group == w.group) => {}
                None => to_create.push(w),
            }
        }
        if to_create.len() == 1 {
            let w = to_create[0];
            let result = self.create_membership(w)?;
            if let Ok(id) = &result {
                held.insert(
                    (w.user.clone(), w.group.clone()),
                    Held {
                        id: id.clone(),
                        default: w.membership.is_default,
                    },
                );
            }
            results[w.index] = Some(result);
        } else if !to_create.is_empty() {
            for (w, result) in self.create_memberships(&to_create)? {
                if let Ok(id) = &result {
                    held.insert(
                        (w.user.clone(), w.group.clone()),
                        Held {
                            id: id.clone(),
                            default: w.membership.is_default,
                        },
                    );
                }
                results[w.index] = Some(result);
            }
        }
        // Duplicates of a pair created above, and updates that moved to another pair.
        for w in &wanted {
            if results[w.index].is_none() {
                results[w.index] = Some(
                    held.get(&(w.user.clone(), w.group.clone()))
                        .map(|h| h.id.clone())
                        .ok_or_else(|| {
                            refused(
                                &w.membership.id,
                                "(pair)",
                                "another record of the same agent and group was refused",
                            )
                        }),
                );
            }
            if let (Some(Ok(id)), Some(old)) = (&results[w.index], w.existing)
                && id != old
            {
                match self.http.delete(&format!("group_memberships/{old}.json")) {
                    Ok(_) => {}
                    Err(e) if e.status() == Some(404) => {}
                    Err(e) => {
                        let e = e.for_record(NAME, Kind::GroupMembership, &w.membership.id);
                        if e.stops_run() || e.is_retryable() {
                            return Err(e);
                        }
                        results[w.index] = Some(Err(e));
                    }
                }
            }
        }
        // A failure that may pass (or stops the run) fails the batch: the engine retries
        // it, and the pairs make the retry adopt what this attempt wrote.
        if let Some(e) = results.iter().flatten().find_map(|r| match r {
            Err(e) if e.stops_run() || e.is_retryable() => Some(e.clone()),
            _ => None,
        }) {
            return Err(e);
        }
        Ok(batch
            .iter()
            .zip(results)
            .enumerate()
            .map(|(index, (r, result))| {
                let mut written = outcome(
                    r.record.id(),
                    result.unwrap_or_else(|| Err(AdapterError::fatal(NAME, "no outcome"))),
                );
                if written.result.is_ok() {
                    written.adopted = adopted.remove(&index);
                }
                written
            })
            .collect())
    }

    fn membership_body(w: &Wanted<'_>) -> Value {
        json!({
            "user_id": super::numeric(&w.user),
            "group_id": super::numeric(&w.group),
            "default": w.membership.is_default,
        })
    }

    /// `POST group_memberships`: one membership; a failure that leaves it unknown whether
    /// Zendesk made it is settled by listing the agent's memberships before trying again.
    fn create_membership(
        &self,
        w: &Wanted<'_>,
    ) -> Result<Result<String, AdapterError>, AdapterError> {
        let body = json!({ "group_membership": Self::membership_body(w) });
        let attempt = || {
            let sent = Request::post("group_memberships.json").json(&body)?;
            let response = self.http.send(sent)?;
            object_of::<wire::GroupMembership>(&response, "group_membership").map(|m| id_of(&m.id))
        };
        let find = || {
            Ok(self
                .held_pairs([(w.user.as_str(), w.group.as_str())])?
                .into_values()
                .next()
                .map(|h| h.id))
        };
        let result = self
            .reconciled(attempt, find)?
            .map_err(|e| self.membership_refused(&e, w));
        match result {
            Err(e) if e.stops_run() || e.is_retryable() => Err(e),
            other => Ok(other),
        }
    }

    /// A refusal of one membership, with the pair it was about.
    fn membership_refused(&self, e: &switchover_http::HttpError, w: &Wanted<'_>) -> AdapterError {
        match super::rejected(e, Kind::GroupMembership, &w.membership.id) {
            AdapterError::InvalidRecord {
                adapter,
                kind,
                id,
                field,
                reason,
            } => AdapterError::InvalidRecord {
                adapter,
                kind,
                id,
                field,
                reason: format!(
                    "Zendesk refused user {} in group {}: {reason} (only agents and admins can be group members)",
                    w.user, w.group
                ),
            },
            other => other,
        }
    }

    /// `POST group_memberships/create_many` and its job, for 2 to 100 memberships; a
    /// request refused as a whole falls back to one `POST` per membership, and a request
    /// whose fate is unknown is settled by listing the agents' memberships.
    fn create_memberships<'w, 'a>(
        &self,
        wanted: &[&'w Wanted<'a>],
    ) -> Result<Created<'w, 'a>, AdapterError> {
        let bodies: Vec<Value> = wanted.iter().map(|w| Self::membership_body(w)).collect();
        let sent = Request::post("group_memberships/create_many.json")
            .json(&json!({ "group_memberships": bodies }))
            .map_err(|e| e.into_adapter(NAME))?;
        let one_by_one = |this: &Self| -> Result<Vec<_>, AdapterError> {
            let held =
                this.held_pairs(wanted.iter().map(|w| (w.user.as_str(), w.group.as_str())))?;
            wanted
                .iter()
                .map(|w| match held.get(&(w.user.clone(), w.group.clone())) {
                    Some(h) => Ok((*w, Ok(h.id.clone()))),
                    None => this.create_membership(w).map(|r| (*w, r)),
                })
                .collect()
        };
        let response = match self.http.send(sent) {
            Ok(response) => response,
            Err(e) if e.is_rejection() || e.into_adapter(NAME).is_retryable() => {
                return one_by_one(self);
            }
            Err(e) => return Err(e.into_adapter(NAME)),
        };
        let job: wire::JobStatus =
            object_of(&response, "job_status").map_err(|e| e.into_adapter(NAME))?;
        let job = self.wait_for_job(job)?;
        let mut by_index = job.results_by_index();
        let mut out = Vec::new();
        let mut unreported = Vec::new();
        for (n, w) in wanted.iter().enumerate() {
            match by_index.remove(&n) {
                Some(r) if r.succeeded_id().is_some() => {
                    out.push((*w, Ok(id_of(&r.id))));
                }
                Some(r) => {
                    let (field, reason) = job_refusal(&r);
                    out.push((
                        *w,
                        Err(refused(
                            &w.membership.id,
                            &field,
                            format!(
                                "Zendesk refused user {} in group {}: {reason} (only agents and admins can be group members)",
                                w.user, w.group
                            ),
                        )),
                    ));
                }
                None => unreported.push(*w),
            }
        }
        if !unreported.is_empty() {
            // Results without an index: the pairs say what was made.
            let held = self.held_pairs(
                unreported
                    .iter()
                    .map(|w| (w.user.as_str(), w.group.as_str())),
            )?;
            for w in unreported {
                let result = held
                    .get(&(w.user.clone(), w.group.clone()))
                    .map(|h| h.id.clone())
                    .ok_or_else(|| {
                        refused(
                            &w.membership.id,
                            "(job result)",
                            "the job completed without creating it",
                        )
                    });
                out.push((w, result));
            }
        }
        Ok(out)
    }

    /// Target ids of memberships by source id. A membership keeps no source marker, so
    /// only pairs this adapter was given to write (in this process) can be looked up; the
    /// others are reported absent, and writing them again adopts the pair instead of
    /// duplicating it.
    pub(crate) fn find_memberships(
        &self,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let known: Vec<(String, (String, String))> = {
            let cache = self.cache.lock();
            source_ids
                .iter()
                .filter_map(|id| cache.memberships.get(id).map(|p| (id.clone(), p.clone())))
                .collect()
        };
        let held = self.held_pairs(known.iter().map(|(_, (u, g))| (u.as_str(), g.as_str())))?;
        Ok(known
            .into_iter()
            .filter_map(|(source, pair)| held.get(&pair).map(|h| (source, h.id.clone())))
            .collect())
    }

    /// `DELETE group_memberships/{id}` for each; one already gone counts as deleted.
    pub(crate) fn delete_memberships(
        &self,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        let mut out = Vec::new();
        for id in target_ids {
            match self.http.delete(&format!("group_memberships/{id}.json")) {
                Ok(_) => out.push(Ok(())),
                Err(e) if e.status() == Some(404) => out.push(Ok(())),
                Err(e) => {
                    let e = e.for_record(NAME, Kind::GroupMembership, id);
                    if e.stops_run() {
                        return Err(e);
                    }
                    out.push(Err(e));
                }
            }
        }
        Ok(out)
    }
}
