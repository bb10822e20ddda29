//! Writes the genuine test subject's poses as JPEG files, for the page's browser tests: a
//! canvas fake camera shows the pose the challenge asks for, and the server judges the
//! frames exactly as it judges the attack suite's genuine runs.
//!
//!     cargo run -p openliveness-server --example render_subject -- OUT_DIR
//!
//! The subject is scikit-image's astronaut photo (public domain, fetched with the models by
//! `bash tools/models/setup.sh`) rendered as a textured 3-D head.
//!
//! Besides the actions' poses it writes a grid of head poses for the follow part's `look`
//! steps (`look_y{YAW}_p{PITCH}.jpg`); the fake camera shows the one nearest to where a
//! person following the target would have turned, with the conventions of the server
//! tests' `respond_look`: yaw = −x·25°, pitch = +y·16°.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code)]
mod common {
    pub fn models_dir() -> std::path::PathBuf {
        std::env::var_os("OPENLIVENESS_MODELS_DIR")
            .map(Into::into)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
            })
    }
}

#[path = "../tests/support/mod.rs"]
mod support;

use support::subject::{jpeg, Act, Subject};

/// Each file, the act it shows, and how the page's fake camera should play it.
const POSES: &[(&str, &str)] = &[
    ("neutral", "rest: shown whenever no action is due"),
    (
        "blink",
        "eyes closed: show for 300 ms about 400 ms after the step appears, then neutral",
    ),
    (
        "open_mouth",
        "jaw dropped: hold for 1 s from about 350 ms after the step appears, then neutral",
    ),
    (
        "turn_left",
        "head turned 45° to the subject's left: hold 0.5 s from about 400 ms, then neutral",
    ),
    (
        "turn_right",
        "head turned 45° to the subject's right: hold 0.5 s from about 400 ms, then neutral",
    ),
    (
        "nod",
        "head pitched 18° down: hold 0.4 s from about 400 ms, then neutral",
    ),
    (
        "near",
        "1.54× closer: from about 600 ms after move_closer (or the page's near phase) to the end",
    ),
];

/// The look grid: yaw from −25° to +25°, pitch from −16° to +16° (99 images). The steps
/// match the fake camera's rounding (web/tests/browser/fake-camera.mjs).
const LOOK_YAW: (i32, i32, i32) = (-25, 25, 5);
const LOOK_PITCH: (i32, i32, i32) = (-16, 16, 4);

fn range((from, to, step): (i32, i32, i32)) -> impl Iterator<Item = i32> {
    (from..=to).step_by(step as usize)
}

fn act(name: &str) -> Act {
    let mut a = Act::REST;
    match name {
        "blink" => a.eyes_closed = true,
        "open_mouth" => a.mouth_open = true,
        "turn_left" => a.pose.yaw = 45.0,
        "turn_right" => a.pose.yaw = -45.0,
        "nod" => a.pose.pitch = -18.0,
        "near" => a.pose.distance = 0.65,
        _ => {}
    }
    a
}

fn main() {
    let Some(out) = std::env::args_os().nth(1).map(std::path::PathBuf::from) else {
        eprintln!("usage: render_subject OUT_DIR");
        std::process::exit(2);
    };
    let dir = common::models_dir();
    let engine = match openliveness_vision::Engine::load(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "vision models in {}: {e} (run bash tools/models/setup.sh)",
                dir.display()
            );
            std::process::exit(1);
        }
    };
    let photo = match image::open(dir.join("testdata/astronaut.png")) {
        Ok(i) => i.to_rgb8(),
        Err(e) => {
            eprintln!("{}: {e}", dir.join("testdata/astronaut.png").display());
            std::process::exit(1);
        }
    };
    let subject = Subject::new(&engine, photo);
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("{}: {e}", out.display());
        std::process::exit(1);
    }
    let write = |name: &str, img: &image::RgbImage| {
        let path = out.join(format!("{name}.jpg"));
        if let Err(e) = std::fs::write(&path, jpeg(img)) {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
    };
    let mut readme = String::from(
        "Poses of the genuine test subject (astronaut photo as a textured 3-D head).\n\
         Frames should carry light camera noise so no two are byte-identical.\n\n",
    );
    for (name, how) in POSES {
        // A fixed seed: the files are the same on every run.
        write(name, &subject.frame(act(name), 1));
        readme.push_str(&format!("{name}.jpg: {how}\n"));
    }
    let mut looks = 0;
    for yaw in range(LOOK_YAW) {
        for pitch in range(LOOK_PITCH) {
            let mut a = Act::REST;
            a.pose.yaw = yaw as f32;
            a.pose.pitch = pitch as f32;
            write(&format!("look_y{yaw}_p{pitch}"), &subject.frame(a, 1));
            looks += 1;
        }
    }
    readme.push_str(&format!(
        "look_y{{YAW}}_p{{PITCH}}.jpg: {looks} head poses for `look` steps, yaw {:?}..{:?} step {}°, \
         pitch {:?}..{:?} step {}° (positive yaw = the subject's left, positive pitch = up). \
         For a target (x to the user's right, y up): yaw = -x*25, pitch = +y*16, rounded to the \
         grid; turn from the previous target to this one from about 300 ms to 750 ms after \
         the step appears.\n",
        LOOK_YAW.0, LOOK_YAW.1, LOOK_YAW.2, LOOK_PITCH.0, LOOK_PITCH.1, LOOK_PITCH.2
    ));
    if let Err(e) = std::fs::write(out.join("README.txt"), readme) {
        eprintln!("{}: {e}", out.display());
        std::process::exit(1);
    }
    println!(
        "wrote {} poses and {looks} look poses to {}",
        POSES.len(),
        out.display()
    );
}
