//! The customer's customizations map: the plan's `[map]` tables, parsed ([`MapSpec`]),
//! then resolved against what both sides hold ([`Mapping::resolve`]) and applied once,
//! in the engine, to every record between read and write ([`Mapping::apply`]). The same
//! resolved map is applied to the source side of a verification, so the expected digest
//! is the digest of the *mapped* source. No adapter name appears here: names are matched
//! on canonical records only.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use switchover_adapter::{PageRequest, Source, Target};
use switchover_model::{
    FieldDefinition, FieldObject, FieldValue, Kind, Priority, Record, TicketStatus, TicketType,
    UserRole,
};

use crate::EngineError;

/// What a custom field mapping does with a source value it neither maps nor finds on
/// the target field.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// The record fails, naming the field and the value.
    #[default]
    Fail,
    /// The value is written as it is (the target creates the option if it can).
    Keep,
    /// The value is left out of the record.
    Drop,
    /// The value is replaced by this target value.
    Default(String),
}

impl Unmapped {
    fn parse(text: &str) -> Option<Unmapped> {
        match text {
            "fail" => Some(Unmapped::Fail),
            "keep" => Some(Unmapped::Keep),
            "drop" => Some(Unmapped::Drop),
            other => other
                .strip_prefix("default:")
                .filter(|v| !v.is_empty())
                .map(|v| Unmapped::Default(v.to_string())),
        }
    }
}

/// One `[map.fields."<label or id>"]` table as the plan wrote it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSpec {
    /// The source field: its id, key or title.
    pub from: String,
    /// The target field: its id, key or title (the source's own name when not given).
    pub to: Option<String>,
    /// Source option (value or label) -> target option (value or label).
    pub values: BTreeMap<String, String>,
    /// What happens to the other values.
    pub unmapped: Unmapped,
}

/// The plan's `[map]` tables, by the names people use, not yet checked against the sides.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MapSpec {
    /// Source status -> target status (canonical names: new, open, pending, on_hold,
    /// solved, closed).
    pub status: Vec<(TicketStatus, TicketStatus)>,
    /// Source priority -> target priority (low, normal, high, urgent).
    pub priority: Vec<(Priority, Priority)>,
    /// Source ticket type -> target ticket type (`none` for no type).
    pub ticket_type: Vec<(TicketType, Option<TicketType>)>,
    /// Source group name -> target group name.
    pub groups: BTreeMap<String, String>,
    /// Source user e-mail -> target user e-mail.
    pub users: BTreeMap<String, String>,
    /// The target user (e-mail) that stands in for every source agent the target lacks.
    pub departed_agents: Option<String>,
    /// Custom field mappings.
    pub fields: Vec<FieldSpec>,
}

const STATUSES: &[&str] = &["new", "open", "pending", "on_hold", "solved", "closed"];
const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
const TYPES: &[&str] = &["question", "incident", "problem", "task"];
const MAP_TABLES: &[&str] = &[
    "status",
    "priority",
    "ticket_type",
    "groups",
    "users",
    "fields",
];
const FIELD_KEYS: &[&str] = &["to", "values", "unmapped"];

/// The value `from` maps to among canonical pairs.
fn lookup<'a, K: PartialEq, V>(pairs: &'a [(K, V)], from: &K) -> Option<&'a V> {
    pairs.iter().find(|(k, _)| k == from).map(|(_, v)| v)
}

/// Edit distance between two strings, case-insensitively, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `; did you mean 'x'?` for the nearest of `names`, or `; known: a, b` when none is near.
fn suggest<'a>(wanted: &str, names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.into_iter().collect();
    let nearest = names
        .iter()
        .map(|n| (distance(wanted, n), *n))
        .min_by_key(|(d, _)| *d);
    match nearest {
        Some((d, name)) if d <= wanted.chars().count().max(3) / 2 + 1 => {
            format!("; did you mean '{name}'?")
        }
        _ if names.is_empty() => "; there is none".to_string(),
        _ => {
            let mut shown: Vec<&str> = names.iter().take(12).copied().collect();
            if names.len() > 12 {
                shown.push("...");
            }
            format!("; known: {}", shown.join(", "))
        }
    }
}

fn canonical<T: serde::de::DeserializeOwned>(
    table: &str,
    text: &str,
    names: &[&str],
    problems: &mut Vec<String>,
) -> Option<T> {
    match serde_json::from_value(serde_json::Value::String(text.to_string())) {
        Ok(value) => Some(value),
        Err(_) => {
            problems.push(format!(
                "[map.{table}] '{text}' is not a {table}{}",
                suggest(text, names.iter().copied())
            ));
            None
        }
    }
}

