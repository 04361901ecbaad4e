//! A loopback emulator of the Freshdesk API v2 (`../shared/vendor-apis.md` §2), built on
//! the emulator kit. It stores Freshdesk-shaped JSON converted from the kit's canonical
//! seed data by its own code: it shares no types with the adapter, so the adapter's bugs
//! show.
//!
//! Served under `/api/v2/`, with what it enforces:
//! - auth: HTTP Basic with the API key as user and any password; else 401
//!   `{"code":"invalid_credentials",...}`;
//! - credits: every request costs 1, every `include=` value 2 more; `X-RateLimit-Total`,
//!   `X-RateLimit-Remaining`, `X-RateLimit-Used-CurrentRequest` on every answer when a
//!   budget is set (`rpm`), 429 with `Retry-After` past it;
//! - lists are bare arrays; `page` (1-based), `per_page` (default 30, above 100 -> 400);
//!   `Link: <...>; rel="next"` only when another page exists; `/tickets` refuses pages
//!   past 300 (400 `invalid_value` on `page`) and without `updated_since` returns only
//!   tickets created in the last 30 days; deleted and spam tickets only with
//!   `filter=deleted|spam`; `order_by=created_at|updated_at`, `order_type=asc|desc`;
//! - tickets (GET/POST/PUT/DELETE, restore), conversations (list, notes, replies that count
//!   as sent emails, PUT/DELETE), contacts (filters `email`, `unique_external_id`,
//!   `_updated_since`, `state`), companies, agents (filter `email`; POST creates a seat and
//!   counts an invitation email), groups, ticket/contact/company fields (read and
//!   `/admin/...` create/delete), canned response folders and responses, solution
//!   categories/folders/articles, time entries, satisfaction ratings (list, and POST on a
//!   ticket with the seven-point scale), automation rules of types 1, 3 and 4 (list, GET,
//!   POST, PUT, DELETE with Freshdesk's validation, see `rules.rs`), canned response
//!   folders and responses (create, update, delete), SLA policies (list, GET, POST, PUT; a
//!   default policy seeded; DELETE 405), attachments downloaded from pre-signed `/s3/...`
//!   URLs without credentials;
//! - rule execution: active ticket creation rules run on tickets created through the API,
//!   active ticket update rules on updates, notes and replies; executions, their e-mails and
//!   webhooks are counted ([`FreshdeskEmulator::rule_executions`],
//!   [`FreshdeskEmulator::emails_sent`], [`FreshdeskEmulator::webhooks_called`]), their
//!   actions are not applied;
//! - writes as JSON or `multipart/form-data` (`attachments[]`, `tags[]`,
//!   `custom_fields[cf_x]`), at most 20 MB of attachments per request; unknown fields,
//!   read-only fields (`created_at`, `updated_at`) and bad enumerations -> 400
//!   `{"description":"Validation failed","errors":[{field,message,code}]}`; duplicate
//!   contact email or external id, company or group name -> 409 `duplicate_value`.
//!
//! Not emulated: search endpoints, bulk jobs, merges, translations, email notifications
//! (counted in [`FreshdeskEmulator::emails_sent`] instead), the hourly run of time triggers,
//! and the effects of rule actions (counted, not applied).

#![deny(missing_docs)]

mod api;
mod canned;
mod rules;
mod seed;
mod sla;
mod store;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchover_sandbox::{
    EmulatorConfig, EmulatorSpec, Gate, RateHeaders, Request, Response, RunningEmulator,
    SandboxError, Server,
};

use store::Account;

/// The most attachment bytes one request may carry.
pub const MAX_REQUEST_ATTACHMENTS: usize = 20 * 1024 * 1024;
/// The deepest page of `/tickets`.
pub const MAX_TICKET_PAGE: usize = 300;

/// A running Freshdesk emulator; stops when dropped.
pub struct FreshdeskEmulator {
    server: Server,
    api_key: String,
    state: Arc<State>,
}

/// A per-minute credit budget: Freshdesk charges more than one credit for embeds.
pub(crate) struct Credits {
    limit: u32,
    state: Mutex<(Instant, u32)>,
}

impl Credits {
    /// Spends `cost`; `Ok(remaining)` or `Err(retry_after_secs)`.
    fn spend(&self, cost: u32) -> Result<u32, u64> {
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
            return Err(left.as_secs().max(1));
        }
        state.1 += cost;
        Ok(self.limit - state.1)
    }
}

