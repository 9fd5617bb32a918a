//! The field-app gateway against a real PostgreSQL: it holds no rights of its own, checks a
//! field user's password against the server's SCRAM verifier, and acts as that user — with
//! that user's department, role, stamps and audit rows — and never as an auditor or
//! administrator; a user cannot act as another. Migration 3's rewrite leaves no definer
//! reading session_user or searching `public`, and nothing personal stored in clear.

mod support;

use geo::{Geometry, Point};
use jingwei_cases::Status;
use jingwei_store::{NewSharedCase, Role, Shared, SharedFilter, StoreError};
use support::*;

fn new_case(title: &str) -> NewSharedCase {
    NewSharedCase {
        title: title.into(),
        priority: 40.0,
        geometry: Some(Geometry::Point(Point::new(121.5, 31.23))),
        ..Default::default()
    }
}

#[test]
fn the_gateway_acts_only_as_field_users_it_has_checked_and_in_their_name() {
    let db = fresh_store("gateway");
    let mut su = Shared::open(&superuser(&db)).unwrap();
    // Only a superuser makes a gateway; it has no department.
    let mut admin = open(&db, "admin1");
    assert!(matches!(
        admin.add_user("gw1", Role::Gateway, None, &password("gw1")),
        Err(StoreError::Denied { .. })
    ));
    assert!(su.add_user("gw1", Role::Gateway, Some("城东"), &password("gw1")).is_err());
    su.add_user("gw1", Role::Gateway, None, &password("gw1")).unwrap();
    // Nor does an administrator re-password or demote a gateway or another administrator.
    su.add_user("admin2", Role::Admin, None, &password("admin2")).unwrap();
    for (who, role) in [("gw1", Role::Auditor), ("gw1", Role::Inspector), ("admin2", Role::Auditor)] {
        let dept = (role == Role::Inspector).then_some("城东");
        assert!(
            matches!(admin.add_user(who, role, dept, "taken-over-pw"), Err(StoreError::Denied { .. })),
            "{who} as {role:?}"
        );
    }
    let west = open(&db, "insp_west").flag_case(&new_case("西")).unwrap();

    let mut gw = open(&db, "gw1");
    assert!(gw.is_gateway().unwrap());
    assert!(!open(&db, "insp_east").is_gateway().unwrap());
    assert_eq!((gw.role(), gw.department()), (None, None));
    // By itself: nothing to read, nothing to write.
    assert!(
        gw.cases(&SharedFilter::default())
            .is_err_and(|e| matches!(e, StoreError::Denied { .. }))
    );
    assert!(gw.flag_case(&new_case("x")).is_err());

    // Passwords: right and wrong; only inspectors and commanders are answered.
    assert!(gw.check_password("insp_east", &password("insp_east")).unwrap());
    assert!(!gw.check_password("insp_east", &password("insp_west")).unwrap());
    assert!(!gw.check_password("insp_east", "").unwrap());
    assert!(gw.check_password("cmd_west", &password("cmd_west")).unwrap());
    for who in ["auditor1", "admin1", "gw1", "postgres", "nobody"] {
        assert!(!gw.check_password(who, &password(who)).unwrap(), "{who}");
    }
    // A user cannot read verifiers.
    assert!(open(&db, "insp_east").check_password("insp_west", &password("insp_west")).is_err());
    // A login that may not log in any more is refused.
    su.add_user("gate_expired", Role::Inspector, Some("城东"), &password("gate_expired"))
        .unwrap();
    // (The cluster's roles outlive a run: undo the last run's expiry first.)
    su.raw("ALTER ROLE gate_expired VALID UNTIL 'infinity'").unwrap();
    assert!(gw.check_password("gate_expired", &password("gate_expired")).unwrap());
    su.raw("ALTER ROLE gate_expired VALID UNTIL '2000-01-01'").unwrap();
    assert!(!gw.check_password("gate_expired", &password("gate_expired")).unwrap());

    // As insp_east: that user's department and rights, stamped and audited in that name.
    gw.act_as(Some("insp_east")).unwrap();
    assert_eq!((gw.role(), gw.department()), (Some(Role::Inspector), Some("城东")));
    let c = gw.flag_case(&new_case("经网关")).unwrap();
    assert_eq!((c.created_by.as_str(), c.department.as_str()), ("insp_east", "城东"));
    assert!(gw.cases(&SharedFilter::default()).unwrap().iter().all(|c| c.department == "城东"));
    assert!(matches!(gw.case(west.id), Err(StoreError::NotFound { .. })));
    let c = gw.set_status(c.id, c.version, Status::Confirmed, Some("现场核实")).unwrap();
    assert_eq!(c.updated_by, "insp_east");
    assert_eq!(gw.notes(c.id).unwrap()[0].actor, "insp_east");
    // Inspectors do not close, through the gateway either.
    assert!(matches!(
        gw.set_status(c.id, c.version, Status::Closed, None),
        Err(StoreError::Denied { .. })
    ));
    let actors = su
        .raw("SELECT string_agg(DISTINCT actor, ',') FROM jingwei.audit WHERE action LIKE 'case%'")
        .unwrap();
    assert_eq!(actors, "insp_east,insp_west");
    // The chain still verifies with the gateway's rows in it.
    let report = open(&db, "auditor1").verify_audit(None, &[]).unwrap();
    assert!(report.broken.is_none(), "{report:?}");

    // As a commander of the other department, then as nobody.
    gw.act_as(Some("cmd_west")).unwrap();
    assert_eq!(gw.department(), Some("城西"));
    assert_eq!(gw.cases(&SharedFilter::default()).unwrap().len(), 1);
    gw.act_as(None).unwrap();
    assert_eq!(gw.role(), None);
    assert!(gw.cases(&SharedFilter::default()).is_err());
    // Never as an auditor, an administrator or another gateway.
    for who in ["auditor1", "admin1", "postgres", "jingwei_owner"] {
        assert!(
            matches!(gw.act_as(Some(who)), Err(StoreError::Denied { .. }) | Err(StoreError::Invalid(_))),
            "{who}"
        );
    }
    // A user made an auditor is no longer acted for.
    su.add_user("w6", Role::Auditor, None, &password("w6")).unwrap();
    assert!(gw.act_as(Some("w6")).is_err());

    // A user cannot act as another: not through SET ROLE, not through the gateway's group.
    let mut east = open(&db, "insp_east");
    assert!(east.act_as(Some("insp_west")).is_err());
    assert!(east.raw("SET ROLE jingwei_gateway").is_err());
    east.raw("SET ROLE jingwei_inspector").unwrap();
    assert_eq!(east.raw("SELECT jingwei.actor()").unwrap(), "insp_east");
}

