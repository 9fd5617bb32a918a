//! GeoJSON event feeds in the USGS earthquake style: a FeatureCollection whose features have an
//! `id`, a Point geometry (lon, lat, depth km) and properties with `time` and `updated` in Unix
//! milliseconds, `mag`, `place`, `title`, `type`.

use crate::{Area, Event, FeedError, FeedFormat, MsgType};
use serde_json::Value;

/// Parse a whole feed; every feature must be a valid event (the error names the first that is
/// not, by index and id).
pub fn parse(bytes: &[u8]) -> Result<Vec<Event>, FeedError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| FeedError::Json(e.to_string()))?;
    if v["type"] != "FeatureCollection" {
        return Err(FeedError::Invalid("a GeoJSON event feed must be a FeatureCollection".into()));
    }
    let features = v["features"]
        .as_array()
        .ok_or_else(|| FeedError::Invalid("the FeatureCollection has no \"features\" array".into()))?;
    features.iter().enumerate().map(|(i, f)| feature(i, f)).collect()
}

fn feature(i: usize, f: &Value) -> Result<Event, FeedError> {
    let bad = |what: &str| FeedError::Invalid(format!("feature {i} ({}): {what}", f["id"].as_str().unwrap_or("no id")));
    if f["type"] != "Feature" {
        return Err(bad("not a Feature"));
    }
    let id = f["id"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| bad("no \"id\""))?;
    let p = &f["properties"];
    if !p.is_object() {
        return Err(bad("no properties"));
    }
    let time_ms = p["time"].as_i64().ok_or_else(|| bad("no \"time\" in milliseconds"))?;
    let version_ms = match &p["updated"] {
        Value::Null => time_ms,
        u => u.as_i64().ok_or_else(|| bad("\"updated\" is not milliseconds"))?,
    };
    let point = match &f["geometry"] {
        Value::Null => None,
        g => {
            if g["type"] != "Point" {
                return Err(bad("the geometry is not a Point"));
            }
            let c = g["coordinates"].as_array().ok_or_else(|| bad("Point without coordinates"))?;
            let (lon, lat) = (c.first().and_then(Value::as_f64), c.get(1).and_then(Value::as_f64));
            match (lon, lat) {
                (Some(lon), Some(lat)) if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) => Some((lon, lat)),
                _ => return Err(bad("coordinates are not lon, lat in degrees")),
            }
        }
    };
    let mag = match &p["mag"] {
        Value::Null => None,
        m => Some(m.as_f64().ok_or_else(|| bad("\"mag\" is not a number"))?),
    };
    let kind = p["type"].as_str().unwrap_or("earthquake").to_string();
    let title = p["title"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            p["place"]
                .as_str()
                .map(|pl| format!("M {} - {pl}", mag.map_or("?".into(), |m| format!("{m:.1}"))))
        })
        .unwrap_or_else(|| id.to_string());
    // A severity on CAP's scale from the magnitude, so that all feeds sort alike.
    let severity = mag.map(|m| {
        match m {
            m if m >= 7.0 => "Extreme",
            m if m >= 6.0 => "Severe",
            m if m >= 4.5 => "Moderate",
            _ => "Minor",
        }
        .to_string()
    });
    Ok(Event {
        id: id.to_string(),
        format: FeedFormat::GeojsonEvents,
        msg_type: MsgType::Alert,
        references: Vec::new(),
        kind,
        title,
        severity,
        urgency: None,
        certainty: None,
        magnitude: mag,
        time_ms: Some(time_ms),
        version_ms: Some(version_ms),
        expires_ms: None,
        point,
        areas: point
            .map(|pt| Area {
                desc: p["place"].as_str().unwrap_or("").to_string(),
                circles: vec![(pt, 0.0)],
                ..Area::default()
            })
            .into_iter()
            .collect(),
        properties: p.clone(),
    })
}
