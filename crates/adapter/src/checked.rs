//! The capability check layer: the registry wraps every source and target in it, so an
//! operation a kind's capability does not declare is a clear [`AdapterError::Unsupported`]
//! before it reaches the adapter, and no adapter checks for itself.

use std::collections::BTreeMap;
use std::io::Read;

use switchover_model::{Attachment, Kind, Record};

use crate::{
    AdapterError, Adopted, Capabilities, ContentSource, Operation, Page, PageRequest, Prediction,
    Preflight, ReadBackPage, Source, Target, TargetInfo, WriteOutcome, WriteRequest,
};

/// `Ok` when `capabilities` declare `operation` for `kind`, else the error that says so.
pub fn require(
    capabilities: &Capabilities,
    kind: Kind,
    operation: Operation,
) -> Result<(), AdapterError> {
    if capabilities.supports(kind, operation) {
        Ok(())
    } else {
        Err(AdapterError::unsupported(
            &capabilities.adapter,
            kind,
            operation.as_str(),
        ))
    }
}

/// A source whose reads are checked against its declared capabilities.
pub struct CheckedSource {
    inner: Box<dyn Source>,
    capabilities: Capabilities,
}

impl CheckedSource {
    /// Wraps a source.
    pub fn new(inner: Box<dyn Source>) -> Self {
        let capabilities = inner.capabilities();
        CheckedSource {
            inner,
            capabilities,
        }
    }
}

impl Source for CheckedSource {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn check(&self) -> Result<(), AdapterError> {
        self.inner.check()
    }

    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        require(&self.capabilities, kind, Operation::Read)?;
        self.inner.count(kind)
    }

    fn read_page(&self, kind: Kind, request: &PageRequest) -> Result<Page, AdapterError> {
        require(&self.capabilities, kind, Operation::Read)?;
        if request.changed_since.is_some() {
            require(&self.capabilities, kind, Operation::Incremental)?;
        }
        self.inner.read_page(kind, request)
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.inner.open_attachment(attachment)
    }
}

/// A target whose writes, look-ups, read-backs and deletes are checked against its
/// declared capabilities. Every method is passed on, the provided ones too.
pub struct CheckedTarget {
    inner: Box<dyn Target>,
    capabilities: Capabilities,
}

impl CheckedTarget {
    /// Wraps a target.
    pub fn new(inner: Box<dyn Target>) -> Self {
        let capabilities = TargetInfo::capabilities(inner.as_ref());
        CheckedTarget {
            inner,
            capabilities,
        }
    }
}

impl TargetInfo for CheckedTarget {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    fn preflight(&self) -> Result<Preflight, AdapterError> {
        self.inner.preflight()
    }

    fn predict(&self, kind: Kind, request: &WriteRequest) -> Result<Prediction, AdapterError> {
        require(&self.capabilities, kind, Operation::Write)?;
        self.inner.predict(kind, request)
    }

    fn as_stored(&self, kind: Kind, record: &mut Record) {
        self.inner.as_stored(kind, record)
    }
}

impl CheckedTarget {
    /// Refuses a batch of a kind the target cannot write, or with updates it cannot make.
    fn may_write(&self, kind: Kind, batch: &[WriteRequest]) -> Result<(), AdapterError> {
        require(&self.capabilities, kind, Operation::Write)?;
        if batch.iter().any(|r| r.existing.is_some()) {
            require(&self.capabilities, kind, Operation::Update)?;
        }
        Ok(())
    }
}

impl Target for CheckedTarget {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.may_write(kind, batch)?;
        self.inner.write_batch(kind, batch, content)
    }

    fn write_new_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        self.may_write(kind, batch)?;
        self.inner.write_new_batch(kind, batch, content)
    }

    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        require(&self.capabilities, kind, Operation::Write)?;
        self.inner.find_by_source(kind, source_ids)
    }

    fn find_sent(
        &self,
        kind: Kind,
        sent: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        require(&self.capabilities, kind, Operation::Write)?;
        self.inner.find_sent(kind, sent)
    }

    fn find_embedded(
        &self,
        parent_kind: Kind,
        parent_target_id: &str,
        children: &[WriteRequest],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        require(&self.capabilities, parent_kind, Operation::Write)?;
        self.inner
            .find_embedded(parent_kind, parent_target_id, children)
    }

    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        require(&self.capabilities, kind, Operation::ReadBack)?;
        self.inner.read_back(kind, request)
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.inner.open_attachment(attachment)
    }

    fn finish(&self) -> Result<(), AdapterError> {
        self.inner.finish()
    }

    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        require(&self.capabilities, kind, Operation::Delete)?;
        self.inner.delete(kind, target_ids)
    }

    fn remove_helpers(&self) -> Result<Vec<String>, AdapterError> {
        self.inner.remove_helpers()
    }

    fn set_active(
        &self,
        kind: Kind,
        target_id: &str,
        record: &Record,
        active: bool,
    ) -> Result<(), AdapterError> {
        self.inner.set_active(kind, target_id, record, active)
    }

    fn release(&self, kind: Kind, target_id: &str, before: &Adopted) -> Result<(), AdapterError> {
        require(&self.capabilities, kind, Operation::Write)?;
        self.inner.release(kind, target_id, before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KindCapability;

    #[test]
    fn an_undeclared_operation_is_refused_with_the_adapter_kind_and_operation() {
        let mut caps = Capabilities::new("demo");
        let mut tickets = KindCapability::everything(Kind::Ticket);
        tickets.delete = false;
        caps.kinds.insert(Kind::Ticket, tickets);
        assert!(require(&caps, Kind::Ticket, Operation::Write).is_ok());
        let refused = require(&caps, Kind::Ticket, Operation::Delete).expect_err("delete");
        assert_eq!(refused.kind(), crate::ErrorKind::Unsupported);
        let text = refused.to_string();
        assert!(
            text.contains("demo") && text.contains("delete") && text.contains("tickets"),
            "{text}"
        );
        assert!(require(&caps, Kind::Macro, Operation::Read).is_err());
    }
}
