//! A textured 3-D face for the attack suite: the astronaut photo's face mesh (468 points
//! with depth) triangulated, turned and moved in 3-D, and drawn back with perspective, so a
//! genuine subject's head turns and far→near steps have real parallax — what a flat photo
//! moved in 2-D cannot produce.

use image::{Rgb, RgbImage};

/// Delaunay triangulation (Bowyer–Watson) of 2-D points; returns index triples.
pub fn triangulate(pts: &[(f32, f32)]) -> Vec<[usize; 3]> {
    let (mut minx, mut miny, mut maxx, mut maxy) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in pts {
        minx = minx.min(x);
        miny = miny.min(y);
        maxx = maxx.max(x);
        maxy = maxy.max(y);
    }
    let d = (maxx - minx).max(maxy - miny) * 20.0;
    let (cx, cy) = ((minx + maxx) / 2.0, (miny + maxy) / 2.0);
    let mut all: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (x as f64, y as f64)).collect();
    let n = all.len();
    all.push(((cx - d) as f64, (cy - d) as f64));
    all.push(((cx + d) as f64, (cy - d) as f64));
    all.push((cx as f64, (cy + d) as f64));
    let mut tris: Vec<[usize; 3]> = vec![[n, n + 1, n + 2]];
    for i in 0..n {
        let p = all[i];
        let mut bad = Vec::new();
        for (t, tri) in tris.iter().enumerate() {
            if in_circumcircle(p, all[tri[0]], all[tri[1]], all[tri[2]]) {
                bad.push(t);
            }
        }
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for &t in &bad {
            let tri = tris[t];
            for (a, b) in [(tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0])] {
                if let Some(k) = edges
                    .iter()
                    .position(|&(x, y)| (x == b && y == a) || (x == a && y == b))
                {
                    edges.swap_remove(k);
                } else {
                    edges.push((a, b));
                }
            }
        }
        for &t in bad.iter().rev() {
            tris.swap_remove(t);
        }
        for (a, b) in edges {
            tris.push([a, b, i]);
        }
    }
    tris.into_iter()
        .filter(|t| t.iter().all(|&v| v < n))
        .collect()
}

fn in_circumcircle(p: (f64, f64), a: (f64, f64), b: (f64, f64), c: (f64, f64)) -> bool {
    let (ax, ay) = (a.0 - p.0, a.1 - p.1);
    let (bx, by) = (b.0 - p.0, b.1 - p.1);
    let (cx, cy) = (c.0 - p.0, c.1 - p.1);
    let det = (ax * ax + ay * ay) * (bx * cy - cx * by) - (bx * bx + by * by) * (ax * cy - cx * ay)
        + (cx * cx + cy * cy) * (ax * by - bx * ay);
    let orient = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
    if orient > 0.0 {
        det > 0.0
    } else {
        det < 0.0
    }
}

/// How the head is posed for one frame.
#[derive(Debug, Clone, Copy)]
pub struct Pose {
    /// Degrees, positive: the subject turns to their own left (nose to the image's right).
    pub yaw: f32,
    /// Degrees, positive: nose up.
    pub pitch: f32,
    /// Camera distance relative to the reference (1.0); 0.65 is much closer.
    pub distance: f32,
    /// How far the jaw is dropped, in mouth widths (0: closed; 0.45: wide open).
    pub jaw: f32,
}

impl Pose {
    pub const FRONT: Pose = Pose {
        yaw: 0.0,
        pitch: 0.0,
        distance: 1.0,
        jaw: 0.0,
    };
}

/// Mesh indices of the lips (MediaPipe face mesh).
const UPPER_INNER: [usize; 11] = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308];
/// The face mesh's point count: shell points past it are the head's ring.
const MESH_POINTS: usize = 468;
const LOWER_INNER: [usize; 9] = [95, 88, 178, 87, 14, 317, 402, 318, 324];
const LOWER_OUTER: [usize; 9] = [146, 91, 181, 84, 17, 314, 405, 321, 375];
const MOUTH_CORNERS: [usize; 2] = [61, 291];

