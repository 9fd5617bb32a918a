//! ISO 10303-21 ("STEP physical file") as IFC writes it: the header's schema and the data
//! section's entity instances `#id=TYPE(args);`, with attribute values kept positional.
//!
//! Strings are decoded as Part 21 encodes them (`''`, `\\`, `\S\`, `\X\hh`, `\X2\…\X0\`,
//! `\X4\…\X0\`). Complex instances (`#id=(A(..)B(..));`) are kept with an empty type; nothing
//! in the geometry or spatial tree IFC writers produce uses them.

use std::collections::HashMap;

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// `$`: not given.
    Null,
    /// `*`: derived.
    Derived,
    /// An integer.
    Int(i64),
    /// A real.
    Real(f64),
    /// A string, decoded.
    Str(String),
    /// An enumeration or boolean, without its dots (`T`, `F`, `MILLI`).
    Enum(String),
    /// A reference to another instance.
    Ref(u32),
    /// A list, set or aggregate.
    List(Vec<V>),
    /// A typed value such as `IFCLABEL('x')`: its type (upper case) and value.
    Typed(String, Box<V>),
}

impl V {
    /// The number in an integer, real or typed number.
    pub fn num(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Real(r) => Some(*r),
            V::Typed(_, v) => v.num(),
            _ => None,
        }
    }

    /// The referenced instance.
    pub fn id(&self) -> Option<u32> {
        match self {
            V::Ref(r) => Some(*r),
            _ => None,
        }
    }

    /// The items of a list (empty for anything else).
    pub fn list(&self) -> &[V] {
        match self {
            V::List(l) => l,
            _ => &[],
        }
    }

    /// The text of a string or typed string.
    pub fn text(&self) -> Option<&str> {
        match self {
            V::Str(s) => Some(s),
            V::Typed(_, v) => v.text(),
            _ => None,
        }
    }

    /// The name of an enumeration.
    pub fn enumeration(&self) -> Option<&str> {
        match self {
            V::Enum(s) => Some(s),
            V::Typed(_, v) => v.enumeration(),
            _ => None,
        }
    }

    /// A value as one line of text for an attribute table: strings as they are, numbers in
    /// full, booleans as `true`/`false`, lists joined by commas.
    pub fn display(&self) -> Option<String> {
        match self {
            V::Null | V::Derived => None,
            V::Int(i) => Some(i.to_string()),
            V::Real(r) => Some(r.to_string()),
            V::Str(s) => Some(s.clone()),
            V::Enum(e) => Some(match e.as_str() {
                "T" => "true".into(),
                "F" => "false".into(),
                "U" => "unknown".into(),
                other => other.to_owned(),
            }),
            V::Ref(r) => Some(format!("#{r}")),
            V::List(l) => Some(l.iter().filter_map(V::display).collect::<Vec<_>>().join(", ")),
            V::Typed(_, v) => v.display(),
        }
    }
}

/// One entity instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The type in upper case (`IFCWALL`); empty for a complex instance.
    pub ty: String,
    /// The attributes in schema order.
    pub args: Vec<V>,
}

impl Entity {
    /// Attribute `i`, `Null` when the instance has fewer.
    pub fn arg(&self, i: usize) -> &V {
        self.args.get(i).unwrap_or(&V::Null)
    }
}

/// A parsed file.
#[derive(Debug, Default)]
pub struct Step {
    /// The schema names of FILE_SCHEMA, upper case (`IFC2X3`, `IFC4`, `IFC4X3_RC2`).
    pub schemas: Vec<String>,
    /// The instances by id.
    pub entities: HashMap<u32, Entity>,
}

impl Step {
    /// The instance `id`.
    pub fn get(&self, id: u32) -> Option<&Entity> {
        self.entities.get(&id)
    }

    /// The instance a value refers to.
    pub fn deref(&self, v: &V) -> Option<&Entity> {
        v.id().and_then(|id| self.get(id))
    }

    /// Ids of every instance of the type `ty` (upper case), in id order.
    pub fn of_type(&self, ty: &str) -> Vec<u32> {
        let mut ids: Vec<u32> = self.entities.iter().filter(|(_, e)| e.ty == ty).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids
    }
}

