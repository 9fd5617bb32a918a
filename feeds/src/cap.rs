//! CAP — the Common Alerting Protocol (OASIS CAP 1.2; 1.1 and 1.0 read as well), the standard of
//! public-warning systems including China's national early-warning release. An alert with its
//! `info` blocks (event, urgency, severity, certainty, headline, times) and areas (polygons,
//! circles, geocodes). XML with a DTD is refused outright: that is where external-entity and
//! entity-expansion attacks live, and no CAP message needs one.

use crate::{Area, Event, FeedError, FeedFormat, MsgType, time::parse_iso8601};
use roxmltree::{Document, Node, ParsingOptions};
use serde_json::json;

const NAMESPACES: [&str; 3] = [
    "urn:oasis:names:tc:emergency:cap:1.2",
    "urn:oasis:names:tc:emergency:cap:1.1",
    "http://www.incident.com/cap/1.0",
];

/// Parse XML safely: no DTD (so no entities beyond the five predefined ones), bounded nodes.
pub(crate) fn xml(text: &str) -> Result<Document<'_>, FeedError> {
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return Err(FeedError::Xml("a DTD or entity declaration is not allowed in a feed".into()));
    }
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: 2_000_000,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, opts).map_err(|e| FeedError::Xml(e.to_string()))
}

fn child<'a>(n: Node<'a, 'a>, name: &str) -> Option<Node<'a, 'a>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a>(n: Node<'a, 'a>, name: &'a str) -> impl Iterator<Item = Node<'a, 'a>> + 'a {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn text(n: Node, name: &str) -> Option<String> {
    child(n, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// A CAP time, with the element's name in the error.
fn time(n: Node, name: &str) -> Result<Option<i64>, FeedError> {
    match text(n, name) {
        None => Ok(None),
        Some(t) => parse_iso8601(&t)
            .map(Some)
            .ok_or_else(|| FeedError::Invalid(format!("<{name}> is not a date-time: {t}"))),
    }
}

fn point(pair: &str, what: &str) -> Result<(f64, f64), FeedError> {
    let (lat, lon) = pair
        .split_once(',')
        .ok_or_else(|| FeedError::Invalid(format!("{what}: '{pair}' is not 'lat,lon'")))?;
    let (lat, lon): (f64, f64) = (
        lat.trim()
            .parse()
            .map_err(|_| FeedError::Invalid(format!("{what}: bad latitude '{lat}'")))?,
        lon.trim()
            .parse()
            .map_err(|_| FeedError::Invalid(format!("{what}: bad longitude '{lon}'")))?,
    );
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(FeedError::Invalid(format!("{what}: {lat},{lon} is outside WGS 84 degrees")));
    }
    Ok((lon, lat))
}

fn area(a: Node) -> Result<Area, FeedError> {
    let desc = text(a, "areaDesc").ok_or_else(|| FeedError::Invalid("an <area> without <areaDesc>".into()))?;
    let mut out = Area {
        desc: desc.clone(),
        ..Area::default()
    };
    for p in children(a, "polygon") {
        let t = p.text().unwrap_or("").trim();
        if t.is_empty() {
            continue; // An empty <polygon/> appears in real messages: no shape.
        }
        let what = format!("polygon of area '{desc}'");
        let ring: Vec<(f64, f64)> = t.split_whitespace().map(|pair| point(pair, &what)).collect::<Result<_, _>>()?;
        if ring.len() < 4 || ring.first() != ring.last() {
            return Err(FeedError::Invalid(format!(
                "{what}: a CAP polygon needs at least four points, first = last"
            )));
        }
        out.polygons.push(ring);
    }
    for c in children(a, "circle") {
        let t = c.text().unwrap_or("").trim();
        let what = format!("circle of area '{desc}'");
        let (centre, r) = t
            .split_once(char::is_whitespace)
            .ok_or_else(|| FeedError::Invalid(format!("{what}: '{t}' is not 'lat,lon radius'")))?;
        let km: f64 = r
            .trim()
            .parse()
            .map_err(|_| FeedError::Invalid(format!("{what}: bad radius '{r}'")))?;
        if !(km >= 0.0 && km.is_finite()) {
            return Err(FeedError::Invalid(format!("{what}: negative radius")));
        }
        out.circles.push((point(centre, &what)?, km * 1000.0));
    }
    for g in children(a, "geocode") {
        if let (Some(n), Some(v)) = (text(g, "valueName"), text(g, "value")) {
            out.geocodes.push((n, v));
        }
    }
    Ok(out)
}

