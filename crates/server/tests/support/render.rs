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
}

impl Pose {
    pub const FRONT: Pose = Pose {
        yaw: 0.0,
        pitch: 0.0,
        distance: 1.0,
    };
}

/// The face as a textured mesh on its photo.
pub struct Head {
    pub texture: RgbImage,
    /// Mesh points in texture pixels, z in the same scale (smaller = nearer the camera).
    pub points: Vec<[f32; 3]>,
    pub triangles: Vec<[usize; 3]>,
    centre: [f32; 3],
    /// Camera distance in pixels at the reference pose (about 2.7 face widths, a selfie).
    focal: f32,
}

impl Head {
    pub fn new(texture: RgbImage, points: Vec<[f32; 3]>) -> Head {
        let triangles = triangulate(&points.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
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
        Head {
            texture,
            points,
            triangles,
            centre,
            focal: 2.7 * (maxx - minx),
        }
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
        if (pose.distance - 1.0).abs() < 1e-6 {
            out.copy_from_slice(texture.as_raw());
        }
        for y in (0..h).filter(|_| (pose.distance - 1.0).abs() >= 1e-6) {
            for x in 0..w {
                let sx = self.centre[0] + (x as f32 - self.centre[0]) / bg_scale;
                let sy = self.centre[1] + (y as f32 - self.centre[1]) / bg_scale;
                out.put_pixel(x, y, sample(texture, sx, sy));
            }
        }
        let projected: Vec<(f32, f32, f32)> =
            self.points.iter().map(|&p| self.project(p, pose)).collect();
        let mut zbuf = vec![f32::MAX; (w * h) as usize];
        for t in &self.triangles {
            let [a, b, c] = [projected[t[0]], projected[t[1]], projected[t[2]]];
            let [ta, tb, tc] = [self.points[t[0]], self.points[t[1]], self.points[t[2]]];
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
        out
    }
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