fn strings(table: &str, value: &toml::Value, problems: &mut Vec<String>) -> Vec<(String, String)> {
    let Some(entries) = value.as_table() else {
        problems.push(format!("[map.{table}] must be a table of names"));
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for (key, value) in entries {
        match value.as_str() {
            Some(text) => pairs.push((key.clone(), text.to_string())),
            None => problems.push(format!(
                "[map.{table}] {key} must be a name in quotes, found {value}"
            )),
        }
    }
    pairs
}

impl MapSpec {
    /// Whether the plan maps nothing.
    pub fn is_empty(&self) -> bool {
        *self == MapSpec::default()
    }

    /// Parses the plan's `[map]` table; every problem is added to `problems`.
    pub fn parse(table: &toml::Table, problems: &mut Vec<String>) -> MapSpec {
        let mut spec = MapSpec::default();
        for (name, value) in table {
            match name.as_str() {
                "status" => {
                    for (from, to) in strings(name, value, problems) {
                        let from = canonical(name, &from, STATUSES, problems);
                        let to = canonical(name, &to, STATUSES, problems);
                        if let (Some(from), Some(to)) = (from, to) {
                            spec.status.push((from, to));
                        }
                    }
                }
                "priority" => {
                    for (from, to) in strings(name, value, problems) {
                        let from = canonical(name, &from, PRIORITIES, problems);
                        let to = canonical(name, &to, PRIORITIES, problems);
                        if let (Some(from), Some(to)) = (from, to) {
                            spec.priority.push((from, to));
                        }
                    }
                }
                "ticket_type" => {
                    for (from, to) in strings(name, value, problems) {
                        let from = canonical(name, &from, TYPES, problems);
                        let to = match to.as_str() {
                            "none" => Some(None),
                            _ => canonical(name, &to, TYPES, problems).map(Some),
                        };
                        if let (Some(from), Some(to)) = (from, to) {
                            spec.ticket_type.push((from, to));
                        }
                    }
                }
                "groups" => spec.groups = strings(name, value, problems).into_iter().collect(),
                "users" => {
                    for (from, to) in strings(name, value, problems) {
                        if from == "departed_agents" {
                            spec.departed_agents = Some(to);
                        } else {
                            spec.users.insert(from, to);
                        }
                    }
                }
                "fields" => {
                    let Some(fields) = value.as_table() else {
                        problems.push("[map.fields] must hold one table per field: [map.fields.\"Product area\"]".into());
                        continue;
                    };
                    for (from, field) in fields {
                        spec.fields.push(FieldSpec::parse(from, field, problems));
                    }
                }
                other => problems.push(format!(
                    "[map] unknown table '{other}'{}",
                    suggest(other, MAP_TABLES.iter().copied())
                )),
            }
        }
        spec
    }
}

impl FieldSpec {
    fn parse(from: &str, value: &toml::Value, problems: &mut Vec<String>) -> FieldSpec {
        let mut spec = FieldSpec {
            from: from.to_string(),
            ..FieldSpec::default()
        };
        let at = format!("[map.fields.\"{from}\"]");
        let Some(table) = value.as_table() else {
            problems.push(format!(
                "{at} must be a table with `to`, `values` and `unmapped`"
            ));
            return spec;
        };
        for (key, value) in table {
            match (key.as_str(), value) {
                ("to", toml::Value::String(to)) => spec.to = Some(to.clone()),
                ("values", toml::Value::Table(_)) => {
                    spec.values = strings(&format!("fields.\"{from}\".values"), value, problems)
                        .into_iter()
                        .collect();
                }
                ("unmapped", toml::Value::String(text)) => match Unmapped::parse(text) {
                    Some(u) => spec.unmapped = u,
                    None => problems.push(format!(
                        "{at} unmapped = \"{text}\": say \"fail\", \"keep\", \"drop\" or \"default:<target value>\""
                    )),
                },
                ("to" | "values" | "unmapped", other) => {
                    problems.push(format!("{at} {key} has the wrong type: {other}"))
                }
                (other, _) => problems.push(format!(
                    "{at} unknown key '{other}'{}",
                    suggest(other, FIELD_KEYS.iter().copied())
                )),
            }
        }
        spec
    }
}

/// A custom field mapping resolved against both sides.
#[derive(Debug, Clone, PartialEq)]
struct ResolvedField {
    /// The source field's title, for messages.
    name: String,
    /// What the field applies to.
    object: FieldObject,
    /// The target field's title and key, which the mapped definition takes.
    title: String,
    key: String,
    /// Source option value -> target option value.
    values: BTreeMap<String, String>,
    /// Option values the target field has, with their labels.
    known: BTreeMap<String, String>,
    unmapped: Unmapped,
    /// Whether the field holds options at all (values of other types pass untouched).
    has_options: bool,
}

/// What became of one value under a field mapping.
enum Fate {
    Value(String),
    Dropped,
    Unmapped,
}

impl ResolvedField {
    fn map_value(&self, value: &str) -> Fate {
        if let Some(to) = self.values.get(value) {
            return Fate::Value(to.clone());
        }
        if !self.has_options || self.known.contains_key(value) {
            return Fate::Value(value.to_string());
        }
        match &self.unmapped {
            Unmapped::Keep => Fate::Value(value.to_string()),
            Unmapped::Drop => Fate::Dropped,
            Unmapped::Default(v) => Fate::Value(v.clone()),
            Unmapped::Fail => Fate::Unmapped,
        }
    }
}

/// The plan's map resolved against both sides: source ids to what they become. Empty
/// (the default) when the plan maps nothing; then [`Mapping::apply`] changes nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping {
    status: Vec<(TicketStatus, TicketStatus)>,
    priority: Vec<(Priority, Priority)>,
    ticket_type: Vec<(TicketType, Option<TicketType>)>,
    /// Source group id -> the target name it takes.
    groups: HashMap<String, String>,
    /// Source user id -> the target user id that stands in for it.
    users: HashMap<String, String>,
    /// Source field definition id -> its mapping.
    fields: HashMap<String, ResolvedField>,
}

