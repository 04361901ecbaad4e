//! A loopback emulator of the Help Scout Mailbox API 2.0 (under `/v2`) and of the Docs API
//! (under `/v1`) on one server, built on the emulator kit (`../shared/vendor-apis.md` §3).
//! It stores Help Scout-shaped JSON converted from the kit's canonical seed data by its own
//! code and shares no types with the adapter, so the adapter's mistakes show.
//!
//! What it enforces (Mailbox API):
//! - auth: `POST /v2/oauth2/token` (form or JSON, `grant_type=client_credentials`) issues
//!   opaque bearer tokens (`expires_in` 172800); a bad client is 401 `invalid_client`, other
//!   grants 400 `unsupported_grant_type`. Every other call needs `Authorization: Bearer`;
//!   missing, unknown or expired ([`HelpScoutEmulator::expire_tokens`]) tokens are 401 with
//!   a `vnd.error` body. The token endpoint costs nothing from the budget.
//! - rate limit (when `rpm` is set): a per-minute budget where GET costs 1 and
//!   POST/PUT/PATCH/DELETE cost 2 (the kit's budget has no weights, so the weighting lives
//!   here); `X-RateLimit-Limit-Minute` / `X-RateLimit-Remaining-Minute` on every answer; past
//!   it 429 `{"message":"API rate limit exceeded"}` with `X-RateLimit-Retry-After`. A write
//!   that would need 2 with 1 left is refused. Unauthenticated calls spend nothing.
//! - HAL: `application/hal+json`; lists carry `_embedded.<plural>`, `_links` (absolute
//!   `self`, `first`, `last`, `next`/`previous` only when such a page exists, templated
//!   `page`) and `page`; `_embedded` is left out on an empty page; the page size is fixed
//!   (50, conversations 25; `size`/`per_page` are ignored); a page past the last is empty
//!   with the right totals; a `page` that is not a positive number is 400.
//! - writes: create is 201 with an empty body, `Resource-ID` and `Location`; update and
//!   delete are 204. Validation errors are 400 `vnd.error` with `_embedded.errors[]`
//!   (`path`, `message`, `rejectedValue`, `source: "JSON"`); timestamps must be exactly
//!   `yyyy-MM-ddTHH:mm:ssZ` (fractions and offsets are "Malformed date"); unknown
//!   resources are 404; methods a resource lacks (e.g. `POST /v2/users`, `POST
//!   /v2/mailboxes`, `POST /v2/workflows`) are 405 `vnd.error`.
//! - customers: a customer email already used by another customer is 409 (unverified
//!   against the vendor); `firstName`/`lastName` 1–40 chars, `jobTitle`/`location`/
//!   `organization` ≤ 60, `background` ≤ 200; a customer joins an organization by the
//!   `organization` name or by `organizationId` (both read back). Organizations may share
//!   a name (the docs are silent).
//! - conversations: create per the documented table (at most 100 threads, 400 otherwise;
//!   thread `createdAt` and conversation `closedAt` only with `imported`; fields checked
//!   against the mailbox's definitions, dropdown values are option ids); threads are
//!   written with `text` and read back as `body`, replies read back as `message`; a
//!   customer thread without `imported` reopens the conversation, a reply without
//!   `imported` reactivates it unless `status` is given. `PUT .../fields` sets the listed
//!   fields and keeps the others.
//! - attachments: base64 `data`, at most 10 MB decoded per file (413). The create request
//!   body itself is accepted up to the kit's `MAX_BODY` (lenient: Help Scout v1 documented
//!   256 kB).
//! - emails: [`HelpScoutEmulator::emails_sent`] counts reply threads created without
//!   `imported` and not `draft`, and `autoReply: true` on a non-imported conversation with
//!   a customer thread.
//!
//! Docs API (under `/v1`): HTTP Basic with the Docs API key as user and any password;
//! its own per-minute budget of the same `rpm` (every request costs 1; the vendor
//! documents no separate number we could verify); collections, categories and articles
//! with `{"<plural>":{"page","pages","count","items"}}` envelopes (50 per page) and
//! string ids; create is 201 with `Location`, and with `reload=true` also the object.
//!
//! Seed mapping (`EmulatorConfig::small`): organizations → organizations; end users →
//! customers; agents → users (role `user`, the admin is the `owner`); groups → mailboxes
//! besides "Support"; ticket field definitions → fields of every mailbox (text and regex →
//! `singleline`, textarea → `multiline`, number, date, dropdown; checkbox → a dropdown
//! with options Yes/No; multiselect is skipped, Help Scout has no such type); tickets →
//! conversations in their group's mailbox (first comment = customer thread, later public
//! agent comments = replies, private comments = notes, requester's later comments =
//! customer threads); statuses new/open → active, pending/hold → pending, solved/closed →
//! closed; ratings great/not_good (okay for scale midpoints); macros → saved replies of
//! the first mailbox; triggers → automatic and automations → manual workflows; webhooks;
//! KB categories → Docs collections, sections → categories, articles → articles.
//!
//! Not emulated: teams, customer properties, chats/social profiles/websites sub-resource
//! writes, reports other than happiness ratings, original email source, snoozes,
//! conversation search beyond `(email:"…")`, `(subject:"…")` and free text on subjects.

