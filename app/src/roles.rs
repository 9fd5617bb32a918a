//! The one table of what the layers of a workspace are for, and under which field names their
//! facts are found. Every use case that needs "the buildings" or "a building's population"
//! asks here, so the app, the CLI and the tests read the same layer and the same field.

use jingwei_analysis::violations::{WorkspaceRoles, field_names, find_field};
use jingwei_layers::catalog::Group;
use jingwei_layers::{Layer, Workspace, WorkspaceLayer};

use crate::error::{Error, Result};

/// What a layer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Buildings (the first layer whose id, name or title says building / 建筑).
    Buildings,
    /// Building permits (建设工程规划许可; says permit / 许可).
    Permits,
    /// Control zones: every layer of the catalog's 管控 group (三区三线, river protection, …).
    Zones,
    /// The road network (says road / 道路).
    Roads,
    /// Emergency resources: every layer of the catalog's 应急 group.
    Resources,
    /// Points of interest with critical facilities (schools, hospitals, …).
    Facilities,
    /// A pipe network's pipes (a line layer that says pipe / 管网 / 管线).
    Pipes,
    /// A pipe network's points: valves, supply points, customers (a point layer that says
    /// pipe_point / valve / 管点 / 阀门), told apart by a kind field.
    PipePoints,
    /// Video cameras (a point layer that says camera / 视频 / 摄像 / 监控).
    Cameras,
}

impl Role {
    /// The words a layer's id, name or title contains when it plays this role by name.
    fn words(self) -> &'static [&'static str] {
        match self {
            Role::Buildings => &["building", "建筑"],
            Role::Permits => &["permit", "许可"],
            Role::Roads => &["road", "道路"],
            Role::Facilities => &["兴趣点", "公共服务设施"],
            Role::Pipes => &["pipe", "管网", "管线"],
            Role::PipePoints => &["pipe_point", "valve", "管点", "阀门"],
            Role::Cameras => &["camera", "视频", "摄像", "监控"],
            Role::Zones | Role::Resources => &[],
        }
    }

    /// The catalog group whose every layer plays this role.
    fn group(self) -> Option<Group> {
        match self {
            Role::Zones => Some(Group::Control),
            Role::Resources => Some(Group::Emergency),
            _ => None,
        }
    }

    /// What to tell a user whose workspace lacks it.
    fn missing(self) -> &'static str {
        match self {
            Role::Buildings => "the workspace has no buildings layer (a layer named building or 建筑)",
            Role::Permits => "the workspace has no permits layer (a layer named permit or 许可)",
            Role::Zones => "the workspace has no control-zone layer (the catalog's 管控 group)",
            Role::Roads => "the workspace has no roads layer (a layer named road or 道路)",
            Role::Resources => "the workspace has no emergency resources (the catalog's 应急 group)",
            Role::Facilities => "the workspace has no points of interest (a layer named pois)",
            Role::Pipes => "the workspace has no pipe network (a line layer named pipe, 管网 or 管线)",
            Role::PipePoints => "the workspace has no valves (a point layer named valve, pipe_point, 阀门 or 管点)",
            Role::Cameras => "the workspace has no cameras (a point layer named camera, 视频 or 摄像)",
        }
    }
}

/// Whether `wl` plays `role`.
pub fn plays(wl: &WorkspaceLayer, role: Role) -> bool {
    if let Some(g) = role.group() {
        return wl.group == g;
    }
    if role == Role::Facilities && (wl.id == "pois" || wl.layer.name == "pois") {
        return true;
    }
    let n = format!("{} {} {}", wl.id, wl.layer.name, wl.title).to_lowercase();
    let shape_fits = match role {
        Role::Pipes => wl.layer.geometry_kind() == "line",
        Role::PipePoints | Role::Cameras => wl.layer.geometry_kind() == "point",
        _ => true,
    };
    shape_fits && role.words().iter().any(|w| n.contains(w))
}

