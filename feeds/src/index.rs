//! Atom and RSS indexes of CAP alerts (how alert hubs publish: the index lists the alerts, each
//! at its own URL).

use crate::FeedError;
use crate::cap::xml;
use crate::time::parse_iso8601;
use serde::Serialize;

/// One alert listed by an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Entry id (Atom `id`, RSS `guid`, else the link).
    pub id: String,
    /// Where the alert is (possibly relative to the index URL).
    pub link: String,
    /// Last update (ms), when given.
    pub updated_ms: Option<i64>,
}

/// Parse an Atom `<feed>` or an RSS `<rss><channel>`.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, FeedError> {
    parse_text(&crate::xmltext::to_utf8(bytes)?)
}

/// [`parse`] on a document already decoded (its declaration's encoding is ignored).
pub fn parse_text(text: &str) -> Result<Vec<Entry>, FeedError> {
    let doc = xml(text)?;
    let root = doc.root_element();
    fn el<'a, 'i>(n: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
        n.children().find(|c| c.is_element() && c.tag_name().name() == name)
    }
    fn txt(n: Option<roxmltree::Node<'_, '_>>) -> Option<String> {
        n.and_then(|c| c.text()).map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
    }
    let mut out = Vec::new();
    match root.tag_name().name() {
        "feed" => {
            for (i, e) in root
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "entry")
                .enumerate()
            {
                // Prefer the link to the CAP document itself.
                let links: Vec<_> = e.children().filter(|c| c.is_element() && c.tag_name().name() == "link").collect();
                let link = links
                    .iter()
                    .find(|l| l.attribute("type").is_some_and(|t| t.contains("cap")))
                    .or_else(|| links.iter().find(|l| l.attribute("rel").is_none_or(|r| r == "alternate")))
                    .and_then(|l| l.attribute("href"))
                    .map(str::to_string)
                    .ok_or_else(|| FeedError::Invalid(format!("Atom entry {i} has no link")))?;
                let updated = txt(el(e, "updated"));
                out.push(Entry {
                    id: txt(el(e, "id")).unwrap_or_else(|| link.clone()),
                    updated_ms: updated.as_deref().and_then(parse_iso8601),
                    link,
                });
            }
        }
        "rss" => {
            let channel = el(root, "channel").ok_or_else(|| FeedError::Invalid("an RSS document without <channel>".into()))?;
            for (i, item) in channel
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "item")
                .enumerate()
            {
                let link = txt(el(item, "link")).ok_or_else(|| FeedError::Invalid(format!("RSS item {i} has no <link>")))?;
                out.push(Entry {
                    id: txt(el(item, "guid")).unwrap_or_else(|| link.clone()),
                    updated_ms: None,
                    link,
                });
            }
        }
        other => return Err(FeedError::Invalid(format!("<{other}> is neither an Atom feed nor RSS"))),
    }
    Ok(out)
}
