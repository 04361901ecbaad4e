//! The state store: one SQLite database per migration holding runs, the id map, per-kind
//! cursors, failures and attachment hashes. Every target write is recorded here first as
//! an intent (`pending`) and then as done (`written`), so a resumed run never writes a
//! record twice: pending rows are reconciled through the target's source marker before
//! anything is re-sent.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use switchover_model::Kind;
use switchover_model::digest::Digest;

use crate::EngineError;

/// Status of a record in the id map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// A write was sent or about to be; unknown whether it landed.
    Pending,
    /// On the target, with a target id.
    Written,
    /// Removed from the target because it was deleted in the source (delta).
    DeletedInSource,
    /// Removed from the target by a rollback.
    RolledBack,
}

impl RecordStatus {
    fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Pending => "pending",
            RecordStatus::Written => "written",
            RecordStatus::DeletedInSource => "deleted_in_source",
            RecordStatus::RolledBack => "rolled_back",
        }
    }
}

/// How a record came to be on the target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Origin {
    /// This migration created it: rollback deletes it.
    Created,
    /// The target had it before and the migration adopted it; the values it had before,
    /// in the adapter's form: rollback gives it back.
    Adopted(serde_json::Value),
}

/// One row of the id map.
#[derive(Debug, Clone)]
pub struct MappedRecord {
    /// Source id.
    pub source_id: String,
    /// Target id, once written.
    pub target_id: Option<String>,
    /// Digest of the source record's portable projection when it was written.
    pub digest: Option<Digest>,
}

/// A record the target refused or that could not be sent.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// Kind.
    pub kind: Kind,
    /// Source id.
    pub source_id: String,
    /// Error kind (`invalid_record`, `permission`, `transient`, `unresolved_reference`...).
    pub error_kind: String,
    /// The error message.
    pub message: String,
    /// Attempts so far.
    pub attempts: u32,
}

/// A write whose outcome is unknown, as its intent recorded it.
#[derive(Debug, Clone)]
pub struct PendingRecord {
    /// Its source id.
    pub source_id: String,
    /// The digest the intent recorded.
    pub digest: Option<Digest>,
    /// The record as read from the source (JSON), when the intent kept it.
    pub record: Option<String>,
}

/// A per-kind read position.
#[derive(Debug, Clone, Default)]
pub struct KindCursor {
    /// Where the next page starts; `None` at the beginning.
    pub cursor: Option<String>,
    /// Whether this run has read the kind to the end.
    pub done: bool,
}

/// The SQLite state store of one migration.
pub struct StateStore {
    conn: Connection,
}

fn db(context: &str) -> impl FnOnce(rusqlite::Error) -> EngineError + '_ {
    move |e| EngineError::State(format!("{context}: {e}"))
}

fn kind_text(kind: Kind) -> &'static str {
    kind.as_str()
}

