//! Failures grouped by root cause. A comment that fails because its ticket is not on the
//! target ("references tickets '3', which is not on the target") is a follow-on of the
//! ticket's own failure: it is counted under the group of that root, so the handful of
//! records that caused hundreds of failures come first, with what to do about them.

use std::collections::{BTreeMap, HashMap};

use switchover_model::Kind;

use crate::state::Failure;

/// How many source ids a group lists (its counts are complete).
const ID_LIMIT: usize = 100;

/// Failures with one root cause: records of one kind that failed for one reason, and
/// every failure that followed from theirs.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailureGroup {
    /// The kind of the root records.
    pub kind: Kind,
    /// The error kind (`invalid_record`, `unresolved_reference`, `transient`...).
    pub error_kind: String,
    /// Root records in the group.
    pub count: u64,
    /// The first root failure, with its message.
    pub example: Failure,
    /// Source ids of the root records (first 100).
    pub source_ids: Vec<String>,
    /// Records that failed only because a record of this group did, by kind.
    pub follow_on: BTreeMap<Kind, u64>,
    /// What a person can do about it.
    pub what_to_do: String,
}

impl FailureGroup {
    /// Follow-on failures in all kinds.
    pub fn follow_on_total(&self) -> u64 {
        self.follow_on.values().sum()
    }
}

/// The record a follow-on failure's message names: `references <kind> '<id>', which is
/// not on the target`.
fn referenced(message: &str) -> Option<(Kind, String)> {
    let rest = message.split("references ").nth(1)?;
    let (kind, rest) = rest.split_once(" '")?;
    let (id, _) = rest.split_once("', which is not on the target")?;
    Some((kind.parse().ok()?, id.to_string()))
}

/// What to do about a root failure of this error kind.
fn advice(error_kind: &str) -> &'static str {
    match error_kind {
        "invalid_record" => {
            "the target refused these records: fix them in the source or on the target (the message says which field), then run `switchover retry-failed`"
        }
        "unresolved_reference" | "skipped_reference" => {
            "they reference records that are not in this migration: add the referenced kind to the plan's `kinds`, or set `unresolved_references = \"placeholder\"` with a placeholder_user, then run `switchover retry-failed`"
        }
        "rate_limited" | "transient" => {
            "the target did not answer in time: run `switchover retry-failed` when it does"
        }
        "unsupported" => {
            "the target cannot take these: they stay behind (see `switchover adapters`)"
        }
        "authentication" => {
            "the target refused the credentials: fix them, then run `switchover migrate`"
        }
        _ => "see the example, then run `switchover retry-failed`",
    }
}

/// Groups failures by root cause: follow-on failures (a reference to a record that
/// itself failed) are counted under their root; roots are grouped by kind, error kind
/// and reason (ids, sizes and file names do not split a reason). Largest groups, with
/// their follow-ons, first.
pub fn root_causes(failures: &[Failure]) -> Vec<FailureGroup> {
    let index: HashMap<(Kind, &str), &Failure> = failures
        .iter()
        .map(|f| ((f.kind, f.source_id.as_str()), f))
        .collect();
    let parent = |f: &Failure| -> Option<&Failure> {
        if !f.error_kind.ends_with("_reference") {
            return None;
        }
        let (kind, id) = referenced(&f.message)?;
        index.get(&(kind, id.as_str())).copied()
    };
    let root_of = |f: &Failure| -> (Kind, String) {
        let mut at = f;
        for _ in 0..64 {
            match parent(at) {
                Some(up) if !(up.kind == at.kind && up.source_id == at.source_id) => at = up,
                _ => break,
            }
        }
        (at.kind, at.source_id.clone())
    };
    let mut groups: BTreeMap<(Kind, String, String), FailureGroup> = BTreeMap::new();
    let mut group_of_root: HashMap<(Kind, String), (Kind, String, String)> = HashMap::new();
    for f in failures
        .iter()
        .filter(|f| root_of(f) == (f.kind, f.source_id.clone()))
    {
        let key = (
            f.kind,
            f.error_kind.clone(),
            reason_key(&f.message, &f.source_id),
        );
        let group = groups.entry(key.clone()).or_insert_with(|| FailureGroup {
            kind: f.kind,
            error_kind: f.error_kind.clone(),
            count: 0,
            example: f.clone(),
            source_ids: Vec::new(),
            follow_on: BTreeMap::new(),
            what_to_do: advice(&f.error_kind).to_string(),
        });
        group.count += 1;
        if group.source_ids.len() < ID_LIMIT {
            group.source_ids.push(f.source_id.clone());
        }
        group_of_root.insert((f.kind, f.source_id.clone()), key);
    }
    for f in failures {
        let root = root_of(f);
        if root == (f.kind, f.source_id.clone()) {
            continue;
        }
        if let Some(group) = group_of_root.get(&root).and_then(|k| groups.get_mut(k)) {
            *group.follow_on.entry(f.kind).or_default() += 1;
        }
    }
    let mut out: Vec<FailureGroup> = groups.into_values().collect();
    out.sort_by(|a, b| {
        (b.count + b.follow_on_total())
            .cmp(&(a.count + a.follow_on_total()))
            .then(a.kind.order().cmp(&b.kind.order()))
            .then(a.example.message.cmp(&b.example.message))
    });
    out
}

