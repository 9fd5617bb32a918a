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

/// A text encoding: one of the WHATWG encodings (encoding_rs) or a DOS (OEM) code page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// An encoding of the WHATWG Encoding Standard (UTF-8, GBK, GB18030, Big5, windows-125x, ...).
    Whatwg(&'static Encoding),
    /// A DOS code page (437, 850, 852, 866, ...), as MS-DOS and old dBase files wrote text.
    Oem(u16),
}

impl TextEncoding {
    /// The name reported to users: the WHATWG name, or `CP437` for a DOS code page.
    pub fn name(&self) -> String {
        match self {
            TextEncoding::Whatwg(e) => e.name().to_owned(),
            TextEncoding::Oem(cp) => format!("CP{cp}"),
        }
    }

    /// Decode `bytes`; the flag is true when some bytes have no meaning in the encoding
    /// (they become U+FFFD).
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> (std::borrow::Cow<'a, str>, bool) {
        match self {
            TextEncoding::Whatwg(e) => {
                let (text, _, bad) = e.decode(bytes);
                (text, bad)
            }
            TextEncoding::Oem(cp) => {
                let table = oem_cp::code_table::DECODING_TABLE_CP_MAP
                    .get(cp)
                    .expect("only known code pages are made");
                match table.decode_string_checked(bytes) {
                    Some(t) => (t.into(), false),
                    None => (table.decode_string_lossy(bytes).into(), true),
                }
            }
        }
    }
}

/// The DOS code pages with a decoding table.
fn oem(cp: u16) -> Option<TextEncoding> {
    oem_cp::code_table::DECODING_TABLE_CP_MAP.get(&cp).map(|_| TextEncoding::Oem(cp))
}

/// A code page by number: DOS ones from their tables, the rest through their WHATWG labels.
fn code_page(cp: u16) -> Option<TextEncoding> {
    if cp != 874
        && let Some(e) = oem(cp)
    {
        return Some(e);
    }
    let label = match cp {
        874 => "windows-874",
        932 => "shift_jis",
        936 => "gbk",
        949 => "euc-kr",
        950 => "big5",
        54936 => "gb18030",
        65001 => "utf-8",
        1250..=1258 => return Encoding::for_label(format!("windows-{cp}").as_bytes()).map(TextEncoding::Whatwg),
        20866 => "koi8-r",
        21866 => "koi8-u",
        10000 => "macintosh",
        _ => return None,
    };
    Encoding::for_label(label.as_bytes()).map(TextEncoding::Whatwg)
}

/// Look up an encoding by a user or `.cpg` label. Accepts what GDAL's Shapefile driver accepts
/// in a `.cpg` — code-page numbers (`437`, `850`, `936`, `1252`), `88591`/`8859-1` for the
/// ISO 8859 parts, `UTF-8`/`UTF8` — and the usual spellings around them: `CP437`, `IBM437`,
/// `OEM 437`, `DOS 437`, `ANSI 1251`, `windows-1251`, `GBK`, `GB2312`, `GB18030`, `Big5`, ...
pub fn lookup(label: &str) -> Option<TextEncoding> {
    let l = label.trim().trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
    if l.is_empty() || l.len() > 40 {
        return None;
    }
    if let Some(part) = l
        .strip_prefix("8859")
        .or_else(|| l.strip_prefix("iso8859"))
        .or_else(|| l.strip_prefix("iso-8859"))
        .or_else(|| l.strip_prefix("iso_8859"))
    {
        let part = part.trim_start_matches(['-', '_']);
        return match part {
            // WHATWG reads ISO-8859-1 as windows-1252, its superset.
            "1" => Encoding::for_label(b"iso-8859-1"),
            p => Encoding::for_label(format!("iso-8859-{p}").as_bytes()),
        }
        .map(TextEncoding::Whatwg);
    }
    // A number, after any of the prefixes code pages are written with.
    let digits = [
        "cp",
        "ibm",
        "oem",
        "dos",
        "ansi",
        "windows",
        "win",
        "ms",
        "x-ibm",
        "code page",
        "codepage",
    ]
    .iter()
    .find_map(|p| l.strip_prefix(p))
    .unwrap_or(&l)
    .trim_start_matches([' ', '-', '_']);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.parse().ok().and_then(code_page);
    }
    let mapped = match l.as_str() {
        "gbk" | "gb2312" | "euc-cn" | "gb_2312-80" => "gbk",
        "utf8" => "utf-8",
        "sjis" | "shift-jis" => "shift_jis",
        "big-5" => "big5",
        "latin1" => "iso-8859-1",
        other => other,
    };
    Encoding::for_label(mapped.as_bytes()).map(TextEncoding::Whatwg)
}

fn gdal_name(name: &str) -> String {
    match name {
        "GBK" => "CP936".into(),
        "gb18030" => "GB18030".into(),
        "Big5" => "CP950".into(),
        "Shift_JIS" => "CP932".into(),
        "EUC-KR" => "CP949".into(),
        "UTF-8" => "UTF-8".into(),
        "IBM866" => "CP866".into(),
        w if w.starts_with("windows-") => format!("CP{}", &w[8..]),
        w => w.to_ascii_uppercase(),
    }
}

