//! SLA policies (`GET/POST /api/v2/sla_policies`, `GET/PUT /api/v2/sla_policies/{id}`).
//!
//! Sources: the shape `{id, name, description, active, is_default, position, sla_target,
//! applicable_to, escalation, created_at, updated_at}` with `sla_target.priority_N`
//! `{respond_within, resolve_within, next_respond_within, business_hours,
//! escalation_enabled}` in seconds, `applicable_to` `{group_ids, company_ids, product_ids,
//! ticket_types, sources}` and `escalation` `{response: {escalation_time, agent_ids},
//! resolution: {level_1: …}}` from public clients that write real accounts (a Freshdesk
//! Terraform provider's acceptance test, a Go client's decode test, a setup script); a
//! DELETE answers 405 (the same provider: "Freshdesk answers 405 to a delete on an SLA
//! policy"); every account has one default policy (`is_default` true).
//! Assumptions: all four priorities are required in `sla_target`; times are positive
//! integers; a policy that is not the default needs at least one `applicable_to` list and
//! the default takes none (it applies to everything) and cannot be switched off;
//! `escalation` levels `level_1`..`level_4`, `-1` as "the assigned agent"; the default's
//! name and targets (Urgent 1 h / 4 h, High 4 h / 8 h, Medium 8 h / 24 h, Low 24 h / 72 h).

use serde_json::{Map, Value, json};
use switchover_sandbox::Request;

use crate::api::{body, errors, not_found, now, ok, only};
use crate::store::Account;
use crate::{Answer, State, lock};

const MANDATORY: &str = "It should not be blank as this is a mandatory field";

type Problems = Vec<(String, String, String)>;

fn push(problems: &mut Problems, field: impl Into<String>, message: impl Into<String>, code: &str) {
    problems.push((field.into(), message.into(), code.into()));
}

/// The default policy a new account has.
pub(crate) fn default_policy(id: u64) -> Value {
    let target = |respond: u64, resolve: u64| {
        json!({"respond_within": respond, "resolve_within": resolve, "next_respond_within": respond,
               "business_hours": false, "escalation_enabled": true})
    };
    const H: u64 = 3600;
    json!({
        "id": id, "name": "Default SLA Policy", "description": "default policy", "active": true,
        "is_default": true, "position": 1,
        "sla_target": {
            "priority_4": target(H, 4 * H), "priority_3": target(4 * H, 8 * H),
            "priority_2": target(8 * H, 24 * H), "priority_1": target(24 * H, 72 * H),
        },
        "applicable_to": {}, "escalation": {},
        "created_at": "2019-01-01T00:00:00Z", "updated_at": "2019-01-01T00:00:00Z",
    })
}

fn check_targets(value: &Value, problems: &mut Problems) {
    let Some(targets) = value.as_object() else {
        push(
            problems,
            "sla_target",
            "It should be a/an key/value pair",
            "datatype_mismatch",
        );
        return;
    };
    for key in targets.keys() {
        if !["priority_1", "priority_2", "priority_3", "priority_4"].contains(&key.as_str()) {
            push(
                problems,
                format!("sla_target[:{key}]"),
                "Unexpected/invalid field in request",
                "invalid_field",
            );
        }
    }
    for priority in ["priority_1", "priority_2", "priority_3", "priority_4"] {
        let at = format!("sla_target[:{priority}]");
        let Some(target) = targets.get(priority).and_then(Value::as_object) else {
            push(problems, at, MANDATORY, "missing_field");
            continue;
        };
        for key in target.keys() {
            if ![
                "respond_within",
                "resolve_within",
                "next_respond_within",
                "business_hours",
                "escalation_enabled",
            ]
            .contains(&key.as_str())
            {
                push(
                    problems,
                    format!("{at}[:{key}]"),
                    "Unexpected/invalid field in request",
                    "invalid_field",
                );
            }
        }
        for key in ["respond_within", "resolve_within"] {
            match target.get(key) {
                None => push(
                    problems,
                    format!("{at}[:{key}]"),
                    MANDATORY,
                    "missing_field",
                ),
                Some(v) if v.as_u64().is_some_and(|s| s > 0) => {}
                Some(_) => push(
                    problems,
                    format!("{at}[:{key}]"),
                    "It should be a/an Positive Integer (seconds)",
                    "datatype_mismatch",
                ),
            }
        }
        if target
            .get("next_respond_within")
            .is_some_and(|v| !v.is_null() && v.as_u64().is_none_or(|s| s == 0))
        {
            push(
                problems,
                format!("{at}[:next_respond_within]"),
                "It should be a/an Positive Integer (seconds)",
                "datatype_mismatch",
            );
        }
        for key in ["business_hours", "escalation_enabled"] {
            if target.get(key).is_some_and(|v| !v.is_boolean()) {
                push(
                    problems,
                    format!("{at}[:{key}]"),
                    "It should be a/an Boolean",
                    "datatype_mismatch",
                );
            }
        }
    }
}

