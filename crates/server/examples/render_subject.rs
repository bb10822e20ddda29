//! Writes the genuine test subject's poses as JPEG files, for the page's browser tests: a
//! canvas fake camera shows the pose the challenge asks for, and the server judges the
//! frames exactly as it judges the attack suite's genuine runs.
//!
//!     cargo run -p openliveness-server --example render_subject -- OUT_DIR
//!
//! The subject is scikit-image's astronaut photo (public domain, fetched with the models by
//! `bash tools/models/setup.sh`) rendered as a textured 3-D head.

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
    let mut readme = String::from(
        "Poses of the genuine test subject (astronaut photo as a textured 3-D head).\n\
         Frames should carry light camera noise so no two are byte-identical.\n\n",
    );
    for (name, how) in POSES {
        // A fixed seed: the files are the same on every run.
        let img = subject.frame(act(name), 1);
        let path = out.join(format!("{name}.jpg"));
        if let Err(e) = std::fs::write(&path, jpeg(&img)) {
            eprintln!("{}: {e}", path.display());
            std::process::exit(1);
        }
        readme.push_str(&format!("{name}.jpg: {how}\n"));
    }
    if let Err(e) = std::fs::write(out.join("README.txt"), readme) {
        eprintln!("{}: {e}", out.display());
        std::process::exit(1);
    }
    println!("wrote {} poses to {}", POSES.len(), out.display());
}