/// What the handler shares.
pub(crate) struct State {
    pub api_key: String,
    pub account: Mutex<Account>,
    pub credits: Option<Credits>,
    pub config: EmulatorConfig,
    pub emails: AtomicU64,
    /// Automation rules executed.
    pub rule_executions: AtomicU64,
    /// Webhooks called by rule actions.
    pub webhooks: AtomicU64,
    pub max_ticket_page: usize,
    /// Another client's requests to serve before each request (tests only).
    pub interleave: Mutex<Option<Interleave>>,
}

/// Given a request about to be served, what happens around it.
pub type Interleave = Box<dyn Fn(&Request) -> Interleaved + Send + Sync>;

/// What a test has happen around one request: another client's requests served just
/// before it, and whether its answer is lost after it was applied (a connection reset).
#[derive(Debug, Default)]
pub struct Interleaved {
    /// Requests of another client, served first, without faults.
    pub before: Vec<Request>,
    /// Apply the request, then reset the connection instead of answering.
    pub lose_answer: bool,
}

impl FreshdeskEmulator {
    /// Starts the emulator with this configuration on 127.0.0.1.
    pub fn start(config: EmulatorConfig) -> Result<FreshdeskEmulator, SandboxError> {
        Self::start_with_ticket_page_limit(config, MAX_TICKET_PAGE)
    }

    /// Starts the emulator with a lower `/tickets` page ceiling than Freshdesk's 300, so a
    /// client's walk past the ceiling can be tested with few tickets.
    pub fn start_with_ticket_page_limit(
        config: EmulatorConfig,
        max_ticket_page: usize,
    ) -> Result<FreshdeskEmulator, SandboxError> {
        let api_key = format!(
            "fd{:016x}",
            switchover_sandbox::rng::hash(config.seed, "fd-api-key", 0)
        );
        let mut account = Account::new();
        let admin = switchover_sandbox::generate::Generator::new(&EmulatorConfig::empty()).agent(0);
        let admin_id = account.admin_id;
        account
            .agents
            .insert(admin_id, seed::agent_json(admin_id, &admin));
        seed::seed(&mut account, &config);
        let state = Arc::new(State {
            api_key: api_key.clone(),
            account: Mutex::new(account),
            credits: config.rpm.map(|limit| Credits {
                limit,
                state: Mutex::new((Instant::now(), 0)),
            }),
            config: config.clone(),
            emails: AtomicU64::new(0),
            rule_executions: AtomicU64::new(0),
            webhooks: AtomicU64::new(0),
            max_ticket_page,
            interleave: Mutex::new(None),
        });
        // Faults only; the credit budget is Freshdesk's own (embeds cost more).
        let gate = Gate::new(
            None,
            RateHeaders::default(),
            config.faults.clone(),
            config.seed,
        );
        let shared = state.clone();
        let handler = Arc::new(move |request: &Request| {
            let around = match shared.interleave.lock() {
                Ok(hook) => hook.as_ref().map(|h| h(request)).unwrap_or_default(),
                Err(poisoned) => poisoned
                    .into_inner()
                    .as_ref()
                    .map(|h| h(request))
                    .unwrap_or_default(),
            };
            for other in &around.before {
                api::handle(&shared, other);
            }
            let mut response = gate.serve(request, |r| api::handle(&shared, r));
            if around.lose_answer {
                response.reset = true;
            }
            response
        });
        let server = Server::start(config.port, handler)?;
        Ok(FreshdeskEmulator {
            server,
            api_key,
            state,
        })
    }

    /// `http://127.0.0.1:PORT`; the API is under `/api/v2/`.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// A valid API key (basic-auth user; the password may be anything, `X` by convention).
    pub fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// Asks `hook` about each request before serving it: the requests it returns are
    /// served first, as another client of the account would send them at that moment
    /// (without faults), and the request's answer can be lost after it is applied. A
    /// test puts a concurrent writer or a reset at an exact point of a client's walk.
    /// Requests need the `Authorization` header of [`FreshdeskEmulator::api_key`].
    pub fn interleave(&self, hook: impl Fn(&Request) -> Interleaved + Send + Sync + 'static) {
        let mut slot = match self.state.interleave.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        *slot = Some(Box::new(hook));
    }

