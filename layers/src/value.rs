//! Attribute values and their types, stored column by column.

use serde::{Serialize, Serializer};
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// The type of an attribute field, as the source declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// 64-bit signed integer (OGR Integer and Integer64).
    Integer,
    /// Double-precision real.
    Real,
    /// UTF-8 text.
    Text,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Date and time, with a time zone where the source has one.
    DateTime,
    /// Boolean (OGR integer subtype `Boolean`).
    Boolean,
    /// Binary blob.
    Binary,
    /// Lists and other types, kept as their text form.
    Other,
}

impl FieldKind {
    /// Lower-case name used in CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Integer => "integer",
            FieldKind::Real => "real",
            FieldKind::Text => "text",
            FieldKind::Date => "date",
            FieldKind::Time => "time",
            FieldKind::DateTime => "datetime",
            FieldKind::Boolean => "boolean",
            FieldKind::Binary => "binary",
            FieldKind::Other => "other",
        }
    }
}

/// One attribute field of a layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDef {
    /// Field name as in the source.
    pub name: String,
    /// Alias (alternative name) from the source, e.g. a Chinese label; empty if none.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub alias: String,
    /// Declared type.
    pub kind: FieldKind,
}

/// One attribute value. Dates and times keep the ISO 8601 text form of the source.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Missing value (SQL NULL / unset field).
    Null,
    /// Integer.
    Integer(i64),
    /// Real number.
    Real(f64),
    /// Text.
    Text(String),
    /// Boolean.
    Boolean(bool),
    /// Date `YYYY-MM-DD`.
    Date(String),
    /// Time `HH:MM:SS`.
    Time(String),
    /// Date-time in ISO 8601.
    DateTime(String),
}

impl Value {
    /// True for [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Numeric view of integers, reals and booleans.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Integer(v) => Some(*v as f64),
            Value::Real(v) => Some(*v),
            Value::Boolean(v) => Some(f64::from(u8::from(*v))),
            _ => None,
        }
    }
    /// Text view of text-like values.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Text(s) | Value::Date(s) | Value::Time(s) | Value::DateTime(s) => Some(s),
            _ => None,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Integer(v) => write!(f, "{v}"),
            Value::Real(v) => write!(f, "{v}"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::Text(s) | Value::Date(s) | Value::Time(s) | Value::DateTime(s) => f.write_str(s),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_none(),
            Value::Integer(v) => s.serialize_i64(*v),
            Value::Real(v) if v.is_finite() => s.serialize_f64(*v),
            Value::Real(_) => s.serialize_none(),
            Value::Boolean(v) => s.serialize_bool(*v),
            Value::Text(v) | Value::Date(v) | Value::Time(v) | Value::DateTime(v) => s.serialize_str(v),
        }
    }
}

/// Numbers of one column with their NULLs: the values and a validity flag per row (9 bytes a
/// row where `Vec<Option<_>>` takes 16). A NULL row's value is the type's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Nullable<T> {
    values: Vec<T>,
    valid: Vec<bool>,
}

impl<T: Copy + Default> Nullable<T> {
    /// An empty column with room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Self {
        Nullable {
            values: Vec::with_capacity(capacity),
            valid: Vec::with_capacity(capacity),
        }
    }
    /// `n` NULLs.
    pub fn nulls(n: usize) -> Self {
        Nullable {
            values: vec![T::default(); n],
            valid: vec![false; n],
        }
    }
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// The value of `row` (`None` for NULL or past the end).
    #[inline]
    pub fn get(&self, row: usize) -> Option<T> {
        self.valid.get(row).copied().unwrap_or(false).then(|| self.values[row])
    }
    /// Append a value.
    pub fn push(&mut self, v: Option<T>) {
        self.values.push(v.unwrap_or_default());
        self.valid.push(v.is_some());
    }
    /// Every row in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<T>> + '_ {
        self.values.iter().zip(&self.valid).map(|(v, ok)| ok.then_some(*v))
    }
    /// Disjoint writable parts of `counts` rows each (for filling in parallel).
    pub fn split_mut(&mut self, counts: &[usize]) -> Vec<NullableSlice<'_, T>> {
        let (mut values, mut valid) = (self.values.as_mut_slice(), self.valid.as_mut_slice());
        let mut out = Vec::with_capacity(counts.len());
        for &c in counts {
            let (v, vr) = std::mem::take(&mut values).split_at_mut(c);
            let (ok, okr) = std::mem::take(&mut valid).split_at_mut(c);
            out.push(NullableSlice { values: v, valid: ok });
            values = vr;
            valid = okr;
        }
        out
    }
}

