//! Colours of the scene.

/// A linear-blend RGBA colour, each channel 0–1 (sRGB values, as the map's palettes give them).
pub type Rgba = [f32; 4];
