//! Print layouts checked for real: the PDF is rendered back by poppler (`pdftoppm`), the map is
//! there, the red line measured on the page through the printed scale bar has its true ground
//! size within 1 %, the text comes back out (`pdftotext`, so the embedded font maps to Unicode),
//! the font is embedded (`pdffonts`), and the PNG writer draws what poppler draws from the PDF.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/lujiazui_image.rs"]
mod support;

use jingwei_app::Session;
use jingwei_app::planning::{OverlapRequest, Redline};
use jingwei_app::print::{PrintRequest, REDLINE_RGBA};

fn demo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/demo").join(p)
}

fn session(dir: &Path) -> Session {
    let s = Session::new(dir.join("cases.gpkg"), "ci".into());
    s.open_catalog(&demo("catalog.json")).unwrap();
    s
}

/// Page `page` of a PDF at `dpi` through poppler.
fn poppler(pdf: &Path, page: usize, dpi: u32) -> image::RgbImage {
    let prefix = pdf.with_extension(format!("p{page}"));
    let out = Command::new("pdftoppm")
        .args([
            "-r",
            &dpi.to_string(),
            "-f",
            &page.to_string(),
            "-l",
            &page.to_string(),
            "-png",
            "-singlefile",
        ])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (poppler-utils) runs");
    assert!(out.status.success(), "pdftoppm: {}", String::from_utf8_lossy(&out.stderr));
    image::open(format!("{}.png", prefix.display())).unwrap().to_rgb8()
}

fn tool(name: &str, args: &[&str], pdf: &Path) -> String {
    let mut c = Command::new(name);
    c.args(args).arg(pdf);
    if name == "pdftotext" {
        c.arg("-");
    }
    let out = c.output().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Dark pixels of a row between two x's: the first and last.
fn dark_span(img: &image::RgbImage, y: u32, x0: u32, x1: u32) -> Option<(u32, u32)> {
    let dark = |x: u32| img.get_pixel(x, y).0.iter().all(|c| *c < 90);
    let first = (x0..x1).find(|x| dark(*x))?;
    let last = (x0..x1).rev().find(|x| dark(*x))?;
    Some((first, last))
}

const RED_SITE: &str = "POLYGON((357640 3457792,357940 3457792,357940 3457992,357640 3457992,357640 3457792))";

#[test]
fn an_overlap_report_prints_at_its_scale_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let pdf = dir.path().join("压占分析.pdf");
    let o = OverlapRequest {
        redline: Redline::Wkt { wkt: RED_SITE.into() },
        layers: Vec::new(),
        sliver_m2: None,
        add_pieces: false,
    };
    let req = PrintRequest {
        template: Some(demo("print/template.toml")),
        title: Some("示范项目用地压占分析".into()),
        // The app sends its view; a report is centred on its red line all the same.
        view: Some(jingwei_scene::view::View {
            target: [-4000.0, 0.0, 3000.0],
            distance_m: 800.0,
            pitch_deg: 60.0,
            yaw_deg: 10.0,
            fov_deg: 40.0,
        }),
        out: pdf.clone(),
        ..Default::default()
    };
    let p = s.print_overlap(&o, &req).unwrap();
    assert_eq!(p.scale, Some(2000), "the template's scale");
    assert!(p.pages >= 2, "a map sheet and the tables: {p:?}");
    assert!(p.legend.iter().any(|l| l == "用地红线") && p.legend.len() >= 4, "{:?}", p.legend);

    // The font is embedded (as a subset), and the text comes back out of the PDF.
    let fonts = tool("pdffonts", &[], &pdf);
    assert!(fonts.lines().skip(2).all(|l| l.contains(" yes ")), "every font embedded:\n{fonts}");
    assert!(fonts.contains("Noto"), "{fonts}");
    // pdftotext keeps or drops spaces as it sees fit: compare without them.
    let text = tool("pdftotext", &["-layout"], &pdf).replace(' ', "");
    for want in [
        "示范项目用地压占分析",
        "比例尺",
        "1:2000",
        "图",
        "坐标系",
        "申请方",
        "示范置业有限公司",
        "制图单位",
        "压占分析结果",
        "红线面积",
        "60000.00",
        "合计",
        "第2页共2页",
        "城镇住宅用地",
    ] {
        assert!(text.contains(want), "'{want}' is in the PDF's text:\n{text}");
    }

    // Render the map sheet back at 150 dpi.
    let dpi: f64 = 150.0;
    let img = poppler(&pdf, 1, dpi as u32);
    let px_per_mm = dpi / 25.4_f64;
    let [mx, my, mw, mh] = p.map_mm.unwrap();
    let (x0, y0) = ((mx * px_per_mm) as u32 + 2, (my * px_per_mm) as u32 + 2);
    let (x1, y1) = (((mx + mw) * px_per_mm) as u32 - 2, ((my + mh) * px_per_mm) as u32 - 2);
    // The map is drawn: most of the frame is not paper, in many colours.
    let (mut inked, mut colours) = (0usize, std::collections::BTreeSet::new());
    for y in (y0..y1).step_by(3) {
        for x in (x0..x1).step_by(3) {
            let c = img.get_pixel(x, y).0;
            if c.iter().any(|v| *v < 245) {
                inked += 1;
            }
            colours.insert((c[0] / 32, c[1] / 32, c[2] / 32));
        }
    }
    let total = ((y1 - y0) / 3 * (x1 - x0) / 3) as usize;
    assert!(inked * 2 > total, "the map frame is drawn: {inked} of {total} samples inked");
    assert!(colours.len() >= 8, "land use in its colours: {} colours", colours.len());

    // The scale bar, as printed: its outline's length.
    let [bx, by, bw, bh] = p.bar_mm.unwrap();
    let row = ((by + bh / 2.0) * px_per_mm) as u32;
    let (l, r) =
        dark_span(&img, row, ((bx - 2.0) * px_per_mm) as u32, ((bx + bw + 2.0) * px_per_mm) as u32).expect("the scale bar is drawn");
    let bar_px = f64::from(r - l + 1);
    let bar_mm = bar_px / px_per_mm;
    let stated_mm = p.bar_metres.unwrap() * 1000.0 / 2000.0;
    assert!(
        (bar_mm - stated_mm).abs() / stated_mm < 0.01,
        "bar {bar_mm:.2} mm on paper for {} m at 1:2000 ({stated_mm} mm)",
        p.bar_metres.unwrap()
    );
    // The red line, measured with the printed bar as the ruler: 300 m × 200 m.
    let red = |c: [u8; 3]| {
        let want = REDLINE_RGBA.map(|v| (v * 255.0) as i32);
        (0..3).all(|k| (i32::from(c[k]) - want[k]).abs() < 40)
    };
    let (mut rx0, mut ry0, mut rx1, mut ry1) = (u32::MAX, u32::MAX, 0, 0);
    for y in y0..y1 {
        for x in x0..x1 {
            if red(img.get_pixel(x, y).0) {
                (rx0, ry0, rx1, ry1) = (rx0.min(x), ry0.min(y), rx1.max(x), ry1.max(y));
            }
        }
    }
    assert!(rx1 > rx0 && ry1 > ry0, "the red line is drawn");
    // Outer edge to outer edge less one stroke width (0.6 mm) is centre line to centre line.
    let m_per_px = p.bar_metres.unwrap() / bar_px;
    let stroke_px = 0.6 * px_per_mm;
    let w_m = (f64::from(rx1 - rx0 + 1) - stroke_px) * m_per_px;
    let h_m = (f64::from(ry1 - ry0 + 1) - stroke_px) * m_per_px;
    eprintln!(
        "printed at 1:2000, read back at 150 dpi: bar {bar_mm:.2} mm for {stated_mm} mm stated; red line {w_m:.1} m × {h_m:.1} m (300 × 200 on the ground)"
    );
    assert!(
        (w_m - 300.0).abs() / 300.0 < 0.01,
        "red line {w_m:.1} m wide on the print, 300 m on the ground"
    );
    assert!(
        (h_m - 200.0).abs() / 200.0 < 0.01,
        "red line {h_m:.1} m tall on the print, 200 m on the ground"
    );
}

