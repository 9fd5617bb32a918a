// Lines a fixed number of pixels wide at any distance: each vertex carries the other end of its
// segment and a signed half width in pixels, and is pushed sideways in screen space.
#import bevy_pbr::mesh_functions::{get_world_from_local, mesh_position_local_to_world}
#import bevy_pbr::view_transformations::position_world_to_clip
#import bevy_pbr::mesh_view_bindings::view

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> color: vec4<f32>;

struct Vertex {
    @builtin(instance_index) instance_index: u32,
    @location(0) position: vec3<f32>,
    @location(8) other: vec4<f32>,
};

struct Out {
    @builtin(position) position: vec4<f32>,
};

@vertex
fn vertex(v: Vertex) -> Out {
    let m = get_world_from_local(v.instance_index);
    let p = mesh_position_local_to_world(m, vec4<f32>(v.position, 1.0));
    let q = mesh_position_local_to_world(m, vec4<f32>(v.other.xyz, 1.0));
    let cp = position_world_to_clip(p.xyz);
    let cq = position_world_to_clip(q.xyz);
    let half = view.viewport.zw * 0.5;
    // A segment reaching behind the camera is cut where it comes in front of it (clip space is
    // linear along the segment, so the end behind moves to where w is just positive): measured
    // to an end behind, the sideways direction would flip, and offsets scaled by a negative w
    // make the near-plane clip of the quad's diagonal run off across the screen.
    let eps = 1e-3;
    var a = cp;
    var b = cq;
    if (b.w < eps && a.w >= eps) {
        b = mix(a, b, (a.w - eps) / (a.w - b.w));
    } else if (a.w < eps && b.w >= eps) {
        a = mix(b, a, (b.w - eps) / (b.w - a.w));
    }
    var d = (b.xy / b.w - a.xy / a.w) * half;
    if (length(d) < 1e-6) {
        d = vec2<f32>(1.0, 0.0);
    }
    let n = normalize(vec2<f32>(-d.y, d.x));
    var out: Out;
    out.position = vec4<f32>(a.xy + n * v.other.w / half * a.w, a.z, a.w);
    return out;
}

@fragment
fn fragment(in: Out) -> @location(0) vec4<f32> {
    return color;
}
