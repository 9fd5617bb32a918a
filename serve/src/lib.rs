//! # jingwei-serve
//!
//! `jingwei serve`: the field-app API of the shared store for the city's mobile field apps and
//! case platform. Cases (read and write) and incidents (read only) as OGC API – Features
//! (Part 1 Core, GeoJSON, OpenAPI 3.0) with Part 4 transactions: POST creates a case, PUT
//! replaces its status and assignee, PATCH (JSON merge patch) changes them or adds a note;
//! every item carries an ETag (its version) and every write must carry `If-Match` with the
//! ETag it read — a write on a stale one is refused with 412 and the case as it is now; `*`
//! (RFC 9110: whatever is there) is the client's explicit choice to overwrite.
//! Records are never deleted: DELETE answers 405.
//!
//! Every request is one user's: TLS with a client certificate of the store's CA whose CN is
//! the user (first factor) and HTTP Basic with the user's store password (second factor,
//! checked against PostgreSQL's verifier). The gateway then acts as that user in the database
//! (`jingwei_app::gateway`), so the user's department, role, case loop, versions and audit
//! apply exactly as in the desktop app. Nothing here decides a right.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![recursion_limit = "512"]

pub mod http;
mod openapi;

pub use http::{Request, Response, Server, Tls};
use jingwei_app::Error;
use jingwei_app::gateway::{CaseChange, CaseQuery, FieldCase, Gateway, Login, SharedIncident};
use jingwei_app::shared::SharedCase;
use jingwei_cases::Status;
use jingwei_cases::incidents::IncidentStatus;
use serde_json::{Map, Value as J, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
/// Features per page unless asked.
pub const DEFAULT_LIMIT: i64 = 100;
/// Features per page at most.
pub const MAX_LIMIT: i64 = 1000;

/// The Part 1 and Part 4 conformance classes this server implements.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
];

/// The API over a gateway.
pub struct Api {
    gateway: Gateway,
    log: bool,
}

/// Serve `gateway` on `listen` over `tls`; one line per request on stderr when `log`.
pub fn start(gateway: Gateway, listen: SocketAddr, tls: &Tls, log: bool) -> Result<Server, String> {
    let api = Arc::new(Api { gateway, log });
    Server::start(listen, tls, move |req| api.handle(req))
}

/// A refusal on the way (a response ready to send).
type Answer<T> = Result<T, Response>;

fn bad(description: impl AsRef<str>) -> Response {
    Response::error(400, "invalid", description.as_ref())
}

