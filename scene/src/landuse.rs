//! The national land-use classification of territorial spatial planning and its planning colours.
//!
//! Classes: 《国土空间调查、规划、用途管制用地用海分类指南》 (自然资源部, 2023): 24 first-level
//! classes (01 耕地 … 24 其他海域) and their second-level classes.
//!
//! Colours: TD/T 1065-2021 《市级国土空间总体规划制图规范》, 附录 B 「用地用海分类配色指引表」,
//! which gives 39 colours: every first-level class, and the second-level classes that planning
//! drawings tell apart (0701/0703 housing, 0801–0807 public services, 1001–1003 industry and
//! mining, 1102, 1202, 1205, 1207, 1401–1403). Every other second-level class is drawn in its
//! first-level colour, as planning drawings do. Where Appendix B gives only second-level colours
//! (07, 08, 10, 14) the first-level class takes that of its first sub-class. The values were
//! taken from two independent public transcriptions of the appendix that agree on all 39
//! (a table quoting Appendix B, and a GIS style file of the 2023 classes); we could not read the
//! standard's own text offline, so a planning bureau should check them against its copy.

use crate::colour::Rgba;

/// (code, name, sRGB) of every class with a colour of its own.
const COLOURED: &[(&str, &str, [u8; 3])] = &[
    ("01", "耕地", [245, 248, 220]),
    ("02", "园地", [191, 233, 170]),
    ("03", "林地", [104, 177, 103]),
    ("04", "草地", [205, 245, 122]),
    ("05", "湿地", [101, 205, 170]),
    ("06", "农业设施建设用地", [216, 215, 159]),
    ("07", "居住用地", [255, 255, 45]),
    ("0701", "城镇住宅用地", [255, 255, 45]),
    ("0703", "农村宅基地", [255, 211, 128]),
    ("08", "公共管理与公共服务用地", [255, 0, 255]),
    ("0801", "机关团体用地", [255, 0, 255]),
    ("0802", "科研用地", [230, 0, 92]),
    ("0803", "文化用地", [255, 127, 0]),
    ("0804", "教育用地", [255, 133, 201]),
    ("0805", "体育用地", [0, 165, 124]),
    ("0806", "医疗卫生用地", [255, 127, 126]),
    ("0807", "社会福利用地", [255, 159, 127]),
    ("09", "商业服务业用地", [255, 0, 0]),
    ("10", "工矿用地", [187, 150, 116]),
    ("1001", "工业用地", [187, 150, 116]),
    ("1002", "采矿用地", [158, 108, 84]),
    ("1003", "盐田", [0, 0, 255]),
    ("11", "仓储用地", [135, 97, 211]),
    ("1102", "储备库用地", [153, 153, 255]),
    ("12", "交通运输用地", [183, 183, 183]),
    ("1202", "公路用地", [173, 173, 173]),
    ("1205", "管道运输用地", [153, 153, 153]),
    ("1207", "城镇村道路用地", [163, 163, 163]),
    ("13", "公用设施用地", [0, 99, 128]),
    ("14", "绿地与开敞空间用地", [0, 255, 0]),
    ("1401", "公园绿地", [0, 255, 0]),
    ("1402", "防护绿地", [20, 141, 74]),
    ("1403", "广场用地", [172, 255, 207]),
    ("15", "特殊用地", [133, 145, 86]),
    ("16", "留白用地", [255, 255, 255]),
    ("17", "陆地水域", [51, 142, 192]),
    ("18", "渔业用海", [148, 213, 235]),
    ("19", "工矿通信用海", [86, 166, 211]),
    ("20", "交通运输用海", [108, 139, 209]),
    ("21", "游憩用海", [26, 170, 230]),
    ("22", "特殊用海", [131, 188, 214]),
    ("23", "其他土地", [238, 238, 238]),
    ("24", "其他海域", [214, 234, 243]),
];

