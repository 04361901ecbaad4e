//! Help Center articles: written into their section with the permission group the plan
//! names (or the target's built-in one) and visible to everyone; translations and
//! attachments follow, each through its own endpoint.
//!
//! The source marker is a hidden element at the end of the source locale's body,
//! `<span data-switchover-source="<id>"></span>` (Zendesk keeps `data-*` attributes in
//! article HTML). An article is created with `data-switchover-pending` instead and gets
//! its final marker once its translations and attachments are in, so
//! [`Target::find_by_source`](switchover_adapter::Target::find_by_source) reports only
//! complete articles: a write interrupted half way is written again, and that write finds
//! the pending article by its marker and completes it instead of creating a second one.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use serde_json::{Map, Value, json};
use switchover_adapter::bodies::resolve_inline;
use switchover_adapter::{AdapterError, ContentSource, WriteOutcome, WriteRequest};
use switchover_http::Request;
use switchover_http::multipart::{Form, Part};
use switchover_model::*;

use super::{numeric, object_of, outcome, rejected};
use crate::convert::{id_of, opt_ref, ref_json, ts};
use crate::{NAME, Zendesk, wire};

/// Attribute of the marker of a complete article.
const MARKER: &str = "data-switchover-source";
/// Attribute of the marker of an article whose translations or attachments are not all in.
const PENDING: &str = "data-switchover-pending";
/// Largest article attachment Zendesk accepts.
const MAX_ATTACHMENT: u64 = 20 * 1024 * 1024;

use switchover_adapter::html::{escape, unescape};

/// `html` with the marker of `source_id` appended: final when `complete`, else pending.
pub(crate) fn marked_body(html: &str, source_id: &str, complete: bool) -> String {
    let attribute = if complete { MARKER } else { PENDING };
    format!("{html}<span {attribute}=\"{}\"></span>", escape(source_id))
}

/// `body` without its marker, and the marker's source id and whether it is final.
pub(crate) fn split_marker(body: &str) -> (String, Option<(String, bool)>) {
    let Some(start) = body.rfind("<span data-switchover-") else {
        return (body.to_string(), None);
    };
    let Some(inner) = body[start..]
        .strip_prefix("<span ")
        .and_then(|s| s.strip_suffix("\"></span>"))
    else {
        return (body.to_string(), None);
    };
    let Some((attribute, value)) = inner.split_once("=\"") else {
        return (body.to_string(), None);
    };
    if (attribute != MARKER && attribute != PENDING) || value.contains('"') {
        return (body.to_string(), None);
    }
    (
        body[..start].to_string(),
        Some((unescape(value), attribute == MARKER)),
    )
}

/// The locale an article is written in when its source gives none and the Help Center
/// names no default.
const DEFAULT_LOCALE: &str = "en-us";

/// The article with its bodies' inline images shown from `urls` (its attachments'
/// content URLs on the target, in order).
fn with_inline_urls(article: &KbArticle, urls: &[Option<String>]) -> KbArticle {
    let mut article = article.clone();
    article.body_html = resolve_inline(&article.body_html, urls);
    for translation in article.translations.values_mut() {
        translation.body_html = resolve_inline(&translation.body_html, urls);
    }
    article
}

fn same_locale(a: Option<&str>, b: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(b))
}