/// Everything of one kind a source holds.
fn read_source_all(source: &dyn Source, kind: Kind) -> Result<Vec<Record>, EngineError> {
    let mut request = PageRequest::default();
    let mut all = Vec::new();
    loop {
        let page = source.read_page(kind, &request)?;
        all.extend(page.records);
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return Ok(all),
        }
    }
}

/// Everything of one kind a target holds, with target ids.
fn read_target_all(target: &dyn Target, kind: Kind) -> Result<Vec<Record>, EngineError> {
    let mut request = PageRequest::default();
    let mut all = Vec::new();
    loop {
        let page = target.read_back(kind, &request)?;
        all.extend(page.records.into_iter().map(|r| r.record));
        match page.next {
            Some(next) => request.cursor = Some(next),
            None => return Ok(all),
        }
    }
}

fn field_defs(records: Vec<Record>) -> Vec<FieldDefinition> {
    records
        .into_iter()
        .filter_map(|r| match r {
            Record::FieldDefinition(f) => Some(f),
            _ => None,
        })
        .collect()
}

/// The field named `name` (id, key or title; ticket fields first when several objects
/// share a title), of `object` when given.
fn find_field<'a>(
    fields: &'a [FieldDefinition],
    name: &str,
    object: Option<FieldObject>,
) -> Option<&'a FieldDefinition> {
    let of_object = |f: &&FieldDefinition| object.is_none_or(|o| f.object == o);
    fields
        .iter()
        .filter(of_object)
        .find(|f| f.id == name)
        .or_else(|| {
            let mut named: Vec<&FieldDefinition> = fields
                .iter()
                .filter(of_object)
                .filter(|f| f.key.eq_ignore_ascii_case(name) || f.title.eq_ignore_ascii_case(name))
                .collect();
            named.sort_by_key(|f| f.object != FieldObject::Ticket);
            named.first().copied()
        })
}

/// The option value `name` stands for (a value, or a label) among `options`.
fn find_option(def: &FieldDefinition, name: &str) -> Option<String> {
    def.options
        .iter()
        .find(|o| o.value == name)
        .or_else(|| {
            def.options
                .iter()
                .find(|o| o.value.eq_ignore_ascii_case(name) || o.label.eq_ignore_ascii_case(name))
        })
        .map(|o| o.value.clone())
}

fn option_names(def: &FieldDefinition) -> impl Iterator<Item = &str> {
    def.options.iter().map(|o| o.value.as_str())
}

impl Mapping {
    /// Whether it maps nothing.
    pub fn is_empty(&self) -> bool {
        *self == Mapping::default()
    }