#[test]
fn a_png_at_300_dpi_is_the_pdf_drawn_by_poppler() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let base = PrintRequest {
        template: Some(demo("print/template.toml")),
        orientation: Some("portrait".into()),
        scale: Some(5000),
        ..Default::default()
    };
    let png = dir.path().join("map.png");
    let a = s
        .print_map(&PrintRequest {
            out: png.clone(),
            ..base.clone()
        })
        .unwrap();
    assert_eq!((a.pages, a.dpi, a.orientation.as_str()), (1, Some(300), "portrait"));
    let ours = image::open(&png).unwrap().to_rgb8();
    assert_eq!(ours.dimensions(), (2480, 3508), "A4 at 300 dpi");
    let bytes = std::fs::read(&png).unwrap();
    let phys = bytes.windows(4).position(|w| w == b"pHYs").expect("a pHYs chunk");
    let ppm = u32::from_be_bytes(bytes[phys + 4..phys + 8].try_into().unwrap());
    assert_eq!(ppm, 11811, "300 dpi recorded as pixels per metre");

    let pdf = dir.path().join("map.pdf");
    let b = s.print_map(&PrintRequest { out: pdf.clone(), ..base }).unwrap();
    assert_eq!(a.ground_extent, b.ground_extent);
    let theirs = poppler(&pdf, 1, 300);
    // Poppler rounds the page up (2481 pixels for 210 mm); compare what both cover.
    let (w, h) = (ours.width().min(theirs.width()), ours.height().min(theirs.height()));
    assert!(theirs.width() - w <= 1 && theirs.height() - h <= 1, "{:?}", theirs.dimensions());
    let (mut sum, mut far) = (0u64, 0usize);
    for y in 0..h {
        for x in 0..w {
            let (p, q) = (ours.get_pixel(x, y).0, theirs.get_pixel(x, y).0);
            let d: u32 = (0..3).map(|k| u32::from(p[k].abs_diff(q[k]))).max().unwrap();
            sum += u64::from(d);
            if d > 96 {
                far += 1;
            }
        }
    }
    let n = u64::from(w * h);
    let mean = sum as f64 / n as f64;
    eprintln!("PNG vs poppler: mean abs diff {mean:.3}/255, {far} of {n} pixels off by more than 96");
    assert!(
        mean < 3.0,
        "mean |Δ| {mean:.2} of 255 between our PNG and poppler's rendering of our PDF"
    );
    assert!((far as f64) < n as f64 * 0.01, "{far} pixels differ by more than 96");
}

