//! The account: collections, uploads, jobs, and how seeded records are produced.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};
use switchover_model::*;
use switchover_sandbox::generate::Generator;

use crate::convert::{Ctx, Ids, SYSTEM_TICKET_FIELDS, base, zts_unix};
use crate::store::{Collection, K};

/// Bytes and description of an uploaded file.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Attachment JSON.
    pub meta: Value,
    /// Content.
    pub bytes: Arc<Vec<u8>>,
}

/// A background job and how often it was polled.
#[derive(Debug, Clone)]
pub struct Job {
    /// Job type (`Bulk Create Ticket`...).
    pub job_type: String,
    /// What the message says while working (`Creating organization`).
    pub verb: String,
    /// Items.
    pub total: usize,
    /// Per-item results (shown once completed).
    pub results: Vec<Value>,
    /// Polls so far.
    pub polls: u32,
}

/// The whole account.
pub struct State {
    /// Seed generator (shared with the content route, outside the lock).
    pub generator: Arc<Generator>,
    /// Id mapping of seed records.
    pub ids: Ids,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Collections by kind.
    pub collections: BTreeMap<K, Collection>,
    /// Comments of tickets written by clients (and comments added to seeded tickets).
    pub comments: HashMap<u64, Vec<Value>>,
    /// Upload token -> attachment ids.
    pub uploads: HashMap<String, Vec<u64>>,
    /// Uploaded attachments by id.
    pub blobs: HashMap<u64, Blob>,
    /// Upload token for each uploaded attachment's content URL.
    pub next_attachment: u64,
    /// Jobs by id.
    pub jobs: HashMap<String, Job>,
    /// Job counter.
    pub next_job: u64,
    /// Tickets archived (written with `archive_immediately`), seeded archived come from the seed.
    pub archived: std::collections::HashSet<u64>,
    /// Ticket creates/updates through the normal API while a trigger was active
    /// (imports must not add to it).
    pub trigger_runs: u64,
    /// Deleted tickets as incremental exports show them (`status: deleted`).
    pub deleted_tickets: HashMap<u64, Value>,
    /// Lower-cased organization name -> id (names are unique).
    pub org_names: HashMap<String, u64>,
    /// Solved time of written tickets (imports may set it), for metric sets.
    pub solved_at: HashMap<u64, i64>,
    /// Help Center translations by article, other than the article's source locale
    /// (whose title and body live in the article itself).
    pub translations: HashMap<u64, Vec<Value>>,
    /// Last translation id given.
    pub next_translation: u64,
    /// Help Center article attachments by id (their JSON names the article).
    pub kb_attachments: BTreeMap<u64, Blob>,
    /// Last article attachment id given.
    pub next_kb_attachment: u64,
}