fn check_applicable(account: &Account, value: &Value, problems: &mut Problems) -> bool {
    let Some(map) = value.as_object() else {
        push(
            problems,
            "applicable_to",
            "It should be a/an key/value pair",
            "datatype_mismatch",
        );
        return false;
    };
    let ticket_types: Vec<Value> = account
        .ticket_fields
        .values()
        .find(|f| f["type"] == json!("default_ticket_type"))
        .and_then(|f| f["choices"].as_array().cloned())
        .unwrap_or_default();
    let sources: Vec<Value> = account
        .ticket_fields
        .values()
        .find(|f| f["type"] == json!("default_source"))
        .and_then(|f| {
            f["choices"]
                .as_object()
                .map(|c| c.values().cloned().collect())
        })
        .unwrap_or_default();
    let mut any = false;
    for (key, list) in map {
        let at = format!("applicable_to[:{key}]");
        let Some(items) = list.as_array() else {
            push(problems, at, "It should be a/an Array", "datatype_mismatch");
            continue;
        };
        any |= !items.is_empty();
        let fits = |v: &Value| match key.as_str() {
            "group_ids" => v.as_u64().is_some_and(|g| account.groups.contains_key(&g)),
            "company_ids" => v
                .as_u64()
                .is_some_and(|c| account.companies.contains_key(&c)),
            "ticket_types" => ticket_types.contains(v),
            "sources" => sources.contains(v),
            _ => v.is_u64(),
        };
        if ![
            "group_ids",
            "company_ids",
            "product_ids",
            "ticket_types",
            "sources",
            "contact_segments",
            "company_segments",
        ]
        .contains(&key.as_str())
        {
            push(
                problems,
                at,
                "Unexpected/invalid field in request",
                "invalid_field",
            );
        } else if !items.iter().all(fits) {
            push(
                problems,
                at,
                format!("There is no {key} matching a given value"),
                "invalid_value",
            );
        }
    }
    any
}

fn check_escalation(account: &Account, value: &Value, problems: &mut Problems) {
    let Some(map) = value.as_object() else {
        push(
            problems,
            "escalation",
            "It should be a/an key/value pair",
            "datatype_mismatch",
        );
        return;
    };
    let level = |at: String, value: &Value, problems: &mut Problems| {
        let Some(level) = value.as_object() else {
            push(
                problems,
                at,
                "It should be a/an key/value pair",
                "datatype_mismatch",
            );
            return;
        };
        if !level.get("escalation_time").is_some_and(Value::is_u64) {
            push(
                problems,
                format!("{at}[:escalation_time]"),
                "It should be a/an Integer (seconds)",
                "datatype_mismatch",
            );
        }
        if !level
            .get("agent_ids")
            .and_then(Value::as_array)
            .is_some_and(|ids| {
                !ids.is_empty()
                    && ids.iter().all(|a| {
                        a.as_i64() == Some(-1)
                            || a.as_u64().is_some_and(|a| account.agents.contains_key(&a))
                    })
            })
        {
            push(
                problems,
                format!("{at}[:agent_ids]"),
                "There is no agent matching a given agent_ids",
                "invalid_value",
            );
        }
    };
    for (key, v) in map {
        match key.as_str() {
            "response" => level("escalation[:response]".into(), v, problems),
            "resolution" => match v.as_object() {
                Some(levels) => {
                    for (name, l) in levels {
                        if ["level_1", "level_2", "level_3", "level_4"].contains(&name.as_str()) {
                            level(format!("escalation[:resolution][:{name}]"), l, problems);
                        } else {
                            push(
                                problems,
                                format!("escalation[:resolution][:{name}]"),
                                "Unexpected/invalid field in request",
                                "invalid_field",
                            );
                        }
                    }
                }
                None => push(
                    problems,
                    "escalation[:resolution]",
                    "It should be a/an key/value pair",
                    "datatype_mismatch",
                ),
            },
            _ => push(
                problems,
                format!("escalation[:{key}]"),
                "Unexpected/invalid field in request",
                "invalid_field",
            ),
        }
    }
}