/// The grouping key of a failure message: the record's own quoted id, anything in
/// square brackets (a file name) and numbers outside quotes (sizes) do not make a
/// different reason; a quoted id of another record (the user a comment refers to) does.
pub fn reason_key(message: &str, source_id: &str) -> String {
    let message = if source_id.is_empty() {
        message.to_string()
    } else {
        message.replace(&format!("'{source_id}'"), "'\u{0}'")
    };
    let mut key = String::with_capacity(message.len());
    let mut in_quote = false;
    let mut previous: Option<char> = None;
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                // Skip to the closing bracket; an unclosed one swallows the rest.
                for inner in chars.by_ref() {
                    if inner == ']' {
                        break;
                    }
                }
                key.push_str("[]");
                previous = Some(']');
                continue;
            }
            '\'' if !in_quote && !previous.is_some_and(char::is_alphanumeric) => in_quote = true,
            '\'' if in_quote && !chars.peek().is_some_and(|n| n.is_alphanumeric()) => {
                in_quote = false
            }
            d if d.is_ascii_digit() && !in_quote => {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                key.push('#');
                previous = Some('#');
                continue;
            }
            _ => {}
        }
        key.push(c);
        previous = Some(c);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: Kind, id: &str, error_kind: &str, message: &str) -> Failure {
        Failure {
            kind,
            source_id: id.into(),
            error_kind: error_kind.into(),
            message: message.into(),
            attempts: 1,
        }
    }

    #[test]
    fn follow_on_failures_count_under_the_collision_that_caused_them() {
        let mut failures = vec![
            failure(
                Kind::Organization,
                "o-1",
                "invalid_record",
                "organization 'o-1' field 'name': It should be a unique value",
            ),
            failure(
                Kind::Organization,
                "o-2",
                "invalid_record",
                "organization 'o-2' field 'name': It should be a unique value",
            ),
        ];
        for u in 0..5 {
            failures.push(failure(
                Kind::User,
                &format!("u-{u}"),
                "unresolved_reference",
                "references organizations 'o-1', which is not on the target",
            ));
            for c in 0..3 {
                failures.push(failure(
                    Kind::Ticket,
                    &format!("t-{u}-{c}"),
                    "unresolved_reference",
                    &format!("references users 'u-{u}', which is not on the target"),
                ));
            }
        }
        // A follow-on whose referenced record did not fail: it is its own root.
        failures.push(failure(
            Kind::Comment,
            "c-9",
            "unresolved_reference",
            "references users 'u-gone', which is not on the target",
        ));
        let groups = root_causes(&failures);
        assert_eq!(groups.len(), 2, "{groups:#?}");
        let first = &groups[0];
        assert_eq!(first.kind, Kind::Organization);
        assert_eq!(first.count, 2);
        assert_eq!(first.source_ids, ["o-1", "o-2"]);
        assert_eq!(first.follow_on[&Kind::User], 5);
        assert_eq!(first.follow_on[&Kind::Ticket], 15);
        assert!(first.what_to_do.contains("retry-failed"));
        assert_eq!(groups[1].kind, Kind::Comment);
        assert_eq!(groups[1].follow_on_total(), 0);
        assert!(groups[1].what_to_do.contains("kinds"));
    }
}