    /// Checks `spec` against what the source and the target hold (read-only calls: the
    /// source's groups, users and field definitions and the target's read back, only
    /// for the tables the plan has) and resolves it to ids. Every name either side
    /// lacks is a plan error naming the key and the nearest names, all at once.
    pub fn resolve(
        spec: &MapSpec,
        source: &dyn Source,
        target: &dyn Target,
    ) -> Result<Mapping, EngineError> {
        let mut problems = Vec::new();
        let mut mapping = Mapping {
            status: spec.status.clone(),
            priority: spec.priority.clone(),
            ticket_type: spec.ticket_type.clone(),
            ..Mapping::default()
        };
        if !spec.groups.is_empty() {
            let groups: Vec<(String, String)> = read_source_all(source, Kind::Group)?
                .into_iter()
                .filter_map(|r| match r {
                    Record::Group(g) => Some((g.id, g.name)),
                    _ => None,
                })
                .collect();
            for (from, to) in &spec.groups {
                match groups.iter().find(|(_, n)| n.eq_ignore_ascii_case(from)) {
                    Some((id, _)) => {
                        mapping.groups.insert(id.clone(), to.clone());
                    }
                    None => problems.push(format!(
                        "[map.groups] \"{from}\": the source has no group of that name{}",
                        suggest(from, groups.iter().map(|(_, n)| n.as_str()))
                    )),
                }
            }
        }
        if !spec.users.is_empty() || spec.departed_agents.is_some() {
            let users = |records: Vec<Record>| -> Vec<(String, String, UserRole)> {
                records
                    .into_iter()
                    .filter_map(|r| match r {
                        Record::User(u) => u.email.map(|e| (u.id, e, u.role)),
                        _ => None,
                    })
                    .collect()
            };
            let on_source = users(read_source_all(source, Kind::User)?);
            let on_target = users(read_target_all(target, Kind::User)?);
            // A target user by e-mail: one a migration marked, or else the one the
            // target's own rules would adopt for a write of that e-mail (its agents
            // need not be listed to a migration).
            let target_id = |email: &str, role: UserRole| -> Result<Option<String>, EngineError> {
                if let Some((id, _, _)) = on_target
                    .iter()
                    .find(|(_, e, _)| e.eq_ignore_ascii_case(email))
                {
                    return Ok(Some(id.clone()));
                }
                let probe = switchover_model::User {
                    id: format!("map:{email}"),
                    email: Some(email.to_string()),
                    role,
                    ..Default::default()
                };
                let request = switchover_adapter::WriteRequest::create(Record::User(probe));
                Ok(match target.predict(Kind::User, &request)? {
                    switchover_adapter::Prediction::AdoptAs(id) => Some(id),
                    _ => None,
                })
            };
            let target_of = |key: &str,
                             email: &str,
                             problems: &mut Vec<String>|
             -> Result<Option<String>, EngineError> {
                let found = target_id(email, UserRole::Agent)?;
                if found.is_none() {
                    problems.push(format!(
                        "[map.users] {key} = \"{email}\": the target has no user with that e-mail{}",
                        suggest(email, on_target.iter().map(|(_, e, _)| e.as_str()))
                    ));
                }
                Ok(found)
            };
            for (from, to) in &spec.users {
                let source_user = on_source
                    .iter()
                    .find(|(_, e, _)| e.eq_ignore_ascii_case(from));
                let target = target_of(&format!("\"{from}\""), to, &mut problems)?;
                match (source_user, target) {
                    (Some((id, _, _)), Some(target)) => {
                        mapping.users.insert(id.clone(), target);
                    }
                    (None, _) => problems.push(format!(
                        "[map.users] \"{from}\": the source has no user with that e-mail{}",
                        suggest(from, on_source.iter().map(|(_, e, _)| e.as_str()))
                    )),
                    _ => {}
                }
            }
            if let Some(departed) = &spec.departed_agents
                && let Some(stand_in) = target_of("departed_agents", departed, &mut problems)?
            {
                for (id, email, role) in &on_source {
                    let agent = matches!(role, UserRole::Agent | UserRole::Admin);
                    if agent
                        && !mapping.users.contains_key(id)
                        && target_id(email, *role)?.is_none()
                    {
                        mapping.users.insert(id.clone(), stand_in.clone());
                    }
                }
            }
        }
        if !spec.fields.is_empty() {
            let source_fields = field_defs(read_source_all(source, Kind::FieldDefinition)?);
            let target_fields = field_defs(read_target_all(target, Kind::FieldDefinition)?);
            for field in &spec.fields {
                let at = format!("[map.fields.\"{}\"]", field.from);
                let Some(from) = find_field(&source_fields, &field.from, None) else {
                    problems.push(format!(
                        "{at}: the source has no field with that title, key or id{}",
                        suggest(&field.from, source_fields.iter().map(|f| f.title.as_str()))
                    ));
                    continue;
                };
                let to_name = field.to.as_deref().unwrap_or(&from.title);
                let Some(to) = find_field(&target_fields, to_name, Some(from.object)) else {
                    problems.push(format!(
                        "{at} to = \"{to_name}\": the target has no such field{}",
                        suggest(
                            to_name,
                            target_fields
                                .iter()
                                .filter(|f| f.object == from.object)
                                .map(|f| f.title.as_str())
                        )
                    ));
                    continue;
                };
                let mut values = BTreeMap::new();
                for (value, target_value) in &field.values {
                    let source_value = find_option(from, value);
                    let target_value_found = find_option(to, target_value);
                    if source_value.is_none() {
                        problems.push(format!(
                            "{at} values: the source field has no option '{value}'{}",
                            suggest(value, option_names(from))
                        ));
                    }
                    if target_value_found.is_none() {
                        problems.push(format!(
                            "{at} values: \"{value}\" = \"{target_value}\": the target field '{}' has no option '{target_value}'{}",
                            to.title,
                            suggest(target_value, option_names(to))
                        ));
                    }
                    if let (Some(s), Some(t)) = (source_value, target_value_found) {
                        values.insert(s, t);
                    }
                }
                let mut unmapped = field.unmapped.clone();
                if let Unmapped::Default(value) = &field.unmapped {
                    match find_option(to, value) {
                        Some(v) => unmapped = Unmapped::Default(v),
                        None => problems.push(format!(
                            "{at} unmapped = \"default:{value}\": the target field '{}' has no option '{value}'{}",
                            to.title,
                            suggest(value, option_names(to))
                        )),
                    }
                }
                mapping.fields.insert(
                    from.id.clone(),
                    ResolvedField {
                        name: from.title.clone(),
                        object: from.object,
                        title: to.title.clone(),
                        key: to.key.clone(),
                        values,
                        known: to
                            .options
                            .iter()
                            .map(|o| (o.value.clone(), o.label.clone()))
                            .collect(),
                        unmapped,
                        has_options: !to.options.is_empty() || !from.options.is_empty(),
                    },
                );
            }
        }
        if problems.is_empty() {
            Ok(mapping)
        } else {
            Err(EngineError::Plan(problems))
        }
    }

