//! The page's static files, embedded at build time from `web/dist` (see `build.rs`), and the
//! browser-side face-tracking models, read from the models directory.
//!
//! What must stay true: only embedded files and allow-listed model names are ever served
//! (no path from the request reaches the file system); a name that carries a content hash
//! may be cached forever, anything else is revalidated with its strong ETag.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;

/// One file of the built page.
pub struct EmbeddedFile {
    /// Path under `web/dist`, `/`-separated (`assets/index-3f9a1c2b.js`).
    pub path: &'static str,
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Quoted, from the file's SHA-256.
    pub etag: &'static str,
    /// The name carries a content hash: the bytes never change under it.
    pub immutable: bool,
}

mod generated {
    use super::EmbeddedFile;
    include!(concat!(env!("OUT_DIR"), "/page_assets.rs"));
}

pub use generated::{BUILT, INDEX_HTML};

/// Model files the page may download from `/h5/models/<name>`. Edit this list when the page
/// needs another model; the files come from `bash tools/models/setup.sh`.
pub const BROWSER_MODELS: &[&str] = &["face_detector.onnx"];

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";
/// Model names carry no content hash, and the page must never pair with a stale model after
/// an upgrade: browsers keep it but revalidate (a `304` when unchanged).
const MODEL_CACHE: &str = "public, no-cache";

/// The embedded file at `path`, if any.
pub fn embedded(path: &str) -> Option<&'static EmbeddedFile> {
    generated::FILES
        .binary_search_by(|f| f.path.cmp(path))
        .ok()
        .and_then(|i| generated::FILES.get(i))
}

/// `GET /h5/{*path}` — a file of the built page.
pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(file) = embedded(&path) else {
        return ApiError::Client(StatusCode::NOT_FOUND).into_response();
    };
    let cache = if file.immutable {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    respond(
        &headers,
        file.etag,
        file.content_type,
        cache,
        Body::from(file.bytes),
    )
}

/// `GET /h5/models/{name}` — an allow-listed model file from the models directory.
pub async fn model(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(name) = BROWSER_MODELS.iter().find(|m| **m == name) else {
        return ApiError::Client(StatusCode::NOT_FOUND).into_response();
    };
    let path = super::models_dir(&state).join(name);
    match load_model(path).await {
        Ok(m) => respond(
            &headers,
            &m.etag,
            "application/octet-stream",
            MODEL_CACHE,
            Body::from(m.bytes.clone()),
        ),
        Err(e) => {
            tracing::warn!(model = %name, error = %e, "browser model not available");
            ApiError::Client(StatusCode::NOT_FOUND).into_response()
        }
    }
}

/// A model file read once and kept while its size and modification time stay the same.
struct CachedModel {
    len: u64,
    modified: Option<SystemTime>,
    bytes: axum::body::Bytes,
    etag: String,
}

/// Models read so far, by path (a handful at most).
type ModelCache = Mutex<Vec<(PathBuf, Arc<CachedModel>)>>;

async fn load_model(path: PathBuf) -> std::io::Result<Arc<CachedModel>> {
    static CACHE: OnceLock<ModelCache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let meta = tokio::fs::metadata(&path).await?;
    let (len, modified) = (meta.len(), meta.modified().ok());
    let hit = cache.lock().ok().and_then(|c| {
        c.iter()
            .find(|(p, m)| *p == path && m.len == len && m.modified == modified)
            .map(|(_, m)| m.clone())
    });
    if let Some(m) = hit {
        return Ok(m);
    }
    let bytes = tokio::fs::read(&path).await?;
    let etag = format!("\"{}\"", &crate::state::sha256_hex(&bytes)[..32]);
    let model = Arc::new(CachedModel {
        len: bytes.len() as u64,
        modified,
        bytes: bytes.into(),
        etag,
    });
    if let Ok(mut c) = cache.lock() {
        c.retain(|(p, _)| *p != path);
        c.push((path, model.clone()));
    }
    Ok(model)
}

/// A static answer: `304` when the browser's copy is current, else the bytes.
fn respond(
    req: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    cache: &'static str,
    body: Body,
) -> Response {
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = body.into_response();
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        r
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    super::base_headers(h);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_well_formed() {
        for pair in generated::FILES.windows(2) {
            assert!(pair[0].path < pair[1].path);
        }
        for f in generated::FILES {
            assert_eq!(embedded(f.path).map(|e| e.path), Some(f.path));
            assert!(f.etag.starts_with('"') && f.etag.ends_with('"'));
            assert!(f.path != "index.html");
        }
        assert!(embedded("../Cargo.toml").is_none());
        assert!(INDEX_HTML.contains("</head>"));
    }
}