/// The face as a textured mesh on its photo.
pub struct Head {
    pub texture: RgbImage,
    /// Mesh points in texture pixels, z in the same scale (smaller = nearer the camera).
    pub points: Vec<[f32; 3]>,
    /// The mesh points followed by a ring around the face, set back in depth: the sides of
    /// the head (hair, ears), so a turned head shows its side instead of a cut-out edge.
    /// In 3-D: placed so that the reference pose projects each back onto the photo.
    shell: Vec<[f32; 3]>,
    /// Where each shell point sits on the photo (texture coordinates).
    shell_tex: Vec<[f32; 2]>,
    pub triangles: Vec<[usize; 3]>,
    /// How much each shell point follows the jaw (0: not at all, 1: as the chin).
    jaw_weight: Vec<f32>,
    /// The photo with the head cut out and filled from its surroundings, so a turned head
    /// never shows the original face behind it.
    background: RgbImage,
    mouth_width: f32,
    centre: [f32; 3],
    /// Camera distance in pixels at the reference pose (about 2.7 face widths, a selfie).
    focal: f32,
}

/// The inner-lip loop: the mouth's opening, dark when the jaw drops.
const MOUTH_LOOP: [usize; 20] = [
    78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95,
];

impl Head {
    pub fn new(texture: RgbImage, points: Vec<[f32; 3]>) -> Head {
        let n = points.len() as f32;
        let mut centre = [0.0f32; 3];
        for p in &points {
            for k in 0..3 {
                centre[k] += p[k] / n;
            }
        }
        let (minx, maxx) = points
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p[0]), b.max(p[0])));
        let face_width = maxx - minx;
        let hull = convex_hull(points.iter().map(|p| (p[0], p[1])).collect());
        let back = points.iter().map(|p| p[2]).fold(f32::MIN, f32::max) + 0.25 * face_width;
        let mut shell = points.clone();
        for &(x, y) in &hull {
            shell.push([
                centre[0] + (x - centre[0]) * 1.3,
                centre[1] + (y - centre[1]) * 1.3,
                back,
            ]);
        }
        let triangles = triangulate(&shell.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
        let (jaw_weight, mouth_width) = jaw_weights(&shell);
        let focal = 2.7 * face_width;
        let shell_tex: Vec<[f32; 2]> = shell.iter().map(|p| [p[0], p[1]]).collect();
        // Undo the reference pose's perspective: a point behind the face centre is farther
        // from the camera and must be larger in 3-D to land where the photo shows it.
        let shell: Vec<[f32; 3]> = shell
            .iter()
            .map(|p| {
                let k = (focal + p[2] - centre[2]).max(1.0) / focal;
                [
                    centre[0] + (p[0] - centre[0]) * k,
                    centre[1] + (p[1] - centre[1]) * k,
                    p[2],
                ]
            })
            .collect();
        let outline: Vec<(f32, f32)> = shell[points.len()..].iter().map(|p| (p[0], p[1])).collect();
        let background = without_face(&texture, &outline);
        Head {
            texture,
            points,
            shell,
            shell_tex,
            triangles,
            jaw_weight,
            background,
            mouth_width,
            centre,
            focal,
        }
    }

    /// Where every mesh point lands in the image at `pose` (calibration aid).
    pub fn projected(&self, pose: Pose) -> Vec<(f32, f32)> {
        self.posed_points(pose.jaw)
            .into_iter()
            .take(self.points.len())
            .map(|p| {
                let (x, y, _) = self.project(p, pose);
                (x, y)
            })
            .collect()
    }

    /// The shell with the jaw dropped by `jaw` mouth widths.
    fn posed_points(&self, jaw: f32) -> Vec<[f32; 3]> {
        let drop = jaw * self.mouth_width;
        self.shell
            .iter()
            .zip(&self.jaw_weight)
            .map(|(p, w)| [p[0], p[1] + drop * w, p[2]])
            .collect()
    }

    /// Projects point `i` for `pose`: rotate about the face centre, then perspective.
    fn project(&self, p: [f32; 3], pose: Pose) -> (f32, f32, f32) {
        let (yaw, pitch) = (pose.yaw.to_radians(), pose.pitch.to_radians());
        let (x, y, z) = (
            p[0] - self.centre[0],
            p[1] - self.centre[1],
            p[2] - self.centre[2],
        );
        // Yaw about the vertical axis: nose (negative z) moves to +x for positive yaw.
        let (x1, z1) = (x * yaw.cos() - z * yaw.sin(), x * yaw.sin() + z * yaw.cos());
        // Pitch about the horizontal axis: nose moves up (−y) for positive pitch.
        let (y2, z2) = (
            y * pitch.cos() + z1 * pitch.sin(),
            -y * pitch.sin() + z1 * pitch.cos(),
        );
        let depth = (self.focal * pose.distance + z2).max(1.0);
        let s = self.focal / depth;
        (self.centre[0] + x1 * s, self.centre[1] + y2 * s, depth)
    }

    /// Draws the head at `pose` over the background (the photo scaled as the face's
    /// surroundings would be at that distance).
    pub fn render(&self, texture: &RgbImage, pose: Pose) -> RgbImage {
        let (w, h) = texture.dimensions();
        let bg_scale = 1.0 / pose.distance;
        let mut out = RgbImage::new(w, h);
        let bg = &self.background;
        if (pose.distance - 1.0).abs() < 1e-6 {
            out.copy_from_slice(bg.as_raw());
        }
        for y in (0..h).filter(|_| (pose.distance - 1.0).abs() >= 1e-6) {
            for x in 0..w {
                let sx = self.centre[0] + (x as f32 - self.centre[0]) / bg_scale;
                let sy = self.centre[1] + (y as f32 - self.centre[1]) / bg_scale;
                out.put_pixel(x, y, sample(bg, sx, sy));
            }
        }
        let projected: Vec<(f32, f32, f32)> = self
            .posed_points(pose.jaw)
            .into_iter()
            .map(|p| self.project(p, pose))
            .collect();
        let mut zbuf = vec![f32::MAX; (w * h) as usize];
        for t in &self.triangles {
            let [a, b, c] = [projected[t[0]], projected[t[1]], projected[t[2]]];
            let [ta, tb, tc] = [
                self.shell_tex[t[0]],
                self.shell_tex[t[1]],
                self.shell_tex[t[2]],
            ];
            let area = (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0);
            if area.abs() < 1e-3 {
                continue;
            }
            let x0 = a.0.min(b.0).min(c.0).floor().max(0.0) as u32;
            let x1 = a.0.max(b.0).max(c.0).ceil().min(w as f32 - 1.0) as u32;
            let y0 = a.1.min(b.1).min(c.1).floor().max(0.0) as u32;
            let y1 = a.1.max(b.1).max(c.1).ceil().min(h as f32 - 1.0) as u32;
            for py in y0..=y1 {
                for px in x0..=x1 {
                    let (fx, fy) = (px as f32 + 0.5, py as f32 + 0.5);
                    let wa = ((b.0 - fx) * (c.1 - fy) - (b.1 - fy) * (c.0 - fx)) / area;
                    let wb = ((c.0 - fx) * (a.1 - fy) - (c.1 - fy) * (a.0 - fx)) / area;
                    let wc = 1.0 - wa - wb;
                    if wa < -1e-4 || wb < -1e-4 || wc < -1e-4 {
                        continue;
                    }
                    let z = wa * a.2 + wb * b.2 + wc * c.2;
                    let k = (py * w + px) as usize;
                    if z >= zbuf[k] {
                        continue;
                    }
                    zbuf[k] = z;
                    let sx = wa * ta[0] + wb * tb[0] + wc * tc[0];
                    let sy = wa * ta[1] + wb * tb[1] + wc * tc[1];
                    out.put_pixel(px, py, sample(texture, sx, sy));
                }
            }
        }
        // The open mouth: its inside is dark, the more so the wider it opens.
        let alpha = (pose.jaw / 0.15).clamp(0.0, 1.0);
        if alpha > 0.0 {
            let lips: Vec<(f32, f32)> = MOUTH_LOOP
                .iter()
                .map(|&i| (projected[i].0, projected[i].1))
                .collect();
            // The upper teeth stay; below them the mouth's inside is dark, and the lower
            // lip, a band of lip colour, rims the opening from below.
            let lip = sample(texture, self.shell_tex[14][0], self.shell_tex[14][1] + 2.0);
            let lip = [lip[0] as f32, lip[1] as f32, lip[2] as f32];
            let top = lips[..11].iter().map(|p| p.1).fold(f32::MIN, f32::max);
            let teeth = top + 0.07 * self.mouth_width / pose.distance;
            let band = 0.09 * self.mouth_width / pose.distance;
            let lower: Vec<(f32, f32)> = lips[10..]
                .iter()
                .chain(std::iter::once(&lips[0]))
                .copied()
                .collect();
            let mut rim = lower.clone();
            rim.extend(lower.iter().rev().map(|p| (p.0, p.1 + band)));
            let blend = move |p: Rgb<u8>, to: [f32; 3]| {
                let mut q = p;
                for k in 0..3 {
                    q[k] = (p[k] as f32 * (1.0 - alpha) + to[k] * alpha) as u8;
                }
                q
            };
            fill_polygon(&mut out, &lips, |y, p| {
                if (y as f32) < teeth {
                    p
                } else {
                    blend(p, [52.0, 20.0, 22.0])
                }
            });
            fill_polygon(&mut out, &rim, |_, p| blend(p, lip));
        }
        out
    }
}

