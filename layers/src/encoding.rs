//! Text encoding of shapefile attribute tables (DBF).
//!
//! Order of precedence: the caller's override, the `.cpg` sidecar, the DBF language-driver
//! byte, then detection from the bytes of the text fields (valid UTF-8 first, else the most
//! likely legacy encoding as judged by `chardetng`, which knows GBK/GB18030, Big5, Shift_JIS,
//! EUC-KR and the Latin/Cyrillic code pages). The choice is reported, never silent.

use encoding_rs::Encoding;
use serde::Serialize;
use std::path::Path;

use crate::error::{LayersError, Result};

/// Where the encoding decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EncodingSource {
    /// Given by the caller.
    Override,
    /// Read from the `.cpg` file.
    Cpg,
    /// From the DBF header's language-driver id.
    LanguageDriver,
    /// Detected from the bytes.
    Detected,
    /// All text is ASCII, so any ASCII-compatible encoding reads it the same.
    Ascii,
}

/// The encoding used for a layer's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncodingReport {
    /// WHATWG name of the encoding (`GBK`, `UTF-8`, `Big5`, `windows-1252`, ...).
    pub encoding: String,
    /// How it was chosen.
    pub source: EncodingSource,
}

impl EncodingReport {
    /// The name GDAL's Shapefile driver (iconv) understands for the `ENCODING` open option.
    pub fn gdal_name(&self) -> String {
        gdal_name(&self.encoding)
    }
}

/// Look up an encoding by a user or `.cpg` label, accepting code-page numbers and the common
/// Chinese aliases (`936`, `CP936`, `GB2312`, `GBK`, `GB18030`, `950`, `BIG5`, `UTF8`, `1252`, ...).
pub fn lookup(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
    let l = l
        .strip_prefix("cp")
        .or_else(|| l.strip_prefix("ansi "))
        .or_else(|| l.strip_prefix("ansi_"))
        .unwrap_or(&l)
        .to_owned();
    let mapped = match l.as_str() {
        "936" | "gbk" | "gb2312" | "ms936" | "euc-cn" => "gbk",
        "54936" | "gb18030" => "gb18030",
        "950" | "big5" | "big-5" => "big5",
        "932" | "sjis" | "shift-jis" | "shift_jis" => "shift_jis",
        "949" | "euc-kr" | "ks_c_5601-1987" => "euc-kr",
        "65001" | "utf8" | "utf-8" => "utf-8",
        "437" | "850" | "1252" | "latin1" | "iso-8859-1" | "iso8859-1" | "iso88591" => "windows-1252",
        other if other.len() == 4 && other.starts_with("125") => return Encoding::for_label(format!("windows-{other}").as_bytes()),
        other => other,
    };
    Encoding::for_label(mapped.as_bytes())
}

fn gdal_name(whatwg: &str) -> String {
    match whatwg {
        "GBK" => "CP936".into(),
        "gb18030" => "GB18030".into(),
        "Big5" => "CP950".into(),
        "Shift_JIS" => "CP932".into(),
        "EUC-KR" => "CP949".into(),
        "UTF-8" => "UTF-8".into(),
        w if w.starts_with("windows-") => format!("CP{}", &w[8..]),
        w => w.to_ascii_uppercase(),
    }
}

/// Encoding named by a DBF language-driver id, where it is a meaningful one.
fn from_ldid(ldid: u8) -> Option<&'static Encoding> {
    let label = match ldid {
        0x4D | 0x7A => "gbk",
        0x4F | 0x78 => "big5",
        0x4E | 0x79 => "euc-kr",
        0x13 | 0x7B => "shift_jis",
        0x01 | 0x02 | 0x03 | 0x57 | 0x58 | 0x59 => "windows-1252",
        0x64 | 0x65 | 0xC8 => "windows-1250",
        0x66 | 0xC9 => "windows-1251",
        _ => return None,
    };
    Encoding::for_label(label.as_bytes())
}

/// The raw bytes of the text (`C`) fields of the first records of a DBF file, and its
/// language-driver byte.
pub struct DbfSample {
    /// Language driver id (byte 29 of the header).
    pub ldid: u8,
    /// Concatenated text-field bytes, trailing blanks trimmed, one value per line.
    pub text: Vec<u8>,
}

/// Read a sample of a DBF's text fields (up to `max_bytes` of text).
pub fn sample_dbf(path: &Path, dbf: &[u8], max_bytes: usize) -> Result<DbfSample> {
    let bad = |detail: &str| LayersError::Corrupt {
        path: path.to_owned(),
        detail: format!("DBF {detail}"),
    };
    if dbf.len() < 32 {
        return Err(bad("header is truncated"));
    }
    let records = u32::from_le_bytes([dbf[4], dbf[5], dbf[6], dbf[7]]) as usize;
    let header_len = u16::from_le_bytes([dbf[8], dbf[9]]) as usize;
    let record_len = u16::from_le_bytes([dbf[10], dbf[11]]) as usize;
    let ldid = dbf[29];
    let mut fields = Vec::new();
    let mut offset = 1usize; // deletion flag
    let mut pos = 32;
    while pos + 32 <= dbf.len() && pos + 32 <= header_len.max(33) && dbf[pos] != 0x0D {
        let kind = dbf[pos + 11];
        let len = dbf[pos + 16] as usize;
        if kind == b'C' {
            fields.push((offset, len));
        }
        offset += len;
        pos += 32;
    }
    let mut text = Vec::new();
    for r in 0..records {
        let start = header_len + r * record_len;
        if start + record_len > dbf.len() || text.len() >= max_bytes {
            break;
        }
        for &(off, len) in &fields {
            if off + len > record_len {
                continue;
            }
            let v = &dbf[start + off..start + off + len];
            let end = v.iter().rposition(|&b| b != b' ' && b != 0).map_or(0, |p| p + 1);
            if end > 0 {
                text.extend_from_slice(&v[..end]);
                text.push(b'\n');
            }
        }
    }
    Ok(DbfSample { ldid, text })
}

