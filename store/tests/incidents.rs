//! Incidents in the shared store: commanders open them and log actions, inspectors read them,
//! other departments see nothing; versions, audit rows and notifications as for cases.

mod support;

use geo::{Geometry, Point};
use jingwei_cases::incidents::{IncidentStatus, NewIncident};
use jingwei_store::{Change, Listener, StoreError};
use std::time::Duration;
use support::*;

fn fire() -> NewIncident<'static> {
    static AT: std::sync::OnceLock<Geometry> = std::sync::OnceLock::new();
    NewIncident {
        kind: "fire",
        severity: Some("Severe"),
        title: "仓库火情",
        source: "manual",
        event_id: None,
        rings_m: &[100.0, 300.0],
        occurred_at: Some("2026-12-06T03:00:00Z"),
        geometry: AT.get_or_init(|| Geometry::Point(Point::new(121.505, 31.235))),
    }
}

#[test]
fn commanders_run_incidents_of_their_department_and_every_step_is_recorded() {
    let db = fresh_store("incidents");
    let mut cmd = open(&db, "cmd_east");
    let mut insp = open(&db, "insp_east");
    let mut west = open(&db, "cmd_west");
    let mut listen = Listener::open(&user(&db, "insp_east")).unwrap();
    assert!(
        matches!(insp.open_incident(&fire()), Err(StoreError::Denied { .. })),
        "inspectors do not open incidents"
    );
    let i = cmd.open_incident(&fire()).unwrap();
    assert_eq!(
        (i.status, i.version, i.rings_m.as_slice()),
        (IncidentStatus::Active, 1, &[100.0, 300.0][..])
    );
    assert_eq!(i.occurred_at.as_deref(), Some("2026-12-06T03:00:00.000Z"));
    assert!(i.incident_no.starts_with("SJ"));
    assert_eq!(
        listen.next(Duration::from_secs(2)).unwrap(),
        Some(Change::Row {
            table: "incidents".into(),
            id: i.id
        })
    );
    // The inspector reads it; the other department does not see it.
    assert_eq!(insp.incidents(false).unwrap().len(), 1);
    assert!(west.incidents(true).unwrap().is_empty());
    assert!(matches!(west.log_incident(i.id, "越界", None), Err(StoreError::NotFound { .. })));
    assert!(insp.log_incident(i.id, "到场", None).is_err(), "inspectors do not write the log");
    cmd.log_incident(i.id, "调派", Some("消防一中队")).unwrap();
    let c = cmd.set_incident_status(i.id, i.version, IncidentStatus::Contained).unwrap();
    assert_eq!((c.status, c.version), (IncidentStatus::Contained, 2));
    let stale = cmd.set_incident_status(i.id, i.version, IncidentStatus::Closed).unwrap_err();
    assert!(matches!(stale, StoreError::StaleIncident { .. }), "{stale}");
    let log: Vec<String> = cmd.incident_log(i.id).unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(log, ["open", "调派", "status"]);
    // Audited: the insert, three log entries, the update.
    let n = psql(
        &db,
        &format!(
            "SELECT count(*) FROM jingwei.audit WHERE entity IN ('incidents', 'incident_log') AND (entity_id = {} OR detail LIKE '%\"incident_id\": {}%')",
            i.id, i.id
        ),
    );
    assert_eq!(n, "5");
    assert!(open(&db, "auditor1").verify_audit(None, &[]).unwrap().ok());
    assert!(cmd.incidents(false).unwrap().iter().all(|x| x.status != IncidentStatus::Closed));
    assert!(matches!(
        cmd.open_incident(&NewIncident {
            rings_m: &[-5.0],
            ..fire()
        }),
        Err(StoreError::Invalid(_))
    ));
}