/// Applies `paint` to every pixel inside `poly` (even-odd rule, scanlines).
fn fill_polygon(img: &mut RgbImage, poly: &[(f32, f32)], paint: impl Fn(u32, Rgb<u8>) -> Rgb<u8>) {
    let (w, h) = img.dimensions();
    let (y0, y1) = poly
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    for y in (y0.ceil().max(0.0) as u32)..=(y1.floor().min(h as f32 - 1.0) as u32) {
        let fy = y as f32 + 0.5;
        let mut xs: Vec<f32> = Vec::new();
        for k in 0..poly.len() {
            let (a, b) = (poly[k], poly[(k + 1) % poly.len()]);
            if (a.1 <= fy && b.1 > fy) || (b.1 <= fy && a.1 > fy) {
                xs.push(a.0 + (fy - a.1) / (b.1 - a.1) * (b.0 - a.0));
            }
        }
        xs.sort_by(f32::total_cmp);
        for pair in xs.chunks_exact(2) {
            let from = pair[0].round().max(0.0) as u32;
            let to = (pair[1].round() as i64).min(i64::from(w) - 1);
            for x in from..=(to.max(0) as u32) {
                if i64::from(x) <= to {
                    let p = *img.get_pixel(x, y);
                    img.put_pixel(x, y, paint(y, p));
                }
            }
        }
    }
}

