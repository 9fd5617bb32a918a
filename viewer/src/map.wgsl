// Jingwei's map material: a flat colour for map layers, a Lambert term for buildings. Nothing
// else runs per pixel, which is what a software rasteriser pays for.
#import bevy_pbr::forward_io::VertexOutput

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> color: vec4<f32>;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
#ifdef LIT
    // Faces are flat and meshes carry no normals: the face's normal is the cross product of the
    // position's screen-space derivatives (towards the camera: only front faces are drawn).
    let p = in.world_position.xyz;
    let n = normalize(cross(dpdy(p), dpdx(p)));
    // Afternoon sun from the south-west (+z is south) and a little sky on roofs. The colour is
    // linear: 0.3 here is about 58 % brightness on screen.
    let sun = normalize(vec3<f32>(-0.5, 1.0, 0.6));
#ifdef TERRAIN
    // Hill shading: half-Lambert, so that slopes facing away from the sun stay readable.
    let k = 0.5 + 0.5 * (0.5 + 0.5 * dot(n, sun));
#else
    let k = 0.3 + 0.7 * max(dot(n, sun), 0.0) + 0.1 * max(n.y, 0.0);
#endif
    return vec4<f32>(color.rgb * k, color.a);
#else
    return color;
#endif
}
