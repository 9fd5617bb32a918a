//! The parsers on the real documents in `../shared/data/hazards/`, and what they refuse.

use jingwei_feeds::sta::{Threshold, Thresholds};
use jingwei_feeds::{ChangeKind, EventStore, FeedError, FeedFormat, MsgType, ParseOptions, cap, detect, parse};
use std::path::{Path, PathBuf};

mod common;
use common::rain_chain;

fn hazards() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hazards")
}

#[test]
fn the_usgs_week_parses_whole() {
    let bytes = std::fs::read(hazards().join("usgs_all_week_2018-02-07.geojson")).unwrap();
    assert_eq!(detect(&bytes), Some(FeedFormat::GeojsonEvents));
    let p = parse(&bytes, None, &ParseOptions::default()).unwrap();
    // The feed's own metadata says 1,707 events.
    assert_eq!(p.events.len(), 1707);
    let first = &p.events[0];
    assert_eq!(first.id, "ci37868143");
    assert_eq!(first.magnitude, Some(2.0));
    assert_eq!(first.point, Some((-118.6671667, 34.4945)));
    assert_eq!(first.time_ms, Some(1_517_966_773_840));
    assert_eq!(first.version_ms, Some(1_517_966_996_303));
    let mut ids: Vec<&str> = p.events.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1707, "ids are unique");
    let strongest = p.events.iter().filter_map(|e| e.magnitude).fold(f64::MIN, f64::max);
    assert!(strongest >= 6.0, "the week had a M6+ (Taiwan, 2018-02-06): {strongest}");
}

#[test]
fn every_cap_message_parses() {
    let dir = hazards().join("cap/oasiscap_fixtures");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "xml") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(detect(&bytes), Some(FeedFormat::Cap), "{}", path.display());
        let ev = cap::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(ev.id.contains(','), "sender,identifier");
        assert!(ev.version_ms.is_some());
        n += 1;
    }
    assert_eq!(n, 19);
    // The OASIS example of an update, a circle and polygons, an IPAWS cancellation.
    let up = cap::parse(&std::fs::read(dir.join("v1dot2_appendix_adot3.xml")).unwrap()).unwrap();
    assert_eq!(up.msg_type, MsgType::Update);
    assert!(!up.references.is_empty());
    let circles: Vec<_> = up.areas.iter().flat_map(|a| a.circles.clone()).collect();
    assert_eq!(circles[0].0, (-115.5527, 32.9525), "CAP writes lat,lon; events hold lon,lat");
    let cancel = cap::parse(&std::fs::read(dir.join("ipaws-5e6dd9de023f1930ef6548d9.xml")).unwrap()).unwrap();
    assert_eq!(cancel.msg_type, MsgType::Cancel);
    assert_eq!(
        cancel.references,
        vec!["bbrundage@dps.state.nv.us,AS-NV-e18921c7-1b35-4a81-9705-42d25c265ddd".to_string()]
    );
    let polys = cap::parse(&std::fs::read(dir.join("v1dot2_appendix_adot2.xml")).unwrap()).unwrap();
    assert!(polys.areas.iter().any(|a| !a.polygons.is_empty()));
    assert!(
        polys
            .areas
            .iter()
            .flat_map(|a| &a.polygons)
            .all(|r| r.first() == r.last() && r.len() >= 4)
    );
}

#[test]
fn sensorthings_thresholds_raise_events() {
    let bytes = std::fs::read(hazards().join("sensorthings/frost_entitiesDefault.json")).unwrap();
    assert_eq!(detect(&bytes), Some(FeedFormat::SensorThings));
    let none = parse(&bytes, None, &ParseOptions::default()).unwrap();
    assert!(none.events.is_empty(), "no thresholds, no events");
    let opts = ParseOptions {
        thresholds: Thresholds(vec![
            Threshold::parse("datastream name 1>3.5").unwrap(),
            Threshold::parse("datastream name 2<5.5").unwrap(),
        ]),
        ..ParseOptions::default()
    };
    let p = parse(&bytes, None, &opts).unwrap();
    let got: Vec<(String, f64)> = p
        .events
        .iter()
        .map(|e| (e.properties["datastream"].as_str().unwrap().to_string(), e.magnitude.unwrap()))
        .collect();
    // Observations 3, 4 on datastream 1 and 5, 6 on datastream 2.
    assert_eq!(
        got,
        vec![("datastream name 1".to_string(), 4.0), ("datastream name 2".to_string(), 5.0)]
    );
    assert_eq!(p.events[0].point, Some((-117.05, 51.05)));
    assert_eq!(p.events[0].kind, "sensor_threshold");
    // A tasking payload holds no observations: no events, no error.
    let act = std::fs::read(hazards().join("sensorthings/frost_entitiesDefaultActuation.json")).unwrap();
    assert!(parse(&act, Some(FeedFormat::SensorThings), &opts).unwrap().events.is_empty());
    assert!(Threshold::parse("水位").is_err());
    assert_eq!(Threshold::parse("水位>5.2").unwrap().max, Some(5.2));
}

