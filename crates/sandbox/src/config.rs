//! Emulator configuration and the registry entry the CLI lists.

use crate::{Faults, SandboxError};

/// How an emulator starts: where it listens, what data it is seeded with, its budget and
/// its faults. `Default` (= [`EmulatorConfig::empty`]) is an account with only the admin
/// agent and no data, for write tests.
#[derive(Debug, Clone, PartialEq)]
pub struct EmulatorConfig {
    /// Port on 127.0.0.1 (`None`: any free port).
    pub port: Option<u16>,
    /// Seed of the generated data and of fault decisions.
    pub seed: u64,
    /// Organizations.
    pub organizations: usize,
    /// End users (on top of agents).
    pub users: usize,
    /// Agents (on top of the admin).
    pub agents: usize,
    /// Groups.
    pub groups: usize,
    /// Tickets.
    pub tickets: usize,
    /// Comments per ticket (the first is the description).
    pub comments_per_ticket: usize,
    /// Smallest attachment in bytes.
    pub attachment_min_bytes: u64,
    /// Largest attachment in bytes (tens of MB allowed).
    pub attachment_max_bytes: u64,
    /// Share of comments carrying an attachment (0..=1).
    pub attachment_share: f64,
    /// Knowledge-base articles (categories and sections follow).
    pub kb_articles: usize,
    /// Macros.
    pub macros: usize,
    /// Triggers.
    pub triggers: usize,
    /// Automations.
    pub automations: usize,
    /// Views.
    pub views: usize,
    /// Webhooks.
    pub webhooks: usize,
    /// SLA policies.
    pub sla_policies: usize,
    /// Whether custom field definitions (every type) are seeded.
    pub custom_fields: bool,
    /// Requests per minute before 429 (`None`: unlimited).
    pub rpm: Option<u32>,
    /// Faults to inject.
    pub faults: Faults,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig::empty()
    }
}

impl EmulatorConfig {
    /// An account with only the admin agent and no data.
    pub fn empty() -> Self {
        EmulatorConfig {
            port: None,
            seed: 1,
            organizations: 0,
            users: 0,
            agents: 0,
            groups: 0,
            tickets: 0,
            comments_per_ticket: 0,
            attachment_min_bytes: 0,
            attachment_max_bytes: 64 * 1024,
            attachment_share: 0.0,
            kb_articles: 0,
            macros: 0,
            triggers: 0,
            automations: 0,
            views: 0,
            webhooks: 0,
            sla_policies: 0,
            custom_fields: false,
            rpm: None,
            faults: Faults::none(),
        }
    }

    /// A small but complete account: a few of every kind, hostile cases included.
    pub fn small(seed: u64) -> Self {
        EmulatorConfig {
            seed,
            organizations: 5,
            users: 30,
            agents: 4,
            groups: 3,
            tickets: 50,
            comments_per_ticket: 3,
            attachment_share: 0.3,
            kb_articles: 6,
            macros: 3,
            triggers: 3,
            automations: 2,
            views: 2,
            webhooks: 2,
            sla_policies: 2,
            custom_fields: true,
            ..EmulatorConfig::empty()
        }
    }
}

/// A running emulator, as the CLI sees it; stops when dropped.
pub trait RunningEmulator: Send {
    /// The base URL, e.g. `http://127.0.0.1:PORT`.
    fn base_url(&self) -> String;
    /// Lines telling a person how to authenticate (printed by `sandbox serve`).
    fn credentials(&self) -> Vec<String>;
    /// Requests answered so far.
    fn requests_served(&self) -> u64;
    /// Requests answered 429 so far (`0` when the emulator does not count them).
    fn requests_rate_limited(&self) -> u64 {
        0
    }
    /// Requests received and not answered yet (`0` when the emulator does not say).
    fn requests_in_flight(&self) -> u64 {
        0
    }
    /// Requests answered so far per endpoint (empty when the emulator does not say).
    fn requests_by_endpoint(&self) -> Vec<(String, u64)> {
        Vec::new()
    }
}

/// One emulator the CLI can start by name.
#[derive(Clone, Copy)]
pub struct EmulatorSpec {
    /// Name on the command line (`zendesk`).
    pub name: &'static str,
    /// One line saying what it emulates.
    pub summary: &'static str,
    /// Starts it.
    pub start: fn(EmulatorConfig) -> Result<Box<dyn RunningEmulator>, SandboxError>,
}

impl EmulatorSpec {
    /// The spec named `name` among `specs`, or an error listing the known names.
    pub fn find<'a>(
        specs: &'a [EmulatorSpec],
        name: &str,
    ) -> Result<&'a EmulatorSpec, SandboxError> {
        specs
            .iter()
            .find(|spec| spec.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| SandboxError::UnknownEmulator {
                name: name.into(),
                known: specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
            })
    }
}