impl Api {
    /// Answer one request.
    pub fn handle(&self, req: &Request) -> Response {
        let t = Instant::now();
        let mut who = String::from("-");
        let resp = match self.route(req, &mut who) {
            Ok(r) | Err(r) => r,
        };
        if self.log {
            eprintln!(
                "{} {} {} {} {} {} {:.1}ms",
                jingwei_cases::now_utc(),
                req.peer,
                who,
                req.method.escape_debug(),
                // Decoded from the request: a %0A must not start a line of its own.
                req.path.escape_debug(),
                resp.status,
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        resp
    }

    fn authenticate(&self, req: &Request) -> Answer<String> {
        use base64::Engine;
        let challenge =
            |why: &str| Response::error(401, "unauthenticated", why).with("WWW-Authenticate", "Basic realm=\"jingwei\", charset=\"UTF-8\"");
        let Some(auth) = req.header("authorization") else {
            return Err(challenge("log in with your store user name and password (HTTP Basic)"));
        };
        let (scheme, b64) = auth.split_once(' ').unwrap_or((auth, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(challenge("only HTTP Basic (over this TLS connection) is accepted"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            return Err(challenge("the Basic credentials are not base64 of user:password"));
        };
        if user != req.peer {
            return Err(Response::error(
                403,
                "forbidden",
                &format!("the client certificate is {}'s, not {user}'s", req.peer),
            ));
        }
        match self.gateway.login(user, password) {
            Ok(Login::Ok) => Ok(user.to_owned()),
            Ok(Login::Wrong) => Err(challenge("wrong user name or password, or not a field user of the store")),
            Ok(Login::Locked(secs)) => Err(Response::error(
                429,
                "locked",
                &format!("too many wrong passwords for {user}: try again in {secs} s"),
            )
            .with("Retry-After", secs.to_string())),
            Err(e) => Err(failure(&e)),
        }
    }

    fn route(&self, req: &Request, who: &mut String) -> Answer<Response> {
        let user = self.authenticate(req)?;
        *who = user.clone();
        let base = base_url(req);
        let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        let m = req.method.as_str();
        match segs.as_slice() {
            [] => {
                only(m, "GET")?;
                allow_query(req, &["f"])?;
                Ok(Response::json(200, JSON, &landing(&base)))
            }
            ["api"] => {
                only(m, "GET")?;
                allow_query(req, &["f"])?;
                Ok(Response::json(
                    200,
                    "application/vnd.oai.openapi+json;version=3.0",
                    &openapi::document(&base),
                ))
            }
            ["conformance"] => {
                only(m, "GET")?;
                allow_query(req, &["f"])?;
                Ok(Response::json(200, JSON, &json!({ "conformsTo": CONFORMANCE })))
            }
            ["collections"] => {
                only(m, "GET")?;
                allow_query(req, &["f"])?;
                Ok(Response::json(
                    200,
                    JSON,
                    &json!({
                        "links": [link(&format!("{base}/collections"), "self", JSON, "collections")],
                        "collections": [collection(&base, "cases"), collection(&base, "incidents")],
                    }),
                ))
            }
            ["collections", c] => {
                let c = known_collection(c)?;
                only(m, "GET")?;
                allow_query(req, &["f"])?;
                Ok(Response::json(200, JSON, &collection(&base, c)))
            }
            ["collections", "cases", "items"] => match m {
                "GET" => self.list_cases(req, &user, &base),
                "POST" => self.create_case(req, &user, &base),
                _ => Err(not_allowed("GET, POST")),
            },
            ["collections", "incidents", "items"] => match m {
                "GET" => self.list_incidents(req, &user, &base),
                _ => Err(not_allowed("GET").with_description("incidents are read-only here: commanders keep them in the app")),
            },
            ["collections", "cases", "items", id] => {
                if !matches!(m, "GET" | "PUT" | "PATCH") {
                    return Err(
                        not_allowed("GET, PUT, PATCH").with_description("cases are never deleted: dismiss or close them (PATCH status)")
                    );
                }
                let id = item_id(id)?;
                match m {
                    "GET" => {
                        allow_query(req, &["f"])?;
                        let c = self.gateway.case(&user, id).map_err(|e| failure(&e))?;
                        Ok(if_none_match(req, &case_etag(&c)).unwrap_or_else(|| case_response(200, &base, &c)))
                    }
                    "PUT" => self.replace_case(req, &user, &base, id),
                    _ => self.patch_case(req, &user, &base, id),
                }
            }
            ["collections", "incidents", "items", id] => {
                only(m, "GET").map_err(|r| r.with_description("incidents are read-only here"))?;
                let id = item_id(id)?;
                allow_query(req, &["f"])?;
                let i = self.gateway.incident(&user, id).map_err(|e| failure(&e))?;
                let etag = format!("\"i{}.v{}\"", i.id, i.version);
                Ok(if_none_match(req, &etag)
                    .unwrap_or_else(|| Response::json(200, GEOJSON, &incident_feature(&base, &i)).with("ETag", etag)))
            }
            ["collections", _, "items", ..] | ["collections", _, ..] => {
                Err(Response::error(404, "not_found", &format!("no collection or item at {}", req.path)))
            }
            _ => Err(Response::error(404, "not_found", &format!("nothing at {}", req.path))),
        }
    }

    fn list_cases(&self, req: &Request, user: &str, base: &str) -> Answer<Response> {
        allow_query(req, &["f", "limit", "offset", "bbox", "status"])?;
        let (limit, offset) = paging(req)?;
        let bbox = match query(req, "bbox") {
            Some(b) => Some(parse_bbox(b)?),
            None => None,
        };
        let statuses = statuses(req, Status::parse, "pending, confirmed, dismissed, rectifying or closed")?;
        let page = self
            .gateway
            .cases(
                user,
                &CaseQuery {
                    statuses,
                    bbox,
                    limit,
                    offset,
                },
            )
            .map_err(|e| failure(&e))?;
        let features: Vec<J> = page.items.iter().map(|c| case_feature(base, c)).collect();
        Ok(Response::json(
            200,
            GEOJSON,
            &collection_page(base, "cases", req, features, page.matched, limit, offset),
        ))
    }

    fn list_incidents(&self, req: &Request, user: &str, base: &str) -> Answer<Response> {
        allow_query(req, &["f", "limit", "offset", "status"])?;
        let (limit, offset) = paging(req)?;
        let statuses = statuses(req, IncidentStatus::parse, "active, contained or closed")?;
        let page = self.gateway.incidents(user, &statuses, limit, offset).map_err(|e| failure(&e))?;
        let features: Vec<J> = page.items.iter().map(|i| incident_feature(base, i)).collect();
        Ok(Response::json(
            200,
            GEOJSON,
            &collection_page(base, "incidents", req, features, page.matched, limit, offset),
        ))
    }

    fn create_case(&self, req: &Request, user: &str, base: &str) -> Answer<Response> {
        allow_query(req, &[])?;
        let body = json_body(req, &[GEOJSON, JSON])?;
        let obj = object(&body, "the body")?;
        allow_keys(obj, &["type", "geometry", "properties"], "a new feature")?;
        if obj.get("type").and_then(J::as_str) != Some("Feature") {
            return Err(bad("the body is a GeoJSON Feature (\"type\": \"Feature\")"));
        }
        let props = object(obj.get("properties").unwrap_or(&J::Null), "properties")?;
        allow_keys(props, &["title", "priority", "phone", "id_number"], "a new case's properties")?;
        let title = match props.get("title") {
            Some(J::String(t)) if text_ok(t, 200) => t.trim().to_owned(),
            _ => return Err(bad("properties.title: a text of 1 to 200 characters (no NUL)")),
        };
        let priority = match props.get("priority") {
            None => 50.0,
            Some(p) => match p.as_f64() {
                Some(p) if (0.0..=100.0).contains(&p) => p,
                _ => return Err(bad("properties.priority: a number from 0 to 100")),
            },
        };
        let personal = |k: &str| -> Answer<Option<String>> {
            match props.get(k) {
                None | Some(J::Null) => Ok(None),
                Some(J::String(s)) if text_ok(s, 64) => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(bad(format!("properties.{k}: a text of 1 to 64 characters"))),
            }
        };
        let (phone, id_number) = (personal("phone")?, personal("id_number")?);
        if (phone.is_some() || id_number.is_some()) && !self.gateway.has_key() {
            return Err(Response::error(
                422,
                "no_data_key",
                "this server keeps no personal fields (it runs without the data key): send the case without phone and id_number",
            ));
        }
        let geometry = match obj.get("geometry") {
            None | Some(J::Null) => None,
            Some(g) => Some(parse_geometry(g).map_err(|e| bad(format!("geometry: {e}")))?),
        };
        let c = self
            .gateway
            .flag(
                user,
                &FieldCase {
                    title,
                    priority,
                    geometry,
                    phone,
                    id_number,
                },
            )
            .map_err(|e| failure(&e))?;
        Ok(case_response(201, base, &c).with("Location", format!("{base}/collections/cases/items/{}", c.id)))
    }

    /// The version named by If-Match (`*`: the case's own, last writer wins), or 428.
    fn read_version(&self, req: &Request, user: &str, id: i64) -> Answer<i32> {
        let Some(m) = req.header("if-match").filter(|m| !m.trim().is_empty()) else {
            return Err(Response::error(
                428,
                "precondition_required",
                "send If-Match with the ETag you read, so that nobody's change is overwritten unseen",
            ));
        };
        if m.trim() == "*" {
            return Ok(self.gateway.case(user, id).map_err(|e| failure(&e))?.version);
        }
        let prefix = format!("\"c{id}.v");
        let versions: Vec<i32> = m
            .split(',')
            .map(str::trim)
            .filter_map(|tag| {
                tag.strip_prefix(&prefix)
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|v| v.parse().ok())
            })
            .collect();
        if let [v] = versions.as_slice() {
            return Ok(*v);
        }
        // Several ETags: the one that is the case's now, if any (RFC 9110 §13.1.1); none of
        // this case at all: the precondition fails against the case as it is.
        let now = self.gateway.case(user, id).map_err(|e| failure(&e))?;
        if versions.contains(&now.version) {
            return Ok(now.version);
        }
        Err(stale(base_url(req).as_str(), versions.first().copied(), &now))
    }

    fn replace_case(&self, req: &Request, user: &str, base: &str, id: i64) -> Answer<Response> {
        allow_query(req, &[])?;
        let body = json_body(req, &[GEOJSON, JSON])?;
        let obj = object(&body, "the body")?;
        allow_keys(obj, &["type", "id", "geometry", "properties", "links"], "a feature")?;
        if obj.get("type").and_then(J::as_str) != Some("Feature") {
            return Err(bad("the body is a GeoJSON Feature (\"type\": \"Feature\")"));
        }
        if let Some(fid) = obj.get("id")
            && fid.as_i64() != Some(id)
            && fid.as_str() != Some(id.to_string().as_str())
        {
            return Err(bad(format!("the feature's id is not {id}")));
        }
        let props = object(obj.get("properties").unwrap_or(&J::Null), "properties")?;
        let writable = ["status", "assignee", "comment"];
        for k in props.keys() {
            if !writable.contains(&k.as_str()) && !openapi::CASE_READ_ONLY.contains(&k.as_str()) {
                return Err(bad(format!("properties.{k}: not a property of a case")));
            }
        }
        let status = match props.get("status").and_then(J::as_str).and_then(Status::parse) {
            Some(s) => s,
            None => return Err(bad("properties.status: pending, confirmed, dismissed, rectifying or closed")),
        };
        let assignee = assignee_of(props.get("assignee").unwrap_or(&J::Null))?;
        let comment = comment_of(props.get("comment"))?;
        let mine = match obj.get("geometry") {
            None => None,
            Some(J::Null) => Some(J::Null),
            Some(g) => Some(jingwei_layers::geojson::geometry(
                &parse_geometry(g).map_err(|e| bad(format!("geometry: {e}")))?,
            )),
        };
        // The body is sound; now whether it was written against the case as it is.
        let version = self.read_version(req, user, id)?;
        if let Some(mine) = mine {
            let now = self.gateway.case(user, id).map_err(|e| failure(&e))?;
            let theirs = now.geometry.as_ref().map(jingwei_layers::geojson::geometry).unwrap_or(J::Null);
            if mine != theirs {
                return Err(Response::error(
                    409,
                    "fixed",
                    "a case's location is fixed once it is flagged; flag a new case for another place",
                ));
            }
        }
        let change = CaseChange {
            status: Some(status),
            assignee: Some(assignee),
            comment,
        };
        let c = self
            .gateway
            .change(user, id, version, &change)
            .map_err(|e| failure_at(&e, base, version))?;
        Ok(case_response(200, base, &c))
    }

    fn patch_case(&self, req: &Request, user: &str, base: &str, id: i64) -> Answer<Response> {
        allow_query(req, &[])?;
        let body = json_body(req, &["application/merge-patch+json", JSON])?;
        let obj = object(&body, "the body")?;
        for k in obj.keys() {
            match k.as_str() {
                "properties" => {}
                "geometry" => {
                    return Err(Response::error(
                        409,
                        "fixed",
                        "a case's location is fixed once it is flagged; flag a new case for another place",
                    ));
                }
                k => return Err(bad(format!("{k}: a merge patch of a case changes only its properties"))),
            }
        }
        let empty = Map::new();
        let props = match obj.get("properties") {
            None => &empty,
            Some(p) => object(p, "properties")?,
        };
        let mut change = CaseChange::default();
        for (k, v) in props {
            match k.as_str() {
                "status" => {
                    change.status = Some(
                        v.as_str()
                            .and_then(Status::parse)
                            .ok_or_else(|| bad("properties.status: pending, confirmed, dismissed, rectifying or closed"))?,
                    )
                }
                "assignee" => change.assignee = Some(assignee_of(v)?),
                "comment" => change.comment = comment_of(Some(v))?,
                k if openapi::CASE_READ_ONLY.contains(&k) => {
                    return Err(Response::error(
                        409,
                        "fixed",
                        &format!("properties.{k} is the store's, not changed by a patch"),
                    ));
                }
                k => return Err(bad(format!("properties.{k}: not a property of a case"))),
            }
        }
        let version = self.read_version(req, user, id)?;
        let c = self
            .gateway
            .change(user, id, version, &change)
            .map_err(|e| failure_at(&e, base, version))?;
        Ok(case_response(200, base, &c))
    }
}

trait Describe {
    fn with_description(self, d: &str) -> Response;
}

impl Describe for Response {
    fn with_description(mut self, d: &str) -> Response {
        if let Ok(mut v) = serde_json::from_slice::<J>(&self.body) {
            v["description"] = J::String(d.to_owned());
            self.body = serde_json::to_vec(&v).unwrap_or_default();
        }
        self
    }
}

fn only(method: &str, allowed: &str) -> Answer<()> {
    if method == allowed { Ok(()) } else { Err(not_allowed(allowed)) }
}

fn not_allowed(allow: &str) -> Response {
    Response::error(405, "method_not_allowed", &format!("allowed here: {allow}")).with("Allow", allow)
}

fn known_collection(c: &str) -> Answer<&str> {
    match c {
        "cases" | "incidents" => Ok(c),
        _ => Err(Response::error(
            404,
            "not_found",
            &format!("no collection '{c}' (cases, incidents)"),
        )),
    }
}

fn item_id(s: &str) -> Answer<i64> {
    s.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| Response::error(404, "not_found", &format!("no item '{s}' (ids are positive integers)")))
}

fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Unknown parameters are refused (OGC API – Features, /req/core/query-param-unknown), as are
/// repeated ones and any `f` but json.
fn allow_query(req: &Request, allowed: &[&str]) -> Answer<()> {
    for (i, (k, v)) in req.query.iter().enumerate() {
        if !allowed.contains(&k.as_str()) {
            return Err(bad(format!("unknown query parameter '{k}'")));
        }
        if req.query[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(bad(format!("query parameter '{k}' given twice")));
        }
        if k == "f" && v != "json" {
            return Err(bad(format!("f={v}: this server answers json only")));
        }
    }
    Ok(())
}

/// The `status` parameter, a comma-separated list (empty: all), each parsed by `parse`.
fn statuses<T>(req: &Request, parse: fn(&str) -> Option<T>, allowed: &str) -> Answer<Vec<T>> {
    query(req, "status")
        .map(|s| {
            s.split(',')
                .map(|x| parse(x.trim()).ok_or_else(|| bad(format!("status '{x}': {allowed}"))))
                .collect()
        })
        .unwrap_or(Ok(Vec::new()))
}

fn paging(req: &Request) -> Answer<(i64, i64)> {
    let limit = match query(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIMIT).contains(l))
            .ok_or_else(|| bad(format!("limit={l}: an integer from 1 to {MAX_LIMIT}")))?,
    };
    let offset = match query(req, "offset") {
        None => 0,
        Some(o) => o
            .parse::<i64>()
            .ok()
            .filter(|o| *o >= 0)
            .ok_or_else(|| bad(format!("offset={o}: an integer from 0")))?,
    };
    Ok((limit, offset))
}

fn parse_bbox(s: &str) -> Answer<[f64; 4]> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(format!("bbox={s}: four numbers, min lon, min lat, max lon, max lat")))?;
    match v.as_slice() {
        [a, b, c, d]
            if v.iter().all(|x| x.is_finite())
                && (-180.0..=180.0).contains(a)
                && (-180.0..=180.0).contains(c)
                && (-90.0..=90.0).contains(b)
                && (-90.0..=90.0).contains(d)
                && a <= c
                && b <= d =>
        {
            Ok([*a, *b, *c, *d])
        }
        _ => Err(bad(format!("bbox={s}: min lon, min lat, max lon, max lat (CRS84, min before max)"))),
    }
}