#[test]
fn no_definer_reads_session_user_or_searches_public_and_nothing_personal_is_kept_in_clear() {
    let db = fresh_store("gateway_schema");
    let readers = psql(
        &db,
        "SELECT coalesce(string_agg(p.proname, ',' ORDER BY p.proname), '') FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'jingwei' \
         AND p.prosrc ~* 'session_user' AND p.proname NOT IN ('set_user', 'actor', 'login_verifier')",
    );
    assert_eq!(readers, "");
    let public = psql(
        &db,
        "SELECT coalesce(string_agg(p.proname, ',' ORDER BY p.proname), '') FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'jingwei' AND p.prosecdef \
         AND (p.proconfig IS NULL OR array_to_string(p.proconfig, ',') ~ 'public')",
    );
    assert_eq!(public, "");
    // A client that writes a personal field or a photo in clear is refused by the store.
    let mut east = open(&db, "insp_east");
    let c = east.flag_case(&new_case("明文")).unwrap();
    for sql in [
        format!(
            "UPDATE jingwei.cases SET phone = convert_to('13800138000', 'UTF8'), version = version + 1 WHERE id = {}",
            c.id
        ),
        format!(
            "UPDATE jingwei.cases SET id_number = '\\x534d3447'::bytea, version = version + 1 WHERE id = {}",
            c.id
        ),
        format!(
            "INSERT INTO jingwei.case_attachments (case_id, name, mime, size, sm3, data) \
             VALUES ({}, 'a.jpg', 'image/jpeg', 3, 'x', '\\xffd8ff'::bytea)",
            c.id
        ),
    ] {
        let e = east.raw(&sql).unwrap_err().to_string();
        assert!(e.contains("sealed"), "{sql}: {e}");
    }
}
