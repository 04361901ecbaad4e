//! The archive adapter: a local folder as a source and a target. It is what a customer
//! keeps as a backup of everything that left the old vendor, and the simplest complete
//! adapter to copy when adding a platform.
//!
//! Layout of an archive folder:
//!
//! ```text
//! manifest.json          format, per-kind files with their committed length, digest roots
//! tickets.jsonl          one record per line (untagged canonical JSON), one file per kind
//! blobs/ab/abcdef…       attachment bytes, named by their SHA-256
//! .lock                  held exclusively by the one process writing the archive
//! ```
//!
//! Crash safety: blobs and the manifest are written to a temporary file and renamed into
//! place. Kind files are append-only and the manifest records how many bytes of each are
//! committed; bytes past that point (a batch a killed process was appending) are ignored by
//! readers and cut off when the archive is next opened for writing. So a killed process
//! never leaves a corrupt archive: at worst its last batch is missing, and the engine's
//! state store knows to send it again.
//!
//! Updates and deletions append a newer line or a tombstone; readers keep the last line
//! per id. Target ids are the source ids, so references stay valid without mapping.

#![deny(missing_docs)]

mod store;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use switchover_adapter::{
    AdapterError, AdapterSpec, Capabilities, ContentSource, KindCapability, Page, PageRequest,
    Preflight, ReadBack, ReadBackPage, Settings, Source, Target, TargetInfo, WriteOutcome,
    WriteRequest,
};
use switchover_model::{Attachment, Kind};

use store::Store;
pub use store::{ArchiveManifest, KindFile};

/// The adapter's name in plans.
pub const NAME: &str = "archive";

/// The adapter's one entry in the CLI: the adapter.
pub fn platform() -> switchover_sandbox::Platform {
    switchover_sandbox::Platform::new(register())
}

/// Registers the archive adapter.
pub fn register() -> AdapterSpec {
    AdapterSpec {
        name: NAME,
        summary: "local folder: JSONL per kind, attachment blobs by SHA-256, manifest of digest roots",
        settings_help: &[
            "path = \"./acme-archive\"   folder of the archive (created when used as a target)",
        ],
        capabilities,
        source: Some(|settings| Ok(Box::new(Archive::open_source(&path_setting(settings)?)?))),
        target: Some(|settings| Ok(Box::new(Archive::open_target(&path_setting(settings)?)?))),
    }
}

fn path_setting(settings: &Settings) -> Result<PathBuf, AdapterError> {
    settings.string("path").map(PathBuf::from)
}

/// What the archive can do: everything, losslessly, for every kind.
pub fn capabilities() -> Capabilities {
    let mut caps = Capabilities::new(NAME);
    for kind in Kind::ALL {
        let mut capability = KindCapability::everything(kind);
        // A local folder has no request quota: a dry run estimates no requests for it.
        capability.write_cost = switchover_adapter::RequestCost {
            per_batch: 0.0,
            per_record: 0.0,
            per_attachment: 0.0,
        };
        caps.kinds.insert(kind, capability);
    }
    caps.reads_back_attachment_content = true;
    caps.notes.push(
        "lossless: keeps every field including vendor leftovers (extra); deleting leaves attachment blobs in place (content-addressed, possibly shared)".into(),
    );
    caps
}

/// An archive folder opened as a source, a target, or both.
pub struct Archive {
    store: Store,
}

impl Archive {
    /// Opens an existing archive for reading.
    pub fn open_source(path: &std::path::Path) -> Result<Self, AdapterError> {
        Ok(Archive {
            store: Store::open_existing(path)?,
        })
    }

    /// Opens (creating if needed) an archive for writing; one writer at a time.
    pub fn open_target(path: &std::path::Path) -> Result<Self, AdapterError> {
        Ok(Archive {
            store: Store::open_for_writing(path)?,
        })
    }

    /// The archive's manifest as it is on disk now.
    pub fn manifest(&self) -> Result<ArchiveManifest, AdapterError> {
        self.store.load_manifest()
    }

    fn check_kind(kind: Kind, operation: &str) -> Result<(), AdapterError> {
        if kind.is_streamed() {
            Ok(())
        } else {
            Err(AdapterError::unsupported(NAME, kind, operation))
        }
    }
}

impl Source for Archive {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn check(&self) -> Result<(), AdapterError> {
        self.store.load_manifest().map(|_| ())
    }

    fn count(&self, kind: Kind) -> Result<Option<u64>, AdapterError> {
        Archive::check_kind(kind, "count")?;
        let manifest = self.store.load_manifest()?;
        Ok(Some(
            manifest
                .kinds
                .get(kind.as_str())
                .map(|k| k.live)
                .unwrap_or(0),
        ))
    }

    fn read_page(&self, kind: Kind, request: &PageRequest) -> Result<Page, AdapterError> {
        Archive::check_kind(kind, "read")?;
        self.store.read_page(kind, request)
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.store.open_blob(attachment)
    }
}

impl TargetInfo for Archive {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn preflight(&self) -> Result<Preflight, AdapterError> {
        let manifest = self.store.load_manifest()?;
        let mut preflight = Preflight::default();
        let existing: u64 = manifest.kinds.values().map(|k| k.live).sum();
        if existing > 0 {
            preflight.warnings.push(format!(
                "archive {} already holds {existing} records; records with the same source ids will be updated, not duplicated",
                self.store.root().display()
            ));
        }
        Ok(preflight)
    }
}

impl Target for Archive {
    fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        Archive::check_kind(kind, "write")?;
        self.store.write_batch(kind, batch, content)
    }

    fn find_by_source(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        Archive::check_kind(kind, "find")?;
        self.store.find(kind, source_ids)
    }

    fn read_back(&self, kind: Kind, request: &PageRequest) -> Result<ReadBackPage, AdapterError> {
        Archive::check_kind(kind, "read back")?;
        let page = self.store.read_page(kind, request)?;
        Ok(ReadBackPage {
            records: page
                .records
                .into_iter()
                .map(|record| ReadBack {
                    source_id: Some(record.id().to_string()),
                    record,
                })
                .collect(),
            next: page.next,
        })
    }

    fn open_attachment(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        self.store.open_blob(attachment)
    }

    fn finish(&self) -> Result<(), AdapterError> {
        self.store.seal()
    }

    fn delete(
        &self,
        kind: Kind,
        target_ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        Archive::check_kind(kind, "delete")?;
        self.store.delete(kind, target_ids)
    }
}
