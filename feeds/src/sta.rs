//! OGC SensorThings API (river gauges, gas and fire IoT sensors): Things with their Locations,
//! Datastreams and Observations, as one entity (deep form) or a `{"value": […]}` collection.
//! An observation that crosses its datastream's threshold raises an event.

use crate::{Area, Event, FeedError, FeedFormat, MsgType, time::parse_iso8601};
use serde_json::{Value, json};

/// A threshold of one datastream (matched by name or `@iot.id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// Datastream name or id.
    pub datastream: String,
    /// An event when a result is below this …
    pub min: Option<f64>,
    /// … or above this.
    pub max: Option<f64>,
}

impl Threshold {
    /// Parse `NAME>MAX`, `NAME<MIN` (e.g. `水位>5.2`).
    pub fn parse(s: &str) -> Result<Threshold, FeedError> {
        let bad = |why: String| FeedError::Invalid(format!("threshold '{s}': {why}"));
        let (name, rest, is_max) = match (s.rfind('>'), s.rfind('<')) {
            (Some(i), _) => (&s[..i], &s[i + 1..], true),
            (None, Some(i)) => (&s[..i], &s[i + 1..], false),
            _ => return Err(bad("write DATASTREAM>MAX or DATASTREAM<MIN".into())),
        };
        let v: f64 = rest.trim().parse().map_err(|_| bad(format!("'{rest}' is not a number")))?;
        if !v.is_finite() {
            return Err(bad(format!("'{rest}' is not a finite number")));
        }
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("no datastream name".into()));
        }
        Ok(Threshold {
            datastream: name.to_string(),
            min: (!is_max).then_some(v),
            max: is_max.then_some(v),
        })
    }
}

/// The thresholds of a feed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds(pub Vec<Threshold>);

impl Thresholds {
    fn for_datastream(&self, name: &str, id: &str) -> Option<(Option<f64>, Option<f64>)> {
        let mut out: Option<(Option<f64>, Option<f64>)> = None;
        for t in self.0.iter().filter(|t| t.datastream == name || t.datastream == id) {
            let o = out.get_or_insert((None, None));
            o.0 = t.min.or(o.0);
            o.1 = t.max.or(o.1);
        }
        out
    }
}

fn location(thing: &Value) -> Option<(f64, f64)> {
    let loc = thing["Locations"].as_array()?.first()?;
    let g = &loc["location"];
    let g = if g["type"] == "Feature" { &g["geometry"] } else { g };
    if g["type"] != "Point" {
        return None;
    }
    let c = g["coordinates"].as_array()?;
    Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?))
}

fn id_of(v: &Value) -> Option<String> {
    match &v["@iot.id"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn datastream(ds: &Value, thing: Option<&Value>, t: &Thresholds, out: &mut Vec<Event>) -> Result<(), FeedError> {
    let name = ds["name"].as_str().map(str::to_string);
    let id = id_of(ds);
    let label = name
        .clone()
        .or_else(|| id.clone())
        .ok_or_else(|| FeedError::Invalid("a Datastream with neither a name nor an @iot.id".into()))?;
    let unit = ds["unitOfMeasurement"]["symbol"].as_str().unwrap_or("").to_string();
    let limits = t.for_datastream(name.as_deref().unwrap_or(""), id.as_deref().unwrap_or(""));
    let point = thing.and_then(location);
    let obs = match &ds["Observations"] {
        Value::Null => return Ok(()),
        Value::Array(a) => a,
        _ => return Err(FeedError::Invalid(format!("Datastream '{label}': Observations is not an array"))),
    };
    for (i, o) in obs.iter().enumerate() {
        let pt = o["phenomenonTime"]
            .as_str()
            .ok_or_else(|| FeedError::Invalid(format!("Datastream '{label}', observation {i}: no phenomenonTime")))?;
        // An interval "start/end" is dated by its end.
        let at = pt.rsplit('/').next().unwrap_or(pt);
        let time_ms = parse_iso8601(at).ok_or_else(|| {
            FeedError::Invalid(format!(
                "Datastream '{label}', observation {i}: phenomenonTime '{pt}' is not a date-time"
            ))
        })?;
        let Some(result) = o["result"].as_f64() else { continue };
        let Some((min, max)) = limits else { continue };
        let (crossed, bound) = match (min, max) {
            (_, Some(mx)) if result > mx => (">", mx),
            (Some(mn), _) if result < mn => ("<", mn),
            _ => continue,
        };
        let excess = if crossed == ">" { result - bound } else { bound - result };
        let rel = excess / bound.abs().max(1e-9);
        out.push(Event {
            id: format!("{label}@{}", crate::time::iso8601(time_ms)),
            format: FeedFormat::SensorThings,
            msg_type: MsgType::Alert,
            references: Vec::new(),
            kind: "sensor_threshold".into(),
            title: format!("{label}: {result}{unit} {crossed} {bound}{unit}"),
            severity: Some(
                if rel > 0.5 {
                    "Severe"
                } else if rel > 0.1 {
                    "Moderate"
                } else {
                    "Minor"
                }
                .into(),
            ),
            urgency: Some("Immediate".into()),
            certainty: Some("Observed".into()),
            magnitude: Some(result),
            time_ms: Some(time_ms),
            version_ms: Some(time_ms),
            expires_ms: None,
            point,
            areas: point
                .map(|p| Area {
                    desc: thing.and_then(|t| t["name"].as_str()).unwrap_or("").to_string(),
                    circles: vec![(p, 0.0)],
                    ..Area::default()
                })
                .into_iter()
                .collect(),
            properties: json!({
                "datastream": label,
                "datastream_id": id,
                "thing": thing.and_then(|t| t["name"].as_str()),
                "observed_property": ds["ObservedProperty"]["name"],
                "unit": unit,
                "result": result,
                "threshold": bound,
                "crossed": crossed,
            }),
        });
    }
    Ok(())
}

fn thing(th: &Value, t: &Thresholds, out: &mut Vec<Event>) -> Result<(), FeedError> {
    match &th["Datastreams"] {
        Value::Null => Ok(()),
        Value::Array(a) => a.iter().try_for_each(|ds| datastream(ds, Some(th), t, out)),
        _ => Err(FeedError::Invalid("a Thing whose Datastreams is not an array".into())),
    }
}

/// Parse SensorThings entities into threshold events.
pub fn parse(bytes: &[u8], t: &Thresholds) -> Result<Vec<Event>, FeedError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| FeedError::Json(e.to_string()))?;
    let mut out = Vec::new();
    let one = |e: &Value, out: &mut Vec<Event>| -> Result<(), FeedError> {
        if !e.is_object() {
            return Err(FeedError::Invalid("a SensorThings entity must be a JSON object".into()));
        }
        if e.get("Datastreams").is_some() || e.get("Locations").is_some() {
            thing(e, t, out)
        } else if e.get("Observations").is_some() || e.get("unitOfMeasurement").is_some() {
            let th = e.get("Thing");
            datastream(e, th, t, out)
        } else if e.get("phenomenonTime").is_some() {
            // A bare observation needs its Datastream expanded to be judged.
            match e.get("Datastream") {
                Some(ds) => {
                    let mut ds = ds.clone();
                    ds["Observations"] = json!([e]);
                    let th = ds.get("Thing").cloned();
                    datastream(&ds, th.as_ref(), t, out)
                }
                None => Err(FeedError::Invalid(
                    "an Observation without its Datastream ($expand=Datastream)".into(),
                )),
            }
        } else if e.get("taskingParameters").is_some() || e.get("Tasks").is_some() {
            // Tasking (actuation) entities carry no observations.
            Ok(())
        } else {
            Err(FeedError::Invalid("neither a Thing, a Datastream nor an Observation".into()))
        }
    };
    match v.get("value") {
        Some(Value::Array(list)) => {
            for e in list {
                one(e, &mut out)?;
            }
        }
        Some(_) => return Err(FeedError::Invalid("\"value\" is not an array".into())),
        None => one(&v, &mut out)?,
    }
    Ok(out)
}

