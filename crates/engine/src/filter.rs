//! The plan's `[filter]`: which tickets a run moves, and a pilot run's sample. A filtered
//! run moves the tickets in scope with their comments and ratings, and of the people and
//! teams only those the tickets reference (requesters, submitters, assignees, their
//! organizations, groups). Configuration kinds (fields, knowledge base, integrations)
//! are not filtered (the plan's `kinds` decides those), so the people and teams they
//! name (article authors, a macro's group) come along too.
//!
//! The scope is discovered from the source at the start of every run and of every
//! verification, never kept from an earlier run, so verify proves the same scope the
//! migration moved.

use std::collections::HashSet;

use serde::Deserialize;
use switchover_adapter::{PageRequest, Source};
use switchover_model::{Kind, Record, TicketStatus, Timestamp};

use crate::EngineError;

/// The `[filter]` table of a plan.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterSpec {
    /// Only these source ticket ids.
    pub ticket_ids: Vec<String>,
    /// Only tickets created at or after this time.
    pub created_since: Option<Timestamp>,
    /// Only tickets changed at or after this time.
    pub updated_since: Option<Timestamp>,
    /// Only tickets with one of these statuses.
    pub statuses: Vec<TicketStatus>,
    /// Only tickets carrying at least one of these tags.
    pub tags_include: Vec<String>,
    /// No ticket carrying any of these tags.
    pub tags_exclude: Vec<String>,
    /// A pilot run: only the first N tickets that pass the rest of the filter, in the
    /// source's order.
    pub pilot: Option<usize>,
}

impl FilterSpec {
    /// Parses a plan's `[filter]` table, adding what is wrong to `problems`.
    pub fn parse(table: &toml::Table, problems: &mut Vec<String>) -> FilterSpec {
        // Ticket ids may be written as numbers or text.
        let mut table = table.clone();
        if let Some(toml::Value::Array(ids)) = table.get_mut("ticket_ids") {
            for id in ids.iter_mut() {
                if let toml::Value::Integer(n) = id {
                    *id = toml::Value::String(n.to_string());
                }
            }
        }
        match toml::Value::Table(table).try_into::<FilterSpec>() {
            Ok(spec) => {
                if spec.pilot == Some(0) {
                    problems.push("[filter] pilot must be at least 1 (the number of tickets a pilot run moves)".into());
                }
                spec
            }
            Err(e) => {
                problems.push(format!(
                    "[filter]: {}; the keys are ticket_ids, created_since, updated_since, statuses, tags_include, tags_exclude and pilot",
                    e.message()
                ));
                FilterSpec::default()
            }
        }
    }

    /// Whether the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        *self == FilterSpec::default()
    }

    fn keeps(&self, record: &Record) -> bool {
        let Record::Ticket(t) = record else {
            return false;
        };
        (self.ticket_ids.is_empty() || self.ticket_ids.contains(&t.id))
            && self
                .created_since
                .is_none_or(|since| t.created_at.is_some_and(|at| at >= since))
            && self
                .updated_since
                .is_none_or(|since| t.updated_at.is_some_and(|at| at >= since))
            && (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && (self.tags_include.is_empty()
                || self.tags_include.iter().any(|g| t.tags.contains(g)))
            && !self.tags_exclude.iter().any(|g| t.tags.contains(g))
    }
}

/// The records a filtered run moves, discovered from the source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// Source ids of the tickets in scope.
    pub tickets: HashSet<String>,
    /// Source ids of the users the tickets reference.
    pub users: HashSet<String>,
    /// Source ids of the organizations of those tickets and users.
    pub organizations: HashSet<String>,
    /// Source ids of the groups the tickets are assigned to.
    pub groups: HashSet<String>,
}