impl State {
    /// A new account seeded by `generator`.
    pub fn new(generator: Generator, base_url: String) -> Self {
        let c = generator.config().clone();
        let ids = Ids {
            agents: c.agents + 1,
        };
        let mut collections = BTreeMap::new();
        let field_count = if c.custom_fields {
            switchover_sandbox::generate::FIELD_TYPES.len()
        } else {
            0
        };
        let kb_categories = generator.kb_category_count();
        let kb_sections = generator.kb_section_count();
        for (kind, b, n) in [
            (K::Tickets, base::TICKETS, c.tickets),
            (K::Users, base::USERS, c.agents + 1 + c.users),
            (K::Orgs, base::ORGS, c.organizations),
            (K::Groups, base::GROUPS, c.groups),
            (
                K::Memberships,
                base::MEMBERSHIPS,
                generator.group_membership_count(),
            ),
            (
                K::TicketFields,
                base::TICKET_FIELDS,
                SYSTEM_TICKET_FIELDS.len() + field_count,
            ),
            (K::UserFields, base::USER_FIELDS, field_count),
            (K::OrgFields, base::ORG_FIELDS, field_count),
            (K::Csat, base::CSAT, c.tickets),
            (K::Macros, base::MACROS, c.macros),
            (K::Triggers, base::TRIGGERS, c.triggers),
            (K::Automations, base::AUTOMATIONS, c.automations),
            (K::Views, base::VIEWS, c.views),
            (K::Webhooks, base::WEBHOOKS, c.webhooks),
            (K::Slas, base::SLAS, c.sla_policies),
            (K::KbCategories, base::KB_CATEGORIES, kb_categories),
            (K::KbSections, base::KB_SECTIONS, kb_sections),
            (K::KbArticles, base::KB_ARTICLES, c.kb_articles),
        ] {
            collections.insert(kind, Collection::new(b, n));
        }
        let mut state = State {
            generator: Arc::new(generator),
            ids,
            base_url,
            collections,
            comments: HashMap::new(),
            uploads: HashMap::new(),
            blobs: HashMap::new(),
            next_attachment: base::UPLOADED,
            jobs: HashMap::new(),
            next_job: 0,
            archived: Default::default(),
            trigger_runs: 0,
            deleted_tickets: HashMap::new(),
            org_names: HashMap::new(),
            solved_at: HashMap::new(),
            translations: HashMap::new(),
            next_translation: base::KB_TRANSLATIONS,
            kb_attachments: BTreeMap::new(),
            next_kb_attachment: base::KB_ATTACHMENTS,
        };
        for index in 0..c.organizations {
            let name = state.generator.organization(index).name.to_lowercase();
            state.org_names.insert(name, base::ORGS + index as u64);
        }
        state
    }

    /// The metric set of ticket `id` (what `include=metric_sets` side-loads).
    pub fn metric_set(&self, id: u64) -> Value {
        let ticket = self.get(K::Tickets, id).unwrap_or(Value::Null);
        let solved = match (self.solved_at.get(&id), self.col(K::Tickets).index(id)) {
            (Some(t), _) => zts_unix(*t),
            (None, Some(index)) if !self.col(K::Tickets).overlay.contains_key(&id) => {
                crate::convert::zts(&self.generator.ticket(index).solved_at)
            }
            _ => Value::Null,
        };
        json!({
            "url": format!("{}/api/v2/ticket_metrics/{id}.json", self.base_url), "id": id, "ticket_id": id,
            "created_at": ticket["created_at"], "updated_at": ticket["updated_at"],
            "group_stations": 1, "assignee_stations": 1, "reopens": 0, "replies": 1,
            "assignee_updated_at": Value::Null, "requester_updated_at": ticket["updated_at"],
            "status_updated_at": ticket["updated_at"], "initially_assigned_at": Value::Null,
            "assigned_at": Value::Null, "solved_at": solved, "latest_comment_added_at": ticket["updated_at"],
            "reply_time_in_minutes": {"calendar": Value::Null, "business": Value::Null},
            "first_resolution_time_in_minutes": {"calendar": Value::Null, "business": Value::Null},
            "full_resolution_time_in_minutes": {"calendar": Value::Null, "business": Value::Null},
            "agent_wait_time_in_minutes": {"calendar": Value::Null, "business": Value::Null},
            "requester_wait_time_in_minutes": {"calendar": Value::Null, "business": Value::Null},
            "on_hold_time_in_minutes": {"calendar": Value::Null, "business": Value::Null},
        })
    }

    /// Finds an organization by name (case-insensitive).
    pub fn org_by_name(&self, name: &str) -> Option<u64> {
        let id = *self.org_names.get(&name.to_lowercase())?;
        self.get(K::Orgs, id).map(|_| id)
    }

    /// Writes an organization, keeping the name index.
    pub fn put_org(&mut self, id: u64, value: Value, now: i64) {
        self.org_names.retain(|_, v| *v != id);
        if let Some(name) = value.get("name").and_then(Value::as_str) {
            self.org_names.insert(name.to_lowercase(), id);
        }
        self.col_mut(K::Orgs).put(id, value, now);
    }

