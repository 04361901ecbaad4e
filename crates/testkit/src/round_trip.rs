//! The round trip every adapter proves: the conformance dataset goes archive → platform →
//! archive through the engine, and both legs verify equal on the fields the platform
//! declares portable, with what it cannot keep listed as lossy.

use std::path::{Path, PathBuf};

use switchover_adapter::{ContentSource, Source, Target};
use switchover_archive::Archive;
use switchover_engine::state::StateStore;
use switchover_engine::{Cancel, Options, RunSummary, Silent, VerifyReport, migrate, verify};
use switchover_model::Kind;

use crate::Dataset;

/// What a round trip did, for an adapter's own assertions on top of the shared ones.
pub struct RoundTripRun {
    /// The run archive → platform.
    pub there: RunSummary,
    /// Its verification (every kind).
    pub verified_there: VerifyReport,
    /// The run platform → archive (the whole account: what was migrated and what it had).
    pub back: RunSummary,
    /// Its verification.
    pub verified_back: VerifyReport,
    /// `kind: field (how)` for every lossy field the first leg's report lists.
    pub lossy: Vec<String>,
    /// The working folder (state stores, archives); deleted when this is dropped.
    pub dir: tempfile::TempDir,
}

impl RoundTripRun {
    /// The lossy fields of `kind` the first leg declared.
    pub fn lossy_fields(&self, kind: Kind) -> Vec<&str> {
        self.verified_there
            .kinds
            .get(&kind)
            .map(|v| v.lossy.iter().map(|l| l.field.as_str()).collect())
            .unwrap_or_default()
    }
}

/// Writes `dataset` into a new archive at `path` (kind by kind, attachments from the
/// dataset itself) and returns how many records it wrote.
pub fn seed_archive(path: &Path, dataset: &Dataset) -> u64 {
    let archive = Archive::open_target(path).expect("open the seed archive");
    dataset.seed(&archive, dataset).expect("seed the archive")
}

/// Writes `dataset` into `target` with `content` for attachment bytes, as a live account
/// would hold it before a migration.
pub fn seed_target(target: &dyn Target, dataset: &Dataset, content: &dyn ContentSource) -> u64 {
    dataset.seed(target, content).expect("seed the target")
}

/// The conformance dataset archive → `target` → archive through the engine: panics with
/// the failures or differences unless both legs migrate without a failure and verify
/// ALL MATCHED. `source` reads the same platform as `target` (a second connection, so
/// nothing cached on the write side helps the read).
pub fn archive_round_trip(
    target: &dyn Target,
    source: &dyn Source,
    options: &Options,
) -> RoundTripRun {
    archive_round_trip_of(&Dataset::conformance(), target, source, options)
}

/// [`archive_round_trip`] of another dataset (the conformance dataset without what the
/// platform has no place for, [`Dataset::without`]).
pub fn archive_round_trip_of(
    dataset: &Dataset,
    target: &dyn Target,
    source: &dyn Source,
    options: &Options,
) -> RoundTripRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| -> PathBuf { dir.path().join(name) };
    seed_archive(&path("old"), dataset);

    let archive = Archive::open_source(&path("old")).expect("open the seeded archive");
    let mut state = StateStore::open(&path("there.sqlite")).expect("state store");
    let there = migrate(
        &archive,
        target,
        &mut state,
        options,
        &Silent,
        &Cancel::new(),
    )
    .expect("archive -> platform");
    assert!(
        there.failures.is_empty(),
        "archive -> platform failed records: {:#?}",
        there.failures
    );
    let verified_there =
        verify(&archive, target, &mut state, &Kind::ALL, &Silent).expect("verify leg 1");
    assert!(
        verified_there.all_matched(),
        "archive -> platform differs: {verified_there:#?}"
    );
    let mut lossy = Vec::new();
    for (kind, v) in &verified_there.kinds {
        for l in &v.lossy {
            lossy.push(format!("{kind}: {} ({})", l.field, l.how));
        }
    }
    eprintln!("lossy fields:\n  {}", lossy.join("\n  "));

    let back_archive = Archive::open_target(&path("back")).expect("open the return archive");
    let mut state2 = StateStore::open(&path("back.sqlite")).expect("state store");
    let back = migrate(
        source,
        &back_archive,
        &mut state2,
        options,
        &Silent,
        &Cancel::new(),
    )
    .expect("platform -> archive");
    assert!(
        back.failures.is_empty(),
        "platform -> archive failed records: {:#?}",
        back.failures
    );
    let verified_back =
        verify(source, &back_archive, &mut state2, &Kind::ALL, &Silent).expect("verify leg 2");
    assert!(
        verified_back.all_matched(),
        "platform -> archive differs: {verified_back:#?}"
    );
    Target::finish(&back_archive).expect("seal the return archive");
    RoundTripRun {
        there,
        verified_there,
        back,
        verified_back,
        lossy,
        dir,
    }
}
