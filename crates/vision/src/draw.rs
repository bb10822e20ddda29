//! Drawing an analysis over its image, for `--draw`: box, mesh points and
//! detector keypoints. For people to look at; nothing reads these pixels back.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::engine::Analysis;
use crate::error::VisionError;
use crate::frame::{decode_image, Frame};

const BOX: Rgb<u8> = Rgb([0, 255, 0]);
const MESH: Rgb<u8> = Rgb([255, 255, 255]);
const EYES_MOUTH: Rgb<u8> = Rgb([255, 64, 64]);
const KEYPOINT: Rgb<u8> = Rgb([255, 200, 0]);

/// Points drawn in red: the eye and mouth points the signals are built from.
const SIGNAL_POINTS: [usize; 16] = [
    33, 160, 158, 133, 153, 144, 263, 387, 385, 362, 380, 373, 13, 14, 61, 291,
];

/// Decodes `image_bytes`, draws `analysis` on it and writes a PNG to `out_path`.
pub fn draw_analysis(
    image_bytes: &[u8],
    analysis: &Analysis,
    out_path: &Path,
) -> Result<(), VisionError> {
    let img = draw_on(&decode_image(image_bytes)?, analysis);
    img.save_with_format(out_path, image::ImageFormat::Png)
        .map_err(|e| VisionError::Write {
            path: out_path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// A copy of the frame with the analysis drawn on it.
pub fn draw_on(frame: &Frame, analysis: &Analysis) -> RgbImage {
    let mut img = frame.as_image().clone();
    // Line width grows with the image so the drawing stays visible on big photos.
    let t = (img.width().max(img.height()) / 400).max(1) as i64;
    for face in &analysis.faces {
        let b = face.bbox;
        rect(
            &mut img, b.x as i64, b.y as i64, b.w as i64, b.h as i64, t, BOX,
        );
        for p in &face.mesh.points {
            dot(&mut img, p[0] as i64, p[1] as i64, t / 2, MESH);
        }
        for &i in &SIGNAL_POINTS {
            let p = face.mesh.point(i);
            dot(&mut img, p[0] as i64, p[1] as i64, t, EYES_MOUTH);
        }
        if let Some(d) = &face.detection {
            for k in &d.keypoints {
                dot(&mut img, k.x as i64, k.y as i64, t + 1, KEYPOINT);
            }
        }
    }
    img
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: Rgb<u8>) {
    if x >= 0 && y >= 0 && x < img.width() as i64 && y < img.height() as i64 {
        img.put_pixel(x as u32, y as u32, c);
    }
}

fn dot(img: &mut RgbImage, x: i64, y: i64, r: i64, c: Rgb<u8>) {
    for dy in -r..=r {
        for dx in -r..=r {
            put(img, x + dx, y + dy, c);
        }
    }
}

fn rect(img: &mut RgbImage, x: i64, y: i64, w: i64, h: i64, t: i64, c: Rgb<u8>) {
    // Clamp so a wild box cannot make these loops run for ever.
    let lim = 4 * (img.width().max(img.height()) as i64);
    let (x, y) = (x.clamp(-lim, lim), y.clamp(-lim, lim));
    let (w, h) = (w.clamp(0, lim), h.clamp(0, lim));
    for k in 0..t {
        for i in x..=x + w {
            put(img, i, y + k, c);
            put(img, i, y + h - k, c);
        }
        for j in y..=y + h {
            put(img, x + k, j, c);
            put(img, x + w - k, j, c);
        }
    }
}