    /// The target user id that stands in for this source user, when the plan folds it
    /// into a user the target has (a departed agent, a mapped e-mail).
    pub fn user(&self, source_id: &str) -> Option<&str> {
        self.users.get(source_id).map(String::as_str)
    }

    /// Whether the plan folds this record into one the target already has, so it is
    /// not written itself: a mapped user, and the group memberships of a mapped user.
    pub fn folds(&self, record: &Record) -> bool {
        match record {
            Record::User(u) => self.users.contains_key(&u.id),
            Record::GroupMembership(m) => self.users.contains_key(m.user.id()),
            _ => false,
        }
    }

    /// The fields of `kind` this map changes, for the verification report.
    pub fn mapped_fields(&self, kind: Kind) -> Vec<String> {
        let mut fields = Vec::new();
        match kind {
            Kind::Ticket => {
                for (name, used) in [
                    ("status", !self.status.is_empty()),
                    ("priority", !self.priority.is_empty()),
                    ("ticket_type", !self.ticket_type.is_empty()),
                ] {
                    if used {
                        fields.push(name.to_string());
                    }
                }
            }
            Kind::Group if !self.groups.is_empty() => fields.push("name".into()),
            Kind::FieldDefinition if !self.fields.is_empty() => {
                fields.extend(["title", "key", "options"].map(String::from))
            }
            _ => {}
        }
        if matches!(
            kind,
            Kind::Ticket | Kind::User | Kind::Organization | Kind::Comment | Kind::GroupMembership
        ) {
            if matches!(kind, Kind::Ticket | Kind::User | Kind::Organization) {
                let object = match kind {
                    Kind::Ticket => FieldObject::Ticket,
                    Kind::User => FieldObject::User,
                    _ => FieldObject::Organization,
                };
                let mut names: Vec<&str> = self
                    .fields
                    .values()
                    .filter(|f| f.object == object)
                    .map(|f| f.name.as_str())
                    .collect();
                names.sort_unstable();
                names.dedup();
                fields.extend(names.into_iter().map(|n| format!("custom_fields ({n})")));
            }
            if !self.users.is_empty() && kind != Kind::User && kind != Kind::Organization {
                fields.push("user references (departed or mapped users)".into());
            }
        }
        fields
    }

