//! Offline check-out and check-in, scripted as the issue asks: disjoint edits merge, the same
//! field changed on both sides becomes a conflict a commander resolves, an offline edit against a
//! close made meanwhile is a conflict (never a silent overwrite), both sides add cases; notes
//! written offline arrive; a file is checked in once; everything in one transaction.

mod support;

use geo::{Geometry, Point};
use jingwei_cases::{CaseStore, Status};
use jingwei_store::{NewSharedCase, SharedFilter, StoreError};
use support::*;

const PHOTO: &[u8] = b"\xff\xd8\xff\xe0 a photo taken in the field \xff\xd9";

fn case(title: &str, x: f64) -> NewSharedCase {
    NewSharedCase {
        title: title.into(),
        priority: 40.0,
        geometry: Some(Geometry::Point(Point::new(x, 31.23))),
        ..Default::default()
    }
}

#[test]
fn field_work_offline_merges_conflicts_and_adds_without_losing_anything() {
    let db = fresh_store("offline");
    let mut cmd = open(&db, "cmd_east");
    let mut insp = open(&db, "insp_east");
    let a = cmd.flag_case(&case("甲 disjoint", 121.50)).unwrap();
    let b = cmd.flag_case(&case("乙 same field", 121.51)).unwrap();
    let c = cmd.flag_case(&case("丙 edit vs close", 121.52)).unwrap();
    let c = cmd.set_status(c.id, c.version, Status::Confirmed, None).unwrap();
    let far = cmd.flag_case(&case("丁 outside the area", 121.90)).unwrap();
    cmd.add_note(a.id, "出发前的记录").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("field.gpkg");
    let out = insp.check_out(Some([121.45, 31.2, 121.6, 31.3]), &file).unwrap();
    assert_eq!((out.cases, out.notes), (3, 1), "only the area's cases, with their notes");

    // Offline, with the single-user store and its usual operations.
    {
        let mut f = CaseStore::open(&file).unwrap();
        let find = |f: &CaseStore, no: &str| {
            f.list(&Default::default())
                .unwrap()
                .into_iter()
                .find(|x| x.case_no == no)
                .unwrap()
                .id
                .to_string()
        };
        let (la, lb, lc) = (find(&f, &a.case_no), find(&f, &b.case_no), find(&f, &c.case_no));
        f.assign(&la, Some("insp_east"), "insp_east").unwrap(); // disjoint with the store's status change
        f.add_note(&la, "现场已拍照", "insp_east").unwrap();
        f.assign(&lb, Some("insp_east"), "insp_east").unwrap(); // the store assigns someone else
        f.set_status(&lc, Status::Rectifying, Some("责令整改"), "insp_east").unwrap(); // the store closes it
        let new = f
            .flag(
                &Geometry::Point(Point::new(121.53, 31.23)),
                None,
                "戊 found in the field",
                Some("新发现"),
                "insp_east",
            )
            .unwrap();
        f.set_status(&new.id.to_string(), Status::Confirmed, None, "insp_east").unwrap();
        f.attach_bytes(&new.id.to_string(), "现场.jpg", PHOTO, "insp_east").unwrap();
        f.attach_bytes(&la, "整改前.png", b"\x89PNG offline", "insp_east").unwrap();
    }
    // Meanwhile, in the store.
    let a2 = cmd.set_status(a.id, a.version, Status::Confirmed, None).unwrap();
    cmd.assign(b.id, b.version, Some("cmd_east")).unwrap();
    cmd.set_status(c.id, c.version, Status::Closed, Some("当场拆除")).unwrap();
    cmd.flag_case(&case("己 added in the store", 121.54)).unwrap();

    // Someone else's file is refused; then the inspector checks in.
    assert!(
        open(&db, "cmd_east")
            .check_in(&file)
            .unwrap_err()
            .to_string()
            .contains("checked out by insp_east")
    );
    // Photos were taken offline: without the data key nothing is checked in, not even the rest.
    let e = insp.check_in(&file).unwrap_err().to_string();
    assert!(e.contains("2 attachment(s)") && e.contains("data key"), "{e}");
    assert_eq!(cmd.cases(&SharedFilter::default()).unwrap().len(), 5, "nothing added yet");
    let key = jingwei_cases::seal::DataKey::generate();
    let mut insp = open(&db, "insp_east").with_key(key.clone());
    let r = insp.check_in(&file).unwrap();
    assert_eq!((r.updated, r.merged, r.added, r.attachments), (1, 1, 1, 2), "{r:?}");
    // The field note on 甲, the flag note and the rectification comment on 丙 (its case exists).
    assert_eq!(r.notes, 3, "{r:?}");
    let mut fields: Vec<(&str, Option<&str>, Option<&str>)> = r
        .conflicts
        .iter()
        .map(|c| (c.field.as_str(), c.theirs.as_deref(), c.mine.as_deref()))
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            ("assignee", Some("cmd_east"), Some("insp_east")),
            ("status", Some("closed"), Some("rectifying"))
        ]
    );

    // Disjoint: both changes kept.
    let a3 = cmd.case(a.id).unwrap();
    assert_eq!(
        (a3.status, a3.assignee.as_deref(), a3.version),
        (Status::Confirmed, Some("insp_east"), a2.version + 1)
    );
    assert!(cmd.notes(a.id).unwrap().iter().any(|n| n.text.starts_with("现场已拍照")));
    // Same field and edit-against-close: nothing overwritten.
    assert_eq!(cmd.case(b.id).unwrap().assignee.as_deref(), Some("cmd_east"));
    assert_eq!(cmd.case(c.id).unwrap().status, Status::Closed);
    // Both sides' new cases are there; the field one with its status steps.
    let all = cmd.cases(&SharedFilter::default()).unwrap();
    assert_eq!(all.len(), 6);
    let found = all.iter().find(|x| x.title == "戊 found in the field").unwrap();
    assert_eq!(found.status, Status::Confirmed);
    assert!(all.iter().any(|x| x.title == "己 added in the store"));
    // The photo arrived sealed and opens with the key.
    let photo_id: i64 = psql(
        &db,
        &format!("SELECT id FROM jingwei.case_attachments WHERE case_id = {}", found.id),
    )
    .parse()
    .unwrap();
    let (att, bytes) = insp.attachment_data(photo_id).unwrap();
    assert_eq!((att.name.as_str(), bytes.as_slice()), ("现场.jpg", PHOTO));
    assert_eq!(cmd.case(far.id).unwrap().version, 1, "outside the area: untouched");

    // A commander resolves: the inspector's assignee wins on 乙; the close on 丙 stands.
    let open_ones = cmd.conflicts(false).unwrap();
    assert_eq!(open_ones.len(), 2);
    let ass = open_ones.iter().find(|c| c.field == "assignee").unwrap();
    let st = open_ones.iter().find(|c| c.field == "status").unwrap();
    assert!(
        matches!(insp.resolve_conflict(ass.id, true), Err(StoreError::Denied { .. })),
        "inspectors do not resolve"
    );
    let done = cmd.resolve_conflict(ass.id, true).unwrap();
    assert_eq!(
        (done.resolution.as_deref(), done.resolved_by.as_deref()),
        (Some("mine"), Some("cmd_east"))
    );
    assert_eq!(cmd.case(b.id).unwrap().assignee.as_deref(), Some("insp_east"));
    cmd.resolve_conflict(st.id, false).unwrap();
    assert_eq!(cmd.case(c.id).unwrap().status, Status::Closed);
    assert!(cmd.conflicts(false).unwrap().is_empty());
    assert!(cmd.resolve_conflict(st.id, true).is_err(), "resolved once");

    // Checked in once.
    assert!(insp.check_in(&file).unwrap_err().to_string().contains("already checked in"));
    // And the whole history verifies.
    assert!(open(&db, "auditor1").verify_audit(None, &[]).unwrap().ok());
}

