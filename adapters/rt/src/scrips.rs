//! Notification scrips through RT's web UI: REST 2.0 (RT 5.0.3) has no scrip endpoint, so
//! the adapter reads `/Admin/Scrips/` and disables with `/Admin/Scrips/Modify.html`, the
//! same forms an administrator uses.

use switchover_adapter::AdapterError;

use crate::api::Api;

/// One ticket scrip as the web UI lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrip {
    /// Scrip id.
    pub id: String,
    /// Its description ("On Create Autoreply To Requestors").
    pub description: String,
    /// Its action ("Autoreply To Requestors", "Notify Ccs"...).
    pub action: String,
    /// Whether it is enabled.
    pub enabled: bool,
}

impl Scrip {
    /// Whether running it sends e-mail.
    pub fn sends_mail(&self) -> bool {
        let action = self.action.to_ascii_lowercase();
        action.starts_with("notify")
            || action.starts_with("autoreply")
            || action.contains("forward")
    }
}

use switchover_adapter::html::text_of as strip_tags;

/// Parses the scrip table of `/Admin/Scrips/`.
pub fn parse_scrips(html: &str) -> Vec<Scrip> {
    let mut scrips = Vec::new();
    for chunk in html.split("data-record-id=\"").skip(1) {
        let Some(id) = chunk.split('"').next() else {
            continue;
        };
        let row = chunk.split("</tr>").next().unwrap_or_default();
        let cells: Vec<String> = row
            .split("<td")
            .skip(1)
            .map(|cell| {
                let inner = cell
                    .split_once('>')
                    .map(|(_, rest)| rest)
                    .unwrap_or_default();
                strip_tags(inner.split("</td>").next().unwrap_or_default())
            })
            .collect();
        if cells.len() < 4 {
            continue;
        }
        scrips.push(Scrip {
            id: id.to_string(),
            description: cells.get(1).cloned().unwrap_or_default(),
            action: cells.get(3).cloned().unwrap_or_default(),
            enabled: cells.last().is_some_and(|s| s == "Enabled"),
        });
    }
    scrips
}

const LIST: &str = "/Admin/Scrips/?LookupType=RT::Queue-RT::Ticket&FindDisabledScrips=1";

/// Every ticket scrip, enabled or not.
pub(crate) fn list(api: &Api, cookie: &str) -> Result<Vec<Scrip>, AdapterError> {
    Ok(parse_scrips(&api.web_get(cookie, LIST)?))
}

/// Disables every enabled scrip that sends mail; returns the ones it disabled.
pub(crate) fn disable_notifications(api: &Api) -> Result<Vec<Scrip>, AdapterError> {
    let cookie = api.web_login()?;
    let active: Vec<Scrip> = list(api, &cookie)?
        .into_iter()
        .filter(|s| s.enabled && s.sends_mail())
        .collect();
    for scrip in &active {
        api.web_post(
            &cookie,
            "/Admin/Scrips/Modify.html",
            &[("id", &scrip.id), ("Update", "1"), ("SetEnabled", "1")],
        )?;
    }
    let still: Vec<String> = list(api, &cookie)?
        .into_iter()
        .filter(|s| s.enabled && s.sends_mail())
        .map(|s| format!("#{} {}", s.id, s.description))
        .collect();
    if !still.is_empty() {
        return Err(AdapterError::fatal(
            crate::NAME,
            format!(
                "could not disable notification scrips {}; disable them in Admin > Scrips before migrating",
                still.join(", ")
            ),
        ));
    }
    Ok(active)
}
