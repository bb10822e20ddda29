//! Decoded images (`Frame`) and the one entry point that turns outside bytes
//! into them.
//!
//! Invariants: only JPEG and PNG are accepted; EXIF orientation is applied so
//! `Frame` is always upright as the camera saw it; size and allocation are
//! bounded before decoding, so hostile bytes give a `VisionError`, never a
//! panic or an unbounded allocation.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use crate::error::VisionError;

/// Largest accepted width or height; a phone still is ~4000 px.
pub const MAX_DIMENSION: u32 = 8192;
/// Decoder allocation ceiling (an 8192² RGBA image plus slack).
const MAX_ALLOC: u64 = 320 * 1024 * 1024;

/// An upright 8-bit RGB image.
#[derive(Clone)]
pub struct Frame {
    pub(crate) rgb: RgbImage,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frame({}x{})", self.width(), self.height())
    }
}

impl Frame {
    /// Wraps raw RGB bytes (row-major, 3 bytes per pixel); `None` if the length is wrong.
    pub fn from_rgb(width: u32, height: u32, data: Vec<u8>) -> Option<Frame> {
        RgbImage::from_raw(width, height, data).map(|rgb| Frame { rgb })
    }

    pub fn from_image(rgb: RgbImage) -> Frame {
        Frame { rgb }
    }

    pub fn width(&self) -> u32 {
        self.rgb.width()
    }

    pub fn height(&self) -> u32 {
        self.rgb.height()
    }

    pub fn as_image(&self) -> &RgbImage {
        &self.rgb
    }

    pub fn into_image(self) -> RgbImage {
        self.rgb
    }
}

/// Decodes JPEG or PNG bytes into an upright RGB frame.
pub fn decode_image(bytes: &[u8]) -> Result<Frame, VisionError> {
    let format = image::guess_format(bytes).map_err(|_| VisionError::UnsupportedFormat)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(VisionError::UnsupportedFormat);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(VisionError::ImageTooLarge {
            width,
            height,
            max: MAX_DIMENSION,
        });
    }
    if width == 0 || height == 0 {
        return Err(VisionError::Decode("image has no pixels".into()));
    }
    // A broken EXIF block must not reject an otherwise good photo: no rotation then.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    img.apply_orientation(orientation);
    Ok(Frame {
        rgb: img.into_rgb8(),
    })
}

fn decode_error(e: image::ImageError) -> VisionError {
    match e {
        image::ImageError::Limits(_) => VisionError::Decode(format!(
            "image exceeds {MAX_DIMENSION} px per side or the memory limit"
        )),
        other => VisionError::Decode(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(
            decode_image(b"not an image"),
            Err(VisionError::UnsupportedFormat)
        ));
        assert!(decode_image(&[]).is_err());
    }

    #[test]
    fn truncated_png_is_an_error() {
        let mut png = Vec::new();
        let img = RgbImage::from_pixel(64, 64, image::Rgb([10, 20, 30]));
        img.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        assert!(decode_image(&png).is_ok());
        assert!(decode_image(&png[..png.len() / 2]).is_err());
    }
}
