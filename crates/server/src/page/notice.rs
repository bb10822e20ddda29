//! Plain server-rendered pages for links that do not open (unknown, expired, already used,
//! service busy) and the server's front page, in the page's languages, and the language
//! negotiation the session page shares.
//!
//! What must stay true: these pages carry no script, no form and no session data (so they
//! may be framed anywhere); their text is ours, never the visitor's.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use crate::api::configure_ui::SUPPORTED_LOCALES;

/// Why the visitor sees a notice instead of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Invalid,
    Expired,
    AlreadyUsed,
    Busy,
}

impl Notice {
    pub fn status(self) -> StatusCode {
        match self {
            Notice::Invalid => StatusCode::NOT_FOUND,
            Notice::Expired => StatusCode::GONE,
            Notice::AlreadyUsed => StatusCode::CONFLICT,
            Notice::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Title and explanation in `locale` (one of [`SUPPORTED_LOCALES`]; English otherwise).
    fn text(self, locale: &str) -> (&'static str, &'static str) {
        use Notice::*;
        match (locale, self) {
            ("zh", Invalid) => ("链接无效", "此验证链接无效。请返回发送此链接的应用或网站，重新开始。"),
            ("zh", Expired) => ("链接已过期", "此验证链接已过期。请返回并重新开始。"),
            ("zh", AlreadyUsed) => (
                "此链接已被使用",
                "此跨设备链接已在另一台设备或浏览器上打开。请回到最初的浏览器继续。",
            ),
            ("zh", Busy) => ("请稍后重试", "服务繁忙，请稍后刷新此页面。"),
            ("id", Invalid) => (
                "Tautan tidak valid",
                "Tautan verifikasi ini tidak valid. Silakan kembali ke aplikasi atau situs yang \
                 mengirim Anda ke sini dan mulai lagi.",
            ),
            ("id", Expired) => (
                "Tautan kedaluwarsa",
                "Tautan verifikasi ini sudah kedaluwarsa. Silakan kembali dan mulai lagi.",
            ),
            ("id", AlreadyUsed) => (
                "Tautan ini sudah digunakan",
                "Tautan lintas perangkat ini sudah dibuka di perangkat atau browser lain. \
                 Kembalilah ke browser awal untuk melanjutkan.",
            ),
            ("id", Busy) => (
                "Silakan coba lagi",
                "Layanan sedang sibuk. Muat ulang halaman ini sebentar lagi.",
            ),
            ("ar", Invalid) => (
                "الرابط غير صالح",
                "رابط التحقق هذا غير صالح. يُرجى العودة إلى التطبيق أو الموقع الذي أرسلك إلى هنا والبدء من جديد.",
            ),
            ("ar", Expired) => (
                "انتهت صلاحية الرابط",
                "انتهت صلاحية رابط التحقق هذا. يُرجى العودة والبدء من جديد.",
            ),
            ("ar", AlreadyUsed) => (
                "تم استخدام هذا الرابط بالفعل",
                "تم فتح هذا الرابط على جهاز أو متصفح آخر. يُرجى العودة إلى المتصفح الأصلي للمتابعة.",
            ),
            ("ar", Busy) => (
                "يُرجى المحاولة مرة أخرى",
                "الخدمة مشغولة. يُرجى إعادة تحميل هذه الصفحة بعد قليل.",
            ),
            (_, Invalid) => (
                "Link not valid",
                "This verification link is not valid. Please go back to the app or website \
                 that sent you here and start again.",
            ),
            (_, Expired) => (
                "Link expired",
                "This verification link has expired. Please go back and start again.",
            ),
            (_, AlreadyUsed) => (
                "This link was already used",
                "This cross-device link was already opened on another device or browser. \
                 Return to the original browser to continue.",
            ),
            (_, Busy) => (
                "Please try again",
                "The service is busy. Please reload this page in a moment.",
            ),
        }
    }

    /// The notice page in the language the visitor asked for.
    pub fn render(self, lang: Option<&str>, headers: &HeaderMap) -> Response {
        let locale = negotiate(lang, headers);
        let (title, body) = self.text(locale);
        plain_page(self.status(), locale, title, body)
    }
}

/// `GET /` — says what this server is and where its API is described.
pub async fn index() -> Response {
    plain_page(
        StatusCode::OK,
        "en",
        "OpenLiveness",
        "This is an OpenLiveness server. The API is described at /openapi.json.",
    )
}

/// The first supported language among `lang` (an explicit request) and the
/// `Accept-Language` header, in the visitor's order of preference; English otherwise.
pub fn negotiate(lang: Option<&str>, headers: &HeaderMap) -> &'static str {
    if let Some(l) = lang.and_then(supported) {
        return l;
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 512)
        .unwrap_or("");
    let mut ranked: Vec<(u16, &'static str)> = accept
        .split(',')
        .take(16)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = supported(parts.next()?.trim())?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (q > 0.0).then_some(((q.clamp(0.0, 1.0) * 1000.0) as u16, tag))
        })
        .collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.0));
    ranked.first().map(|r| r.1).unwrap_or("en")
}