#![deny(missing_docs)]

mod api;
mod docs;
mod seed;
mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchover_sandbox::rng::hash;
use switchover_sandbox::{
    EmulatorConfig, EmulatorSpec, Gate, RateHeaders, Request, RunningEmulator, SandboxError, Server,
};

use store::Account;

/// The most bytes one attachment may decode to.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
/// Items per page of every Mailbox API list except conversations.
pub const PAGE_SIZE: usize = 50;
/// Items per page of `GET /v2/conversations`.
pub const CONVERSATION_PAGE_SIZE: usize = 25;
/// Seconds an access token is said to live.
pub const TOKEN_LIFETIME_SECS: u64 = 172_800;

/// A running Help Scout emulator; stops when dropped.
pub struct HelpScoutEmulator {
    server: Server,
    state: Arc<State>,
}

/// A per-minute budget where each request spends a weight.
pub(crate) struct Credits {
    limit: u32,
    state: Mutex<(Instant, u32)>,
}

impl Credits {
    fn new(limit: u32) -> Self {
        Credits {
            limit,
            state: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Spends `cost`; `Ok(remaining)` or `Err(retry_after_secs)`.
    pub(crate) fn spend(&self, cost: u32) -> Result<u32, u64> {
        let now = Instant::now();
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if now.duration_since(state.0) >= Duration::from_secs(60) {
            *state = (now, 0);
        }
        if state.1 + cost > self.limit {
            let left = Duration::from_secs(60).saturating_sub(now.duration_since(state.0));
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Err(secs.max(1));
        }
        state.1 += cost;
        Ok(self.limit - state.1)
    }

    /// The limit per minute.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }
}

/// What the handler shares.
pub(crate) struct State {
    pub base: String,
    pub client_id: String,
    pub client_secret: String,
    pub docs_key: String,
    pub account: Mutex<Account>,
    /// Issued tokens: `true` while valid.
    pub tokens: Mutex<HashMap<String, bool>>,
    pub mailbox_budget: Option<Credits>,
    pub docs_budget: Option<Credits>,
    pub config: EmulatorConfig,
    pub emails: AtomicU64,
    pub counter: AtomicU64,
}

impl State {
    /// A fresh opaque string (tokens, log references).
    pub(crate) fn opaque(&self, stream: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "{:016x}{:016x}",
            hash(self.config.seed, stream, n),
            hash(self.config.seed, stream, n ^ 0x5eed)
        )
    }
}

impl HelpScoutEmulator {
    /// Starts the emulator with this configuration on 127.0.0.1.
    pub fn start(config: EmulatorConfig) -> Result<HelpScoutEmulator, SandboxError> {
        let listener = Server::bind(config.port)?;
        let addr = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind { source })?;
        let base = format!("http://{addr}");
        let mut account = Account::new();
        seed::seed(&mut account, &config);
        let state = Arc::new(State {
            base,
            client_id: format!("hs{:016x}", hash(config.seed, "hs-client-id", 0)),
            client_secret: format!(
                "{:016x}{:016x}",
                hash(config.seed, "hs-client-secret", 0),
                hash(config.seed, "hs-client-secret", 1)
            ),
            docs_key: format!("{:016x}", hash(config.seed, "hs-docs-key", 0)),
            account: Mutex::new(account),
            tokens: Mutex::new(HashMap::new()),
            mailbox_budget: config.rpm.map(Credits::new),
            docs_budget: config.rpm.map(Credits::new),
            config: config.clone(),
            emails: AtomicU64::new(0),
            counter: AtomicU64::new(0),
        });
        // Faults only: the weighted budgets are Help Scout's own.
        let gate = Gate::new(
            None,
            RateHeaders::default(),
            config.faults.clone(),
            config.seed,
        );
        let shared = state.clone();
        let handler =
            Arc::new(move |request: &Request| gate.serve(request, |r| api::handle(&shared, r)));
        let server = Server::serve(listener, handler)?;
        Ok(HelpScoutEmulator { server, state })
    }

