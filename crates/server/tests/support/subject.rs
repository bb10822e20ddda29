//! Subjects for the attack suite, made from a real face photo (scikit-image's astronaut,
//! public domain, fetched with the models): a genuine responsive head rendered in 3-D, and
//! the attackers' material — the same photo held still, warped in 2-D, or swapped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use image::{Rgb, RgbImage};
use openliveness_vision::Engine;

use super::render::{Head, Pose};

/// How far the jaw drops for "open your mouth", in mouth widths.
pub const MOUTH_OPEN_JAW: f32 = 0.3;

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
    /// Rendered poses, quantised (yaw 2.5°, pitch 2°, distance 0.025, jaw 0.05): rendering
    /// is the test client's main cost, and sessions repeat the same motions.
    cache: Mutex<HashMap<[i32; 5], RgbImage>>,
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
        Subject {
            head: Head::new(img.clone(), m.points.clone()),
            neutral: img,
            eyes_closed,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn neutral(&self) -> &RgbImage {
        &self.neutral
    }

    /// The subject at rest, facing the camera at `distance` (1.0 far, 0.65 near).
    pub fn at_rest(&self, distance: f32, seed: u64) -> RgbImage {
        let pose = Pose {
            distance,
            ..Pose::FRONT
        };
        self.frame(Act { pose, ..Act::REST }, seed)
    }

    /// The rendered picture `act` falls into: pose quantised (yaw 2.5°, pitch 2°, distance
    /// 0.025, jaw 0.05) and the eyes.
    pub fn key(act: Act) -> [i32; 5] {
        let mut pose = act.pose;
        if act.mouth_open {
            pose.jaw = pose.jaw.max(MOUTH_OPEN_JAW);
        }
        [
            (pose.yaw / 2.5).round() as i32,
            (pose.pitch / 2.0).round() as i32,
            (pose.distance / 0.025).round() as i32,
            (pose.jaw / 0.05).round() as i32,
            i32::from(act.eyes_closed),
        ]
    }

    /// The genuine subject performing `act`, with sensor noise seeded by `seed`.
    pub fn frame(&self, act: Act, seed: u64) -> RgbImage {
        let texture = if act.eyes_closed {
            &self.eyes_closed
        } else {
            &self.neutral
        };
        let mut pose = act.pose;
        if act.mouth_open {
            pose.jaw = pose.jaw.max(MOUTH_OPEN_JAW);
        }
        let key = Subject::key(act);
        pose.yaw = key[0] as f32 * 2.5;
        pose.pitch = key[1] as f32 * 2.0;
        pose.distance = key[2] as f32 * 0.025;
        pose.jaw = key[3] as f32 * 0.05;
        let cached = self.cache.lock().unwrap().get(&key).cloned();
        let mut img = match cached {
            Some(img) => img,
            None => {
                let img = self.head.render(texture, pose);
                self.cache.lock().unwrap().insert(key, img.clone());
                img
            }
        };
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

/// Another person's face (the head around `other`'s face mesh, cropped from its photo)
/// pasted into the lower right of `img`, at about a third of the frame's width: a second
/// person leaning into the picture.
pub fn with_second_face(img: &RgbImage, other: &Subject) -> RgbImage {
    let side = img.width() * 2 / 5;
    paste_head(img, other, side, img.width() - side, img.height() - side)
}

/// A face small in the background, top left: `other`'s head mirrored, its face about a
/// tenth of the frame's width (the pasted head a sixth). Measured with the full-range
/// detector: the astronaut's face is found from a tenth of the frame's width in this
/// place, the camera man's, half hidden by his camera, only from about an eighth.
pub fn with_background_face(img: &RgbImage, other: &Subject) -> RgbImage {
    let side = img.width() / 6;
    let head = paste_head(img, other, side, img.width() / 25, img.height() / 25);
    let mut out = img.clone();
    let patch = image::imageops::crop_imm(&head, img.width() / 25, img.height() / 25, side, side)
        .to_image();
    image::imageops::overlay(
        &mut out,
        &image::imageops::flip_horizontal(&patch),
        i64::from(img.width() / 25),
        i64::from(img.height() / 25),
    );
    out
}

/// `other`'s head, cropped square around its face mesh, resized to `side` and pasted at
/// (`x`, `y`).
fn paste_head(img: &RgbImage, other: &Subject, side: u32, x: u32, y: u32) -> RgbImage {
    let pts = &other.head.points;
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in pts {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let crop_side = 1.6 * (x1 - x0).max(y1 - y0);
    let src = other.neutral();
    let left =
        (cx - crop_side / 2.0).clamp(0.0, src.width() as f32 - crop_side.min(src.width() as f32));
    let top = (cy - crop_side / 2.0).clamp(
        0.0,
        src.height() as f32 - crop_side.min(src.height() as f32),
    );
    let crop = image::imageops::crop_imm(
        src,
        left as u32,
        top as u32,
        crop_side as u32,
        crop_side as u32,
    )
    .to_image();
    let head = image::imageops::resize(&crop, side, side, image::imageops::FilterType::Triangle);
    let mut out = img.clone();
    image::imageops::overlay(&mut out, &head, i64::from(x), i64::from(y));
    out
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    img.write_with_encoder(enc).expect("jpeg encodes");
    out
}

/// A picture of the bank: `Subject::key` and the noise variant.
type BankKey = ([i32; 5], u64);

/// The genuine subject's frames encoded once and kept: a load client sends them as they are,
/// so its CPU stays small beside the server's (crates/server/benches/capacity.rs). Each
/// rendered picture has `variants` noise variants; every frame sent also carries a JPEG
/// comment naming it, so no two frames are byte-identical (a camera's never are) while the
/// pictures repeat.
pub struct FrameBank {
    subject: &'static Subject,
    variants: u64,
    jpegs: Mutex<HashMap<BankKey, Arc<Vec<u8>>>>,
    rendered: AtomicUsize,
}

impl FrameBank {
    pub fn new(subject: &'static Subject, variants: u64) -> FrameBank {
        FrameBank {
            subject,
            variants: variants.max(1),
            jpegs: Mutex::new(HashMap::new()),
            rendered: AtomicUsize::new(0),
        }
    }

    /// Pictures rendered and encoded so far (each once).
    pub fn rendered(&self) -> usize {
        self.rendered.load(Ordering::Relaxed)
    }

    /// Renders and encodes every variant of `acts` now, on `threads` threads, so a load
    /// measured afterwards finds them ready.
    pub fn prerender(&self, acts: &[Act], threads: usize) {
        let jobs: Vec<(Act, u64)> = acts
            .iter()
            .flat_map(|a| (0..self.variants).map(move |n| (*a, n)))
            .collect();
        let chunk = jobs.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            for part in jobs.chunks(chunk) {
                scope.spawn(move || {
                    for (act, n) in part {
                        self.frame(*act, *n, "");
                    }
                });
            }
        });
    }

    /// `act`'s picture, noise variant `n`, with the comment `tag`.
    pub fn frame(&self, act: Act, n: u64, tag: &str) -> Vec<u8> {
        let key = (Subject::key(act), n % self.variants);
        let cached = self.jpegs.lock().unwrap().get(&key).cloned();
        let encoded = match cached {
            Some(e) => e,
            None => {
                let e = Arc::new(jpeg(&self.subject.frame(act, 7_919 * (key.1 + 1))));
                self.rendered.fetch_add(1, Ordering::Relaxed);
                self.jpegs.lock().unwrap().insert(key, e.clone());
                e
            }
        };
        with_comment(&encoded, tag)
    }
}

/// `jpeg` with a comment segment (COM) right after its start marker.
pub fn with_comment(jpeg: &[u8], text: &str) -> Vec<u8> {
    let text = &text.as_bytes()[..text.len().min(200)];
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(text);
    out.extend_from_slice(&jpeg[2..]);
    out
}