/// Every layer playing `role`, in tree order.
pub fn layers(ws: &Workspace, role: Role) -> Vec<&WorkspaceLayer> {
    ws.layers.iter().filter(|l| plays(l, role)).collect()
}

/// The first layer playing `role`.
pub fn layer(ws: &Workspace, role: Role) -> Option<&WorkspaceLayer> {
    ws.layers.iter().find(|l| plays(l, role))
}

/// The first layer playing `role`, or an error that says what is missing.
pub fn require(ws: &Workspace, role: Role) -> Result<&WorkspaceLayer> {
    layer(ws, role).ok_or_else(|| Error::Missing(role.missing().into()))
}

/// The inputs of the violation rules in a workspace: its buildings, permits and control zones.
pub fn violation_roles(ws: &Workspace) -> Result<WorkspaceRoles> {
    Ok(WorkspaceRoles {
        buildings: require(ws, Role::Buildings)?.id.clone(),
        permits: layer(ws, Role::Permits).map(|l| l.id.clone()),
        zones: layers(ws, Role::Zones).into_iter().map(|l| l.id.clone()).collect(),
    })
}

/// A fact a use case reads from a feature, and the field names it goes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// People living or working in a building.
    Population,
    /// A building's floors.
    Floors,
    /// A building's height (m).
    Height,
    /// What a point of interest is (school, hospital, …): decides critical facilities.
    FacilityKind,
    /// The type of an emergency resource (fire station, shelter, …).
    ResourceType,
    /// A feature's name.
    Name,
    /// How many people a shelter holds.
    Capacity,
    /// What a pipe network's point is (valve, source, customer).
    PointKind,
    /// People a customer supplies.
    People,
    /// A camera's heading (degrees from north).
    Heading,
    /// A camera's horizontal field of view (degrees).
    FieldOfView,
    /// A camera's range (m).
    Range,
    /// A camera's or a pipe's height or depth (m).
    MountHeight,
    /// A pipe's diameter (mm).
    Diameter,
    /// A pipe's depth below ground (m).
    Depth,
}

impl Field {
    /// The usual names of the field (English, OSM, Chinese, pinyin initials), tried in order
    /// and compared without regard to ASCII case.
    pub fn candidates(self) -> &'static [&'static str] {
        match self {
            Field::Population => &["population", "pop", "人口", "常住人口", "rk"],
            Field::Floors => field_names::FLOORS,
            Field::Height => field_names::HEIGHT,
            Field::FacilityKind => &["kind", "amenity", "category", "type", "fclass", "类型"],
            Field::ResourceType => &["category", "type", "kind", "amenity", "类型"],
            Field::Name => &["name", "名称", "mc"],
            Field::Capacity => &["capacity", "容量", "容纳人数"],
            Field::PointKind => &["kind", "type", "node_type", "类型", "category"],
            Field::People => &["people", "population", "人口", "户数"],
            Field::Heading => &["heading_deg", "heading", "azimuth", "方向", "朝向"],
            Field::FieldOfView => &["fov_deg", "fov", "视场角"],
            Field::Range => &["range_m", "range", "可视距离"],
            Field::MountHeight => &["height_m", "mount_height", "安装高度"],
            Field::Diameter => &["diameter_mm", "diameter", "dn", "管径"],
            Field::Depth => &["depth_m", "depth", "埋深"],
        }
    }

    /// The index of this field in `layer`: the first candidate present.
    pub fn find(self, layer: &Layer) -> Option<usize> {
        find_field(layer, None, self.candidates()).ok().flatten()
    }

    /// The field the user named (an error naming the layer's fields when it has none by that
    /// name), else [`Field::find`].
    pub fn find_or(self, layer: &Layer, given: Option<&str>) -> Result<Option<usize>> {
        Ok(find_field(layer, given, self.candidates())?)
    }
}

/// The text of field `i` of `row`, if any.
pub fn text(layer: &Layer, i: Option<usize>, row: usize) -> Option<String> {
    i.and_then(|i| layer.feature(row).value(i).as_str().map(str::to_string))
}