    /// `http://127.0.0.1:PORT`; the Mailbox API is under `/v2`, the Docs API under `/v1`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The OAuth2 application id (`client_id`).
    pub fn client_id(&self) -> String {
        self.state.client_id.clone()
    }

    /// The OAuth2 application secret (`client_secret`).
    pub fn client_secret(&self) -> String {
        self.state.client_secret.clone()
    }

    /// The Docs API key (basic-auth user; any password, `X` by convention).
    pub fn docs_api_key(&self) -> String {
        self.state.docs_key.clone()
    }

    /// Requests answered so far.
    pub fn requests_served(&self) -> u64 {
        self.server.requests_served()
    }

    /// Outgoing emails a real account would have sent: replies created without `imported`
    /// and not drafts, and customer-visible auto replies.
    pub fn emails_sent(&self) -> u64 {
        self.state.emails.load(Ordering::Relaxed)
    }

    /// Expires every access token issued so far: its next use is 401.
    pub fn expire_tokens(&self) {
        let mut tokens = match self.state.tokens.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        };
        for valid in tokens.values_mut() {
            *valid = false;
        }
    }

    /// Adds a user (role `user`) as if invited in the web UI, returning its id.
    pub fn add_user(&self, first: &str, last: &str, email: &str) -> u64 {
        let mut account = lock(&self.state);
        let id = account.next_id();
        let now = api::now();
        account.users.insert(
            id,
            seed::user_json(id, first, last, email, "user", "UTC", &now),
        );
        id
    }

    /// Adds a mailbox (read-only in the API), with its default folders; returns its id.
    pub fn add_mailbox(&self, name: &str, email: &str) -> u64 {
        let mut account = lock(&self.state);
        let now = api::now();
        seed::add_mailbox(&mut account, name, email, &now)
    }

    /// Adds a custom field definition to a mailbox (definitions are read-only in the API),
    /// returning its id. `field_type` is one of `singleline`, `multiline`, `date`, `number`,
    /// `dropdown`; `options` are the dropdown labels.
    pub fn add_custom_field(
        &self,
        mailbox_id: u64,
        name: &str,
        field_type: &str,
        options: &[&str],
    ) -> u64 {
        let mut account = lock(&self.state);
        let labels: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        seed::add_field(&mut account, mailbox_id, name, field_type, &labels)
    }
}

impl RunningEmulator for HelpScoutEmulator {
    fn base_url(&self) -> String {
        HelpScoutEmulator::base_url(self)
    }

    fn credentials(&self) -> Vec<String> {
        let base = self.base_url();
        vec![
            format!("client id:     {}", self.state.client_id),
            format!("client secret: {}", self.state.client_secret),
            format!(
                "token:         curl -d grant_type=client_credentials -d client_id={} -d client_secret={} {base}/v2/oauth2/token",
                self.state.client_id, self.state.client_secret
            ),
            format!(
                "docs api key:  {}   (basic auth user, password X; {base}/v1/collections)",
                self.state.docs_key
            ),
        ]
    }

    fn requests_served(&self) -> u64 {
        HelpScoutEmulator::requests_served(self)
    }
    fn requests_rate_limited(&self) -> u64 {
        self.server.requests_rate_limited()
    }
}

fn start_boxed(config: EmulatorConfig) -> Result<Box<dyn RunningEmulator>, SandboxError> {
    Ok(Box::new(HelpScoutEmulator::start(config)?))
}

/// The registry entry for the CLI.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        name: "helpscout",
        summary: "Help Scout Mailbox API 2.0 and Docs API (OAuth2 client credentials, HAL+JSON with fixed page sizes, Resource-ID creates, writes counting double against the per-minute limit, base64 attachments)",
        start: start_boxed,
    }
}

pub(crate) fn lock(state: &State) -> MutexGuard<'_, Account> {
    match state.account.lock() {
        Ok(a) => a,
        Err(p) => p.into_inner(),
    }
}

pub(crate) fn count_email(state: &State) {
    state.emails.fetch_add(1, Ordering::Relaxed);
}

/// A `vnd.error` body.
pub(crate) fn vnd_body(state: &State, message: &str) -> Value {
    json!({"logRef": state.opaque("logref"), "message": message})
}
