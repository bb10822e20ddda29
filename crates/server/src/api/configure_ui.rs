//! ConfigureUI (`POST /openapi/liveness/v1/h5/configureUI`): the wire schema of an account's H5
//! page customisation, its validation, and the table of error constants a violation answers with.
//! Integrator-facing description: `docs/configure-ui.md`.
//!
//! What must stay true here:
//! - JSON names are the vendor's, exactly: serde's `camelCase` of the Rust field names, which the
//!   reader derives the same way. Pages the seed's JSON does not show but its error enum names
//!   (tips pages, failed dialogs, PC pages) are our design, documented as such.
//! - [`UiError`] is the one table of constants and messages; the vendor's keep the vendor's
//!   spelling and grammar, and tests check both the seed's text and the docs against it.
//! - Fields are checked in schema order (the order they are declared below) and the first
//!   violation wins, so a body gets the same answer whatever order its keys arrive in.
//! - Nothing that passes can break out of the page's markup: colours are `#RGB`/`#RRGGBB` only,
//!   links are https URLs without quotes, spaces or angle brackets. Texts are plain text and the
//!   page must render them as text.
//! - Unknown keys are accepted (the vendor keeps adding fields) but returned, so they get logged.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use self::UiError::*;

/// The vendor's generic message, for wrong JSON types and empty texts (no constant of its own).
pub const PARAMETER_ERROR_MESSAGE: &str = "Parameter error,please check you input.";
/// Locales the H5 page ships texts for; compared exactly (`"EN"` and `"zh-CN"` are refused).
pub const SUPPORTED_LOCALES: &[&str] = &["en", "zh", "id", "ar"];

/// Titles, including the bold headline texts of the multi-device and timeout pages.
pub const TITLE_MAX_CHARS: usize = 50;
pub const TITLE_DESC_MAX_CHARS: usize = 100;
/// Tip texts, descriptions and every other text.
pub const TEXT_MAX_CHARS: usize = 200;
pub const BUTTON_TEXT_MAX_CHARS: usize = 30;
pub const LOADING_TEXT_MAX_CHARS: usize = 50;
pub const COUNTDOWN_TEXT_MAX_CHARS: usize = 100;
/// The page substitutes the seconds left for this in `countdownText`.
pub const COUNTDOWN_PLACEHOLDER: &str = "{second}";
pub const LINK_MAX_CHARS: usize = 2048;
pub const TIPS_MAX: usize = 4;

/// Declares [`UiError`] from rows `vendor|added NAME = "message";` so that the constant name,
/// its message and its origin live on one line.
macro_rules! ui_errors {
    (@vendor vendor) => { true };
    (@vendor added) => { false };
    ($( $(#[$doc:meta])* $origin:ident $name:ident = $message:literal; )*) => {
        /// Every ConfigureUI violation that has a constant of its own. The variant *is* the
        /// constant the API answers with in `extra`, hence the vendor's SCREAMING_CASE.
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum UiError { $( $(#[$doc])* $name, )* }

        impl UiError {
            pub const ALL: &'static [UiError] = &[$( UiError::$name, )*];

            pub fn constant(self) -> &'static str {
                match self { $( UiError::$name => stringify!($name), )* }
            }

            pub fn message(self) -> &'static str {
                match self { $( UiError::$name => $message, )* }
            }

            /// True for ADVANCE AI's own constants, false for the ones OpenLiveness added.
            pub fn is_vendor(self) -> bool {
                match self { $( UiError::$name => ui_errors!(@vendor $origin), )* }
            }
        }
    };
}

ui_errors! {
    // The vendor's enum, as the seed spells it. Mobile tips page:
    vendor M_TITLE_TOO_LONG_TIPS_PAGE = "The title is too long of tips page.";
    vendor M_TITLE_DESC_TOO_LONG_TIPS_PAGE = "The title description is too long of tips page.";
    vendor M_BACKGROUND_NOT_COLOR_TIPS_PAGE = "Wrong format of the tips page background color.";
    vendor M_TIPS_COUNT_OVERSTEP_TIPS_PAGE =
        "The number of prompts exceeds the limit, supporting up to four.";
    vendor M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE = "Wrong format of the icon link at tips page.";
    vendor M_TIPS_TOO_LONG_TIPS_PAGE = "The tips is too long of tips page.";
    vendor M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE = "The button text is too long of tips page.";
    vendor M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE =
        "Wrong format of the start button background color of tips page.";
    // Mobile loading page:
    vendor M_LOADING_TEXT_TOO_LONG_LOADING_PAGE = "The loading text is too long of loading page.";
    vendor M_PROGRESS_COLOR_WRONG_LOADING_PAGE = "Wrong format of the loading page progress color.";
    // Mobile failed dialog:
    vendor M_DESC_TEXT_TOO_LONG_FAILED_DIALOG =
        "The description text is too long of failed dialog.";
    vendor M_ICON_LINK_NOT_URL_FAILED_DIALOG =
        "Wrong format of the icon link at detection failed dialog.";
    vendor M_BUTTON_TEXT_TOO_LONG_FAILED_DIALOG = "The button text is too long of failed dialog.";
    vendor M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_FAILED_DIALOG =
        "Wrong format of the confirm button background color of detection failed dialog.";
    // Mobile result page:
    vendor M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE =
        "Wrong format of the success icon link at result page.";
    vendor M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE =
        "Wrong format of the failed icon link at result page.";
    vendor M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE =
        "The success description text is too long of result page.";
    vendor M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE =
        "The failed description text is too long of result page.";
    vendor M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE =
        "The next step button text is too long of result page.";
    vendor M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE =
        "The try again button text is too long of result page.";
    vendor M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE =
        "Wrong format of the result page next step button background color";
    vendor M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE =
        "Wrong format of the result page try again button background color";
    // PC tips page:
    vendor M_TITLE_TOO_LONG_TIPS_PAGE_PC = "The title is too long of PC tips page.";
    vendor M_TITLE_DESC_TOO_LONG_TIPS_PAGE_PC =
        "The title description is too long of PC tips page.";
    vendor M_TIPS_COUNT_OVERSTEP_TIPS_PAGE_PC =
        "The number of PC tips exceeds the limit, supporting up to four.";
    vendor M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE_PC = "Wrong format of the icon link at PC tips page.";
    vendor M_TIPS_TOO_LONG_TIPS_PAGE_PC = "The tips is too long of PC tips page.";
    vendor M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE_PC = "The button text is too long of PC tips page.";
    vendor M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC =
        "Wrong format of the start button background color of PC tips page.";
    // PC failed dialog:
    vendor M_DESC_TEXT_TOO_LONG_PC_FAILED_DIALOG =
        "The description text is too long of PC failed dialog.";
    vendor M_ICON_LINK_NOT_URL_PC_FAILED_DIALOG =
        "Wrong format of the icon link at detection PC failed dialog.";
    vendor M_BUTTON_TEXT_TOO_LONG_PC_FAILED_DIALOG =
        "The button text is too long of PC failed dialog.";
    vendor M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_PC_FAILED_DIALOG =
        "Wrong format of the confirm button background color of detection PC failed dialog.";
    // PC camera page:
    vendor M_TITLE_TOO_LONG_CAMERA_PAGE_PC = "The title is too long of PC camera page.";
    vendor M_TITLE_DESC_TOO_LONG_CAMERA_PAGE_PC =
        "The title description is too long of PC camera page.";
    vendor M_TAKE_PHOTO_ICON_LINK_NOT_URL_CAMERA_PAGE_PC =
        "Wrong format of the icon link of take photo button at PC camera page.";
    // PC result page:
    vendor M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE_PC =
        "Wrong format of the success icon link at PC result page.";
    vendor M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE_PC =
        "Wrong format of the failed icon link at PC result page.";
    vendor M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC =
        "The success description text is too long of PC result page.";
    vendor M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC =
        "The failed description text is too long of PC result page.";
    vendor M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC =
        "The next step button text is too long of PC result page.";
    vendor M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC =
        "The try again button text is too long of PC result page.";
    vendor M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC =
        "Wrong format of the PC result page next step button background color";
    vendor M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC =
        "Wrong format of the PC result page try again button background color";

    // Ours, in the vendor's style, for fields its enum does not cover. One constant per page and
    // kind of rule rather than per field: the field path goes to the server log.
    added M_TITLE_TOO_LONG = "The title is too long.";
    added M_LOCALE_NOT_SUPPORTED = "The locale is not supported.";
    added M_TIP_TEXT_TOO_LONG_CAMERA_PAGE = "The tip text is too long of camera page.";
    added M_PAGE_NAME_TOO_LONG_CAMERA_PAGE = "The page name is too long of camera page.";
    added M_COLOR_WRONG_CAMERA_PAGE = "Wrong format of the camera page color.";
    added M_LINK_NOT_URL_CAMERA_PAGE = "Wrong format of the link at camera page.";
    added M_LOADING_TEXT_COLOR_WRONG_LOADING_PAGE =
        "Wrong format of the loading page loading text color.";
    added M_COUNTDOWN_TEXT_TOO_LONG_RESULT_PAGE = "The countdown text is too long of result page.";
    added M_COUNTDOWN_TEXT_NO_SECOND_RESULT_PAGE =
        "The countdown text of result page must contain {second}.";
    added M_COLOR_WRONG_RESULT_PAGE = "Wrong format of the result page color.";
    added M_LINK_NOT_URL_RESULT_PAGE = "Wrong format of the link at result page.";
    added M_BOLD_TEXT_TOO_LONG_MULTI_DEVICE_PAGE =
        "The bold text is too long of multi-device process page.";
    added M_TIP_TEXT_TOO_LONG_MULTI_DEVICE_PAGE =
        "The tip text is too long of multi-device process page.";
    added M_BUTTON_TEXT_TOO_LONG_MULTI_DEVICE_PAGE =
        "The button text is too long of multi-device process page.";
    added M_VIDEO_UPLOADING_TEXT_TOO_LONG_MULTI_DEVICE_PAGE =
        "The video uploading text is too long of multi-device process page.";
    added M_COLOR_WRONG_MULTI_DEVICE_PAGE = "Wrong format of the multi-device process page color.";
    added M_LINK_NOT_URL_MULTI_DEVICE_PAGE = "Wrong format of the link at multi-device process page.";
    added M_BOLD_TEXT_TOO_LONG_TIMEOUT_PAGE = "The bold text is too long of timeout page.";
    added M_TIP_TEXT_TOO_LONG_TIMEOUT_PAGE = "The tip text is too long of timeout page.";
    added M_BUTTON_TEXT_TOO_LONG_TIMEOUT_PAGE = "The button text is too long of timeout page.";
    added M_COLOR_WRONG_TIMEOUT_PAGE = "Wrong format of the timeout page color.";
    added M_LINK_NOT_URL_TIMEOUT_PAGE = "Wrong format of the link at timeout page.";
    added M_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC = "Wrong format of the PC tips page background color.";
}

/// A rejected ConfigureUI body. The server answers `PARAMETER_ERROR` with `message`, and
/// `constant` (or null) as `extra`; `field` is for its log only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiConfigError {
    pub constant: Option<&'static str>,
    pub message: &'static str,
    /// Dotted JSON path, e.g. `mobileTipsPage.tips[2].iconLink`; empty for the body itself.
    pub field: String,
}

impl UiConfigError {
    fn new(field: String, error: Option<UiError>) -> Self {
        Self {
            constant: error.map(UiError::constant),
            message: error.map_or(PARAMETER_ERROR_MESSAGE, UiError::message),
            field,
        }
    }
}

impl fmt::Display for UiConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (field `{}`)", self.message, self.field)
    }
}

