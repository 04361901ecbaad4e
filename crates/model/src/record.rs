use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::entities::*;
use crate::rules::{visit_actions, visit_conditions};
use crate::{CustomFields, Kind, Ref, Timestamp};

/// What every streamed record type shares: its kind, its id, the references it holds.
pub trait Entity: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The kind of record.
    const KIND: Kind;
    /// Every field an adapter can declare it round-trips, as projection paths: a top-level
    /// key, or `outer.inner` for a key inside an object or a list of objects. The record's
    /// own `id` and attachment `location`s are never portable: ids differ between systems.
    const FIELDS: &'static [&'static str];
    /// Id in the system the record was read from.
    fn id(&self) -> &str;
    /// The id, mutable.
    fn id_mut(&mut self) -> &mut String;
    /// When the record last changed (creation time for immutable records); delta runs
    /// compare it with the previous run's high-water mark.
    fn changed_at(&self) -> Option<Timestamp>;
    /// Calls `visit` with the kind and id of every reference the record holds, so the
    /// engine can rewrite source ids into target ids and back.
    fn for_each_ref_mut(&mut self, visit: &mut dyn FnMut(Kind, &mut String));
    /// Wraps the record into the [`Record`] enum.
    fn into_record(self) -> Record;
}

fn visit_ref<T: Entity>(r: &mut Ref<T>, visit: &mut dyn FnMut(Kind, &mut String)) {
    visit(T::KIND, r.id_mut());
}

fn visit_opt<T: Entity>(r: &mut Option<Ref<T>>, visit: &mut dyn FnMut(Kind, &mut String)) {
    if let Some(r) = r {
        visit(T::KIND, r.id_mut());
    }
}

fn visit_custom_fields(fields: &mut CustomFields, visit: &mut dyn FnMut(Kind, &mut String)) {
    if fields.is_empty() {
        return;
    }
    *fields = std::mem::take(fields)
        .into_iter()
        .map(|(mut key, value)| {
            visit(Kind::FieldDefinition, key.id_mut());
            (key, value)
        })
        .collect();
}

macro_rules! entity {
    ($ty:ident, $kind:ident, changed: |$cs:ident| $cexpr:expr, fields: [$($field:literal),* $(,)?], |$this:ident, $visit:ident| $refs:block) => {
        impl Entity for $ty {
            const KIND: Kind = Kind::$kind;
            const FIELDS: &'static [&'static str] = &[$($field),*];
            fn id(&self) -> &str {
                &self.id
            }
            fn id_mut(&mut self) -> &mut String {
                &mut self.id
            }
            fn changed_at(&self) -> Option<Timestamp> {
                let $cs = self;
                $cexpr
            }
            #[allow(unused_variables)]
            fn for_each_ref_mut(&mut self, $visit: &mut dyn FnMut(Kind, &mut String)) {
                let $this = self;
                $refs
            }
            fn into_record(self) -> Record {
                Record::$ty(self)
            }
        }
    };
}

entity!(Organization, Organization, changed: |s| s.updated_at,
    fields: ["name", "domains", "details", "notes", "tags", "custom_fields", "created_at", "updated_at", "extra"],
    |this, visit| { visit_custom_fields(&mut this.custom_fields, visit); });
entity!(User, User, changed: |s| s.updated_at,
fields: ["name", "email", "phone", "role", "state", "organization", "locale", "time_zone", "tags", "custom_fields", "created_at", "updated_at", "extra"],
|this, visit| {
    visit_opt(&mut this.organization, visit);
    visit_custom_fields(&mut this.custom_fields, visit);
});
entity!(Group, Group, changed: |s| s.updated_at,
    fields: ["name", "description", "created_at", "updated_at", "extra"],
    |this, visit| {});
entity!(GroupMembership, GroupMembership, changed: |_s| None,
fields: ["group", "user", "is_default", "extra"],
|this, visit| {
    visit_ref(&mut this.group, visit);
    visit_ref(&mut this.user, visit);
});
entity!(FieldDefinition, FieldDefinition, changed: |_s| None,
    fields: ["object", "key", "title", "field_type", "options", "pattern", "required", "active", "position", "extra"],
    |this, visit| {});
entity!(Ticket, Ticket, changed: |s| s.updated_at,
fields: ["subject", "status", "priority", "ticket_type", "tags", "requester", "submitter", "assignee", "group", "organization", "channel", "custom_fields", "links", "archived", "created_at", "updated_at", "solved_at", "extra"],
|this, visit| {
    visit_opt(&mut this.requester, visit);
    visit_opt(&mut this.submitter, visit);
    visit_opt(&mut this.assignee, visit);
    visit_opt(&mut this.group, visit);
    visit_opt(&mut this.organization, visit);
    visit_custom_fields(&mut this.custom_fields, visit);
    if !this.links.is_empty() {
        this.links = std::mem::take(&mut this.links)
            .into_iter()
            .map(|mut link| {
                visit_ref(&mut link.ticket, visit);
                link
            })
            .collect();
    }
});
entity!(Comment, Comment, changed: |s| s.created_at,
fields: ["ticket", "author", "public", "body_html", "body_text", "attachments.file_name", "attachments.content_type", "attachments.size", "attachments.sha256", "attachments.inline", "created_at", "extra"],
|this, visit| {
    visit_ref(&mut this.ticket, visit);
    visit_opt(&mut this.author, visit);
});
entity!(SatisfactionRating, SatisfactionRating, changed: |s| s.created_at,
fields: ["ticket", "requester", "score", "comment", "created_at", "extra"],
|this, visit| {
    visit_ref(&mut this.ticket, visit);
    visit_opt(&mut this.requester, visit);
});
entity!(KbCategory, KbCategory, changed: |s| s.updated_at,
    fields: ["name", "description", "locale", "position", "created_at", "updated_at", "extra"],
    |this, visit| {});
