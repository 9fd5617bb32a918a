//! XML Signature (W3C XMLDSig, enveloped) of CAP alerts, verified against the certificates a
//! feed is configured with — how national warning systems sign what they send. Canonical XML
//! 1.0 and 1.1 (inclusive, with or without comments) and Exclusive XML Canonicalization;
//! RSA PKCS#1 v1.5 with SHA-1, SHA-256 or SHA-512, and ECDSA P-256 with SHA-256; references to
//! the whole document with the enveloped-signature transform. Anything else is reported as an
//! invalid signature naming what is not supported, never accepted.

use std::collections::BTreeMap;

use roxmltree::{Document, Node, NodeId};
use serde::Serialize;

use crate::FeedError;

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// What the signature of an alert says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Signed, and the signature verifies with a configured certificate (its subject).
    Valid(String),
    /// Signed, but the signature does not verify (why).
    Invalid(String),
    /// Signed, and no certificate is configured for the feed to verify it with.
    Unverified,
    /// Not signed.
    Unsigned,
}

enum Key {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

/// The certificates a feed trusts.
#[derive(Default)]
pub struct Trust {
    keys: Vec<(String, Key)>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|k| &k.0)).finish()
    }
}

impl Clone for Trust {
    fn clone(&self) -> Self {
        Trust {
            keys: self
                .keys
                .iter()
                .map(|(s, k)| {
                    (
                        s.clone(),
                        match k {
                            Key::Rsa(r) => Key::Rsa(r.clone()),
                            Key::P256(p) => Key::P256(*p),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A DER element: tag, contents, the whole element, and what follows it.
fn der(b: &[u8]) -> Option<(u8, &[u8], &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    Some((tag, b.get(hdr..end)?, b.get(..end)?, b.get(end..)?))
}

/// The SubjectPublicKeyInfo (whole DER element) and the subject (raw DER) of a certificate.
pub fn spki_of_certificate(cert: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, cert_body, _, _) = der(cert).filter(|e| e.0 == 0x30)?;
    let (_, tbs, _, _) = der(cert_body).filter(|e| e.0 == 0x30)?;
    let mut rest = tbs;
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject, SPKI.
    if rest.first() == Some(&0xA0) {
        rest = der(rest)?.3;
    }
    let mut fields = Vec::new();
    for _ in 0..6 {
        let (_, _, whole, next) = der(rest)?;
        fields.push(whole);
        rest = next;
    }
    Some((fields[5], fields[4]))
}

/// A short readable subject: the values of the CN, O and C attributes found in `name`.
fn subject_text(name: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut stack = vec![name];
    while let Some(b) = stack.pop() {
        let mut rest = b;
        while let Some((tag, body, _, next)) = der(rest) {
            match tag {
                0x30 | 0x31 => stack.push(body),
                0x06 if body.len() == 3 && body[..2] == [0x55, 0x04] => {
                    if let Some((_, v, _, _)) = der(next)
                        && matches!(body[2], 3 | 10 | 6)
                    {
                        parts.push(String::from_utf8_lossy(v).into_owned());
                    }
                    break;
                }
                _ => {}
            }
            rest = next;
        }
    }
    parts.reverse();
    parts.join(", ")
}

impl Trust {
    /// Certificates from PEM text (one or more `CERTIFICATE` blocks); `source` names the file.
    pub fn from_pem(text: &str, source: &str) -> Result<Trust, FeedError> {
        let mut keys = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
            let body = &rest[start + 27..];
            let end = body
                .find("-----END CERTIFICATE-----")
                .ok_or_else(|| FeedError::Config(format!("{source}: a certificate without its END line")))?;
            let der_bytes =
                crate::base64(&body[..end]).ok_or_else(|| FeedError::Config(format!("{source}: a certificate that is not base64")))?;
            keys.push(key_of_certificate(&der_bytes).map_err(|e| FeedError::Config(format!("{source}: {e}")))?);
            rest = &body[end..];
        }
        if keys.is_empty() {
            return Err(FeedError::Config(format!("{source}: no PEM certificate in it")));
        }
        Ok(Trust { keys })
    }

    /// Certificates from PEM files (none for no files); an unreadable or bad file is an error
    /// naming it.
    pub fn from_pem_files(files: &[std::path::PathBuf]) -> Result<Trust, FeedError> {
        let mut keys = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(f).map_err(|e| FeedError::Config(format!("{}: cannot read ({e})", f.display())))?;
            keys.extend(Trust::from_pem(&text, &f.display().to_string())?.keys);
        }
        Ok(Trust { keys })
    }

    /// Certificates from every `.pem` file in `dir` (none when it does not exist).
    pub fn from_pem_dir(dir: &std::path::Path) -> Result<Trust, FeedError> {
        let mut files: Vec<std::path::PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        Trust::from_pem_files(&files)
    }

    /// True when no certificate is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

fn key_of_certificate(cert: &[u8]) -> Result<(String, Key), String> {
    use p256::pkcs8::DecodePublicKey;
    let (spki, subject) = spki_of_certificate(cert).ok_or("not a DER X.509 certificate")?;
    let subject = subject_text(subject);
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(spki) {
        return Ok((subject, Key::Rsa(k)));
    }
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
        return Ok((subject, Key::P256(k)));
    }
    Err(format!("the key of certificate '{subject}' is neither RSA nor ECDSA P-256"))
}

/// Canonicalization methods.
#[derive(Debug, Clone, PartialEq)]
pub enum C14n {
    /// Canonical XML 1.0 or 1.1 (inclusive namespaces).
    Inclusive {
        /// Keep comments.
        comments: bool,
    },
    /// Exclusive XML Canonicalization 1.0.
    Exclusive {
        /// Keep comments.
        comments: bool,
        /// Prefixes treated inclusively (`InclusiveNamespaces PrefixList`; `#default` is "").
        prefixes: Vec<String>,
    },
}

impl C14n {
    fn from_uri(uri: &str, node: Option<Node>) -> Option<C14n> {
        let prefixes = || {
            node.and_then(|n| {
                n.children()
                    .find(|c| c.is_element() && c.tag_name().name() == "InclusiveNamespaces")
            })
            .and_then(|n| n.attribute("PrefixList"))
            .map(|l| {
                l.split_whitespace()
                    .map(|p| if p == "#default" { String::new() } else { p.to_owned() })
                    .collect()
            })
            .unwrap_or_default()
        };
        Some(match uri {
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315" | "http://www.w3.org/2006/12/xml-c14n11" => {
                C14n::Inclusive { comments: false }
            }
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments" | "http://www.w3.org/2006/12/xml-c14n11#WithComments" => {
                C14n::Inclusive { comments: true }
            }
            "http://www.w3.org/2001/10/xml-exc-c14n#" => C14n::Exclusive {
                comments: false,
                prefixes: prefixes(),
            },
            "http://www.w3.org/2001/10/xml-exc-c14n#WithComments" => C14n::Exclusive {
                comments: true,
                prefixes: prefixes(),
            },
            _ => return None,
        })
    }

    fn comments(&self) -> bool {
        match self {
            C14n::Inclusive { comments } | C14n::Exclusive { comments, .. } => *comments,
        }
    }
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// The qualified name of an element as written in the document.
fn qname<'a>(doc: &'a Document, n: Node) -> &'a str {
    let text = doc.input_text();
    let start = n.range().start + 1;
    let rest = &text[start..];
    let end = rest.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(rest.len());
    &rest[..end]
}

fn prefix_of(q: &str) -> &str {
    q.split_once(':').map_or("", |(p, _)| p)
}

/// Canonical form of the subtree at `apex` (the document root for the whole document), with
/// `exclude` (an enveloped signature) and its subtree left out.
pub fn canonicalize(doc: &Document, apex: Node, exclude: Option<NodeId>, method: &C14n) -> String {
    let mut out = String::new();
    if apex.is_root() {
        let mut seen_element = false;
        for c in apex.children() {
            match () {
                _ if c.is_element() => {
                    element(doc, c, exclude, method, &BTreeMap::new(), &mut out);
                    seen_element = true;
                }
                _ if c.is_pi() || (c.is_comment() && method.comments()) => {
                    if seen_element {
                        out.push('\n');
                    }
                    other(c, &mut out);
                    if !seen_element {
                        out.push('\n');
                    }
                }
                _ => {}
            }
        }
    } else {
        element(doc, apex, exclude, method, &BTreeMap::new(), &mut out);
    }
    out
}

fn other(n: Node, out: &mut String) {
    if let Some(pi) = n.pi() {
        out.push_str("<?");
        out.push_str(pi.target);
        if let Some(v) = pi.value {
            out.push(' ');
            out.push_str(v);
        }
        out.push_str("?>");
    } else if n.is_comment() {
        out.push_str("<!--");
        out.push_str(n.text().unwrap_or(""));
        out.push_str("-->");
    }
}

fn element(doc: &Document, n: Node, exclude: Option<NodeId>, method: &C14n, rendered: &BTreeMap<String, String>, out: &mut String) {
    if Some(n.id()) == exclude {
        return;
    }
    let q = qname(doc, n);
    // Namespaces in scope: prefix ("" for the default) to URI.
    let mut scope: BTreeMap<String, String> = BTreeMap::new();
    for ns in n.namespaces() {
        if ns.uri() != XML_NS {
            scope.insert(ns.name().unwrap_or("").to_owned(), ns.uri().to_owned());
        }
    }
    struct Attr<'d> {
        ns: &'d str,
        local: &'d str,
        value: &'d str,
        qname: &'d str,
    }
    let mut attrs: Vec<Attr> = n
        .attributes()
        .map(|a| Attr {
            ns: a.namespace().unwrap_or(""),
            local: a.name(),
            value: a.value(),
            qname: &doc.input_text()[a.range_qname()],
        })
        .collect();
    // Which namespace declarations to write here.
    let wanted: Vec<String> = match method {
        C14n::Inclusive { .. } => {
            let mut w: Vec<String> = scope.keys().cloned().collect();
            if !scope.contains_key("") && rendered.get("").is_some_and(|u| !u.is_empty()) {
                w.push(String::new());
            }
            w
        }
        C14n::Exclusive { prefixes, .. } => {
            let mut w = vec![prefix_of(q).to_owned()];
            for a in &attrs {
                let p = prefix_of(a.qname);
                if !p.is_empty() && p != "xml" {
                    w.push(p.to_owned());
                }
            }
            w.extend(prefixes.iter().filter(|p| scope.contains_key(*p) || p.is_empty()).cloned());
            w.sort();
            w.dedup();
            w
        }
    };
    let mut emit: Vec<(String, String)> = Vec::new();
    let mut next = rendered.clone();
    for p in wanted {
        let uri = scope.get(&p).cloned().unwrap_or_default();
        let before = rendered.get(&p).cloned().unwrap_or_default();
        let already = rendered.contains_key(&p) || (p.is_empty() && uri.is_empty());
        if !already || before != uri {
            if p.is_empty() && uri.is_empty() && before.is_empty() {
                continue;
            }
            emit.push((p.clone(), uri.clone()));
            next.insert(p, uri);
        }
    }
    emit.sort();
    out.push('<');
    out.push_str(q);
    for (p, uri) in &emit {
        if p.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(p);
            out.push_str("=\"");
        }
        escape_attr(uri, out);
        out.push('"');
    }
    attrs.sort_by(|a, b| (a.ns, a.local).cmp(&(b.ns, b.local)));
    for a in &attrs {
        out.push(' ');
        out.push_str(a.qname);
        out.push_str("=\"");
        escape_attr(a.value, out);
        out.push('"');
    }
    out.push('>');
    for c in n.children() {
        if c.is_element() {
            element(doc, c, exclude, method, &next, out);
        } else if c.is_text() {
            escape_text(c.text().unwrap_or(""), out);
        } else if c.is_pi() || (c.is_comment() && method.comments()) {
            other(c, out);
        }
    }
    out.push_str("</");
    out.push_str(q);
    out.push('>');
}