fn refused(source_id: &str, field: &str, reason: impl Into<String>) -> AdapterError {
    AdapterError::InvalidRecord {
        adapter: NAME.into(),
        kind: Kind::KbArticle,
        id: source_id.into(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// A per-record failure stays with its record; anything that stops the run or may pass
/// fails the batch.
fn per_record(e: AdapterError) -> Result<AdapterError, AdapterError> {
    if e.stops_run() || e.is_retryable() {
        Err(e)
    } else {
        Ok(e)
    }
}

/// Short-circuits a step's per-record failure out of a function returning
/// `Result<Result<T, AdapterError>, AdapterError>`.
macro_rules! step {
    ($e:expr) => {
        match $e {
            Ok(value) => value,
            Err(e) => return Ok(Err(per_record(e)?)),
        }
    };
}

impl Zendesk {
    /// The permission group new articles go into: the plan's `permission_group_id`, or
    /// the target's built-in group (the first one if none is built in). `Err` explains
    /// why there is none.
    fn permission_group(&self) -> Result<Result<String, String>, AdapterError> {
        if let Some(group) = self.cache.lock().permission_group.clone() {
            return Ok(Ok(group));
        }
        // Articles written side by side: one thread lists the groups, the others wait.
        let _loading = self
            .cache_load
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(group) = self.cache.lock().permission_group.clone() {
            return Ok(Ok(group));
        }
        let mut first = None;
        let mut built_in = None;
        let mut url = Some("guide/permission_groups.json".to_string());
        while let Some(current) = url {
            let answer = self.list(&current, "permission_groups")?;
            for item in answer.items {
                let Ok(group) = serde_json::from_value::<wire::PermissionGroup>(item) else {
                    continue;
                };
                if group.id.is_none() {
                    continue;
                }
                if built_in.is_none() && group.built_in == Some(true) {
                    built_in = Some(id_of(&group.id));
                }
                first = first.or_else(|| Some(id_of(&group.id)));
            }
            url = answer.next;
        }
        match built_in.or(first) {
            Some(group) => {
                self.cache.lock().permission_group = Some(group.clone());
                Ok(Ok(group))
            }
            None => Ok(Err(
                "the target Help Center has no permission group, which every article needs; create one in Guide admin or set `permission_group_id` in the plan".into(),
            )),
        }
    }

    /// Target ids of articles by source marker, from the whole article list; with
    /// `pending`, articles whose write was interrupted count too.
    pub(crate) fn find_articles(
        &self,
        source_ids: &[String],
        pending: bool,
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.scan_articles(
            &["help_center/articles.json?page[size]=100".to_string()],
            source_ids,
            pending,
        )
    }

    /// Like [`Zendesk::find_articles`], listing only the articles of these target
    /// sections: where a write looks, since an article is written into its section.
    fn find_articles_in<'a>(
        &self,
        sections: impl IntoIterator<Item = &'a str>,
        source_ids: &[String],
        pending: bool,
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut lists: Vec<String> = sections
            .into_iter()
            .filter(|s| s.parse::<u64>().is_ok())
            .map(|s| format!("help_center/sections/{s}/articles.json?page[size]=100"))
            .collect();
        lists.sort();
        lists.dedup();
        self.scan_articles(&lists, source_ids, pending)
    }

    /// Reads the markers of the articles these lists hold. An article listed in a locale
    /// other than its source locale has its source translation read for the marker.
    fn scan_articles(
        &self,
        lists: &[String],
        source_ids: &[String],
        pending: bool,
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let mut found: BTreeMap<String, (String, bool)> = BTreeMap::new();
        if source_ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let wanted: std::collections::BTreeSet<&str> =
            source_ids.iter().map(String::as_str).collect();
        let mut urls: Vec<String> = lists.to_vec();
        urls.reverse();
        while let Some(current) = urls.pop() {
            let answer = self.list(&current, "articles")?;
            for item in answer.items {
                let Ok(article) = serde_json::from_value::<wire::HcItem>(item) else {
                    continue;
                };
                let id = id_of(&article.id);
                let mut body = article.body.clone().unwrap_or_default();
                if let Some(source) = article.source_locale.as_deref()
                    && !same_locale(article.locale.as_deref(), source)
                {
                    match self.translation(&id, source)? {
                        Some(t) => body = t.body.unwrap_or_default(),
                        None => continue,
                    }
                }
                let Some((marker, complete)) = split_marker(&body).1 else {
                    continue;
                };
                if !wanted.contains(marker.as_str()) || !(complete || pending) {
                    continue;
                }
                // A complete copy wins over a pending one.
                if found.get(&marker).is_none_or(|(_, c)| !c && complete) {
                    found.insert(marker, (id, complete));
                }
            }
            urls.extend(answer.next);
        }
        Ok(found.into_iter().map(|(k, (id, _))| (k, id)).collect())
    }

    /// `locale` as an enabled Help Center locale: itself when enabled (any case), else
    /// the one enabled locale of its language, else (none given, or none of that
    /// language) the Help Center's default.
    fn enabled_locale(&self, locale: &str) -> Result<String, AdapterError> {
        let mut cached = self.cache.lock().hc_locales.clone();
        // Articles written side by side: one thread lists the locales, the others wait.
        let _loading = match cached {
            Some(_) => None,
            None => {
                let guard = self
                    .cache_load
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                cached = self.cache.lock().hc_locales.clone();
                Some(guard)
            }
        };
        let (enabled, default) = match cached {
            Some(known) => known,
            None => {
                let answer: serde_json::Value = self
                    .http
                    .send(Request::get("help_center/locales.json"))
                    .and_then(|r| r.json())
                    .map_err(|e| e.into_adapter(NAME))?;
                let enabled: Vec<String> = answer
                    .get("locales")
                    .and_then(serde_json::Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let default = answer
                    .get("default_locale")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_string)
                    .or_else(|| enabled.first().cloned())
                    .unwrap_or_else(|| DEFAULT_LOCALE.to_string());
                self.cache.lock().hc_locales = Some((enabled.clone(), default.clone()));
                (enabled, default)
            }
        };
        let wanted = locale.trim();
        if wanted.is_empty() {
            return Ok(default);
        }
        if let Some(same) = enabled.iter().find(|l| l.eq_ignore_ascii_case(wanted)) {
            return Ok(same.clone());
        }
        let language = wanted.split(['-', '_']).next().unwrap_or(wanted);
        let of_language: Vec<&String> = enabled
            .iter()
            .filter(|l| {
                l.split(['-', '_'])
                    .next()
                    .is_some_and(|x| x.eq_ignore_ascii_case(language))
            })
            .collect();
        Ok(match of_language.as_slice() {
            [one] => (*one).clone(),
            // Several of that language (en-us, en-gb): the default if it is one of them.
            many if many.iter().any(|l| **l == default) => default,
            _ => wanted.to_string(),
        })
    }

    /// One translation of an article, `None` when the article has none in that locale.
    fn translation(
        &self,
        article: &str,
        locale: &str,
    ) -> Result<Option<wire::Translation>, AdapterError> {
        let path = format!("help_center/articles/{article}/translations/{locale}.json");
        match self.http.send(Request::get(path)) {
            Ok(response) => object_of(&response, "translation")
                .map(Some)
                .map_err(|e| e.into_adapter(NAME)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e.into_adapter(NAME)),
        }
    }

    /// Every translation of an article, its source locale's included; `None` when the
    /// article is gone.
    fn translations(&self, article: &str) -> Result<Option<Vec<wire::Translation>>, AdapterError> {
        let mut all = Vec::new();
        let mut url = Some(format!(
            "help_center/articles/{article}/translations.json?page[size]=100"
        ));
        while let Some(current) = url {
            let answer = match self.list_http(&current, "translations") {
                Ok(answer) => answer,
                Err(e) if e.status() == Some(404) => return Ok(None),
                Err(e) => return Err(e.into_adapter(NAME)),
            };
            for item in answer.items {
                if let Ok(t) = serde_json::from_value::<wire::Translation>(item) {
                    all.push(t);
                }
            }
            url = answer.next;
        }
        Ok(Some(all))
    }

    /// The attachments of an article; `None` when the article is gone.
    fn article_attachments(
        &self,
        article: &str,
    ) -> Result<Option<Vec<wire::ArticleAttachment>>, AdapterError> {
        let mut all = Vec::new();
        let mut url = Some(format!("help_center/articles/{article}/attachments.json"));
        while let Some(current) = url {
            let answer = match self.list_http(&current, "article_attachments") {
                Ok(answer) => answer,
                Err(e) if e.status() == Some(404) => return Ok(None),
                Err(e) => return Err(e.into_adapter(NAME)),
            };
            for item in answer.items {
                if let Ok(a) = serde_json::from_value::<wire::ArticleAttachment>(item) {
                    all.push(a);
                }
            }
            url = answer.next;
        }
        Ok(Some(all))
    }

    /// An article as the canonical model has it: title and body of its source locale,
    /// its other translations and its attachments, each read from its endpoint; the
    /// source marker only when the article was written completely. `None` when the
    /// article went away while being read.
    pub(crate) fn article_record(
        &self,
        h: wire::HcItem,
    ) -> Result<Option<(Option<String>, Record)>, AdapterError> {
        let id = id_of(&h.id);
        let Some(translations) = self.translations(&id)? else {
            return Ok(None);
        };
        let Some(attachments) = self.article_attachments(&id)? else {
            return Ok(None);
        };
        let locale = h
            .source_locale
            .clone()
            .or_else(|| h.locale.clone())
            .unwrap_or_default();
        let source = translations
            .iter()
            .find(|t| same_locale(t.locale.as_deref(), &locale));
        let title = source
            .and_then(|t| t.title.clone())
            .or(h.title)
            .or(h.name)
            .unwrap_or_default();
        let body = source
            .and_then(|t| t.body.clone())
            .or(h.body)
            .unwrap_or_default();
        let draft = source.and_then(|t| t.draft).or(h.draft).unwrap_or(false);
        let (body_html, marker) = split_marker(&body);
        let others = translations
            .iter()
            .filter(|t| !same_locale(t.locale.as_deref(), &locale))
            .filter_map(|t| {
                let locale = t.locale.clone()?;
                Some((
                    locale.clone(),
                    Translation {
                        locale,
                        title: t.title.clone().unwrap_or_default(),
                        body_html: t.body.clone().unwrap_or_default(),
                    },
                ))
            })
            .collect();
        let article = KbArticle {
            id,
            section: Ref::new(id_of(&h.section_id)),
            author: opt_ref(&h.author_id),
            title,
            body_html,
            locale,
            draft,
            labels: h.label_names.unwrap_or_default().into_iter().collect(),
            translations: others,
            attachments: attachments
                .into_iter()
                .map(|a| Attachment {
                    id: id_of(&a.id),
                    file_name: a.file_name.unwrap_or_default(),
                    content_type: a.content_type.unwrap_or_default(),
                    size: a.size.unwrap_or(0),
                    sha256: None,
                    inline: a.inline.unwrap_or(false),
                    location: a.content_url,
                    extra: Extra::new(),
                })
                .collect(),
            created_at: ts(&h.created_at),
            updated_at: ts(&h.updated_at),
            extra: Extra::new(),
        };
        let marker = marker.and_then(|(source, complete)| complete.then_some(source));
        Ok(Some((marker, article.into_record())))
    }

    /// Writes articles one by one: an article found by its marker (complete or pending)
    /// or given as existing is updated, any other created; then its translations and
    /// attachments are made to match the source's and its marker is made final.
    pub(crate) fn write_articles(
        &self,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let unknown: Vec<String> = batch
            .iter()
            .filter(|r| r.existing.is_none())
            .map(|r| r.record.id().to_string())
            .collect();
        let sections = batch.iter().filter_map(|r| match &r.record {
            Record::KbArticle(a) if r.existing.is_none() => Some(a.section.id()),
            _ => None,
        });
        let found = self.find_articles_in(sections, &unknown, true)?;
        // Articles are independent of each other: several are written at once.
        let written =
            switchover_adapter::parallel::map_ordered(batch, self.read_width, |request| {
                let Record::KbArticle(article) = &request.record else {
                    return Err(AdapterError::fatal(
                        NAME,
                        format!(
                            "a {} record was given to the {} writer",
                            request.record.kind(),
                            Kind::KbArticle
                        ),
                    ));
                };
                // The article's locale as this Help Center has it enabled: a bare language
                // ("en", as Freshdesk gives it) is the enabled locale of that language, and
                // no locale at all (Help Scout Docs) is the Help Center's default.
                let locale = self.enabled_locale(&article.locale)?;
                let defaulted;
                let article = if locale != article.locale {
                    defaulted = KbArticle {
                        locale,
                        ..article.clone()
                    };
                    &defaulted
                } else {
                    article
                };
                let existing = request
                    .existing
                    .clone()
                    .or_else(|| found.get(&article.id).cloned());
                let result = match existing {
                    Some(target) => self.update_article(&target, article, content)?,
                    None => self.create_article(article, content)?,
                };
                Ok(outcome(&article.id, result))
            });
        written.into_iter().collect()
    }

    /// Refusals known before anything is sent: the section must be on the target and
    /// every attachment within Zendesk's 20 MB.
    fn article_precheck(article: &KbArticle) -> Result<(), AdapterError> {
        if article.section.id().parse::<u64>().is_err() {
            return Err(refused(
                &article.id,
                "section",
                format!(
                    "the article's section is not on the target (reference '{}')",
                    article.section.id()
                ),
            ));
        }
        if let Some(big) = article.attachments.iter().find(|a| a.size > MAX_ATTACHMENT) {
            return Err(refused(
                &article.id,
                "attachments.size",
                format!(
                    "'{}' has {} bytes; Zendesk takes article attachments up to 20 MB",
                    big.file_name, big.size
                ),
            ));
        }
        Ok(())
    }

    /// `POST help_center/sections/{id}/articles` with a pending marker, then the rest.
    fn create_article(
        &self,
        article: &KbArticle,
        content: &dyn ContentSource,
    ) -> Result<Result<String, AdapterError>, AdapterError> {
        step!(Self::article_precheck(article));
        let group = match self.permission_group()? {
            Ok(group) => group,
            Err(reason) => return Ok(Err(refused(&article.id, "permission_group_id", reason))),
        };
        let mut fields = Map::new();
        fields.insert("title".into(), article.title.clone().into());
        fields.insert(
            "body".into(),
            marked_body(&article.body_html, &article.id, false).into(),
        );
        fields.insert("locale".into(), article.locale.clone().into());
        fields.insert("draft".into(), article.draft.into());
        fields.insert("label_names".into(), json!(article.labels));
        fields.insert("permission_group_id".into(), numeric(&group));
        // Visible to everyone: the model does not say who may see an article.
        fields.insert("user_segment_id".into(), Value::Null);
        if let author @ Value::Number(_) = ref_json(&article.author) {
            fields.insert("author_id".into(), author);
        }
        // `notify_subscribers` sits outside `article` (recorded).
        let body = json!({"article": fields, "notify_subscribers": false});
        let path = format!(
            "help_center/sections/{}/articles.json",
            article.section.id()
        );
        let attempt = || {
            let sent = Request::post(path.as_str()).json(&body)?;
            let response = self.http.send(sent)?;
            object_of::<wire::HcItem>(&response, "article").map(|a| id_of(&a.id))
        };
        let find = || {
            Ok(self
                .find_articles_in(
                    [article.section.id()],
                    std::slice::from_ref(&article.id),
                    true,
                )?
                .remove(&article.id))
        };
        let target = step!(self.reconciled(attempt, find)?.map_err(|e| rejected(
            &e,
            Kind::KbArticle,
            &article.id
        )));
        let done = self.complete_article(&target, article, &article.locale, content, true)?;
        Ok(done.map(|_| target))
    }

    /// An article already on the target: its metadata (`PUT help_center/articles/{id}`,
    /// which does not change title, body or draft), its source translation with a pending
    /// marker, then the rest.
    fn update_article(
        &self,
        target: &str,
        article: &KbArticle,
        content: &dyn ContentSource,
    ) -> Result<Result<String, AdapterError>, AdapterError> {
        step!(Self::article_precheck(article));
        let mut fields = Map::new();
        fields.insert("section_id".into(), numeric(article.section.id()));
        fields.insert("label_names".into(), json!(article.labels));
        if let author @ Value::Number(_) = ref_json(&article.author) {
            fields.insert("author_id".into(), author);
        }
        let sent = Request::put(format!("help_center/articles/{target}.json"))
            .json(&json!({ "article": fields }))
            .map_err(|e| e.into_adapter(NAME))?;
        let response = step!(self.http.send(sent).map_err(|e| rejected(
            &e,
            Kind::KbArticle,
            &article.id
        )));
        let held: wire::HcItem = step!(object_of(&response, "article").map_err(|e| e.for_record(
            NAME,
            Kind::KbArticle,
            target
        )));
        // The source locale of an article cannot change; write into the one it has.
        let locale = held
            .source_locale
            .or(held.locale)
            .unwrap_or_else(|| article.locale.clone());
        step!(self.put_source(target, article, &locale, false));
        let done = self.complete_article(target, article, &locale, content, false)?;
        Ok(done.map(|_| target.to_string()))
    }

    /// `PUT help_center/articles/{id}/translations/{locale}` of the source locale: title,
    /// body with its marker (final when `complete`) and draft.
    fn put_source(
        &self,
        target: &str,
        article: &KbArticle,
        locale: &str,
        complete: bool,
    ) -> Result<(), AdapterError> {
        let body = json!({"translation": {
            "title": article.title,
            "body": marked_body(&article.body_html, &article.id, complete),
            "draft": article.draft,
        }});
        let sent = Request::put(format!(
            "help_center/articles/{target}/translations/{locale}.json"
        ))
        .json(&body)
        .map_err(|e| e.into_adapter(NAME))?;
        self.http
            .send(sent)
            .map(|_| ())
            .map_err(|e| rejected(&e, Kind::KbArticle, &article.id))
    }

    /// Makes the target article's translations and attachments match the source's, then
    /// gives it its final marker. `fresh`: just created, so it has neither yet.
    fn complete_article(
        &self,
        target: &str,
        article: &KbArticle,
        locale: &str,
        content: &dyn ContentSource,
        fresh: bool,
    ) -> Result<Result<(), AdapterError>, AdapterError> {
        // Attachments first: the bodies show inline images from the URLs they get.
        let urls = step!(self.sync_attachments(target, article, content, fresh)?);
        let article = &with_inline_urls(article, &urls);
        step!(self.sync_translations(target, article, locale, fresh)?);
        step!(self.put_source(target, article, locale, true));
        Ok(Ok(()))
    }

    /// Creates, updates and deletes the target article's translations other than its
    /// source locale's so they match the source's.
    fn sync_translations(
        &self,
        target: &str,
        article: &KbArticle,
        locale: &str,
        fresh: bool,
    ) -> Result<Result<(), AdapterError>, AdapterError> {
        let held = if fresh {
            Vec::new()
        } else {
            match self.translations(target)? {
                Some(held) => held,
                None => {
                    return Ok(Err(AdapterError::NotFound {
                        adapter: NAME.into(),
                        kind: Kind::KbArticle,
                        id: target.into(),
                    }));
                }
            }
        };
        let field = |l: &str| format!("translations.{l}");
        for (key, translation) in &article.translations {
            let wanted = if translation.locale.is_empty() {
                key.as_str()
            } else {
                translation.locale.as_str()
            };
            if wanted.eq_ignore_ascii_case(locale) || wanted.eq_ignore_ascii_case(&article.locale) {
                continue;
            }
            let body = json!({"translation": {
                "locale": wanted,
                "title": translation.title,
                "body": translation.body_html,
                "draft": article.draft,
            }});
            match held
                .iter()
                .find(|t| same_locale(t.locale.as_deref(), wanted))
            {
                Some(t)
                    if t.title.as_deref() == Some(translation.title.as_str())
                        && t.body.as_deref() == Some(translation.body_html.as_str()) => {}
                Some(_) => {
                    let sent = Request::put(format!(
                        "help_center/articles/{target}/translations/{wanted}.json"
                    ))
                    .json(&body)
                    .map_err(|e| e.into_adapter(NAME))?;
                    if let Err(e) = self.http.send(sent) {
                        return Ok(Err(per_record(self.translation_refused(
                            &e,
                            article,
                            &field(wanted),
                        ))?));
                    }
                }
                None => {
                    let attempt = || {
                        let sent = Request::post(format!(
                            "help_center/articles/{target}/translations.json"
                        ))
                        .json(&body)?;
                        let response = self.http.send(sent)?;
                        object_of::<wire::Translation>(&response, "translation")
                            .map(|t| id_of(&t.id))
                    };
                    let find = || Ok(self.translation(target, wanted)?.map(|t| id_of(&t.id)));
                    if let Err(e) = self.reconciled(attempt, find)? {
                        return Ok(Err(per_record(self.translation_refused(
                            &e,
                            article,
                            &field(wanted),
                        ))?));
                    }
                }
            }
        }
        for t in &held {
            let Some(held_locale) = t.locale.as_deref() else {
                continue;
            };
            let kept = held_locale.eq_ignore_ascii_case(locale)
                || article.translations.iter().any(|(key, tr)| {
                    held_locale.eq_ignore_ascii_case(key)
                        || held_locale.eq_ignore_ascii_case(&tr.locale)
                });
            if kept || t.id.is_none() {
                continue;
            }
            match self
                .http
                .delete(&format!("help_center/translations/{}.json", id_of(&t.id)))
            {
                Ok(_) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => {
                    return Ok(Err(per_record(self.translation_refused(
                        &e,
                        article,
                        &field(held_locale),
                    ))?));
                }
            }
        }
        Ok(Ok(()))
    }

    /// A refused translation, named by its locale.
    fn translation_refused(
        &self,
        e: &switchover_http::HttpError,
        article: &KbArticle,
        field: &str,
    ) -> AdapterError {
        match rejected(e, Kind::KbArticle, &article.id) {
            AdapterError::InvalidRecord {
                adapter,
                kind,
                id,
                field: zendesk_field,
                reason,
            } => AdapterError::InvalidRecord {
                adapter,
                kind,
                id,
                field: field.to_string(),
                reason: format!(
                    "{zendesk_field}: {reason} (a translation needs its locale enabled in the target Help Center)"
                ),
            },
            other => other,
        }
    }

    /// Uploads the source's attachments the target article lacks (same name, size and
    /// inline flag) and deletes those the source does not have. Gives the content URL of
    /// each of the source's attachments on the target, in order.
    fn sync_attachments(
        &self,
        target: &str,
        article: &KbArticle,
        content: &dyn ContentSource,
        fresh: bool,
    ) -> Result<Result<Vec<Option<String>>, AdapterError>, AdapterError> {
        let held = if fresh {
            Vec::new()
        } else {
            match self.article_attachments(target)? {
                Some(held) => held,
                None => {
                    return Ok(Err(AdapterError::NotFound {
                        adapter: NAME.into(),
                        kind: Kind::KbArticle,
                        id: target.into(),
                    }));
                }
            }
        };
        let mut unused: Vec<&wire::ArticleAttachment> = held.iter().collect();
        let mut known: Vec<String> = held.iter().map(|a| id_of(&a.id)).collect();
        let mut urls = Vec::with_capacity(article.attachments.len());
        for attachment in &article.attachments {
            let same = unused.iter().position(|h| {
                h.file_name.as_deref() == Some(attachment.file_name.as_str())
                    && h.size == Some(attachment.size)
                    && h.inline.unwrap_or(false) == attachment.inline
            });
            match same {
                Some(at) => {
                    urls.push(unused.remove(at).content_url.clone());
                }
                None => {
                    let (id, url) =
                        step!(self.upload_article_attachment(
                            target, article, attachment, content, &known
                        )?);
                    urls.push(url);
                    known.push(id);
                }
            }
        }
        for stale in unused {
            match self.http.delete(&format!(
                "help_center/articles/attachments/{}.json",
                id_of(&stale.id)
            )) {
                Ok(_) => {}
                Err(e) if e.status() == Some(404) => {}
                Err(e) => {
                    return Ok(Err(per_record(e.for_record(
                        NAME,
                        Kind::KbArticle,
                        &article.id,
                    ))?));
                }
            }
        }
        Ok(Ok(urls))
    }

    /// `POST help_center/articles/{id}/attachments` (multipart `file` and `inline`); a
    /// failure that leaves it unknown whether Zendesk stored the file is settled by
    /// listing the article's attachments (other than the `known` ones) before sending
    /// again.
    fn upload_article_attachment(
        &self,
        target: &str,
        article: &KbArticle,
        attachment: &Attachment,
        content: &dyn ContentSource,
        known: &[String],
    ) -> Result<Result<(String, Option<String>), AdapterError>, AdapterError> {
        let mut bytes = Vec::new();
        content
            .open(attachment)?
            .read_to_end(&mut bytes)
            .map_err(|e| AdapterError::Transient {
                adapter: NAME.into(),
                message: format!("reading attachment '{}' failed: {e}", attachment.file_name),
            })?;
        let bytes = Arc::new(bytes);
        let name = attachment.file_name.clone();
        let content_type = if attachment.content_type.is_empty() {
            "application/octet-stream".to_string()
        } else {
            attachment.content_type.clone()
        };
        let inline = attachment.inline;
        let path = format!("help_center/articles/{target}/attachments.json");
        // The content URL the stored file got, for the inline images of the bodies.
        let url = std::cell::RefCell::new(None);
        let attempt = || {
            let (bytes, name, content_type) = (bytes.clone(), name.clone(), content_type.clone());
            let sent = Request::post(path.as_str()).multipart(move || {
                let file = Part::bytes(bytes.to_vec())
                    .file_name(name.clone())
                    .mime_str(&content_type)
                    .map_err(std::io::Error::other)?;
                Ok(Form::new()
                    .text("inline", if inline { "true" } else { "false" })
                    .part("file", file))
            });
            let response = self.http.send(sent)?;
            object_of::<wire::ArticleAttachment>(&response, "article_attachment").map(|a| {
                url.replace(a.content_url);
                id_of(&a.id)
            })
        };
        let find = || {
            Ok(self
                .article_attachments(target)?
                .unwrap_or_default()
                .into_iter()
                .find(|a| {
                    !known.contains(&id_of(&a.id))
                        && a.file_name.as_deref() == Some(attachment.file_name.as_str())
                        && a.size == Some(attachment.size)
                })
                .map(|a| {
                    url.replace(a.content_url);
                    id_of(&a.id)
                }))
        };
        let result = self.reconciled(attempt, find)?.map_err(|e| {
            match rejected(&e, Kind::KbArticle, &article.id) {
                AdapterError::InvalidRecord {
                    adapter,
                    kind,
                    id,
                    reason,
                    ..
                } => AdapterError::InvalidRecord {
                    adapter,
                    kind,
                    id,
                    field: "attachments".into(),
                    reason: format!("'{}': {reason}", attachment.file_name),
                },
                other => other,
            }
        });
        Ok(result.map(|id| (id, url.take())))
    }

    /// `DELETE help_center/articles/{id}` for each (its translations and attachments go
    /// with it); one already gone counts as deleted.
    pub(crate) fn delete_articles(
        &self,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        let mut out = Vec::new();
        for id in target_ids {
            match self.http.delete(&format!("help_center/articles/{id}.json")) {
                Ok(_) => out.push(Ok(())),
                Err(e) if e.status() == Some(404) => out.push(Ok(())),
                Err(e) => {
                    let e = e.for_record(NAME, Kind::KbArticle, id);
                    if e.stops_run() {
                        return Err(e);
                    }
                    out.push(Err(e));
                }
            }
        }
        Ok(out)
    }
}
