//! The audit image: a montage of the key images of a try (far still, near still and frames
//! from the challenge) with the face box and mesh drawn, for a human reviewer.

use image::{imageops, RgbImage};
use openliveness_vision::{Analysis, Face, Frame};

/// Width of one tile; tiles keep their aspect ratio.
const TILE: u32 = 320;

/// One tile: the image with its face drawn.
pub fn tile(frame: &Frame, face: Option<&Face>) -> RgbImage {
    let analysis = Analysis {
        width: frame.width(),
        height: frame.height(),
        faces: face.cloned().into_iter().collect(),
        main_scores: None,
    };
    let drawn = openliveness_vision::draw_on(frame, &analysis);
    let h = (u64::from(TILE) * u64::from(drawn.height()) / u64::from(drawn.width().max(1))).max(1);
    imageops::resize(&drawn, TILE, h as u32, imageops::FilterType::Triangle)
}

/// Lays tiles out two per row and encodes the montage as JPEG.
pub fn montage(tiles: &[RgbImage]) -> Option<Vec<u8>> {
    if tiles.is_empty() {
        return None;
    }
    let row_h = tiles.iter().map(RgbImage::height).max().unwrap_or(1);
    let rows = tiles.len().div_ceil(2) as u32;
    let cols = tiles.len().min(2) as u32;
    let mut canvas = RgbImage::from_pixel(cols * TILE, rows * row_h, image::Rgb([20, 20, 20]));
    for (i, t) in tiles.iter().enumerate() {
        let (x, y) = ((i as u32 % 2) * TILE, (i as u32 / 2) * row_h);
        imageops::overlay(&mut canvas, t, i64::from(x), i64::from(y));
    }
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80);
    canvas.write_with_encoder(enc).ok()?;
    Some(out)
}