impl<T: Copy + Default> FromIterator<Option<T>> for Nullable<T> {
    fn from_iter<I: IntoIterator<Item = Option<T>>>(iter: I) -> Self {
        let mut n = Nullable::with_capacity(0);
        for v in iter {
            n.push(v);
        }
        n
    }
}

impl<T: Copy + Default> From<Vec<Option<T>>> for Nullable<T> {
    fn from(v: Vec<Option<T>>) -> Self {
        v.into_iter().collect()
    }
}

/// A writable part of a [`Nullable`] column.
pub struct NullableSlice<'a, T> {
    values: &'a mut [T],
    valid: &'a mut [bool],
}

impl<T: Copy + Default> NullableSlice<'_, T> {
    /// Set row `i` of the part.
    #[inline]
    pub fn set(&mut self, i: usize, v: Option<T>) {
        self.values[i] = v.unwrap_or_default();
        self.valid[i] = v.is_some();
    }
}

/// The text of one column. While the distinct values are few next to the rows (land-use
/// classes, zone types, a building's use) each is kept once and a row is a 4-byte code;
/// once they are many (names, addresses) a row is its own shared string (16 bytes).
#[derive(Debug, Clone)]
pub struct Texts {
    repr: TextRepr,
}

#[derive(Debug, Clone)]
enum TextRepr {
    /// Code 0 is NULL, code k is `dict[k - 1]`; `lookup` finds a value's code by its bytes.
    Coded {
        codes: Vec<u32>,
        dict: Vec<Arc<str>>,
        lookup: HashMap<Box<[u8]>, u32, BuildHasherDefault<ShortHash>>,
    },
    Plain(Vec<Option<Arc<str>>>),
}

impl Default for Texts {
    fn default() -> Self {
        Texts::with_capacity(0)
    }
}

impl PartialEq for Texts {
    fn eq(&self, other: &Texts) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Up to this many distinct values a column stays coded whatever its length.
const FEW_DISTINCT: usize = 4096;

impl Texts {
    /// An empty column with room for `capacity` rows.
    pub fn with_capacity(capacity: usize) -> Texts {
        Texts {
            repr: TextRepr::Coded {
                codes: Vec::with_capacity(capacity),
                dict: Vec::new(),
                lookup: HashMap::default(),
            },
        }
    }

    /// `n` NULLs.
    pub fn nulls(n: usize) -> Texts {
        let mut t = Texts::with_capacity(n);
        if let TextRepr::Coded { codes, .. } = &mut t.repr {
            codes.resize(n, 0);
        }
        t
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.repr {
            TextRepr::Coded { codes, .. } => codes.len(),
            TextRepr::Plain(v) => v.len(),
        }
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text of `row` (`None` for NULL or past the end).
    #[inline]
    pub fn get(&self, row: usize) -> Option<&str> {
        match &self.repr {
            TextRepr::Coded { codes, dict, .. } => match codes.get(row).copied() {
                None | Some(0) => None,
                Some(k) => Some(&dict[k as usize - 1]),
            },
            TextRepr::Plain(v) => v.get(row).and_then(|s| s.as_deref()),
        }
    }

    /// Every row in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|r| self.get(r))
    }

    /// Append a value.
    pub fn push(&mut self, v: Option<&str>) {
        match v {
            None => self.push_null(),
            Some(s) => self.push_bytes(s.as_bytes(), || Arc::from(s)),
        }
    }

    /// Append a NULL.
    pub fn push_null(&mut self) {
        match &mut self.repr {
            TextRepr::Coded { codes, .. } => codes.push(0),
            TextRepr::Plain(v) => v.push(None),
        }
    }