fn dsig_child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(DSIG))
}

fn algorithm<'a>(n: Node<'a, '_>, name: &str) -> Result<&'a str, String> {
    dsig_child(n, name)
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| format!("no <{name}> with an Algorithm"))
}

fn digest(uri: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    use sha2::Digest;
    Ok(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => sha1::Sha1::digest(bytes).to_vec(),
        "http://www.w3.org/2001/04/xmlenc#sha256" => sha2::Sha256::digest(bytes).to_vec(),
        "http://www.w3.org/2001/04/xmlenc#sha512" => sha2::Sha512::digest(bytes).to_vec(),
        other => return Err(format!("digest method {other} is not supported")),
    })
}

/// An RSA PKCS#1 v1.5 signature over `signed` with digest `D`.
fn rsa_verifies<D: sha2::Digest + rsa::pkcs8::AssociatedOid>(k: &rsa::RsaPublicKey, signed: &str, value: &[u8]) -> bool {
    k.verify(rsa::Pkcs1v15Sign::new::<D>(), &D::digest(signed.as_bytes()), value)
        .is_ok()
}

/// Verify one `<Signature>` element: its reference's digest, then its signature value with
/// each trusted key. Ok with the signer's subject.
fn verify_one(doc: &Document, sig: Node, trust: &Trust) -> Result<String, String> {
    let info = dsig_child(sig, "SignedInfo").ok_or("no <SignedInfo>")?;
    let refs: Vec<Node> = info
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Reference")
        .collect();
    let [reference] = refs[..] else {
        return Err(format!("{} references; one, to the whole alert, is expected", refs.len()));
    };
    if reference.attribute("URI") != Some("") {
        return Err(format!(
            "the reference is to '{}', not the whole alert (URI=\"\")",
            reference.attribute("URI").unwrap_or("(none)")
        ));
    }
    // Transforms: the enveloped-signature transform, then at most one canonicalization.
    let mut enveloped = false;
    let mut method = C14n::Inclusive { comments: false };
    if let Some(ts) = dsig_child(reference, "Transforms") {
        for t in ts.children().filter(|c| c.is_element()) {
            let alg = t.attribute("Algorithm").unwrap_or("");
            if alg == "http://www.w3.org/2000/09/xmldsig#enveloped-signature" {
                enveloped = true;
            } else if let Some(m) = C14n::from_uri(alg, Some(t)) {
                method = m;
            } else {
                return Err(format!("transform {alg} is not supported"));
            }
        }
    }
    if !enveloped {
        return Err("the reference lacks the enveloped-signature transform".into());
    }
    // A same-document reference drops comments, whatever the transform says.
    let method = match method {
        C14n::Inclusive { .. } => C14n::Inclusive { comments: false },
        C14n::Exclusive { prefixes, .. } => C14n::Exclusive { comments: false, prefixes },
    };
    let body = canonicalize(doc, doc.root(), Some(sig.id()), &method);
    let want = dsig_child(reference, "DigestValue")
        .and_then(|d| d.text())
        .and_then(crate::base64)
        .ok_or("no base64 <DigestValue>")?;
    if digest(algorithm(reference, "DigestMethod")?, body.as_bytes())? != want {
        return Err("the alert was changed after it was signed (digest differs)".into());
    }
    let c14n_uri = algorithm(info, "CanonicalizationMethod")?;
    let c14n = C14n::from_uri(c14n_uri, dsig_child(info, "CanonicalizationMethod"))
        .ok_or_else(|| format!("canonicalization {c14n_uri} is not supported"))?;
    let signed = canonicalize(doc, info, None, &c14n);
    let value = dsig_child(sig, "SignatureValue")
        .and_then(|v| v.text())
        .and_then(crate::base64)
        .ok_or("no base64 <SignatureValue>")?;
    let sig_alg = algorithm(info, "SignatureMethod")?;
    let mut last = String::from("no configured certificate verifies it");
    for (subject, key) in &trust.keys {
        let ok = match (sig_alg, key) {
            ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", Key::Rsa(k)) => rsa_verifies::<sha1::Sha1>(k, &signed, &value),
            ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", Key::Rsa(k)) => rsa_verifies::<sha2::Sha256>(k, &signed, &value),
            ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha512", Key::Rsa(k)) => rsa_verifies::<sha2::Sha512>(k, &signed, &value),
            ("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256", Key::P256(k)) => {
                use p256::ecdsa::signature::Verifier;
                p256::ecdsa::Signature::from_slice(&value).is_ok_and(|s| k.verify(signed.as_bytes(), &s).is_ok())
            }
            (
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
                | "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
                | "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
                | "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
                _,
            ) => false,
            (other, _) => return Err(format!("signature method {other} is not supported")),
        };
        if ok {
            return Ok(subject.clone());
        }
        last = format!("the signature does not verify with the configured certificate '{subject}'");
    }
    Err(last)
}

