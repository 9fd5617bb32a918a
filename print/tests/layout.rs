//! The layout's own rules, without a workspace: text measured and wrapped, scale bars of round
//! lengths, tables flowing over pages with their header repeated, templates checked.

use jingwei_print::page::Item;
use jingwei_print::sheet::{self, Column, Table, bar_length_m, fit, wrap};
use jingwei_print::template::{Orientation, Paper, Template};
use jingwei_print::text::width_mm;

#[test]
fn text_is_measured_wrapped_and_cut() {
    // A CJK character is one em wide; Latin narrower.
    assert!((width_mm("比例尺", 3.0) - 9.0).abs() < 0.2, "{}", width_mm("比例尺", 3.0));
    assert!(width_mm("1:2000", 3.0) < width_mm("比例尺比例尺", 3.0));
    let lines = wrap("坐标系：CGCS2000 / 3-degree Gauss-Kruger CM 123E（EPSG:4550）", 2.6, 60.0);
    assert!(lines.len() >= 2 && lines.iter().all(|l| width_mm(l, 2.6) <= 60.0), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("EPSG:4550")), "the code stays whole: {lines:?}");
    assert_eq!(
        lines.concat().replace(' ', ""),
        "坐标系：CGCS2000/3-degreeGauss-KrugerCM123E（EPSG:4550）"
    );
    let long = "永久基本农田".repeat(10);
    let cut = fit(&long, 3.0, 30.0);
    assert!(cut.ends_with('…') && width_mm(&cut, 3.0) <= 30.0);
    assert_eq!(fit("短", 3.0, 30.0), "短");
}

#[test]
fn scale_bars_are_round_and_fit() {
    for (scale, max_mm, want) in [
        (2000, 50.0, 100.0),
        (500, 50.0, 20.0),
        (10_000, 50.0, 500.0),
        (2000, 42.0, 50.0),
        (25_000, 60.0, 1000.0),
    ] {
        let m = bar_length_m(scale, max_mm);
        assert_eq!(m, want, "1:{scale} in {max_mm} mm");
        assert!(m * 1000.0 / f64::from(scale) <= f64::from(max_mm));
    }
}

#[test]
fn long_tables_flow_over_pages_with_their_header() {
    let t = Template {
        title: "用地平衡表".into(),
        paper: Paper::A4,
        orientation: Orientation::Portrait,
        ..Default::default()
    };
    let rows: Vec<Vec<String>> = (0..120)
        .map(|i| vec![format!("{i:04}"), format!("地类 {i}"), format!("{:.4}", f64::from(i) * 1.5)])
        .collect();
    let table = Table {
        title: "用地平衡表".into(),
        lines: vec!["现状：用地现状".into()],
        columns: vec![
            Column {
                header: "地类编码".into(),
                numeric: false,
            },
            Column {
                header: "地类名称".into(),
                numeric: false,
            },
            Column {
                header: "面积(公顷)".into(),
                numeric: true,
            },
        ],
        rows,
    };
    let printed = sheet::compose(&t, "2026-12-05", None, &[table]).unwrap();
    assert!(printed.pages.len() >= 3, "{} pages", printed.pages.len());
    let texts = |p: &jingwei_print::page::Page| -> Vec<String> {
        p.items
            .iter()
            .filter_map(|i| {
                if let Item::Text { text, .. } = i {
                    Some(text.clone())
                } else {
                    None
                }
            })
            .collect()
    };
    let mut seen = 0;
    for (i, p) in printed.pages.iter().enumerate() {
        let t = texts(p);
        assert!(t.iter().any(|x| x == "地类编码"), "page {} repeats the header", i + 1);
        assert!(
            t.iter().any(|x| x == &format!("第 {} 页  共 {} 页", i + 1, printed.pages.len())),
            "page {} is numbered: {t:?}",
            i + 1
        );
        seen += t.iter().filter(|x| x.starts_with("地类 ")).count();
        // Nothing below the footer line.
        for it in &p.items {
            if let Item::Text { at, .. } = it {
                assert!(at[1] < p.height_mm - 10.0, "inside the frame: {at:?}");
            }
        }
    }
    assert_eq!(seen, 120, "every row printed once");
    assert!(sheet::compose(&t, "x", None, &[]).is_err(), "nothing to print is an error");
}

#[test]
fn templates_are_checked() {
    let t = Template::parse(
        "title = \"图\"\npaper = \"a3\"\norientation = \"纵向\"\nscale = 500\n[[field]]\nlabel = \"用途\"\ntext = \"住宅\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        (t.paper, t.orientation, t.scale, t.page_mm()),
        (Paper::A3, Orientation::Portrait, Some(500), (297.0, 420.0))
    );
    assert_eq!(t.fields, vec![("用途".to_string(), "住宅".to_string())]);
    for bad in [
        "paper = \"B5\"",
        "scale = 0",
        "dpi = 5000",
        "[[field]]\ntext = \"x\"",
        "[[field]]\nlabel = \"\"",
        "titel = \"x\"",
    ] {
        let e = Template::parse(bad, "t.toml").unwrap_err().to_string();
        assert!(e.starts_with("t.toml: ") && !e.contains('\n'), "{bad} → {e}");
    }
}
