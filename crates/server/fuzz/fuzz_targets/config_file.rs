//! Fuzzes the configuration file reader (`Config::apply_file_text`). Beyond "no panic": a
//! refusal is a parse error naming the file, and a file accepted once is accepted again over
//! its own result, changing nothing and warning the same — applying the layers is idempotent.
//! Inputs that are not UTF-8 are skipped: the loader refuses them when it reads the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use openliveness_server::config::{Config, ConfigError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let mut config = Config::default();
    let mut warnings = Vec::new();
    match config.apply_file_text(path, text, &mut warnings) {
        Ok(()) => {
            let mut again = config.clone();
            let mut warnings_again = Vec::new();
            again
                .apply_file_text(path, text, &mut warnings_again)
                .expect("a file accepted once is accepted again");
            assert_eq!(format!("{again:?}"), format!("{config:?}"));
            assert_eq!(again.master_key, config.master_key);
            assert_eq!(warnings_again, warnings);
        }
        Err(ConfigError::Parse { path: named, .. }) => assert_eq!(named, path),
        Err(other) => panic!("unexpected error {other:?}"),
    }
    for warning in &warnings {
        assert!(warning.contains("fuzz.toml"), "{warning}");
    }
});
