//! The attribute table behind the app's table view: the order of a layer's rows for a sort
//! field and a text filter, computed once (in parallel) and then paged cheaply, so that a
//! million-row layer scrolls by asking only for the rows on screen.

use crate::layer::Layer;
use crate::value::{Column, Value};
use rayon::prelude::*;
use serde::Serialize;
use std::cmp::Ordering;

/// How to order and filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TableQuery {
    /// Sort field (row order when `None`).
    pub sort: Option<String>,
    /// Descending.
    pub desc: bool,
    /// Keep rows where any field's text contains this (case-insensitive).
    pub filter: Option<String>,
}

/// One page of rows.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Page {
    /// Rows matching the filter.
    pub total: usize,
    /// Field names.
    pub fields: Vec<String>,
    /// Rows of the page: (row, fid, values).
    #[ts(type = "Array<[number, number, Array<unknown>]>")]
    pub rows: Vec<(usize, i64, Vec<Value>)>,
}

/// Values in the direction asked, NULLs last either way.
fn cmp_col(c: &Column, a: usize, b: usize, desc: bool) -> Ordering {
    fn opt<T>(x: Option<T>, y: Option<T>, desc: bool, f: impl Fn(T, T) -> Ordering) -> Ordering {
        match (x, y) {
            (Some(x), Some(y)) => {
                let o = f(x, y);
                if desc { o.reverse() } else { o }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
    match c {
        Column::Integer(v) => opt(v.get(a), v.get(b), desc, |x, y| x.cmp(&y)),
        Column::Real(v) => opt(v.get(a), v.get(b), desc, |x, y| x.total_cmp(&y)),
        Column::Text(v) => opt(v.get(a), v.get(b), desc, |x, y| x.cmp(y)),
    }
}

/// The rows of `layer` for `q`, in order.
pub fn order(layer: &Layer, q: &TableQuery) -> crate::Result<Vec<u32>> {
    let col = match &q.sort {
        Some(f) => Some(
            layer
                .field_index(f)
                .map(|i| &layer.columns[i])
                .ok_or_else(|| crate::LayersError::Invalid(format!("layer '{}' has no field '{f}'", layer.name)))?,
        ),
        None => None,
    };
    let needle = q.filter.as_deref().map(str::trim).filter(|f| !f.is_empty()).map(str::to_lowercase);
    let mut rows: Vec<u32> = (0..layer.len() as u32)
        .into_par_iter()
        .filter(|r| {
            let Some(n) = &needle else { return true };
            let r = *r as usize;
            layer.fids[r].to_string().contains(n.as_str())
                || layer.columns.iter().any(|c| match c {
                    Column::Text(v) => v.get(r).is_some_and(|s| s.to_lowercase().contains(n.as_str())),
                    Column::Integer(v) => v.get(r).is_some_and(|x| x.to_string().contains(n.as_str())),
                    Column::Real(v) => v.get(r).is_some_and(|x| x.to_string().contains(n.as_str())),
                })
        })
        .collect();
    if let Some(c) = col {
        rows.par_sort_by(|a, b| cmp_col(c, *a as usize, *b as usize, q.desc).then(a.cmp(b)));
    } else if q.desc {
        rows.reverse();
    }
    Ok(rows)
}

/// Rows `offset .. offset + limit` of `order`.
pub fn page(layer: &Layer, order: &[u32], offset: usize, limit: usize) -> Page {
    let rows = order
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&r| {
            let r = r as usize;
            (
                r,
                layer.fids[r],
                layer.fields.iter().zip(&layer.columns).map(|(f, c)| c.get(r, f.kind)).collect(),
            )
        })
        .collect();
    Page {
        total: order.len(),
        fields: layer.fields.iter().map(|f| f.name.clone()).collect(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{FieldDef, FieldKind};

    /// A million rows: an integer code, a real with NULLs, a text.
    fn big() -> Layer {
        let n = 1_000_000usize;
        let fields = vec![
            FieldDef {
                name: "code".into(),
                alias: String::new(),
                kind: FieldKind::Integer,
            },
            FieldDef {
                name: "height".into(),
                alias: String::new(),
                kind: FieldKind::Real,
            },
            FieldDef {
                name: "name".into(),
                alias: String::new(),
                kind: FieldKind::Text,
            },
        ];
        let columns = vec![
            Column::Integer((0..n).map(|i| Some(((i * 7919) % n) as i64)).collect()),
            Column::Real((0..n).map(|i| (i % 10 != 0).then_some((i % 997) as f64 * 0.5)).collect()),
            Column::Text((0..n).map(|i| Some(format!("楼{i}"))).collect()),
        ];
        Layer {
            name: "big".into(),
            source_path: Default::default(),
            driver: String::new(),
            geometry_type: String::new(),
            crs: None,
            fields,
            columns,
            fids: (1..=n as i64).collect(),
            geometries: vec![None; n].into(),
            encoding: None,
            issues: Vec::new(),
        }
    }

    #[test]
    fn a_million_rows_sorted_filtered_and_paged() {
        let l = big();
        let q = TableQuery {
            sort: Some("height".into()),
            desc: true,
            filter: None,
        };
        let o = order(&l, &q).unwrap();
        assert_eq!(o.len(), 1_000_000);
        let p = page(&l, &o, 0, 50);
        assert_eq!(p.rows.len(), 50);
        assert_eq!(p.rows[0].2[1], Value::Real(498.0), "the tallest first");
        // NULLs last; every value ordered.
        let heights: Vec<Option<f64>> = o.iter().map(|r| l.columns[1].get(*r as usize, FieldKind::Real).as_f64()).collect();
        let nulls = heights.iter().filter(|h| h.is_none()).count();
        assert_eq!(nulls, 100_000);
        assert!(heights[..900_000].iter().all(Option::is_some) && heights[900_000..].iter().all(Option::is_none));
        let vals: Vec<f64> = heights.iter().flatten().copied().collect();
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
        // The last page is short.
        let last = page(&l, &o, 999_990, 50);
        assert_eq!(last.rows.len(), 10);
        // A filter on text, then by integer ascending.
        let f = order(
            &l,
            &TableQuery {
                sort: Some("code".into()),
                desc: false,
                filter: Some("楼99999".into()),
            },
        )
        .unwrap();
        // 楼99999 and 楼999990..楼999999.
        assert_eq!(f.len(), 11);
        assert!(f.windows(2).all(|w| l.columns[0].get(w[0] as usize, FieldKind::Integer).as_f64()
            <= l.columns[0].get(w[1] as usize, FieldKind::Integer).as_f64()));
        assert!(
            order(
                &l,
                &TableQuery {
                    sort: Some("nope".into()),
                    ..TableQuery::default()
                }
            )
            .is_err()
        );
    }
}
