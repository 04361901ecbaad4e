//! The archive adapter against the shared conformance suite, plus the crash-safety
//! behaviour only a local folder can show.

use switchover_adapter::{ContentSource, PageRequest, Settings, Source, Target, WriteRequest};
use switchover_model::{Entity, Kind, Organization};
use switchover_testkit::{Conformance, Dataset, Outcome};

fn settings(dir: &std::path::Path) -> Settings {
    Settings::new("archive", Default::default()).with("path", dir.display().to_string())
}

#[test]
fn archive_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    Conformance::new(
        switchover_archive::register(),
        settings(&dir.path().join("archive")),
    )
    .no_credentials("a local folder takes no credentials")
    .run();
}

/// A writer killed while appending leaves bytes past the committed length: readers must
/// not see them and the next writer must cut them off.
#[test]
fn interrupted_append_is_invisible_and_cut_off_on_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("archive");
    let dataset = Dataset::conformance();
    let org = |id: &str| WriteRequest {
        record: Organization {
            id: id.into(),
            name: format!("Org {id}"),
            ..Default::default()
        }
        .into_record(),
        existing: None,
        children: Vec::new(),
    };
    {
        let target = switchover_archive::Archive::open_target(&path).expect("open target");
        let outcomes = target
            .write_batch(
                Kind::Organization,
                &[org("1"), org("2")],
                &dataset as &dyn ContentSource,
            )
            .expect("write");
        assert_eq!(outcomes.len(), 2);
    }
    // Simulate a process killed halfway through appending a line.
    let file = path.join("organizations.jsonl");
    let mut bytes = std::fs::read(&file).expect("read kind file");
    bytes.extend_from_slice(b"{\"id\":\"3\",\"name\":\"half-writ");
    std::fs::write(&file, &bytes).expect("append garbage");

    let source = switchover_archive::Archive::open_source(&path).expect("open source");
    let page = source
        .read_page(Kind::Organization, &PageRequest::default())
        .expect("uncommitted tail must not break reading");
    assert_eq!(page.records.len(), 2);

    let target = switchover_archive::Archive::open_target(&path).expect("reopen target");
    target
        .write_batch(
            Kind::Organization,
            &[org("3")],
            &dataset as &dyn ContentSource,
        )
        .expect("write after reopen");
    let ids: Vec<String> = source
        .read_page(Kind::Organization, &PageRequest::default())
        .expect("read")
        .records
        .iter()
        .map(|r| r.id().to_string())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
}

/// Two writers on one archive would interleave appends; the second must be refused.
#[test]
fn second_writer_is_refused_while_the_first_holds_the_archive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("archive");
    let _first = switchover_archive::Archive::open_target(&path).expect("first writer");
    let second = switchover_archive::Archive::open_target(&path);
    let message = second.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("being written by another process"),
        "{message}"
    );
}

/// A folder holding something else must never be turned into an archive.
#[test]
fn non_empty_foreign_folder_is_refused_as_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("thesis.docx"), b"precious").expect("write");
    let message = switchover_archive::Archive::open_target(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(message.contains("refusing to write"), "{message}");
}

/// Sealing records per-kind roots and a manifest digest that change when content does.
#[test]
fn sealing_records_digest_roots_that_follow_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("archive");
    let report = Conformance::new(switchover_archive::register(), settings(&path))
        .no_credentials("none")
        .report();
    assert_eq!(
        report
            .outcome("writes_the_dataset")
            .map(|o| matches!(o, Outcome::Pass(_))),
        Some(true)
    );
    let archive = switchover_archive::Archive::open_source(&path).expect("open");
    let manifest = archive.manifest().expect("manifest");
    // The suite deleted everything after sealing, so the roots are stale and say so.
    assert!(!manifest.sealed);
    let target = switchover_archive::Archive::open_target(&path).expect("target");
    target.finish().expect("seal");
    let sealed = archive.manifest().expect("manifest");
    assert!(sealed.sealed);
    let empty_digest = sealed.manifest_digest;
    target
        .write_batch(
            Kind::Organization,
            &[WriteRequest {
                record: Organization {
                    id: "o".into(),
                    name: "Changed".into(),
                    ..Default::default()
                }
                .into_record(),
                existing: None,
                children: Vec::new(),
            }],
            &Dataset::conformance() as &dyn ContentSource,
        )
        .expect("write");
    target.finish().expect("seal");
    let changed = archive.manifest().expect("manifest");
    assert_ne!(changed.manifest_digest, empty_digest);
    assert!(changed.roots.contains_key("organizations"));
}
