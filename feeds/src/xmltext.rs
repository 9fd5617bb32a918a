//! XML documents as senders write them: the encoding a byte-order mark or the XML declaration
//! names (UTF-8, UTF-16, ISO-8859-1, windows-1252, GB2312, GBK, GB18030, Big5, …) decoded to
//! UTF-8 before the parser sees them. Bytes that are not valid in the named encoding are an
//! error, never replacement characters in a warning.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use crate::FeedError;

/// The `encoding` pseudo-attribute of an XML declaration at the start of `head` (ASCII bytes).
pub fn declared_encoding(head: &[u8]) -> Option<String> {
    let head = &head[..head.len().min(512)];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[5..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].trim().to_owned())
}

/// The document as UTF-8 text: a BOM decides, else the XML declaration, else UTF-8.
pub fn to_utf8(bytes: &[u8]) -> Result<Cow<'_, str>, FeedError> {
    let (enc, body) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        (UTF_8, rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (UTF_16LE, rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (UTF_16BE, rest)
    } else if bytes.starts_with(b"<\0?\0") {
        (UTF_16LE, bytes)
    } else if bytes.starts_with(b"\0<\0?") {
        (UTF_16BE, bytes)
    } else {
        match declared_encoding(bytes) {
            None => (UTF_8, bytes),
            Some(label) => {
                let enc = Encoding::for_label(label.as_bytes())
                    .or_else(|| match label.to_ascii_lowercase().replace('_', "-").as_str() {
                        "cp936" | "ms936" | "gb-2312" => Encoding::for_label(b"gbk"),
                        "cp950" => Encoding::for_label(b"big5"),
                        "utf8" => Some(UTF_8),
                        _ => None,
                    })
                    .ok_or_else(|| FeedError::Xml(format!("the XML declaration names an unknown encoding '{label}'")))?;
                // A declaration of UTF-16 on bytes without a BOM that read as ASCII: the
                // document is in fact 8-bit; trust the bytes.
                (if enc == UTF_16LE || enc == UTF_16BE { UTF_8 } else { enc }, bytes)
            }
        }
    };
    let (text, bad) = enc
        .decode_without_bom_handling_and_without_replacement(body)
        .map_or_else(|| (Cow::Owned(String::new()), true), |t| (t, false));
    if bad {
        let valid_up_to = if enc == UTF_8 {
            std::str::from_utf8(body).err().map_or(0, |e| e.valid_up_to())
        } else {
            0
        };
        return Err(FeedError::Xml(if enc == UTF_8 {
            format!("not valid UTF-8 at byte {valid_up_to} (and no XML declaration names another encoding)")
        } else {
            format!("bytes that are not valid {} in a document that declares it", enc.name())
        }));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_as_written() {
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>").as_deref(),
            Some("ISO-8859-1")
        );
        assert_eq!(
            declared_encoding(b"<?xml version = '1.0' encoding = \"GB2312\" standalone = 'yes'?>").as_deref(),
            Some("GB2312")
        );
        assert_eq!(declared_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(declared_encoding(b"<a/>"), None);
    }

    #[test]
    fn decoded_by_bom_or_declaration() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Bogot\xe1</a>";
        assert_eq!(
            to_utf8(latin).unwrap(),
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>Bogotá</a>"
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("<?xml version=\"1.0\" encoding=\"GB2312\"?><a>暴雨红色预警</a>");
        assert!(to_utf8(&gbk).unwrap().contains("暴雨红色预警"));
        let (gb18030, _, _) = encoding_rs::GB18030.encode("<?xml version=\"1.0\" encoding=\"GB18030\"?><a>台风𠀀</a>");
        assert!(to_utf8(&gb18030).unwrap().contains("台风𠀀"));
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>地震</a>"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        assert!(to_utf8(&utf16).unwrap().contains("地震"));
        assert!(
            to_utf8(b"<?xml version=\"1.0\" encoding=\"klingon\"?><a/>")
                .unwrap_err()
                .to_string()
                .contains("klingon")
        );
        assert!(to_utf8(b"<a>\xff\xfe\xfd</a>").unwrap_err().to_string().contains("UTF-8 at byte 3"));
        // GBK declared, bytes that are not GBK.
        assert!(to_utf8(b"<?xml version=\"1.0\" encoding=\"GBK\"?><a>\x81</a>").is_err());
    }
}
