//! Points, boxes and rotated square regions, and sampling a region of a frame
//! into a model's input tensor.
//!
//! Invariant: a `Roi` maps the unit square [0,1]² of a model input onto the
//! image; `Roi::to_image` and the sampler use the same transform, so points a
//! model reports in its input space land where the pixels came from.

use serde::Serialize;

use crate::frame::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// Axis-aligned box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn center(&self) -> Point {
        Point {
            x: self.x + self.w / 2.0,
            y: self.y + self.h / 2.0,
        }
    }

    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    pub fn iou(&self, other: &BBox) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.w).min(other.x + other.w);
        let y1 = (self.y + self.h).min(other.y + other.h);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.area() + other.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// Smallest box holding the points.
    pub fn around(points: impl Iterator<Item = Point>) -> BBox {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in points {
            x0 = x0.min(p.x);
            y0 = y0.min(p.y);
            x1 = x1.max(p.x);
            y1 = y1.max(p.y);
        }
        if x0 > x1 {
            return BBox {
                x: 0.0,
                y: 0.0,
                w: 0.0,
                h: 0.0,
            };
        }
        BBox {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }
}

/// A square region of the image, possibly rotated: centre, side and the angle
/// (radians, image y pointing down) of its x axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub center: Point,
    pub size: f32,
    pub angle: f32,
}

impl Roi {
    /// The whole frame, letterboxed into a square (detector input).
    pub fn letterbox(frame: &Frame) -> Roi {
        let (w, h) = (frame.width() as f32, frame.height() as f32);
        Roi {
            center: Point {
                x: w / 2.0,
                y: h / 2.0,
            },
            size: w.max(h),
            angle: 0.0,
        }
    }

    /// Maps normalised ROI coordinates (0..1 each) to image pixels.
    #[inline]
    pub fn to_image(&self, u: f32, v: f32) -> Point {
        let (s, c) = self.angle.sin_cos();
        let du = (u - 0.5) * self.size;
        let dv = (v - 0.5) * self.size;
        Point {
            x: self.center.x + du * c - dv * s,
            y: self.center.y + du * s + dv * c,
        }
    }

    /// Inverse of `to_image`.
    pub fn to_roi(&self, p: Point) -> Point {
        let (s, c) = self.angle.sin_cos();
        let dx = p.x - self.center.x;
        let dy = p.y - self.center.y;
        Point {
            x: (dx * c + dy * s) / self.size + 0.5,
            y: (-dx * s + dy * c) / self.size + 0.5,
        }
    }
}

/// Samples `roi` into a `side`×`side` RGB buffer (HWC, 0..255 floats), black
/// outside the frame. When the region is at least twice the output, the frame
/// is first box-averaged by that integer factor so the downscale does not alias.
pub fn sample(frame: &Frame, roi: &Roi, side: usize) -> Vec<f32> {
    let scale = roi.size / side as f32;
    let factor = scale.floor().clamp(1.0, 16.0) as u32;
    if factor >= 2 {
        let (small, w, h) = box_downsample(frame, factor);
        let f = factor as f32;
        let roi = Roi {
            center: Point {
                x: roi.center.x / f,
                y: roi.center.y / f,
            },
            size: roi.size / f,
            angle: roi.angle,
        };
        return sample_raw(&small, w, h, &roi, side);
    }
    let img = frame.as_image();
    sample_raw(
        img.as_raw(),
        img.width() as usize,
        img.height() as usize,
        roi,
        side,
    )
}

/// Averages `factor`×`factor` blocks (partial blocks at the edges are dropped).
fn box_downsample(frame: &Frame, factor: u32) -> (Vec<u8>, usize, usize) {
    let img = frame.as_image();
    let (w, h) = (img.width() as usize, img.height() as usize);
    let f = factor as usize;
    let (sw, sh) = ((w / f).max(1), (h / f).max(1));
    let raw = img.as_raw();
    let mut acc = vec![0u32; sw * 3];
    let mut out = vec![0u8; sw * sh * 3];
    let n = (f * f) as u32;
    // A zero-width frame averages to black (and would be a zero `chunks_exact` below).
    if w == 0 {
        return (out, sw, sh);
    }
    for (sy, out_row) in out.chunks_exact_mut(sw * 3).enumerate() {
        acc.iter_mut().for_each(|a| *a = 0);
        for row in raw.chunks_exact(w * 3).skip(sy * f).take(f) {
            // Blocks of `f` pixels; zipping with `acc` drops the partial one at
            // the right edge, unless the frame is narrower than one block.
            for (a, block) in acc.chunks_exact_mut(3).zip(row.chunks(f * 3)) {
                for px in block.chunks_exact(3) {
                    for (sum, &v) in a.iter_mut().zip(px) {
                        *sum += v as u32;
                    }
                }
            }
        }
        for (o, a) in out_row.iter_mut().zip(&acc) {
            *o = (*a / n) as u8;
        }
    }
    (out, sw, sh)
}

