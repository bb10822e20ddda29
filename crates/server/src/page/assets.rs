//! The page's static files, embedded at build time from `web/dist` (see `build.rs`), and the
//! browser-side face-tracking models, read from the models directory.
//!
//! What must stay true: only embedded files and allow-listed model names are ever served
//! (no path from the request reaches the file system); a name that carries a content hash
//! may be cached forever, anything else is revalidated with its strong ETag; a file stored in
//! several codings (plain, Brotli and gzip, compressed at build time) is answered in the one
//! `Accept-Encoding` prefers, each coding with its own strong ETag and `Vary: Accept-Encoding`.

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
    /// The same bytes compressed with Brotli and with gzip at build time, where it paid.
    pub br: Option<&'static [u8]>,
    pub gzip: Option<&'static [u8]>,
}

/// A content coding the page's files are stored in besides their plain bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Br,
    Gzip,
}

impl Coding {
    fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gzip",
        }
    }
}

/// Which of `offered` (in our order of preference) the request's `Accept-Encoding` takes:
/// the one with the highest q-value, `*` standing for codings it does not name, `q=0`
/// refusing. `None`: send the plain bytes.
fn accepted(req: &HeaderMap, offered: &[Coding]) -> Option<Coding> {
    let mut named: Vec<(String, f32)> = Vec::new();
    for value in req.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            named.push((name, q.clamp(0.0, 1.0)));
        }
    }
    let q_of = |name: &str| {
        named
            .iter()
            .find(|(n, _)| n == name)
            .or_else(|| named.iter().find(|(n, _)| n == "*"))
            .map_or(0.0, |(_, q)| *q)
    };
    let mut best: Option<(Coding, f32)> = None;
    for &c in offered {
        let q = q_of(c.token());
        if q > 0.0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((c, q));
        }
    }
    best.map(|(c, _)| c)
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
    let offered: Vec<Coding> = [file.br.map(|_| Coding::Br), file.gzip.map(|_| Coding::Gzip)]
        .into_iter()
        .flatten()
        .collect();
    let coding = accepted(&headers, &offered);
    let (bytes, etag) = match coding {
        Some(Coding::Br) => (file.br.unwrap_or(file.bytes), tagged(file.etag, "br")),
        Some(Coding::Gzip) => (file.gzip.unwrap_or(file.bytes), tagged(file.etag, "gz")),
        None => (file.bytes, file.etag.to_owned()),
    };
    let mut resp = respond(&headers, &etag, file.content_type, cache, Body::from(bytes));
    let h = resp.headers_mut();
    if !offered.is_empty() {
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if let Some(c) = coding {
        h.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(c.token()),
        );
    }
    resp
}

/// The strong ETag of one coding of a file: each stored form has its own.
fn tagged(etag: &str, coding: &str) -> String {
    format!("{}-{coding}\"", etag.trim_end_matches('"'))
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
        Ok(m) => {
            let gzipped = m
                .gzip
                .as_ref()
                .filter(|_| accepted(&headers, &[Coding::Gzip]).is_some());
            let (bytes, etag) = match gzipped {
                Some(gz) => (gz.clone(), tagged(&m.etag, "gz")),
                None => (m.bytes.clone(), m.etag.clone()),
            };
            let mut resp = respond(
                &headers,
                &etag,
                "application/octet-stream",
                MODEL_CACHE,
                Body::from(bytes),
            );
            let h = resp.headers_mut();
            if m.gzip.is_some() {
                h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
            }
            if gzipped.is_some() {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            resp
        }
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
    /// The same bytes gzipped, when that makes them smaller by a tenth or more.
    gzip: Option<axum::body::Bytes>,
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
    let (bytes, gzip) = tokio::task::spawn_blocking(move || {
        let gz = gzip(&bytes).filter(|gz| gz.len() * 10 <= bytes.len() * 9);
        (bytes, gz)
    })
    .await
    .map_err(std::io::Error::other)?;
    let model = Arc::new(CachedModel {
        len: bytes.len() as u64,
        modified,
        bytes: bytes.into(),
        gzip: gzip.map(Into::into),
        etag,
    });
    if let Ok(mut c) = cache.lock() {
        c.retain(|(p, _)| *p != path);
        c.push((path, model.clone()));
    }
    Ok(model)
}

/// `bytes` gzipped at the best level; `None` if the encoder fails (the plain bytes serve).
fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).ok()?;
    enc.finish().ok()
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

    fn accepting(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn the_coding_follows_accept_encoding() {
        use Coding::*;
        let both = [Br, Gzip];
        assert_eq!(accepted(&HeaderMap::new(), &both), None);
        assert_eq!(
            accepted(&accepting("gzip, deflate, br, zstd"), &both),
            Some(Br)
        );
        assert_eq!(accepted(&accepting("gzip, deflate"), &both), Some(Gzip));
        assert_eq!(accepted(&accepting("br;q=0.5, gzip"), &both), Some(Gzip));
        assert_eq!(accepted(&accepting("br;q=0, gzip;q=0"), &both), None);
        assert_eq!(accepted(&accepting("identity"), &both), None);
        assert_eq!(accepted(&accepting("*"), &both), Some(Br));
        assert_eq!(
            accepted(&accepting("*;q=0.2, gzip;q=0.8"), &both),
            Some(Gzip)
        );
        assert_eq!(accepted(&accepting("BR"), &both), Some(Br));
        assert_eq!(accepted(&accepting("br"), &[Gzip]), None);
        assert_eq!(accepted(&accepting(";;, ,q=x"), &both), None);
        assert_eq!(tagged("\"abc\"", "br"), "\"abc-br\"");
    }
}
