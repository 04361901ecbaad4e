//! The integration writes a migration makes, driven over HTTP: automation rules of the
//! three types with Freshdesk's validation and error shape, rule executions and the
//! e-mails they send, canned responses, SLA policies, and the golden set of rules
//! (`adapters/freshdesk/tests/golden/automations.json`) accepted whole.

use std::path::Path;

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};
use switchover_freshdesk_emulator::FreshdeskEmulator;
use switchover_sandbox::EmulatorConfig;

struct Api {
    emulator: FreshdeskEmulator,
    client: Client,
}

impl Api {
    fn new() -> Self {
        Api {
            emulator: FreshdeskEmulator::start(EmulatorConfig::empty()).expect("start"),
            client: Client::new(),
        }
    }

    fn send(&self, builder: RequestBuilder) -> Response {
        builder
            .basic_auth(self.emulator.api_key(), Some("X"))
            .send()
            .expect("send")
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2/{path}", self.emulator.base_url())
    }

    fn get(&self, path: &str) -> Response {
        self.send(self.client.get(self.url(path)))
    }

    fn post(&self, path: &str, body: &Value) -> Response {
        self.send(self.client.post(self.url(path)).json(body))
    }

    fn put(&self, path: &str, body: &Value) -> Response {
        self.send(self.client.put(self.url(path)).json(body))
    }

    fn delete(&self, path: &str) -> Response {
        self.send(self.client.delete(self.url(path)))
    }

    /// The answer's JSON, after checking its status.
    fn expect(&self, response: Response, status: u16, what: &str) -> Value {
        let got = response.status().as_u16();
        let text = response.text().expect("body");
        assert_eq!(got, status, "{what}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("json")
        }
    }

    fn created(&self, path: &str, body: &Value) -> Value {
        self.expect(self.post(path, body), 201, &format!("POST {path}"))
    }

    fn group(&self, name: &str) -> u64 {
        self.created("groups", &json!({"name": name}))["id"]
            .as_u64()
            .expect("group id")
    }
}

fn condition(field: &str, operator: &str, value: Value) -> Value {
    json!({"resource_type": "ticket", "field_name": field, "operator": operator, "value": value})
}

fn set(name: &str, properties: Vec<Value>) -> Value {
    json!({"name": name, "match_type": "all", "properties": properties})
}

/// An urgent-ticket rule of `kind` that e-mails the requester.
fn urgent_rule(kind: u64) -> Value {
    let mut rule = json!({
        "name": format!("Urgent tickets ({kind})"),
        "active": true,
        "conditions": [set("condition_set_1", vec![condition("priority", "in", json!([4]))])],
        "actions": [
            {"field_name": "add_tag", "value": ["urgent"]},
            {"field_name": "send_email_to_requester", "email_subject": "We got #{{ticket.id}}",
             "email_body": "<p>Thanks, {{ticket.requester.name}}.</p>"},
        ],
    });
    if kind == 3 {
        rule["conditions"][0]["properties"]
            .as_array_mut()
            .expect("properties")
            .push(condition("hours_since_created", "greater_than", json!(4)));
    }
    if kind == 4 {
        rule["performer"] = json!({"type": 1});
        rule["events"] = json!([{"field_name": "priority", "from": "--", "to": 4}]);
    }
    rule
}

/// The 400 answer carries Freshdesk's shape and an error on `field` with `code`.
fn refused(api: &Api, kind: u64, body: &Value, field: &str, code: &str) {
    let answer = api.expect(
        api.post(&format!("automations/{kind}/rules"), body),
        400,
        &format!("a rule that must be refused for {field}"),
    );
    assert_eq!(answer["description"], "Validation failed", "{answer}");
    let errors = answer["errors"].as_array().expect("errors array");
    assert!(
        errors.iter().all(|e| e["field"].is_string()
            && e["message"].as_str().is_some_and(|m| !m.is_empty())
            && e["code"].is_string()),
        "every error has field, message and code: {answer}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e["field"].as_str().is_some_and(|f| f.contains(field)) && e["code"] == code),
        "expected an error on {field} with code {code}: {answer}"
    );
}