fn json_body(req: &Request, media: &[&str]) -> Answer<J> {
    let ct = req.header("content-type").unwrap_or("");
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !media.contains(&essence.as_str()) {
        return Err(Response::error(
            415,
            "media_type",
            &format!("send the body as {} (not '{ct}')", media.join(" or ")),
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| bad(format!("the body is not JSON: {e}")))
}

fn object<'a>(v: &'a J, what: &str) -> Answer<&'a Map<String, J>> {
    v.as_object().ok_or_else(|| bad(format!("{what}: a JSON object")))
}

fn allow_keys(o: &Map<String, J>, allowed: &[&str], what: &str) -> Answer<()> {
    match o.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(format!("{what}: unknown member '{k}'"))),
        None => Ok(()),
    }
}

/// Something besides blanks, at most `max` characters, no NUL.
fn text_ok(s: &str, max: usize) -> bool {
    !s.trim().is_empty() && s.chars().count() <= max && !s.contains('\0')
}

fn assignee_of(v: &J) -> Answer<Option<String>> {
    match v {
        J::Null => Ok(None),
        J::String(s) if text_ok(s, 63) => Ok(Some(s.trim().to_owned())),
        _ => Err(bad("properties.assignee: a user name of 1 to 63 characters, or null")),
    }
}