/// The latest reading of one datastream of a Thing, with its alarm state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, ts_rs::TS)]
pub struct Reading {
    /// The Thing's name.
    pub thing: String,
    /// The datastream's name (or id).
    pub datastream: String,
    /// Unit symbol.
    pub unit: String,
    /// The Thing's location (longitude, latitude), if it has one.
    pub lonlat: Option<(f64, f64)>,
    /// When (ISO 8601, UTC).
    pub time: String,
    /// The latest result.
    pub value: f64,
    /// The limits that apply (below, above).
    pub limits: (Option<f64>, Option<f64>),
    /// `ok`, `low` or `high`.
    pub state: String,
}

/// The latest reading of every datastream in a SensorThings document (Things with their
/// Datastreams and Observations, one or a `{"value": […]}` collection), judged against the
/// thresholds given and those a Datastream states in its `properties` (`alarm_below`,
/// `alarm_above`; the given ones win).
pub fn readings(bytes: &[u8], t: &Thresholds) -> Result<Vec<Reading>, FeedError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| FeedError::Json(e.to_string()))?;
    let things: Vec<&Value> = match v.get("value") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(_) => return Err(FeedError::Invalid("\"value\" is not an array".into())),
        None => vec![&v],
    };
    let mut out = Vec::new();
    for th in things {
        let Some(dss) = th["Datastreams"].as_array() else { continue };
        for ds in dss {
            let name = ds["name"].as_str().map(str::to_string);
            let id = id_of(ds);
            let Some(label) = name.clone().or_else(|| id.clone()) else {
                return Err(FeedError::Invalid("a Datastream with neither a name nor an @iot.id".into()));
            };
            let latest = ds["Observations"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| {
                    let pt = o["phenomenonTime"].as_str()?;
                    let at = parse_iso8601(pt.rsplit('/').next().unwrap_or(pt))?;
                    Some((at, o["result"].as_f64()?))
                })
                .max_by_key(|(at, _)| *at);
            let Some((at, value)) = latest else { continue };
            let own = (ds["properties"]["alarm_below"].as_f64(), ds["properties"]["alarm_above"].as_f64());
            let given = t.for_datastream(name.as_deref().unwrap_or(""), id.as_deref().unwrap_or(""));
            let limits = (given.and_then(|g| g.0).or(own.0), given.and_then(|g| g.1).or(own.1));
            let state = match limits {
                (_, Some(mx)) if value > mx => "high",
                (Some(mn), _) if value < mn => "low",
                _ => "ok",
            };
            out.push(Reading {
                thing: th["name"].as_str().unwrap_or("").to_string(),
                datastream: label,
                unit: ds["unitOfMeasurement"]["symbol"].as_str().unwrap_or("").to_string(),
                lonlat: location(th),
                time: crate::time::iso8601(at),
                value,
                limits,
                state: state.into(),
            });
        }
    }
    Ok(out)
}