/// How much each mesh point follows a dropped jaw: the lower lip (more in its middle than
/// at the corners) and everything below the mouth, fading out towards the cheeks.
fn jaw_weights(points: &[[f32; 3]]) -> (Vec<f32>, f32) {
    let (l, r) = (points[MOUTH_CORNERS[0]], points[MOUTH_CORNERS[1]]);
    let mw = ((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2))
        .sqrt()
        .max(1.0);
    let cx = (l[0] + r[0]) / 2.0;
    let my = (points[13][1] + points[14][1]) / 2.0;
    let weights = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let across = ((p[0] - cx) / (0.5 * mw)).abs();
            if i >= MESH_POINTS {
                // The ring around the face: only the chin's part of it, and half as much.
                let down = ((p[1] - my) / (1.2 * mw)).clamp(0.0, 1.0);
                return 0.5 * down * (1.0 - (across / 3.0).min(1.0));
            }
            if LOWER_INNER.contains(&i) || LOWER_OUTER.contains(&i) {
                return (1.0 - across * across).clamp(0.25, 1.0);
            }
            if UPPER_INNER.contains(&i) || MOUTH_CORNERS.contains(&i) || p[1] <= my {
                return 0.0;
            }
            let down = ((p[1] - my) / (0.35 * mw)).clamp(0.0, 1.0);
            let lateral = (1.0 - (across * 0.5 * mw - 0.5 * mw) / (0.9 * mw)).clamp(0.0, 1.0);
            down * down * (3.0 - 2.0 * down) * lateral
        })
        .collect();
    (weights, mw)
}