/// Parse a whole file. Errors say what was wrong and at which byte.
pub fn parse(bytes: &[u8]) -> Result<Step, String> {
    let mut p = Parser {
        b: bytes,
        i: 0,
        nesting: 0,
    };
    p.skip_ws();
    if !p.eat_word("ISO-10303-21") {
        return Err("not a STEP file (it does not begin with ISO-10303-21;)".into());
    }
    let mut step = Step::default();
    // Header: find FILE_SCHEMA's names; stop at DATA;.
    loop {
        p.skip_ws();
        if p.i >= p.b.len() {
            return Err("no DATA section".into());
        }
        if p.eat_word("DATA") {
            p.skip_ws();
            // DATA may carry a parameter list in Part 21 edition 3.
            if p.peek() == Some(b'(') {
                p.value()?;
                p.skip_ws();
                p.expect(b';')?;
            }
            break;
        }
        let word = p.keyword();
        if word.is_empty() {
            // Anything else in the header (a semicolon, a stray character) is passed over.
            p.i += 1;
            continue;
        }
        p.skip_ws();
        if p.peek() == Some(b'(') {
            let v = p.value()?;
            if word == "FILE_SCHEMA" {
                fn names(v: &V, out: &mut Vec<String>) {
                    match v {
                        V::Str(s) => out.push(s.trim().to_ascii_uppercase()),
                        V::List(l) => l.iter().for_each(|v| names(v, out)),
                        _ => {}
                    }
                }
                names(&v, &mut step.schemas);
            }
        }
    }
    loop {
        p.skip_ws();
        if p.i >= p.b.len() {
            return Err("the DATA section is not closed by ENDSEC;".into());
        }
        if p.eat_word("ENDSEC") {
            break;
        }
        p.expect(b'#')?;
        let id = p.integer()? as u32;
        p.skip_ws();
        p.expect(b'=')?;
        p.skip_ws();
        let ent = if p.peek() == Some(b'(') {
            // A complex instance: passed over, kept without a type.
            p.skip_group()?;
            Entity {
                ty: String::new(),
                args: Vec::new(),
            }
        } else {
            let ty = p.keyword();
            if ty.is_empty() {
                return Err(format!("byte {}: #{id} has no entity type", p.i));
            }
            p.skip_ws();
            let args = match p.value()? {
                V::List(l) => l,
                _ => return Err(format!("byte {}: #{id} {ty} has no attribute list", p.i)),
            };
            Entity { ty, args }
        };
        p.skip_ws();
        p.expect(b';')?;
        if step.entities.insert(id, ent).is_some() {
            return Err(format!("#{id} is defined twice"));
        }
    }
    Ok(step)
}

