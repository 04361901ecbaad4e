//! Canned responses and their folders: the writes (`POST /canned_response_folders`,
//! `PUT /canned_response_folders/{id}`, `POST /canned_responses`,
//! `PUT`/`DELETE /canned_responses/{id}`).
//!
//! Sources: the developer docs' #canned-responses as transcribed in
//! `../shared/vendor-apis.md` §2.6.8 (`title`, `content_html`, `folder_id` required;
//! `visibility` 0 all agents, 1 personal, 2 groups; `group_ids`; `attachments[]` as
//! multipart) and the read shapes of python-freshdesk's fixtures. Assumptions: `group_ids`
//! is required (non-empty) with visibility 2 and refused otherwise; a folder name is
//! unique (409 `duplicate_value`); `responses_count` follows the folder's responses.

use serde_json::{Map, Value, json};
use switchover_sandbox::{Request, Response};

use crate::api::{body, errors, invalid, not_found, now, ok, only, store_uploads};
use crate::seed::html_to_text;
use crate::store::Account;
use crate::{Answer, State, lock};

const MANDATORY: &str = "It should not be blank as this is a mandatory field";

fn nonblank(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// POST (`id` None) or PUT a folder.
pub(crate) fn save_folder(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, _) = body(request)?;
    only(&map, &["name"])?;
    let mut account = lock(state);
    if let Some(id) = id
        && !account.canned_folders.contains_key(&id)
    {
        return Err(not_found());
    }
    let Some(name) = nonblank(&map, "name") else {
        return Err(invalid("name", MANDATORY, "missing_field"));
    };
    if account.canned_folders.iter().any(|(fid, f)| {
        Some(*fid) != id
            && f["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
    }) {
        return Err(Response::json(
            409,
            &json!({"description": "Validation failed", "errors": [{"field": "name", "message": "It should be a unique value", "code": "duplicate_value"}]}),
        ));
    }
    let at = now();
    match id {
        Some(id) => {
            let Some(folder) = account.canned_folders.get_mut(&id) else {
                return Err(not_found());
            };
            folder["name"] = json!(name);
            folder["updated_at"] = json!(at);
            let folder = folder.clone();
            ok(200, folder, request)
        }
        None => {
            let id = account.next_id();
            let folder = json!({"id": id, "name": name, "personal": false, "responses_count": 0,
                                "created_at": at, "updated_at": at});
            account.canned_folders.insert(id, folder.clone());
            ok(201, folder, request)
        }
    }
}

fn recount(account: &mut Account) {
    let counts: Vec<(u64, usize)> = account
        .canned_folders
        .keys()
        .map(|fid| {
            (
                *fid,
                account
                    .canned_responses
                    .values()
                    .filter(|r| r["folder_id"].as_u64() == Some(*fid))
                    .count(),
            )
        })
        .collect();
    for (fid, count) in counts {
        if let Some(folder) = account.canned_folders.get_mut(&fid) {
            folder["responses_count"] = json!(count);
        }
    }
}

/// POST (`id` None) or PUT a canned response; JSON or multipart with `attachments[]`.
pub(crate) fn save_response(state: &State, request: &Request, id: Option<u64>) -> Answer {
    let (map, uploads) = body(request)?;
    only(
        &map,
        &[
            "title",
            "content_html",
            "folder_id",
            "visibility",
            "group_ids",
        ],
    )?;
    let mut account = lock(state);
    let existing = match id {
        Some(id) => match account.canned_responses.get(&id) {
            Some(r) => Some(r.clone()),
            None => return Err(not_found()),
        },
        None => None,
    };
    let pick = |key: &str| {
        map.get(key)
            .cloned()
            .or_else(|| existing.as_ref().map(|r| r[key].clone()))
            .unwrap_or(Value::Null)
    };
    let mut problems = Vec::new();
    for key in ["title", "content_html"] {
        match pick(key) {
            Value::String(s) if !s.trim().is_empty() => {}
            Value::Null | Value::String(_) => problems.push((
                key.to_string(),
                MANDATORY.to_string(),
                "missing_field".to_string(),
            )),
            _ => problems.push((
                key.to_string(),
                "It should be a/an String".into(),
                "datatype_mismatch".into(),
            )),
        }
    }
    // Multipart sends numbers as text.
    let number = |v: Value| match v {
        Value::String(s) => s.parse::<u64>().map(|n| json!(n)).unwrap_or(json!(s)),
        other => other,
    };
    let folder_id = number(pick("folder_id"));
    match folder_id.as_u64() {
        Some(f) if account.canned_folders.contains_key(&f) => {}
        None if folder_id.is_null() => {
            problems.push(("folder_id".into(), MANDATORY.into(), "missing_field".into()))
        }
        _ => problems.push((
            "folder_id".into(),
            "There is no folder matching the given folder_id".into(),
            "invalid_value".into(),
        )),
    }
    let visibility = match number(pick("visibility")) {
        Value::Null => 0,
        v => match v.as_u64() {
            Some(n @ 0..=2) => n,
            _ => {
                problems.push((
                    "visibility".into(),
                    "It should be one of these values: '0,1,2'".into(),
                    "invalid_value".into(),
                ));
                0
            }
        },
    };
    let group_ids: Vec<Value> = match pick("group_ids") {
        Value::Null => Vec::new(),
        Value::Array(items) => items.into_iter().map(number).collect(),
        _ => {
            problems.push((
                "group_ids".into(),
                "It should be a/an Array".into(),
                "datatype_mismatch".into(),
            ));
            Vec::new()
        }
    };
    if group_ids
        .iter()
        .any(|g| !g.as_u64().is_some_and(|g| account.groups.contains_key(&g)))
    {
        problems.push((
            "group_ids".into(),
            "There is no group matching the given group_ids".into(),
            "invalid_value".into(),
        ));
    }
    if visibility == 2 && group_ids.is_empty() {
        problems.push((
            "group_ids".into(),
            "It should not be blank when visibility is 2 (groups)".into(),
            "missing_field".into(),
        ));
    } else if visibility != 2 && !group_ids.is_empty() {
        problems.push((
            "group_ids".into(),
            "group_ids are only for visibility 2 (groups)".into(),
            "invalid_field".into(),
        ));
    }
    if !problems.is_empty() {
        return Err(errors(400, problems));
    }
    let at = now();
    let html = pick("content_html").as_str().unwrap_or("").to_string();
    let mut attachments: Vec<Value> = existing
        .as_ref()
        .and_then(|r| r["attachments"].as_array().cloned())
        .unwrap_or_default();
    attachments.extend(store_uploads(&mut account, uploads));
    let id = match &existing {
        Some(r) => r["id"].as_u64().unwrap_or(0),
        None => account.next_id(),
    };
    let response = json!({
        "id": id, "title": pick("title"), "folder_id": folder_id, "content": html_to_text(&html),
        "content_html": html, "attachments": attachments, "visibility": visibility,
        "group_ids": group_ids,
        "created_at": existing.as_ref().map(|r| r["created_at"].clone()).unwrap_or(json!(at)),
        "updated_at": at,
    });
    account.canned_responses.insert(id, response.clone());
    recount(&mut account);
    ok(
        if existing.is_some() { 200 } else { 201 },
        response,
        request,
    )
}

/// DELETE a canned response.
pub(crate) fn delete_response(state: &State, id: Option<u64>) -> Answer {
    let mut account = lock(state);
    match id.and_then(|id| account.canned_responses.remove(&id)) {
        Some(_) => {
            recount(&mut account);
            Ok(Response::empty(204))
        }
        None => Err(not_found()),
    }
}
