//! Property tests of the canonical digest: spelling never changes it, content always does.

use std::collections::BTreeSet;

use chrono::{FixedOffset, TimeZone};
use proptest::prelude::*;
use serde_json::Value;
use switchover_model::digest::{field_set, record_digest};
use switchover_model::*;

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..4_000_000_000).prop_map(|s| Timestamp::from_unix(s).unwrap_or_else(Timestamp::now))
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        ".{0,20}".prop_map(FieldValue::Text),
        (-1.0e9f64..1.0e9).prop_map(FieldValue::Number),
        (2000u32..2100, 1u32..13, 1u32..29)
            .prop_map(|(y, m, d)| FieldValue::Date(format!("{y}-{m:02}-{d:02}"))),
        any::<bool>().prop_map(FieldValue::Checkbox),
        "[a-z_]{1,10}".prop_map(FieldValue::Dropdown),
        prop::collection::btree_set("[a-z]{1,6}", 0..4).prop_map(FieldValue::MultiSelect),
    ]
}

prop_compose! {
    fn ticket()(
        id in "[0-9]{1,8}",
        subject in "\\PC{0,40}",
        status in prop_oneof![Just(TicketStatus::New), Just(TicketStatus::Open), Just(TicketStatus::Solved), Just(TicketStatus::Closed)],
        priority in prop::option::of(prop_oneof![Just(Priority::Low), Just(Priority::High)]),
        tags in prop::collection::btree_set("[a-zü_]{1,8}", 0..5),
        requester in prop::option::of("[0-9]{1,6}"),
        fields in prop::collection::btree_map("[a-z]{1,6}", field_value(), 0..5),
        created_at in prop::option::of(timestamp()),
        updated_at in prop::option::of(timestamp()),
    ) -> Ticket {
        Ticket {
            id,
            subject,
            status,
            priority,
            tags,
            requester: requester.map(Ref::new),
            custom_fields: fields.into_iter().map(|(k, v)| (Ref::new(k), v)).collect(),
            created_at,
            updated_at,
            ..Default::default()
        }
    }
}

/// Writes JSON with keys in reverse order, random whitespace, and every timestamp in an
/// equivalent spelling at another UTC offset.
fn respell(value: &Value, offset_minutes: i32, pad: &str, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().rev().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(pad);
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push_str(pad);
                out.push(':');
                respell(v, offset_minutes, pad, out);
            }
            out.push_str(pad);
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(pad);
                    out.push(',');
                }
                respell(v, offset_minutes, pad, out);
            }
            out.push(']');
        }
        Value::String(s) if s.len() >= 20 && s.parse::<Timestamp>().is_ok() && s.ends_with('Z') => {
            let at = s
                .parse::<Timestamp>()
                .map(|t| t.as_datetime())
                .unwrap_or_default();
            let spelled = FixedOffset::east_opt(offset_minutes * 60)
                .map(|tz| tz.from_utc_datetime(&at.naive_utc()).to_rfc3339())
                .unwrap_or_else(|| s.clone());
            out.push_str(&serde_json::to_string(&spelled).unwrap_or_default());
        }
        other => out.push_str(&other.to_string()),
    }
}

fn all_fields() -> switchover_model::digest::FieldSet {
    field_set(Ticket::FIELDS.iter().copied())
}

proptest! {
    #[test]
    fn spelling_does_not_change_the_digest(
        t in ticket(),
        offset in -720i32..840,
        pad in prop_oneof![Just(""), Just(" "), Just("\n  "), Just("\t")],
    ) {
        let record = t.into_record();
        let value = record.to_untagged_json().unwrap_or_default();
        let mut text = String::new();
        respell(&value, offset, pad, &mut text);
        let reparsed = Record::from_untagged_json(Kind::Ticket, &text);
        prop_assert!(reparsed.is_ok(), "respelled JSON must parse: {text}");
        let reparsed = reparsed.unwrap_or_else(|_| record.clone());
        prop_assert_eq!(record_digest(&record, &all_fields()), record_digest(&reparsed, &all_fields()));
    }

    #[test]
    fn any_portable_change_changes_the_digest(t in ticket(), which in 0usize..8) {
        let before = record_digest(&t.clone().into_record(), &all_fields());
        let mut changed = t.clone();
        let field = match which {
            0 => { changed.subject.push('!'); "subject" }
            1 => { changed.status = if t.status == TicketStatus::Pending { TicketStatus::Open } else { TicketStatus::Pending }; "status" }
            2 => { changed.tags.insert("brand-new-tag".into()); "tags" }
            3 => { changed.priority = Some(if t.priority == Some(Priority::Urgent) { Priority::Low } else { Priority::Urgent }); "priority" }
            4 => { changed.requester = Some(Ref::new(format!("{}9", t.requester.as_ref().map(|r| r.id()).unwrap_or("")))); "requester" }
            5 => {
                let at = t.created_at.map(|c| c.unix() + 1).unwrap_or(0);
                changed.created_at = Timestamp::from_unix(at); "created_at"
            }
            6 => { changed.custom_fields.insert(Ref::new("zzz-new"), FieldValue::Checkbox(true)); "custom_fields" }
            _ => { changed.links.insert(TicketLink { kind: LinkKind::Parent, ticket: Ref::new("1") }); "links" }
        };
        let after = record_digest(&changed.clone().into_record(), &all_fields());
        prop_assert_ne!(before, after, "changing {} must change the digest", field);

        // A field outside the portable projection must not count.
        let without: switchover_model::digest::FieldSet =
            all_fields().into_iter().filter(|f| f != field).collect::<BTreeSet<_>>();
        prop_assert_eq!(
            record_digest(&t.into_record(), &without),
            record_digest(&changed.into_record(), &without)
        );
    }
}

#[test]
fn fields_lists_match_what_records_serialize() {
    // Guards FIELDS against drifting from the structs: every declared top-level field
    // exists in the serialized record.
    for record in [
        Ticket::default().into_record(),
        User::default().into_record(),
        Comment::default().into_record(),
        KbArticle::default().into_record(),
        Webhook::default().into_record(),
    ] {
        let Value::Object(map) = record.to_untagged_json().unwrap_or_default() else {
            panic!("records serialize as objects");
        };
        for path in record.kind().fields() {
            let head = path.split('.').next().unwrap_or_default();
            assert!(
                map.contains_key(head),
                "{}: FIELDS names '{head}' which it does not serialize",
                record.kind()
            );
        }
        let declared: BTreeSet<&str> = record
            .kind()
            .fields()
            .iter()
            .map(|p| p.split('.').next().unwrap_or_default())
            .collect();
        for key in map.keys() {
            assert!(
                key == "id" || declared.contains(key.as_str()),
                "{}: serializes '{key}' which FIELDS does not name",
                record.kind()
            );
        }
    }
}