    /// Applies the map to one source record. `Err` names a value the plan leaves
    /// unmapped under `unmapped = "fail"`: the record must not be written.
    pub fn apply(&self, record: &mut Record) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        match record {
            Record::Ticket(t) => {
                if let Some(to) = lookup(&self.status, &t.status) {
                    t.status = *to;
                }
                if let Some(to) = t.priority.and_then(|p| lookup(&self.priority, &p)) {
                    t.priority = Some(*to);
                }
                if let Some(to) = t.ticket_type.and_then(|p| lookup(&self.ticket_type, &p)) {
                    t.ticket_type = *to;
                }
            }
            Record::Group(g) => {
                if let Some(name) = self.groups.get(&g.id) {
                    g.name = name.clone();
                }
            }
            Record::FieldDefinition(f) => {
                if let Some(field) = self.fields.get(&f.id) {
                    f.title = field.title.clone();
                    f.key = field.key.clone();
                    let mut options = Vec::new();
                    let mut seen = BTreeSet::new();
                    for option in std::mem::take(&mut f.options) {
                        let value = match field.map_value(&option.value) {
                            Fate::Value(v) => v,
                            Fate::Dropped => continue,
                            Fate::Unmapped => option.value.clone(),
                        };
                        if seen.insert(value.clone()) {
                            let label = match field.known.get(&value) {
                                Some(label) if value != option.value => label.clone(),
                                _ => option.label,
                            };
                            options.push(switchover_model::FieldOption { value, label });
                        }
                    }
                    f.options = options;
                }
            }
            _ => {}
        }
        let Some(values) = record.custom_fields_mut() else {
            return Ok(());
        };
        let mut problem = None;
        values.retain(|key, value| {
            let Some(field) = self.fields.get(key.id()) else {
                return true;
            };
            let mut unmapped = |v: &str| {
                problem.get_or_insert_with(|| {
                    format!(
                        "field '{}' has the value '{v}', which the plan's [map.fields.\"{}\"] does not map and the target field '{}' does not have; map it in `values`, or set `unmapped` to \"keep\", \"drop\" or \"default:<value>\"",
                        field.name, field.name, field.title
                    )
                });
            };
            match value {
                FieldValue::Dropdown(v) => match field.map_value(v) {
                    Fate::Value(to) => *v = to,
                    Fate::Dropped => return false,
                    Fate::Unmapped => unmapped(v),
                },
                FieldValue::MultiSelect(set) => {
                    let mut mapped = BTreeSet::new();
                    for v in std::mem::take(set) {
                        match field.map_value(&v) {
                            Fate::Value(to) => {
                                mapped.insert(to);
                            }
                            Fate::Dropped => {}
                            Fate::Unmapped => {
                                unmapped(&v);
                                mapped.insert(v);
                            }
                        }
                    }
                    *set = mapped;
                }
                _ => {}
            }
            true
        });
        match problem {
            Some(p) => Err(p),
            None => Ok(()),
        }
    }
}

/// One source value in use, with how many records carry it and where it lands: a row
/// of a dry run's mapping coverage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoverageRow {
    /// What the value is of: `status`, `priority`, `ticket_type`, `group`, `assignee`,
    /// or `field: <title>` for a custom field's options.
    pub field: String,
    /// The source value (a group's name, an agent's e-mail, an option's value).
    pub value: String,
    /// Records that carry it.
    pub records: u64,
    /// Where it lands: mapped by the plan, as it is, or what happens to it unmapped.
    pub lands: String,
    /// Whether the plan leaves it unmapped and the target field lacks it.
    pub unmapped: bool,
}

/// Counts the values source records use, for [`CoverageRow`]s; fed with records as read
/// (before the map), by the same run that applies the map.
#[derive(Debug, Default)]
pub struct Coverage {
    names: HashMap<(Kind, String), String>,
    counts: BTreeMap<(String, String), u64>,
    /// Custom field values: (field id, option value) -> records.
    options: BTreeMap<(String, String), u64>,
}

fn as_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Where a canonical value lands under `pairs`: mapped to the name `name` gives, or as
/// it is.
fn lands_of<K: serde::Serialize, V>(
    pairs: &[(K, V)],
    value: &str,
    name: impl Fn(&V) -> String,
) -> String {
    pairs
        .iter()
        .find(|(k, _)| as_name(k) == value)
        .map(|(_, v)| format!("mapped by the plan to '{}'", name(v)))
        .unwrap_or_else(|| "as it is".to_string())
}

impl Coverage {
    /// Counts the values of one record as read from the source.
    pub fn observe(&mut self, record: &Record) {
        let mut count = |field: &str, value: String| {
            *self.counts.entry((field.to_string(), value)).or_default() += 1;
        };
        match record {
            Record::Group(g) => {
                self.names
                    .insert((Kind::Group, g.id.clone()), g.name.clone());
            }
            Record::User(u) => {
                if let Some(email) = &u.email {
                    self.names.insert((Kind::User, u.id.clone()), email.clone());
                }
            }
            Record::FieldDefinition(f) => {
                self.names
                    .insert((Kind::FieldDefinition, f.id.clone()), f.title.clone());
            }
            Record::Ticket(t) => {
                count("status", as_name(&t.status));
                if let Some(p) = t.priority {
                    count("priority", as_name(&p));
                }
                if let Some(ty) = t.ticket_type {
                    count("ticket_type", as_name(&ty));
                }
                if let Some(g) = &t.group {
                    count("group", g.id().to_string());
                }
                if let Some(a) = &t.assignee {
                    count("assignee", a.id().to_string());
                }
            }
            _ => {}
        }
        let fields = match record {
            Record::Ticket(t) => &t.custom_fields,
            Record::User(u) => &u.custom_fields,
            Record::Organization(o) => &o.custom_fields,
            _ => return,
        };
        for (field, value) in fields {
            let values: Vec<&String> = match value {
                FieldValue::Dropdown(v) => vec![v],
                FieldValue::MultiSelect(set) => set.iter().collect(),
                _ => continue,
            };
            for v in values {
                *self
                    .options
                    .entry((field.id().to_string(), v.clone()))
                    .or_default() += 1;
            }
        }
    }