entity!(KbSection, KbSection, changed: |s| s.updated_at,
fields: ["category", "parent", "name", "description", "locale", "position", "created_at", "updated_at", "extra"],
|this, visit| {
    visit_ref(&mut this.category, visit);
    visit_opt(&mut this.parent, visit);
});
entity!(KbArticle, KbArticle, changed: |s| s.updated_at,
fields: ["section", "author", "title", "body_html", "locale", "draft", "labels", "translations", "attachments.file_name", "attachments.content_type", "attachments.size", "attachments.sha256", "attachments.inline", "created_at", "updated_at", "extra"],
|this, visit| {
    visit_ref(&mut this.section, visit);
    visit_opt(&mut this.author, visit);
});
entity!(Macro, Macro, changed: |s| s.updated_at,
    fields: ["title", "description", "active", "actions", "position", "untranslated", "created_at", "updated_at", "extra"],
    |this, visit| { visit_actions(&mut this.actions, visit); });
entity!(Rule, Rule, changed: |s| s.updated_at,
fields: ["rule_kind", "title", "active", "events", "conditions", "actions", "position", "untranslated", "created_at", "updated_at", "extra"],
|this, visit| {
    visit_conditions(&mut this.conditions, visit);
    visit_actions(&mut this.actions, visit);
});
entity!(Webhook, Webhook, changed: |s| s.updated_at,
    fields: ["name", "endpoint", "method", "format", "auth", "active", "subscriptions", "created_at", "updated_at", "extra"],
    |this, visit| {});
entity!(SlaPolicy, SlaPolicy, changed: |s| s.updated_at,
    fields: ["title", "description", "position", "filter", "targets", "untranslated", "created_at", "updated_at", "extra"],
    |this, visit| { visit_conditions(&mut this.filter, visit); });
entity!(View, View, changed: |s| s.updated_at,
    fields: ["title", "active", "conditions", "untranslated", "columns", "sort_by", "sort_ascending", "position", "created_at", "updated_at", "extra"],
    |this, visit| { visit_conditions(&mut this.conditions, visit); });

/// Any record of the canonical model, tagged with its kind when serialized on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Record {
    Organization(Organization),
    User(User),
    Group(Group),
    GroupMembership(GroupMembership),
    FieldDefinition(FieldDefinition),
    Ticket(Ticket),
    Comment(Comment),
    SatisfactionRating(SatisfactionRating),
    KbCategory(KbCategory),
    KbSection(KbSection),
    KbArticle(KbArticle),
    Macro(Macro),
    Rule(Rule),
    Webhook(Webhook),
    SlaPolicy(SlaPolicy),
    View(View),
}

macro_rules! each_record {
    ($self:expr, $r:ident => $body:expr) => {
        match $self {
            Record::Organization($r) => $body,
            Record::User($r) => $body,
            Record::Group($r) => $body,
            Record::GroupMembership($r) => $body,
            Record::FieldDefinition($r) => $body,
            Record::Ticket($r) => $body,
            Record::Comment($r) => $body,
            Record::SatisfactionRating($r) => $body,
            Record::KbCategory($r) => $body,
            Record::KbSection($r) => $body,
            Record::KbArticle($r) => $body,
            Record::Macro($r) => $body,
            Record::Rule($r) => $body,
            Record::Webhook($r) => $body,
            Record::SlaPolicy($r) => $body,
            Record::View($r) => $body,
        }
    };
}

fn kind_of<T: Entity>(_: &T) -> Kind {
    T::KIND
}

impl Record {
    /// The record's kind.
    pub fn kind(&self) -> Kind {
        each_record!(self, r => kind_of(r))
    }

    /// Id in the system the record was read from.
    pub fn id(&self) -> &str {
        each_record!(self, r => r.id())
    }

    /// The id, mutable.
    pub fn id_mut(&mut self) -> &mut String {
        each_record!(self, r => r.id_mut())
    }

    /// When the record last changed, see [`Entity::changed_at`].
    pub fn changed_at(&self) -> Option<Timestamp> {
        each_record!(self, r => r.changed_at())
    }

    /// Visits every reference, see [`Entity::for_each_ref_mut`].
    pub fn for_each_ref_mut(&mut self, visit: &mut dyn FnMut(Kind, &mut String)) {
        each_record!(self, r => r.for_each_ref_mut(visit))
    }