impl Scope {
    /// Reads the source's tickets and users once and selects what `spec` keeps: the
    /// tickets, then everything they reference.
    pub fn discover(source: &dyn Source, spec: &FilterSpec) -> Result<Scope, EngineError> {
        let mut scope = Scope::default();
        let limit = spec.pilot.unwrap_or(usize::MAX);
        each_page(source, Kind::Ticket, |records| {
            for record in records {
                if scope.tickets.len() >= limit {
                    return false;
                }
                if !spec.keeps(record) {
                    continue;
                }
                scope.tickets.insert(record.id().to_string());
                scope.take_references(record);
            }
            true
        })?;
        // Configuration is not filtered: the people and teams it names come along.
        let caps = source.capabilities();
        for kind in [
            Kind::KbArticle,
            Kind::Macro,
            Kind::Rule,
            Kind::View,
            Kind::SlaPolicy,
        ] {
            if caps.kind(kind).is_some_and(|c| c.read) {
                each_page(source, kind, |records| {
                    records.iter().for_each(|r| scope.take_references(r));
                    true
                })?;
            }
        }
        if caps.kind(Kind::User).is_some_and(|c| c.read) {
            let users = scope.users.clone();
            each_page(source, Kind::User, |records| {
                for record in records.iter().filter(|r| users.contains(r.id())) {
                    let mut copy = record.clone();
                    copy.for_each_ref_mut(&mut |kind, id| {
                        if kind == Kind::Organization && !id.is_empty() {
                            scope.organizations.insert(id.clone());
                        }
                    });
                }
                true
            })?;
        }
        Ok(scope)
    }

    /// Adds the users, organizations and groups `record` references.
    fn take_references(&mut self, record: &Record) {
        let mut copy = record.clone();
        copy.for_each_ref_mut(&mut |kind, id| {
            let set = match kind {
                Kind::User => &mut self.users,
                Kind::Organization => &mut self.organizations,
                Kind::Group => &mut self.groups,
                _ => return,
            };
            if !id.is_empty() {
                set.insert(id.clone());
            }
        });
    }

    /// Whether a run moves `record`: tickets in scope with their comments and ratings,
    /// the users, organizations and groups they reference, memberships joining those
    /// users and groups, and every record of the other kinds.
    pub fn contains(&self, record: &Record) -> bool {
        match record {
            Record::Ticket(t) => self.tickets.contains(&t.id),
            Record::Comment(c) => self.tickets.contains(c.ticket.id()),
            Record::SatisfactionRating(r) => self.tickets.contains(r.ticket.id()),
            Record::User(u) => self.users.contains(&u.id),
            Record::Organization(o) => self.organizations.contains(&o.id),
            Record::Group(g) => self.groups.contains(&g.id),
            Record::GroupMembership(m) => {
                self.groups.contains(m.group.id()) && self.users.contains(m.user.id())
            }
            _ => true,
        }
    }
}

/// Calls `take` with every page of `kind` until it returns false or the pages end.
fn each_page(
    source: &dyn Source,
    kind: Kind,
    mut take: impl FnMut(&[Record]) -> bool,
) -> Result<(), EngineError> {
    let mut request = PageRequest::default();
    loop {
        // A source that fails is the source's error (its exit status), not the plan's.
        let page = source.read_page(kind, &request)?;
        if !take(&page.records) {
            return Ok(());
        }
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_table_parses_with_numeric_ids_and_rejects_unknown_keys() {
        let mut problems = Vec::new();
        let table: toml::Table = toml::from_str(
            "ticket_ids = [7, \"8\"]\nstatuses = [\"open\"]\ntags_exclude = [\"spam\"]\npilot = 5\n",
        )
        .expect("toml");
        let spec = FilterSpec::parse(&table, &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(spec.ticket_ids, vec!["7", "8"]);
        assert_eq!(spec.statuses, vec![TicketStatus::Open]);
        assert_eq!(spec.pilot, Some(5));
        let table: toml::Table = toml::from_str("ticket = [7]\n").expect("toml");
        FilterSpec::parse(&table, &mut problems);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("ticket_ids"), "{problems:?}");
    }

    #[test]
    fn tags_and_statuses_select_tickets() {
        let spec = FilterSpec {
            statuses: vec![TicketStatus::Open],
            tags_exclude: vec!["spam".into()],
            ..Default::default()
        };
        let ticket = |status, tag: &str| {
            switchover_model::Ticket {
                id: "1".into(),
                status,
                tags: [tag.to_string()].into_iter().collect(),
                ..Default::default()
            }
            .into_record()
        };
        use switchover_model::Entity;
        assert!(spec.keeps(&ticket(TicketStatus::Open, "vip")));
        assert!(!spec.keeps(&ticket(TicketStatus::Open, "spam")));
        assert!(!spec.keeps(&ticket(TicketStatus::Solved, "vip")));
    }
}