/// How deep lists may nest in an attribute.
const MAX_NESTING: usize = 64;

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// Lists open around the value being read (`value` recurses into nested lists).
    nesting: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        loop {
            match self.peek() {
                Some(c) if c.is_ascii_whitespace() => self.i += 1,
                Some(b'/') if self.b.get(self.i + 1) == Some(&b'*') => {
                    self.i = match find(&self.b[self.i + 2..], b"*/") {
                        Some(k) => self.i + 2 + k + 2,
                        None => self.b.len(),
                    };
                }
                _ => return,
            }
        }
    }

    /// Pass over a parenthesised group (strings included) without reading it.
    fn skip_group(&mut self) -> Result<(), String> {
        let start = self.i;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'\'' => {
                    self.string()?;
                    continue;
                }
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        Err(format!("byte {start}: a complex instance is not closed"))
    }

    fn eat_word(&mut self, w: &str) -> bool {
        let end = self.i + w.len();
        if self.b.get(self.i..end) == Some(w.as_bytes()) && !self.b.get(end).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
            self.i = end;
            self.skip_ws();
            if self.peek() == Some(b';') {
                self.i += 1;
            }
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!(
                "byte {}: expected '{}', found {}",
                self.i,
                c as char,
                self.peek()
                    .map_or("the end of the file".to_owned(), |c| format!("'{}'", c.escape_ascii()))
            ))
        }
    }

    fn keyword(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.b[start..self.i]).to_ascii_uppercase()
    }

    fn integer(&mut self) -> Result<i64, String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        std::str::from_utf8(&self.b[start..self.i])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("byte {start}: expected an instance number"))
    }

    fn value(&mut self) -> Result<V, String> {
        self.skip_ws();
        let Some(c) = self.peek() else {
            return Err("unexpected end of the file inside an attribute list".into());
        };
        match c {
            b'(' => {
                // IFC nests lists a few deep (a face set's coordinates, lists of lists); a
                // damaged file nesting thousands would otherwise overflow the stack.
                if self.nesting >= MAX_NESTING {
                    return Err(format!("byte {}: lists nested more than {MAX_NESTING} deep", self.i));
                }
                self.i += 1;
                self.nesting += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() == Some(b')') {
                        self.i += 1;
                        self.nesting -= 1;
                        return Ok(V::List(items));
                    }
                    items.push(self.value()?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b')') => {}
                        _ => return Err(format!("byte {}: expected ',' or ')' in a list", self.i)),
                    }
                }
            }
            b'$' => {
                self.i += 1;
                Ok(V::Null)
            }
            b'*' => {
                self.i += 1;
                Ok(V::Derived)
            }
            b'#' => {
                self.i += 1;
                Ok(V::Ref(self.integer()? as u32))
            }
            b'\'' => self.string().map(V::Str),
            b'.' => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != b'.') {
                    self.i += 1;
                }
                let e = String::from_utf8_lossy(&self.b[start..self.i]).to_ascii_uppercase();
                self.expect(b'.')?;
                Ok(V::Enum(e))
            }
            b'"' => {
                // Binary: kept as its hex text.
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c != b'"') {
                    self.i += 1;
                }
                let s = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
                self.expect(b'"')?;
                Ok(V::Str(s))
            }
            b'-' | b'+' | b'0'..=b'9' => {
                let start = self.i;
                self.i += 1;
                let mut real = false;
                while let Some(c) = self.peek() {
                    match c {
                        b'0'..=b'9' => {}
                        b'.' | b'E' | b'e' => real = true,
                        b'-' | b'+' if matches!(self.b[self.i - 1], b'E' | b'e') => {}
                        _ => break,
                    }
                    self.i += 1;
                }
                let s = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
                if real {
                    s.parse::<f64>()
                        .map(V::Real)
                        .map_err(|_| format!("byte {start}: '{s}' is not a number"))
                } else {
                    s.parse::<i64>()
                        .map(V::Int)
                        .or_else(|_| s.parse::<f64>().map(V::Real))
                        .map_err(|_| format!("byte {start}: '{s}' is not a number"))
                }
            }
            c if c.is_ascii_alphabetic() => {
                let ty = self.keyword();
                self.skip_ws();
                if self.peek() != Some(b'(') {
                    return Err(format!("byte {}: '{ty}' is not a value", self.i));
                }
                if self.nesting >= MAX_NESTING {
                    return Err(format!("byte {}: values nested more than {MAX_NESTING} deep", self.i));
                }
                self.i += 1;
                self.nesting += 1;
                let inner = self.value()?;
                self.skip_ws();
                self.expect(b')')?;
                self.nesting -= 1;
                Ok(V::Typed(ty, Box::new(inner)))
            }
            other => Err(format!("byte {}: unexpected '{}'", self.i, other.escape_ascii())),
        }
    }

    /// A quoted string, its Part 21 escapes decoded.
    fn string(&mut self) -> Result<String, String> {
        let start = self.i;
        self.i += 1;
        let mut raw = Vec::new();
        loop {
            match self.peek() {
                None => return Err(format!("byte {start}: a string is not closed")),
                Some(b'\'') if self.b.get(self.i + 1) == Some(&b'\'') => {
                    raw.push(b'\'');
                    self.i += 2;
                }
                Some(b'\'') => {
                    self.i += 1;
                    break;
                }
                // Line breaks inside strings are not part of the value (writers wrap long lines).
                Some(b'\r' | b'\n') => self.i += 1,
                Some(c) => {
                    raw.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(decode(&raw))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decode Part 21's escapes; bytes outside them are taken as UTF-8 (some writers put it there
/// directly), else as Latin-1.
fn decode(raw: &[u8]) -> String {
    let mut out = String::new();
    let mut plain: Vec<u8> = Vec::new();
    let flush = |plain: &mut Vec<u8>, out: &mut String| {
        match std::str::from_utf8(plain) {
            Ok(s) => out.push_str(s),
            Err(_) => out.extend(plain.iter().map(|b| *b as char)),
        }
        plain.clear();
    };
    let hex = |s: &[u8]| -> Option<u32> { std::str::from_utf8(s).ok().and_then(|s| u32::from_str_radix(s, 16).ok()) };
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            let rest = &raw[i..];
            if rest.starts_with(b"\\\\") {
                plain.push(b'\\');
                i += 2;
                continue;
            }
            if rest.starts_with(b"\\S\\") && rest.len() > 3 {
                flush(&mut plain, &mut out);
                out.push(char::from_u32(rest[3] as u32 + 128).unwrap_or('?'));
                i += 4;
                continue;
            }
            if rest.starts_with(b"\\X\\")
                && rest.len() >= 5
                && let Some(c) = hex(&rest[3..5]).and_then(char::from_u32)
            {
                flush(&mut plain, &mut out);
                out.push(c);
                i += 5;
                continue;
            }
            let width = if rest.starts_with(b"\\X2\\") {
                4
            } else if rest.starts_with(b"\\X4\\") {
                8
            } else {
                0
            };
            if let Some(end) = (width > 0).then(|| find(&rest[4..], b"\\X0\\")).flatten() {
                flush(&mut plain, &mut out);
                let units: Vec<u32> = rest[4..4 + end].chunks(width).filter_map(hex).collect();
                if width == 4 {
                    let u16s: Vec<u16> = units.iter().map(|u| *u as u16).collect();
                    out.push_str(&String::from_utf16_lossy(&u16s));
                } else {
                    out.extend(units.iter().filter_map(|u| char::from_u32(*u)));
                }
                i += 4 + end + 4;
                continue;
            }
            plain.push(b'\\');
            i += 1;
            continue;
        }
        plain.push(raw[i]);
        i += 1;
    }
    flush(&mut plain, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_escapes() {
        let f = b"ISO-10303-21;\nHEADER;FILE_SCHEMA(('IFC4'));ENDSEC;\nDATA;\n\
            #1=IFCWALL('2O2Fr$t4X7Zf8NOew3FL9r',$,'W\\X2\\00E4\\X0\\nde ''A''',(1.,-2.5E-1,3),.T.,IFCLABEL('x'),*);\n\
            /* comment */ #2=(IFCA()IFCB(1));\nENDSEC;END-ISO-10303-21;";
        let s = parse(f).unwrap();
        assert_eq!(s.schemas, vec!["IFC4"]);
        let w = s.get(1).unwrap();
        assert_eq!(w.ty, "IFCWALL");
        assert_eq!(w.arg(2).text(), Some("Wände 'A'"));
        assert_eq!(w.arg(3).list().iter().filter_map(V::num).collect::<Vec<_>>(), vec![1.0, -0.25, 3.0]);
        assert_eq!(w.arg(4).enumeration(), Some("T"));
        assert_eq!(w.arg(5).text(), Some("x"));
        assert_eq!(w.arg(6), &V::Derived);
        assert_eq!(s.get(2).unwrap().ty, "");
        assert_eq!(decode(b"\\X\\E4\\S\\D"), "äÄ");
    }

    #[test]
    fn errors_say_where() {
        assert!(parse(b"hello").unwrap_err().contains("not a STEP file"));
        let e = parse(b"ISO-10303-21;HEADER;ENDSEC;DATA;#1=IFCWALL('a',;ENDSEC;").unwrap_err();
        assert!(e.contains("byte"), "{e}");
        let e = parse(b"ISO-10303-21;HEADER;ENDSEC;DATA;#1=IFCWALL('a');").unwrap_err();
        assert!(e.contains("ENDSEC"), "{e}");
        // Lists or typed values nested thousands deep (a damaged file) are an error, not a
        // stack overflow; 64 deep is read.
        for (open, close) in [("(", ")"), ("IFCLABEL(", ")")] {
            let deep = |n: usize| {
                format!(
                    "ISO-10303-21;HEADER;ENDSEC;DATA;#1=IFCX({}1{});ENDSEC;",
                    open.repeat(n),
                    close.repeat(n)
                )
            };
            let e = parse(deep(100_000).as_bytes()).unwrap_err();
            assert!(e.contains("nested more than 64 deep"), "{e}");
            assert!(parse(deep(63).as_bytes()).is_ok());
        }
    }
}