#[test]
fn rules_of_each_type_are_created_read_back_updated_and_deleted() {
    let api = Api::new();
    for kind in [1, 3, 4] {
        let sent = urgent_rule(kind);
        let created = api.created(&format!("automations/{kind}/rules"), &sent);
        let id = created["id"].as_u64().expect("id");
        let read = api.expect(
            api.get(&format!("automations/{kind}/rules/{id}")),
            200,
            "GET rule",
        );
        for key in ["name", "active", "conditions", "actions"] {
            assert_eq!(read[key], sent[key], "type {kind}: {key} reads back");
        }
        assert_eq!(read["automation_type_id"], kind);
        assert!(read["summary"].is_object(), "summary is served: {read}");
        assert_eq!(read["meta"]["total_count"], 1, "{read}");
        if kind == 4 {
            assert_eq!(read["performer"], sent["performer"]);
            assert_eq!(read["events"], sent["events"]);
        } else {
            assert!(read.get("events").is_none(), "no events outside type 4");
        }
        let listed = api.expect(api.get(&format!("automations/{kind}/rules")), 200, "list");
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
        // Another type does not see it.
        let other = if kind == 1 { 4 } else { 1 };
        api.expect(
            api.get(&format!("automations/{other}/rules/{id}")),
            404,
            "a rule is addressed by its own type",
        );
        let updated = api.expect(
            api.put(
                &format!("automations/{kind}/rules/{id}"),
                &json!({"active": false, "name": "Renamed"}),
            ),
            200,
            "PUT",
        );
        assert_eq!(updated["active"], false);
        assert_eq!(updated["name"], "Renamed");
        assert_eq!(
            updated["conditions"], sent["conditions"],
            "a PUT keeps the rest"
        );
        api.expect(
            api.delete(&format!("automations/{kind}/rules/{id}")),
            204,
            "DELETE",
        );
        api.expect(
            api.get(&format!("automations/{kind}/rules/{id}")),
            404,
            "deleted",
        );
    }
    api.expect(
        api.get("automations/2/rules"),
        404,
        "type 2 is not a rule type",
    );
}

#[test]
fn two_condition_sets_join_with_the_spelled_out_operator_and_webhook_passwords_are_masked() {
    let api = Api::new();
    let rule = json!({
        "name": "Urgent or from VIPs, to the CRM",
        "operator": "condition_set_1 or condition_set_2",
        "conditions": [
            set("condition_set_1", vec![condition("priority", "in", json!([4]))]),
            {"name": "condition_set_2", "match_type": "any", "properties": [
                {"resource_type": "contact", "field_name": "email", "operator": "contains", "value": ["@vip.example"]}]},
        ],
        "actions": [{
            "field_name": "trigger_webhook", "request_type": "POST", "url": "https://crm.example.com/hook",
            "content_type": "JSON", "content_layout": "2", "content": {"id": "{{ticket.id}}"},
            "auth_header": {"username": "crm", "password": "s3cret"},
        }],
    });
    let created = api.created("automations/1/rules", &rule);
    assert_eq!(created["operator"], "condition_set_1 or condition_set_2");
    assert_eq!(created["conditions"], rule["conditions"]);
    let auth = &created["actions"][0]["auth_header"];
    assert_eq!(auth["username"], "crm");
    assert_eq!(auth["password"], "", "the password is not echoed back");
}