#[test]
fn a_check_in_that_fails_leaves_the_store_as_it_was() {
    let db = fresh_store("offline_fail");
    let mut insp = open(&db, "insp_east");
    let a = insp.flag_case(&case("甲", 121.50)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("field.gpkg");
    insp.check_out(None, &file).unwrap();
    {
        let mut f = CaseStore::open(&file).unwrap();
        let id = f.list(&Default::default()).unwrap()[0].id.to_string();
        f.assign(&id, Some("insp_east"), "insp_east").unwrap();
        f.flag(&Geometry::Point(Point::new(121.5, 31.2)), None, "新", None, "insp_east")
            .unwrap();
    }
    // The store's schema moves on under the inspector: a column the check-in writes is gone.
    psql(&db, "ALTER TABLE jingwei.cases RENAME COLUMN assignee TO assigned_to");
    assert!(insp.check_in(&file).is_err());
    psql(&db, "ALTER TABLE jingwei.cases RENAME COLUMN assigned_to TO assignee");
    let mut insp = open(&db, "insp_east");
    let all = insp.cases(&SharedFilter::default()).unwrap();
    assert_eq!(all.len(), 1, "the new case was not added: one transaction");
    assert_eq!(all[0].version, a.version);
    // The file was not marked: it can be checked in now.
    let r = insp.check_in(&file).unwrap();
    assert_eq!((r.updated, r.added), (1, 1));
}
