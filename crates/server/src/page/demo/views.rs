//! The demo site's HTML. Every value from outside (URLs, ids, API answers) goes through
//! [`escape_html`]; the pages carry no inline script or style, so the site's policy can
//! forbid both.

use serde_json::Value;

use crate::page::notice::escape_html;

/// Fields of Get Result that carry base64 media, elided in the JSON shown.
const MEDIA_FIELDS: &[&str] = &["image", "imageFar", "imageNear", "video"];
/// Longer strings are elided too.
const MAX_SHOWN: usize = 160;

fn layout(title: &str, main: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <link rel=\"icon\" href=\"data:,\">\
         <title>{title} · OpenLiveness demo</title>\
         <link rel=\"stylesheet\" href=\"/demo/site.css\">\
         <script src=\"/demo/site.js\" defer></script></head><body>\
         <header class=\"bar\"><a class=\"brand\" href=\"/demo\"><span class=\"logo\" \
         aria-hidden=\"true\"></span>Acme Wallet <small>demo integrator</small></a>\
         <span class=\"tag\">powered by OpenLiveness</span></header>\
         <main>{main}</main>\
         <footer>This site plays the part of your business. Its backend calls this server's \
         API with the demo account's keys — see <a href=\"/openapi.json\">/openapi.json</a>.\
         </footer></body></html>",
        title = escape_html(title)
    )
}

pub fn home(keys: &crate::admin::KeyCredentials, base: &str) -> String {
    layout(
        "Verify it's you",
        &format!("{HOME_INTRO}{}", developer(keys, base)),
    )
}

/// The demo account's keys and where the API is described: what a developer trying the
/// service needs next (demo mode only: these keys are the local sandbox's).
fn developer(keys: &crate::admin::KeyCredentials, base: &str) -> String {
    let e = escape_html;
    format!(
        "<section class=\"steps dev\"><h2>Try the API yourself</h2>\
         <p>This server runs in demo mode with a sandbox account. Its keys (also in \
         <code>data/demo-credentials.json</code>):</p>\
         <dl class=\"keys\"><dt>accessKey</dt><dd><code>{ak}</code></dd>\
         <dt>secretKey</dt><dd><code>{sk}</code></dd>\
         <dt>partner_code (second API)</dt><dd><code>{pc}</code></dd>\
         <dt>partner_key (second API)</dt><dd><code>{pk}</code></dd></dl>\
         <p>Sign <code>generate-token</code> with <code>sha256(accessKey + secretKey + \
         timestamp)</code>:</p>\
         <pre>TS=$(date +%s%3N)\nSIG=$(printf '%s' \"{ak}{sk}$TS\" | sha256sum | cut -d' ' -f1)\n\
         curl -s -X POST {base}/openapi/auth/ticket/v1/generate-token \\\n  \
         -H 'Content-Type: application/json' \\\n  \
         -d \"{{\\\"accessKey\\\":\\\"{ak}\\\",\\\"timestamp\\\":\\\"$TS\\\",\\\"signature\\\":\\\"$SIG\\\"}}\"</pre>\
         <p>The whole API: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3). The guides \
         come with the source: <code>docs/api.md</code> (both APIs, every code), \
         <code>docs/integration.md</code>, <code>docs/webhooks.md</code>, \
         <code>docs/liveness.md</code> (what is checked and why).</p>\
         <p class=\"hint\">Demo mode only: a production server never shows keys.</p></section>",
        ak = e(&keys.access_key),
        sk = e(&keys.secret_key),
        pc = e(&keys.partner_code),
        pk = e(&keys.partner_key),
        base = e(base),
    )
}

/// What the demo is and its two flows.
const HOME_INTRO: &str = "<section class=\"hero\">\
         <h1>Verify it’s really you</h1>\
         <p class=\"lead\">OpenLiveness checks that a real person is in front of the camera: \
         a few random actions — blink, open your mouth, turn your head, come closer — \
         judged by the server from the frames it receives.</p>\
         <p class=\"lead\">It runs on your own servers: faces and videos never leave your \
         infrastructure, and it speaks the API your integration already uses.</p>\
         <div class=\"actions\">\
         <form method=\"post\" action=\"/demo/start\"><input type=\"hidden\" name=\"flow\" \
         value=\"redirect\"><button class=\"primary\" type=\"submit\">Start (redirect flow)\
         </button></form>\
         <form method=\"post\" action=\"/demo/start\"><input type=\"hidden\" name=\"flow\" \
         value=\"iframe\"><button class=\"secondary\" type=\"submit\">Start (iframe flow)\
         </button></form></div></section>\
         <section class=\"steps\"><h2>What happens</h2><ol>\
         <li><strong>Your backend</strong> signs <code>generate-token</code> and calls \
         <code>Get Token</code> with a <code>returnUrl</code>; it gets a session URL.</li>\
         <li><strong>The user</strong> completes the check on that page — in this tab \
         (redirect flow) or inside this site (iframe flow, the page reports back with \
         <code>postMessage</code>).</li>\
         <li><strong>Your backend</strong> calls <code>Get Result</code>: score, selfie, \
         far and near photos.</li></ol>\
         <p class=\"hint\">No camera here? The session page offers a link and QR code to \
         finish on a phone.</p></section>";

