//! Shapefile text in DOS (OEM) code pages and the other encodings real `.cpg` files and DBF
//! language-driver bytes name: decided as GDAL's Shapefile driver decides it, decoded to the
//! text GDAL gives when told the encoding. Files written by GDAL itself and files from other
//! projects' test suites (`testdata/foreign/dbf`, see its SOURCES.md).

use gdal::vector::LayerAccess;
use jingwei_layers::encoding::{EncodingSource, TextEncoding, lookup};
use jingwei_layers::{OpenOptions, Source};
use std::path::{Path, PathBuf};
use std::process::Command;

fn foreign(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/foreign/dbf").join(rel)
}

/// Text of field `field` of every feature, as Jingwei reads the file, and the encoding report.
fn ours(path: &Path, field: &str, encoding: Option<&str>) -> (Vec<String>, String, EncodingSource) {
    let src = Source::open(
        path,
        &OpenOptions {
            encoding: encoding.map(str::to_owned),
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let layer = src.read_layer(None).unwrap();
    let i = layer
        .field_index(field)
        .unwrap_or_else(|| panic!("{}: no field {field}", path.display()));
    let texts = layer.features().map(|f| f.value(i).to_string()).collect();
    let rep = src.encoding().cloned().unwrap();
    (texts, rep.encoding, rep.source)
}

/// Text of field `field` as GDAL reads it when told the encoding (its `ENCODING` open option,
/// decoded by iconv).
fn gdal_told(path: &Path, field: &str, encoding: &str) -> Vec<String> {
    let ds = gdal::Dataset::open_ex(
        path,
        gdal::DatasetOptions {
            open_options: Some(&[&format!("ENCODING={encoding}")]),
            ..Default::default()
        },
    )
    .unwrap();
    let mut layer = ds.layer(0).unwrap();
    let idx = layer.defn().field_index(field).unwrap();
    layer
        .features()
        .map(|f| f.field_as_string(idx).unwrap().unwrap_or_default())
        .collect()
}

/// Per DOS code page: its number, a DBF language-driver id that means it, and text only it holds.
const PAGES: &[(u16, Option<u8>, &str)] = &[
    (437, Some(0x01), "Café Zürich ░▒▓ │┤╗ ½ ÿ"),
    (737, Some(0x6A), "Αθήνα Θεσσαλονίκη"),
    (775, None, "Rīga Kaunas ąčęėįšųūž"),
    (850, Some(0x02), "Señor Ñandú Æbeltoft Ø ß"),
    (852, Some(0x64), "Łódź Brno Škoda Győr"),
    (855, None, "Београд Скопје"),
    (857, Some(0x6B), "İstanbul Şişli Ğ"),
    (860, Some(0x24), "São João Coração"),
    (861, Some(0x67), "Reykjavík Þórshöfn"),
    (862, None, "תל אביב ירושלים"),
    (863, Some(0x6C), "Québec Montréal à ç"),
    (865, Some(0x66), "Ålesund Tromsø Æ"),
    (866, Some(0x65), "Москва Санкт-Петербург ╔═╗"),
    (869, None, "Αθήνα Πειραιάς"),
];

#[test]
fn dos_code_pages_by_cpg_spelling_and_language_driver() {
    let dir = tempfile::tempdir().unwrap();
    for &(cp, ldid, text) in PAGES {
        let json = dir.path().join(format!("in{cp}.geojson"));
        std::fs::write(
            &json,
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"name":"{text}"}},"geometry":{{"type":"Point","coordinates":[1,2]}}}},{{"type":"Feature","properties":{{"name":"plain"}},"geometry":{{"type":"Point","coordinates":[3,4]}}}}]}}"#
            ),
        )
        .unwrap();
        let shp = dir.path().join(format!("cp{cp}.shp"));
        // GDAL writes the shapefile in the code page (through iconv) and a .cpg naming it.
        let out = Command::new("ogr2ogr")
            .args(["-f", "ESRI Shapefile", "-lco"])
            .arg(format!("ENCODING=CP{cp}"))
            .arg(&shp)
            .arg(&json)
            .output()
            .unwrap();
        assert!(out.status.success(), "ogr2ogr CP{cp}: {}", String::from_utf8_lossy(&out.stderr));
        let want = gdal_told(&shp, "name", &format!("CP{cp}"));
        assert_eq!(want, [text, "plain"], "GDAL reads back CP{cp}");
        // Our own decoder agrees with iconv on the DBF's bytes.
        let dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
        let sample = jingwei_layers::encoding::sample_dbf(&shp, &dbf, 1 << 16).unwrap();
        let (decoded, bad) = TextEncoding::Oem(cp).decode(&sample.text);
        assert!(!bad && decoded.starts_with(text), "CP{cp}: {decoded}");
        // Every spelling of the code page a .cpg is found with.
        for spelling in [
            format!("{cp}"),
            format!("CP{cp}"),
            format!("cp{cp}"),
            format!("IBM{cp}"),
            format!("OEM {cp}"),
            format!("{cp}\r\n"),
        ] {
            std::fs::write(shp.with_extension("cpg"), &spelling).unwrap();
            let (got, enc, source) = ours(&shp, "name", None);
            assert_eq!(got, want, "CP{cp} .cpg {spelling:?}");
            assert_eq!((enc.as_str(), source), (format!("CP{cp}").as_str(), EncodingSource::Cpg));
        }
        // No .cpg: the language-driver byte, where dBase defines one for the page.
        std::fs::remove_file(shp.with_extension("cpg")).unwrap();
        if let Some(id) = ldid {
            let mut bytes = dbf.clone();
            bytes[29] = id;
            std::fs::write(shp.with_extension("dbf"), &bytes).unwrap();
            let (got, enc, source) = ours(&shp, "name", None);
            assert_eq!(got, want, "CP{cp} LDID {id:#04x}");
            assert_eq!((enc.as_str(), source), (format!("CP{cp}").as_str(), EncodingSource::LanguageDriver));
        }
        // Told by the user.
        let (got, _, source) = ours(&shp, "name", Some(&format!("IBM{cp}")));
        assert_eq!((got, source), (want, EncodingSource::Override));
    }
}