    /// Append the text whose bytes are `bytes`; `make` gives it as a string when it is new.
    pub fn push_bytes(&mut self, bytes: &[u8], make: impl FnOnce() -> Arc<str>) {
        match &mut self.repr {
            TextRepr::Coded { codes, dict, lookup } => {
                if let Some(&k) = lookup.get(bytes) {
                    codes.push(k);
                    return;
                }
                if dict.len() >= FEW_DISTINCT && dict.len() * 8 > codes.len() {
                    self.make_plain();
                    self.push_bytes(bytes, make);
                    return;
                }
                dict.push(make());
                let k = dict.len() as u32;
                lookup.insert(bytes.into(), k);
                codes.push(k);
            }
            TextRepr::Plain(v) => v.push(Some(make())),
        }
    }

    fn make_plain(&mut self) {
        if let TextRepr::Coded { codes, dict, .. } = &self.repr {
            let plain = codes.iter().map(|&k| (k > 0).then(|| dict[k as usize - 1].clone())).collect();
            self.repr = TextRepr::Plain(plain);
        }
    }

    /// The rows of `parts` one after another (parts filled separately, in parallel).
    pub fn concat(parts: Vec<Texts>) -> Texts {
        let n: usize = parts.iter().map(Texts::len).sum();
        let mut out = Texts::with_capacity(n);
        for part in parts {
            match part.repr {
                TextRepr::Coded { codes, dict, .. } => {
                    // Each of the part's values looked up in the output once: its code there,
                    // by the part's code (0, NULL, stays 0).
                    let mut remap: Vec<Option<u32>> = vec![None; dict.len() + 1];
                    remap[0] = Some(0);
                    for k in codes {
                        let k = k as usize;
                        match (&mut out.repr, remap[k]) {
                            (TextRepr::Coded { codes, .. }, Some(to)) => codes.push(to),
                            _ if k == 0 => out.push_null(),
                            _ => {
                                let s = &dict[k - 1];
                                out.push_bytes(s.as_bytes(), || s.clone());
                                if let TextRepr::Coded { codes, .. } = &out.repr {
                                    remap[k] = codes.last().copied();
                                }
                            }
                        }
                    }
                }
                TextRepr::Plain(v) => {
                    for s in v {
                        match s {
                            None => out.push_null(),
                            Some(s) => out.push_bytes(s.as_bytes(), || s.clone()),
                        }
                    }
                }
            }
        }
        out.shrink_to_fit();
        out
    }

