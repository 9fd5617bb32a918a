//! The OpenAPI 3.0 definition of the field-app API (`GET /api`): every path, parameter, body
//! and answer the server gives, so that clients can be generated from it and a fuzzer
//! (schemathesis, in the tests) can hold the server to it.

use serde_json::{Value as J, json};

/// Properties of a case that the store sets: accepted back unchanged in a PUT (as a client that
/// read the feature sends it), never changed by one.
pub const CASE_READ_ONLY: &[&str] = &[
    "case_no",
    "department",
    "priority",
    "rules",
    "title",
    "source",
    "building_layer",
    "building_fid",
    "phone",
    "id_number",
    "personal_sealed",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
];

/// A text with something in it and no NUL (PostgreSQL's text cannot hold one).
const TEXT: &str = "^[^\\u0000]*\\S[^\\u0000]*$";

fn r(name: &str) -> J {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn resp(name: &str) -> J {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn param(name: &str) -> J {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn body(media: &[&str], schema: J) -> J {
    let mut content = serde_json::Map::new();
    for m in media {
        content.insert((*m).to_owned(), json!({ "schema": schema }));
    }
    json!({ "required": true, "content": content })
}

fn ok(description: &str, media: &str, schema: J) -> J {
    json!({ "description": description, "content": { media: { "schema": schema } } })
}

fn errors(codes: &[&str]) -> serde_json::Map<String, J> {
    codes
        .iter()
        .map(|c| {
            let name = match *c {
                "304" => "NotModified",
                "400" => "BadRequest",
                "401" => "Unauthorized",
                "403" => "Forbidden",
                "404" => "NotFound",
                "405" => "NotAllowed",
                "409" => "Conflict",
                "412" => "Stale",
                "413" => "TooLarge",
                "415" => "MediaType",
                "422" => "Refused",
                "428" => "PreconditionRequired",
                "429" => "Locked",
                "500" => "ServerError",
                _ => "Unavailable",
            };
            ((*c).to_owned(), resp(name))
        })
        .collect()
}

fn responses(first: (&str, J), codes: &[&str]) -> J {
    let mut m = errors(codes);
    m.insert(first.0.to_owned(), first.1);
    J::Object(m)
}

const READ: &[&str] = &["400", "401", "403", "404", "429", "500", "503"];

/// The document, with `base` as the server.
pub fn document(base: &str) -> J {
    let json_doc = |d: &str, s: J| ok(d, "application/json", s);
    let geojson = |d: &str, s: J| ok(d, "application/geo+json", s);
    let written = |code: &str, d: &str| {
        let mut m = errors(&[
            "400", "401", "403", "404", "409", "412", "413", "415", "422", "428", "429", "500", "503",
        ]);
        m.insert(
            code.to_owned(),
            json!({
                "description": d,
                "headers": { "ETag": { "schema": { "type": "string" }, "description": "the case's new version" } },
                "content": { "application/geo+json": { "schema": r("CaseFeature") } }
            }),
        );
        J::Object(m)
    };
    let mut created = written("201", "the case, flagged");
    created["201"]["headers"]["Location"] = json!({ "schema": { "type": "string" }, "description": "the new case" });
    created["201"]["links"] = json!({
        "GetCase": { "operationId": "getCase", "parameters": { "featureId": "$response.body#/id" } },
        "UpdateCase": { "operationId": "updateCase",
            "parameters": { "featureId": "$response.body#/id", "If-Match": "$response.header.ETag" } },
        "ReplaceCase": { "operationId": "replaceCase",
            "parameters": { "featureId": "$response.body#/id", "If-Match": "$response.header.ETag" } }
    });
    if let Some(m) = created.as_object_mut() {
        m.remove("412");
        m.remove("428");
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Jingwei 经纬 field-app API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API – Features (Part 1 Core, GeoJSON, OAS 3.0; Part 4 create, replace, update with ETags) over the shared store. Every request is one user's: a client certificate whose CN is the user and HTTP Basic with the user's store password. Records are never deleted.",
            "license": { "name": "MIT OR Apache-2.0" }
        },
        "servers": [{ "url": base }],
        "security": [{ "basic": [] }],
        "paths": {
            "/": { "get": { "operationId": "landing", "summary": "Landing page", "parameters": [param("f")],
                "responses": responses(("200", json_doc("links to the API's parts", r("Landing"))), READ) } },
            "/api": { "get": { "operationId": "api", "summary": "This definition", "parameters": [param("f")],
                "responses": responses(("200", ok("OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0", json!({"type": "object"}))), READ) } },
            "/conformance": { "get": { "operationId": "conformance", "summary": "Conformance classes", "parameters": [param("f")],
                "responses": responses(("200", json_doc("the classes implemented", r("Conformance"))), READ) } },
            "/collections": { "get": { "operationId": "collections", "summary": "The collections", "parameters": [param("f")],
                "responses": responses(("200", json_doc("cases and incidents", r("Collections"))), READ) } },
            "/collections/{collectionId}": { "get": { "operationId": "collection", "summary": "A collection",
                "parameters": [param("collectionId"), param("f")],
                "responses": responses(("200", json_doc("the collection", r("Collection"))), READ) } },
            "/collections/cases/items": {
                "get": { "operationId": "getCases", "summary": "Cases of your department, newest first",
                    "parameters": [param("limit"), param("offset"), param("bbox"), param("caseStatus"), param("f")],
                    "responses": responses(("200", geojson("a page of cases", r("CaseCollection"))), READ) },
                "post": { "operationId": "createCase", "summary": "Flag a case (pending, in your department)",
                    "requestBody": body(&["application/geo+json", "application/json"], r("NewCase")),
                    "responses": created }
            },
            "/collections/cases/items/{featureId}": {
                "parameters": [param("featureId")],
                "get": { "operationId": "getCase", "summary": "A case",
                    "parameters": [param("ifNoneMatch"), param("f")],
                    "responses": {
                        "200": { "description": "the case", "headers": { "ETag": { "schema": { "type": "string" } } },
                                 "content": { "application/geo+json": { "schema": r("CaseFeature") } } },
                        "304": resp("NotModified"), "400": resp("BadRequest"), "401": resp("Unauthorized"),
                        "403": resp("Forbidden"), "404": resp("NotFound"), "429": resp("Locked"),
                        "500": resp("ServerError"), "503": resp("Unavailable") } },
                "put": { "operationId": "replaceCase", "summary": "Replace a case's status and assignee (and add a note)",
                    "parameters": [param("ifMatch")],
                    "requestBody": body(&["application/geo+json", "application/json"], r("CaseReplace")),
                    "responses": written("200", "the case, changed") },
                "patch": { "operationId": "updateCase", "summary": "Change a case's status or assignee, or add a note (JSON merge patch)",
                    "parameters": [param("ifMatch")],
                    "requestBody": body(&["application/merge-patch+json", "application/json"], r("CasePatch")),
                    "responses": written("200", "the case, changed") }
            },
            "/collections/incidents/items": {
                "get": { "operationId": "getIncidents", "summary": "Incidents of your department",
                    "parameters": [param("limit"), param("offset"), param("incidentStatus"), param("f")],
                    "responses": responses(("200", geojson("a page of incidents", r("IncidentCollection"))), READ) }
            },
            "/collections/incidents/items/{featureId}": {
                "parameters": [param("featureId")],
                "get": { "operationId": "getIncident", "summary": "An incident",
                    "parameters": [param("ifNoneMatch"), param("f")],
                    "responses": {
                        "200": { "description": "the incident", "headers": { "ETag": { "schema": { "type": "string" } } },
                                 "content": { "application/geo+json": { "schema": r("IncidentFeature") } } },
                        "304": resp("NotModified"), "400": resp("BadRequest"), "401": resp("Unauthorized"),
                        "403": resp("Forbidden"), "404": resp("NotFound"), "429": resp("Locked"),
                        "500": resp("ServerError"), "503": resp("Unavailable") } }
            }
        },
        "components": {
            "securitySchemes": { "basic": { "type": "http", "scheme": "basic",
                "description": "the user's store password, over TLS with the user's client certificate" } },
            "parameters": {
                "f": { "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json"] } },
                "collectionId": { "name": "collectionId", "in": "path", "required": true,
                    "schema": { "type": "string", "enum": ["cases", "incidents"] } },
                "featureId": { "name": "featureId", "in": "path", "required": true,
                    "schema": { "type": "integer", "format": "int64", "minimum": 1 } },
                "limit": { "name": "limit", "in": "query", "required": false, "style": "form", "explode": false,
                    "schema": { "type": "integer", "minimum": 1, "maximum": crate::MAX_LIMIT, "default": crate::DEFAULT_LIMIT } },
                "offset": { "name": "offset", "in": "query", "required": false,
                    "schema": { "type": "integer", "minimum": 0, "default": 0 } },
                "bbox": { "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false,
                    "description": "min lon, min lat, max lon, max lat (CRS84; CGCS2000 coordinates are within centimetres of it)",
                    "schema": { "type": "array", "minItems": 4, "maxItems": 4,
                        "items": { "type": "number", "minimum": -180, "maximum": 180 } } },
                "caseStatus": { "name": "status", "in": "query", "required": false, "style": "form", "explode": false,
                    "schema": { "type": "array", "minItems": 1, "items": r("CaseStatus") } },
                "incidentStatus": { "name": "status", "in": "query", "required": false, "style": "form", "explode": false,
                    "schema": { "type": "array", "minItems": 1, "items": { "type": "string", "enum": ["active", "contained", "closed"] } } },
                "ifMatch": { "name": "If-Match", "in": "header", "required": true,
                    "description": "the ETag read (or * to overwrite whatever is there)", "schema": { "type": "string", "minLength": 1 } },
                "ifNoneMatch": { "name": "If-None-Match", "in": "header", "required": false, "schema": { "type": "string" } }
            },
            "responses": {
                "NotModified": { "description": "the ETag is still the item's" },
                "BadRequest": { "description": "a parameter or the body is wrong", "content": { "application/json": { "schema": r("Exception") } } },
                "Unauthorized": { "description": "no or wrong user name and password",
                    "headers": { "WWW-Authenticate": { "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": r("Exception") } } },
                "Forbidden": { "description": "the certificate is another user's, or the store refuses this user the change",
                    "content": { "application/json": { "schema": r("Exception") } } },
                "NotFound": { "description": "no such item in your department", "content": { "application/json": { "schema": r("Exception") } } },
                "NotAllowed": { "description": "not a method of this resource (records are never deleted; incidents are read-only)",
                    "headers": { "Allow": { "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": r("Exception") } } },
                "Conflict": { "description": "a step the case loop does not allow, or a fixed property", "content": { "application/json": { "schema": r("Exception") } } },
                "Stale": { "description": "the If-Match is not the case's ETag: someone changed it since; the case as it is now is in `current`",
                    "headers": { "ETag": { "schema": { "type": "string" } } },
                    "content": { "application/json": { "schema": r("StaleException") } } },
                "TooLarge": { "description": "a body over 1 MiB", "content": { "application/json": { "schema": r("Exception") } } },
                "MediaType": { "description": "a body of another media type", "content": { "application/json": { "schema": r("Exception") } } },
                "Refused": { "description": "the store refuses the content (e.g. personal fields without the data key)",
                    "content": { "application/json": { "schema": r("Exception") } } },
                "PreconditionRequired": { "description": "a write without If-Match", "content": { "application/json": { "schema": r("Exception") } } },
                "Locked": { "description": "too many wrong passwords for this user: locked for a while",
                    "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                    "content": { "application/json": { "schema": r("Exception") } } },
                "ServerError": { "description": "the server failed (logged)", "content": { "application/json": { "schema": r("Exception") } } },
                "Unavailable": { "description": "the store is out of reach or busy",
                    "headers": { "Retry-After": { "schema": { "type": "integer" } } },
                    "content": { "application/json": { "schema": r("Exception") } } }
            },
            "schemas": schemas()
        }
    })
}