/// The photo with the head outline's convex hull (slightly grown) filled row by row from
/// the pixels just outside it.
fn without_face(img: &RgbImage, outline: &[(f32, f32)]) -> RgbImage {
    let hull = convex_hull(outline.to_vec());
    let n = hull.len() as f32;
    let (cx, cy) = hull
        .iter()
        .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
    let hull: Vec<(f32, f32)> = hull
        .iter()
        .map(|&(x, y)| (cx + (x - cx) * 1.04, cy + (y - cy) * 1.04))
        .collect();
    let (w, h) = img.dimensions();
    let mut out = img.clone();
    let (y0, y1) = hull
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    for y in (y0.ceil().max(0.0) as u32)..=(y1.floor().min(h as f32 - 1.0) as u32) {
        let fy = y as f32;
        let mut xs: Vec<f32> = Vec::new();
        for k in 0..hull.len() {
            let (a, b) = (hull[k], hull[(k + 1) % hull.len()]);
            if (a.1 <= fy && b.1 > fy) || (b.1 <= fy && a.1 > fy) {
                xs.push(a.0 + (fy - a.1) / (b.1 - a.1) * (b.0 - a.0));
            }
        }
        if xs.len() < 2 {
            continue;
        }
        let xl = xs.iter().copied().fold(f32::MAX, f32::min).floor() - 2.0;
        let xr = xs.iter().copied().fold(f32::MIN, f32::max).ceil() + 2.0;
        let left = sample(img, xl, fy);
        let right = sample(img, xr, fy);
        let (from, to) = (xl.max(0.0) as u32, xr.min(w as f32 - 1.0) as u32);
        for x in from..=to {
            let t = ((x as f32 - xl) / (xr - xl)).clamp(0.0, 1.0);
            let mut c = [0u8; 3];
            for k in 0..3 {
                c[k] = (left[k] as f32 * (1.0 - t) + right[k] as f32 * t) as u8;
            }
            out.put_pixel(x, y, Rgb(c));
        }
    }
    out
}

/// Andrew's monotone chain; counter-clockwise in image coordinates' sense of the cross
/// product, without repeated points.
fn convex_hull(mut pts: Vec<(f32, f32)>) -> Vec<(f32, f32)> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

fn sample(img: &RgbImage, x: f32, y: f32) -> Rgb<u8> {
    let (w, h) = img.dimensions();
    let xi = x.round().clamp(0.0, w as f32 - 1.0) as u32;
    let yi = y.round().clamp(0.0, h as f32 - 1.0) as u32;
    *img.get_pixel(xi, yi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triangulates_a_square_with_centre() {
        let t = triangulate(&[
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (5.0, 5.0),
        ]);
        assert_eq!(t.len(), 4);
    }
}
