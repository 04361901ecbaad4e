//! The archive's files: append-only JSONL per kind committed through an atomically
//! replaced manifest, and content-addressed blobs.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use switchover_adapter::{
    AdapterError, ContentSource, Cursor, Page, PageRequest, WriteOutcome, WriteRequest,
};
use switchover_model::digest::{ContentHasher, Digest, field_set, record_digest};
use switchover_model::merkle::{leaf, manifest_digest, root_of_leaf_hashes};
use switchover_model::{Attachment, Kind, Record, Timestamp};

use crate::NAME;

const FORMAT: &str = "switchover-archive";
const VERSION: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DEFAULT_PAGE: usize = 500;
const TOMBSTONE_PREFIX: &str = "{\"_deleted\":";

/// The archive's table of contents, replaced atomically after every committed batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchiveManifest {
    /// Always `switchover-archive`.
    pub format: String,
    /// Layout version.
    pub version: u32,
    /// When the archive was created.
    pub created_at: Timestamp,
    /// When a batch was last committed.
    pub updated_at: Timestamp,
    /// Per kind (by plural name): its file and how much of it is committed.
    pub kinds: BTreeMap<String, KindFile>,
    /// Per kind: the Merkle root of the leaf hashes of `(id, digest over every field)`,
    /// sorted by hash (32 bytes per record to compute), as of the last time a writer
    /// finished. Attachments have a root over their bytes' SHA-256.
    pub roots: BTreeMap<String, Digest>,
    /// One digest over all roots: the line two parties compare.
    pub manifest_digest: Option<Digest>,
    /// Whether the roots describe the current content (false after any later write).
    pub sealed: bool,
}

/// One kind's file in the archive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KindFile {
    /// File name inside the archive folder.
    pub file: String,
    /// Bytes of the file that belong to the archive; anything after is an interrupted write.
    pub committed_bytes: u64,
    /// Records currently present.
    pub live: u64,
    /// Lines that a later line replaced or deleted; when non-zero readers skip stale lines.
    pub superseded: u64,
}

#[derive(Deserialize)]
struct LineId {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "_deleted")]
    deleted: Option<String>,
}

/// Latest line offset per live id of one kind, valid for one committed length. Ids are
/// kept as 128-bit hashes (collisions are astronomically unlikely at any helpdesk's size),
/// so a million records cost about 32 MB instead of several times that as strings.
struct KindIndex {
    committed_bytes: u64,
    offsets: IdMap,
}

/// Id -> offset, keyed by a 128-bit SHA-256 prefix of the id.
#[derive(Default, Clone)]
struct IdMap(HashMap<u128, u64>);

fn id_key(id: &str) -> u128 {
    let digest = Digest::of(id.as_bytes()).0;
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(key)
}

impl IdMap {
    fn get(&self, id: &str) -> Option<&u64> {
        self.0.get(&id_key(id))
    }
    fn contains_key(&self, id: &str) -> bool {
        self.0.contains_key(&id_key(id))
    }
    fn insert(&mut self, id: &str, offset: u64) {
        self.0.insert(id_key(id), offset);
    }
    fn remove(&mut self, id: &str) {
        self.0.remove(&id_key(id));
    }
}

pub(crate) struct Store {
    root: PathBuf,
    /// Held for the life of a writer: the exclusive lock file.
    _lock: Option<File>,
    writer: Mutex<()>,
    indexes: Mutex<HashMap<Kind, KindIndex>>,
}