/// The signature status of an alert document: valid when any of its enveloped signatures
/// verifies with a configured certificate.
pub fn verify(doc: &Document, trust: &Trust) -> SignatureStatus {
    let sigs: Vec<Node> = doc
        .root_element()
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "Signature" && c.tag_name().namespace() == Some(DSIG))
        .collect();
    if sigs.is_empty() {
        return SignatureStatus::Unsigned;
    }
    if trust.is_empty() {
        return SignatureStatus::Unverified;
    }
    let mut why = Vec::new();
    for s in sigs {
        match verify_one(doc, s, trust) {
            Ok(subject) => return SignatureStatus::Valid(subject),
            Err(e) => why.push(e),
        }
    }
    why.dedup();
    SignatureStatus::Invalid(why.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_of_the_specification_examples() {
        // Canonical XML 1.0, §3.1 (PIs, comments, whitespace outside the document element).
        let doc = Document::parse("<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->").unwrap();
        assert_eq!(
            canonicalize(&doc, doc.root(), None, &C14n::Inclusive { comments: false }),
            "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
        );
        assert_eq!(
            canonicalize(&doc, doc.root(), None, &C14n::Inclusive { comments: true }),
            "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
        );
        // §3.3: empty elements, attribute and namespace order, superfluous declarations.
        let doc = Document::parse(
            r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#,
        )
        .unwrap();
        assert_eq!(
            canonicalize(&doc, doc.root(), None, &C14n::Inclusive { comments: false }),
            r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#
        );
        // §3.4: character modifications and entity references.
        let doc = Document::parse("<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n</doc>").unwrap();
        assert_eq!(
            canonicalize(&doc, doc.root(), None, &C14n::Inclusive { comments: false }),
            "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n</doc>"
        );
    }

    #[test]
    fn exclusive_renders_only_visible_namespaces() {
        let doc = Document::parse(r#"<a:r xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:d"><x><b:y/></x></a:r>"#).unwrap();
        let x = doc.root_element().first_child().unwrap();
        let m = C14n::Exclusive {
            comments: false,
            prefixes: vec![],
        };
        assert_eq!(
            canonicalize(&doc, x, None, &m),
            r#"<x xmlns="urn:d"><b:y xmlns:b="urn:b"></b:y></x>"#
        );
        assert_eq!(
            canonicalize(&doc, x, None, &C14n::Inclusive { comments: false }),
            r#"<x xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b"><b:y></b:y></x>"#
        );
    }
}
