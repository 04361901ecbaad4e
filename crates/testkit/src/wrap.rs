//! Targets that behave like another target except where a test says otherwise: a
//! fault-injecting, renaming, crashing or importing target implements [`Wrap`] with only
//! the calls it changes, and [`Wrapped`] makes it a [`Target`] that forwards the rest.

use std::collections::BTreeMap;
use std::io::Read;

use switchover_adapter::{
    AdapterError, Capabilities, ContentSource, PageRequest, Prediction, Preflight, ReadBackPage,
    Target, TargetInfo, WriteOutcome, WriteRequest,
};
use switchover_model::{Attachment, Kind, Record};

/// A test target built on another: every method forwards to [`Wrap::inner`] unless the
/// implementation replaces it.
pub trait Wrap: Send + Sync {
    /// The target it behaves like.
    type Inner: Target;

    /// The target it behaves like.
    fn inner(&self) -> &Self::Inner;

    /// See [`TargetInfo::capabilities`].
    fn capabilities(&self) -> Capabilities {
        TargetInfo::capabilities(self.inner())
    }

    /// See [`TargetInfo::preflight`].
    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.inner().preflight()
    }

    /// See [`Target::write_batch`].
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.inner().write_batch(kind, batch, content)
    }

    /// See [`Target::write_new_batch`]; the default is this wrap's own
    /// [`Wrap::write_batch`], so a wrap that changes only that sees every write.
    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.write_batch(kind, batch, content)
    }

    /// See [`Target::find_by_source`].
    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.inner().find_by_source(kind, source_ids)
    }

    /// See [`Target::find_sent`].
    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.inner().find_sent(kind, sent)
    }

    /// See [`Target::find_embedded`].
    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.inner()
            .find_embedded(parent_kind, parent_target_id, children)
    }

    /// See [`Target::read_back`].
    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        self.inner().read_back(kind, request)
    }

    /// See [`Target::open_attachment`].
    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        Target::open_attachment(self.inner(), attachment)
    }

    /// See [`Target::finish`].
    fn finish(&self) -> Result<(), AdapterError> {
        self.inner().finish()
    }

    /// See [`Target::delete`].
    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        self.inner().delete(kind, target_ids)
    }
}

/// A [`Wrap`] as a [`Target`].
pub struct Wrapped<W>(pub W);

impl<W: Wrap> TargetInfo for Wrapped<W> {
    fn capabilities(&self) -> Capabilities {
        self.0.capabilities()
    }
    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.0.preflight()
    }
    fn predict(&self, kind: Kind, request: &WriteRequest) -> Result<Prediction, AdapterError> {
        self.0.inner().predict(kind, request)
    }
    fn as_stored(&self, kind: Kind, record: &mut Record) {
        self.0.inner().as_stored(kind, record)
    }
}

impl<W: Wrap> Target for Wrapped<W> {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.0.write_batch(kind, batch, content)
    }
    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.0.write_new_batch(kind, batch, content)
    }
    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        self.0.find_by_source(kind, source_ids)
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
    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        self.0.read_back(kind, request)
    }
    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.0.open_attachment(attachment)
    }
    fn finish(&self) -> Result<(), AdapterError> {
        self.0.finish()
    }
    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        self.0.delete(kind, target_ids)
    }
}

impl<W> std::ops::Deref for Wrapped<W> {
    type Target = W;
    fn deref(&self) -> &W {
        &self.0
    }
}
