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
/// outside the frame. When the region is much larger than the output, several
/// bilinear taps are averaged per pixel so the downscale does not alias.
pub fn sample(frame: &Frame, roi: &Roi, side: usize) -> Vec<f32> {
    let scale = roi.size / side as f32;
    let taps = (scale / 1.5).ceil().clamp(1.0, 4.0) as usize;
    let mut out = vec![0.0f32; side * side * 3];
    let (sin, cos) = roi.angle.sin_cos();
    let step = scale / taps as f32;
    let weight = 1.0 / (taps * taps) as f32;
    for v in 0..side {
        for u in 0..side {
            let mut acc = [0.0f32; 3];
            for tv in 0..taps {
                for tu in 0..taps {
                    // Offsets from the ROI centre, in image pixels before rotation.
                    let du = (u as f32 - side as f32 / 2.0) * scale + (tu as f32 + 0.5) * step;
                    let dv = (v as f32 - side as f32 / 2.0) * scale + (tv as f32 + 0.5) * step;
                    let x = roi.center.x + du * cos - dv * sin - 0.5;
                    let y = roi.center.y + du * sin + dv * cos - 0.5;
                    let px = bilinear(frame, x, y);
                    for k in 0..3 {
                        acc[k] += px[k];
                    }
                }
            }
            let o = (v * side + u) * 3;
            for k in 0..3 {
                out[o + k] = acc[k] * weight;
            }
        }
    }
    out
}

#[inline]
fn bilinear(frame: &Frame, x: f32, y: f32) -> [f32; 3] {
    let x0 = x.floor();
    let y0 = y.floor();
    let fx = x - x0;
    let fy = y - y0;
    let (xi, yi) = (x0 as i64, y0 as i64);
    let a = frame.pixel(xi, yi);
    let b = frame.pixel(xi + 1, yi);
    let c = frame.pixel(xi, yi + 1);
    let d = frame.pixel(xi + 1, yi + 1);
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * fx;
        let bottom = c[k] + (d[k] - c[k]) * fx;
        out[k] = top + (bottom - top) * fy;
    }
    out
}

/// HWC 0..255 → NCHW with `value * scale + offset`.
pub fn to_nchw(hwc: &[f32], side: usize, scale: f32, offset: f32) -> Vec<f32> {
    let plane = side * side;
    let mut out = vec![0.0; plane * 3];
    for i in 0..plane {
        for c in 0..3 {
            out[c * plane + i] = hwc[i * 3 + c] * scale + offset;
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
