//! Fuzzes the ConfigureUI reader (`api::configure_ui::parse_ui_config`) behind the body
//! reader, as the endpoint calls it. Beyond "no panic": a refusal carries one of the table's
//! constants with its own message (or the generic message) and names a field the body has;
//! an accepted configuration is what gets stored, so its JSON must read back to the same
//! value and pass the checks again with nothing ignored.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openliveness_server::api::body::parse_object;
use openliveness_server::api::configure_ui::{
    parse_ui_config, UiConfig, UiError, PARAMETER_ERROR_MESSAGE,
};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(map) = parse_object(data) else {
        return;
    };
    let body = Value::Object(map);
    match parse_ui_config(&body) {
        Ok(parsed) => {
            assert!(parsed.ignored.windows(2).all(|w| w[0] <= w[1]));
            let stored = serde_json::to_value(&parsed.config).expect("a configuration serializes");
            let back: UiConfig =
                serde_json::from_value(stored.clone()).expect("a stored configuration reads back");
            assert_eq!(back, parsed.config);
            let again = parse_ui_config(&stored).expect("a stored configuration passes again");
            assert_eq!(again.config, parsed.config);
            assert!(again.ignored.is_empty(), "{:?}", again.ignored);
        }
        Err(e) => {
            match e.constant {
                Some(constant) => {
                    let error = UiError::ALL
                        .iter()
                        .find(|u| u.constant() == constant)
                        .expect("the constant is in the table");
                    assert_eq!(e.message, error.message());
                }
                None => assert_eq!(e.message, PARAMETER_ERROR_MESSAGE),
            }
            let top = e.field.split(['.', '[']).next().unwrap_or_default();
            assert!(
                body.get(top).is_some(),
                "field {:?} is not in the body",
                e.field
            );
        }
    }
});