/// The identity of an alert: `sender,identifier`.
pub fn identity(sender: &str, identifier: &str) -> String {
    format!("{sender},{identifier}")
}

/// Parse one CAP alert.
pub fn parse(bytes: &[u8]) -> Result<Event, FeedError> {
    let text_all = std::str::from_utf8(bytes).map_err(|e| FeedError::Xml(format!("not UTF-8: {e}")))?;
    let doc = xml(text_all)?;
    let root = doc.root_element();
    if root.tag_name().name() != "alert" {
        return Err(FeedError::Invalid(format!(
            "the root element is <{}>, not <alert>",
            root.tag_name().name()
        )));
    }
    let ns = root.tag_name().namespace().unwrap_or("");
    if !NAMESPACES.contains(&ns) {
        return Err(FeedError::Invalid(format!("unknown CAP namespace '{ns}'")));
    }
    let req = |name: &str| text(root, name).ok_or_else(|| FeedError::Invalid(format!("the alert has no <{name}>")));
    let identifier = req("identifier")?;
    let sender = req("sender")?;
    let sent = time(root, "sent")?.ok_or_else(|| FeedError::Invalid("the alert has no <sent>".into()))?;
    let status = req("status")?;
    let msg_type = match req("msgType")?.as_str() {
        "Alert" => MsgType::Alert,
        "Update" => MsgType::Update,
        "Cancel" => MsgType::Cancel,
        // Ack and Error acknowledge other messages; they carry no hazard.
        other @ ("Ack" | "Error") => return Err(FeedError::Invalid(format!("msgType {other} carries no hazard event"))),
        other => return Err(FeedError::Invalid(format!("unknown msgType '{other}'"))),
    };
    // references: "sender,identifier,sent" triples separated by white space.
    let references: Vec<String> = text(root, "references")
        .map(|r| {
            r.split_whitespace()
                .filter_map(|t| {
                    let mut p = t.split(',');
                    Some(identity(p.next()?, p.next()?))
                })
                .collect()
        })
        .unwrap_or_default();
    if msg_type != MsgType::Alert && references.is_empty() {
        return Err(FeedError::Invalid(format!("a {msg_type:?} without <references>")));
    }
    let infos: Vec<Node> = children(root, "info").collect();
    let first = infos.first().copied();
    let mut areas = Vec::new();
    let mut expires = None;
    for i in &infos {
        for a in children(*i, "area") {
            areas.push(area(a)?);
        }
        if let Some(e) = time(*i, "expires")? {
            expires = Some(expires.map_or(e, |x: i64| x.max(e)));
        }
    }
    let get = |name: &str| first.and_then(|i| text(i, name));
    let kind = get("event").unwrap_or_else(|| "alert".into());
    let title = get("headline").unwrap_or_else(|| kind.clone());
    let onset = match first {
        Some(i) => time(i, "onset")?.or(time(i, "effective")?),
        None => None,
    };
    // A representative point: the first circle's centre, else the first polygon's mean vertex.
    let pt = areas.iter().find_map(|a| a.circles.first().map(|c| c.0)).or_else(|| {
        areas.iter().find_map(|a| {
            let r = a.polygons.first()?;
            let n = (r.len() - 1) as f64;
            Some((
                r[..r.len() - 1].iter().map(|p| p.0).sum::<f64>() / n,
                r[..r.len() - 1].iter().map(|p| p.1).sum::<f64>() / n,
            ))
        })
    });
    Ok(Event {
        id: identity(&sender, &identifier),
        format: FeedFormat::Cap,
        msg_type,
        references,
        kind,
        title,
        severity: get("severity"),
        urgency: get("urgency"),
        certainty: get("certainty"),
        magnitude: None,
        time_ms: Some(onset.unwrap_or(sent)),
        version_ms: Some(sent),
        expires_ms: expires,
        point: pt,
        areas,
        properties: json!({
            "sender": sender,
            "identifier": identifier,
            "status": status,
            "scope": text(root, "scope"),
            "senderName": get("senderName"),
            "category": get("category"),
            "description": get("description"),
            "instruction": get("instruction"),
            "language": get("language"),
            "infos": infos.len(),
        }),
    })
}