#[test]
fn rule_writes_that_freshdesk_refuses_get_its_validation_error() {
    let api = Api::new();
    let with = |kind: u64, change: &dyn Fn(&mut Value)| {
        let mut rule = urgent_rule(kind);
        change(&mut rule);
        rule
    };
    let cases: Vec<(u64, Value, &str, &str)> = vec![
        (
            1,
            with(1, &|r| {
                r["conditions"][0]["properties"][0]["field_name"] = json!("moon_phase")
            }),
            "moon_phase",
            "invalid_field",
        ),
        (
            1,
            with(1, &|r| {
                r["actions"][0] = json!({"field_name": "notification_user", "value": "x"})
            }),
            "notification_user",
            "invalid_field",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"][0]["properties"][0] =
                    condition("status", "contains", json!(["open"]))
            }),
            "status",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"][0]["properties"][0] = condition("subject", "in", json!(["x"]))
            }),
            "subject",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"][0]["properties"][0] = condition("priority", "in", json!([9]))
            }),
            "priority",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"][0]["properties"][0] = condition("subject", "is", json!(["a", "b"]))
            }),
            "subject",
            "datatype_mismatch",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"][0]["properties"][0] =
                    condition("hours_since_created", "greater_than", json!(4))
            }),
            "hours_since_created",
            "invalid_field",
        ),
        (
            3,
            with(3, &|r| {
                r["conditions"][0]["properties"][1] =
                    condition("hours_since_created", "contains", json!(4))
            }),
            "hours_since_created",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                let s = r["conditions"][0].clone();
                r["conditions"] = json!([s.clone(), {"name": "condition_set_2", "match_type": "any", "properties": s["properties"]}, s]);
                r["operator"] = json!("condition_set_1 and condition_set_2");
            }),
            "conditions",
            "invalid_value",
        ),
        (
            3,
            with(3, &|r| {
                let s = r["conditions"][0].clone();
                r["conditions"] = json!([s, {"name": "condition_set_2", "match_type": "any", "properties": [condition("priority", "in", json!([3]))]}]);
                r["operator"] = json!("condition_set_1 and condition_set_2");
            }),
            "conditions",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"]
                    .as_array_mut()
                    .expect("sets")
                    .push(json!({"name": "condition_set_2", "match_type": "any", "properties": [condition("priority", "in", json!([3]))]}));
            }),
            "operator",
            "missing_field",
        ),
        (
            1,
            with(1, &|r| {
                r["conditions"]
                    .as_array_mut()
                    .expect("sets")
                    .push(json!({"name": "condition_set_2", "match_type": "any", "properties": [condition("priority", "in", json!([3]))]}));
                r["operator"] = json!("and");
            }),
            "operator",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| r["conditions"][0]["match_type"] = json!("some")),
            "match_type",
            "invalid_value",
        ),
        (
            3,
            with(3, &|r| {
                r["actions"] = json!([{"field_name": "trigger_webhook", "request_type": "POST",
                    "url": "https://crm.example.com/hook", "content_type": "JSON"}])
            }),
            "trigger_webhook",
            "invalid_field",
        ),
        (
            1,
            with(1, &|r| {
                r["actions"] = json!([{"field_name": "trigger_webhook", "request_type": "FETCH",
                    "url": "https://crm.example.com/hook", "content_type": "JSON"}])
            }),
            "request_type",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                r["events"] = json!([{"field_name": "priority", "from": "--", "to": 4}])
            }),
            "events",
            "invalid_field",
        ),
        (
            4,
            with(4, &|r| {
                r.as_object_mut().expect("rule").remove("events");
            }),
            "events",
            "missing_field",
        ),
        (
            4,
            with(4, &|r| {
                r["events"] = json!([{"field_name": "reply_sent", "value": "x"}])
            }),
            "reply_sent",
            "invalid_field",
        ),
        (
            1,
            with(1, &|r| {
                r.as_object_mut().expect("rule").remove("name");
            }),
            "name",
            "missing_field",
        ),
        (
            1,
            with(1, &|r| r["automation_type_id"] = json!(1)),
            "automation_type_id",
            "invalid_field",
        ),
        (
            1,
            with(1, &|r| {
                r["actions"] = json!([{"field_name": "group_id", "value": 123456}])
            }),
            "group_id",
            "invalid_value",
        ),
        (
            1,
            with(1, &|r| {
                r["actions"][1]
                    .as_object_mut()
                    .expect("action")
                    .remove("email_body");
            }),
            "email_body",
            "missing_field",
        ),
    ];
    for (kind, body, field, code) in &cases {
        refused(&api, *kind, body, field, code);
    }
    // Nothing refused was stored.
    for kind in [1, 3, 4] {
        let listed = api.expect(api.get(&format!("automations/{kind}/rules")), 200, "list");
        assert_eq!(listed, json!([]), "type {kind} holds no refused rule");
    }
    // A PUT is validated whole too: type 1 rules take no events.
    let id = api.created("automations/1/rules", &urgent_rule(1))["id"]
        .as_u64()
        .expect("id");
    let answer = api.expect(
        api.put(
            &format!("automations/1/rules/{id}"),
            &json!({"events": [{"field_name": "reply_sent"}]}),
        ),
        400,
        "PUT with events on type 1",
    );
    assert_eq!(answer["errors"][0]["field"], "events", "{answer}");
}

