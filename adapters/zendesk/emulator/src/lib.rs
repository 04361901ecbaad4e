//! A loopback emulator of the Zendesk Support API v2 (and Help Center), built on the
//! emulator kit (`switchover-sandbox`).
//!
//! It stores Zendesk-shaped JSON generated from the kit's canonical seed data through its
//! own conversion (`convert.rs`): it shares no types with the adapter, so the adapter's
//! bugs show. Seeded records are generated on demand from their index; only what clients
//! write is held in memory, so 100,000 tickets cost nothing until read.
//!
//! Served (paths with or without `.json`, under `/api/v2/`):
//! - auth: `Basic {email}/token:{api_token}` (any active user's email: agents act as agents,
//!   end users get 403), `Bearer {oauth_token}` (admin); everything else 401
//!   `{"error":"Couldn't authenticate you"}`; `users/me` without credentials answers the
//!   anonymous user with 200, as recorded.
//! - users (list with `role`/`role[]`, show, `me`, `show_many?ids=|external_ids=`,
//!   `search?external_id=|query=`, create, `create_or_update`, `create_many`,
//!   `create_or_update_many`, `update_many`, update, soft delete, `destroy_many`);
//!   organizations (the same plus `autocomplete`, unique names); groups; group memberships
//!   (agents only, 422 `RecordInvalid` for an end user; `create_many`; listed per user
//!   `users/{id}/group_memberships` and per group `groups/{id}/memberships`; `make_default`,
//!   one default group per agent); ticket/user/organization fields (system ticket fields listed first,
//!   unique `key`); tickets (list without archived, show, `show_many`, `?external_id=`,
//!   create with `comment`/`description`/`requester`, `create_many`, update, delete, `destroy_many`,
//!   `include=users,groups,organizations,metric_sets`); comments (`attachments` with
//!   `content_url`, inline images pointing at them); uploads (`?filename=&token=`, 201 with a
//!   text/plain content type as recorded) and attachment content behind auth;
//!   `imports/tickets` and `imports/tickets/create_many` (admin only, keep `created_at`,
//!   `updated_at`, `solved_at`, comment authors, timestamps and uploads,
//!   `archive_immediately`, no triggers); satisfaction ratings; macros, triggers,
//!   automations (time condition required), views, SLA policies, webhooks (ULID-like ids,
//!   204 on update, secrets never echoed, `filter[name_contains]`); Help Center categories,
//!   sections, articles (locale prefix optional, HC paging envelope; an article create needs
//!   `permission_group_id` of an existing group (`guide/permission_groups` lists the
//!   built-in `Admins` one), `user_segment_id` (null: everyone) and an enabled `locale`
//!   (`help_center/locales`), its author defaults to the caller; the article update changes
//!   metadata only, title, body and draft change through `articles/{id}/translations/
//!   {locale}`), article translations (list, show, create in an enabled locale not yet
//!   used, update, delete), article attachments (multipart `file` and `inline`, at most
//!   20 MB, content at `/hc/article_attachments/{id}/{name}` behind auth); job statuses
//!   (`queued` on creation, `working` on the first poll, `completed` with per-item
//!   `results` on the second); incremental exports (`tickets/cursor`, `tickets`,
//!   `users/cursor`, `users`, `organizations`, `ticket_events` with `include=comment_events`;
//!   deleted tickets with `status: deleted`);
//!   the search API for `type:` plus `external_id:`/`email:`/`name:`, and `search/count`.
//!
//! Strict where Zendesk is: auth on every endpoint including attachment content;
//! `page[size]` above 100 -> 400; offset paging beyond 10,000 records -> 400
//! `InvalidPaginationDepth` (Help Center: `LimitError`); ≤100 items per bulk call and per
//! `show_many`; required fields -> 422 `RecordInvalid` with `details`; references (requester,
//! assignee, group, organization, custom field ids, comment authors, upload tokens) must
//! exist; closed/archived tickets refuse updates; incremental `start_time` must be at
//! least a minute old; unknown attributes and query parameters are ignored. With `rpm`
//! set: an account budget answering 429 + `Retry-After` (text body), rate headers in both
//! recorded spellings on every response, and incremental exports limited to 10/minute.
//!
//! Unverified wording: the 422 details for a disabled locale, a second translation in one
//! locale, an unknown permission group or user segment, and an oversized article
//! attachment follow the documented `RecordInvalid` shape; their text is the emulator's.
//!
//! Lenient, knowingly: bulk jobs are applied when queued (results show on completion);
//! a second membership of the same agent in the same group is accepted (Zendesk's answer
//! is not documented; accepting it makes a client's duplicate visible); a locale-prefixed
//! article path answers in the article's source locale;
//! there is no per-endpoint limit other than incremental exports; sideloads other than
//! those listed are ignored; ticket events are one `Create` per ticket (first comment as
//! child); audits, tags endpoints, ticket forms, brands and `tickets/update_many` are not
//! served (404).

#![deny(missing_docs)]

mod api;
mod convert;
mod state;
mod store;

use std::sync::{Arc, Mutex};

use switchover_sandbox::{
    EmulatorConfig, EmulatorSpec, Gate, RateHeaders, Request, RunningEmulator, SandboxError, Server,
};