#[test]
fn code_page_files_from_other_projects() {
    // dbase-rs: CP850 text under a header that claims 1252; read as CP850 when told so.
    for told in ["850", "CP850", "IBM850", "OEM 850"] {
        let (got, enc, _) = ours(&foreign("dbase-rs/cp850.dbf"), "TEXT", Some(told));
        assert_eq!(got, ["Äöü!§$%&/"], "{told}");
        assert_eq!(enc, "CP850");
    }
    assert_eq!(gdal_told(&foreign("dbase-rs/cp850.dbf"), "TEXT", "CP850"), ["Äöü!§$%&/"]);
    // shapelib's pline: language driver 0x1B (CP437, dBase "English OEM (US)").
    let src = Source::open(foreign("shapelib/pline.shp"), &OpenOptions::default()).unwrap();
    assert_eq!(src.encoding().unwrap().encoding, "CP437");
    assert_eq!(src.encoding().unwrap().source, EncodingSource::LanguageDriver);
    assert_eq!(src.read_layer(None).unwrap().len(), 460);
    // A header-only table with language driver 0x1B and NULs in its field names.
    let src = Source::open(foreign("dbase-rs/KUNDEN-schema-only.DBF"), &OpenOptions::default()).unwrap();
    assert_eq!(src.encoding().unwrap().encoding, "CP437");
    assert_eq!(src.read_layer(None).unwrap().len(), 0);
    // shapefile-js: a .cpg reading "ANSI 1250".
    let (got, enc, source) = ours(&foreign("shapefile-js/codepage.shp"), "field", None);
    assert_eq!((enc.as_str(), source), ("windows-1250", EncodingSource::Cpg));
    assert_eq!(got, ["??", "Hněvošický háj"]);
    // shapefile-js: a .cpg that is an HTML page is passed over; the text is UTF-8.
    // (Upstream has no .shx beside its .shp, so its table is read alone.)
    let dir = tempfile::tempdir().unwrap();
    for ext in ["dbf", "cpg"] {
        std::fs::copy(
            foreign(&format!("shapefile-js/htmlcpg.{ext}")),
            dir.path().join(format!("htmlcpg.{ext}")),
        )
        .unwrap();
    }
    let (got, enc, source) = ours(&dir.path().join("htmlcpg.dbf"), "field", None);
    assert_eq!((enc.as_str(), source), ("UTF-8", EncodingSource::Detected));
    assert_eq!(got, ["💩", "Hněvošický háj"]);
    // GDAL's chinese.dbf: language driver 0x4D, CP936.
    let (got, enc, source) = ours(&foreign("gdal/chinese.dbf"), "中国", None);
    assert_eq!((enc.as_str(), source), ("GBK", EncodingSource::LanguageDriver));
    assert_eq!(got, ["中国"]);
    // infused/dbf: windows-1251 by language driver 0xC9; UTF-8 under an undefined one (0xF0).
    let (got, enc, _) = ours(&foreign("infused-dbf/cp1251.dbf"), "NAME", None);
    assert_eq!(enc, "windows-1251");
    assert_eq!(got[0], "амбулаторно-поликлиническое");
    let (got, enc, _) = ours(&foreign("infused-dbf/dbase_03_cyrillic.dbf"), "ШАР", None);
    assert_eq!(enc, "UTF-8");
    assert_eq!(got[0], "Номер");
    // Mazovia (language driver 0x69) has no table here or in iconv: the text is still read,
    // detected, not refused.
    assert!(
        Source::open(foreign("infused-dbf/mazovia.dbf"), &OpenOptions::default())
            .unwrap()
            .read_layer(None)
            .is_ok()
    );
    assert!(lookup("620").is_none());
}