#[test]
fn an_active_creation_rule_fires_and_emails_and_the_same_rule_inactive_fires_nothing() {
    let api = Api::new();
    let rule = api.created("automations/1/rules", &urgent_rule(1));
    let id = rule["id"].as_u64().expect("id");
    let ticket = |priority: u64| {
        api.created(
            "tickets",
            &json!({"email": "ann@example.com", "subject": "Help", "description": "<p>x</p>", "priority": priority}),
        );
    };
    assert_eq!(api.emulator.rule_executions(), 0);
    ticket(1);
    assert_eq!(
        api.emulator.rule_executions(),
        0,
        "a low ticket does not match priority in [4]"
    );
    assert_eq!(api.emulator.emails_sent(), 0);
    ticket(4);
    assert_eq!(
        api.emulator.rule_executions(),
        1,
        "the urgent ticket fired it"
    );
    assert_eq!(api.emulator.emails_sent(), 1, "its e-mail action was sent");
    api.expect(
        api.put(
            &format!("automations/1/rules/{id}"),
            &json!({"active": false}),
        ),
        200,
        "switch off",
    );
    ticket(4);
    assert_eq!(
        api.emulator.rule_executions(),
        1,
        "an inactive rule never fires"
    );
    assert_eq!(api.emulator.emails_sent(), 1);
}

#[test]
fn only_the_first_matching_creation_rule_runs() {
    let api = Api::new();
    let mut first = urgent_rule(1);
    first["position"] = json!(1);
    let mut second = urgent_rule(1);
    second["name"] = json!("Second");
    second["position"] = json!(2);
    api.created("automations/1/rules", &second);
    api.created("automations/1/rules", &first);
    api.created(
        "tickets",
        &json!({"email": "ann@example.com", "subject": "Help", "priority": 4}),
    );
    assert_eq!(api.emulator.rule_executions(), 1);
    assert_eq!(api.emulator.emails_sent(), 1);
}

#[test]
fn update_rules_fire_on_their_events_and_count_webhooks() {
    let api = Api::new();
    let crm = json!({
        "name": "Resolved to CRM", "performer": {"type": 3},
        "events": [{"field_name": "status", "from": "--", "to": 4}],
        "conditions": [set("condition_set_1", vec![condition("status", "in", json!([4]))])],
        "actions": [{"field_name": "trigger_webhook", "request_type": "POST", "url": "https://crm.example.com/hook",
                     "content_type": "JSON", "content_layout": "2", "content": {"id": "{{ticket.id}}"}}],
    });
    api.created("automations/4/rules", &crm);
    let ticket = api.created(
        "tickets",
        &json!({"email": "ann@example.com", "subject": "Help"}),
    );
    let id = ticket["id"].as_u64().expect("ticket id");
    api.expect(
        api.put(&format!("tickets/{id}"), &json!({"priority": 3})),
        200,
        "update",
    );
    assert_eq!(
        api.emulator.rule_executions(),
        0,
        "a priority change is not the event"
    );
    api.expect(
        api.put(&format!("tickets/{id}"), &json!({"status": 4})),
        200,
        "resolve",
    );
    assert_eq!(api.emulator.rule_executions(), 1);
    assert_eq!(api.emulator.webhooks_called(), 1);
    assert_eq!(api.emulator.emails_sent(), 0, "a webhook is not an e-mail");
    // A note is not a status change.
    api.created(
        &format!("tickets/{id}/notes"),
        &json!({"body": "<p>internal</p>"}),
    );
    assert_eq!(api.emulator.rule_executions(), 1);
}

