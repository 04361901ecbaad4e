//! The integrations inventory of a dry run: every macro, rule, webhook, SLA policy and
//! view the source has, with what happens to it on the target. Translated fully;
//! translated with changes (the parts the target cannot hold, named); needs a person
//! (the parts the source's vocabulary could not translate, named with their reason); or
//! left behind (the target does not write the kind). Also every external URL the
//! integrations call: the CRM, chat and billing hooks the customer must point at the
//! new system.
//!
//! It is computed from the records read and from the target's own rules
//! ([`TargetInfo::as_stored`]), the same ones its writes apply, so the prediction and
//! the write cannot drift.

use std::collections::BTreeMap;

use switchover_adapter::{Operation, TargetInfo};
use switchover_model::rules::Coverage;
use switchover_model::{Action, Kind, Record, Untranslated};

/// What happens to one integration record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum IntegrationVerdict {
    /// Every part is translated and the target holds it.
    Translated,
    /// Translated, but the target cannot hold some parts: they are not written.
    WithChanges {
        /// The parts the target leaves out, with why.
        changes: Vec<Untranslated>,
    },
    /// Some parts have no portable form: a person must rebuild them on the target.
    NeedsPerson {
        /// The parts, with why.
        parts: Vec<Untranslated>,
    },
    /// The target does not write this kind at all.
    LeftBehind {
        /// Why.
        reason: String,
    },
}

/// One macro, rule, webhook, SLA policy or view of the source.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntegrationItem {
    /// Its kind.
    pub kind: Kind,
    /// Its id in the source.
    pub source_id: String,
    /// Its title or name.
    pub title: String,
    /// Whether it is active in the source (switched on only at cutover).
    pub active: bool,
    /// What happens to it.
    #[serde(flatten)]
    pub verdict: IntegrationVerdict,
}

/// The share translated of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KindShare {
    /// Records of the kind.
    pub records: u64,
    /// Records translated fully.
    pub translated: u64,
    /// Parts (conditions, actions, placeholders) translated.
    pub parts_translated: u64,
    /// Parts in all.
    pub parts: u64,
}

/// The integrations section of a dry-run report.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntegrationsReport {
    /// Every integration record, in kind order.
    pub items: Vec<IntegrationItem>,
    /// Per kind: records and parts translated.
    pub shares: BTreeMap<Kind, KindShare>,
    /// Every external URL called (webhook endpoints, URLs in actions), with the titles
    /// of the records that call it.
    pub external_urls: BTreeMap<String, Vec<String>>,
}

/// The integration records a dry run read, kept for the inventory (accounts have tens
/// to a few thousand of them).
#[derive(Debug, Default)]
pub(crate) struct Collector {
    records: Vec<Record>,
}

impl Collector {
    /// Keeps the integration records of a page as read.
    pub(crate) fn observe(&mut self, records: &[Record]) {
        self.records.extend(
            records
                .iter()
                .filter(|r| r.kind().is_integration())
                .cloned(),
        );
    }

    /// The inventory against `target`.
    pub(crate) fn finish(self, target: &dyn TargetInfo) -> IntegrationsReport {
        inventory(&self.records, target)
    }
}

fn parts(record: &Record) -> Option<(Coverage, &[Untranslated])> {
    Some(match record {
        Record::Rule(r) => (
            Coverage::of(
                &r.conditions.iter().collect::<Vec<_>>(),
                &r.actions,
                &r.untranslated,
            ),
            &r.untranslated,
        ),
        Record::Macro(m) => (
            Coverage::of(&[], &m.actions, &m.untranslated),
            &m.untranslated,
        ),
        Record::View(v) => (
            Coverage::of(
                &v.conditions.iter().collect::<Vec<_>>(),
                &[],
                &v.untranslated,
            ),
            &v.untranslated,
        ),
        Record::SlaPolicy(s) => (
            Coverage::of(&s.filter.iter().collect::<Vec<_>>(), &[], &s.untranslated),
            &s.untranslated,
        ),
        _ => return None,
    })
}