#[test]
fn bad_templates_and_outputs_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let t = dir.path().join("bad.toml");
    for (text, want) in [
        ("paper = \"A5\"\n", "A5"),
        ("scale = 7\n", "1:7"),
        ("orientation = \"sideways\"\n", "sideways"),
        ("colour = \"red\"\n", "colour"),
        ("title = \n", "bad.toml"),
    ] {
        std::fs::write(&t, text).unwrap();
        let e = s
            .print_map(&PrintRequest {
                template: Some(t.clone()),
                out: dir.path().join("x.pdf"),
                ..Default::default()
            })
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.toml") && e.contains(want) && !e.contains('\n'), "{text:?} → {e}");
    }
    let e = s
        .print_map(&PrintRequest {
            out: dir.path().join("x.jpg"),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("x.jpg") && e.contains(".pdf"), "{e}");
    assert!(!dir.path().join("x.pdf").exists(), "nothing written on errors");
}

#[test]
fn the_balance_report_prints_its_table_with_totals() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let pdf = dir.path().join("balance.pdf");
    let p = s
        .print_balance(
            "landuse",
            None,
            &PrintRequest {
                unit: Some("示范局".into()),
                out: pdf.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(p.pages >= 1 && p.scale.is_none());
    let b = s.land_use_balance("landuse", None).unwrap();
    let text = tool("pdftotext", &["-layout"], &pdf);
    assert!(
        text.contains("用地平衡表") && text.contains("100.00") && text.contains("制图单位：示范局"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{:.4}", b.status_total_ha)),
        "the total {:.4} 公顷 is printed:\n{text}",
        b.status_total_ha
    );
    for r in b.rows.iter().filter(|r| r.level == 1) {
        assert!(text.contains(&format!("{:.4}", r.status_ha)), "{} {}", r.code, r.status_ha);
    }
}

#[test]
fn the_change_matrix_prints_with_its_totals() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let pdf = dir.path().join("change.pdf");
    let p = s
        .print_change(
            "landuse",
            "control_zones",
            &PrintRequest {
                paper: Some("A3".into()),
                out: pdf.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(p.pages >= 1 && p.paper == "A3");
    let m = s.land_use_change("landuse", "control_zones", false).unwrap();
    let text = tool("pdftotext", &["-layout"], &pdf).replace(' ', "");
    assert!(text.contains("地类转移矩阵") && text.contains("原地类"), "{text}");
    let total: f64 = m.ha.iter().flatten().sum();
    assert!(
        text.contains(&format!("{total:.4}")),
        "the grand total {total:.4} is printed:\n{text}"
    );
}

/// Imagery under the map: composed for the sheet (without holding the workspace while tiles
/// are read) and embedded as one picture; the vector layers stay vector over it.
#[test]
fn imagery_prints_under_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let s = session(dir.path());
    let image = support::over_lujiazui(dir.path());
    let req = |out: &str| PrintRequest {
        scale: Some(10_000),
        out: dir.path().join(out),
        ..Default::default()
    };
    let without = s.print_map(&req("plain.png")).unwrap();
    s.add_file(&image, &jingwei_layers::Job::new()).unwrap();
    let with = s.print_map(&req("imagery.png")).unwrap();
    assert_eq!(without.ground_extent, with.ground_extent, "the same map frame");
    let pdf = dir.path().join("imagery.pdf");
    s.print_map(&PrintRequest {
        out: pdf.clone(),
        ..req("x.png")
    })
    .unwrap();
    let list = Command::new("pdfimages").arg("-list").arg(&pdf).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    assert_eq!(
        list.lines().skip(2).filter(|l| l.contains("image")).count(),
        1,
        "one picture, the rest vector:\n{list}"
    );
    let (a, b) = (
        image::open(&without.files[0]).unwrap().to_rgb8(),
        image::open(&with.files[0]).unwrap().to_rgb8(),
    );
    let [mx, my, mw, mh] = with.map_mm.unwrap();
    let k = 300.0 / 25.4;
    let (mut n, mut changed) = (0usize, 0usize);
    for y in ((my * k) as u32 + 5..((my + mh) * k) as u32 - 5).step_by(7) {
        for x in ((mx * k) as u32 + 5..((mx + mw) * k) as u32 - 5).step_by(7) {
            n += 1;
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            if (0..3).any(|i| p[i].abs_diff(q[i]) > 24) {
                changed += 1;
            }
        }
    }
    assert!(
        changed * 4 > n,
        "the orthophoto shows under the map: {changed} of {n} samples changed"
    );
}
