//! The emulator's behaviour, through HTTP.

#![allow(clippy::unwrap_used)]

use reqwest::blocking::{Client, Response};
use serde_json::{Value, json};
use switchover_helpscout_emulator::{HelpScoutEmulator, spec};
use switchover_sandbox::EmulatorConfig;
use switchover_sandbox::auth::{b64, unb64};

struct Api {
    emu: HelpScoutEmulator,
    client: Client,
    token: String,
}

fn grant(emu: &HelpScoutEmulator, client: &Client) -> String {
    let response = client
        .post(format!("{}/v2/oauth2/token", emu.base_url()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", emu.client_id().as_str()),
            ("client_secret", emu.client_secret().as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 172800);
    body["access_token"].as_str().unwrap().to_string()
}

impl Api {
    fn new(config: EmulatorConfig) -> Api {
        let emu = HelpScoutEmulator::start(config).unwrap();
        let client = Client::new();
        let token = grant(&emu, &client);
        Api { emu, client, token }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2{path}", self.emu.base_url())
    }

    fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .unwrap()
    }

    fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }

    fn send(&self, method: &str, path: &str, body: &Value) -> Response {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client
            .request(m, self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap()
    }

    /// Creates and returns the new id, checking the create contract.
    fn create(&self, path: &str, body: &Value) -> u64 {
        let r = self.send("POST", path, body);
        assert_eq!(r.status(), 201, "POST {path}: {:?}", r.text());
        let id: u64 = r
            .headers()
            .get("resource-id")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let location = r
            .headers()
            .get("location")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(location.starts_with("http://127.0.0.1:"), "{location}");
        assert!(location.ends_with(&id.to_string()), "{location}");
        assert!(r.bytes().unwrap().is_empty());
        id
    }

    fn support(&self) -> u64 {
        let boxes = self.json("/mailboxes");
        boxes["_embedded"]["mailboxes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "Support")
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    }
}

fn conversation(mailbox: u64, email: &str, imported: bool) -> Value {
    json!({
        "subject": "Refund request", "mailboxId": mailbox, "type": "email", "status": "active",
        "imported": imported, "customer": {"email": email, "firstName": "Ann", "lastName": "Lee"},
        "threads": [
            {"type": "customer", "customer": {"email": email}, "text": "<p>I want a refund</p>", "imported": imported},
            {"type": "reply", "customer": {"email": email}, "text": "Refund issued.", "imported": imported},
        ],
    })
}

#[test]
fn tokens_are_granted_refused_and_expired() {
    let api = Api::new(EmulatorConfig::empty());
    let base = api.emu.base_url();
    let bad = api
        .client
        .post(format!("{base}/v2/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nope"),
            ("client_secret", "nope"),
        ])
        .send()
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(bad.json::<Value>().unwrap()["error"], "invalid_client");
    let grant_type = api
        .client
        .post(format!("{base}/v2/oauth2/token"))
        .form(&[("grant_type", "password")])
        .send()
        .unwrap();
    assert_eq!(grant_type.status(), 400);
    let missing = api
        .client
        .get(format!("{base}/v2/users/me"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert!(
        missing.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("vnd.error")
    );
    let body: Value = missing.json().unwrap();
    assert!(body["logRef"].is_string() && body["message"].is_string());
    let unknown = api
        .client
        .get(format!("{base}/v2/users/me"))
        .bearer_auth("not-a-token")
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let me = api.json("/users/me");
    assert_eq!(me["role"], "owner");
    assert_eq!(me["type"], "user");
    api.emu.expire_tokens();
    assert_eq!(api.get("/users/me").status(), 401);
    let fresh = grant(&api.emu, &api.client);
    let again = api
        .client
        .get(format!("{base}/v2/users/me"))
        .bearer_auth(fresh)
        .send()
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(spec().name, "helpscout");
}

#[test]
fn conversations_page_by_25_with_hal_links() {
    let api = Api::new(EmulatorConfig::small(3));
    let all = api.json("/conversations?status=all");
    let total = all["page"]["totalElements"].as_u64().unwrap();
    assert_eq!(total, 50);
    assert_eq!(all["page"]["size"], 25);
    assert_eq!(all["page"]["totalPages"], 2);
    assert_eq!(
        all["_embedded"]["conversations"].as_array().unwrap().len(),
        25
    );
    assert!(
        all["_links"]["next"]["href"]
            .as_str()
            .unwrap()
            .contains("page=2")
    );
    assert!(
        all["_links"]["next"]["href"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    assert!(all["_links"].get("previous").is_none());
    assert_eq!(all["_links"]["page"]["templated"], true);
    let second = api.json("/conversations?status=all&page=2&size=100");
    assert_eq!(
        second["_embedded"]["conversations"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
    assert!(second["_links"].get("next").is_none());
    assert!(second["_links"]["previous"].is_object());
    let past = api.json("/conversations?status=all&page=3");
    assert!(past.get("_embedded").is_none());
    assert_eq!(past["page"]["totalElements"], 50);
    assert_eq!(past["page"]["number"], 3);
    // Default status is active only.
    let active = api.json("/conversations");
    assert!(active["page"]["totalElements"].as_u64().unwrap() < total);
    let c = &all["_embedded"]["conversations"][0];
    assert!(c["threads"].is_u64());
    assert!(c["primaryCustomer"]["id"].is_u64());
    let one = api.json(&format!("/conversations/{}?embed=threads", c["id"]));
    assert!(!one["_embedded"]["threads"].as_array().unwrap().is_empty());
    // Seeded shapes.
    let customers = api.json("/customers");
    assert_eq!(customers["page"]["size"], 50);
    assert!(customers["_embedded"]["customers"][0]["_embedded"]["emails"].is_array());
    let fields = api.json(&format!("/mailboxes/{}/fields", api.support()));
    assert!(
        fields["_embedded"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["type"] == "dropdown")
    );
    assert!(api.json("/tags")["_embedded"]["tags"].is_array());
    assert!(api.json("/workflows")["_embedded"]["workflows"].is_array());
    assert!(api.json("/webhooks")["_embedded"]["webhooks"].is_array());
    assert!(api.json("/organizations")["_embedded"]["organizations"].is_array());
    let ratings =
        api.json("/reports/happiness/ratings?start=2018-01-01T00:00:00Z&end=2030-01-01T00:00:00Z");
    let first = &ratings["results"][0];
    let rating = api.json(&format!("/ratings/{}", first["ratingDbId"]));
    assert_eq!(rating["conversationId"], first["id"]);
    let saved = api.json(&format!("/mailboxes/{}/saved-replies", api.support()));
    assert_eq!(saved.as_array().unwrap().len(), 3);
}

#[test]
fn an_empty_account_has_the_owner_and_support() {
    let api = Api::new(EmulatorConfig::empty());
    assert_eq!(api.json("/users")["page"]["totalElements"], 1);
    assert_eq!(api.json("/mailboxes")["page"]["totalElements"], 1);
    let customers = api.json("/customers");
    assert!(customers.get("_embedded").is_none());
    assert_eq!(customers["page"]["totalElements"], 0);
    assert_eq!(api.send("POST", "/users", &json!({})).status(), 405);
    assert_eq!(api.get("/customers/999999999").status(), 404);
    let uid = api.emu.add_user("Bo", "Jo", "bo@example.com");
    let found = api.json("/users?email=bo@example.com");
    assert_eq!(found["_embedded"]["users"][0]["id"], uid);
}

#[test]
fn imported_conversations_keep_times_and_send_nothing() {
    let api = Api::new(EmulatorConfig::empty());
    let mailbox = api.support();
    let mut body = conversation(mailbox, "ann@example.com", true);
    body["createdAt"] = json!("2019-03-01T10:00:00Z");
    body["closedAt"] = json!("2019-03-03T17:00:00Z");
    body["status"] = json!("closed");
    body["threads"][0]["createdAt"] = json!("2019-03-01T10:00:00Z");
    body["threads"][1]["createdAt"] = json!("2019-03-03T17:00:00Z");
    let id = api.create("/conversations", &body);
    assert_eq!(api.emu.emails_sent(), 0);
    let c = api.json(&format!("/conversations/{id}?embed=threads"));
    assert_eq!(c["createdAt"], "2019-03-01T10:00:00Z");
    assert_eq!(c["closedAt"], "2019-03-03T17:00:00Z");
    assert_eq!(c["threads"], 2);
    let threads = c["_embedded"]["threads"].as_array().unwrap();
    let reply = threads.iter().find(|t| t["type"] == "message").unwrap();
    assert_eq!(reply["body"], "Refund issued.");
    assert_eq!(reply["createdAt"], "2019-03-03T17:00:00Z");
    assert!(reply.get("text").is_none());
    assert!(threads.iter().any(|t| t["type"] == "customer"));
    let listed = api.json(&format!("/conversations/{id}/threads"));
    assert_eq!(listed["_embedded"]["threads"].as_array().unwrap().len(), 2);
    // The same reply without imported is an email.
    let id2 = api.create(
        "/conversations",
        &conversation(mailbox, "ann@example.com", false),
    );
    assert_eq!(api.emu.emails_sent(), 1);
    // The known email matched the first customer.
    let c2 = api.json(&format!("/conversations/{id2}"));
    assert_eq!(c2["primaryCustomer"]["id"], c["primaryCustomer"]["id"]);
    // Thread createdAt without imported is refused, naming the path.
    let mut bad = conversation(mailbox, "ann@example.com", false);
    bad["threads"][0]["createdAt"] = json!("2019-03-01T10:00:00Z");
    let r = api.send("POST", "/conversations", &bad);
    assert_eq!(r.status(), 400);
    let e: Value = r.json().unwrap();
    assert_eq!(e["message"], "Bad request");
    assert_eq!(e["_embedded"]["errors"][0]["path"], "threads[0].createdAt");
    assert_eq!(e["_embedded"]["errors"][0]["source"], "JSON");
    // Malformed dates.
    let mut frac = conversation(mailbox, "ann@example.com", true);
    frac["createdAt"] = json!("2019-03-01T10:00:00.000Z");
    let r = api.send("POST", "/conversations", &frac);
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().unwrap()["_embedded"]["errors"][0]["message"],
        "Malformed date"
    );
    // A later reply thread counts; a note does not; imported does not.
    let tid_r = api.send(
        "POST",
        &format!("/conversations/{id}/reply"),
        &json!({"customer": {"id": c["primaryCustomer"]["id"]}, "text": "More"}),
    );
    assert_eq!(tid_r.status(), 201);
    assert!(tid_r.headers().get("resource-id").is_some());
    assert_eq!(api.emu.emails_sent(), 2);
    api.create(
        &format!("/conversations/{id}/notes"),
        &json!({"text": "internal"}),
    );
    api.create(
        &format!("/conversations/{id}/reply"),
        &json!({"customer": {"id": c["primaryCustomer"]["id"]}, "text": "Old", "imported": true}),
    );
    assert_eq!(api.emu.emails_sent(), 2);
    // PATCH and DELETE.
    let r = api.send(
        "PATCH",
        &format!("/conversations/{id}"),
        &json!({"op": "replace", "path": "/subject", "value": "New"}),
    );
    assert_eq!(r.status(), 204);
    assert_eq!(api.json(&format!("/conversations/{id}"))["subject"], "New");
    assert_eq!(
        api.send("DELETE", &format!("/conversations/{id2}"), &json!({}))
            .status(),
        204
    );
    assert_eq!(api.get(&format!("/conversations/{id2}")).status(), 404);
}

#[test]
fn fields_tags_and_attachments() {
    let api = Api::new(EmulatorConfig::empty());
    let mailbox = api.support();
    let plan = api
        .emu
        .add_custom_field(mailbox, "Plan", "dropdown", &["Gold", "Silver"]);
    let fields = api.json(&format!("/mailboxes/{mailbox}/fields"));
    let gold = fields["_embedded"]["fields"][0]["options"][0]["id"]
        .as_u64()
        .unwrap();
    let mut body = conversation(mailbox, "cy@example.com", true);
    body["fields"] = json!([{"id": plan, "value": "Gold"}]);
    let r = api.send("POST", "/conversations", &body);
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().unwrap()["_embedded"]["errors"][0]["path"],
        "fields[0].value"
    );
    body["fields"] = json!([{"id": plan, "value": gold.to_string()}]);
    body["tags"] = json!(["vip", "refund"]);
    let data = b"hello \x00 world".to_vec();
    body["threads"][1]["attachments"] =
        json!([{"fileName": "a.bin", "mimeType": "application/octet-stream", "data": b64(&data)}]);
    let id = api.create("/conversations", &body);
    let c = api.json(&format!("/conversations/{id}?embed=threads"));
    assert_eq!(c["customFields"][0]["value"], gold.to_string());
    assert_eq!(c["customFields"][0]["text"], "Gold");
    assert_eq!(c["tags"].as_array().unwrap().len(), 2);
    let r = api.send(
        "PUT",
        &format!("/conversations/{id}/tags"),
        &json!({"tags": ["billing"]}),
    );
    assert_eq!(r.status(), 204);
    let c2 = api.json(&format!("/conversations/{id}"));
    let tags: Vec<&str> = c2["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["billing"]);
    let reply = c["_embedded"]["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "message")
        .unwrap()
        .clone();
    let att = &reply["_embedded"]["attachments"][0];
    assert_eq!(att["filename"], "a.bin");
    assert_eq!(att["size"], data.len());
    let href = att["_links"]["data"]["href"].as_str().unwrap();
    let got: Value = api
        .client
        .get(href)
        .bearer_auth(&api.token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(unb64(got["data"].as_str().unwrap()).unwrap(), data);
    let more = api.create(
        &format!("/conversations/{id}/threads/{}/attachments", reply["id"]),
        &json!({"fileName": "b.txt", "mimeType": "text/plain", "data": b64(b"second")}),
    );
    let got: Value = api.json(&format!("/conversations/{id}/attachments/{more}/data"));
    assert_eq!(unb64(got["data"].as_str().unwrap()).unwrap(), b"second");
    assert_eq!(
        api.send(
            "DELETE",
            &format!("/conversations/{id}/attachments/{more}"),
            &json!({})
        )
        .status(),
        204
    );
    assert_eq!(
        api.get(&format!("/conversations/{id}/attachments/{more}/data"))
            .status(),
        404
    );
    let big = vec![0u8; 10 * 1024 * 1024 + 1];
    let r = api.send(
        "POST",
        &format!("/conversations/{id}/threads/{}/attachments", reply["id"]),
        &json!({"fileName": "big", "mimeType": "text/plain", "data": b64(&big)}),
    );
    assert_eq!(r.status(), 413);
}

#[test]
fn writes_count_double_against_the_minute() {
    let mut config = EmulatorConfig::empty();
    config.rpm = Some(10);
    let api = Api::new(config);
    let mut remaining = Vec::new();
    for i in 0..5 {
        let r = api.send(
            "POST",
            "/organizations",
            &json!({"name": format!("Org {i}")}),
        );
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-ratelimit-limit-minute"], "10");
        remaining.push(
            r.headers()["x-ratelimit-remaining-minute"]
                .to_str()
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    assert_eq!(remaining, vec![8, 6, 4, 2, 0]);
    let r = api.get("/organizations");
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["x-ratelimit-retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(
        r.json::<Value>().unwrap()["message"],
        "API rate limit exceeded"
    );
}

#[test]
fn customers_search_duplicates_and_limits() {
    let api = Api::new(EmulatorConfig::empty());
    let org = api.create(
        "/organizations",
        &json!({"name": "Globex", "domain": "globex.example", "phones": ["+1 555"]}),
    );
    let id = api.create(
        "/customers",
        &json!({"firstName": "Ann", "lastName": "Lee", "organizationId": org,
                "emails": [{"type": "work", "value": "ann@globex.example"}],
                "phones": [{"type": "work", "value": "+1 555 0100"}]}),
    );
    api.create(
        "/customers",
        &json!({"firstName": "Bob", "emails": [{"type": "home", "value": "bob@example.com"}]}),
    );
    let found = api.json("/customers?query=(email:%22ann@globex.example%22)");
    assert_eq!(found["page"]["totalElements"], 1);
    let c = &found["_embedded"]["customers"][0];
    assert_eq!(c["id"], id);
    assert_eq!(c["organization"], "Globex");
    assert_eq!(c["organizationId"], org);
    let dup = api.send(
        "POST",
        "/customers",
        &json!({"firstName": "X", "emails": [{"type": "work", "value": "ANN@globex.example"}]}),
    );
    assert_eq!(dup.status(), 409);
    let long = api.send("POST", "/customers", &json!({"firstName": "A".repeat(41)}));
    assert_eq!(long.status(), 400);
    assert_eq!(
        long.json::<Value>().unwrap()["_embedded"]["errors"][0]["path"],
        "firstName"
    );
    let bg = api.send(
        "POST",
        "/customers",
        &json!({"firstName": "A", "background": "b".repeat(201)}),
    );
    assert_eq!(
        bg.json::<Value>().unwrap()["_embedded"]["errors"][0]["path"],
        "background"
    );
    let eid = api.create(
        &format!("/customers/{id}/emails"),
        &json!({"type": "other", "value": "ann2@globex.example"}),
    );
    let got = api.json(&format!("/customers/{id}"));
    assert_eq!(got["_embedded"]["emails"].as_array().unwrap().len(), 2);
    assert_eq!(
        api.send(
            "DELETE",
            &format!("/customers/{id}/emails/{eid}"),
            &json!({})
        )
        .status(),
        204
    );
    assert_eq!(
        api.send(
            "PATCH",
            &format!("/customers/{id}"),
            &json!({"jobTitle": "CTO"})
        )
        .status(),
        204
    );
    assert_eq!(api.json(&format!("/customers/{id}"))["jobTitle"], "CTO");
    let org_json = api.json(&format!("/organizations/{org}?includeCounts=true"));
    assert_eq!(org_json["domains"], json!(["globex.example"]));
    assert_eq!(org_json["customerCount"], 1);
}

#[test]
fn docs_api_basic_auth_and_crud() {
    let emu = HelpScoutEmulator::start(EmulatorConfig::empty()).unwrap();
    let client = Client::new();
    let base = format!("{}/v1", emu.base_url());
    let key = emu.docs_api_key();
    assert_eq!(
        client
            .get(format!("{base}/collections"))
            .send()
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .get(format!("{base}/collections"))
            .basic_auth("wrong", Some("X"))
            .send()
            .unwrap()
            .status(),
        401
    );
    let r = client
        .post(format!("{base}/collections?reload=true"))
        .basic_auth(&key, Some("X"))
        .json(&json!({"name": "Guides", "visibility": "public"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.headers().get("location").is_some());
    let collection = r.json::<Value>().unwrap()["collection"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = client
        .post(format!("{base}/categories"))
        .basic_auth(&key, Some("X"))
        .json(&json!({"collectionId": collection, "name": "Setup"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let category = r.headers()["location"]
        .to_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let r = client
        .post(format!("{base}/articles?reload=true"))
        .basic_auth(&key, Some("X"))
        .json(&json!({"collectionId": collection, "categories": [category], "name": "Install", "text": "<p>Run it</p>", "status": "published", "tags": ["setup"]}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let article = r.json::<Value>().unwrap()["article"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let list: Value = client
        .get(format!("{base}/collections"))
        .basic_auth(&key, Some("X"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list["collections"]["count"], 1);
    assert_eq!(list["collections"]["items"][0]["articleCount"], 1);
    let cats: Value = client
        .get(format!("{base}/collections/{collection}/categories"))
        .basic_auth(&key, Some("X"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(cats["categories"]["items"][0]["id"], category.as_str());
    let arts: Value = client
        .get(format!("{base}/categories/{category}/articles"))
        .basic_auth(&key, Some("X"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(arts["articles"]["items"][0]["id"], article.as_str());
    assert!(arts["articles"]["items"][0].get("text").is_none());
    let full: Value = client
        .get(format!("{base}/articles/{article}"))
        .basic_auth(&key, Some("X"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(full["article"]["text"], "<p>Run it</p>");
    assert_eq!(full["article"]["keywords"], json!(["setup"]));
}

/// Field names the v2 objects kept from the recorded v1 objects. Dropped or renamed, per
/// `vendor-apis.md` §3: `modifiedAt` became `updatedAt` (§3.6.4, §3.6.5); `fullName` is not
/// in the v2 objects (§3.6.4/§3.6.5 list only first and last names); v1 customer entries
/// (`emails`, `phones`, `address`, `socialProfiles`, `chats`, `websites`) moved under
/// `_embedded`/`_links` (§3.6.4); v1 mailbox `folders` moved to `/mailboxes/{id}/folders`
/// (§3.6.5); v1 conversation `owner` became `assignee`, `mailbox` became `mailboxId`,
/// `customer` became `primaryCustomer`, `threadCount` became `threads` (a count),
/// `isDraft` became `state`, `tags` became objects (§3.6.1), `threads` (an array in v1)
/// moved to `_embedded.threads`.
const KEPT: &[(&str, &[&str])] = &[
    (
        "test_apis_customers_get.json",
        &[
            "id",
            "firstName",
            "lastName",
            "photoUrl",
            "photoType",
            "gender",
            "age",
            "organization",
            "jobTitle",
            "location",
            "createdAt",
            "background",
        ],
    ),
    (
        "test_apis_users_get.json",
        &[
            "id",
            "firstName",
            "lastName",
            "email",
            "role",
            "timezone",
            "photoUrl",
            "createdAt",
            "type",
        ],
    ),
    (
        "test_apis_mailboxes_get.json",
        &["id", "slug", "name", "email", "createdAt"],
    ),
    (
        "test_apis_conversations_get.json",
        &[
            "id",
            "type",
            "folderId",
            "number",
            "status",
            "subject",
            "preview",
            "createdBy",
            "createdAt",
            "closedAt",
            "source",
            "cc",
            "bcc",
        ],
    ),
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[test]
fn v2_objects_keep_the_recorded_v1_field_names_and_types() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../tests/fixtures/python-helpscout/_decoded"
    );
    let api = Api::new(EmulatorConfig::small(5));
    let customer = api.json("/customers")["_embedded"]["customers"][0]["id"].clone();
    let conv =
        api.json("/conversations?status=closed")["_embedded"]["conversations"][0]["id"].clone();
    let mut rate_headers = Vec::new();
    for (file, kept) in KEPT {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let records: Value = serde_json::from_str(&text).unwrap();
        let record = records
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["body"]["item"].is_object())
            .unwrap();
        for name in record["headers"].as_object().unwrap().keys() {
            if name.starts_with("x-ratelimit")
                && name.ends_with("-minute")
                && !name.contains("interval")
            {
                rate_headers.push(name.clone());
            }
        }
        let recorded = &record["body"]["item"];
        let path = match *file {
            "test_apis_customers_get.json" => format!("/customers/{customer}"),
            "test_apis_users_get.json" => "/users/me".to_string(),
            "test_apis_mailboxes_get.json" => format!("/mailboxes/{}", api.support()),
            _ => format!("/conversations/{conv}"),
        };
        let ours = api.json(&path);
        for field in *kept {
            assert!(
                recorded.get(*field).is_some(),
                "{file}: recorded has no {field}"
            );
            assert!(
                ours.get(*field).is_some(),
                "{file}: emulator has no {field}"
            );
            let (a, b) = (kind(&recorded[*field]), kind(&ours[*field]));
            assert!(
                a == b || a == "null" || b == "null",
                "{file}: {field} is {a} recorded, {b} here"
            );
        }
    }
    rate_headers.sort();
    rate_headers.dedup();
    assert_eq!(
        rate_headers,
        vec!["x-ratelimit-limit-minute", "x-ratelimit-remaining-minute"]
    );
    let mut config = EmulatorConfig::empty();
    config.rpm = Some(100);
    let limited = Api::new(config);
    let r = limited.get("/users/me");
    for name in &rate_headers {
        assert!(r.headers().get(name.as_str()).is_some(), "{name} not sent");
    }
}