#[test]
fn unsafe_or_broken_documents_are_refused_clearly() {
    let xxe = br#"<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"#;
    assert!(matches!(cap::parse(xxe), Err(FeedError::Xml(_))));
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><alert>&lol2;</alert>"#;
    assert!(matches!(parse(laughs, None, &ParseOptions::default()), Err(FeedError::Xml(_))));
    let e = cap::parse(b"<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier>").unwrap_err();
    assert!(matches!(e, FeedError::Xml(_)), "{e}");
    let no_sent = br#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>s</sender><status>Actual</status><msgType>Alert</msgType></alert>"#;
    let e = cap::parse(no_sent).unwrap_err().to_string();
    assert!(e.contains("<alert/sent>: missing") && e.contains("<alert/scope>: missing"), "{e}");
    let bad_poly = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier><sender>s</sender><sent>2026-11-22T10:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope><info><event>Flood</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty><area><areaDesc>浦东新区</areaDesc><polygon>31.2,121.5 31.3,121.6 31.2,121.5</polygon></area></info></alert>"#.as_bytes();
    let e = cap::parse(bad_poly).unwrap_err().to_string();
    assert!(e.contains("浦东新区") && e.contains("four points"), "{e}");
    let other_ns = br#"<alert xmlns="urn:example:not-cap"><identifier>x</identifier></alert>"#;
    assert!(cap::parse(other_ns).unwrap_err().to_string().contains("namespace"));
    let no_id = br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"time":1},"geometry":null}]}"#;
    assert!(
        parse(no_id, None, &ParseOptions::default())
            .unwrap_err()
            .to_string()
            .contains("feature 0")
    );
    assert!(matches!(
        parse(
            b"{\"type\":\"FeatureCollection\",",
            Some(FeedFormat::GeojsonEvents),
            &ParseOptions::default()
        ),
        Err(FeedError::Json(_))
    ));
    assert!(matches!(
        parse(b"hello", None, &ParseOptions::default()),
        Err(FeedError::Unrecognised(_))
    ));
}

#[test]
fn updates_replace_and_cancellations_withdraw() {
    let [a, b, c] = rain_chain();
    let mut store = EventStore::default();
    let ev = |x: &(String, Vec<u8>)| cap::parse(&x.1).unwrap();
    let ch = store.apply(ev(&a));
    assert_eq!((ch.len(), ch[0].kind), (1, ChangeKind::New));
    assert_eq!(ch[0].event.areas[0].circles[0], ((121.50, 31.23), 5000.0));
    assert_eq!(ch[0].event.areas[0].geocodes[0].1, "310115");
    assert!(store.apply(ev(&a)).is_empty(), "a duplicate is not news");
    let ch = store.apply(ev(&b));
    assert_eq!(ch[0].kind, ChangeKind::Updated);
    assert_eq!(store.len(), 1);
    assert_eq!(store.events().next().unwrap().title, "暴雨橙色预警");
    assert!(store.apply(ev(&a)).is_empty(), "the superseded alert does not come back");
    let ch = store.apply(ev(&c));
    assert_eq!((ch.len(), ch[0].kind), (1, ChangeKind::Cancelled));
    assert!(store.is_empty());
    assert!(store.apply(ev(&c)).is_empty());
}

#[test]
fn deeply_nested_documents_are_refused_not_overflowing() {
    let mut doc = String::from(r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">"#);
    doc.push_str(&"<a>".repeat(20_000));
    doc.push_str(&"</a>".repeat(20_000));
    doc.push_str("</alert>");
    let e = cap::parse(doc.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("nested more than 64 deep"), "{e}");
}