/// Second-level classes drawn in their first-level colour (code, name).
const INHERITING: &[(&str, &str)] = &[
    ("0101", "水田"),
    ("0102", "水浇地"),
    ("0103", "旱地"),
    ("0201", "果园"),
    ("0202", "茶园"),
    ("0203", "橡胶园地"),
    ("0204", "油料园地"),
    ("0205", "其他园地"),
    ("0301", "乔木林地"),
    ("0302", "竹林地"),
    ("0303", "灌木林地"),
    ("0304", "其他林地"),
    ("0401", "天然牧草地"),
    ("0402", "人工牧草地"),
    ("0403", "其他草地"),
    ("0501", "森林沼泽"),
    ("0502", "灌丛沼泽"),
    ("0503", "沼泽草地"),
    ("0504", "其他沼泽地"),
    ("0505", "沿海滩涂"),
    ("0506", "内陆滩涂"),
    ("0507", "红树林地"),
    ("0601", "农村道路"),
    ("0602", "设施农用地"),
    ("0702", "城镇社区服务设施用地"),
    ("0704", "农村社区服务设施用地"),
    ("0901", "商业用地"),
    ("0902", "商务金融用地"),
    ("0903", "娱乐用地"),
    ("0904", "其他商业服务业用地"),
    ("1101", "物流仓储用地"),
    ("1201", "铁路用地"),
    ("1203", "机场用地"),
    ("1204", "港口码头用地"),
    ("1206", "城市轨道交通用地"),
    ("1208", "交通场站用地"),
    ("1209", "其他交通设施用地"),
    ("1301", "供水用地"),
    ("1302", "排水用地"),
    ("1303", "供电用地"),
    ("1304", "供燃气用地"),
    ("1305", "供热用地"),
    ("1306", "通信用地"),
    ("1307", "邮政用地"),
    ("1308", "广播电视设施用地"),
    ("1309", "环卫用地"),
    ("1310", "消防用地"),
    ("1311", "水工设施用地"),
    ("1312", "其他公用设施用地"),
    ("1501", "军事设施用地"),
    ("1502", "使领馆用地"),
    ("1503", "宗教用地"),
    ("1504", "文物古迹用地"),
    ("1505", "监教场所用地"),
    ("1506", "殡葬用地"),
    ("1507", "其他特殊用地"),
    ("1701", "河流水面"),
    ("1702", "湖泊水面"),
    ("1703", "水库水面"),
    ("1704", "坑塘水面"),
    ("1705", "沟渠"),
    ("1706", "冰川及常年积雪"),
    ("1801", "渔业基础设施用海"),
    ("1802", "增养殖用海"),
    ("1803", "捕捞海域"),
    ("1804", "农林牧业用岛"),
    ("1901", "工业用海"),
    ("1902", "盐田用海"),
    ("1903", "固体矿产用海"),
    ("1904", "油气用海"),
    ("1905", "可再生能源用海"),
    ("1906", "海底电缆管道用海"),
    ("2001", "港口用海"),
    ("2002", "航运用海"),
    ("2003", "路桥隧道用海"),
    ("2004", "机场用海"),
    ("2005", "其他交通运输用海"),
    ("2101", "风景旅游用海"),
    ("2102", "文体休闲娱乐用海"),
    ("2201", "军事用海"),
    ("2202", "科研教育用海"),
    ("2203", "海洋保护修复及海岸防护工程用海"),
    ("2204", "排污倾倒用海"),
    ("2205", "水下文物保护用海"),
    ("2206", "其他特殊用海"),
    ("2301", "空闲地"),
    ("2302", "后备耕地"),
    ("2303", "田坎"),
    ("2304", "盐碱地"),
    ("2305", "沙地"),
    ("2306", "裸土地"),
    ("2307", "裸岩石砾地"),
];

/// Names used before the 2023 edition, mapped to today's codes.
const OLD_NAMES: &[(&str, &str)] = &[("城镇道路用地", "1207"), ("盐田用地", "1003")];

/// Fields that hold a class code, in the order tried (case-insensitive).
pub const CODE_FIELDS: &[&str] = &[
    "ydyhfldm",
    "ydyhdm",
    "yddm",
    "landuse_code",
    "用地用海分类代码",
    "用地用海代码",
    "用地代码",
    "分类代码",
];
/// Fields that hold a class name.
pub const NAME_FIELDS: &[&str] = &[
    "ydyhflmc",
    "ydyhmc",
    "ydmc",
    "用地用海分类名称",
    "用地用海名称",
    "用地名称",
    "分类名称",
];

/// Every class with a code of its own, first and second level: (code, name).
pub fn classes() -> impl Iterator<Item = (&'static str, &'static str)> {
    COLOURED.iter().map(|(c, n, _)| (*c, *n)).chain(INHERITING.iter().copied())
}

/// The name of a class code.
pub fn name_of(code: &str) -> Option<&'static str> {
    classes().find(|(c, _)| *c == code).map(|(_, n)| n)
}

/// The code of a class name (2023 names, and the older names above).
pub fn code_of(name: &str) -> Option<&'static str> {
    let name = name.trim();
    classes()
        .find(|(_, n)| *n == name)
        .map(|(c, _)| c)
        .or_else(|| OLD_NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c))
}