/// Migrated history is written as notes: a rule listening for public notes fires on them
/// when its performer fits who wrote the note.
#[test]
fn note_rules_fire_only_for_their_performer() {
    let api = Api::new();
    let rule = json!({
        "name": "Customer added a public note", "performer": {"type": 2},
        "events": [{"field_name": "note_type", "value": "public"}],
        "conditions": [set("condition_set_1", vec![condition("status", "in", json!([2, 3]))])],
        "actions": [{"field_name": "send_email_to_agent", "email_to": -1,
                     "email_subject": "New note on #{{ticket.id}}", "email_body": "<p>See it.</p>"}],
    });
    api.created("automations/4/rules", &rule);
    let ticket = api.created(
        "tickets",
        &json!({"email": "ann@example.com", "subject": "Help"}),
    );
    let (id, requester) = (
        ticket["id"].as_u64().expect("id"),
        ticket["requester_id"].as_u64().expect("requester"),
    );
    let note = |body: Value| api.created(&format!("tickets/{id}/notes"), &body);
    note(json!({"body": "<p>agent</p>", "private": false}));
    assert_eq!(
        api.emulator.rule_executions(),
        0,
        "an agent is not the requester"
    );
    note(json!({"body": "<p>hidden</p>", "private": true, "user_id": requester}));
    assert_eq!(
        api.emulator.rule_executions(),
        0,
        "a private note is not a public one"
    );
    note(
        json!({"body": "<p>customer</p>", "private": false, "incoming": true, "user_id": requester}),
    );
    assert_eq!(api.emulator.rule_executions(), 1);
    assert_eq!(api.emulator.emails_sent(), 1);
}

