//! Just enough XML for WS-Management: replies read into a small element
//! tree (names without their prefixes, as the prefixes are the server's
//! choice), and text escaped for the requests kiln writes.

use quick_xml::events::{BytesStart, Event};

/// Deepest nesting accepted: a SOAP reply is a handful of levels deep, and a
/// bound keeps a hostile reply from costing unbounded work or stack.
const MAX_DEPTH: usize = 64;

/// One element: its local name, attributes (local names), text and children.
#[derive(Debug, Default, Clone)]
pub(crate) struct Element {
    /// The local name (`Stream` for `rsp:Stream`).
    pub name: String,
    /// Attributes by local name, unescaped, in document order.
    pub attributes: Vec<(String, String)>,
    /// The element's own text (all its text and CDATA pieces, unescaped).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The value of the attribute whose local name is `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first direct child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The first element named `name` here or below, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// Every element named `name` here or below, in document order.
    pub fn find_all<'a>(&'a self, name: &str, out: &mut Vec<&'a Element>) {
        if self.name == name {
            out.push(self);
        }
        for child in &self.children {
            child.find_all(name, out);
        }
    }

    /// The element at `path` (local names, each a direct child).
    pub fn path(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |at, name| at.child(name))
    }
}

/// Reads `body` into its root element. Fails (with a short reason) when it
/// is not well-formed XML, has no root, or nests deeper than [`MAX_DEPTH`].
pub(crate) fn parse(body: &[u8]) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_reader(body);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event =
            reader.read_event().map_err(|e| format!("not well-formed XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err("content after the root element".into());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                }
                stack.push(element(&start)?);
            }
            Event::Empty(start) => {
                let done = element(&start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None if root.is_none() => root = Some(done),
                    None => return Err("content after the root element".into()),
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match their start.
                let done = stack.pop().ok_or("an end tag without its start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| format!("bad text: {e}"))?;
                match stack.last_mut() {
                    Some(at) => at.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(data) => {
                let data = std::str::from_utf8(&data).map_err(|_| "CDATA that is not UTF-8".to_string())?;
                match stack.last_mut() {
                    Some(at) => at.text.push_str(data),
                    None => return Err("CDATA outside the root element".into()),
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".into())
}

fn element(start: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| format!("bad attribute in <{name}>: {e}"))?;
        let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
        let value = attribute.unescape_value().map_err(|e| format!("bad attribute value in <{name}>: {e}"))?;
        attributes.push((key, value.into_owned()));
    }
    Ok(Element { name, attributes, text: String::new(), children: Vec::new() })
}

/// `text` escaped for XML content or a double-quoted attribute. A carriage
/// return is written as a reference, since a parser would otherwise turn
/// `\r\n` into `\n`. Fails with the offending character's code when `text`
/// holds a character XML 1.0 cannot carry at all (a control character other
/// than tab, line feed and carriage return).
pub(crate) fn escape(text: &str) -> Result<String, u32> {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => return Err(c as u32),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_keeps_local_names_attributes_and_text() {
        let root =
            parse(br#"<?xml version="1.0"?><s:E xmlns:s="u"><s:B a:k="v&amp;w">t&lt;1<![CDATA[<x>]]></s:B><e/></s:E>"#)
                .unwrap();
        assert_eq!(root.name, "E");
        let b = root.child("B").unwrap();
        assert_eq!(b.attribute("k"), Some("v&w"));
        assert_eq!(b.text, "t<1<x>");
        assert!(root.child("e").is_some());
    }

    #[test]
    fn malformed_documents_are_refused() {
        for bad in [&b""[..], b"<a>", b"<a></b>", b"</a>", b"<a/><b/>", b"<a x='1' x='2'/>", b"text"] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn escaping_covers_markup_quotes_and_carriage_returns() {
        assert_eq!(escape("a<b>&\"c'\r\n").unwrap(), "a&lt;b&gt;&amp;&quot;c&apos;&#xD;\n");
        assert_eq!(escape("bell\u{7}"), Err(7));
    }
}