/// The supported locale a language tag (`zh-CN`, `id`, `AR`) names, if any.
pub fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
    SUPPORTED_LOCALES.iter().copied().find(|l| *l == primary)
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn plain_page(status: StatusCode, locale: &str, title: &str, body: &str) -> Response {
    let dir = if locale == "ar" { "rtl" } else { "ltr" };
    let (title, body) = (escape_html(title), escape_html(body));
    let html = format!(
        "<!doctype html><html lang=\"{locale}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title}</title><style>{NOTICE_CSS}</style></head>\
         <body><main><div class=\"mark\" aria-hidden=\"true\"></div><h1>{title}</h1>\
         <p>{body}</p></main></body></html>"
    );
    let mut resp = (status, Html(html)).into_response();
    let h = resp.headers_mut();
    // Any site may frame a notice: it holds nothing to click and no session data, and an
    // integrator's iframe then shows "link expired" instead of a blocked frame.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             form-action 'none'; frame-ancestors *",
        ),
    );
    super::base_headers(h);
    super::no_store(&mut resp);
    resp
}

const NOTICE_CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
padding:1.5rem;background:#f3f5f9;color:#18202e;\
font:16px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','PingFang SC',sans-serif}\
main{max-width:28rem;width:100%;background:#fff;border-radius:16px;padding:2rem 1.75rem;\
box-shadow:0 4px 24px rgba(24,32,46,.08);text-align:center}\
.mark{width:3rem;height:3rem;margin:0 auto 1rem;border-radius:50%;\
border:3px solid #3b5bdb;position:relative}\
.mark::after{content:'';position:absolute;left:50%;top:22%;width:3px;height:34%;\
margin-left:-1.5px;background:#3b5bdb;border-radius:2px;box-shadow:0 .75rem 0 #3b5bdb}\
h1{font-size:1.35rem;margin:0 0 .5rem}\
p{margin:0;color:#4a5468}\
@media (prefers-color-scheme:dark){body{background:#10141c;color:#e8ecf3}\
main{background:#1a202b;box-shadow:none}p{color:#aab3c5}}";

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn languages() {
        assert_eq!(negotiate(None, &HeaderMap::new()), "en");
        assert_eq!(negotiate(Some("zh-CN"), &HeaderMap::new()), "zh");
        assert_eq!(negotiate(Some("fr"), &accept("id")), "id");
        assert_eq!(negotiate(None, &accept("fr-FR,ar;q=0.5,zh;q=0.8")), "zh");
        assert_eq!(negotiate(None, &accept("fr, de;q=0.9")), "en");
        assert_eq!(negotiate(None, &accept("zh;q=0, ar")), "ar");
        assert_eq!(negotiate(None, &accept("ID-id;q=abc")), "id");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