#[test]
fn canned_responses_and_folders_round_trip() {
    let api = Api::new();
    let group = api.group("Billing");
    let folder = api.created(
        "canned_response_folders",
        &json!({"name": "Billing replies"}),
    );
    let folder_id = folder["id"].as_u64().expect("folder id");
    api.expect(
        api.post(
            "canned_response_folders",
            &json!({"name": "billing replies"}),
        ),
        409,
        "a folder name is unique",
    );
    let sent = json!({"title": "Refund issued", "content_html": "<p>Your refund is on its way.</p>",
                      "folder_id": folder_id, "visibility": 2, "group_ids": [group]});
    let created = api.created("canned_responses", &sent);
    let id = created["id"].as_u64().expect("id");
    let read = api.expect(api.get(&format!("canned_responses/{id}")), 200, "GET");
    for key in [
        "title",
        "content_html",
        "folder_id",
        "visibility",
        "group_ids",
    ] {
        assert_eq!(read[key], sent[key], "{key} reads back");
    }
    assert_eq!(read["content"], "Your refund is on its way.");
    let in_folder = api.expect(
        api.get(&format!("canned_response_folders/{folder_id}/responses")),
        200,
        "folder list",
    );
    assert_eq!(in_folder.as_array().map(Vec::len), Some(1));
    let folder = api.expect(
        api.get(&format!("canned_response_folders/{folder_id}")),
        200,
        "folder",
    );
    assert_eq!(folder["responses_count"], 1);
    let updated = api.expect(
        api.put(
            &format!("canned_responses/{id}"),
            &json!({"title": "Refund sent", "visibility": 0, "group_ids": []}),
        ),
        200,
        "PUT",
    );
    assert_eq!(updated["title"], "Refund sent");
    assert_eq!(updated["content_html"], sent["content_html"]);
    for (body, field, code) in [
        (
            json!({"content_html": "<p>x</p>", "folder_id": folder_id}),
            "title",
            "missing_field",
        ),
        (
            json!({"title": "x", "folder_id": folder_id}),
            "content_html",
            "missing_field",
        ),
        (
            json!({"title": "x", "content_html": "<p>x</p>"}),
            "folder_id",
            "missing_field",
        ),
        (
            json!({"title": "x", "content_html": "<p>x</p>", "folder_id": 1}),
            "folder_id",
            "invalid_value",
        ),
        (
            json!({"title": "x", "content_html": "<p>x</p>", "folder_id": folder_id, "visibility": 2}),
            "group_ids",
            "missing_field",
        ),
        (
            json!({"title": "x", "content_html": "<p>x</p>", "folder_id": folder_id, "visibility": 7}),
            "visibility",
            "invalid_value",
        ),
    ] {
        let answer = api.expect(api.post("canned_responses", &body), 400, field);
        assert_eq!(answer["description"], "Validation failed");
        assert!(
            answer["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{field} {code}: {answer}"
        );
    }
    api.expect(api.delete(&format!("canned_responses/{id}")), 204, "DELETE");
    api.expect(api.get(&format!("canned_responses/{id}")), 404, "deleted");
}

#[test]
fn sla_policies_round_trip_beside_the_default_one() {
    let api = Api::new();
    let listed = api.expect(api.get("sla_policies"), 200, "list");
    let defaults: Vec<&Value> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter(|p| p["is_default"] == true)
        .collect();
    assert_eq!(
        defaults.len(),
        1,
        "an account has its default policy: {listed}"
    );
    assert!(defaults[0]["sla_target"]["priority_4"]["respond_within"].is_u64());
    let group = api.group("VIP Support");
    let target = |respond: u64, resolve: u64| json!({"respond_within": respond, "resolve_within": resolve, "business_hours": false, "escalation_enabled": true});
    let sent = json!({
        "name": "VIP", "description": "VIP customers", "active": false,
        "applicable_to": {"group_ids": [group]},
        "sla_target": {"priority_4": target(900, 3600), "priority_3": target(1800, 7200),
                       "priority_2": target(3600, 28800), "priority_1": target(7200, 86400)},
    });
    let created = api.created("sla_policies", &sent);
    let id = created["id"].as_u64().expect("id");
    assert_eq!(created["is_default"], false);
    let read = api.expect(api.get(&format!("sla_policies/{id}")), 200, "GET");
    for key in [
        "name",
        "description",
        "active",
        "applicable_to",
        "sla_target",
    ] {
        assert_eq!(read[key], sent[key], "{key} reads back");
    }
    let updated = api.expect(
        api.put(&format!("sla_policies/{id}"), &json!({"active": true})),
        200,
        "PUT",
    );
    assert_eq!(updated["active"], true);
    assert_eq!(updated["sla_target"], sent["sla_target"]);
    api.expect(
        api.delete(&format!("sla_policies/{id}")),
        405,
        "Freshdesk has no SLA delete",
    );
    let mut three = sent.clone();
    three["sla_target"]
        .as_object_mut()
        .expect("targets")
        .remove("priority_1");
    let mut minutes = sent.clone();
    minutes["sla_target"]["priority_4"]["respond_within"] = json!("15m");
    let mut nowhere = sent.clone();
    nowhere["applicable_to"] = json!({});
    let mut bad_group = sent.clone();
    bad_group["applicable_to"] = json!({"group_ids": [1]});
    for (body, field, code) in [
        (three, "sla_target[:priority_1]", "missing_field"),
        (
            minutes,
            "sla_target[:priority_4][:respond_within]",
            "datatype_mismatch",
        ),
        (nowhere, "applicable_to", "missing_field"),
        (bad_group, "applicable_to[:group_ids]", "invalid_value"),
    ] {
        let answer = api.expect(api.post("sla_policies", &body), 400, field);
        assert!(
            answer["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .any(|e| e["field"] == field && e["code"] == code),
            "{field} {code}: {answer}"
        );
    }
    let default_id = defaults[0]["id"].as_u64().expect("default id");
    api.expect(
        api.put(
            &format!("sla_policies/{default_id}"),
            &json!({"applicable_to": {"group_ids": [group]}}),
        ),
        400,
        "the default policy applies to every ticket",
    );
}

/// The golden rules name groups and agents by placeholder ids; this account's own ids
/// replace them.
const GOLDEN_GROUPS: [(&str, &str); 5] = [
    ("900000000001", "Billing"),
    ("900000000002", "Escalations"),
    ("900000000003", "Tier 2"),
    ("900000000004", "Sales"),
    ("900000000005", "VIP Support"),
];
const GOLDEN_AGENTS: [(&str, &str, &str); 2] = [
    ("800000000001", "Lena Lead", "lead@helpdesk.example"),
    ("800000000002", "Max Manager", "manager@helpdesk.example"),
];

#[test]
fn every_golden_rule_is_accepted_and_reads_back() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/automations.json");
    let mut text = std::fs::read_to_string(&path).expect("the golden automation rules");
    let api = Api::new();
    for (placeholder, name) in GOLDEN_GROUPS {
        text = text.replace(placeholder, &api.group(name).to_string());
    }
    for (placeholder, name, email) in GOLDEN_AGENTS {
        text = text.replace(
            placeholder,
            &api.emulator.add_agent(name, email).to_string(),
        );
    }
    api.created(
        "admin/ticket_fields",
        &json!({"label": "Plan", "type": "custom_dropdown", "choices": ["Gold", "Silver", "Bronze"]}),
    );
    let golden: Vec<Value> = serde_json::from_str(&text).expect("golden JSON");
    let mut per_type = [0usize; 5];
    for rule in &golden {
        let kind = rule["automation_type_id"]
            .as_u64()
            .expect("automation_type_id");
        let mut body = rule.clone();
        body.as_object_mut()
            .expect("rule")
            .remove("automation_type_id");
        let answer = api.post(&format!("automations/{kind}/rules"), &body);
        let status = answer.status().as_u16();
        let served: Value = answer.json().expect("json");
        assert_eq!(status, 201, "{} refused: {served}", rule["name"]);
        assert_eq!(served["name"], rule["name"]);
        assert_eq!(served["conditions"], rule["conditions"], "{}", rule["name"]);
        per_type[kind as usize] += 1;
    }
    for kind in [1, 3, 4] {
        let listed = api.expect(api.get(&format!("automations/{kind}/rules")), 200, "list");
        assert_eq!(
            listed.as_array().map(Vec::len),
            Some(per_type[kind as usize]),
            "type {kind} holds every golden rule of its type"
        );
    }
    assert!(
        per_type[1] >= 3 && per_type[3] >= 3 && per_type[4] >= 3,
        "the golden set covers each type: {per_type:?}"
    );
}

/// A PUT validates the whole rule, so the seeded rules must be valid Freshdesk rules: a
/// migration switches them off before its run.
#[test]
fn seeded_rules_can_be_switched_off() {
    let api = Api {
        emulator: FreshdeskEmulator::start(EmulatorConfig::small(3)).expect("start"),
        client: Client::new(),
    };
    let mut seen = 0;
    for kind in [1, 3] {
        let listed = api.expect(api.get(&format!("automations/{kind}/rules")), 200, "list");
        for rule in listed.as_array().expect("array") {
            let id = rule["id"].as_u64().expect("id");
            let off = api.expect(
                api.put(
                    &format!("automations/{kind}/rules/{id}"),
                    &json!({"active": false}),
                ),
                200,
                &format!("switching off {}", rule["name"]),
            );
            assert_eq!(off["active"], false);
            seen += 1;
        }
    }
    assert!(seen >= 2, "the small account has rules to switch off");
}
