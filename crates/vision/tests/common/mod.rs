//! Shared test support: finding the models and photos, and the image edits the
//! tests apply (mirror, rotate, compose, shrink, darken, blur, paint).
//!
//! Invariant: missing models or photos fail the test with the setup command;
//! nothing here skips silently.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use image::{imageops, Rgb, RgbImage};
use openliveness_vision::{Engine, Face, Frame, MODELS_DIR_ENV};

pub fn models_dir() -> PathBuf {
    match std::env::var_os(MODELS_DIR_ENV) {
        Some(d) => PathBuf::from(d),
        // crates/vision → repository root.
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"),
    }
}

pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    // tract, explicitly: these tests' figures were taken with it; tests/runtimes.rs holds
    // ONNX Runtime (the server's default) to the same answers.
    ENGINE.get_or_init(
        || match Engine::load_with(&models_dir(), Default::default()) {
            Ok(e) => e,
            Err(e) => panic!(
            "models not available ({e}); run `bash tools/models/setup.sh` or set {MODELS_DIR_ENV}"
        ),
        },
    )
}

pub fn photo(name: &str) -> RgbImage {
    let path = models_dir().join("testdata").join(name);
    match image::open(&path) {
        Ok(i) => i.to_rgb8(),
        Err(e) => panic!(
            "test photo {} unreadable ({e}); run `bash tools/models/setup.sh`",
            path.display()
        ),
    }
}

pub fn astronaut() -> RgbImage {
    photo("astronaut.png")
}

/// Faces of an edited image, main face first.
pub fn faces(img: &RgbImage) -> Vec<Face> {
    engine()
        .faces(&Frame::from_image(img.clone()))
        .expect("analysis of a valid image must succeed")
}

pub fn main_face(img: &RgbImage) -> Face {
    faces(img).into_iter().next().expect("expected a face")
}

/// A 640×480 camera-like frame: the astronaut's head and shoulders on grey,
/// shifted right by `dx` pixels (face centre at x = 249 + dx, y = 212).
pub fn camera_frame(src: &RgbImage, dx: i64) -> RgbImage {
    let crop = imageops::crop_imm(src, 96, 16, 256, 256).to_image();
    let mut canvas = RgbImage::from_pixel(640, 480, Rgb([90, 90, 90]));
    imageops::overlay(&mut canvas, &crop, 120 + dx, 100);
    canvas
}

pub fn mirrored(img: &RgbImage) -> RgbImage {
    imageops::flip_horizontal(img)
}

/// Rotates by `degrees` clockwise (image y down) about the centre, same size,
/// black corners; bilinear.
pub fn rotated(img: &RgbImage, degrees: f32) -> RgbImage {
    let (w, h) = img.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (s, c) = degrees.to_radians().sin_cos();
    RgbImage::from_fn(w, h, |x, y| {
        let dx = x as f32 + 0.5 - cx;
        let dy = y as f32 + 0.5 - cy;
        // Inverse rotation: where did this output pixel come from?
        let sx = c * dx + s * dy + cx - 0.5;
        let sy = -s * dx + c * dy + cy - 0.5;
        sample(img, sx, sy)
    })
}

fn sample(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = img.dimensions();
    if x < 0.0 || y < 0.0 || x >= (w - 1) as f32 || y >= (h - 1) as f32 {
        return Rgb([0, 0, 0]);
    }
    let (x0, y0) = (x.floor() as u32, y.floor() as u32);
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let p = |xx, yy| img.get_pixel(xx, yy).0;
    let mut out = [0u8; 3];
    for (k, o) in out.iter_mut().enumerate() {
        let top = p(x0, y0)[k] as f32 * (1.0 - fx) + p(x0 + 1, y0)[k] as f32 * fx;
        let bot = p(x0, y0 + 1)[k] as f32 * (1.0 - fx) + p(x0 + 1, y0 + 1)[k] as f32 * fx;
        *o = (top * (1.0 - fy) + bot * fy).round() as u8;
    }
    Rgb(out)
}

/// Multiplies every channel by `factor`.
pub fn darkened(img: &RgbImage, factor: f32) -> RgbImage {
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for v in p.0.iter_mut() {
            *v = (*v as f32 * factor).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

pub fn blurred(img: &RgbImage, sigma: f32) -> RgbImage {
    imageops::blur(img, sigma)
}

/// `img` scaled to `scale`, pasted at (x, y) on a grey canvas of `w`×`h`.
pub fn on_canvas(img: &RgbImage, scale: f32, w: u32, h: u32, x: i64, y: i64) -> RgbImage {
    let mut canvas = RgbImage::from_pixel(w, h, Rgb([128, 128, 128]));
    let small = imageops::resize(
        img,
        ((img.width() as f32 * scale) as u32).max(1),
        ((img.height() as f32 * scale) as u32).max(1),
        imageops::FilterType::Triangle,
    );
    imageops::overlay(&mut canvas, &small, x, y);
    canvas
}

/// Fills an ellipse (centre, radii, rotation in radians) with `color`.
pub fn fill_ellipse(img: &mut RgbImage, c: (f32, f32), r: (f32, f32), angle: f32, color: Rgb<u8>) {
    blend_ellipse(img, c, r, angle, color, 0.0);
}

/// Paints an ellipse with `color`, fading to the original over the outer
/// `feather` fraction of its radius (0 = hard edge), so a patch has no seam.
pub fn blend_ellipse(
    img: &mut RgbImage,
    c: (f32, f32),
    r: (f32, f32),
    angle: f32,
    color: Rgb<u8>,
    feather: f32,
) {
    let (s, co) = angle.sin_cos();
    let reach = r.0.max(r.1).ceil() as i64 + 1;
    for y in (c.1 as i64 - reach)..=(c.1 as i64 + reach) {
        for x in (c.0 as i64 - reach)..=(c.0 as i64 + reach) {
            if x < 0 || y < 0 || x >= img.width() as i64 || y >= img.height() as i64 {
                continue;
            }
            let dx = x as f32 + 0.5 - c.0;
            let dy = y as f32 + 0.5 - c.1;
            let u = (dx * co + dy * s) / r.0;
            let v = (-dx * s + dy * co) / r.1;
            let d = (u * u + v * v).sqrt();
            if d <= 1.0 {
                let alpha = if feather > 0.0 {
                    ((1.0 - d) / feather).min(1.0)
                } else {
                    1.0
                };
                let p = img.get_pixel_mut(x as u32, y as u32);
                for k in 0..3 {
                    p.0[k] =
                        (p.0[k] as f32 * (1.0 - alpha) + color.0[k] as f32 * alpha).round() as u8;
                }
            }
        }
    }
}

/// Mean colour of a small square around (x, y).
pub fn mean_color(img: &RgbImage, x: f32, y: f32, r: i64) -> Rgb<u8> {
    let mut acc = [0f32; 3];
    let mut n = 0.0f32;
    for yy in (y as i64 - r)..=(y as i64 + r) {
        for xx in (x as i64 - r)..=(x as i64 + r) {
            if xx >= 0 && yy >= 0 && xx < img.width() as i64 && yy < img.height() as i64 {
                let p = img.get_pixel(xx as u32, yy as u32).0;
                for k in 0..3 {
                    acc[k] += p[k] as f32;
                }
                n += 1.0;
            }
        }
    }
    Rgb(acc.map(|v| (v / n.max(1.0)) as u8))
}
