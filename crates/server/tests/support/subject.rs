//! Subjects for the attack suite, made from a real face photo (scikit-image's astronaut,
//! public domain, fetched with the models): a genuine responsive head rendered in 3-D, and
//! the attackers' material — the same photo held still, warped in 2-D, or swapped.

use std::sync::{Arc, OnceLock};

use image::{Rgb, RgbImage};
use openliveness_vision::Engine;

use super::render::{Head, Pose};

/// What the subject does in one frame.
#[derive(Debug, Clone, Copy)]
pub struct Act {
    pub pose: Pose,
    pub eyes_closed: bool,
    pub mouth_open: bool,
}

impl Act {
    pub const REST: Act = Act {
        pose: Pose::FRONT,
        eyes_closed: false,
        mouth_open: false,
    };
}

/// The astronaut as a textured head with its edited textures.
pub struct Subject {
    pub head: Head,
    neutral: RgbImage,
    eyes_closed: RgbImage,
    mouth_open: RgbImage,
    both: RgbImage,
}

pub fn photo(name: &str) -> RgbImage {
    let path = super::super::common::models_dir()
        .join("testdata")
        .join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run bash tools/models/setup.sh)", path.display()))
        .to_rgb8()
}

/// The subject, built once per test binary.
pub fn astronaut(engine: &Arc<Engine>) -> &'static Subject {
    static S: OnceLock<Subject> = OnceLock::new();
    S.get_or_init(|| Subject::new(engine, photo("astronaut.png")))
}

impl Subject {
    pub fn new(engine: &Engine, img: RgbImage) -> Subject {
        let frame = openliveness_vision::Frame::from_image(img.clone());
        let analysis = engine.analyze(&frame).expect("photo analyses");
        let face = analysis.faces.first().expect("a face in the photo").clone();
        let m = &face.mesh;
        let mut eyes_closed = img.clone();
        for (a, b) in [(33, 133), (362, 263)] {
            let (p, q) = (m.point(a), m.point(b));
            let c = ((p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0);
            let w = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
            let angle = (q[1] - p[1]).atan2(q[0] - p[0]);
            let skin = mean(&img, c.0, c.1 + 0.6 * w);
            ellipse(&mut eyes_closed, c, (0.75 * w, 0.5 * w), angle, skin, 1.0);
            ellipse(
                &mut eyes_closed,
                (c.0, c.1 + 0.08 * w),
                (0.5 * w, 0.06 * w),
                angle,
                Rgb([50, 32, 28]),
                0.8,
            );
        }
        let mouth = |base: &RgbImage| {
            let mut out = base.clone();
            let (up, low, l, r) = (m.point(13), m.point(14), m.point(61), m.point(291));
            let w = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2)).sqrt();
            let c = ((up[0] + low[0]) / 2.0, (up[1] + low[1]) / 2.0 + 0.18 * w);
            let angle = (r[1] - l[1]).atan2(r[0] - l[0]);
            let lip = mean(base, low[0], low[1] + 0.08 * w);
            ellipse(&mut out, c, (0.42 * w, 0.38 * w), angle, lip, 1.0);
            ellipse(
                &mut out,
                c,
                (0.36 * w, 0.30 * w),
                angle,
                Rgb([45, 20, 20]),
                1.0,
            );
            out
        };
        let mouth_open = mouth(&img);
        let both = mouth(&eyes_closed);
        Subject {
            head: Head::new(img.clone(), m.points.clone()),
            neutral: img,
            eyes_closed,
            mouth_open,
            both,
        }
    }

    pub fn neutral(&self) -> &RgbImage {
        &self.neutral
    }

    /// The genuine subject performing `act`, with sensor noise seeded by `seed`.
    pub fn frame(&self, act: Act, seed: u64) -> RgbImage {
        let texture = match (act.eyes_closed, act.mouth_open) {
            (false, false) => &self.neutral,
            (true, false) => &self.eyes_closed,
            (false, true) => &self.mouth_open,
            (true, true) => &self.both,
        };
        let mut img = self.head.render(texture, act.pose);
        noise(&mut img, seed);
        img
    }
}

/// Camera noise: no two real frames are byte-identical.
pub fn noise(img: &mut RgbImage, seed: u64) {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    for p in img.pixels_mut() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let d = ((s >> 61) as i16) - 3;
        for c in p.0.iter_mut() {
            *c = (*c as i16 + d).clamp(0, 255) as u8;
        }
    }
}

fn mean(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (mut acc, mut n) = ([0u32; 3], 0u32);
    for dy in -2i64..=2 {
        for dx in -2i64..=2 {
            let (px, py) = (x as i64 + dx, y as i64 + dy);
            if px >= 0 && py >= 0 && (px as u32) < img.width() && (py as u32) < img.height() {
                let p = img.get_pixel(px as u32, py as u32);
                for k in 0..3 {
                    acc[k] += u32::from(p[k]);
                }
                n += 1;
            }
        }
    }
    let n = n.max(1);
    Rgb([(acc[0] / n) as u8, (acc[1] / n) as u8, (acc[2] / n) as u8])
}

fn ellipse(
    img: &mut RgbImage,
    c: (f32, f32),
    r: (f32, f32),
    angle: f32,
    color: Rgb<u8>,
    alpha: f32,
) {
    let (w, h) = img.dimensions();
    let ext = r.0.max(r.1).ceil() as i64 + 1;
    let (sin, cos) = angle.sin_cos();
    for y in (c.1 as i64 - ext)..=(c.1 as i64 + ext) {
        for x in (c.0 as i64 - ext)..=(c.0 as i64 + ext) {
            if x < 0 || y < 0 || x as u32 >= w || y as u32 >= h {
                continue;
            }
            let (dx, dy) = (x as f32 - c.0, y as f32 - c.1);
            let (u, v) = (dx * cos + dy * sin, -dx * sin + dy * cos);
            let d = (u / r.0).powi(2) + (v / r.1).powi(2);
            if d <= 1.0 {
                let a = alpha * (1.0 - d.powi(4)).clamp(0.0, 1.0);
                let p = img.get_pixel_mut(x as u32, y as u32);
                for k in 0..3 {
                    p[k] = (p[k] as f32 * (1.0 - a) + color[k] as f32 * a) as u8;
                }
            }
        }
    }
}

/// A flat picture moved in 2-D: scaled about the face and shifted sideways, the way an
/// attacker moves a printed photo to fake "closer" or a turn.
pub fn warp_2d(
    img: &RgbImage,
    centre: (f32, f32),
    scale: f32,
    shift_x: f32,
    shear: f32,
) -> RgbImage {
    let (w, h) = img.dimensions();
    let mut out = RgbImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - centre.0 - shift_x, y as f32 - centre.1);
            let sx = centre.0 + (dx - shear * dy) / scale;
            let sy = centre.1 + dy / scale;
            let sx = sx.round().clamp(0.0, w as f32 - 1.0) as u32;
            let sy = sy.round().clamp(0.0, h as f32 - 1.0) as u32;
            out.put_pixel(x, y, *img.get_pixel(sx, sy));
        }
    }
    out
}

/// A second, smaller face pasted into the corner of `img`.
pub fn with_second_face(img: &RgbImage, other: &RgbImage) -> RgbImage {
    let small = image::imageops::resize(
        other,
        img.width() / 2,
        img.height() / 2,
        image::imageops::FilterType::Triangle,
    );
    let mut out = img.clone();
    image::imageops::overlay(
        &mut out,
        &small,
        i64::from(img.width() / 2),
        i64::from(img.height() / 2),
    );
    out
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    img.write_with_encoder(enc).expect("jpeg encodes");
    out
}