/// POST (`id` None) or PUT a policy.
pub(crate) fn save(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(
        &map,
        &[
            "name",
            "description",
            "active",
            "position",
            "sla_target",
            "applicable_to",
            "escalation",
        ],
    )?;
    let mut account = lock(state);
    let existing = match id {
        Some(id) => match account.sla_policies.get(&id) {
            Some(p) => Some(p.clone()),
            None => return Err(not_found()),
        },
        None => None,
    };
    let is_default = existing
        .as_ref()
        .is_some_and(|p| p["is_default"] == json!(true));
    let mut merged: Map<String, Value> = existing
        .as_ref()
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (k, v) in &map {
        merged.insert(k.clone(), v.clone());
    }
    let mut problems = Problems::new();
    match merged.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => {}
        Some(Value::String(_)) | None | Some(Value::Null) => {
            push(&mut problems, "name", MANDATORY, "missing_field")
        }
        Some(_) => push(
            &mut problems,
            "name",
            "It should be a/an String",
            "datatype_mismatch",
        ),
    }
    if merged
        .get("description")
        .is_some_and(|d| !(d.is_string() || d.is_null()))
    {
        push(
            &mut problems,
            "description",
            "It should be a/an String",
            "datatype_mismatch",
        );
    }
    match merged.get("active") {
        Some(Value::Bool(false)) if is_default => push(
            &mut problems,
            "active",
            "The default SLA policy cannot be deactivated",
            "invalid_value",
        ),
        None | Some(Value::Bool(_)) => {}
        Some(_) => push(
            &mut problems,
            "active",
            "It should be a/an Boolean",
            "datatype_mismatch",
        ),
    }
    if merged
        .get("position")
        .is_some_and(|p| p.as_u64().is_none_or(|p| p < 1))
    {
        push(
            &mut problems,
            "position",
            "It should be a/an Positive Integer",
            "datatype_mismatch",
        );
    }
    match merged.get("sla_target") {
        Some(t) => check_targets(t, &mut problems),
        None => push(&mut problems, "sla_target", MANDATORY, "missing_field"),
    }
    if is_default {
        if map
            .get("applicable_to")
            .is_some_and(|a| a.as_object().is_none_or(|o| !o.is_empty()))
        {
            push(
                &mut problems,
                "applicable_to",
                "The default SLA policy applies to every ticket; it takes no conditions",
                "invalid_field",
            );
        }
    } else {
        let has = merged
            .get("applicable_to")
            .is_some_and(|a| check_applicable(&account, a, &mut problems));
        if !has {
            push(
                &mut problems,
                "applicable_to",
                "It should have at least one condition (group_ids, company_ids, product_ids, ticket_types or sources)",
                "missing_field",
            );
        }
    }
    if let Some(e) = merged.get("escalation").filter(|e| !e.is_null()) {
        check_escalation(&account, e, &mut problems);
    }
    if !problems.is_empty() {
        return Err(errors(400, problems));
    }
    let at = now();
    let id = match &existing {
        Some(p) => p["id"].as_u64().unwrap_or(0),
        None => account.next_id(),
    };
    let next_position = account
        .sla_policies
        .values()
        .filter_map(|p| p["position"].as_u64())
        .max()
        .unwrap_or(0)
        + 1;
    let field = |key: &str| merged.get(key).cloned().unwrap_or(Value::Null);
    let policy = json!({
        "id": id, "name": field("name"), "description": field("description"),
        "active": merged.get("active").cloned().unwrap_or(json!(true)),
        "is_default": is_default,
        "position": merged.get("position").cloned().unwrap_or(json!(next_position)),
        "sla_target": field("sla_target"),
        "applicable_to": merged.get("applicable_to").cloned().unwrap_or(json!({})),
        "escalation": merged.get("escalation").cloned().filter(|e| !e.is_null()).unwrap_or(json!({})),
        "created_at": existing.as_ref().map(|p| p["created_at"].clone()).unwrap_or(json!(at)),
        "updated_at": at,
    });
    account.sla_policies.insert(id, policy.clone());
    ok(if existing.is_some() { 200 } else { 201 }, policy, request)
}
