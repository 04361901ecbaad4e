use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every kind of record a helpdesk migration moves, in dependency order: a kind only
/// references kinds that come before it (attachments travel inside comments and articles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Custom field definitions for tickets, users and organizations (first: the custom
    /// field values of every other kind reference them).
    FieldDefinition,
    /// Customer companies.
    Organization,
    /// End users, agents and admins.
    User,
    /// Agent groups (teams, queues).
    Group,
    /// Which agent belongs to which group.
    GroupMembership,
    /// Tickets.
    Ticket,
    /// Public replies and private notes on tickets.
    Comment,
    /// Files attached to comments and articles; described inside them, bytes opened lazily.
    Attachment,
    /// Customer satisfaction ratings of tickets.
    SatisfactionRating,
    /// Knowledge base categories.
    KbCategory,
    /// Knowledge base sections (folders).
    KbSection,
    /// Knowledge base articles with translations.
    KbArticle,
    /// Outgoing webhooks (without their secrets); before the rules and macros that call
    /// them.
    Webhook,
    /// Agent macros (canned responses with actions).
    Macro,
    /// Business rules: event triggers and time-based automations.
    Rule,
    /// Service level agreement policies.
    SlaPolicy,
    /// Agent ticket views.
    View,
}

/// The error for a kind name that is not one of [`Kind::ALL`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown record kind '{0}'; known kinds: {known}", known = Kind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))]
pub struct UnknownKind(pub String);

impl Kind {
    /// All kinds in the order a migration moves them.
    pub const ALL: [Kind; 17] = [
        Kind::FieldDefinition,
        Kind::Organization,
        Kind::User,
        Kind::Group,
        Kind::GroupMembership,
        Kind::Ticket,
        Kind::Comment,
        Kind::Attachment,
        Kind::SatisfactionRating,
        Kind::KbCategory,
        Kind::KbSection,
        Kind::KbArticle,
        Kind::Webhook,
        Kind::Macro,
        Kind::Rule,
        Kind::SlaPolicy,
        Kind::View,
    ];

    /// The plural snake_case name used in plans, file names and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Organization => "organizations",
            Kind::User => "users",
            Kind::Group => "groups",
            Kind::GroupMembership => "group_memberships",
            Kind::FieldDefinition => "field_definitions",
            Kind::Ticket => "tickets",
            Kind::Comment => "comments",
            Kind::Attachment => "attachments",
            Kind::SatisfactionRating => "satisfaction_ratings",
            Kind::KbCategory => "kb_categories",
            Kind::KbSection => "kb_sections",
            Kind::KbArticle => "kb_articles",
            Kind::Macro => "macros",
            Kind::Rule => "rules",
            Kind::Webhook => "webhooks",
            Kind::SlaPolicy => "sla_policies",
            Kind::View => "views",
        }
    }

    /// Whether records of this kind are streamed on their own. Attachments are not: they
    /// travel inside the comment or article that carries them.
    pub fn is_streamed(self) -> bool {
        self != Kind::Attachment
    }

    /// Whether this kind is an integration (configuration that automates the helpdesk),
    /// which usually needs a person to review after a migration.
    pub fn is_integration(self) -> bool {
        matches!(
            self,
            Kind::Macro | Kind::Rule | Kind::Webhook | Kind::SlaPolicy | Kind::View
        )
    }

    /// The other kinds whose records records of this kind reference (a ticket its
    /// requester, group and organization; a comment its ticket and author): moving
    /// this kind without them leaves those references unresolved.
    pub fn references(self) -> &'static [Kind] {
        match self {
            Kind::FieldDefinition | Kind::Group | Kind::Attachment | Kind::KbCategory => &[],
            Kind::Webhook => &[],
            Kind::SlaPolicy => &[
                Kind::FieldDefinition,
                Kind::Organization,
                Kind::User,
                Kind::Group,
            ],
            Kind::Organization => &[Kind::FieldDefinition],
            Kind::User => &[Kind::FieldDefinition, Kind::Organization],
            Kind::GroupMembership => &[Kind::User, Kind::Group],
            Kind::Ticket => &[
                Kind::FieldDefinition,
                Kind::Organization,
                Kind::User,
                Kind::Group,
            ],
            Kind::Comment => &[Kind::User, Kind::Ticket],
            Kind::SatisfactionRating => &[Kind::User, Kind::Ticket],
            Kind::KbSection => &[Kind::KbCategory],
            Kind::KbArticle => &[Kind::User, Kind::KbSection],
            Kind::Macro | Kind::Rule => &[
                Kind::FieldDefinition,
                Kind::Organization,
                Kind::User,
                Kind::Group,
                Kind::Webhook,
            ],
            Kind::View => &[
                Kind::FieldDefinition,
                Kind::Organization,
                Kind::User,
                Kind::Group,
            ],
        }
    }

    /// Position in the dependency order (0 moves first).
    pub fn order(self) -> usize {
        Kind::ALL
            .iter()
            .position(|k| *k == self)
            .unwrap_or(usize::MAX)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted || k.as_str().strip_suffix('s') == Some(wanted.as_str()))
            .or(match wanted.as_str() {
                "sla_policy" => Some(Kind::SlaPolicy),
                "kb_category" => Some(Kind::KbCategory),
                _ => None,
            })
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name_and_singular() {
        for kind in Kind::ALL {
            assert_eq!(kind.as_str().parse::<Kind>().ok(), Some(kind));
        }
        assert_eq!("ticket".parse::<Kind>().ok(), Some(Kind::Ticket));
        assert_eq!("sla_policy".parse::<Kind>().ok(), Some(Kind::SlaPolicy));
        assert_eq!("kb-category".parse::<Kind>().ok(), Some(Kind::KbCategory));
    }

    #[test]
    fn unknown_kind_error_lists_the_known_ones() {
        let err = "tikets".parse::<Kind>().err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("tikets") && err.contains("tickets"), "{err}");
    }
}