    /// Requests answered so far.
    pub fn requests_served(&self) -> u64 {
        self.server.requests_served()
    }

    /// Emails the account would have sent: replies, forwards, agent invitations, and the
    /// notification e-mails of the automation rules that fired (`send_email_to_*`, forwards,
    /// notes that notify agents).
    pub fn emails_sent(&self) -> u64 {
        self.state.emails.load(Ordering::Relaxed)
    }

    /// Active automation rules executed so far: ticket creation rules (type 1, the first
    /// matching one) on every ticket created through the API, ticket update rules (type 4,
    /// every matching one) on every update, note and reply. Inactive rules never fire; time
    /// triggers (type 3) never run in the emulator.
    pub fn rule_executions(&self) -> u64 {
        self.state.rule_executions.load(Ordering::Relaxed)
    }

    /// Webhooks (`trigger_webhook` actions) the rules that fired would have called.
    pub fn webhooks_called(&self) -> u64 {
        self.state.webhooks.load(Ordering::Relaxed)
    }

    /// Adds an agent seat as an administrator would in the web UI (no invitation counted),
    /// returning its id.
    pub fn add_agent(&self, name: &str, email: &str) -> u64 {
        let mut account = match self.state.account.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        let id = account.next_id();
        let user = switchover_model::User {
            name: name.into(),
            email: Some(email.into()),
            created_at: Some(switchover_model::Timestamp::now()),
            updated_at: Some(switchover_model::Timestamp::now()),
            ..Default::default()
        };
        account.agents.insert(id, seed::agent_json(id, &user));
        id
    }

    /// Adds a company as the account's own users would have made it (no custom field
    /// values), returning its id: a live account's data for collision tests.
    pub fn add_company(&self, name: &str) -> u64 {
        let mut account = match self.state.account.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        };
        let id = account.next_id();
        let now = switchover_model::Timestamp::now().to_canonical();
        account.companies.insert(
            id,
            serde_json::json!({
                "id": id, "name": name, "description": null, "domains": [], "note": null,
                "health_score": null, "account_tier": null, "renewal_date": null,
                "industry": null, "custom_fields": {}, "created_at": now, "updated_at": now,
            }),
        );
        id
    }
}

impl RunningEmulator for FreshdeskEmulator {
    fn base_url(&self) -> String {
        FreshdeskEmulator::base_url(self)
    }

    fn credentials(&self) -> Vec<String> {
        vec![
            format!(
                "api key:    {}   (basic auth user, password X)",
                self.api_key
            ),
            format!(
                "example:    curl -u {}:X {}/api/v2/tickets?updated_since=2015-01-01T00:00:00Z",
                self.api_key,
                self.base_url()
            ),
        ]
    }

    fn requests_served(&self) -> u64 {
        FreshdeskEmulator::requests_served(self)
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
    Ok(Box::new(FreshdeskEmulator::start(config)?))
}

/// The registry entry for the CLI.
pub fn spec() -> EmulatorSpec {
    EmulatorSpec {
        name: "freshdesk",
        summary: "Freshdesk API v2 (API-key basic auth, bare-array Link paging with the 300-page ceiling and 30-day default window, credit-based rate limits, multipart attachments)",
        start: start_boxed,
    }
}

pub(crate) fn lock(state: &State) -> std::sync::MutexGuard<'_, Account> {
    match state.account.lock() {
        Ok(a) => a,
        Err(p) => p.into_inner(),
    }
}

pub(crate) fn count_email(state: &State) {
    state.emails.fetch_add(1, Ordering::Relaxed);
}

/// Counts what the rules that fired did.
pub(crate) fn count_fired(state: &State, fired: &rules::Fired) {
    state
        .rule_executions
        .fetch_add(fired.rules, Ordering::Relaxed);
    state.emails.fetch_add(fired.emails, Ordering::Relaxed);
    state.webhooks.fetch_add(fired.webhooks, Ordering::Relaxed);
}

pub(crate) fn credits_of(state: &State) -> Option<&Credits> {
    state.credits.as_ref()
}

pub(crate) fn spend(credits: &Credits, cost: u32) -> Result<(u32, u32), u64> {
    credits
        .spend(cost)
        .map(|remaining| (credits.limit, remaining))
}

/// Answer with a response, for handlers.
pub(crate) type Answer = Result<Response, Response>;
