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
    let doc = Document::parse_with_options(text, opts).map_err(|e| FeedError::Xml(e.to_string()))?;
    // Feeds nest a few levels (CAP about six, with a signature); what walks the tree
    // recursively (canonicalization) must not meet thousands.
    let mut stack = vec![(doc.root(), 0usize)];
    while let Some((n, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(FeedError::Xml(format!("elements nested more than {MAX_DEPTH} deep")));
        }
        stack.extend(n.children().filter(|c| c.is_element()).map(|c| (c, depth + 1)));
    }
    Ok(doc)
}

/// How deep the elements of a feed document may nest.
const MAX_DEPTH: usize = 64;

fn child<'a>(n: Node<'a, 'a>, name: &str) -> Option<Node<'a, 'a>> {
    n.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a>(n: Node<'a, 'a>, name: &'a str) -> impl Iterator<Item = Node<'a, 'a>> + 'a {
    n.children().filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// All the text inside an element, comments and child elements skipped. Not `Node::text`,
/// which stops at the first comment: comments fall outside a signature's digest, so
/// `<expires><!---->2024-…</expires>` must read the same as without the comment.
fn inner(n: Node) -> String {
    n.descendants().filter(|d| d.is_text()).filter_map(|d| d.text()).collect()
}

fn text(n: Node, name: &str) -> Option<String> {
    child(n, name).map(inner).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
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
        let t = inner(p);
        let t = t.trim();
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
        let t = inner(c);
        let t = t.trim();
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

/// How CAP alerts are read.
#[derive(Debug, Clone, Default)]
pub struct CapOptions {
    /// Lenient: an alert that breaks CAP's rules is kept, marked invalid with its violations,
    /// instead of refused.
    pub lenient: bool,
    /// The certificates whose signatures the feed trusts.
    pub trust: crate::dsig::Trust,
}

/// One rule of CAP an alert breaks.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// Where: `alert/info[2]/urgency`.
    pub element: String,
    /// What: "missing", "'Soon' is not one of Immediate, Expected, Future, Past, Unknown".
    pub rule: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<{}>: {}", self.element, self.rule)
    }
}

/// A CAP date-time: from 1.1 on exactly `YYYY-MM-DDThh:mm:ss±hh:mm` (no "Z", UTC written
/// -00:00, no fractions, as the schema's pattern says); 1.0 takes any ISO 8601 time with a zone.
fn cap_time(t: &str, version: u8) -> bool {
    if parse_iso8601(t).is_none() {
        return false;
    }
    if version < 11 {
        return true;
    }
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    b.len() == 25
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b[19] == b'+' || b[19] == b'-')
        && digits(20..22)
        && b[22] == b':'
        && digits(23..25)
}

/// The CAP version of a namespace: 10, 11 or 12.
fn version(ns: &str) -> u8 {
    match ns {
        "urn:oasis:names:tc:emergency:cap:1.2" => 12,
        "urn:oasis:names:tc:emergency:cap:1.1" => 11,
        _ => 10,
    }
}

