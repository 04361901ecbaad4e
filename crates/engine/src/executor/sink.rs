//! Where writes go (the live target, or nothing in a dry run) and the attachment bytes
//! on their way there, hashed as they pass.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Mutex;

use switchover_adapter::bodies::BodyUrls;
use switchover_adapter::{
    AdapterError, Adopted, Capabilities, ContentSource, Prediction, Source, Target, TargetInfo,
    WriteOutcome, WriteRequest,
};
use switchover_model::digest::{ContentHasher, Digest};
use switchover_model::{Attachment, Kind};

/// What writes go to: the live target, or nothing at all (dry run).
pub(super) trait Sink: Sync {
    fn capabilities(&self) -> Capabilities;
    /// `never_sent`: the state store proves no earlier attempt sent any of `batch`
    /// ([`Target::write_new_batch`]).
    fn write(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
        never_sent: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError>;
    fn find(&self, kind: Kind, ids: &[String]) -> Result<BTreeMap<String, String>, AdapterError>;
    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError>;
    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError>;
    fn delete(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError>;
    fn finish(&self) -> Result<(), AdapterError>;
    fn is_dry(&self) -> bool;
    /// How the target spells the URLs of its records in bodies.
    fn body_urls(&self) -> Option<&dyn BodyUrls>;
}

pub(super) struct Live<'a>(pub(super) &'a dyn Target);

impl Sink for Live<'_> {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn write(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
        never_sent: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        if never_sent {
            self.0.write_new_batch(kind, batch, content)
        } else {
            self.0.write_batch(kind, batch, content)
        }
    }
    fn find(&self, kind: Kind, ids: &[String]) -> Result<BTreeMap<String, String>, AdapterError> {
        self.0.find_by_source(kind, ids)
    }
    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.0.find_sent(kind, sent)
    }
    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.0
            .find_embedded(parent_kind, parent_target_id, children)
    }
    fn delete(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        self.0.delete(kind, ids)
    }
    fn finish(&self) -> Result<(), AdapterError> {
        self.0.finish()
    }
    fn is_dry(&self) -> bool {
        false
    }
    fn body_urls(&self) -> Option<&dyn BodyUrls> {
        self.0.body_urls()
    }
}

/// The dry-run sink: the target's read-only side, which predicts each write by the
/// rules the write applies; nothing is written anywhere.
pub(super) struct Dry<'a> {
    pub(super) capabilities: Capabilities,
    pub(super) target: &'a dyn TargetInfo,
}

impl Dry<'_> {
    /// What a real target would say of one request: refused when an attachment is over
    /// the target's size limit, else written (children too).
    fn outcome(
        &self,
        kind: Kind,
        request: &WriteRequest,
        content: &dyn ContentSource,
    ) -> WriteOutcome {
        let limit = self.capabilities.max_attachment_bytes;
        let id = request.record.id().to_string();
        let too_big = request
            .record
            .attachments()
            .iter()
            .find(|a| limit.is_some_and(|l| a.size > l));
        let mut adopted = None;
        let result = match too_big {
            Some(a) => Err(AdapterError::invalid(
                &self.capabilities.adapter.clone(),
                kind,
                id.clone(),
                format!("attachments[{}]", a.file_name),
                format!(
                    "{} bytes is over the target's {} byte limit",
                    a.size,
                    limit.unwrap_or(0)
                ),
            )),
            None => {
                // Size attachments without downloading them when the source says.
                for attachment in request
                    .record
                    .attachments()
                    .iter()
                    .filter(|a| a.size == 0 && a.sha256.is_none())
                {
                    let _ = content
                        .open(attachment)
                        .map(|mut r| std::io::copy(&mut r, &mut std::io::sink()));
                }
                // New records are asked of the target; records the id map knows are
                // updates of what this migration wrote.
                let prediction = if request.existing.is_some() {
                    Ok(Prediction::Create)
                } else {
                    self.target.predict(kind, request)
                };
                match prediction {
                    Ok(Prediction::Create) => Ok(format!("dry-run:{id}")),
                    Ok(Prediction::Adopt) => {
                        adopted = Some(Adopted::default());
                        Ok(format!("dry-run:{id}"))
                    }
                    Ok(Prediction::AdoptAs(target)) => {
                        adopted = Some(Adopted::default());
                        Ok(target)
                    }
                    Ok(Prediction::Refuse(e)) => Err(e),
                    Err(e) => Err(e),
                }
            }
        };
        let children = if result.is_ok() {
            request
                .children
                .iter()
                .map(|child| self.outcome(child.record.kind(), child, content))
                .collect()
        } else {
            Vec::new()
        };
        WriteOutcome {
            source_id: id,
            result,
            children,
            adopted,
        }
    }
}

impl Sink for Dry<'_> {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }
    fn write(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
        _never_sent: bool,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in batch {
            let outcome = self.outcome(kind, request, content);
            // Reading the target to predict failed as a request would: the batch is
            // retried (or the run stops), as a live write's would be.
            if let Err(e) = &outcome.result
                && (e.is_retryable() || e.stops_run())
            {
                return Err(e.clone());
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }
    fn find(&self, _kind: Kind, _ids: &[String]) -> Result<BTreeMap<String, String>, AdapterError> {
        Ok(BTreeMap::new())
    }
    fn find_sent(
        &self,
        _kind: Kind,
        _sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        Ok(BTreeMap::new())
    }
    fn find_embedded(
        &self,
        _parent_kind: Kind,
        _parent_target_id: &str,
        _children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        Ok(BTreeMap::new())
    }
    fn delete(
        &self,
        _kind: Kind,
        ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        Ok(ids.iter().map(|_| Ok(())).collect())
    }
    fn finish(&self) -> Result<(), AdapterError> {
        Ok(())
    }
    fn is_dry(&self) -> bool {
        true
    }
    fn body_urls(&self) -> Option<&dyn BodyUrls> {
        self.target.body_urls()
    }
}

type HashMapShared = std::sync::Arc<Mutex<HashMap<String, (Digest, u64)>>>;

/// Wraps the source's attachment content to hash every byte on its way to the target.
pub(super) struct HashingContent<'a> {
    pub(super) source: &'a dyn Source,
    pub(super) hashes: HashMapShared,
}

impl ContentSource for HashingContent<'_> {
    fn open(&self, attachment: &Attachment) -> Result<Box<dyn Read + Send>, AdapterError> {
        Ok(Box::new(HashingReader {
            inner: crate::bodies::open(self.source, attachment)?,
            hasher: ContentHasher::new(),
            id: attachment.id.clone(),
            sink: self.hashes.clone(),
            done: false,
        }))
    }
}

struct HashingReader {
    inner: Box<dyn Read + Send>,
    hasher: ContentHasher,
    id: String,
    sink: HashMapShared,
    done: bool,
}

impl Read for HashingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 {
            if !self.done {
                self.done = true;
                let (digest, size) = std::mem::take(&mut self.hasher).finish();
                if let Ok(mut map) = self.sink.lock() {
                    map.insert(self.id.clone(), (digest, size));
                }
            }
        } else {
            self.hasher.update(&buf[..n]);
        }
        Ok(n)
    }
}