/// A running Zendesk emulator; stops when dropped.
pub struct ZendeskEmulator {
    server: Server,
    api: Arc<api::Api>,
    email: String,
    api_token: String,
    oauth_token: String,
}

/// The admin agent's email.
const ADMIN_EMAIL: &str = "admin@switchover.example";

impl ZendeskEmulator {
    /// Starts the emulator with this configuration on 127.0.0.1.
    pub fn start(config: EmulatorConfig) -> Result<ZendeskEmulator, SandboxError> {
        let api_token = format!(
            "zd-token-{:016x}",
            switchover_sandbox::rng::hash(config.seed, "api-token", 0)
        );
        let oauth_token = format!(
            "zd-oauth-{:016x}",
            switchover_sandbox::rng::hash(config.seed, "oauth", 0)
        );
        let gate = Gate::new(
            config.rpm,
            rate_headers(),
            config.faults.clone(),
            config.seed,
        );
        let generator = switchover_sandbox::generate::Generator::new(&config);
        // Bind first: URLs in responses carry the real port.
        let listener = Server::bind(config.port)?;
        let port = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { source })?
            .port();
        let api = Arc::new(api::Api {
            state: Mutex::new(state::State::new(
                generator,
                format!("http://127.0.0.1:{port}"),
            )),
            api_token: api_token.clone(),
            oauth_token: oauth_token.clone(),
            incremental: config
                .rpm
                .map(|_| switchover_sandbox::Budget::per_minute(10)),
        });
        let handler_api = api.clone();
        let handler =
            Arc::new(move |request: &Request| gate.serve(request, |r| handler_api.handle(r)));
        let server = Server::serve(listener, handler)?;
        Ok(ZendeskEmulator {
            server,
            api,
            email: ADMIN_EMAIL.into(),
            api_token,
            oauth_token,
        })
    }

    /// `http://127.0.0.1:PORT`; the API is under `/api/v2/`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The admin agent's email.
    pub fn email(&self) -> String {
        self.email.clone()
    }

    /// A valid API token, used as `{email}/token:{api_token}`.
    pub fn api_token(&self) -> String {
        self.api_token.clone()
    }

    /// A valid OAuth bearer token.
    pub fn oauth_token(&self) -> String {
        self.oauth_token.clone()
    }

    /// Requests answered so far.
    pub fn requests_served(&self) -> u64 {
        self.server.requests_served()
    }

    /// Runs Zendesk's archiving: every closed ticket is archived (Zendesk does it some
    /// time after closing, to imported historical tickets too): `GET /tickets` no longer
    /// lists them and they refuse updates. Returns how many were archived.
    pub fn archive_closed_tickets(&self) -> usize {
        let mut st = match self.api.state.lock() {
            Ok(st) => st,
            Err(poisoned) => poisoned.into_inner(),
        };
        let closed: Vec<u64> = st
            .col(store::K::Tickets)
            .overlay
            .iter()
            .filter_map(|(id, v)| {
                v.as_ref()
                    .filter(|t| t["status"] == serde_json::json!("closed"))
                    .map(|_| *id)
            })
            .collect();
        let count = closed.len();
        st.archived.extend(closed);
        count
    }

    /// How many ticket creates/updates ran triggers (the Ticket Import API never does).
    pub fn trigger_runs(&self) -> u64 {
        match self.api.state.lock() {
            Ok(st) => st.trigger_runs,
            Err(poisoned) => poisoned.into_inner().trigger_runs,
        }
    }
}

fn rate_headers() -> RateHeaders {
    RateHeaders {
        limit: vec!["X-Rate-Limit".into(), "ratelimit-limit".into()],
        remaining: vec![
            "X-Rate-Limit-Remaining".into(),
            "ratelimit-remaining".into(),
        ],
        reset: vec!["ratelimit-reset".into()],
    }
}

impl RunningEmulator for ZendeskEmulator {
    fn base_url(&self) -> String {
        ZendeskEmulator::base_url(self)
    }

    fn credentials(&self) -> Vec<String> {
        vec![
            format!("email:      {}", self.email),
            format!(
                "api token:  {}   (basic auth user \"{}/token\")",
                self.api_token, self.email
            ),
            format!("oauth:      Authorization: Bearer {}", self.oauth_token),
        ]
    }

    fn requests_served(&self) -> u64 {
        ZendeskEmulator::requests_served(self)
    }
    fn requests_rate_limited(&self) -> u64 {
        self.server.requests_rate_limited()
    }
    fn requests_in_flight(&self) -> u64 {
        self.server.requests_in_flight()
    }
    fn requests_by_endpoint(&self) -> Vec<(String, u64)> {
        self.server.requests_by_endpoint()
    }
}

fn start_boxed(config: EmulatorConfig) -> Result<Box<dyn RunningEmulator>, SandboxError> {
    Ok(Box::new(ZendeskEmulator::start(config)?))
}

/// The registry entry for the CLI.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        name: "zendesk",
        summary: "Zendesk Support API v2 + Help Center (email/token and OAuth auth, cursor and offset paging, incremental exports, job statuses, Ticket Import API)",
        start: start_boxed,
    }
}