/// Check an alert against the rules of its CAP version (1.0, 1.1 or 1.2): required elements,
/// enumerated values, and the forms of times, references and each area form (polygon,
/// circle, geocode).
pub fn violations(root: Node) -> Vec<Violation> {
    let v = version(root.tag_name().namespace().unwrap_or(""));
    let mut out = Vec::new();
    let mut bad = |element: String, rule: String| out.push(Violation { element, rule });
    let one_of = |value: &str, allowed: &[&str]| allowed.contains(&value);
    for name in ["identifier", "sender", "sent", "status", "msgType", "scope"] {
        if text(root, name).is_none() {
            bad(format!("alert/{name}"), "missing".into());
        }
    }
    for name in ["identifier", "sender"] {
        if let Some(t) = text(root, name)
            && t.contains(|c: char| c.is_whitespace() || c == ',' || c == '<' || c == '&')
        {
            bad(format!("alert/{name}"), format!("'{t}' contains a space, comma, '<' or '&'"));
        }
    }
    if let Some(t) = text(root, "sent")
        && !cap_time(&t, v)
    {
        bad(
            "alert/sent".into(),
            format!("'{t}' is not a CAP date-time (e.g. 2026-07-05T08:30:00+08:00)"),
        );
    }
    let status: &[&str] = if v >= 11 {
        &["Actual", "Exercise", "System", "Test", "Draft"]
    } else {
        &["Actual", "Exercise", "System", "Test"]
    };
    let enumerated = |n: Node, path: &str, name: &str, allowed: &[&str], bad: &mut dyn FnMut(String, String)| {
        for c in children(n, name) {
            let t = inner(c);
            let t = t.trim();
            if !one_of(t, allowed) {
                bad(format!("{path}/{name}"), format!("'{t}' is not one of {}", allowed.join(", ")));
            }
        }
    };
    enumerated(root, "alert", "status", status, &mut bad);
    enumerated(root, "alert", "msgType", &["Alert", "Update", "Cancel", "Ack", "Error"], &mut bad);
    enumerated(root, "alert", "scope", &["Public", "Restricted", "Private"], &mut bad);
    match text(root, "scope").as_deref() {
        Some("Restricted") if text(root, "restriction").is_none() => bad("alert/restriction".into(), "missing for scope Restricted".into()),
        Some("Private") if text(root, "addresses").is_none() => bad("alert/addresses".into(), "missing for scope Private".into()),
        _ => {}
    }
    if matches!(text(root, "msgType").as_deref(), Some("Update" | "Cancel")) && child(root, "references").is_none() {
        bad("alert/references".into(), "missing for an Update or Cancel".into());
    }
    if let Some(r) = child(root, "references") {
        let t = inner(r);
        let t = t.trim();
        if t.is_empty() {
            bad(
                "alert/references".into(),
                "empty (give sender,identifier,sent triples or leave it out)".into(),
            );
        }
        for triple in t.split_whitespace() {
            if triple.split(',').count() != 3 {
                bad("alert/references".into(), format!("'{triple}' is not sender,identifier,sent"));
            }
        }
    }
    for (i, info) in children(root, "info").enumerate() {
        let path = format!("alert/info[{}]", i + 1);
        for name in ["event", "urgency", "severity", "certainty"] {
            if text(info, name).is_none() {
                bad(format!("{path}/{name}"), "missing".into());
            }
        }
        if children(info, "category").next().is_none() {
            bad(format!("{path}/category"), "missing".into());
        }
        enumerated(
            info,
            &path,
            "category",
            &[
                "Geo",
                "Met",
                "Safety",
                "Security",
                "Rescue",
                "Fire",
                "Health",
                "Env",
                "Transport",
                "Infra",
                "CBRNE",
                "Other",
            ],
            &mut bad,
        );
        enumerated(
            info,
            &path,
            "urgency",
            &["Immediate", "Expected", "Future", "Past", "Unknown"],
            &mut bad,
        );
        enumerated(
            info,
            &path,
            "severity",
            &["Extreme", "Severe", "Moderate", "Minor", "Unknown"],
            &mut bad,
        );
        // "Very Likely" was CAP 1.0's; 1.1 kept it for backward compatibility, 1.2 dropped it.
        let certainty: &[&str] = if v <= 11 {
            &["Observed", "Very Likely", "Likely", "Possible", "Unlikely", "Unknown"]
        } else {
            &["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
        };
        enumerated(info, &path, "certainty", certainty, &mut bad);
        if v >= 11 {
            let response: &[&str] = if v >= 12 {
                &[
                    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
                ]
            } else {
                &["Shelter", "Evacuate", "Prepare", "Execute", "Monitor", "Assess", "None"]
            };
            enumerated(info, &path, "responseType", response, &mut bad);
        }
        for name in ["effective", "onset", "expires"] {
            if let Some(t) = text(info, name)
                && !cap_time(&t, v)
            {
                bad(
                    format!("{path}/{name}"),
                    format!("'{t}' is not a CAP date-time (e.g. 2026-07-05T08:30:00+08:00)"),
                );
            }
        }
        for (j, r) in children(info, "resource").enumerate() {
            let rp = format!("{path}/resource[{}]", j + 1);
            if text(r, "resourceDesc").is_none() {
                bad(format!("{rp}/resourceDesc"), "missing".into());
            }
            if v >= 12 && text(r, "mimeType").is_none() {
                bad(format!("{rp}/mimeType"), "missing".into());
            }
        }
        for (j, a) in children(info, "area").enumerate() {
            let ap = format!("{path}/area[{}]", j + 1);
            if text(a, "areaDesc").is_none() {
                bad(format!("{ap}/areaDesc"), "missing".into());
            }
            // Each area form as its version writes it: polygons of closed lat,lon pairs,
            // circles of a centre and radius, geocodes (1.0: the code as text; 1.1 and 1.2:
            // valueName and value). An area may also be described in words alone.
            if let Err(e) = area(a) {
                bad(ap.clone(), e.to_string());
            }
            for (k, g) in children(a, "geocode").enumerate() {
                let ok = if v == 10 {
                    !inner(g).trim().is_empty() || (text(g, "valueName").is_some() && text(g, "value").is_some())
                } else {
                    text(g, "valueName").is_some() && text(g, "value").is_some()
                };
                if !ok {
                    bad(
                        format!("{ap}/geocode[{}]", k + 1),
                        if v == 10 { "empty" } else { "needs valueName and value" }.into(),
                    );
                }
            }
            if child(a, "ceiling").is_some() && child(a, "altitude").is_none() {
                bad(format!("{ap}/ceiling"), "given without altitude".into());
            }
        }
    }
    out
}

/// Parse one CAP alert, strictly (an alert that breaks CAP's rules is refused, each violation
/// named) and without trusted certificates.
pub fn parse(bytes: &[u8]) -> Result<Event, FeedError> {
    parse_with(bytes, &CapOptions::default())
}

/// Parse one CAP alert in the encoding its XML declaration names, checked against its CAP
/// version's rules and its XML Signature verified against `opts.trust`. Strict: violations are
/// an error listing each; lenient: the alert is kept with `properties.valid` false and
/// `properties.violations`. The signature status is `properties.signature`.
pub fn parse_with(bytes: &[u8], opts: &CapOptions) -> Result<Event, FeedError> {
    parse_text(&crate::xmltext::to_utf8(bytes)?, opts)
}

/// [`parse_with`] on a document already decoded (its declaration's encoding is ignored).
pub fn parse_text(text_all: &str, opts: &CapOptions) -> Result<Event, FeedError> {
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
    let found = violations(root);
    let v = version(ns);
    let cap_version = format!("{}.{}", v / 10, v % 10);
    if !found.is_empty() && !opts.lenient {
        let list: Vec<String> = found.iter().map(ToString::to_string).collect();
        return Err(FeedError::Invalid(format!(
            "the alert breaks {} rule(s) of CAP {cap_version}: {}",
            found.len(),
            list.join("; ")
        )));
    }
    let signature = crate::dsig::verify(&doc, &opts.trust);
    let req = |name: &str| text(root, name).ok_or_else(|| FeedError::Invalid(format!("the alert has no <{name}>")));
    // Without these an alert cannot be told apart from the next, lenient or not.
    let identifier = req("identifier")?;
    let sender = req("sender")?;
    let sent = time(root, "sent")?.ok_or_else(|| FeedError::Invalid("the alert has no <sent>".into()))?;
    let status = text(root, "status").unwrap_or_default();
    let msg_type = match text(root, "msgType").unwrap_or_else(|| "Alert".into()).as_str() {
        "Alert" => MsgType::Alert,
        "Update" => MsgType::Update,
        "Cancel" => MsgType::Cancel,
        // Ack and Error acknowledge other messages; they carry no hazard.
        other @ ("Ack" | "Error") => return Err(FeedError::Invalid(format!("msgType {other} carries no hazard event"))),
        // Lenient: an unknown message type (a violation) is read as an alert.
        _ if opts.lenient => MsgType::Alert,
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
    // An update or cancellation that names nothing (a violation, refused when strict) is kept
    // leniently as an alert of its own.
    let msg_type = if references.is_empty() { MsgType::Alert } else { msg_type };
    let infos: Vec<Node> = children(root, "info").collect();
    let first = infos.first().copied();
    let mut areas = Vec::new();
    let mut expires = None;
    for i in &infos {
        for a in children(*i, "area") {
            // Lenient: an area whose shapes do not parse is listed among the violations.
            match area(a) {
                Ok(x) => areas.push(x),
                Err(e) if !opts.lenient => return Err(e),
                Err(_) => {}
            }
        }
        let expires_at = if opts.lenient {
            time(*i, "expires").ok().flatten()
        } else {
            time(*i, "expires")?
        };
        if let Some(e) = expires_at {
            expires = Some(expires.map_or(e, |x: i64| x.max(e)));
        }
    }
    let get = |name: &str| first.and_then(|i| text(i, name));
    let kind = get("event").unwrap_or_else(|| "alert".into());
    let title = get("headline").unwrap_or_else(|| kind.clone());
    let onset = match first {
        Some(i) => time(i, "onset").ok().flatten().or(time(i, "effective").ok().flatten()),
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
            "cap_version": cap_version,
            "valid": found.is_empty(),
            "violations": found,
            "signature": signature,
        }),
    })
}