    /// Every value counted, with where `mapping` lands it.
    pub fn rows(&self, mapping: &Mapping) -> Vec<CoverageRow> {
        let mapped = |to: String| format!("mapped by the plan to '{to}'");
        let as_is = "as it is".to_string();
        let mut rows = Vec::new();
        for ((field, value), records) in &self.counts {
            let (shown, lands) = match field.as_str() {
                "status" => (value.clone(), lands_of(&mapping.status, value, as_name)),
                "priority" => (value.clone(), lands_of(&mapping.priority, value, as_name)),
                "ticket_type" => (
                    value.clone(),
                    lands_of(&mapping.ticket_type, value, |v| match v {
                        Some(v) => as_name(v),
                        None => "none".into(),
                    }),
                ),
                "group" => (
                    self.name(Kind::Group, value),
                    match mapping.groups.get(value) {
                        Some(to) => mapped(to.clone()),
                        None => "as it is (same name on the target, or created)".into(),
                    },
                ),
                _ => (
                    self.name(Kind::User, value),
                    match mapping.user(value) {
                        Some(to) => format!("mapped by the plan to target user {to}"),
                        None => as_is.clone(),
                    },
                ),
            };
            rows.push(CoverageRow {
                field: field.clone(),
                value: shown,
                records: *records,
                lands,
                unmapped: false,
            });
        }
        for ((field, value), records) in &self.options {
            let (lands, unmapped) = match mapping.fields.get(field) {
                None => (as_is.clone(), false),
                Some(f) => match f.map_value(value) {
                    Fate::Value(to) if f.values.contains_key(value) => (mapped(to), false),
                    Fate::Value(to) if f.known.contains_key(value) => {
                        (format!("same option '{to}' on the target"), false)
                    }
                    Fate::Value(to) if to == *value => {
                        ("unmapped: kept as it is (unmapped = \"keep\")".into(), true)
                    }
                    Fate::Value(to) => (format!("unmapped: becomes the default '{to}'"), true),
                    Fate::Dropped => ("unmapped: left out (unmapped = \"drop\")".into(), true),
                    Fate::Unmapped => (
                        format!("unmapped: these {records} record(s) fail (unmapped = \"fail\")"),
                        true,
                    ),
                },
            };
            rows.push(CoverageRow {
                field: format!("field: {}", self.name(Kind::FieldDefinition, field)),
                value: value.clone(),
                records: *records,
                lands,
                unmapped,
            });
        }
        rows
    }