/// The planning colour of a class code (`"0701"`, `"07"`, third-level `"060101"`): its own,
/// else its second-level class's, else its first-level class's. Codes outside the
/// classification have none.
pub fn colour_of(code: &str) -> Option<[u8; 3]> {
    entry_of(code).map(|i| COLOURED[i].2)
}

/// The index of the coloured class whose colour `code` takes (see [`colour_of`]).
pub fn entry_of(code: &str) -> Option<usize> {
    let code = code.trim();
    if code.len() < 2 || code.len() > 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if code.len() > 2 && name_of(&code[..code.len().min(4)]).is_none() {
        return None;
    }
    [code.len().min(6), 4, 2]
        .into_iter()
        .filter(|&n| n <= code.len())
        .find_map(|n| COLOURED.iter().position(|(c, _, _)| *c == &code[..n]))
}

/// A coloured class by index: (code, name, sRGB).
pub fn entry(i: usize) -> (&'static str, &'static str, [u8; 3]) {
    COLOURED[i]
}

/// A colour as a style fill.
pub fn fill(rgb: [u8; 3]) -> Rgba {
    [f32::from(rgb[0]) / 255.0, f32::from(rgb[1]) / 255.0, f32::from(rgb[2]) / 255.0, 1.0]
}

/// An approximate crosswalk from OpenStreetMap land-use kinds (as in Tilezen/OSM extracts) to
/// the national classes, so that OSM status-quo data reads in planning colours. It is a reading
/// aid, not a survey: OSM does not record the classification.
pub fn code_for_osm_kind(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "farmland" | "farm" => "0103",
        "orchard" | "vineyard" => "0201",
        "forest" | "wood" | "natural_wood" => "0301",
        "grassland" | "meadow" | "scrub" | "heath" => "0403",
        "wetland" | "marsh" => "0504",
        "residential" => "0701",
        "government" | "public" => "0801",
        "university" | "college" | "school" | "kindergarten" => "0804",
        "sports_centre" | "stadium" | "pitch" | "sports" => "0805",
        "hospital" | "clinic" => "0806",
        "commercial" | "retail" | "marketplace" => "0901",
        "industrial" | "works" => "1001",
        "quarry" => "1002",
        "warehouse" | "depot" => "1101",
        "railway" | "rail" => "1201",
        "aerodrome" | "airport" => "1203",
        "harbour" | "port" => "1204",
        "parking" | "bus_station" => "1208",
        "power" | "substation" | "plant" | "water_works" | "wastewater_plant" => "13",
        "park" | "garden" | "recreation_ground" | "playground" | "village_green" => "1401",
        "grass" => "1402",
        "pedestrian" | "plaza" | "square" => "1403",
        "military" => "1501",
        "place_of_worship" | "religious" => "1503",
        "cemetery" | "grave_yard" => "1506",
        "water" | "river" | "riverbank" | "reservoir" | "basin" => "17",
        "bare_rock" | "sand" | "beach" => "23",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_first_level_class_has_a_colour_and_second_levels_inherit() {
        for l1 in 1..=24 {
            let code = format!("{l1:02}");
            assert!(colour_of(&code).is_some(), "{code}");
            assert!(name_of(&code).is_some(), "{code}");
        }
        assert_eq!(colour_of("0101"), colour_of("01"));
        assert_eq!(colour_of("0703"), Some([255, 211, 128]));
        assert_ne!(colour_of("0703"), colour_of("07"));
        assert_eq!(colour_of("1402"), Some([20, 141, 74]));
        // Third-level codes take their second-level colour.
        assert_eq!(colour_of("070101"), colour_of("0701"));
        // Not in the classification.
        assert_eq!(colour_of("25"), None);
        assert_eq!(colour_of("0799"), None);
        assert_eq!(colour_of("abc"), None);
        // Codes are unique; names map back.
        let all: Vec<_> = classes().collect();
        let mut codes: Vec<_> = all.iter().map(|(c, _)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert_eq!(all.len(), 24 + 111);
        assert_eq!(code_of("城镇住宅用地"), Some("0701"));
        assert_eq!(code_of("城镇道路用地"), Some("1207"));
        assert_eq!(code_of("公园绿地"), Some("1401"));
        for kind in ["residential", "park", "industrial", "hospital", "water"] {
            assert!(code_for_osm_kind(kind).and_then(colour_of).is_some(), "{kind}");
        }
    }
}
