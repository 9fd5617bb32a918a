// Imagery draped on the ground: the texture's colour as it is (no lighting), its alpha times
// the layer's opacity.
#import bevy_pbr::forward_io::VertexOutput

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> tint: vec4<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(1) var image: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(2) var image_sampler: sampler;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let c = textureSample(image, image_sampler, in.uv);
    // Opaque layers cut out where the image has no data (the pipeline is not blending).
    if (tint.a >= 0.999 && c.a < 0.5) {
        discard;
    }
    return vec4<f32>(c.rgb, c.a * tint.a);
}