    /// Conversion context.
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx {
            base_url: &self.base_url,
            ids: &self.ids,
            generator: &self.generator,
        }
    }

    /// A collection (always present).
    pub fn col(&self, kind: K) -> &Collection {
        &self.collections[&kind]
    }

    /// A collection, mutable.
    pub fn col_mut(&mut self, kind: K) -> &mut Collection {
        self.collections.entry(kind).or_default()
    }

    /// The canonical user behind a seeded users index.
    pub fn seeded_user(&self, index: usize) -> User {
        if index < self.ids.agents {
            self.generator.agent(index)
        } else {
            self.generator.user(index - self.ids.agents)
        }
    }

    /// The seeded record `index` of `kind` as Zendesk JSON (`None` for holes).
    pub fn seeded(&self, kind: K, index: usize) -> Option<Value> {
        let g = &self.generator;
        let ctx = self.ctx();
        let id = self.col(kind).base + index as u64;
        Some(match kind {
            K::Tickets => {
                let ticket = g.ticket(index);
                let description = if g.comment_count(index) > 0 {
                    g.comment(index, 0).body_text
                } else {
                    String::new()
                };
                let mut value = ctx.ticket(id, &ticket, &description);
                if let Some(rating) = g.satisfaction_rating(index) {
                    value["satisfaction_rating"] = json!({"id": base::CSAT + index as u64, "score": match rating.score { Score::Good => "good", _ => "bad" }, "comment": rating.comment});
                }
                value
            }
            K::Users => ctx.user(id, &self.seeded_user(index)),
            K::Orgs => ctx.organization(id, &g.organization(index)),
            K::Groups => ctx.group(id, &g.group(index)),
            K::Memberships => ctx.membership(id, &g.group_membership(index)),
            K::TicketFields => ctx.ticket_field(id, index),
            K::UserFields => ctx.custom_field(
                "user_fields",
                id,
                g.field_definitions(FieldObject::User).get(index)?,
            ),
            K::OrgFields => ctx.custom_field(
                "organization_fields",
                id,
                g.field_definitions(FieldObject::Organization).get(index)?,
            ),
            K::Csat => {
                let rating = g.satisfaction_rating(index)?;
                ctx.satisfaction_rating(id, &g.ticket(index), &rating)
            }
            K::Macros => ctx.macro_(id, &g.macro_(index)),
            K::Triggers => ctx.rule("triggers", id, &g.rule(index, false)),
            K::Automations => ctx.rule("automations", id, &g.rule(index, true)),
            K::Views => ctx.view(id, &g.view(index)),
            K::Webhooks => ctx.webhook(&webhook_id(id), &g.webhook(index)),
            K::Slas => ctx.sla_policy(id, &g.sla_policy(index)),
            K::KbCategories => ctx.kb_category(id, &g.kb_category(index)),
            K::KbSections => ctx.kb_section(id, &g.kb_section(index)),
            K::KbArticles => ctx.kb_article(id, &g.kb_article(index)),
        })
    }

    /// Record `id` of `kind`, if it exists (deleted records do not).
    pub fn get(&self, kind: K, id: u64) -> Option<Value> {
        let col = self.col(kind);
        match col.overlay.get(&id) {
            Some(Some(v)) => Some(v.clone()),
            Some(None) => None,
            None => self.seeded(kind, col.index(id)?),
        }
    }

    /// Whether ticket `id` is archived.
    pub fn is_archived(&self, id: u64) -> bool {
        if self.archived.contains(&id) {
            return true;
        }
        let col = self.col(K::Tickets);
        match (col.overlay.get(&id), col.index(id)) {
            (None, Some(index)) => self.generator.ticket_archived(index),
            _ => false,
        }
    }

    /// When a record was last written, for incremental exports (seeded: its `updated_at`).
    pub fn generated_timestamp(&self, kind: K, id: u64, value: &Value) -> i64 {
        if let Some(t) = self.col(kind).written.get(&id) {
            return *t;
        }
        value
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<Timestamp>().ok())
            .map(|t| t.unix())
            .unwrap_or(0)
    }

    /// Finds a user id by email (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<u64> {
        let email = email.to_lowercase();
        let col = self.col(K::Users);
        // Written users first (they may shadow seeded ones).
        for (id, value) in col.overlay.iter().rev() {
            if let Some(v) = value
                && v.get("email")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.to_lowercase() == email)
            {
                return Some(*id);
            }
        }
        let local = email.split('@').next()?;
        let index = if email == "admin@switchover.example" {
            0
        } else if let Some(n) = local
            .strip_prefix("agent")
            .and_then(|n| n.parse::<usize>().ok())
        {
            n
        } else {
            self.ids.agents + local.strip_prefix("user")?.parse::<usize>().ok()?
        };
        let id = col.base + index as u64;
        let user = self.get(K::Users, id)?;
        (user
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_lowercase)
            == Some(email))
        .then_some(id)
    }

    /// Finds a record written by a client by external id.
    pub fn by_external(&self, kind: K, external: &str) -> Option<u64> {
        let id = *self.col(kind).external.get(&external.to_lowercase())?;
        self.get(kind, id).map(|_| id)
    }

    /// Comments of ticket `id` (seeded ones generated, then those written).
    pub fn ticket_comments(&self, id: u64) -> Vec<Value> {
        let col = self.col(K::Tickets);
        let mut comments = Vec::new();
        if let Some(index) = col.index(id) {
            let ctx = self.ctx();
            for (j, comment) in self.generator.comments(index).iter().enumerate() {
                comments.push(ctx.comment(id, j, comment));
            }
        }
        if let Some(written) = self.comments.get(&id) {
            comments.extend(written.iter().cloned());
        }
        comments
    }

    /// Creates a job with its results, returns its JSON (status `queued`).
    pub fn new_job(&mut self, job_type: &str, verb: &str, results: Vec<Value>) -> Value {
        self.next_job += 1;
        let id = format!(
            "V3-{:032x}",
            switchover_sandbox::rng::hash(self.generator.config().seed, "job", self.next_job)
                as u128
                * 0x1_0000_0001
                + self.next_job as u128
        );
        let job = Job {
            job_type: job_type.into(),
            verb: verb.into(),
            total: results.len(),
            results,
            polls: 0,
        };
        let value = self.job_json(&id, &job);
        self.jobs.insert(id, job);
        value
    }

    /// Polls a job: queued -> working -> completed on successive polls.
    pub fn poll_job(&mut self, id: &str) -> Option<Value> {
        let job = self.jobs.get_mut(id)?;
        job.polls += 1;
        let job = job.clone();
        Some(self.job_json(id, &job))
    }

    fn job_json(&self, id: &str, job: &Job) -> Value {
        let url = format!("{}/api/v2/job_statuses/{id}.json", self.base_url);
        match job.polls {
            0 => {
                json!({"id": id, "job_type": job.job_type, "url": url, "total": job.total, "progress": Value::Null, "status": "queued", "message": Value::Null, "results": Value::Null})
            }
            1 if job.total > 1 => {
                let progress = job.total / 3;
                json!({"id": id, "job_type": job.job_type, "url": url, "total": job.total, "progress": progress, "status": "working", "message": format!("{} #{progress}", job.verb), "results": Value::Null})
            }
            _ => {
                let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S +0000");
                json!({"id": id, "job_type": job.job_type, "url": url, "total": job.total, "progress": job.total, "status": "completed", "message": format!("Completed at {now}"), "results": job.results})
            }
        }
    }
}

/// A webhook's string id from its numeric one (ULID-like: 26 Crockford characters).
pub fn webhook_id(id: u64) -> String {
    format!("01HZ{id:022}")
}

/// The numeric id of a webhook string id.
pub fn webhook_number(id: &str) -> Option<u64> {
    id.strip_prefix("01HZ")?.parse().ok()
}