/// Decide the encoding of a shapefile's DBF. `cpg` is the content of the `.cpg` sidecar if any.
pub fn decide(path: &Path, override_label: Option<&str>, cpg: Option<&str>, sample: &DbfSample) -> Result<EncodingReport> {
    let report = |enc: &'static Encoding, source| EncodingReport {
        encoding: enc.name().to_owned(),
        source,
    };
    if let Some(label) = override_label {
        let enc = lookup(label).ok_or_else(|| LayersError::Encoding {
            path: path.to_owned(),
            detail: format!("unknown encoding '{label}' (try GBK, GB18030, Big5, UTF-8, CP1252)"),
        })?;
        let (_, _, had_errors) = enc.decode(&sample.text);
        if had_errors {
            return Err(LayersError::Encoding {
                path: path.to_owned(),
                detail: format!("the text is not valid {} (leave the encoding out to detect it)", enc.name()),
            });
        }
        return Ok(report(enc, EncodingSource::Override));
    }
    if let Some(enc) = cpg.and_then(lookup) {
        return Ok(report(enc, EncodingSource::Cpg));
    }
    if sample.text.is_ascii() {
        if let Some(enc) = from_ldid(sample.ldid) {
            return Ok(report(enc, EncodingSource::LanguageDriver));
        }
        return Ok(report(encoding_rs::UTF_8, EncodingSource::Ascii));
    }
    if let Some(enc) = from_ldid(sample.ldid)
        && !enc.decode(&sample.text).2
    {
        return Ok(report(enc, EncodingSource::LanguageDriver));
    }
    if std::str::from_utf8(&sample.text).is_ok() {
        return Ok(report(encoding_rs::UTF_8, EncodingSource::Detected));
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(&sample.text, true);
    let guess = det.guess(None, chardetng::Utf8Detection::Allow);
    Ok(report(guess, EncodingSource::Detected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(lookup("936").unwrap().name(), "GBK");
        assert_eq!(lookup("CP936").unwrap().name(), "GBK");
        assert_eq!(lookup("GB2312").unwrap().name(), "GBK");
        assert_eq!(lookup("UTF-8").unwrap().name(), "UTF-8");
        assert_eq!(lookup("big5").unwrap().name(), "Big5");
        assert_eq!(lookup("1252").unwrap().name(), "windows-1252");
        assert!(lookup("klingon").is_none());
        assert_eq!(gdal_name("GBK"), "CP936");
    }

    #[test]
    fn detects_gbk_and_big5() {
        let p = Path::new("x.dbf");
        let (gbk, _, _) = encoding_rs::GBK.encode("东方明珠电视塔\n人民英雄纪念塔\n滨江公园\n陆家嘴金融贸易区\n");
        let s = DbfSample {
            ldid: 0,
            text: gbk.into_owned(),
        };
        assert_eq!(decide(p, None, None, &s).unwrap().encoding, "GBK");
        let (big5, _, _) = encoding_rs::BIG5.encode("臺北市政府\n國立臺灣大學\n中華民國\n");
        let s = DbfSample {
            ldid: 0,
            text: big5.into_owned(),
        };
        assert_eq!(decide(p, None, None, &s).unwrap().encoding, "Big5");
        let s = DbfSample {
            ldid: 0,
            text: "东方明珠".as_bytes().to_vec(),
        };
        assert_eq!(decide(p, None, None, &s).unwrap().encoding, "UTF-8");
        // A wrong override is refused with a clear error.
        let (gbk, _, _) = encoding_rs::GBK.encode("东方明珠电视塔");
        let s = DbfSample {
            ldid: 0,
            text: gbk.into_owned(),
        };
        assert!(decide(p, Some("UTF-8"), None, &s).is_err());
    }
}

/// Standard base64 (RFC 4648, padded): `data:` URLs, images inside JSON.
pub fn base64_encode(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16) | (u32::from(*c.get(1).unwrap_or(&0)) << 8) | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padded or not, whitespace ignored; `None` when it is not base64.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let bytes: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c)? << (18 - 6 * i);
        }
        let take = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        out.extend_from_slice(&n.to_be_bytes()[1..1 + take]);
    }
    Some(out)
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn base64_both_ways() {
        for s in [&b""[..], b"h", b"he", b"hel", b"hello", &[0, 255, 128, 7]] {
            let e = super::base64_encode(s);
            assert_eq!(e.len() % 4, 0);
            assert_eq!(super::base64_decode(&e).as_deref(), Some(s));
        }
        assert_eq!(super::base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(super::base64_decode("aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(super::base64_decode("aGk*"), None);
    }
}