pub fn iframe(session_url: &str, page_origin: &str, signature_id: &str) -> String {
    layout(
        "Verification",
        &format!(
            "<section class=\"framed\"><h1>Verify it’s really you</h1>\
             <p class=\"lead\">The check runs inside this page. When it ends, the session page \
             sends <code>successNext</code> or <code>failedNext</code> to this window, and we \
             fetch the result.</p>\
             <div class=\"frame-box\"><iframe id=\"ol-frame\" title=\"Liveness check\" \
             src=\"{src}\" allow=\"camera; microphone; autoplay\" \
             data-origin=\"{origin}\" data-signature-id=\"{sid}\"></iframe></div>\
             <p class=\"status\" id=\"ol-status\" role=\"status\">Waiting for the check to \
             finish…</p>\
             <p class=\"hint\"><a href=\"/demo/done?signatureId={sid}\">Check the result \
             now</a> · <a href=\"/demo\">Start over</a></p></section>",
            src = escape_html(session_url),
            origin = escape_html(page_origin),
            sid = escape_html(signature_id),
        ),
    )
}

pub fn problem(title: &str, detail: &str) -> String {
    layout(
        title,
        &format!(
            "<section class=\"card\"><h1>{}</h1><p>{}</p>\
             <p><a class=\"button\" href=\"/demo\">Back to the demo</a></p></section>",
            escape_html(title),
            escape_html(detail)
        ),
    )
}

pub fn result(signature_id: &str, answer: &Value) -> String {
    let code = answer["code"].as_str().unwrap_or("?");
    let data = &answer["data"];
    let decision = &data["decision"];
    let summary = match code {
        "SUCCESS" => {
            let score = data["score"].as_f64();
            // The account's own threshold, as the verdict used it (50 is the vendor's rule of
            // thumb, for answers that do not say).
            let threshold = decision["threshold"].as_f64().unwrap_or(50.0);
            let verdict = match score {
                Some(s) if s >= threshold => "<span class=\"pill ok\">Likely a live person</span>",
                Some(_) => "<span class=\"pill bad\">Likely an attack</span>",
                None => "<span class=\"pill warn\">No score: face quality</span>",
            };
            format!(
                "<p class=\"score\"><span>Score <strong>{}</strong> / 100</span> {verdict} \
                 <span class=\"hint\">this account passes from {threshold}</span></p>{}{}",
                score.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
                attack_words(data["attackType"].as_i64()),
                signals_list(decision),
            )
        }
        "LIVENESS_NO_RESULT" => "<p class=\"score\"><span class=\"pill warn\">No result yet\
             </span> The user has not finished the check. <a href=\"\">Reload</a></p>"
            .to_owned(),
        "NOT_COMPLETED" => format!(
            "<p class=\"score\"><span class=\"pill bad\">Not completed</span> {}</p>",
            escape_html(ending_words(
                data.pointer("/ending/reason").and_then(Value::as_str)
            ))
        ),
        other => format!(
            "<p class=\"score\"><span class=\"pill bad\">{}</span> {}</p>{}",
            escape_html(other),
            escape_html(answer["message"].as_str().unwrap_or("")),
            signals_list(decision),
        ),
    };
    let selfie = data["image"]
        .as_str()
        .filter(|b| is_base64(b))
        .map(|b| {
            format!(
                "<figure><img class=\"selfie\" alt=\"The selfie returned by Get Result\" \
                 src=\"data:image/jpeg;base64,{b}\"><figcaption><code>image</code></figcaption>\
                 </figure>"
            )
        })
        .unwrap_or_default();
    let shown = serde_json::to_string_pretty(&elide(answer.clone())).unwrap_or_default();
    layout(
        "Result",
        &format!(
            "<section class=\"card\"><h1>Result of session <code>{sid}</code></h1>{summary}\
             <div class=\"result\">{selfie}<div class=\"json\"><h2>Get Result answer</h2>\
             <pre>{json}</pre></div></div>\
             <p><a class=\"button\" href=\"/demo\">Start again</a></p></section>",
            sid = escape_html(signature_id),
            json = escape_html(&shown),
        ),
    )
}