/// The code page a DBF language-driver id names, as GDAL's Shapefile driver reads it (dBase
/// and ArcGIS's table of ids); `None` for 0 and ids that name none Jingwei can decode.
pub fn from_ldid(ldid: u8) -> Option<TextEncoding> {
    let cp: u16 = match ldid {
        0x01 | 0x0B | 0x0D | 0x0F | 0x11 | 0x15 | 0x18 | 0x19 | 0x1B => 437,
        0x02 | 0x0A | 0x0E | 0x10 | 0x12 | 0x14 | 0x16 | 0x1A | 0x1D | 0x25 | 0x37 => 850,
        0x03 | 0x58 | 0x59 => 1252,
        0x04 => 10000,
        0x08 | 0x17 | 0x66 => 865,
        0x13 | 0x7B => 932,
        0x1C | 0x6C => 863,
        0x1F | 0x22 | 0x23 | 0x40 | 0x64 | 0x87 => 852,
        0x24 => 860,
        0x26 | 0x65 => 866,
        0x4D | 0x7A => 936,
        0x4E | 0x79 => 949,
        0x4F | 0x78 => 950,
        0x50 | 0x7C => 874,
        0x57 => return Encoding::for_label(b"iso-8859-1").map(TextEncoding::Whatwg),
        0x67 => 861,
        0x6A | 0x86 => 737,
        0x6B | 0x88 => 857,
        0xC8 => 1250,
        0xC9 => 1251,
        0xCA => 1254,
        0xCB => 1253,
        0xCC => 1257,
        _ => return None,
    };
    code_page(cp)
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
    let header_len = u16::from_le_bytes([dbf[8], dbf[9]]) as usize;
    let record_len = u16::from_le_bytes([dbf[10], dbf[11]]) as usize;
    // No more records than the file holds, whatever the header claims (found by fuzzing: a
    // count of 1.6 billion and a record length of 0 spun here for minutes). Whether such a
    // table opens at all is GDAL's call.
    let records = match record_len {
        0 => 0,
        len => (u32::from_le_bytes([dbf[4], dbf[5], dbf[6], dbf[7]]) as usize).min(dbf.len().saturating_sub(header_len) / len),
    };
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

/// Decide the encoding of a shapefile's DBF. `cpg` is the content of the `.cpg` sidecar if any;
/// one that names no encoding (an HTML page saved by mistake, an unknown code page) is passed
/// over for the language-driver byte and detection.
pub fn decide(path: &Path, override_label: Option<&str>, cpg: Option<&str>, sample: &DbfSample) -> Result<EncodingReport> {
    let report = |enc: TextEncoding, source| EncodingReport {
        encoding: enc.name(),
        source,
    };
    if let Some(label) = override_label {
        let enc = lookup(label).ok_or_else(|| LayersError::Encoding {
            path: path.to_owned(),
            detail: format!("unknown encoding '{label}' (try GBK, GB18030, Big5, UTF-8, CP1252, CP437, CP866)"),
        })?;
        if enc.decode(&sample.text).1 {
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
        return Ok(report(TextEncoding::Whatwg(encoding_rs::UTF_8), EncodingSource::Ascii));
    }
    if let Some(enc) = from_ldid(sample.ldid)
        && !enc.decode(&sample.text).1
    {
        return Ok(report(enc, EncodingSource::LanguageDriver));
    }
    if std::str::from_utf8(&sample.text).is_ok() {
        return Ok(report(TextEncoding::Whatwg(encoding_rs::UTF_8), EncodingSource::Detected));
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(&sample.text, true);
    let guess = det.guess(None, chardetng::Utf8Detection::Allow);
    Ok(report(TextEncoding::Whatwg(guess), EncodingSource::Detected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_code_pages_in_every_spelling() {
        for label in [
            "437",
            "CP437",
            "cp437",
            "IBM437",
            "OEM 437",
            "OEM437",
            "DOS 437",
            " 437\n",
            "\u{feff}437",
        ] {
            assert_eq!(lookup(label), Some(TextEncoding::Oem(437)), "{label:?}");
        }
        for cp in [737, 775, 850, 852, 855, 857, 858, 860, 861, 862, 863, 864, 865, 866, 869] {
            assert_eq!(lookup(&cp.to_string()), Some(TextEncoding::Oem(cp)));
            assert_eq!(gdal_name(&TextEncoding::Oem(cp).name()), format!("CP{cp}"));
        }
        assert_eq!(lookup("88591").unwrap().name(), "windows-1252");
        assert_eq!(lookup("8859-2").unwrap().name(), "ISO-8859-2");
        assert_eq!(lookup("885915").unwrap().name(), "ISO-8859-15");
        assert_eq!(lookup("UTF8").unwrap().name(), "UTF-8");
        assert_eq!(lookup("ANSI 1251").unwrap().name(), "windows-1251");
        assert_eq!(lookup("874").unwrap().name(), "windows-874");
        assert!(lookup("<html><body>").is_none());
        assert!(lookup("999").is_none());
        // Box drawing and accents of CP437, Cyrillic of CP866.
        assert_eq!(
            TextEncoding::Oem(437).decode(&[0x43, 0x61, 0x66, 0x82, 0x20, 0xB0, 0xB3]).0,
            "Café ░│"
        );
        assert_eq!(TextEncoding::Oem(866).decode(&[0x8C, 0xAE, 0xE1, 0xAA, 0xA2, 0xA0]).0, "Москва");
        assert_eq!(from_ldid(0x1B), Some(TextEncoding::Oem(437)));
        assert_eq!(from_ldid(0x26), Some(TextEncoding::Oem(866)));
        assert_eq!(from_ldid(0x64), Some(TextEncoding::Oem(852)));
        assert_eq!(from_ldid(0x4D).unwrap().name(), "GBK");
        assert_eq!(from_ldid(0), None);
    }

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