    /// The kinds and ids this record references, for dependency checks.
    pub fn references(&self) -> Vec<(Kind, String)> {
        let mut found = Vec::new();
        let mut copy = self.clone();
        copy.for_each_ref_mut(&mut |kind, id| found.push((kind, id.clone())));
        found
    }

    /// Attachments carried by this record (comments and articles), else empty.
    pub fn attachments(&self) -> &[Attachment] {
        match self {
            Record::Comment(c) => &c.attachments,
            Record::KbArticle(a) => &a.attachments,
            _ => &[],
        }
    }

    /// Attachments carried by this record, mutable; `None` for kinds without attachments.
    pub fn attachments_mut(&mut self) -> Option<&mut Vec<Attachment>> {
        match self {
            Record::Comment(c) => Some(&mut c.attachments),
            Record::KbArticle(a) => Some(&mut a.attachments),
            _ => None,
        }
    }

    /// Custom field values carried by this record, mutable; `None` for kinds without them.
    pub fn custom_fields_mut(&mut self) -> Option<&mut CustomFields> {
        match self {
            Record::Organization(o) => Some(&mut o.custom_fields),
            Record::User(u) => Some(&mut u.custom_fields),
            Record::Ticket(t) => Some(&mut t.custom_fields),
            _ => None,
        }
    }

    /// The record this one belongs to and cannot exist without (a comment's ticket), as
    /// its kind and id: what a target that writes children inside their parent (a
    /// ticket import carrying its comments) groups by.
    pub fn parent(&self) -> Option<(Kind, &str)> {
        match self {
            Record::Comment(c) => Some((Kind::Ticket, c.ticket.id())),
            _ => None,
        }
    }

    /// The parent reference's id, mutable, see [`Record::parent`].
    pub fn parent_id_mut(&mut self) -> Option<&mut String> {
        match self {
            Record::Comment(c) => Some(c.ticket.id_mut()),
            _ => None,
        }
    }

    /// The record's vendor leftovers.
    pub fn extra(&self) -> &crate::Extra {
        each_record!(self, r => &r.extra)
    }

    /// The record as a JSON object without the `kind` tag (the form stored one kind per file).
    pub fn to_untagged_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        each_record!(self, r => serde_json::to_value(r))
    }

    /// Parses the untagged JSON form of a record of a known kind.
    pub fn from_untagged_json(kind: Kind, json: &str) -> Result<Record, serde_json::Error> {
        fn parse<T: Entity>(json: &str) -> Result<Record, serde_json::Error> {
            serde_json::from_str::<T>(json).map(Entity::into_record)
        }
        match kind {
            Kind::Organization => parse::<Organization>(json),
            Kind::User => parse::<User>(json),
            Kind::Group => parse::<Group>(json),
            Kind::GroupMembership => parse::<GroupMembership>(json),
            Kind::FieldDefinition => parse::<FieldDefinition>(json),
            Kind::Ticket => parse::<Ticket>(json),
            Kind::Comment => parse::<Comment>(json),
            Kind::SatisfactionRating => parse::<SatisfactionRating>(json),
            Kind::KbCategory => parse::<KbCategory>(json),
            Kind::KbSection => parse::<KbSection>(json),
            Kind::KbArticle => parse::<KbArticle>(json),
            Kind::Macro => parse::<Macro>(json),
            Kind::Rule => parse::<Rule>(json),
            Kind::Webhook => parse::<Webhook>(json),
            Kind::SlaPolicy => parse::<SlaPolicy>(json),
            Kind::View => parse::<View>(json),
            Kind::Attachment => Err(serde::de::Error::custom(
                "attachments are not stored on their own; they travel inside comments and articles",
            )),
        }
    }
}

impl Kind {
    /// The kind every record of this kind belongs to (see [`Record::parent`]).
    pub fn parent_kind(self) -> Option<Kind> {
        match self {
            Kind::Comment => Some(Kind::Ticket),
            _ => None,
        }
    }

    /// Every field of this kind an adapter can declare it round-trips; see [`Entity::FIELDS`].
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::Organization => Organization::FIELDS,
            Kind::User => User::FIELDS,
            Kind::Group => Group::FIELDS,
            Kind::GroupMembership => GroupMembership::FIELDS,
            Kind::FieldDefinition => FieldDefinition::FIELDS,
            Kind::Ticket => Ticket::FIELDS,
            Kind::Comment => Comment::FIELDS,
            Kind::Attachment => &["file_name", "content_type", "size", "sha256", "inline"],
            Kind::SatisfactionRating => SatisfactionRating::FIELDS,
            Kind::KbCategory => KbCategory::FIELDS,
            Kind::KbSection => KbSection::FIELDS,
            Kind::KbArticle => KbArticle::FIELDS,
            Kind::Macro => Macro::FIELDS,
            Kind::Rule => Rule::FIELDS,
            Kind::Webhook => Webhook::FIELDS,
            Kind::SlaPolicy => SlaPolicy::FIELDS,
            Kind::View => View::FIELDS,
        }
    }
}