fn title_and_active(record: &Record) -> (String, bool) {
    match record {
        Record::Rule(r) => (r.title.clone(), r.active),
        Record::Macro(m) => (m.title.clone(), m.active),
        Record::View(v) => (v.title.clone(), v.active),
        Record::SlaPolicy(s) => (s.title.clone(), true),
        Record::Webhook(w) => (w.name.clone(), w.active),
        other => (other.id().to_string(), true),
    }
}

/// The `http(s)://` URLs in a text, up to the first space, quote or bracket.
fn urls_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest
        .find("http://")
        .into_iter()
        .chain(rest.find("https://"))
        .min()
    {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "\"'<>()[]{}".contains(c))
            .unwrap_or(tail.len());
        out.push(tail[..end].trim_end_matches(['.', ',', ';']).to_string());
        rest = &tail[end..];
    }
    out
}

fn external_urls(record: &Record) -> Vec<String> {
    let actions: &[Action] = match record {
        Record::Rule(r) => &r.actions,
        Record::Macro(m) => &m.actions,
        Record::Webhook(w) => return vec![w.endpoint.clone()],
        _ => &[],
    };
    let mut urls: Vec<String> = actions
        .iter()
        .filter(|a| a.reaches_out())
        .flat_map(Action::texts)
        .flat_map(urls_in)
        .collect();
    if let Record::Rule(r) = record {
        urls.extend(r.untranslated.iter().flat_map(|u| urls_in(&u.vendor_form)));
    }
    urls
}

/// The inventory of `records` against `target`.
pub(crate) fn inventory(records: &[Record], target: &dyn TargetInfo) -> IntegrationsReport {
    let caps = target.capabilities();
    let mut report = IntegrationsReport::default();
    let mut sorted: Vec<&Record> = records.iter().collect();
    sorted.sort_by_key(|r| r.kind());
    for record in sorted {
        let kind = record.kind();
        let (title, active) = title_and_active(record);
        for url in external_urls(record) {
            let callers = report.external_urls.entry(url).or_default();
            if !callers.contains(&title) {
                callers.push(title.clone());
            }
        }
        let share = report.shares.entry(kind).or_default();
        share.records += 1;
        let coverage = parts(record);
        if let Some((c, _)) = &coverage {
            share.parts += (c.translated() + c.untranslated()) as u64;
            share.parts_translated += c.translated() as u64;
        }
        let verdict = if !caps.supports(kind, Operation::Write) {
            IntegrationVerdict::LeftBehind {
                reason: format!("{} does not write {}", caps.adapter, kind.as_str()),
            }
        } else {
            let source_parts: Vec<Untranslated> = coverage
                .as_ref()
                .map(|(_, u)| u.to_vec())
                .unwrap_or_default();
            let mut stored = record.clone();
            target.as_stored(kind, &mut stored);
            let changes: Vec<Untranslated> = parts(&stored)
                .map(|(_, u)| {
                    u.iter()
                        .filter(|p| !source_parts.contains(p))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if !source_parts.is_empty() {
                let mut all = source_parts;
                all.extend(changes);
                IntegrationVerdict::NeedsPerson { parts: all }
            } else if !changes.is_empty() {
                IntegrationVerdict::WithChanges { changes }
            } else {
                IntegrationVerdict::Translated
            }
        };
        if verdict == IntegrationVerdict::Translated {
            share.translated += 1;
        }
        report.items.push(IntegrationItem {
            kind,
            source_id: record.id().to_string(),
            title,
            active,
            verdict,
        });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_found_in_bodies_up_to_their_end() {
        assert_eq!(
            urls_in("see https://crm.example.com/hook?id={{ticket.id}}, or \"http://x.io/a\"."),
            vec!["https://crm.example.com/hook?id=", "http://x.io/a"]
        );
    }
}
