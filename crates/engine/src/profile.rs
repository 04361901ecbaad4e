//! The account's profile, collected by a dry run for the report's charts: tickets
//! created per month, tickets by status, priority and channel, and attachment bytes per
//! month. Counts only: no record content.

use std::collections::BTreeMap;

use switchover_model::Record;

/// Counts over the tickets and attachments a dry run read (before the plan's map).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AccountProfile {
    /// Tickets created per month (`YYYY-MM`; `unknown` without a creation time).
    pub tickets_per_month: BTreeMap<String, u64>,
    /// Tickets by status (canonical names).
    pub by_status: BTreeMap<String, u64>,
    /// Tickets by priority (canonical names; `none` without one).
    pub by_priority: BTreeMap<String, u64>,
    /// Tickets by channel (`unknown` without one).
    pub by_channel: BTreeMap<String, u64>,
    /// Attachment bytes of comments and articles, per month of their record.
    pub attachment_bytes_per_month: BTreeMap<String, u64>,
}

fn name_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn month(at: Option<switchover_model::Timestamp>) -> String {
    at.map(|t| t.to_canonical().chars().take(7).collect())
        .unwrap_or_else(|| "unknown".to_string())
}

impl AccountProfile {
    /// Counts what a page of records adds.
    pub(crate) fn observe(&mut self, records: &[Record]) {
        for record in records {
            match record {
                Record::Ticket(t) => {
                    *self
                        .tickets_per_month
                        .entry(month(t.created_at))
                        .or_default() += 1;
                    *self.by_status.entry(name_of(&t.status)).or_default() += 1;
                    let priority = t
                        .priority
                        .as_ref()
                        .map(name_of)
                        .unwrap_or_else(|| "none".to_string());
                    *self.by_priority.entry(priority).or_default() += 1;
                    let channel = t.channel.clone().unwrap_or_else(|| "unknown".to_string());
                    *self.by_channel.entry(channel).or_default() += 1;
                }
                Record::Comment(c) => self.attachments(c.created_at, &c.attachments),
                Record::KbArticle(a) => self.attachments(a.created_at, &a.attachments),
                _ => {}
            }
        }
    }

    fn attachments(
        &mut self,
        at: Option<switchover_model::Timestamp>,
        attachments: &[switchover_model::Attachment],
    ) {
        let bytes: u64 = attachments.iter().map(|a| a.size).sum();
        if bytes > 0 {
            *self
                .attachment_bytes_per_month
                .entry(month(at))
                .or_default() += bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchover_model::{Entity, Priority, Ticket, TicketStatus};

    #[test]
    fn tickets_are_counted_by_month_status_priority_and_channel() {
        let mut profile = AccountProfile::default();
        let ticket = |at: &str, status, priority| {
            Ticket {
                status,
                priority,
                channel: Some("email".into()),
                created_at: at.parse().ok(),
                ..Default::default()
            }
            .into_record()
        };
        profile.observe(&[
            ticket(
                "2024-05-01T08:00:00Z",
                TicketStatus::Open,
                Some(Priority::High),
            ),
            ticket("2024-05-20T08:00:00Z", TicketStatus::OnHold, None),
            ticket("2024-06-02T08:00:00Z", TicketStatus::Open, None),
        ]);
        assert_eq!(profile.tickets_per_month["2024-05"], 2);
        assert_eq!(profile.tickets_per_month["2024-06"], 1);
        assert_eq!(profile.by_status["open"], 2);
        assert_eq!(profile.by_status["on_hold"], 1);
        assert_eq!(profile.by_priority["none"], 2);
        assert_eq!(profile.by_channel["email"], 3);
    }
}