fn schemas() -> J {
    let text = json!({ "type": "string" });
    let opt_text = json!({ "type": "string", "nullable": true });
    let position = json!({ "type": "array", "minItems": 2, "maxItems": 3, "items": { "type": "number" } });
    let lonlat = json!({ "type": "array", "minItems": 2, "maxItems": 2,
        "items": { "type": "number", "minimum": -180, "maximum": 180 } });
    let ring = json!({ "type": "array", "minItems": 4, "items": lonlat });
    json!({
        "Exception": { "type": "object", "required": ["code"],
            "properties": { "code": text, "description": text } },
        "StaleException": { "type": "object", "required": ["code", "current"],
            "properties": { "code": text, "description": text,
                "read_version": { "type": "integer", "nullable": true }, "current": r("CaseFeature") } },
        "Link": { "type": "object", "required": ["href"],
            "properties": { "href": text, "rel": text, "type": text, "title": text } },
        "Links": { "type": "array", "items": r("Link") },
        "Landing": { "type": "object", "required": ["links"],
            "properties": { "title": text, "description": text, "links": r("Links") } },
        "Conformance": { "type": "object", "required": ["conformsTo"],
            "properties": { "conformsTo": { "type": "array", "items": text } } },
        "Collection": { "type": "object", "required": ["id", "links"],
            "properties": { "id": text, "title": text, "description": text, "itemType": text,
                "crs": { "type": "array", "items": text }, "extent": { "type": "object" }, "links": r("Links") } },
        "Collections": { "type": "object", "required": ["links", "collections"],
            "properties": { "links": r("Links"), "collections": { "type": "array", "items": r("Collection") } } },
        "Geometry": { "type": "object", "nullable": true, "required": ["type"],
            "description": "a GeoJSON geometry, longitude and latitude",
            "properties": { "type": { "type": "string",
                "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"] },
                "coordinates": { "type": "array" }, "geometries": { "type": "array" } } },
        "NewGeometry": { "nullable": true, "description": "where the case is: a point or an outline (longitude, latitude; rings closed)",
            "oneOf": [
                { "type": "object", "required": ["type", "coordinates"], "additionalProperties": false,
                  "properties": { "type": { "type": "string", "enum": ["Point"] }, "coordinates": position } },
                { "type": "object", "required": ["type", "coordinates"], "additionalProperties": false,
                  "properties": { "type": { "type": "string", "enum": ["Polygon"] },
                      "coordinates": { "type": "array", "minItems": 1, "items": ring } } },
                { "type": "object", "required": ["type", "coordinates"], "additionalProperties": false,
                  "properties": { "type": { "type": "string", "enum": ["MultiPolygon"] },
                      "coordinates": { "type": "array", "minItems": 1,
                          "items": { "type": "array", "minItems": 1, "items": ring } } } }
            ] },
        "CaseStatus": { "type": "string", "enum": ["pending", "confirmed", "dismissed", "rectifying", "closed"] },
        "CaseProperties": { "type": "object",
            "required": ["case_no", "department", "status", "priority", "rules", "title", "source", "personal_sealed",
                         "created_at", "created_by", "updated_at", "updated_by", "version"],
            "properties": {
                "case_no": text, "department": text, "status": r("CaseStatus"),
                "priority": { "type": "number", "minimum": 0, "maximum": 100 },
                "rules": { "type": "array", "items": text }, "title": text, "source": { "type": "string", "enum": ["detected", "manual"] },
                "assignee": opt_text, "building_layer": opt_text,
                "building_fid": { "type": "integer", "nullable": true },
                "phone": opt_text, "id_number": opt_text, "personal_sealed": { "type": "boolean" },
                "created_at": text, "created_by": text, "updated_at": text, "updated_by": text,
                "version": { "type": "integer", "minimum": 1 } } },
        "CaseFeature": { "type": "object", "required": ["type", "id", "geometry", "properties"],
            "properties": { "type": { "type": "string", "enum": ["Feature"] }, "id": { "type": "integer" },
                "geometry": r("Geometry"), "properties": r("CaseProperties"), "links": r("Links") } },
        "CaseCollection": { "type": "object", "required": ["type", "features", "numberMatched", "numberReturned", "links"],
            "properties": { "type": { "type": "string", "enum": ["FeatureCollection"] },
                "features": { "type": "array", "items": r("CaseFeature") },
                "numberMatched": { "type": "integer", "minimum": 0 }, "numberReturned": { "type": "integer", "minimum": 0 },
                "timeStamp": text, "links": r("Links") } },
        "NewCase": { "type": "object", "required": ["type", "properties"], "additionalProperties": false,
            "properties": { "type": { "type": "string", "enum": ["Feature"] }, "geometry": r("NewGeometry"),
                "properties": { "type": "object", "required": ["title"], "additionalProperties": false,
                    "properties": {
                        "title": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": TEXT },
                        "priority": { "type": "number", "minimum": 0, "maximum": 100 },
                        "phone": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT, "nullable": true,
                            "description": "sealed with SM4 by the server; refused (422) when it runs without the data key" },
                        "id_number": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": TEXT, "nullable": true } } } } },
        "CaseReplace": { "type": "object", "required": ["type", "properties"], "additionalProperties": false,
            "description": "the case with its status and assignee as they should be; the store's properties may be sent back as read and are not changed; the geometry, if sent, must be the case's",
            "properties": { "type": { "type": "string", "enum": ["Feature"] }, "id": { "type": "integer" },
                "geometry": r("Geometry"), "links": r("Links"),
                "properties": { "type": "object", "required": ["status"],
                    "properties": { "status": r("CaseStatus"),
                        "assignee": { "type": "string", "minLength": 1, "maxLength": 63, "pattern": TEXT, "nullable": true },
                        "comment": { "type": "string", "minLength": 1, "maxLength": 2000, "pattern": TEXT, "nullable": true } } } } },
        "CasePatch": { "type": "object", "additionalProperties": false,
            "properties": { "properties": { "type": "object", "additionalProperties": false,
                "properties": { "status": r("CaseStatus"),
                    "assignee": { "type": "string", "minLength": 1, "maxLength": 63, "pattern": TEXT, "nullable": true },
                    "comment": { "type": "string", "minLength": 1, "maxLength": 2000, "pattern": TEXT, "nullable": true } } } } },
        "IncidentFeature": { "type": "object", "required": ["type", "id", "geometry", "properties"],
            "properties": { "type": { "type": "string", "enum": ["Feature"] }, "id": { "type": "integer" },
                "geometry": r("Geometry"), "links": r("Links"),
                "properties": { "type": "object",
                    "required": ["incident_no", "department", "kind", "status", "title", "version"],
                    "properties": { "incident_no": text, "department": text, "kind": text, "severity": opt_text,
                        "status": { "type": "string", "enum": ["active", "contained", "closed"] }, "title": text, "source": text,
                        "event_id": opt_text, "rings_m": { "type": "array", "items": { "type": "number" } },
                        "occurred_at": opt_text, "created_at": text, "created_by": text, "updated_at": text,
                        "updated_by": text, "version": { "type": "integer" } } } } },
        "IncidentCollection": { "type": "object", "required": ["type", "features", "numberMatched", "numberReturned", "links"],
            "properties": { "type": { "type": "string", "enum": ["FeatureCollection"] },
                "features": { "type": "array", "items": r("IncidentFeature") },
                "numberMatched": { "type": "integer" }, "numberReturned": { "type": "integer" },
                "timeStamp": text, "links": r("Links") } }
    })
}