/// `attackType` in words, for a rejected try.
fn attack_words(attack_type: Option<i64>) -> String {
    let words = match attack_type {
        Some(1) => "Presentation attack: a photo, a screen or a mask was shown to the camera.",
        Some(2) => {
            "Injection: the frames did not come from a live camera (replayed, edited or \
                    generated)."
        }
        Some(3) => "Unsure: the answers to the challenge did not match a live person.",
        _ => return String::new(),
    };
    format!(
        "<p class=\"why\"><strong>attackType {}</strong> — {words}</p>",
        attack_type.unwrap_or_default()
    )
}

/// Why a session ended without a verdict, in words (`data.ending.reason`).
fn ending_words(reason: Option<&str>) -> &'static str {
    match reason {
        Some("ABANDONED") => "The page was closed or lost its connection during the last try.",
        Some("TIMED_OUT") => "The last try ran past its time limit.",
        Some("PROTOCOL_VIOLATION") => "The client broke the live protocol during the last try.",
        Some("EXPIRED") => "The link expired before the check was completed.",
        _ => "The session ended without a verdict.",
    }
}

/// The signals that cost points or decided the verdict, with the server's explanations.
fn signals_list(decision: &Value) -> String {
    let Some(signals) = decision["signals"].as_array() else {
        return String::new();
    };
    let items: String = signals
        .iter()
        .filter(|s| {
            s["deduction"].as_u64().unwrap_or(0) > 0
                || matches!(s["outcome"].as_str(), Some("ATTACK" | "QUALITY"))
        })
        .map(|s| {
            format!(
                "<li><code>{}</code> {} <span class=\"hint\">{}</span></li>",
                escape_html(s["name"].as_str().unwrap_or("?")),
                escape_html(s["explanation"].as_str().unwrap_or("")),
                match (s["outcome"].as_str(), s["deduction"].as_u64()) {
                    (Some("ATTACK"), _) => "attack".to_owned(),
                    (Some("QUALITY"), _) => "face quality".to_owned(),
                    (_, Some(d)) => format!("−{d}"),
                    _ => String::new(),
                }
            )
        })
        .collect();
    if items.is_empty() {
        return "<p class=\"why\">No signal cost any points.</p>".to_owned();
    }
    format!("<div class=\"why\"><h2>Why</h2><ul>{items}</ul></div>")
}

/// The answer with media and other long strings replaced by a note of their length.
pub fn elide(mut v: Value) -> Value {
    fn walk(v: &mut Value, key: Option<&str>) {
        match v {
            Value::String(s) => {
                let media = key.is_some_and(|k| MEDIA_FIELDS.contains(&k));
                if media || s.len() > MAX_SHOWN {
                    *s = format!("<{} characters elided>", s.len());
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, None)),
            Value::Object(map) => map.iter_mut().for_each(|(k, i)| walk(i, Some(k))),
            _ => {}
        }
    }
    walk(&mut v, None);
    v
}

fn is_base64(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 16 * 1024 * 1024
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_is_elided_and_everything_escaped() {
        let answer = json!({"code": "SUCCESS", "data": {
            "image": "QUJD", "score": 91, "auditImageUrl": "x".repeat(200),
            "note": "<script>"
        }});
        let e = elide(answer.clone());
        assert_eq!(e["data"]["image"], "<4 characters elided>");
        assert_eq!(e["data"]["auditImageUrl"], "<200 characters elided>");
        assert_eq!(e["data"]["score"], 91);
        let html = result("abc", &answer);
        assert!(html.contains("data:image/jpeg;base64,QUJD"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
        assert!(html.contains("Likely a live person"));
        // The account's threshold decides the words, and the signals say why.
        let strict = json!({"code": "SUCCESS", "data": {"score": 70, "attackType": null,
        "decision": {"threshold": 80, "signals": [
            {"name": "follow.match", "outcome": "DEDUCTED", "deduction": 30,
             "explanation": "the head <followed> loosely"},
            {"name": "pad.replay", "outcome": "OK", "deduction": 0, "explanation": "fine"}
        ]}}});
        let html = result("abc", &strict);
        assert!(html.contains("Likely an attack"), "{html}");
        assert!(html.contains("passes from 80"));
        assert!(html.contains("follow.match") && html.contains("−30"));
        let why = &html[html.find("<h2>Why</h2>").unwrap()..];
        let why = &why[..why.find("</ul>").unwrap()];
        assert!(
            why.contains("&lt;followed&gt;") && !why.contains("pad.replay"),
            "{why}"
        );
        let attack = json!({"code": "SUCCESS", "data": {"score": 0, "attackType": 2}});
        assert!(result("abc", &attack).contains("Injection"));
        let ended = json!({"code": "NOT_COMPLETED", "data": {"ending": {"reason": "EXPIRED"}}});
        assert!(result("abc", &ended).contains("The link expired"));
        let bad = result("abc", &json!({"data": {"image": "\"><script>"}}));
        assert!(!bad.contains("data:image/jpeg"));
    }
}