    fn name(&self, kind: Kind, id: &str) -> String {
        self.names
            .get(&(kind, id.to_string()))
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (MapSpec, Vec<String>) {
        let table: toml::Table = toml::from_str(text).expect("toml");
        let mut problems = Vec::new();
        let spec = MapSpec::parse(&table, &mut problems);
        (spec, problems)
    }

    #[test]
    fn every_mapping_table_parses_into_canonical_values() {
        let (spec, problems) = parse(
            r#"
            [status]
            on_hold = "pending"
            [priority]
            urgent = "high"
            [ticket_type]
            task = "none"
            [groups]
            "Tier 2" = "Escalations"
            [users]
            "left@acme.example" = "former@acme.example"
            departed_agents = "former@acme.example"
            [fields."Product area"]
            to = "Product"
            values = { "billing-v1" = "Billing" }
            unmapped = "default:Other"
            "#,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            spec.status,
            vec![(TicketStatus::OnHold, TicketStatus::Pending)]
        );
        assert_eq!(spec.priority, vec![(Priority::Urgent, Priority::High)]);
        assert_eq!(spec.ticket_type, vec![(TicketType::Task, None)]);
        assert_eq!(spec.groups["Tier 2"], "Escalations");
        assert_eq!(spec.departed_agents.as_deref(), Some("former@acme.example"));
        assert_eq!(spec.users.len(), 1);
        assert_eq!(spec.fields[0].to.as_deref(), Some("Product"));
        assert_eq!(spec.fields[0].unmapped, Unmapped::Default("Other".into()));
    }

    #[test]
    fn wrong_names_and_keys_are_all_reported_with_the_nearest_name() {
        let (_, problems) = parse(
            r#"
            [status]
            pendng = "open"
            [priorty]
            low = "high"
            [fields."Product area"]
            too = "Product"
            unmapped = "sometimes"
            "#,
        );
        let all = problems.join("\n");
        for expected in [
            "[map.status] 'pendng' is not a status; did you mean 'pending'?",
            "[map] unknown table 'priorty'; did you mean 'priority'?",
            "[map.fields.\"Product area\"] unknown key 'too'; did you mean 'to'?",
            "unmapped = \"sometimes\"",
        ] {
            assert!(all.contains(expected), "missing '{expected}' in:\n{all}");
        }
        assert_eq!(problems.len(), 4, "{all}");
    }

    fn field(id: &str) -> ResolvedField {
        ResolvedField {
            name: "Product area".into(),
            object: FieldObject::Ticket,
            title: "Product".into(),
            key: "cf_product".into(),
            values: [("billing-v1".to_string(), "billing".to_string())].into(),
            known: [("billing".to_string(), "Billing".to_string())].into(),
            unmapped: Unmapped::Fail,
            has_options: !id.is_empty(),
        }
    }

    fn ticket(value: &str) -> Record {
        let mut t = switchover_model::Ticket {
            id: "t1".into(),
            status: TicketStatus::OnHold,
            ..Default::default()
        };
        t.custom_fields.insert(
            switchover_model::Ref::new("f1"),
            FieldValue::Dropdown(value.into()),
        );
        Record::Ticket(t)
    }

    fn dropdown(record: &Record) -> Option<FieldValue> {
        match record {
            Record::Ticket(t) => t.custom_fields.values().next().cloned(),
            _ => None,
        }
    }

    #[test]
    fn values_are_mapped_and_an_unmapped_one_follows_the_policy() {
        let mut mapping = Mapping {
            status: vec![(TicketStatus::OnHold, TicketStatus::Pending)],
            fields: [("f1".to_string(), field("f1"))].into(),
            ..Mapping::default()
        };
        let mut mapped = ticket("billing-v1");
        assert_eq!(mapping.apply(&mut mapped), Ok(()));
        assert_eq!(
            dropdown(&mapped),
            Some(FieldValue::Dropdown("billing".into()))
        );
        assert!(matches!(&mapped, Record::Ticket(t) if t.status == TicketStatus::Pending));

        let mut legacy = ticket("legacy");
        let error = mapping.apply(&mut legacy).expect_err("unmapped fails");
        assert!(
            error.contains("'legacy'") && error.contains("Product area"),
            "{error}"
        );

        let policy = |mapping: &mut Mapping, unmapped: Unmapped| {
            if let Some(f) = mapping.fields.get_mut("f1") {
                f.unmapped = unmapped;
            }
        };
        policy(&mut mapping, Unmapped::Drop);
        let mut dropped = ticket("legacy");
        assert_eq!(mapping.apply(&mut dropped), Ok(()));
        assert_eq!(dropdown(&dropped), None);
        policy(&mut mapping, Unmapped::Default("billing".into()));
        let mut defaulted = ticket("legacy");
        assert_eq!(mapping.apply(&mut defaulted), Ok(()));
        assert_eq!(
            dropdown(&defaulted),
            Some(FieldValue::Dropdown("billing".into()))
        );
        policy(&mut mapping, Unmapped::Keep);
        let mut kept = ticket("legacy");
        assert_eq!(mapping.apply(&mut kept), Ok(()));
        assert_eq!(dropdown(&kept), Some(FieldValue::Dropdown("legacy".into())));
    }

    #[test]
    fn coverage_lists_every_value_in_use_with_its_count_and_exactly_the_unmapped_ones() {
        let mapping = Mapping {
            status: vec![(TicketStatus::OnHold, TicketStatus::Pending)],
            fields: [("f1".to_string(), field("f1"))].into(),
            ..Mapping::default()
        };
        let mut coverage = Coverage::default();
        coverage.observe(&Record::FieldDefinition(FieldDefinition {
            id: "f1".into(),
            title: "Product area".into(),
            ..Default::default()
        }));
        for value in ["billing-v1", "legacy", "legacy", "billing"] {
            coverage.observe(&ticket(value));
        }
        let rows = coverage.rows(&mapping);
        let row = |field: &str, value: &str| {
            rows.iter()
                .find(|r| r.field == field && r.value == value)
                .cloned()
        };
        assert_eq!(row("status", "on_hold").map(|r| r.records), Some(4));
        assert_eq!(
            row("status", "on_hold").map(|r| r.lands),
            Some("mapped by the plan to 'pending'".into())
        );
        let legacy = row("field: Product area", "legacy").expect("legacy row");
        assert_eq!((legacy.records, legacy.unmapped), (2, true));
        assert!(legacy.lands.contains("fail"), "{}", legacy.lands);
        let unmapped: Vec<&str> = rows
            .iter()
            .filter(|r| r.unmapped)
            .map(|r| r.value.as_str())
            .collect();
        assert_eq!(unmapped, vec!["legacy"], "{rows:#?}");
    }

    #[test]
    fn nearest_name_is_suggested_and_far_names_are_listed() {
        assert_eq!(
            suggest("Tier2", ["Tier 2", "Billing"]),
            "; did you mean 'Tier 2'?"
        );
        assert_eq!(
            suggest("zzzzzzzz", ["Tier 2", "Billing"]),
            "; known: Tier 2, Billing"
        );
    }
}