/// Bilinear sampling of a raw RGB buffer along the ROI transform, stepping
/// incrementally along each output row (the transform is affine).
fn sample_raw(raw: &[u8], w: usize, h: usize, roi: &Roi, side: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; side * side * 3];
    let scale = roi.size / side as f32;
    let (sin, cos) = roi.angle.sin_cos();
    let half = side as f32 / 2.0;
    // No rows to fill, and `chunks_exact` takes no zero width.
    if side == 0 {
        return out;
    }
    for (v, row) in out.chunks_exact_mut(side * 3).enumerate() {
        let dv = (v as f32 + 0.5 - half) * scale;
        let du0 = (0.5 - half) * scale;
        // Pixel centres sit at +0.5, so subtract it to get buffer coordinates.
        let mut x = roi.center.x + du0 * cos - dv * sin - 0.5;
        let mut y = roi.center.y + du0 * sin + dv * cos - 0.5;
        let (dx, dy) = (scale * cos, scale * sin);
        for px in row.chunks_exact_mut(3) {
            bilinear(raw, w, h, x, y, px);
            x += dx;
            y += dy;
        }
    }
    out
}

#[inline]
fn bilinear(raw: &[u8], w: usize, h: usize, x: f32, y: f32, out: &mut [f32]) {
    let x0 = x.floor();
    let y0 = y.floor();
    let (fx, fy) = (x - x0, y - y0);
    let (xi, yi) = (x0 as i64, y0 as i64);
    if xi >= 0 && yi >= 0 && (xi as usize) + 1 < w && (yi as usize) + 1 < h {
        // Fast path: all four neighbours inside, as two runs of two pixels.
        let i = (yi as usize * w + xi as usize) * 3;
        let j = i + w * 3;
        if let (Some(top), Some(bottom)) = (raw.get(i..i + 6), raw.get(j..j + 6)) {
            let (top_left, top_right) = top.split_at(3);
            let (bottom_left, bottom_right) = bottom.split_at(3);
            let corners = top_left
                .iter()
                .zip(top_right)
                .zip(bottom_left.iter().zip(bottom_right));
            for (o, ((&tl, &tr), (&bl, &br))) in out.iter_mut().zip(corners) {
                let top = tl as f32 + (tr as f32 - tl as f32) * fx;
                let bot = bl as f32 + (br as f32 - bl as f32) * fx;
                *o = top + (bot - top) * fy;
            }
            return;
        }
    }
    let px = |xx: i64, yy: i64, k: usize| -> f32 {
        if xx < 0 || yy < 0 || xx as usize >= w || yy as usize >= h {
            0.0
        } else {
            raw.get((yy as usize * w + xx as usize) * 3 + k)
                .map_or(0.0, |&v| v as f32)
        }
    };
    for (k, o) in out.iter_mut().enumerate().take(3) {
        let top = px(xi, yi, k) + (px(xi + 1, yi, k) - px(xi, yi, k)) * fx;
        let bot = px(xi, yi + 1, k) + (px(xi + 1, yi + 1, k) - px(xi, yi + 1, k)) * fx;
        *o = top + (bot - top) * fy;
    }
}

/// HWC 0..255 → NCHW with `value * scale + offset`.
pub fn to_nchw(hwc: &[f32], side: usize, scale: f32, offset: f32) -> Vec<f32> {
    let plane = side * side;
    let mut out = vec![0.0; plane * 3];
    let (red, rest) = out.split_at_mut(plane);
    let (green, blue) = rest.split_at_mut(plane);
    let planes = red.iter_mut().zip(green).zip(blue);
    for (((r, g), b), px) in planes.zip(hwc.chunks_exact(3)) {
        for (o, &v) in [r, g, b].into_iter().zip(px) {
            *o = v * scale + offset;
        }
    }
    out
}

/// HWC 0..255 → NHWC with `value * scale` (the TFJS models keep HWC).
pub fn to_nhwc(hwc: &[f32], scale: f32) -> Vec<f32> {
    hwc.iter().map(|v| v * scale).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_round_trip() {
        let roi = Roi {
            center: Point { x: 100.0, y: 50.0 },
            size: 80.0,
            angle: 0.4,
        };
        let p = roi.to_image(0.2, 0.9);
        let q = roi.to_roi(p);
        assert!((q.x - 0.2).abs() < 1e-5 && (q.y - 0.9).abs() < 1e-5);
    }

    #[test]
    fn iou_of_half_overlap() {
        let a = BBox {
            x: 0.0,
            y: 0.0,
            w: 2.0,
            h: 2.0,
        };
        let b = BBox { x: 1.0, ..a };
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
    }
}
