//! `analyze IMAGE... [--json] [--draw OUT.png] [--models DIR]`: the same
//! contract as `openliveness analyze`, for trying the engine without the CLI.
//! With several images and --draw, OUT gets `-N` before its extension.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use openliveness_vision::{
    analysis_to_json, decode_image, default_models_dir, draw_analysis, Engine,
};

fn main() -> ExitCode {
    let mut images = Vec::new();
    let mut draw: Option<PathBuf> = None;
    let mut models = default_models_dir();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => {}
            "--draw" => draw = args.next().map(PathBuf::from),
            "--models" => models = args.next().map(PathBuf::from).unwrap_or(models),
            _ => images.push(PathBuf::from(a)),
        }
    }
    if images.is_empty() {
        eprintln!("usage: analyze IMAGE... [--json] [--draw OUT.png] [--models DIR]");
        return ExitCode::from(2);
    }
    let engine = match Engine::load(&models) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut failed = false;
    for (i, path) in images.iter().enumerate() {
        match analyze_one(&engine, path, draw.as_deref(), i, images.len()) {
            Ok(v) => println!("{v}"),
            Err(e) => {
                failed = true;
                println!("{}", serde_json::json!({ "file": path, "error": e }));
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn analyze_one(
    engine: &Engine,
    path: &Path,
    draw: Option<&Path>,
    index: usize,
    count: usize,
) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let frame = decode_image(&bytes).map_err(|e| e.to_string())?;
    let analysis = engine.analyze(&frame).map_err(|e| e.to_string())?;
    if let Some(out) = draw {
        let out = if count > 1 {
            let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("draw");
            out.with_file_name(format!("{stem}-{index}.png"))
        } else {
            out.to_path_buf()
        };
        draw_analysis(&bytes, &analysis, &out).map_err(|e| e.to_string())?;
    }
    let mut v = analysis_to_json(&analysis);
    v["file"] = serde_json::json!(path);
    Ok(v)
}