impl std::error::Error for UiConfigError {}

/// A valid configuration and the keys of the body that were ignored, as dotted paths, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub config: UiConfig,
    pub ignored: Vec<String>,
}

/// Parses and validates a ConfigureUI request body. `null` counts as absent; the first violation
/// in schema order is returned.
pub fn parse_ui_config(body: &Value) -> Result<Parsed, UiConfigError> {
    let mut ignored = Vec::new();
    let config = read_object(body, String::new(), &mut ignored, UiConfig::read)?;
    ignored.sort();
    Ok(Parsed { config, ignored })
}

/// Declares a page struct and its reader from rows `field: Type = rule(args)`. The rule is a
/// method of `Obj` that reads and checks the field; rows are read top to bottom, which is what
/// makes "first violation in schema order" hold.
///
/// `Deserialize` is for reading back a configuration that was validated here (from the store);
/// request bodies must go through [`parse_ui_config`].
macro_rules! ui_struct {
    ($(#[$meta:meta])* $name:ident {
        $( $(#[$fmeta:meta])* $field:ident: $ty:ty = $rule:ident($($arg:expr),*), )*
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $( $(#[$fmeta])* #[serde(skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>, )*
        }

        impl Read for $name {
            fn read(o: &mut Obj<'_, '_>) -> Result<Self, UiConfigError> {
                Ok(Self { $( $field: o.$rule(stringify!($field) $(, $arg)*)?, )* })
            }
        }
    };
}

ui_struct! {
    /// The whole customisation of one account. Every field optional: absent means the default.
    UiConfig {
        /// The page's title.
        title_text: String = title(M_TITLE_TOO_LONG),
        /// One of [`SUPPORTED_LOCALES`].
        locale: String = locale(M_LOCALE_NOT_SUPPORTED),
        mobile_camera_page: MobileCameraPage = page(),
        mobile_loading_page: MobileLoadingPage = page(),
        mobile_result_page: MobileResultPage = page(),
        mobile_multi_device_process_page: MobileMultiDeviceProcessPage = page(),
        mobile_timeout_page: MobileTimeoutPage = page(),
        // Not in the seed's JSON; named by its error enum.
        mobile_tips_page: MobileTipsPage = page(),
        mobile_failed_dialog: MobileFailedDialog = page(),
        pc_tips_page: PcTipsPage = page(),
        pc_failed_dialog: PcFailedDialog = page(),
        pc_camera_page: PcCameraPage = page(),
        pc_result_page: PcResultPage = page(),
    }
}

ui_struct! {
    /// The live camera view and its positioning tips.
    MobileCameraPage {
        tips_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        background_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        background_link: String = link(M_LINK_NOT_URL_CAMERA_PAGE),
        face_not_center_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        face_not_center_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        face_not_frontal_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        face_not_frontal_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        face_too_far_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        face_too_far_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        face_too_near_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        face_too_near_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        keep_still_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        keep_still_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        move_left_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        move_left_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        move_right_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        move_right_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        move_top_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        move_top_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        move_bottom_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        move_bottom_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        multiple_faces_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        multiple_faces_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        face_missing_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        face_missing_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        face_occlusion_tip_text: String = text(M_TIP_TEXT_TOO_LONG_CAMERA_PAGE),
        face_occlusion_tip_text_color: String = color(M_COLOR_WRONG_CAMERA_PAGE),
        page_name: String = text(M_PAGE_NAME_TOO_LONG_CAMERA_PAGE),
    }
}

ui_struct! {
    MobileLoadingPage {
        progress_color: String = color(M_PROGRESS_COLOR_WRONG_LOADING_PAGE),
        loading_text: String = loading(M_LOADING_TEXT_TOO_LONG_LOADING_PAGE),
        loading_text_color: String = color(M_LOADING_TEXT_COLOR_WRONG_LOADING_PAGE),
    }
}

ui_struct! {
    MobileResultPage {
        success_icon_link: String = link(M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE),
        failed_icon_link: String = link(M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE),
        success_desc: String = text(M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE),
        failed_desc: String = text(M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE),
        show_score: bool = flag(),
        next_step_button_text: String = button(M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE),
        next_step_button_background_color: String =
            color(M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE),
        try_again_button_text: String = button(M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE),
        try_again_button_background_color: String =
            color(M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE),
        /// After a failure, show "next step" only once no try is left.
        next_step_button_invisible_before_try_count_use_up: bool = flag(),
        liveness_result_text_color: String = color(M_COLOR_WRONG_RESULT_PAGE),
        next_step_button_text_color: String = color(M_COLOR_WRONG_RESULT_PAGE),
        try_again_button_text_color: String = color(M_COLOR_WRONG_RESULT_PAGE),
        next_step_button_background_link: String = link(M_LINK_NOT_URL_RESULT_PAGE),
        try_again_button_background_link: String = link(M_LINK_NOT_URL_RESULT_PAGE),
        background_color: String = color(M_COLOR_WRONG_RESULT_PAGE),
        background_link: String = link(M_LINK_NOT_URL_RESULT_PAGE),
        /// False skips the result page: the user is redirected at once.
        is_show: bool = flag(),
        /// Show the captured face on the result page.
        face_show: bool = flag(),
        countdown_text: String = countdown(
            M_COUNTDOWN_TEXT_TOO_LONG_RESULT_PAGE,
            M_COUNTDOWN_TEXT_NO_SECOND_RESULT_PAGE
        ),
        countdown_text_color: String = color(M_COLOR_WRONG_RESULT_PAGE),
        /// True turns the automatic redirect countdown off.
        close_countdown_logic: bool = flag(),
    }
}

ui_struct! {
    /// The cross-device fallback: refresh page, QR-code page, and the second device's end page.
    MobileMultiDeviceProcessPage {
        refresh_page_top_icon_link: String = link(M_LINK_NOT_URL_MULTI_DEVICE_PAGE),
        refresh_page_bold_text: String = title(M_BOLD_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        refresh_page_bold_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        refresh_page_tip_text: String = text(M_TIP_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        refresh_page_tip_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        refresh_page_btn_text: String = button(M_BUTTON_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        refresh_page_btn_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        refresh_page_btn_background_link: String = link(M_LINK_NOT_URL_MULTI_DEVICE_PAGE),
        refresh_page_btn_background_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_top_icon_link: String = link(M_LINK_NOT_URL_MULTI_DEVICE_PAGE),
        qr_code_page_permission_denied_bold_text: String =
            title(M_BOLD_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        qr_code_page_permission_denied_bold_text_color: String =
            color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_permission_denied_tip_text: String =
            text(M_TIP_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        qr_code_page_permission_denied_tip_text_color: String =
            color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_camera_issue_bold_text: String =
            title(M_BOLD_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        qr_code_page_camera_issue_bold_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_camera_issue_tip_text: String = text(M_TIP_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        qr_code_page_camera_issue_tip_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_liveness_link_background_link: String =
            link(M_LINK_NOT_URL_MULTI_DEVICE_PAGE),
        qr_code_page_liveness_link_background_color: String =
            color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_liveness_link_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_liveness_link_border_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_copy_link_btn_text: String = button(M_BUTTON_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        qr_code_page_copy_link_btn_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        qr_code_page_copy_link_btn_background_link: String =
            link(M_LINK_NOT_URL_MULTI_DEVICE_PAGE),
        qr_code_page_copy_link_btn_background_color: String =
            color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        verify_finished_page_top_icon_link: String = link(M_LINK_NOT_URL_MULTI_DEVICE_PAGE),
        verify_finished_page_bold_text: String = title(M_BOLD_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        verify_finished_page_bold_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        verify_finished_page_tip_text: String = text(M_TIP_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        verify_finished_page_tip_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
        video_uploading_text: String = text(M_VIDEO_UPLOADING_TEXT_TOO_LONG_MULTI_DEVICE_PAGE),
        video_uploading_text_color: String = color(M_COLOR_WRONG_MULTI_DEVICE_PAGE),
    }
}

ui_struct! {
    MobileTimeoutPage {
        bold_text: String = title(M_BOLD_TEXT_TOO_LONG_TIMEOUT_PAGE),
        bold_text_color: String = color(M_COLOR_WRONG_TIMEOUT_PAGE),
        tip_text: String = text(M_TIP_TEXT_TOO_LONG_TIMEOUT_PAGE),
        tip_text_color: String = color(M_COLOR_WRONG_TIMEOUT_PAGE),
        icon_link: String = link(M_LINK_NOT_URL_TIMEOUT_PAGE),
        try_again_button_text: String = button(M_BUTTON_TEXT_TOO_LONG_TIMEOUT_PAGE),
        try_again_button_text_color: String = color(M_COLOR_WRONG_TIMEOUT_PAGE),
        try_again_button_background_link: String = link(M_LINK_NOT_URL_TIMEOUT_PAGE),
        try_again_button_background_color: String = color(M_COLOR_WRONG_TIMEOUT_PAGE),
        background_color: String = color(M_COLOR_WRONG_TIMEOUT_PAGE),
        background_link: String = link(M_LINK_NOT_URL_TIMEOUT_PAGE),
    }
}

ui_struct! {
    /// Instructions shown before the camera starts (not in the seed's JSON).
    MobileTipsPage {
        title_text: String = title(M_TITLE_TOO_LONG_TIPS_PAGE),
        title_desc_text: String = title_desc(M_TITLE_DESC_TOO_LONG_TIPS_PAGE),
        background_color: String = color(M_BACKGROUND_NOT_COLOR_TIPS_PAGE),
        tips: Vec<Tip> = tips(
            M_TIPS_COUNT_OVERSTEP_TIPS_PAGE,
            M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE,
            M_TIPS_TOO_LONG_TIPS_PAGE
        ),
        button_text: String = button(M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE),
        button_background_color: String = color(M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE),
    }
}

ui_struct! {
    /// Shown when an attempt fails and tries remain (not in the seed's JSON).
    MobileFailedDialog {
        desc_text: String = text(M_DESC_TEXT_TOO_LONG_FAILED_DIALOG),
        icon_link: String = link(M_ICON_LINK_NOT_URL_FAILED_DIALOG),
        button_text: String = button(M_BUTTON_TEXT_TOO_LONG_FAILED_DIALOG),
        button_background_color: String = color(M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_FAILED_DIALOG),
    }
}

ui_struct! {
    /// The desktop counterpart of [`MobileTipsPage`].
    PcTipsPage {
        title_text: String = title(M_TITLE_TOO_LONG_TIPS_PAGE_PC),
        title_desc_text: String = title_desc(M_TITLE_DESC_TOO_LONG_TIPS_PAGE_PC),
        background_color: String = color(M_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC),
        tips: Vec<Tip> = tips(
            M_TIPS_COUNT_OVERSTEP_TIPS_PAGE_PC,
            M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE_PC,
            M_TIPS_TOO_LONG_TIPS_PAGE_PC
        ),
        button_text: String = button(M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE_PC),
        button_background_color: String = color(M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC),
    }
}

ui_struct! {
    PcFailedDialog {
        desc_text: String = text(M_DESC_TEXT_TOO_LONG_PC_FAILED_DIALOG),
        icon_link: String = link(M_ICON_LINK_NOT_URL_PC_FAILED_DIALOG),
        button_text: String = button(M_BUTTON_TEXT_TOO_LONG_PC_FAILED_DIALOG),
        button_background_color: String =
            color(M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_PC_FAILED_DIALOG),
    }
}

ui_struct! {
    PcCameraPage {
        title_text: String = title(M_TITLE_TOO_LONG_CAMERA_PAGE_PC),
        title_desc_text: String = title_desc(M_TITLE_DESC_TOO_LONG_CAMERA_PAGE_PC),
        take_photo_icon_link: String = link(M_TAKE_PHOTO_ICON_LINK_NOT_URL_CAMERA_PAGE_PC),
    }
}

ui_struct! {
    PcResultPage {
        success_icon_link: String = link(M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE_PC),
        failed_icon_link: String = link(M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE_PC),
        success_desc: String = text(M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC),
        failed_desc: String = text(M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC),
        next_step_button_text: String = button(M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC),
        try_again_button_text: String = button(M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC),
        next_step_button_background_color: String =
            color(M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC),
        try_again_button_background_color: String =
            color(M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC),
    }
}

/// One entry of a tips page. Not declared with `ui_struct!` because its constants depend on the
/// page it sits on (see `Obj::tips`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tip {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Tip {
    fn read(o: &mut Obj<'_, '_>, icon: UiError, text: UiError) -> Result<Self, UiConfigError> {
        Ok(Tip {
            icon_link: o.link("icon_link", icon)?,
            text: o.text("text", text)?,
        })
    }
}

trait Read: Sized {
    fn read(o: &mut Obj<'_, '_>) -> Result<Self, UiConfigError>;
}

/// Reads `value` as an object with `read`, then reports the keys `read` did not ask for.
fn read_object<'a, T>(
    value: &'a Value,
    path: String,
    ignored: &mut Vec<String>,
    read: impl FnOnce(&mut Obj<'a, '_>) -> Result<T, UiConfigError>,
) -> Result<T, UiConfigError> {
    let Value::Object(map) = value else {
        return Err(UiConfigError::new(path, None));
    };
    let mut obj = Obj {
        map,
        path,
        known: Vec::new(),
        ignored,
    };
    let parsed = read(&mut obj)?;
    for key in obj.map.keys() {
        if !obj.known.contains(key) {
            let path = obj.path_of(key);
            obj.ignored.push(path);
        }
    }
    Ok(parsed)
}

/// A JSON object being read field by field. Each rule method takes the Rust (snake_case) field
/// name, returns `None` for absent or null, and fails on a wrong JSON type or a broken rule.
struct Obj<'a, 'b> {
    map: &'a Map<String, Value>,
    path: String,
    known: Vec<String>,
    ignored: &'b mut Vec<String>,
}

type Checked<T> = Result<Option<T>, UiConfigError>;

impl<'a> Obj<'a, '_> {
    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn error(&self, key: &str, error: Option<UiError>) -> UiConfigError {
        UiConfigError::new(self.path_of(key), error)
    }

    /// The JSON key of `field` and its value, unless absent or null.
    fn get(&mut self, field: &str) -> (String, Option<&'a Value>) {
        let key = camel_case(field);
        let value = self.map.get(&key).filter(|v| !v.is_null());
        self.known.push(key.clone());
        (key, value)
    }

    /// A string field passing `check`, whose `Err(None)` is the generic parameter error.
    fn string(
        &mut self,
        field: &str,
        check: impl FnOnce(&str) -> Result<(), Option<UiError>>,
    ) -> Checked<String> {
        match self.get(field) {
            (_, None) => Ok(None),
            (key, Some(Value::String(s))) => match check(s) {
                Ok(()) => Ok(Some(s.clone())),
                Err(error) => Err(self.error(&key, error)),
            },
            (key, Some(_)) => Err(self.error(&key, None)),
        }
    }

    fn title(&mut self, field: &str, too_long: UiError) -> Checked<String> {
        self.string(field, |s| check_text(s, TITLE_MAX_CHARS, too_long))
    }

    fn title_desc(&mut self, field: &str, too_long: UiError) -> Checked<String> {
        self.string(field, |s| check_text(s, TITLE_DESC_MAX_CHARS, too_long))
    }

    fn text(&mut self, field: &str, too_long: UiError) -> Checked<String> {
        self.string(field, |s| check_text(s, TEXT_MAX_CHARS, too_long))
    }

    fn button(&mut self, field: &str, too_long: UiError) -> Checked<String> {
        self.string(field, |s| check_text(s, BUTTON_TEXT_MAX_CHARS, too_long))
    }

    fn loading(&mut self, field: &str, too_long: UiError) -> Checked<String> {
        self.string(field, |s| check_text(s, LOADING_TEXT_MAX_CHARS, too_long))
    }

    fn countdown(&mut self, field: &str, too_long: UiError, no_second: UiError) -> Checked<String> {
        self.string(field, |s| {
            check_text(s, COUNTDOWN_TEXT_MAX_CHARS, too_long)?;
            // Without the placeholder the page could not show how long is left.
            require(s.contains(COUNTDOWN_PLACEHOLDER), no_second)
        })
    }

    fn color(&mut self, field: &str, wrong: UiError) -> Checked<String> {
        self.string(field, |s| require(is_color(s), wrong))
    }

    fn link(&mut self, field: &str, wrong: UiError) -> Checked<String> {
        self.string(field, |s| require(is_link(s), wrong))
    }

    fn locale(&mut self, field: &str, unsupported: UiError) -> Checked<String> {
        self.string(field, |s| {
            require(SUPPORTED_LOCALES.contains(&s), unsupported)
        })
    }

    fn flag(&mut self, field: &str) -> Checked<bool> {
        match self.get(field) {
            (_, None) => Ok(None),
            (_, Some(Value::Bool(b))) => Ok(Some(*b)),
            (key, Some(_)) => Err(self.error(&key, None)),
        }
    }

    fn page<T: Read>(&mut self, field: &str) -> Checked<T> {
        let (key, value) = self.get(field);
        let Some(value) = value else { return Ok(None) };
        read_object(value, self.path_of(&key), self.ignored, T::read).map(Some)
    }

    /// The count is checked before any entry, as the array comes before its contents.
    fn tips(
        &mut self,
        field: &str,
        too_many: UiError,
        icon: UiError,
        text: UiError,
    ) -> Checked<Vec<Tip>> {
        let (key, value) = self.get(field);
        let items = match value {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.error(&key, None)),
        };
        if items.len() > TIPS_MAX {
            return Err(self.error(&key, Some(too_many)));
        }
        let path = self.path_of(&key);
        let mut tips = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let read = |o: &mut Obj<'a, '_>| Tip::read(o, icon, text);
            tips.push(read_object(
                item,
                format!("{path}[{i}]"),
                self.ignored,
                read,
            )?);
        }
        Ok(Some(tips))
    }
}

/// serde's `rename_all = "camelCase"` rule for snake_case names, so that the reader and the
/// serializer cannot disagree on a key.
fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        match (c, upper) {
            ('_', _) => upper = true,
            (c, true) => {
                out.push(c.to_ascii_uppercase());
                upper = false;
            }
            (c, false) => out.push(c),
        }
    }
    out
}

/// Lengths are in Unicode scalar values, so a limit means the same for Chinese as for English.
/// A blank text would leave an empty label on the page: it is refused as a plain parameter error,
/// since no vendor constant says "empty".
fn check_text(s: &str, max: usize, too_long: UiError) -> Result<(), Option<UiError>> {
    if s.trim().is_empty() {
        Err(None)
    } else if s.chars().count() > max {
        Err(Some(too_long))
    } else {
        Ok(())
    }
}

fn require(ok: bool, error: UiError) -> Result<(), Option<UiError>> {
    ok.then_some(()).ok_or(Some(error))
}

fn is_color(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An absolute https URL with a host. The literal prefix is required because the URL parser
/// forgives forms such as `https:host`; quotes, spaces and angle brackets are refused because the
/// page puts links into attributes and CSS `url()`, where they could end the value early.
fn is_link(s: &str) -> bool {
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "\"'<>`\\".contains(c);
    s.chars().count() <= LINK_MAX_CHARS
        && s.get(..8)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
        && !s.chars().any(forbidden)
        && Url::parse(s).is_ok_and(|url| {
            url.scheme() == "https" && url.host_str().is_some_and(|h| !h.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The request example of the seed's ConfigureUI section, verbatim.
    const SEED_EXAMPLE: &str = r##"
  {
    "titleText": "Liveness Detection",
    "locale": "en",
    "mobileCameraPage": {
        "tipsTextColor": null,
        "backgroundColor": null,
        "backgroundLink": null,
        "faceNotCenterTipText": "Please move your face to the center of the face frame",
        "faceNotCenterTipTextColor": null,
        "faceNotFrontalTipText": "Please turn your face straight to the camera",
        "faceNotFrontalTipTextColor": null,
        "faceTooFarTipText": "Move closer",
        "faceTooFarTipTextColor": null,
        "faceTooNearTipText": "Move away",
        "faceTooNearTipTextColor": null,
        "keepStillTipText": "Please stay still and start testing",
        "keepStillTipTextColor": null,
        "moveLeftTipText": "Please move your face to the left",
        "moveLeftTipTextColor": null,
        "moveRightTipText": "Please move your face to the right",
        "moveRightTipTextColor": null,
        "moveTopTipText": "Please move your face down",
        "moveTopTipTextColor": null,
        "moveBottomTipText": "Please move your face up",
        "moveBottomTipTextColor": null,
        "multipleFacesTipText": "Multiple faces detected from the image, please only keep one face in the image",
        "multipleFacesTipTextColor": null,
        "faceMissingTipText": "Please move your face to the center of the face frame",
        "faceMissingTipTextColor": null,
        "faceOcclusionTipText": "Please don't cover your face",
        "faceOcclusionTipTextColor": null,
        "pageName": "mobile camera page"
    },
    "mobileLoadingPage": {
        "progressColor": null,
        "loadingText": "Loading...",
        "loadingTextColor": "#ffffff"
    },
    "mobileResultPage": {
        "successIconLink": null,
        "failedIconLink": null,
        "successDesc": "Liveness Detection succeed",
        "failedDesc": "Liveness Detection failed",
        "showScore": false,
        "nextStepButtonText": "Next Step",
        "nextStepButtonBackgroundColor": null,
        "tryAgainButtonText": "Please try again",
        "tryAgainButtonBackgroundColor": null,
        "nextStepButtonInvisibleBeforeTryCountUseUp": null,
        "livenessResultTextColor": null,
        "nextStepButtonTextColor": null,
        "tryAgainButtonTextColor": null,
        "nextStepButtonBackgroundLink": null,
        "tryAgainButtonBackgroundLink": null,
        "backgroundColor": null,
        "backgroundLink": null,
        "isShow": true,
        "faceShow": null,
        "countdownText": "Go to next process after {second} seconds.",
        "countdownTextColor": null,
        "closeCountdownLogic": null
    },
    "mobileMultiDeviceProcessPage": {
        "refreshPageTopIconLink": null,
        "refreshPageBoldText": "Camera permission denied",
        "refreshPageBoldTextColor": null,
        "refreshPageTipText": "Please grant camera permission\nRefresh this page to start the liveness detection process",
        "refreshPageTipTextColor": null,
        "refreshPageBtnText": "Refresh",
        "refreshPageBtnTextColor": null,
        "refreshPageBtnBackgroundLink": null,
        "refreshPageBtnBackgroundColor": null,
        "qrCodePageTopIconLink": null,
        "qrCodePagePermissionDeniedBoldText": "Camera permission denied",
        "qrCodePagePermissionDeniedBoldTextColor": null,
        "qrCodePagePermissionDeniedTipText": "Please copy the link or scan the QR code to verify on another browser or device",
        "qrCodePagePermissionDeniedTipTextColor": null,
        "qrCodePageCameraIssueBoldText": null,
        "qrCodePageCameraIssueBoldTextColor": null,
        "qrCodePageCameraIssueTipText": "Please copy the link or scan the QR code to verify on another device",
        "qrCodePageCameraIssueTipTextColor": null,
        "qrCodePageLivenessLinkBackgroundLink": null,
        "qrCodePageLivenessLinkBackgroundColor": null,
        "qrCodePageLivenessLinkTextColor": null,
        "qrCodePageLivenessLinkBorderColor": null,
        "qrCodePageCopyLinkBtnText": "Copy",
        "qrCodePageCopyLinkBtnTextColor": null,
        "qrCodePageCopyLinkBtnBackgroundLink": null,
        "qrCodePageCopyLinkBtnBackgroundColor": null,
        "verifyFinishedPageTopIconLink": null,
        "verifyFinishedPageBoldText": "Verification completed",
        "verifyFinishedPageBoldTextColor": null,
        "verifyFinishedPageTipText": "Please return to the original browser to continue",
        "verifyFinishedPageTipTextColor": null,
        "videoUploadingText": "Please wait for the video uploading",
        "videoUploadingTextColor": null
    },
    "mobileTimeoutPage": {
        "boldText": "Time out",
        "boldTextColor": null,
        "tipText": "Please follow the instructions",
        "tipTextColor": null,
        "iconLink": null,
        "tryAgainButtonText": "Please try again",
        "tryAgainButtonTextColor": null,
        "tryAgainButtonBackgroundLink": null,
        "tryAgainButtonBackgroundColor": null,
        "backgroundColor": null,
        "backgroundLink": null
    }
}
"##;

    /// The seed's error enum, verbatim.
    const SEED_ENUM: &str = r##"
  //On the page of tips in the mobile side
  M_TITLE_TOO_LONG_TIPS_PAGE("The title is too long of tips page."),
  M_TITLE_DESC_TOO_LONG_TIPS_PAGE("The title description is too long of tips page."),
  M_BACKGROUND_NOT_COLOR_TIPS_PAGE("Wrong format of the tips page background color."),
  M_TIPS_COUNT_OVERSTEP_TIPS_PAGE("The number of prompts exceeds the limit, supporting up to four."),
  M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE("Wrong format of the icon link at tips page."),
  M_TIPS_TOO_LONG_TIPS_PAGE("The tips is too long of tips page."),
  M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE("The button text is too long of tips page."),
  M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE("Wrong format of the start button background color of tips page."),
  //On the page of loading in the mobile side
  M_LOADING_TEXT_TOO_LONG_LOADING_PAGE("The loading text is too long of loading page."),
  M_PROGRESS_COLOR_WRONG_LOADING_PAGE("Wrong format of the loading page progress color."),

  //On the page of failure in the mobile side
  M_DESC_TEXT_TOO_LONG_FAILED_DIALOG("The description text is too long of failed dialog."),
  M_ICON_LINK_NOT_URL_FAILED_DIALOG("Wrong format of the icon link at detection failed dialog."),
  M_BUTTON_TEXT_TOO_LONG_FAILED_DIALOG("The button text is too long of failed dialog."),
  M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_FAILED_DIALOG("Wrong format of the confirm button background color of detection failed dialog."),

  //On the page of result in the mobile side
  M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE("Wrong format of the success icon link at result page."),
  M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE("Wrong format of the failed icon link at result page."),
  M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE("The success description text is too long of result page."),
  M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE("The failed description text is too long of result page."),
  M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE("The next step button text is too long of result page."),
  M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE("The try again button text is too long of result page."),
  M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE("Wrong format of the result page next step button background color"),
  M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE("Wrong format of the result page try again button background color"),

  //Prompt page on PC
  M_TITLE_TOO_LONG_TIPS_PAGE_PC("The title is too long of PC tips page."),
  M_TITLE_DESC_TOO_LONG_TIPS_PAGE_PC("The title description is too long of PC tips page."),
  M_TIPS_COUNT_OVERSTEP_TIPS_PAGE_PC("The number of PC tips exceeds the limit, supporting up to four."),
  M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE_PC("Wrong format of the icon link at PC tips page."),
  M_TIPS_TOO_LONG_TIPS_PAGE_PC("The tips is too long of PC tips page."),
  M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE_PC("The button text is too long of PC tips page."),
  M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC("Wrong format of the start button background color of PC tips page."),

  //Failure page on PC
  M_DESC_TEXT_TOO_LONG_PC_FAILED_DIALOG("The description text is too long of PC failed dialog."),
  M_ICON_LINK_NOT_URL_PC_FAILED_DIALOG("Wrong format of the icon link at detection PC failed dialog."),
  M_BUTTON_TEXT_TOO_LONG_PC_FAILED_DIALOG("The button text is too long of PC failed dialog."),
  M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_PC_FAILED_DIALOG("Wrong format of the confirm button background color of detection PC failed dialog."),

  //Camera page on PC
  M_TITLE_TOO_LONG_CAMERA_PAGE_PC("The title is too long of PC camera page."),
  M_TITLE_DESC_TOO_LONG_CAMERA_PAGE_PC("The title description is too long of PC camera page."),
  M_TAKE_PHOTO_ICON_LINK_NOT_URL_CAMERA_PAGE_PC("Wrong format of the icon link of take photo button at PC camera page."),

  //Result page on PC
  M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE_PC("Wrong format of the success icon link at PC result page."),
  M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE_PC("Wrong format of the failed icon link at PC result page."),
  M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC("The success description text is too long of PC result page."),
  M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC("The failed description text is too long of PC result page."),
  M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC("The next step button text is too long of PC result page."),
  M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC("The try again button text is too long of PC result page."),
  M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC("Wrong format of the PC result page next step button background color"),
  M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC("Wrong format of the PC result page try again button background color"),
"##;

    /// The pages the seed's JSON does not show, every field set.
    fn added_pages() -> Value {
        let tips = json!([
            {"iconLink": "https://cdn.example.com/a.png", "text": "Good light"},
            {"iconLink": "https://cdn.example.com/b.png", "text": "No glasses"},
            {"text": "No hat"},
            {"iconLink": "https://cdn.example.com/d.png"}
        ]);
        json!({
            "mobileTipsPage": {
                "titleText": "Before you start", "titleDescText": "A few tips",
                "backgroundColor": "#fff", "tips": tips, "buttonText": "Start",
                "buttonBackgroundColor": "#0055AA"
            },
            "mobileFailedDialog": {
                "descText": "Failed", "iconLink": "https://cdn.example.com/f.png",
                "buttonText": "OK", "buttonBackgroundColor": "#123"
            },
            "pcTipsPage": {
                "titleText": "Before you start", "titleDescText": "A few tips",
                "backgroundColor": "#000000", "tips": tips, "buttonText": "Start",
                "buttonBackgroundColor": "#abcdef"
            },
            "pcFailedDialog": {
                "descText": "Failed", "iconLink": "https://cdn.example.com/f.png",
                "buttonText": "OK", "buttonBackgroundColor": "#123"
            },
            "pcCameraPage": {
                "titleText": "Camera", "titleDescText": "Look at the camera",
                "takePhotoIconLink": "https://cdn.example.com/shoot.svg"
            },
            "pcResultPage": {
                "successIconLink": "https://cdn.example.com/ok.png",
                "failedIconLink": "https://cdn.example.com/ko.png",
                "successDesc": "Done", "failedDesc": "Failed", "nextStepButtonText": "Next",
                "tryAgainButtonText": "Again", "nextStepButtonBackgroundColor": "#0f0",
                "tryAgainButtonBackgroundColor": "#f00"
            }
        })
    }

    fn seed_example() -> Value {
        serde_json::from_str(SEED_EXAMPLE).expect("the seed example is JSON")
    }

    fn without_nulls(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
            other => other.clone(),
        }
    }

    /// `{"a": {"b": value}}` for path `a.b`.
    fn body(path: &str, value: Value) -> Value {
        path.rsplit('.')
            .fold(value, |inner, key| json!({ key: inner }))
    }

    fn chars(n: usize) -> Value {
        Value::String("a".repeat(n))
    }

    fn reject(body: &Value) -> UiConfigError {
        match parse_ui_config(body) {
            Ok(parsed) => panic!("accepted {body}: {parsed:?}"),
            Err(error) => error,
        }
    }

    fn assert_generic(error: &UiConfigError, field: &str) {
        assert_eq!(
            (error.constant, error.message),
            (None, PARAMETER_ERROR_MESSAGE)
        );
        assert_eq!(error.field, field);
    }

    #[test]
    fn seed_example_parses_and_round_trips() {
        let seed = seed_example();
        let parsed = parse_ui_config(&seed).expect("seed example is valid");
        assert!(parsed.ignored.is_empty(), "{:?}", parsed.ignored);
        assert_eq!(parsed.config.locale.as_deref(), Some("en"));
        let result = parsed
            .config
            .mobile_result_page
            .as_ref()
            .expect("result page");
        assert_eq!(
            (result.show_score, result.is_show),
            (Some(false), Some(true))
        );
        let back = serde_json::to_value(&parsed.config).expect("serializes");
        assert_eq!(back, without_nulls(&seed));
    }

    #[test]
    fn added_pages_parse_and_round_trip() {
        let pages = added_pages();
        let parsed = parse_ui_config(&pages).expect("valid");
        assert!(parsed.ignored.is_empty(), "{:?}", parsed.ignored);
        assert_eq!(
            serde_json::to_value(&parsed.config).expect("serializes"),
            pages
        );
        let stored: UiConfig = serde_json::from_value(pages).expect("reads back");
        assert_eq!(stored, parsed.config);
    }

    #[test]
    fn every_text_field_has_a_named_rule() {
        // Garbage in any string field must hit that field's own constant, proving no field is
        // read without a rule (or under a misspelt key, which would show up as ignored).
        let mut full = seed_example();
        if let (Value::Object(all), Value::Object(added)) = (&mut full, added_pages()) {
            all.extend(added);
        }
        let garbage = "a".repeat(LINK_MAX_CHARS + 1);
        let mut paths = Vec::new();
        collect_leaf_paths(&full, String::new(), &mut paths);
        // The seed leaves these flags null; garbage in them is a plain type error.
        let flags = [
            "nextStepButtonInvisibleBeforeTryCountUseUp",
            "faceShow",
            "closeCountdownLogic",
        ];
        paths.retain(|(path, _)| !flags.iter().any(|flag| path.ends_with(flag)));
        assert_eq!(paths.len(), 135);
        for (path, pointer) in paths {
            let mut broken = full.clone();
            *broken.pointer_mut(&pointer).expect("path exists") = json!(garbage);
            let error = reject(&broken);
            assert!(error.constant.is_some(), "{path}: {error:?}");
            assert_eq!(error.field, path);
        }
    }

    /// Dotted paths and JSON pointers of every string or null leaf.
    fn collect_leaf_paths(value: &Value, path: String, out: &mut Vec<(String, String)>) {
        let pointer = |p: &str| format!("/{}", p.replace(['.', '['], "/").replace(']', ""));
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    collect_leaf_paths(v, child, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    collect_leaf_paths(v, format!("{path}[{i}]"), out);
                }
            }
            Value::String(_) | Value::Null => out.push((path.clone(), pointer(&path))),
            _ => {}
        }
    }

    /// One minimal body per constant, as `CONSTANT path value`: a bare number N stands for a
    /// text of N chars, anything else is JSON in which `LONG` stands for 201 chars.
    const CASES: &str = r##"
        M_TITLE_TOO_LONG_TIPS_PAGE mobileTipsPage.titleText 51
        M_TITLE_DESC_TOO_LONG_TIPS_PAGE mobileTipsPage.titleDescText 101
        M_BACKGROUND_NOT_COLOR_TIPS_PAGE mobileTipsPage.backgroundColor "red"
        M_TIPS_COUNT_OVERSTEP_TIPS_PAGE mobileTipsPage.tips [{},{},{},{},{}]
        M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE mobileTipsPage.tips [{"iconLink":"/a.png"}]
        M_TIPS_TOO_LONG_TIPS_PAGE mobileTipsPage.tips [{"text":"ok"},{"text":"LONG"}]
        M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE mobileTipsPage.buttonText 31
        M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE mobileTipsPage.buttonBackgroundColor "#12"
        M_LOADING_TEXT_TOO_LONG_LOADING_PAGE mobileLoadingPage.loadingText 51
        M_PROGRESS_COLOR_WRONG_LOADING_PAGE mobileLoadingPage.progressColor "fff"
        M_DESC_TEXT_TOO_LONG_FAILED_DIALOG mobileFailedDialog.descText 201
        M_ICON_LINK_NOT_URL_FAILED_DIALOG mobileFailedDialog.iconLink "http://x.com/a.png"
        M_BUTTON_TEXT_TOO_LONG_FAILED_DIALOG mobileFailedDialog.buttonText 31
        M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_FAILED_DIALOG mobileFailedDialog.buttonBackgroundColor "blue"
        M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE mobileResultPage.successIconLink "ok.png"
        M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE mobileResultPage.failedIconLink "https://"
        M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE mobileResultPage.successDesc 201
        M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE mobileResultPage.failedDesc 201
        M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE mobileResultPage.nextStepButtonText 31
        M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE mobileResultPage.tryAgainButtonText 31
        M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE mobileResultPage.nextStepButtonBackgroundColor "#ffff"
        M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE mobileResultPage.tryAgainButtonBackgroundColor "#GGG"
        M_TITLE_TOO_LONG_TIPS_PAGE_PC pcTipsPage.titleText 51
        M_TITLE_DESC_TOO_LONG_TIPS_PAGE_PC pcTipsPage.titleDescText 101
        M_TIPS_COUNT_OVERSTEP_TIPS_PAGE_PC pcTipsPage.tips [{},{},{},{},{"text":"5"}]
        M_TIP_ICON_LINK_NOT_URL_TIPS_PAGE_PC pcTipsPage.tips [{"iconLink":"javascript:alert(1)"}]
        M_TIPS_TOO_LONG_TIPS_PAGE_PC pcTipsPage.tips [{"text":"LONG"}]
        M_BUTTON_TEXT_TOO_LONG_TIPS_PAGE_PC pcTipsPage.buttonText 31
        M_BUTTON_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC pcTipsPage.buttonBackgroundColor "#fff "
        M_DESC_TEXT_TOO_LONG_PC_FAILED_DIALOG pcFailedDialog.descText 201
        M_ICON_LINK_NOT_URL_PC_FAILED_DIALOG pcFailedDialog.iconLink "data:image/png;base64,AA"
        M_BUTTON_TEXT_TOO_LONG_PC_FAILED_DIALOG pcFailedDialog.buttonText 31
        M_BUTTON_TEXT_BACKGROUND_NOT_COLOR_PC_FAILED_DIALOG pcFailedDialog.buttonBackgroundColor "rgb(0,0,0)"
        M_TITLE_TOO_LONG_CAMERA_PAGE_PC pcCameraPage.titleText 51
        M_TITLE_DESC_TOO_LONG_CAMERA_PAGE_PC pcCameraPage.titleDescText 101
        M_TAKE_PHOTO_ICON_LINK_NOT_URL_CAMERA_PAGE_PC pcCameraPage.takePhotoIconLink "//x.com/a.png"
        M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE_PC pcResultPage.successIconLink "http://x.com"
        M_FAILED_ICON_LINK_NOT_URL_RESULT_PAGE_PC pcResultPage.failedIconLink "x"
        M_SUCCESS_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC pcResultPage.successDesc 201
        M_FAILED_DESC_TEXT_TOO_LONG_RESULT_PAGE_PC pcResultPage.failedDesc 201
        M_NEXT_STEP_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC pcResultPage.nextStepButtonText 31
        M_TRY_AGAIN_BUTTON_TEXT_TOO_LONG_RESULT_PAGE_PC pcResultPage.tryAgainButtonText 31
        M_NEXT_STEP_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC pcResultPage.nextStepButtonBackgroundColor "#"
        M_TRY_AGAIN_BUTTON_BACKGROUND_COLOR_WRONG_RESULT_PAGE_PC pcResultPage.tryAgainButtonBackgroundColor "000"
        M_TITLE_TOO_LONG titleText 51
        M_LOCALE_NOT_SUPPORTED locale "fr"
        M_TIP_TEXT_TOO_LONG_CAMERA_PAGE mobileCameraPage.faceTooFarTipText 201
        M_PAGE_NAME_TOO_LONG_CAMERA_PAGE mobileCameraPage.pageName 201
        M_COLOR_WRONG_CAMERA_PAGE mobileCameraPage.keepStillTipTextColor "white"
        M_LINK_NOT_URL_CAMERA_PAGE mobileCameraPage.backgroundLink "http://x.com/bg.png"
        M_LOADING_TEXT_COLOR_WRONG_LOADING_PAGE mobileLoadingPage.loadingTextColor "#fffffff"
        M_COUNTDOWN_TEXT_TOO_LONG_RESULT_PAGE mobileResultPage.countdownText 101
        M_COUNTDOWN_TEXT_NO_SECOND_RESULT_PAGE mobileResultPage.countdownText "Next in {seconds}"
        M_COLOR_WRONG_RESULT_PAGE mobileResultPage.countdownTextColor "#00000g"
        M_LINK_NOT_URL_RESULT_PAGE mobileResultPage.backgroundLink "https:x.com"
        M_BOLD_TEXT_TOO_LONG_MULTI_DEVICE_PAGE mobileMultiDeviceProcessPage.refreshPageBoldText 51
        M_TIP_TEXT_TOO_LONG_MULTI_DEVICE_PAGE mobileMultiDeviceProcessPage.qrCodePageCameraIssueTipText 201
        M_BUTTON_TEXT_TOO_LONG_MULTI_DEVICE_PAGE mobileMultiDeviceProcessPage.qrCodePageCopyLinkBtnText 31
        M_VIDEO_UPLOADING_TEXT_TOO_LONG_MULTI_DEVICE_PAGE mobileMultiDeviceProcessPage.videoUploadingText 201
        M_COLOR_WRONG_MULTI_DEVICE_PAGE mobileMultiDeviceProcessPage.qrCodePageLivenessLinkBorderColor "#1234"
        M_LINK_NOT_URL_MULTI_DEVICE_PAGE mobileMultiDeviceProcessPage.verifyFinishedPageTopIconLink "ftp://x.com"
        M_BOLD_TEXT_TOO_LONG_TIMEOUT_PAGE mobileTimeoutPage.boldText 51
        M_TIP_TEXT_TOO_LONG_TIMEOUT_PAGE mobileTimeoutPage.tipText 201
        M_BUTTON_TEXT_TOO_LONG_TIMEOUT_PAGE mobileTimeoutPage.tryAgainButtonText 31
        M_COLOR_WRONG_TIMEOUT_PAGE mobileTimeoutPage.backgroundColor "transparent"
        M_LINK_NOT_URL_TIMEOUT_PAGE mobileTimeoutPage.iconLink "https://x.com/a b.png"
        M_BACKGROUND_NOT_COLOR_TIPS_PAGE_PC pcTipsPage.backgroundColor "#ab"
    "##;

    #[test]
    fn every_constant_is_produced_with_its_message() {
        let mut tested = Vec::new();
        for line in CASES.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let mut parts = line.splitn(3, ' ');
            let (name, path, value) = match (parts.next(), parts.next(), parts.next()) {
                (Some(name), Some(path), Some(value)) => (name, path, value),
                _ => panic!("malformed case {line}"),
            };
            let expected = *UiError::ALL
                .iter()
                .find(|e| e.constant() == name)
                .unwrap_or_else(|| panic!("unknown constant {name}"));
            let value = match value.parse::<usize>() {
                Ok(n) => chars(n),
                Err(_) => serde_json::from_str(&value.replace("LONG", &"a".repeat(201)))
                    .expect("case value is JSON"),
            };
            let error = reject(&body(path, value));
            assert_eq!(error.constant, Some(name), "{line}");
            assert_eq!(error.message, expected.message(), "{line}");
            assert!(error.field.starts_with(path), "{} for {line}", error.field);
            tested.push(expected);
        }
        for error in UiError::ALL {
            assert!(tested.contains(error), "no case for {}", error.constant());
        }
    }

    #[test]
    fn vendor_constants_match_the_seed_verbatim() {
        let seed: Vec<(&str, &str)> = SEED_ENUM
            .lines()
            .filter_map(|line| line.trim().strip_suffix("\"),")?.split_once("(\""))
            .collect();
        let ours: Vec<(&str, &str)> = UiError::ALL
            .iter()
            .filter(|e| e.is_vendor())
            .map(|e| (e.constant(), e.message()))
            .collect();
        assert_eq!(seed.len(), 44);
        assert_eq!(ours, seed);
    }

    #[test]
    fn constants_are_unique_and_documented() {
        let docs = include_str!("../../../../docs/configure-ui.md");
        for (i, error) in UiError::ALL.iter().enumerate() {
            let twin = UiError::ALL[..i]
                .iter()
                .find(|e| e.constant() == error.constant());
            assert_eq!(twin, None, "duplicate constant");
            let origin = if error.is_vendor() {
                "ADVANCE AI"
            } else {
                "OpenLiveness"
            };
            let row = format!(
                "| `{}` | {} | {origin} |",
                error.constant(),
                error.message()
            );
            assert!(
                docs.contains(&row),
                "docs/configure-ui.md lacks the row {row}"
            );
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let cases = [
            ("titleText", TITLE_MAX_CHARS),
            ("mobileTipsPage.titleDescText", TITLE_DESC_MAX_CHARS),
            ("mobileCameraPage.faceMissingTipText", TEXT_MAX_CHARS),
            (
                "mobileTimeoutPage.tryAgainButtonText",
                BUTTON_TEXT_MAX_CHARS,
            ),
            ("mobileLoadingPage.loadingText", LOADING_TEXT_MAX_CHARS),
            (
                "mobileMultiDeviceProcessPage.verifyFinishedPageBoldText",
                TITLE_MAX_CHARS,
            ),
        ];
        for (path, max) in cases {
            assert!(parse_ui_config(&body(path, chars(max))).is_ok(), "{path}");
            assert!(
                parse_ui_config(&body(path, chars(max + 1))).is_err(),
                "{path}"
            );
        }
        let countdown = format!("{{second}}{}", "a".repeat(COUNTDOWN_TEXT_MAX_CHARS - 8));
        assert!(parse_ui_config(&body("mobileResultPage.countdownText", json!(countdown))).is_ok());
    }

    #[test]
    fn lengths_count_chars_not_bytes() {
        for title in ["é".repeat(50), "😀".repeat(50), "活体检测".repeat(12)] {
            assert!(
                parse_ui_config(&json!({ "titleText": title })).is_ok(),
                "{title}"
            );
        }
        let error = reject(&json!({ "titleText": "😀".repeat(51) }));
        assert_eq!(error.constant, Some("M_TITLE_TOO_LONG"));
        assert!(
            parse_ui_config(&body("mobileTipsPage.buttonText", json!("开".repeat(30)))).is_ok()
        );
    }

    #[test]
    fn tips_up_to_four() {
        let four = json!([{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}]);
        let parsed = parse_ui_config(&body("mobileTipsPage.tips", four)).expect("four tips");
        let page = parsed.config.mobile_tips_page.expect("page");
        assert_eq!(page.tips.map(|t| t.len()), Some(4));
        let five =
            json!([{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}, {"text": "e"}]);
        let error = reject(&body("pcTipsPage.tips", five));
        assert_eq!(error.constant, Some("M_TIPS_COUNT_OVERSTEP_TIPS_PAGE_PC"));
        assert_eq!(error.field, "pcTipsPage.tips");
        let error = reject(&body(
            "mobileTipsPage.tips",
            json!([{"text": "ok"}, {"iconLink": "x"}]),
        ));
        assert_eq!(error.field, "mobileTipsPage.tips[1].iconLink");
    }

    #[test]
    fn colours() {
        for good in ["#fff", "#FFF", "#FFFFFF", "#a1B2c3", "#000"] {
            let parsed = parse_ui_config(&body("mobileLoadingPage.progressColor", json!(good)));
            assert!(parsed.is_ok(), "{good}");
        }
        let bad = [
            "#ffff",
            "fff",
            "ffffff",
            "#ggg",
            "#fffffff",
            "#ff",
            "#",
            "",
            " #fff",
            "#fff ",
            "red",
            "rgb(0,0,0)",
            "#fff;x",
            "＃fff",
        ];
        for bad in bad {
            let error = reject(&body("mobileLoadingPage.progressColor", json!(bad)));
            assert_eq!(
                error.constant,
                Some("M_PROGRESS_COLOR_WRONG_LOADING_PAGE"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn links() {
        let good = [
            "https://x.com",
            "https://cdn.example.com/a/b.png?v=1#top",
            "HTTPS://X.COM/a",
            "https://127.0.0.1:8443/i.png",
            "https://例子.测试/图.png",
        ];
        for good in good {
            let parsed = parse_ui_config(&body("mobileTimeoutPage.iconLink", json!(good)));
            assert!(parsed.is_ok(), "{good}");
        }
        let too_long = format!("https://x.com/{}", "a".repeat(LINK_MAX_CHARS - 13));
        let bad = [
            "http://x.com",
            "https://",
            "https:///",
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "/icon.png",
            "icon.png",
            "//x.com/a.png",
            "https:x.com",
            "ftp://x.com/a",
            "https://x.com/a b",
            " https://x.com",
            "https://x.com/\"onerror=1",
            "https://x.com/a')",
            "https://x.com/<b>",
            "https://x.com/\\a",
            "",
            &too_long,
        ];
        for bad in bad {
            let error = reject(&body("mobileTimeoutPage.iconLink", json!(bad)));
            assert_eq!(
                error.constant,
                Some("M_LINK_NOT_URL_TIMEOUT_PAGE"),
                "{bad:?}"
            );
        }
        let longest = format!("https://x.com/{}", "a".repeat(LINK_MAX_CHARS - 14));
        assert!(parse_ui_config(&body("mobileTimeoutPage.iconLink", json!(longest))).is_ok());
    }

    #[test]
    fn locales_are_exact() {
        for locale in SUPPORTED_LOCALES {
            assert!(
                parse_ui_config(&json!({ "locale": locale })).is_ok(),
                "{locale}"
            );
        }
        for locale in ["EN", "zh-CN", "en_US", "fr", ""] {
            let error = reject(&json!({ "locale": locale }));
            assert_eq!(error.constant, Some("M_LOCALE_NOT_SUPPORTED"), "{locale}");
        }
    }

    #[test]
    fn countdown_needs_its_placeholder() {
        let ok = body(
            "mobileResultPage.countdownText",
            json!("Next in {second} s"),
        );
        assert!(parse_ui_config(&ok).is_ok());
        let error = reject(&body(
            "mobileResultPage.countdownText",
            json!("Next in a moment"),
        ));
        assert_eq!(
            error.constant,
            Some("M_COUNTDOWN_TEXT_NO_SECOND_RESULT_PAGE")
        );
    }

    #[test]
    fn wrong_types_are_generic_parameter_errors() {
        let cases = [
            (json!({"titleText": 5}), "titleText"),
            (json!({"locale": ["en"]}), "locale"),
            (json!({"mobileCameraPage": "dark"}), "mobileCameraPage"),
            (json!({"mobileCameraPage": [{}]}), "mobileCameraPage"),
            (
                json!({"mobileResultPage": {"showScore": "true"}}),
                "mobileResultPage.showScore",
            ),
            (
                json!({"mobileResultPage": {"isShow": 1}}),
                "mobileResultPage.isShow",
            ),
            (
                json!({"mobileResultPage": {"successDesc": {"en": "ok"}}}),
                "mobileResultPage.successDesc",
            ),
            (
                json!({"mobileLoadingPage": {"progressColor": 16777215}}),
                "mobileLoadingPage.progressColor",
            ),
            (
                json!({"mobileTipsPage": {"tips": "be still"}}),
                "mobileTipsPage.tips",
            ),
            (
                json!({"mobileTipsPage": {"tips": {"text": "a"}}}),
                "mobileTipsPage.tips",
            ),
            (
                json!({"mobileTipsPage": {"tips": ["a"]}}),
                "mobileTipsPage.tips[0]",
            ),
            (
                json!({"mobileTipsPage": {"tips": [null]}}),
                "mobileTipsPage.tips[0]",
            ),
            (
                json!({"pcTipsPage": {"tips": [{"text": 1}]}}),
                "pcTipsPage.tips[0].text",
            ),
        ];
        for (body, field) in cases {
            assert_generic(&reject(&body), field);
        }
        for body in [json!(null), json!([]), json!("{}"), json!(1), json!(true)] {
            assert_generic(&reject(&body), "");
        }
    }

    #[test]
    fn blank_texts_are_generic_parameter_errors() {
        for blank in ["", " ", "\n\t", "\u{3000}"] {
            let error = reject(&body("mobileFailedDialog.buttonText", json!(blank)));
            assert_generic(&error, "mobileFailedDialog.buttonText");
        }
    }

    #[test]
    fn null_is_absent() {
        let all_null = json!({
            "titleText": null, "locale": null, "mobileCameraPage": null,
            "mobileResultPage": {"showScore": null, "successIconLink": null},
            "mobileTipsPage": {"tips": [{"iconLink": null, "text": null}]},
            "pcTipsPage": {"tips": null}
        });
        let parsed = parse_ui_config(&all_null).expect("nulls are fine");
        let expected = UiConfig {
            mobile_result_page: Some(MobileResultPage::default()),
            mobile_tips_page: Some(MobileTipsPage {
                tips: Some(vec![Tip::default()]),
                ..Default::default()
            }),
            pc_tips_page: Some(PcTipsPage::default()),
            ..Default::default()
        };
        assert_eq!(parsed.config, expected);
        assert!(parsed.ignored.is_empty());
        let empty = parse_ui_config(&json!({})).expect("empty body is a reset");
        assert_eq!(
            serde_json::to_value(empty.config).expect("serializes"),
            json!({})
        );
    }

    #[test]
    fn unknown_keys_are_ignored_and_reported() {
        let body = json!({
            "brandNewPage": {"anything": [1, 2]},
            "titleText": "Hello",
            "mobileTimeoutPage": {"boldText": "Late", "sparkles": true},
            "mobileTipsPage": {"tips": [{"text": "a"}, {"text": "b", "emoji": "✨"}]},
            "TitleText": "wrong case is unknown, not an alias"
        });
        let parsed = parse_ui_config(&body).expect("unknown keys are fine");
        assert_eq!(parsed.config.title_text.as_deref(), Some("Hello"));
        assert_eq!(
            parsed.ignored,
            [
                "TitleText",
                "brandNewPage",
                "mobileTimeoutPage.sparkles",
                "mobileTipsPage.tips[1].emoji"
            ]
        );
    }

    #[test]
    fn first_violation_in_schema_order_wins() {
        // mobileCameraPage is declared before mobileTimeoutPage, and within the result page
        // successIconLink before tryAgainButtonBackgroundColor, whatever the body's key order.
        let body = json!({
            "mobileTimeoutPage": {"backgroundColor": "blue"},
            "mobileCameraPage": {"backgroundLink": "http://x.com"},
        });
        assert_eq!(reject(&body).constant, Some("M_LINK_NOT_URL_CAMERA_PAGE"));
        let body = json!({"mobileResultPage": {
            "tryAgainButtonBackgroundColor": "blue", "successIconLink": "ftp://x"
        }});
        assert_eq!(
            reject(&body).constant,
            Some("M_SUCCESS_ICON_LINK_NOT_URL_RESULT_PAGE")
        );
        // A wrong type later in the order does not beat a rule violation earlier in it.
        let body = json!({"titleText": "a".repeat(60), "locale": 7});
        assert_eq!(reject(&body).constant, Some("M_TITLE_TOO_LONG"));
        let body = json!({"titleText": 60, "locale": "xx"});
        assert_generic(&reject(&body), "titleText");
    }

    #[test]
    fn camel_case_matches_serde() {
        assert_eq!(camel_case("title_text"), "titleText");
        assert_eq!(
            camel_case("next_step_button_invisible_before_try_count_use_up"),
            "nextStepButtonInvisibleBeforeTryCountUseUp"
        );
        assert_eq!(camel_case("locale"), "locale");
    }
}