    /// Give back unused capacity.
    pub fn shrink_to_fit(&mut self) {
        match &mut self.repr {
            TextRepr::Coded { codes, dict, .. } => {
                codes.shrink_to_fit();
                dict.shrink_to_fit();
            }
            TextRepr::Plain(v) => v.shrink_to_fit(),
        }
    }
}

impl<S: AsRef<str>> FromIterator<Option<S>> for Texts {
    fn from_iter<I: IntoIterator<Item = Option<S>>>(iter: I) -> Self {
        let mut t = Texts::default();
        for v in iter {
            t.push(v.as_ref().map(|s| s.as_ref()));
        }
        t.shrink_to_fit();
        t
    }
}

/// A fast hash of short byte strings (FxHash's mixing, a word at a time).
#[derive(Default)]
pub(crate) struct ShortHash(u64);

impl std::hash::Hasher for ShortHash {
    fn write(&mut self, bytes: &[u8]) {
        let mut mix = |w: u64| self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            mix(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        mix(u64::from_le_bytes(tail) ^ ((bytes.len() as u64) << 56));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Values of one field for all features of a layer, stored compactly by type.
#[derive(Debug, Clone)]
pub enum Column {
    /// Integers (and booleans stored as 0/1 when the kind is `Boolean`).
    Integer(Nullable<i64>),
    /// Reals.
    Real(Nullable<f64>),
    /// Text and every text-like kind (dates, times, others), each distinct value stored once
    /// while they are few ([`Texts`]).
    Text(Texts),
}

impl Column {
    /// An empty column suited to `kind`, with room for `capacity` rows.
    pub fn for_kind(kind: FieldKind, capacity: usize) -> Column {
        match kind {
            FieldKind::Integer | FieldKind::Boolean => Column::Integer(Nullable::with_capacity(capacity)),
            FieldKind::Real => Column::Real(Nullable::with_capacity(capacity)),
            _ => Column::Text(Texts::with_capacity(capacity)),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Integer(v) => v.len(),
            Column::Real(v) => v.len(),
            Column::Text(v) => v.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append a value, converting it to the column's storage. A value of the wrong type is
    /// stored as its text form in text columns and as NULL elsewhere.
    pub fn push(&mut self, value: Value) {
        match self {
            Column::Integer(v) => v.push(match value {
                Value::Integer(i) => Some(i),
                Value::Boolean(b) => Some(i64::from(b)),
                _ => None,
            }),
            Column::Real(v) => v.push(value.as_f64()),
            Column::Text(v) => match value {
                Value::Null => v.push_null(),
                Value::Text(s) | Value::Date(s) | Value::Time(s) | Value::DateTime(s) => v.push(Some(&s)),
                other => v.push(Some(&other.to_string())),
            },
        }
    }

    /// The value of row `row`, typed by `kind`.
    pub fn get(&self, row: usize, kind: FieldKind) -> Value {
        match self {
            Column::Integer(v) => match (v.get(row), kind) {
                (None, _) => Value::Null,
                (Some(i), FieldKind::Boolean) => Value::Boolean(i != 0),
                (Some(i), _) => Value::Integer(i),
            },
            Column::Real(v) => v.get(row).map_or(Value::Null, Value::Real),
            Column::Text(v) => match v.get(row) {
                None => Value::Null,
                Some(s) => match kind {
                    FieldKind::Date => Value::Date(s.to_owned()),
                    FieldKind::Time => Value::Time(s.to_owned()),
                    FieldKind::DateTime => Value::DateTime(s.to_owned()),
                    _ => Value::Text(s.to_owned()),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_keeps_values_and_nulls_apart() {
        let mut n: Nullable<i64> = vec![Some(0), None, Some(-7)].into();
        n.push(None);
        n.push(Some(i64::MIN));
        assert_eq!(n.len(), 5);
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![Some(0), None, Some(-7), None, Some(i64::MIN)]);
        assert_eq!((n.get(1), n.get(4), n.get(5)), (None, Some(i64::MIN), None));
        // Parts written separately land in their own rows.
        let mut m: Nullable<f64> = Nullable::nulls(5);
        {
            let mut parts = m.split_mut(&[2, 0, 3]);
            parts[0].set(1, Some(1.5));
            parts[2].set(0, Some(f64::NAN));
            parts[2].set(2, Some(-0.0));
        }
        let got: Vec<Option<f64>> = m.iter().collect();
        assert_eq!(got[..2], [None, Some(1.5)]);
        assert!(got[2].is_some_and(f64::is_nan) && got[3].is_none() && got[4] == Some(-0.0));
        let col = Column::Integer(vec![Some(1), None].into());
        // Text: coded while the distinct values are few, plain once most rows differ; the same
        // rows either way, and parts joined in order.
        let classes: Vec<Option<String>> = (0..20_000).map(|i| (i % 7 != 3).then(|| format!("class {}", i % 11))).collect();
        let unique: Vec<Option<String>> = (0..20_000).map(|i| (i % 5 != 0).then(|| format!("name {i}"))).collect();
        for rows in [&classes, &unique] {
            let t: Texts = rows.iter().cloned().collect();
            assert!(t.iter().map(|s| s.map(str::to_owned)).eq(rows.iter().cloned()));
            let parts: Vec<Texts> = rows.chunks(3_000).map(|c| c.iter().cloned().collect()).collect();
            assert_eq!(Texts::concat(parts), t);
        }
        let coded: Texts = classes.iter().cloned().collect();
        assert!(matches!(coded.repr, TextRepr::Coded { ref dict, .. } if dict.len() == 11));
        let plain: Texts = unique.iter().cloned().collect();
        assert!(matches!(plain.repr, TextRepr::Plain(_)));
        assert_eq!((plain.get(1), plain.get(5), plain.get(20_000)), (Some("name 1"), None, None));
        assert_eq!(col.get(0, FieldKind::Boolean), Value::Boolean(true));
        assert_eq!(col.get(1, FieldKind::Integer), Value::Null);
    }
}
