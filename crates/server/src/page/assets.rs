//! The page's static files, embedded at build time from `web/dist` (see `build.rs`).
//!
//! What must stay true: only embedded files are ever served (no path from the request reaches
//! the file system); a name that carries a content hash
//! may be cached forever, anything else is revalidated with its strong ETag; a file stored in
//! several codings (plain, Brotli and gzip, compressed at build time) is answered in the one
//! `Accept-Encoding` prefers, each coding with its own strong ETag and `Vary: Accept-Encoding`.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

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

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

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
