//! Fuzzes the one entry point that takes outside image bytes: it must return
//! Ok or Err for anything, never panic, and an Ok frame must be well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = openliveness_vision::decode_image(data) {
        let (w, h) = (frame.width(), frame.height());
        assert!(w > 0 && h > 0);
        assert!(w <= openliveness_vision::MAX_DIMENSION && h <= openliveness_vision::MAX_DIMENSION);
        assert_eq!(frame.as_image().as_raw().len(), w as usize * h as usize * 3);
    }
});