impl StateStore {
    /// Opens (creating if needed) the state store at `path`.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                EngineError::State(format!("cannot create folder {}: {e}", parent.display()))
            })?;
        }
        let conn = Connection::open(path)
            .map_err(db(&format!("cannot open state store {}", path.display())))?;
        Self::init(conn)
    }

    /// A throwaway store in a private temporary file that SQLite deletes when it is
    /// closed: what a dry run uses, so that reading a large account ahead (comments
    /// staged for ticket imports) spills to disk instead of filling memory.
    pub fn scratch() -> Result<Self, EngineError> {
        let conn = Connection::open("").map_err(db("cannot open a scratch state store"))?;
        Self::init(conn)
    }

    /// A throwaway in-memory store (tests).
    pub fn in_memory() -> Result<Self, EngineError> {
        let conn = Connection::open_in_memory().map_err(db("cannot open in-memory state"))?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, EngineError> {
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -32768;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY,
                 mode TEXT NOT NULL,
                 started_at TEXT NOT NULL,
                 finished_at TEXT,
                 status TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS id_map (
                 kind TEXT NOT NULL,
                 source_id TEXT NOT NULL,
                 target_id TEXT,
                 digest TEXT,
                 status TEXT NOT NULL,
                 seen_run INTEGER,
                 origin TEXT,
                 before TEXT,
                 sent TEXT,
                 PRIMARY KEY (kind, source_id)
             ) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS id_map_target ON id_map (kind, target_id);
             CREATE TABLE IF NOT EXISTS cursors (
                 kind TEXT PRIMARY KEY,
                 cursor TEXT,
                 done INTEGER NOT NULL DEFAULT 0
             );
             CREATE TABLE IF NOT EXISTS failures (
                 kind TEXT NOT NULL,
                 source_id TEXT NOT NULL,
                 error_kind TEXT NOT NULL,
                 message TEXT NOT NULL,
                 attempts INTEGER NOT NULL,
                 record TEXT NOT NULL,
                 PRIMARY KEY (kind, source_id)
             );
             CREATE TABLE IF NOT EXISTS attachments (
                 attachment_id TEXT PRIMARY KEY,
                 sha256 TEXT NOT NULL,
                 size INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS deferred (
                 kind TEXT NOT NULL,
                 source_id TEXT NOT NULL,
                 record TEXT NOT NULL,
                 PRIMARY KEY (kind, source_id)
             );
             CREATE TABLE IF NOT EXISTS staged (
                 kind TEXT NOT NULL,
                 source_id TEXT NOT NULL,
                 parent_id TEXT NOT NULL,
                 sort_key TEXT NOT NULL,
                 record TEXT NOT NULL,
                 UNIQUE (kind, source_id)
             );
             CREATE INDEX IF NOT EXISTS staged_parent ON staged (kind, parent_id, sort_key);
             CREATE TABLE IF NOT EXISTS settings (
                 key TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );",
        )
        .map_err(db("cannot create state tables"))?;
        // State files from before origins were recorded: add the columns (their rows
        // keep an unknown origin, which rollback never deletes).
        let has_origin: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('id_map') WHERE name = 'origin'",
                [],
                |r| r.get(0),
            )
            .map_err(db("cannot read the id map's columns"))?;
        if has_origin == 0 {
            conn.execute_batch(
                "ALTER TABLE id_map ADD COLUMN origin TEXT; ALTER TABLE id_map ADD COLUMN before TEXT;",
            )
            .map_err(db("cannot add origins to the id map"))?;
        }
        // State files from before intents kept the record sent: add the column (their
        // pending rows are settled by source marker alone).
        let has_sent: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('id_map') WHERE name = 'sent'",
                [],
                |r| r.get(0),
            )
            .map_err(db("cannot read the id map's columns"))?;
        if has_sent == 0 {
            conn.execute_batch("ALTER TABLE id_map ADD COLUMN sent TEXT;")
                .map_err(db("cannot add sent records to the id map"))?;
        }
        Ok(StateStore { conn })
    }

    /// Records how written records came to be on the target, in one transaction:
    /// created by this migration, or adopted with what they had before (`before`, the
    /// adapter's JSON). Rows not recorded here (found by marker after a crash) keep an
    /// unknown origin.
    pub fn record_origins(
        &mut self,
        kind: Kind,
        origins: &[(String, Origin)],
    ) -> Result<(), EngineError> {
        if origins.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE id_map SET origin = ?3, before = ?4 WHERE kind = ?1 AND source_id = ?2",
                )
                .map_err(db("cannot prepare origin"))?;
            for (source_id, origin) in origins {
                let (name, before) = match origin {
                    Origin::Created => ("created", None),
                    Origin::Adopted(before) => ("adopted", Some(before.to_string())),
                };
                stmt.execute(params![kind_text(kind), source_id, name, before])
                    .map_err(db("cannot record origin"))?;
            }
        }
        tx.commit().map_err(db("cannot commit origins"))
    }

    /// Written records of a kind with their origin, `(source id, target id, origin)`
    /// (`None`: unknown), ordered by source id, in pages after `after`.
    #[allow(clippy::type_complexity)]
    pub fn written_origins_page(
        &self,
        kind: Kind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String, Option<Origin>)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_id, target_id, origin, before FROM id_map WHERE kind = ?1 AND status = 'written' AND source_id > ?2 ORDER BY source_id LIMIT ?3")
            .map_err(db("cannot prepare written"))?;
        let rows = stmt
            .query_map(params![kind_text(kind), after, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(db("cannot list written"))?;
        let mut out = Vec::new();
        for row in rows {
            let (source, target, origin, before) = row.map_err(db("cannot list written"))?;
            let origin = match origin.as_deref() {
                Some("created") => Some(Origin::Created),
                Some("adopted") => Some(Origin::Adopted(
                    before
                        .and_then(|b| serde_json::from_str(&b).ok())
                        .unwrap_or(serde_json::Value::Null),
                )),
                _ => None,
            };
            out.push((source, target, origin));
        }
        Ok(out)
    }

    /// Starts a run and returns its id.
    pub fn begin_run(&self, mode: &str) -> Result<i64, EngineError> {
        self.conn
            .execute(
                "INSERT INTO runs (mode, started_at, status) VALUES (?1, datetime('now'), 'running')",
                params![mode],
            )
            .map_err(db("cannot record run"))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Ends a run with a status (`completed`, `interrupted`, `failed`).
    pub fn end_run(&self, run: i64, status: &str) -> Result<(), EngineError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = datetime('now'), status = ?2 WHERE id = ?1",
                params![run, status],
            )
            .map_err(db("cannot finish run"))?;
        Ok(())
    }

    /// Whether any migrate run has completed (the next one is then a delta run).
    pub fn has_completed_migration(&self) -> Result<bool, EngineError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM runs WHERE mode = 'migrate' AND status = 'completed'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(db("cannot read runs"))
    }

    /// Reads a stored setting (the plan fingerprint, the portable field sets).
    pub fn setting(&self, key: &str) -> Result<Option<String>, EngineError> {
        self.conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db("cannot read setting"))
    }

    /// Stores a setting.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), EngineError> {
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map_err(db("cannot store setting"))?;
        Ok(())
    }

    /// The read position of a kind.
    pub fn cursor(&self, kind: Kind) -> Result<KindCursor, EngineError> {
        self.cursor_named(kind_text(kind))
    }

    /// Saves the read position of a kind.
    pub fn save_cursor(&self, kind: Kind, cursor: &KindCursor) -> Result<(), EngineError> {
        self.save_cursor_named(kind_text(kind), cursor)
    }

    /// The read-ahead position of a kind staged for embedding (see [`StateStore::stage`]).
    pub fn staging_cursor(&self, kind: Kind) -> Result<KindCursor, EngineError> {
        self.cursor_named(&format!("staged:{}", kind_text(kind)))
    }

    /// Saves the read-ahead position of a staged kind.
    pub fn save_staging_cursor(&self, kind: Kind, cursor: &KindCursor) -> Result<(), EngineError> {
        self.save_cursor_named(&format!("staged:{}", kind_text(kind)), cursor)
    }

    fn cursor_named(&self, key: &str) -> Result<KindCursor, EngineError> {
        Ok(self
            .conn
            .query_row(
                "SELECT cursor, done FROM cursors WHERE kind = ?1",
                params![key],
                |r| {
                    Ok(KindCursor {
                        cursor: r.get(0)?,
                        done: r.get::<_, i64>(1)? != 0,
                    })
                },
            )
            .optional()
            .map_err(db("cannot read cursor"))?
            .unwrap_or_default())
    }

    fn save_cursor_named(&self, key: &str, cursor: &KindCursor) -> Result<(), EngineError> {
        self.conn
            .execute(
                "INSERT INTO cursors (kind, cursor, done) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kind) DO UPDATE SET cursor = excluded.cursor, done = excluded.done",
                params![key, cursor.cursor, cursor.done as i64],
            )
            .map_err(db("cannot save cursor"))?;
        Ok(())
    }

    /// Forgets every read position (a new delta run reads from the start).
    pub fn reset_cursors(&self) -> Result<(), EngineError> {
        self.conn
            .execute("DELETE FROM cursors", [])
            .map_err(db("cannot reset cursors"))?;
        Ok(())
    }

    /// The id map rows of some source ids.
    pub fn lookup(
        &self,
        kind: Kind,
        source_ids: &[&str],
    ) -> Result<Vec<(String, MappedRecord, RecordStatus)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT target_id, digest, status FROM id_map WHERE kind = ?1 AND source_id = ?2",
            )
            .map_err(db("cannot prepare lookup"))?;
        let mut out = Vec::with_capacity(source_ids.len());
        for id in source_ids {
            let row = stmt
                .query_row(params![kind_text(kind), id], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()
                .map_err(db("cannot look up id"))?;
            if let Some((target_id, digest, status)) = row {
                let status = match status.as_str() {
                    "pending" => RecordStatus::Pending,
                    "written" => RecordStatus::Written,
                    "deleted_in_source" => RecordStatus::DeletedInSource,
                    _ => RecordStatus::RolledBack,
                };
                out.push((
                    id.to_string(),
                    MappedRecord {
                        source_id: id.to_string(),
                        target_id,
                        digest: digest.and_then(|d| d.parse().ok()),
                    },
                    status,
                ));
            }
        }
        Ok(out)
    }

    /// The target id of a written record.
    pub fn target_id(&self, kind: Kind, source_id: &str) -> Result<Option<String>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT target_id FROM id_map WHERE kind = ?1 AND source_id = ?2 AND status = 'written'")
            .map_err(db("cannot prepare lookup"))?;
        stmt.query_row(params![kind_text(kind), source_id], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()
        .map(Option::flatten)
        .map_err(db("cannot look up target id"))
    }

    /// The source id of a target id this migration wrote.
    pub fn source_id_of(&self, kind: Kind, target_id: &str) -> Result<Option<String>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_id FROM id_map INDEXED BY id_map_target WHERE kind = ?1 AND target_id = ?2 AND status = 'written'")
            .map_err(db("cannot prepare reverse lookup"))?;
        stmt.query_row(params![kind_text(kind), target_id], |r| r.get(0))
            .optional()
            .map_err(db("cannot look up source id"))
    }

    /// Records write intents for a batch, in one transaction, before it is sent.
    pub fn mark_pending(
        &mut self,
        kind: Kind,
        records: &[(&str, Digest)],
    ) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO id_map (kind, source_id, digest, status) VALUES (?1, ?2, ?3, 'pending')
                     ON CONFLICT(kind, source_id) DO UPDATE SET status = CASE WHEN status = 'written' THEN 'written' ELSE 'pending' END,
                         origin = CASE WHEN status = 'written' THEN origin ELSE NULL END,
                         before = CASE WHEN status = 'written' THEN before ELSE NULL END",
                )
                .map_err(db("cannot prepare intent"))?;
            for (id, digest) in records {
                stmt.execute(params![kind_text(kind), id, digest.to_hex()])
                    .map_err(db("cannot record intent"))?;
            }
        }
        tx.commit().map_err(db("cannot commit intents"))
    }

    /// Records write intents like [`StateStore::mark_pending`], each with the record
    /// as read from the source (JSON), so that a later run can look for it where it
    /// would be on the target and digest its attachments, instead of scanning the
    /// target for its marker.
    pub fn mark_pending_records(
        &mut self,
        kind: Kind,
        records: &[(&str, Digest, String)],
    ) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO id_map (kind, source_id, digest, status, sent) VALUES (?1, ?2, ?3, 'pending', ?4)
                     ON CONFLICT(kind, source_id) DO UPDATE SET status = CASE WHEN status = 'written' THEN 'written' ELSE 'pending' END,
                         origin = CASE WHEN status = 'written' THEN origin ELSE NULL END,
                         before = CASE WHEN status = 'written' THEN before ELSE NULL END,
                         sent = CASE WHEN status = 'written' THEN NULL ELSE excluded.sent END",
                )
                .map_err(db("cannot prepare intent"))?;
            for (id, digest, json) in records {
                stmt.execute(params![kind_text(kind), id, digest.to_hex(), json])
                    .map_err(db("cannot record intent"))?;
            }
        }
        tx.commit().map_err(db("cannot commit intents"))
    }

    /// Pending rows of a kind with the record each intent sent, `(source id, digest,
    /// record JSON)`; the JSON is `None` for intents recorded without it.
    pub fn pending_records(&self, kind: Kind) -> Result<Vec<PendingRecord>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source_id, digest, sent FROM id_map WHERE kind = ?1 AND status = 'pending'",
            )
            .map_err(db("cannot prepare pending"))?;
        let rows = stmt
            .query_map(params![kind_text(kind)], |r| {
                Ok(PendingRecord {
                    source_id: r.get::<_, String>(0)?,
                    digest: r.get::<_, Option<String>>(1)?.and_then(|d| d.parse().ok()),
                    record: r.get::<_, Option<String>>(2)?,
                })
            })
            .map_err(db("cannot list pending"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("cannot list pending"))
    }

    /// Records written records (source id, target id, digest) and clears their failures.
    pub fn mark_written(
        &mut self,
        kind: Kind,
        run: i64,
        written: &[(String, String, Digest)],
    ) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO id_map (kind, source_id, target_id, digest, status, seen_run) VALUES (?1, ?2, ?3, ?4, 'written', ?5)
                     ON CONFLICT(kind, source_id) DO UPDATE SET target_id = excluded.target_id, digest = excluded.digest, status = 'written', seen_run = excluded.seen_run, sent = NULL",
                )
                .map_err(db("cannot prepare write record"))?;
            let mut clear = tx
                .prepare_cached("DELETE FROM failures WHERE kind = ?1 AND source_id = ?2")
                .map_err(db("cannot prepare failure clear"))?;
            for (source, target, digest) in written {
                stmt.execute(params![
                    kind_text(kind),
                    source,
                    target,
                    digest.to_hex(),
                    run
                ])
                .map_err(db("cannot record write"))?;
                clear
                    .execute(params![kind_text(kind), source])
                    .map_err(db("cannot clear failure"))?;
            }
        }
        tx.commit().map_err(db("cannot commit writes"))
    }

    /// Marks records as seen by this run without writing them (unchanged in a delta run).
    pub fn mark_seen(
        &mut self,
        kind: Kind,
        run: i64,
        source_ids: &[&str],
    ) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE id_map SET seen_run = ?3 WHERE kind = ?1 AND source_id = ?2",
                )
                .map_err(db("cannot prepare seen"))?;
            for id in source_ids {
                stmt.execute(params![kind_text(kind), id, run])
                    .map_err(db("cannot mark seen"))?;
            }
        }
        tx.commit().map_err(db("cannot commit seen"))
    }

    /// Sets a record's status (after deletes), keeping its target id for the record.
    pub fn set_status(
        &mut self,
        kind: Kind,
        source_ids: &[String],
        status: RecordStatus,
    ) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE id_map SET status = ?3 WHERE kind = ?1 AND source_id = ?2")
                .map_err(db("cannot prepare status"))?;
            for id in source_ids {
                stmt.execute(params![kind_text(kind), id, status.as_str()])
                    .map_err(db("cannot set status"))?;
            }
        }
        tx.commit().map_err(db("cannot commit status"))
    }

    /// Pending rows of a kind, `(source id, digest)`: writes whose outcome is unknown.
    pub fn pending(&self, kind: Kind) -> Result<Vec<(String, Option<Digest>)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source_id, digest FROM id_map WHERE kind = ?1 AND status = 'pending'",
            )
            .map_err(db("cannot prepare pending"))?;
        let rows = stmt
            .query_map(params![kind_text(kind)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?.and_then(|d| d.parse().ok()),
                ))
            })
            .map_err(db("cannot list pending"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("cannot list pending"))
    }

    /// Forgets pending rows the target does not have (they will be sent again).
    pub fn drop_pending(&mut self, kind: Kind, source_ids: &[String]) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "DELETE FROM id_map WHERE kind = ?1 AND source_id = ?2 AND status = 'pending'",
                )
                .map_err(db("cannot prepare drop"))?;
            for id in source_ids {
                stmt.execute(params![kind_text(kind), id])
                    .map_err(db("cannot drop pending"))?;
            }
        }
        tx.commit().map_err(db("cannot commit drop"))
    }

    /// Written records of a kind not seen by `run`: deleted in the source since.
    pub fn unseen(&self, kind: Kind, run: i64) -> Result<Vec<(String, String)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare("SELECT source_id, target_id FROM id_map WHERE kind = ?1 AND status = 'written' AND (seen_run IS NULL OR seen_run <> ?2) AND target_id IS NOT NULL")
            .map_err(db("cannot prepare unseen"))?;
        let rows = stmt
            .query_map(params![kind_text(kind), run], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db("cannot list unseen"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("cannot list unseen"))
    }

    /// Written records of a kind, `(source id, target id, digest)`, ordered by source id,
    /// in pages after `after`.
    pub fn written_page(
        &self,
        kind: Kind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String, Option<Digest>)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_id, target_id, digest FROM id_map WHERE kind = ?1 AND status = 'written' AND source_id > ?2 ORDER BY source_id LIMIT ?3")
            .map_err(db("cannot prepare written"))?;
        let rows = stmt
            .query_map(params![kind_text(kind), after, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(db("cannot list written"))?;
        rows.map(|r| r.map(|(s, t, d)| (s, t, d.and_then(|d| d.parse().ok()))))
            .collect::<Result<_, _>>()
            .map_err(db("cannot list written"))
    }

    /// Counts of id map rows per status for a kind.
    pub fn count(&self, kind: Kind, status: RecordStatus) -> Result<u64, EngineError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM id_map WHERE kind = ?1 AND status = ?2",
                params![kind_text(kind), status.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(db("cannot count"))
    }

    /// Records a failure with the record itself, so `retry-failed` needs no source read.
    pub fn record_failure(
        &mut self,
        failure: &Failure,
        record_json: &str,
    ) -> Result<(), EngineError> {
        self.conn
            .execute(
                "INSERT INTO failures (kind, source_id, error_kind, message, attempts, record) VALUES (?1, ?2, ?3, ?4, 1, ?5)
                 ON CONFLICT(kind, source_id) DO UPDATE SET error_kind = excluded.error_kind, message = excluded.message,
                 attempts = failures.attempts + 1, record = excluded.record",
                params![kind_text(failure.kind), failure.source_id, failure.error_kind, failure.message, record_json],
            )
            .map_err(db("cannot record failure"))?;
        Ok(())
    }

    /// Every recorded failure.
    pub fn failures(&self) -> Result<Vec<Failure>, EngineError> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, source_id, error_kind, message, attempts FROM failures ORDER BY kind, source_id")
            .map_err(db("cannot prepare failures"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(db("cannot list failures"))?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, source_id, error_kind, message, attempts) =
                row.map_err(db("cannot read failure"))?;
            let kind: Kind = kind
                .parse()
                .map_err(|e| EngineError::State(format!("{e}")))?;
            out.push(Failure {
                kind,
                source_id,
                error_kind,
                message,
                attempts: attempts as u32,
            });
        }
        Ok(out)
    }

    /// The stored records of failures of a kind, `(source id, record JSON)`.
    pub fn failed_records(&self, kind: Kind) -> Result<Vec<(String, String)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare("SELECT source_id, record FROM failures WHERE kind = ?1 ORDER BY source_id")
            .map_err(db("cannot prepare failed records"))?;
        let rows = stmt
            .query_map(params![kind_text(kind)], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("cannot list failed records"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("cannot list failed records"))
    }

    /// Remembers, in one transaction, the SHA-256 and size of attachment bytes as
    /// downloaded from the source.
    pub fn record_attachments(
        &mut self,
        hashes: &[(String, Digest, u64)],
    ) -> Result<(), EngineError> {
        if hashes.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO attachments (attachment_id, sha256, size) VALUES (?1, ?2, ?3)
                     ON CONFLICT(attachment_id) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size",
                )
                .map_err(db("cannot prepare attachment hash"))?;
            for (id, sha256, size) in hashes {
                stmt.execute(params![id, sha256.to_hex(), *size as i64])
                    .map_err(db("cannot record attachment hash"))?;
            }
        }
        tx.commit().map_err(db("cannot commit attachment hashes"))
    }

    /// The SHA-256 and size of attachment bytes as downloaded from the source.
    pub fn attachment(&self, attachment_id: &str) -> Result<Option<(Digest, u64)>, EngineError> {
        self.conn
            .query_row(
                "SELECT sha256, size FROM attachments WHERE attachment_id = ?1",
                params![attachment_id],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()
            .map_err(db("cannot read attachment hash"))
            .map(|row| row.and_then(|(d, s)| d.parse().ok().map(|d| (d, s as u64))))
    }

    /// A scratch copy of this state store, for a dry run that previews the next run
    /// (a delta after a completed migration, the rest after an interrupted one) without
    /// changing the real one.
    pub fn scratch_copy(&self) -> Result<StateStore, EngineError> {
        let path: String = self
            .conn
            .query_row(
                "SELECT file FROM pragma_database_list WHERE name = 'main'",
                [],
                |r| r.get(0),
            )
            .map_err(db("cannot find the state file"))?;
        let copy = StateStore::scratch()?;
        if path.is_empty() {
            return Ok(copy);
        }
        copy.conn
            .execute("ATTACH DATABASE ?1 AS src", params![path])
            .map_err(db("cannot open the state file for a copy"))?;
        for table in [
            "runs",
            "id_map",
            "cursors",
            "failures",
            "attachments",
            "deferred",
            "staged",
            "settings",
        ] {
            copy.conn
                .execute_batch(&format!(
                    "INSERT INTO main.{table} SELECT * FROM src.{table};"
                ))
                .map_err(db("cannot copy the state store"))?;
        }
        copy.conn
            .execute_batch("DETACH DATABASE src;")
            .map_err(db("cannot close the state file"))?;
        Ok(copy)
    }

    /// Whether any run (a migration, finished or not, or a retry) has begun on this
    /// state store: before one, there is nothing to verify or roll back.
    pub fn has_any_run(&self) -> Result<bool, EngineError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM runs WHERE mode <> 'dry-run'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .map_err(db("cannot read runs"))
    }

    /// Starts a verification pass: forgets what an earlier pass read from either side.
    pub fn begin_verify(&self) -> Result<(), EngineError> {
        self.conn
            .execute_batch(
                "DROP TABLE IF EXISTS verify_seen;
                 DROP TABLE IF EXISTS verify_source;
                 CREATE TABLE verify_seen (
                     kind TEXT NOT NULL, source_id TEXT NOT NULL, digest TEXT NOT NULL,
                     fields TEXT NOT NULL,
                     PRIMARY KEY (kind, source_id)
                 ) WITHOUT ROWID;
                 CREATE TABLE verify_source (
                     kind TEXT NOT NULL, source_id TEXT NOT NULL, digest TEXT NOT NULL,
                     fields TEXT NOT NULL,
                     PRIMARY KEY (kind, source_id)
                 ) WITHOUT ROWID;",
            )
            .map_err(db("cannot prepare verification"))
    }

    /// Records the digest of a record as read from the source; false if read before.
    pub fn verify_source_record(
        &self,
        kind: Kind,
        source_id: &str,
        digest: &Digest,
        fields: &str,
    ) -> Result<bool, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO verify_source (kind, source_id, digest, fields) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db("cannot prepare verify source record"))?;
        stmt.execute(params![kind_text(kind), source_id, digest.to_hex(), fields])
            .map(|n| n == 1)
            .map_err(db("cannot record source digest"))
    }

    /// Records the digest of a record read back from the target; false if seen before.
    pub fn verify_seen(
        &self,
        kind: Kind,
        source_id: &str,
        digest: &Digest,
        fields: &str,
    ) -> Result<bool, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO verify_seen (kind, source_id, digest, fields) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(db("cannot prepare verify record"))?;
        stmt.execute(params![kind_text(kind), source_id, digest.to_hex(), fields])
            .map(|n| n == 1)
            .map_err(db("cannot record verified digest"))
    }

    /// Read-back digests of a kind ordered by source id, in pages after `after`.
    pub fn verified_page(
        &self,
        kind: Kind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Digest)>, EngineError> {
        self.verify_page("verify_seen", kind, after, limit)
    }

    /// Source digests of a kind as the verification read them, ordered by source id, in
    /// pages after `after`.
    pub fn verify_source_page(
        &self,
        kind: Kind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Digest)>, EngineError> {
        self.verify_page("verify_source", kind, after, limit)
    }

    fn verify_page(
        &self,
        table: &str,
        kind: Kind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, Digest)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT source_id, digest FROM {table} WHERE kind = ?1 AND source_id > ?2 ORDER BY source_id LIMIT ?3"))
            .map_err(db("cannot prepare verified page"))?;
        let rows = stmt
            .query_map(params![kind_text(kind), after, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db("cannot list verified"))?;
        rows.map(|r| r.map(|(s, d)| (s, d.parse().unwrap_or_default())))
            .collect::<Result<_, _>>()
            .map_err(db("cannot list verified"))
    }

    /// Every record of a kind the verification read from the source and found on the
    /// target: `(source id, source digest, source field digests, target digest, target
    /// field digests)`, in source id order.
    pub fn verify_pairs(
        &self,
        kind: Kind,
        mut each: impl FnMut(String, String, String, String, String),
    ) -> Result<(), EngineError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.source_id, s.digest, s.fields, t.digest, t.fields FROM verify_source s
                 JOIN verify_seen t ON t.kind = s.kind AND t.source_id = s.source_id
                 WHERE s.kind = ?1 ORDER BY s.source_id",
            )
            .map_err(db("cannot prepare verify pairs"))?;
        let mut rows = stmt
            .query(params![kind_text(kind)])
            .map_err(db("cannot list verify pairs"))?;
        while let Some(r) = rows.next().map_err(db("cannot read verify pair"))? {
            let get = |i: usize| r.get::<_, String>(i).map_err(db("cannot read verify pair"));
            each(get(0)?, get(1)?, get(2)?, get(3)?, get(4)?);
        }
        Ok(())
    }

    /// Records of a kind the verification read from the source but not on the target,
    /// with what the id map and the failures say of them: `(source id, id map status,
    /// failure kind, failure message)`, in source id order.
    #[allow(clippy::type_complexity)]
    pub fn verify_missing(
        &self,
        kind: Kind,
        mut each: impl FnMut(String, Option<String>, Option<String>, Option<String>),
    ) -> Result<(), EngineError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.source_id, m.status, f.error_kind, f.message FROM verify_source s
                 LEFT JOIN id_map m ON m.kind = s.kind AND m.source_id = s.source_id
                 LEFT JOIN failures f ON f.kind = s.kind AND f.source_id = s.source_id
                 WHERE s.kind = ?1
                 AND NOT EXISTS (SELECT 1 FROM verify_seen t WHERE t.kind = s.kind AND t.source_id = s.source_id)
                 ORDER BY s.source_id",
            )
            .map_err(db("cannot prepare missing"))?;
        let mut rows = stmt
            .query(params![kind_text(kind)])
            .map_err(db("cannot list missing"))?;
        while let Some(r) = rows.next().map_err(db("cannot read missing"))? {
            let id: String = r.get(0).map_err(db("cannot read missing"))?;
            let opt = |i: usize| {
                r.get::<_, Option<String>>(i)
                    .map_err(db("cannot read missing"))
            };
            each(id, opt(1)?, opt(2)?, opt(3)?);
        }
        Ok(())
    }

    /// Records of a kind on the target that carry a source id the verification did not
    /// read from the source: `(source id, id map status)`, in source id order.
    pub fn verify_extra(
        &self,
        kind: Kind,
        mut each: impl FnMut(String, Option<String>),
    ) -> Result<(), EngineError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT t.source_id, m.status FROM verify_seen t
                 LEFT JOIN id_map m ON m.kind = t.kind AND m.source_id = t.source_id
                 WHERE t.kind = ?1
                 AND NOT EXISTS (SELECT 1 FROM verify_source s WHERE s.kind = t.kind AND s.source_id = t.source_id)
                 ORDER BY t.source_id",
            )
            .map_err(db("cannot prepare extra"))?;
        let mut rows = stmt
            .query(params![kind_text(kind)])
            .map_err(db("cannot list extra"))?;
        while let Some(r) = rows.next().map_err(db("cannot read extra"))? {
            let id: String = r.get(0).map_err(db("cannot read extra"))?;
            let status: Option<String> = r.get(1).map_err(db("cannot read extra"))?;
            each(id, status);
        }
        Ok(())
    }

    /// Remembers a record written without its references to records of its own kind
    /// that were not on the target yet (a ticket linking forward), to write it again
    /// once they are.
    pub fn defer(&self, kind: Kind, source_id: &str, record_json: &str) -> Result<(), EngineError> {
        self.conn
            .execute(
                "INSERT INTO deferred (kind, source_id, record) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kind, source_id) DO UPDATE SET record = excluded.record",
                params![kind_text(kind), source_id, record_json],
            )
            .map_err(db("cannot record deferred references"))?;
        Ok(())
    }

    /// Records of a kind waiting for their same-kind references, `(source id, record JSON)`.
    pub fn deferred(&self, kind: Kind) -> Result<Vec<(String, String)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare("SELECT source_id, record FROM deferred WHERE kind = ?1 ORDER BY source_id")
            .map_err(db("cannot prepare deferred"))?;
        let rows = stmt
            .query_map(params![kind_text(kind)], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db("cannot list deferred"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("cannot list deferred"))
    }

    /// Forgets a deferred record (its references are now complete).
    pub fn undefer(&self, kind: Kind, source_id: &str) -> Result<(), EngineError> {
        self.conn
            .execute(
                "DELETE FROM deferred WHERE kind = ?1 AND source_id = ?2",
                params![kind_text(kind), source_id],
            )
            .map_err(db("cannot clear deferred"))?;
        Ok(())
    }

    /// Keeps records read ahead for embedding (the comments a ticket import carries),
    /// `(parent id, source id, sort key, record JSON)`, and their read position, in one
    /// transaction. Staging a record again replaces it.
    pub fn stage(
        &mut self,
        kind: Kind,
        records: &[(String, String, String, String)],
        cursor: &KindCursor,
    ) -> Result<(), EngineError> {
        let tx = self.conn.transaction().map_err(db("cannot begin"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO staged (kind, parent_id, source_id, sort_key, record) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(kind, source_id) DO UPDATE SET parent_id = excluded.parent_id, sort_key = excluded.sort_key, record = excluded.record",
                )
                .map_err(db("cannot prepare staging"))?;
            for (parent, id, sort_key, json) in records {
                stmt.execute(params![kind_text(kind), parent, id, sort_key, json])
                    .map_err(db("cannot stage record"))?;
            }
            tx.execute(
                "INSERT INTO cursors (kind, cursor, done) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kind) DO UPDATE SET cursor = excluded.cursor, done = excluded.done",
                params![
                    format!("staged:{}", kind_text(kind)),
                    cursor.cursor,
                    cursor.done as i64
                ],
            )
            .map_err(db("cannot save staging cursor"))?;
        }
        tx.commit().map_err(db("cannot commit staged records"))
    }

    /// Forgets every staged record of a kind (a new run reads them afresh).
    pub fn clear_staged(&self, kind: Kind) -> Result<(), EngineError> {
        self.conn
            .execute(
                "DELETE FROM staged WHERE kind = ?1",
                params![kind_text(kind)],
            )
            .map_err(db("cannot clear staged records"))?;
        Ok(())
    }

    /// Staged records of a kind belonging to some parents, `(parent id, source id,
    /// record JSON)`, each parent's in order (by sort key, then as read).
    pub fn staged_children(
        &self,
        kind: Kind,
        parent_ids: &[&str],
    ) -> Result<Vec<(String, String, String)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT parent_id, source_id, record FROM staged WHERE kind = ?1 AND parent_id = ?2 ORDER BY sort_key, rowid",
            )
            .map_err(db("cannot prepare staged children"))?;
        let mut out = Vec::new();
        for parent in parent_ids {
            let rows = stmt
                .query_map(params![kind_text(kind), parent], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(db("cannot read staged children"))?;
            for row in rows {
                out.push(row.map_err(db("cannot read staged children"))?);
            }
        }
        Ok(out)
    }

    /// The parent id of some staged records, `source id -> parent id`.
    pub fn staged_parents(
        &self,
        kind: Kind,
        source_ids: &[String],
    ) -> Result<HashMap<String, String>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT parent_id FROM staged WHERE kind = ?1 AND source_id = ?2")
            .map_err(db("cannot prepare staged parent"))?;
        let mut out = HashMap::new();
        for id in source_ids {
            let parent: Option<String> = stmt
                .query_row(params![kind_text(kind), id], |r| r.get(0))
                .optional()
                .map_err(db("cannot read staged parent"))?;
            if let Some(parent) = parent {
                out.insert(id.clone(), parent);
            }
        }
        Ok(out)
    }

    /// A page of staged records of a kind after `after` (by source id), `(source id,
    /// record JSON)`: what the kind's own pass reads instead of the source.
    pub fn staged_page(
        &self,
        kind: Kind,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT source_id, record FROM staged WHERE kind = ?1 AND source_id > ?2 ORDER BY source_id LIMIT ?3",
            )
            .map_err(db("cannot prepare staged page"))?;
        let rows = stmt
            .query_map(params![kind_text(kind), after, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .map_err(db("cannot read staged page"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db("cannot read staged page"))
    }

    /// Groups the statements that follow into one transaction (one commit per page of a
    /// verification instead of one per record).
    pub fn begin_batch(&self) -> Result<(), EngineError> {
        self.conn.execute_batch("BEGIN").map_err(db("cannot begin"))
    }

    /// Commits what [`StateStore::begin_batch`] started.
    pub fn commit_batch(&self) -> Result<(), EngineError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(db("cannot commit"))
    }
}