fn io_error(action: &str, path: &Path, e: std::io::Error) -> AdapterError {
    AdapterError::fatal(NAME, format!("cannot {action} {}: {e}", path.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AdapterError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = File::create(&tmp).map_err(|e| io_error("create", &tmp, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| io_error("write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| io_error("rename into place", path, e))
}

impl Store {
    pub(crate) fn open_existing(root: &Path) -> Result<Self, AdapterError> {
        let store = Store {
            root: root.to_path_buf(),
            _lock: None,
            writer: Mutex::new(()),
            indexes: Mutex::new(HashMap::new()),
        };
        store.load_manifest()?;
        Ok(store)
    }

    pub(crate) fn open_for_writing(root: &Path) -> Result<Self, AdapterError> {
        let manifest_path = root.join(MANIFEST);
        if root.exists() && !manifest_path.exists() {
            let non_empty = fs::read_dir(root)
                .map_err(|e| io_error("list", root, e))?
                .next()
                .is_some();
            if non_empty {
                return Err(AdapterError::config(
                    NAME,
                    format!(
                        "{} exists, is not empty and holds no {MANIFEST}; refusing to write an archive into it. Choose an empty or new folder",
                        root.display()
                    ),
                ));
            }
        }
        fs::create_dir_all(root.join("blobs")).map_err(|e| io_error("create", root, e))?;
        let lock_path = root.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_error("open", &lock_path, e))?;
        lock.try_lock().map_err(|_| {
            AdapterError::config(
                NAME,
                format!(
                    "archive {} is being written by another process; wait for it or choose another folder",
                    root.display()
                ),
            )
        })?;
        let store = Store {
            root: root.to_path_buf(),
            _lock: Some(lock),
            writer: Mutex::new(()),
            indexes: Mutex::new(HashMap::new()),
        };
        let manifest = if manifest_path.exists() {
            store.load_manifest()?
        } else {
            let now = Timestamp::now();
            let manifest = ArchiveManifest {
                format: FORMAT.into(),
                version: VERSION,
                created_at: now,
                updated_at: now,
                kinds: BTreeMap::new(),
                roots: BTreeMap::new(),
                manifest_digest: None,
                sealed: false,
            };
            store.save_manifest(&manifest)?;
            manifest
        };
        store.cut_uncommitted_tails(&manifest)?;
        Ok(store)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Removes bytes a killed writer appended without committing them.
    fn cut_uncommitted_tails(&self, manifest: &ArchiveManifest) -> Result<(), AdapterError> {
        for kind_file in manifest.kinds.values() {
            let path = self.root.join(&kind_file.file);
            let len = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len < kind_file.committed_bytes {
                return Err(AdapterError::fatal(
                    NAME,
                    format!(
                        "{} is shorter ({len} bytes) than the manifest says was committed ({} bytes): the archive was damaged outside Switchover; restore it from a copy",
                        path.display(),
                        kind_file.committed_bytes
                    ),
                ));
            }
            if len > kind_file.committed_bytes {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| io_error("open", &path, e))?;
                file.set_len(kind_file.committed_bytes)
                    .and_then(|_| file.sync_all())
                    .map_err(|e| io_error("truncate", &path, e))?;
            }
        }
        Ok(())
    }

    pub(crate) fn load_manifest(&self) -> Result<ArchiveManifest, AdapterError> {
        let path = self.root.join(MANIFEST);
        let text = fs::read_to_string(&path).map_err(|e| {
            AdapterError::config(
                NAME,
                format!(
                    "no readable archive at {}: {e}; point `path` at a folder written by the archive adapter",
                    self.root.display()
                ),
            )
        })?;
        let manifest: ArchiveManifest = serde_json::from_str(&text).map_err(|e| {
            AdapterError::fatal(
                NAME,
                format!("{} is not a valid archive manifest: {e}", path.display()),
            )
        })?;
        if manifest.format != FORMAT || manifest.version > VERSION {
            return Err(AdapterError::config(
                NAME,
                format!(
                    "{} is format '{}' version {}; this Switchover reads {FORMAT} up to version {VERSION}",
                    path.display(),
                    manifest.format,
                    manifest.version
                ),
            ));
        }
        Ok(manifest)
    }

    fn save_manifest(&self, manifest: &ArchiveManifest) -> Result<(), AdapterError> {
        let bytes = serde_json::to_vec_pretty(manifest)
            .map_err(|e| AdapterError::fatal(NAME, format!("cannot encode manifest: {e}")))?;
        write_atomically(&self.root.join(MANIFEST), &bytes)
    }

    fn kind_path(&self, kind: Kind) -> PathBuf {
        self.root.join(format!("{}.jsonl", kind.as_str()))
    }

    fn blob_path(&self, hex: &str) -> PathBuf {
        let prefix = hex.get(..2).unwrap_or("00");
        self.root.join("blobs").join(prefix).join(hex)
    }

    /// Scans a kind file's committed part for the latest line offset per live id.
    fn build_index(&self, kind: Kind, committed: u64) -> Result<KindIndex, AdapterError> {
        let path = self.kind_path(kind);
        let mut offsets = IdMap::default();
        if committed > 0 {
            let file = File::open(&path).map_err(|e| io_error("open", &path, e))?;
            let mut reader = BufReader::new(file.take(committed));
            let mut offset = 0u64;
            let mut line = String::new();
            loop {
                line.clear();
                let n = reader
                    .read_line(&mut line)
                    .map_err(|e| io_error("read", &path, e))?;
                if n == 0 {
                    break;
                }
                let ids: LineId =
                    serde_json::from_str(&line).map_err(|e| corrupt(&path, offset, e))?;
                if let Some(deleted) = ids.deleted {
                    offsets.remove(deleted.as_str());
                } else if let Some(id) = ids.id {
                    offsets.insert(&id, offset);
                }
                offset += n as u64;
            }
        }
        Ok(KindIndex {
            committed_bytes: committed,
            offsets,
        })
    }

    /// Runs `f` with an index current for `committed` bytes of the kind's file.
    fn with_index<T>(
        &self,
        kind: Kind,
        committed: u64,
        f: impl FnOnce(&mut KindIndex) -> T,
    ) -> Result<T, AdapterError> {
        let mut indexes = self
            .indexes
            .lock()
            .map_err(|_| AdapterError::fatal(NAME, "archive index lock poisoned"))?;
        let stale = indexes
            .get(&kind)
            .is_none_or(|index| index.committed_bytes != committed);
        if stale {
            let index = self.build_index(kind, committed)?;
            indexes.insert(kind, index);
        }
        match indexes.get_mut(&kind) {
            Some(index) => Ok(f(index)),
            None => Err(AdapterError::fatal(NAME, "archive index vanished")),
        }
    }

    pub(crate) fn read_page(
        &self,
        kind: Kind,
        request: &PageRequest,
    ) -> Result<Page, AdapterError> {
        let manifest = self.load_manifest()?;
        let Some(kind_file) = manifest.kinds.get(kind.as_str()).cloned() else {
            return Ok(Page::default());
        };
        let start: u64 = match &request.cursor {
            None => 0,
            Some(Cursor(text)) => text.parse().map_err(|_| {
                AdapterError::fatal(
                    NAME,
                    format!("'{text}' is not an archive cursor (a byte offset)"),
                )
            })?,
        };
        let committed = kind_file.committed_bytes;
        if start >= committed {
            return Ok(Page::default());
        }
        let path = self.kind_path(kind);
        let mut file = File::open(&path).map_err(|e| io_error("open", &path, e))?;
        file.seek(SeekFrom::Start(start))
            .map_err(|e| io_error("seek in", &path, e))?;
        let mut reader = BufReader::new(file.take(committed - start));
        let wanted = request.page_size.unwrap_or(DEFAULT_PAGE).max(1);
        let mut found: Vec<(u64, Record)> = Vec::with_capacity(wanted.min(DEFAULT_PAGE));
        let mut offset = start;
        let mut line = String::new();
        while found.len() < wanted {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| io_error("read", &path, e))?;
            if n == 0 {
                break;
            }
            let line_offset = offset;
            offset += n as u64;
            if line.starts_with(TOMBSTONE_PREFIX) {
                continue;
            }
            let record = Record::from_untagged_json(kind, line.trim_end())
                .map_err(|e| corrupt(&path, line_offset, e))?;
            if let (Some(since), Some(changed)) = (request.changed_since, record.changed_at())
                && changed < since
            {
                continue;
            }
            found.push((line_offset, record));
        }
        let records = if kind_file.superseded > 0 {
            // Keep only each id's latest line.
            self.with_index(kind, committed, |index| {
                found
                    .into_iter()
                    .filter(|(at, record)| index.offsets.get(record.id()) == Some(at))
                    .map(|(_, record)| record)
                    .collect()
            })?
        } else {
            found.into_iter().map(|(_, record)| record).collect()
        };
        Ok(Page {
            records,
            next: (offset < committed).then(|| Cursor(offset.to_string())),
        })
    }

    pub(crate) fn find(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<BTreeMap<String, String>, AdapterError> {
        let manifest = self.load_manifest()?;
        let committed = manifest
            .kinds
            .get(kind.as_str())
            .map(|k| k.committed_bytes)
            .unwrap_or(0);
        self.with_index(kind, committed, |index| {
            source_ids
                .iter()
                .filter(|id| index.offsets.contains_key(id.as_str()))
                .map(|id| (id.clone(), id.clone()))
                .collect()
        })
    }

    /// Stores one attachment's bytes under their SHA-256 and returns digest and size.
    fn store_blob(&self, reader: &mut dyn Read) -> Result<(Digest, u64), AdapterError> {
        let tmp_dir = self.root.join("blobs");
        let mut tmp = tempfile_in(&tmp_dir)?;
        let mut hasher = ContentHasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(|e| {
                AdapterError::transient(
                    NAME,
                    format!("reading attachment content failed midway: {e}"),
                )
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.1
                .write_all(&buf[..n])
                .map_err(|e| io_error("write", &tmp.0, e))?;
        }
        tmp.1.sync_all().map_err(|e| io_error("sync", &tmp.0, e))?;
        let (digest, size) = hasher.finish();
        let path = self.blob_path(&digest.to_hex());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error("create", parent, e))?;
        }
        fs::rename(&tmp.0, &path).map_err(|e| io_error("rename into place", &path, e))?;
        Ok((digest, size))
    }

    fn store_attachments(
        &self,
        record: &mut Record,
        content: &dyn ContentSource,
    ) -> Result<(), AdapterError> {
        let kind = record.kind();
        let id = record.id().to_string();
        let Some(attachments) = record.attachments_mut() else {
            return Ok(());
        };
        for attachment in attachments.iter_mut() {
            let mut reader = content.open(attachment)?;
            let (digest, size) = self.store_blob(&mut reader)?;
            if let Some(expected) = &attachment.sha256
                && !expected.eq_ignore_ascii_case(&digest.to_hex())
            {
                return Err(AdapterError::transient(
                    NAME,
                    format!(
                        "attachment '{}' of {kind} '{id}' corrupted in transfer: SHA-256 {digest} differs from the source's {expected}",
                        attachment.file_name
                    ),
                ));
            }
            attachment.sha256 = Some(digest.to_hex());
            attachment.size = size;
            attachment.location = Some(format!("blob:{digest}"));
        }
        Ok(())
    }

    pub(crate) fn write_batch(
        &self,
        kind: Kind,
        batch: &[WriteRequest],
        content: &dyn ContentSource,
    ) -> Result<Vec<WriteOutcome>, AdapterError> {
        if self._lock.is_none() {
            return Err(AdapterError::fatal(
                NAME,
                "archive opened for reading cannot be written",
            ));
        }
        // Blobs first, outside the writer lock: they are content-addressed and atomic.
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut lines: Vec<(String, String)> = Vec::with_capacity(batch.len());
        for request in batch {
            let mut record = request.record.clone();
            let source_id = record.id().to_string();
            if record.kind() != kind {
                outcomes.push(WriteOutcome {
                    result: Err(invalid(
                        kind,
                        &source_id,
                        "kind",
                        format!("a {} record was sent in a batch of {kind}", record.kind()),
                    )),
                    source_id,
                    children: Vec::new(),
                    adopted: None,
                });
                continue;
            }
            if source_id.is_empty() || source_id.contains('\n') {
                outcomes.push(WriteOutcome {
                    result: Err(invalid(
                        kind,
                        &source_id,
                        "id",
                        "must be a non-empty single line".into(),
                    )),
                    source_id,
                    children: Vec::new(),
                    adopted: None,
                });
                continue;
            }
            if let Err(e) = self.store_attachments(&mut record, content) {
                if e.stops_run() {
                    return Err(e);
                }
                outcomes.push(WriteOutcome {
                    source_id,
                    result: Err(e),
                    children: Vec::new(),
                    adopted: None,
                });
                continue;
            }
            let json = record
                .to_untagged_json()
                .map(|v| v.to_string())
                .map_err(|e| {
                    AdapterError::fatal(NAME, format!("cannot encode {kind} '{source_id}': {e}"))
                })?;
            lines.push((source_id, json));
        }

        let _guard = self
            .writer
            .lock()
            .map_err(|_| AdapterError::fatal(NAME, "archive writer lock poisoned"))?;
        let mut manifest = self.load_manifest()?;
        let path = self.kind_path(kind);
        let entry = manifest
            .kinds
            .entry(kind.as_str().to_string())
            .or_insert_with(|| KindFile {
                file: format!("{}.jsonl", kind.as_str()),
                ..KindFile::default()
            });
        let committed = entry.committed_bytes;
        let mut buffer = String::new();
        let mut placed: Vec<(String, u64)> = Vec::with_capacity(lines.len());
        let mut replaced = 0u64;
        self.with_index(kind, committed, |index| {
            let mut offset = committed;
            let mut in_batch: HashMap<&str, ()> = HashMap::new();
            for (id, json) in &lines {
                if index.offsets.contains_key(id.as_str()) || in_batch.contains_key(id.as_str()) {
                    replaced += 1;
                }
                in_batch.insert(id, ());
                placed.push((id.clone(), offset));
                buffer.push_str(json);
                buffer.push('\n');
                offset += json.len() as u64 + 1;
            }
        })?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_error("open", &path, e))?;
        file.write_all(buffer.as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|e| io_error("append to", &path, e))?;
        let new_committed = committed + buffer.len() as u64;
        entry.committed_bytes = new_committed;
        entry.superseded += replaced;
        entry.live += placed.len() as u64 - replaced;
        manifest.updated_at = Timestamp::now();
        manifest.sealed = false;
        self.save_manifest(&manifest)?;
        self.with_index(kind, committed, |index| {
            for (id, offset) in &placed {
                index.offsets.insert(id, *offset);
            }
            index.committed_bytes = new_committed;
        })?;
        for (id, _) in placed {
            outcomes.push(WriteOutcome {
                result: Ok(id.clone()),
                source_id: id,
                children: Vec::new(),
                adopted: None,
            });
        }
        Ok(outcomes)
    }

    pub(crate) fn delete(
        &self,
        kind: Kind,
        ids: &[String],
    ) -> Result<Vec<Result<(), AdapterError>>, AdapterError> {
        if self._lock.is_none() {
            return Err(AdapterError::fatal(
                NAME,
                "archive opened for reading cannot be written",
            ));
        }
        let _guard = self
            .writer
            .lock()
            .map_err(|_| AdapterError::fatal(NAME, "archive writer lock poisoned"))?;
        let mut manifest = self.load_manifest()?;
        let Some(entry) = manifest.kinds.get_mut(kind.as_str()) else {
            return Ok(ids.iter().map(|id| Err(not_found(kind, id))).collect());
        };
        let committed = entry.committed_bytes;
        let mut buffer = String::new();
        let results: Vec<Result<(), AdapterError>> = self.with_index(kind, committed, |index| {
            ids.iter()
                .map(|id| {
                    if index.offsets.contains_key(id.as_str()) {
                        buffer.push_str(&serde_json::json!({ "_deleted": id }).to_string());
                        buffer.push('\n');
                        Ok(())
                    } else {
                        Err(not_found(kind, id))
                    }
                })
                .collect()
        })?;
        let removed = results.iter().filter(|r| r.is_ok()).count() as u64;
        if removed == 0 {
            return Ok(results);
        }
        let path = self.kind_path(kind);
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_error("open", &path, e))?;
        file.write_all(buffer.as_bytes())
            .and_then(|_| file.sync_data())
            .map_err(|e| io_error("append to", &path, e))?;
        entry.committed_bytes += buffer.len() as u64;
        entry.superseded += removed * 2;
        entry.live = entry.live.saturating_sub(removed);
        manifest.updated_at = Timestamp::now();
        manifest.sealed = false;
        self.save_manifest(&manifest)?;
        Ok(results)
    }

    pub(crate) fn open_blob(
        &self,
        attachment: &Attachment,
    ) -> Result<Box<dyn Read + Send>, AdapterError> {
        let hex = attachment
            .location
            .as_deref()
            .and_then(|l| l.strip_prefix("blob:"))
            .or(attachment.sha256.as_deref())
            .ok_or_else(|| not_found(Kind::Attachment, &attachment.id))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found(Kind::Attachment, &attachment.id));
        }
        let path = self.blob_path(&hex.to_ascii_lowercase());
        match File::open(&path) {
            Ok(file) => Ok(Box::new(BufReader::new(file))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(not_found(Kind::Attachment, &attachment.id))
            }
            Err(e) => Err(io_error("open", &path, e)),
        }
    }

    /// Computes every kind's digest root and the manifest digest, and records them.
    pub(crate) fn seal(&self) -> Result<(), AdapterError> {
        let _guard = self
            .writer
            .lock()
            .map_err(|_| AdapterError::fatal(NAME, "archive writer lock poisoned"))?;
        let mut manifest = self.load_manifest()?;
        let mut roots = BTreeMap::new();
        let mut attachment_leaves = Vec::new();
        for kind in Kind::ALL.into_iter().filter(|k| k.is_streamed()) {
            if !manifest.kinds.contains_key(kind.as_str()) {
                continue;
            }
            let fields = field_set(kind.fields().iter().copied());
            let mut leaves = Vec::new();
            let mut request = PageRequest {
                page_size: Some(2000),
                ..PageRequest::default()
            };
            loop {
                let page = self.read_page(kind, &request)?;
                for record in &page.records {
                    leaves.push(leaf(record.id(), &record_digest(record, &fields)));
                    for attachment in record.attachments() {
                        if let Some(Ok(digest)) =
                            attachment.sha256.as_deref().map(str::parse::<Digest>)
                        {
                            attachment_leaves
                                .push(leaf(&format!("{}/{}", record.id(), attachment.id), &digest));
                        }
                    }
                }
                match page.next {
                    Some(next) => request.cursor = Some(next),
                    None => break,
                }
            }
            roots.insert(kind.as_str().to_string(), root_of_leaf_hashes(leaves));
        }
        if !attachment_leaves.is_empty() {
            roots.insert(
                Kind::Attachment.as_str().to_string(),
                root_of_leaf_hashes(attachment_leaves),
            );
        }
        manifest.manifest_digest =
            Some(manifest_digest(roots.iter().map(|(k, d)| (k.as_str(), d))));
        manifest.roots = roots;
        manifest.sealed = true;
        self.save_manifest(&manifest)
    }
}

fn tempfile_in(dir: &Path) -> Result<(PathBuf, File), AdapterError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".incoming-{}-{n}", std::process::id()));
    let file = File::create(&path).map_err(|e| io_error("create", &path, e))?;
    Ok((path, file))
}

fn corrupt(path: &Path, offset: u64, e: serde_json::Error) -> AdapterError {
    AdapterError::fatal(
        NAME,
        format!(
            "{} holds an unreadable record at byte {offset}: {e}",
            path.display()
        ),
    )
}

fn not_found(kind: Kind, id: &str) -> AdapterError {
    AdapterError::NotFound {
        adapter: NAME.into(),
        kind,
        id: id.into(),
    }
}

fn invalid(kind: Kind, id: &str, field: &str, reason: String) -> AdapterError {
    AdapterError::invalid(NAME, kind, id, field, reason)
}