fn comment_of(v: Option<&J>) -> Answer<Option<String>> {
    match v {
        None | Some(J::Null) => Ok(None),
        Some(J::String(s)) if text_ok(s, 2000) => Ok(Some(s.trim().to_owned())),
        Some(_) => Err(bad("properties.comment: a text of 1 to 2000 characters")),
    }
}

/// `https://host[:port]` of the request (its Host header, if it is a plain host name).
fn base_url(req: &Request) -> String {
    let host = req
        .header("host")
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .unwrap_or("localhost");
    format!("https://{host}")
}

fn link(href: &str, rel: &str, media: &str, title: &str) -> J {
    json!({"href": href, "rel": rel, "type": media, "title": title})
}

fn landing(base: &str) -> J {
    json!({
        "title": "Jingwei 经纬 — field-app API",
        "description": "Cases (线索) of the shared store, read and written as the logged-in user; incidents read-only.",
        "links": [
            link(&format!("{base}/"), "self", JSON, "this document"),
            link(&format!("{base}/api"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "the API definition"),
            link(&format!("{base}/conformance"), "conformance", JSON, "conformance classes"),
            link(&format!("{base}/collections"), "data", JSON, "collections"),
        ]
    })
}

fn collection(base: &str, id: &str) -> J {
    let (title, description) = match id {
        "cases" => (
            "线索 Cases",
            "Cases of your department: read, flag (POST), change status or assignee (PUT, PATCH with If-Match).",
        ),
        _ => ("事件 Incidents", "Incidents of your department, read-only."),
    };
    json!({
        "id": id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": {"spatial": {"bbox": [[73.0, 3.0, 136.0, 54.0]], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
        "links": [
            link(&format!("{base}/collections/{id}"), "self", JSON, title),
            link(&format!("{base}/collections/{id}/items"), "items", GEOJSON, title),
        ]
    })
}

fn collection_page(base: &str, id: &str, req: &Request, features: Vec<J>, matched: i64, limit: i64, offset: i64) -> J {
    let returned = features.len() as i64;
    let keep: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k != "offset" && k != "limit")
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect();
    let page = |o: i64| {
        let mut q = keep.clone();
        q.push(format!("limit={limit}"));
        q.push(format!("offset={o}"));
        format!("{base}/collections/{id}/items?{}", q.join("&"))
    };
    let mut links = vec![
        link(&page(offset), "self", GEOJSON, "this page"),
        link(&format!("{base}/collections/{id}"), "collection", JSON, "the collection"),
    ];
    if offset + returned < matched {
        links.push(link(&page(offset + limit), "next", GEOJSON, "the next page"));
    }
    if offset > 0 {
        links.push(link(&page((offset - limit).max(0)), "prev", GEOJSON, "the previous page"));
    }
    json!({
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": jingwei_cases::now_utc(),
        "links": links,
    })
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn case_etag(c: &SharedCase) -> String {
    format!("\"c{}.v{}\"", c.id, c.version)
}

fn case_feature(base: &str, c: &SharedCase) -> J {
    json!({
        "type": "Feature",
        "id": c.id,
        "geometry": c.geometry.as_ref().map(jingwei_layers::geojson::geometry),
        "properties": {
            "case_no": c.case_no,
            "department": c.department,
            "status": c.status.id(),
            "priority": c.priority,
            "rules": c.rules,
            "title": c.title,
            "source": c.source,
            "assignee": c.assignee,
            "building_layer": c.building_layer,
            "building_fid": c.building_fid,
            "phone": c.phone,
            "id_number": c.id_number,
            "personal_sealed": c.personal_sealed,
            "created_at": c.created_at,
            "created_by": c.created_by,
            "updated_at": c.updated_at,
            "updated_by": c.updated_by,
            "version": c.version,
        },
        "links": [
            link(&format!("{base}/collections/cases/items/{}", c.id), "self", GEOJSON, &c.case_no),
            link(&format!("{base}/collections/cases"), "collection", JSON, "cases"),
        ]
    })
}

fn case_response(status: u16, base: &str, c: &SharedCase) -> Response {
    Response::json(status, GEOJSON, &case_feature(base, c)).with("ETag", case_etag(c))
}

fn incident_feature(base: &str, i: &SharedIncident) -> J {
    json!({
        "type": "Feature",
        "id": i.id,
        "geometry": i.geometry.as_ref().map(jingwei_layers::geojson::geometry),
        "properties": {
            "incident_no": i.incident_no,
            "department": i.department,
            "kind": i.kind,
            "severity": i.severity,
            "status": i.status.id(),
            "title": i.title,
            "source": i.source,
            "event_id": i.event_id,
            "rings_m": i.rings_m,
            "occurred_at": i.occurred_at,
            "created_at": i.created_at,
            "created_by": i.created_by,
            "updated_at": i.updated_at,
            "updated_by": i.updated_by,
            "version": i.version,
        },
        "links": [
            link(&format!("{base}/collections/incidents/items/{}", i.id), "self", GEOJSON, &i.incident_no),
            link(&format!("{base}/collections/incidents"), "collection", JSON, "incidents"),
        ]
    })
}

fn if_none_match(req: &Request, etag: &str) -> Option<Response> {
    let m = req.header("if-none-match")?;
    let hit = m.trim() == "*" || m.split(',').any(|t| t.trim().trim_start_matches("W/") == etag);
    hit.then(|| Response {
        status: 304,
        headers: vec![("ETag".into(), etag.into())],
        body: Vec::new(),
    })
}

/// 412: the version read is not the case's; the case as it is now goes with it.
fn stale(base: &str, read: Option<i32>, now: &SharedCase) -> Response {
    Response::json(
        412,
        JSON,
        &json!({
            "code": "stale",
            "description": format!(
                "case {}: changed by {} at {} (version {}){}; read it again and redo your change",
                now.case_no,
                now.updated_by,
                now.updated_at,
                now.version,
                read.map(|v| format!(" since you read version {v}")).unwrap_or_default()
            ),
            "read_version": read,
            "current": case_feature(base, now),
        }),
    )
    .with("ETag", case_etag(now))
}

fn failure_at(e: &Error, base: &str, read: i32) -> Response {
    match e {
        Error::Store(jingwei_app::shared::StoreError::Stale { theirs, .. }) => stale(base, Some(read), theirs),
        e => failure(e),
    }
}

/// An error of the API as a status: what the store refused is the client's (4xx); a store out
/// of reach is 503; anything else is ours (500, the detail only in the log).
fn failure(e: &Error) -> Response {
    use jingwei_app::shared::StoreError as S;
    let (status, code) = match e {
        Error::Invalid(_) | Error::Store(S::Invalid(_)) => (400, "invalid"),
        Error::Store(S::NotFound { .. }) => (404, "not_found"),
        Error::Store(S::Denied { .. }) => (403, "forbidden"),
        Error::Store(S::Transition(_)) => (409, "transition"),
        Error::Store(S::Stale { .. } | S::StaleIncident { .. }) => (412, "stale"),
        Error::Store(S::Connect { .. }) => (503, "unavailable"),
        Error::Store(S::Sql { code: None, .. }) => (503, "unavailable"),
        Error::Store(S::Sql { code: Some(c), .. }) if c.starts_with("23") => (422, "refused"),
        Error::Store(S::Sql { code: Some(c), .. }) if c.starts_with("22") => (400, "invalid"),
        Error::Store(S::Sql { code: Some(c), .. }) if c == "40001" || c == "40P01" => (409, "conflict"),
        Error::Store(S::Sql { code: Some(c), .. }) if c == "55P03" || c == "57014" || c.starts_with("08") || c.starts_with("57P") => {
            (503, "unavailable")
        }
        _ => (500, "internal"),
    };
    if status >= 500 {
        eprintln!("jingwei serve: {e}");
    }
    // The client learns what was refused, not where the store is.
    let description = match e {
        _ if status == 503 => "the store is out of reach or busy; try again shortly".to_owned(),
        _ if status == 500 => "the server failed on this request; it is logged".to_owned(),
        Error::Store(S::Denied { message, .. }) => format!("refused: {message}"),
        Error::Store(S::NotFound { what, id, .. }) => format!("no {what} '{id}' in your department"),
        Error::Store(S::Sql { message, .. }) => message.clone(),
        e => e.to_string(),
    };
    let r = Response::error(status, code, &description);
    if status == 503 { r.with("Retry-After", "5") } else { r }
}

/// A GeoJSON geometry (RFC 7946, longitude and latitude in CGCS2000 ≈ CRS84) as a flagged
/// case may have one: Point, Polygon or MultiPolygon, rings closed, coordinates in range.
pub fn parse_geometry(g: &J) -> Result<geo::Geometry, String> {
    fn pos(v: &J) -> Result<geo::Coord, String> {
        let a = v.as_array().ok_or("a position is an array of numbers")?;
        if !(2..=3).contains(&a.len()) {
            return Err("a position has 2 or 3 numbers".into());
        }
        let (x, y) = (
            a[0].as_f64().ok_or("a position is an array of numbers")?,
            a[1].as_f64().ok_or("a position is an array of numbers")?,
        );
        if a.len() == 3 && a[2].as_f64().is_none() {
            return Err("a position is an array of numbers".into());
        }
        if !((-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)) {
            return Err(format!("[{x}, {y}] is not a longitude and latitude"));
        }
        Ok(geo::Coord { x, y })
    }
    fn ring(v: &J) -> Result<geo::LineString, String> {
        let a = v.as_array().ok_or("a ring is an array of positions")?;
        let cs = a.iter().map(pos).collect::<Result<Vec<_>, _>>()?;
        if cs.len() < 4 || cs.first() != cs.last() {
            return Err("a ring has at least 4 positions and ends where it starts".into());
        }
        Ok(geo::LineString(cs))
    }
    fn polygon(v: &J) -> Result<geo::Polygon, String> {
        let a = v.as_array().ok_or("a polygon is an array of rings")?;
        let mut rings = a.iter().map(ring).collect::<Result<Vec<_>, _>>()?;
        if rings.is_empty() {
            return Err("a polygon has an outer ring".into());
        }
        let outer = rings.remove(0);
        Ok(geo::Polygon::new(outer, rings))
    }
    let o = g.as_object().ok_or("a GeoJSON geometry object")?;
    let coords = o.get("coordinates").ok_or("a geometry has coordinates")?;
    match o.get("type").and_then(J::as_str) {
        Some("Point") => Ok(geo::Geometry::Point(geo::Point(pos(coords)?))),
        Some("Polygon") => Ok(geo::Geometry::Polygon(polygon(coords)?)),
        Some("MultiPolygon") => {
            let a = coords.as_array().ok_or("a multipolygon is an array of polygons")?;
            if a.is_empty() {
                return Err("a multipolygon has at least one polygon".into());
            }
            Ok(geo::Geometry::MultiPolygon(geo::MultiPolygon(
                a.iter().map(polygon).collect::<Result<_, _>>()?,
            )))
        }
        Some(t) => Err(format!("a case is a Point, Polygon or MultiPolygon, not {t}")),
        None => Err("a geometry has a type".into()),
    }
}
