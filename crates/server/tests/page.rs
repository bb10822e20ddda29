//! The session page and what surrounds it, over real HTTP against the real application: the
//! boot data and headers, refused links, embedded assets and browser models, iframe
//! framing, the cross-device link (both backends) and the demo integrator site.

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use openliveness_server::state::sha256_hex;
use openliveness_store::{Facade, NewAccount, NewSession, Outcome, SessionResult, SessionStatus};
use serde_json::{json, Value};

const BOOT_OPEN: &str = r#"<script type="application/json" id="ol-boot">"#;

/// The boot data injected into a session page.
fn boot_of(html: &str) -> Value {
    let start = html.find(BOOT_OPEN).expect("boot element present") + BOOT_OPEN.len();
    let end = start
        + html[start..]
            .find("</script>")
            .expect("boot element closed");
    serde_json::from_str(&html[start..end]).expect("boot data is JSON")
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .unwrap_or_else(|| panic!("header {name} missing"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The capability in a session URL.
fn capability(url: &str) -> String {
    let u = url::Url::parse(url).unwrap();
    let cap = u.query_pairs().find(|(k, _)| k == "token").unwrap().1;
    cap.into_owned()
}

async fn get(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.expect("request sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_page_carries_boot_data_and_a_strict_policy() {
    let app = spawn(Backend::Sqlite).await;
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (sid, url) = app.session(&t).await;
    let cap = capability(&url);

    let resp = get(&app, &url).await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/html"));
    let csp = header(&resp, "content-security-policy");
    let host = app.base.trim_start_matches("http://");
    for part in [
        "default-src 'self'",
        "img-src 'self' data: blob: https:",
        "media-src 'self' blob:",
        &format!("connect-src 'self' ws://{host};"),
        "script-src 'self';",
        "style-src 'self' 'unsafe-inline'",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{part} not in {csp}");
    }
    // The page compiles no WebAssembly.
    for part in ["wasm-unsafe-eval", "unsafe-eval"] {
        assert!(!csp.contains(part), "{part} in {csp}");
    }
    assert_eq!(header(&resp, "permissions-policy"), "camera=(self)");
    assert_eq!(header(&resp, "cache-control"), "no-store");
    assert_eq!(header(&resp, "referrer-policy"), "no-referrer");
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    let html = resp.text().await.unwrap();
    let boot = boot_of(&html);
    let session = app.store.session(&sid).await.unwrap().unwrap();
    let q = format!("signatureId={sid}&token={cap}");
    assert_eq!(boot["signatureId"], sid.as_str());
    assert_eq!(boot["token"], cap.as_str());
    assert_eq!(boot["wsUrl"], format!("/h5/liveness/ws?{q}"));
    assert_eq!(boot["statusUrl"], format!("/h5/liveness/status?{q}"));
    assert_eq!(
        boot["crossDeviceUrl"],
        format!("/h5/liveness/cross-device?{q}")
    );
    assert_eq!(boot["locale"], "en");
    assert_eq!(boot["audio"], false);
    assert_eq!(boot["iframe"], false);
    assert_eq!(boot["tryCount"], session.new.try_count);
    assert_eq!(boot["triesUsed"], 0);
    assert_eq!(boot["status"], "created");
    assert_eq!(boot["expiresAt"], session.new.expires_at);
    let skew = boot["serverTime"].as_i64().unwrap() - now_ms();
    assert!(skew.abs() < 10_000, "serverTime off by {skew} ms");
    assert_eq!(boot["ui"], Value::Null);
    assert_eq!(boot["secondary"], false);
    assert_eq!(boot["crossDeviceAllowed"], true);
    assert_eq!(boot["secondaryClaimed"], false);
    assert_eq!(boot["parentOrigin"], Value::Null);

    // The visitor's language applies when neither the token request nor ConfigureUI set one.
    let zh = app
        .client
        .get(&url)
        .header("accept-language", "fr-FR, zh-CN;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(boot_of(&zh.text().await.unwrap())["locale"], "zh");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_data_cannot_break_out_of_its_element() {
    let app = spawn(Backend::Sqlite).await;
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let title = "</script><script>alert(1)</script>";
    app.post(
        "/openapi/liveness/v1/h5/configureUI",
        Some(&t),
        json!({"titleText": title, "locale": "id"}),
    )
    .await
    .expect("SUCCESS", "OK");
    let (_, url) = app.session(&t).await;
    let html = get(&app, &url).await.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"), "boot data escaped");
    let start = html.find(BOOT_OPEN).unwrap() + BOOT_OPEN.len();
    let raw = &html[start..start + html[start..].find("</script>").unwrap()];
    assert!(!raw.contains(['<', '>', '&']), "{raw}");
    let boot = boot_of(&html);
    assert_eq!(boot["ui"]["titleText"], title);
    // ConfigureUI's locale is the page's when the token request named none.
    assert_eq!(boot["locale"], "id");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_links_get_plain_localized_pages() {
    let app = spawn(Backend::Sqlite).await;
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (sid, url) = app.session(&t).await;
    let cap = capability(&url);
    let wrong = format!(
        "{}{}",
        &cap[..63],
        if cap.ends_with('0') { '1' } else { '0' }
    );
    let base = format!("{}/h5/liveness", app.base);
    for query in [
        format!("signatureId={sid}&token={wrong}"),
        format!("signatureId={sid}&token={}", &cap[..40]),
        format!("signatureId={sid}&token={}", cap.to_uppercase()),
        format!("signatureId={sid}"),
        format!("signatureId=ffffffffffffffff&token={cap}"),
        format!("signatureId={sid}&signatureId={sid}&token={cap}"),
        format!("signatureId=%3Cscript%3E&token={cap}"),
        String::new(),
    ] {
        let resp = get(&app, &format!("{base}?{query}")).await;
        assert_eq!(resp.status(), 404, "{query}");
        assert_eq!(header(&resp, "cache-control"), "no-store");
        let csp = header(&resp, "content-security-policy");
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        let html = resp.text().await.unwrap();
        assert!(html.contains("Link not valid"), "{html}");
        assert!(!html.contains("ol-boot"));
    }
    let zh = get(
        &app,
        &format!("{base}?signatureId={sid}&token={wrong}&lang=zh"),
    )
    .await;
    assert!(zh.text().await.unwrap().contains("链接无效"));
    let ar = app
        .client
        .get(format!("{base}?signatureId={sid}&token={wrong}"))
        .header("accept-language", "ar-EG,en;q=0.5")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ar.contains("dir=\"rtl\"") && ar.contains("الرابط غير صالح"));

    // An expired URL: 410, in the language asked for.
    let account = app.store.account_by_name("acme").await.unwrap().unwrap();
    let old_cap = "ab".repeat(32);
    let now = now_ms();
    app.store
        .create_session(
            NewSession {
                signature_id: "0123456789abcdef".into(),
                account_id: account.id,
                access_key: creds.access_key.clone(),
                facade: Facade::Advance,
                capability_hash: sha256_hex(old_cap.as_bytes()),
                td_token: None,
                region: "IDN".into(),
                user_id: None,
                return_url: "https://www.example.com/done".into(),
                failed_return_url: None,
                try_count: 1,
                product_level: "STANDARD".into(),
                locale: None,
                audio: false,
                iframe: false,
                ui_config: None,
                created_at: now - 7_200_000,
                expires_at: now - 3_600_000,
            },
            None,
        )
        .await
        .unwrap();
    let expired = format!("{base}?signatureId=0123456789abcdef&token={old_cap}&lang=id");
    let resp = get(&app, &expired).await;
    assert_eq!(resp.status(), 410);
    assert!(resp.text().await.unwrap().contains("Tautan kedaluwarsa"));
    let status = get(
        &app,
        &format!(
            "{}/h5/liveness/status?signatureId=0123456789abcdef&token={old_cap}",
            app.base
        ),
    )
    .await;
    assert_eq!(status.status(), 410);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_assets_are_served_and_nothing_else() {
    let app = spawn(Backend::Sqlite).await;
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (_, url) = app.session(&t).await;
    let html = get(&app, &url).await.text().await.unwrap();
    // Every asset the page references is served, with its type and cache policy.
    let refs: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/h5/assets/"))
        .collect();
    if refs.is_empty() {
        assert!(
            html.contains("bash web/build.sh"),
            "a built page references its assets"
        );
    }
    for path in refs {
        let resp = get(&app, &format!("{}{path}", app.base)).await;
        assert_eq!(resp.status(), 200, "{path}");
        let ty = header(&resp, "content-type");
        let want = match path.rsplit('.').next().unwrap() {
            "js" | "mjs" => "text/javascript",
            "css" => "text/css",
            "wasm" => "application/wasm",
            "svg" => "image/svg+xml",
            "png" => "image/png",
            _ => "",
        };
        assert!(ty.starts_with(want), "{path}: {ty}");
        assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
        assert_eq!(
            header(&resp, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        let etag = header(&resp, "etag");
        let again = app
            .client
            .get(format!("{}{path}", app.base))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    for missing in [
        "/h5/assets/nope-12345678.js",
        "/h5/index.html",
        "/h5/..%2FCargo.toml",
    ] {
        let resp = get(&app, &format!("{}{missing}", app.base)).await;
        assert_eq!(resp.status(), 404, "{missing}");
    }

    // The page runs no model: the server guides from its own measurements.
    for name in ["face_detector.onnx", "MANIFEST", "..%2Fmaster.key"] {
        let resp = get(&app, &format!("{}/h5/models/{name}", app.base)).await;
        assert_eq!(resp.status(), 404, "{name}");
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iframe_mode_is_framed_only_by_allowed_domains() {
    let app = spawn(Backend::Sqlite).await;
    let creds = app
        .create_account(NewAccount {
            allowed_domains: vec!["example.com".into()],
            ..account("acme")
        })
        .await;
    let t = app.token(&creds).await;
    let r = app
        .get_token(
            &t,
            json!({"returnUrl": "https://shop.example.com:8443/ok?isLivenessIframe=true",
                   "failedReturnUrl": "https://example.com/fail?isLivenessIframe=true",
                   "region": "IDN"}),
        )
        .await;
    r.expect("SUCCESS", "OK");
    let resp = get(&app, r.body["data"]["url"].as_str().unwrap()).await;
    assert_eq!(resp.status(), 200);
    let csp = header(&resp, "content-security-policy");
    assert!(
        csp.ends_with("frame-ancestors https://example.com https://*.example.com"),
        "{csp}"
    );
    let boot = boot_of(&resp.text().await.unwrap());
    assert_eq!(boot["iframe"], true);
    assert_eq!(boot["parentOrigin"], "https://shop.example.com:8443");

    // Without a domain list any site may frame an iframe-mode session.
    let open = app.create_account(account("open")).await;
    let t = app.token(&open).await;
    let r = app
        .get_token(
            &t,
            json!({"returnUrl": "https://a.example.org/?isLivenessIframe=true", "region": "IDN"}),
        )
        .await;
    let resp = get(&app, r.body["data"]["url"].as_str().unwrap()).await;
    assert!(header(&resp, "content-security-policy").ends_with("frame-ancestors *"));
    assert_eq!(
        boot_of(&resp.text().await.unwrap())["parentOrigin"],
        "https://a.example.org"
    );
    app.cleanup().await;
}

/// Records a verdict for `sid` with stored images, as the liveness core does.
async fn finish(app: &TestApp, sid: &str, passed: bool) {
    let far = app.blobs.put(b"\xff\xd8\xff far".to_vec()).await.unwrap();
    let near = app.blobs.put(b"\xff\xd8\xff near".to_vec()).await.unwrap();
    app.store
        .finish_session(
            sid,
            None,
            if passed {
                SessionStatus::Passed
            } else {
                SessionStatus::Failed
            },
            SessionResult {
                outcome: Outcome::Judged,
                score: Some(if passed { 96 } else { 12 }),
                signals: Some("[]".into()),
                image_far_blob: Some(far),
                image_near_blob: Some(near),
                far_image_time: Some(now_ms() - 2000),
                near_image_time: Some(now_ms() - 1000),
                ..SessionResult::of(Outcome::Judged)
            },
            now_ms(),
        )
        .await
        .unwrap();
}

async fn cross_device(app: &TestApp) {
    let creds = app.create_account(account("acme")).await;
    let t = app.token(&creds).await;
    let (sid, url) = app.session(&t).await;
    let cap = capability(&url);
    let q = format!("signatureId={sid}&token={cap}");
    let status_url = format!("{}/h5/liveness/status?{q}", app.base);
    let issue_url = format!("{}/h5/liveness/cross-device?{q}", app.base);

    let status: Value = get(app, &status_url).await.json().await.unwrap();
    assert_eq!(
        status,
        json!({"status": "created", "finished": false, "passed": false, "secondaryClaimed": false})
    );

    // The first device asks for the link; only its hash is stored.
    let resp = app.client.post(&issue_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let issued: Value = resp.json().await.unwrap();
    let second_url = issued["url"].as_str().unwrap().to_owned();
    assert!(second_url.starts_with(&format!("{}/h5/liveness?", app.base)));
    assert!(second_url.ends_with("&device=secondary"), "{second_url}");
    let second_cap = capability(&second_url);
    assert_ne!(second_cap, cap);
    let session = app.store.session(&sid).await.unwrap().unwrap();
    assert_eq!(issued["expiresAt"], session.new.expires_at);
    let link = session.secondary.expect("link stored");
    assert_eq!(link.capability_hash, sha256_hex(second_cap.as_bytes()));
    assert!(link.claimed_at.is_none());

    // Asking again replaces the unclaimed link: the first one no longer opens anything.
    let again: Value = app
        .client
        .post(&issue_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(get(app, &second_url).await.status(), 404);
    let second_url = again["url"].as_str().unwrap().to_owned();
    let second_cap = capability(&second_url);
    let second_q = format!("signatureId={sid}&token={second_cap}");

    // The live channel refuses the second capability until a page load claims the link.
    let ws_base = app.base.replace("http://", "ws://");
    let ws = format!("{ws_base}/h5/liveness/ws?{second_q}");
    assert!(tokio_tungstenite::connect_async(&ws).await.is_err());

    // The second device claims it.
    let resp = get(app, &second_url).await;
    assert_eq!(resp.status(), 200);
    let cookie = header(&resp, "set-cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/h5/liveness"));
    let boot = boot_of(&resp.text().await.unwrap());
    assert_eq!(boot["secondary"], true);
    assert_eq!(boot["token"], second_cap.as_str());
    assert_eq!(boot["crossDeviceAllowed"], false);
    assert_eq!(boot["crossDeviceUrl"], Value::Null);
    assert_eq!(boot["wsUrl"], format!("/h5/liveness/ws?{second_q}"));
    let claimed = app.store.session(&sid).await.unwrap().unwrap().secondary;
    assert!(claimed.unwrap().claimed_at.is_some());
    // The live channel opens for the browser that claimed the link, and for nobody else
    // who saw it.
    let cookie_pair = cookie.split(';').next().unwrap().to_owned();
    assert!(
        tokio_tungstenite::connect_async(&ws).await.is_err(),
        "a browser without the claim cookie is refused"
    );
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws.as_str())
            .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie_pair.parse().unwrap());
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("claimed link opens the live channel for the claiming browser");
    drop(socket);

    // The same browser may reload; any other browser is told the link was used.
    let reload = app
        .client
        .get(&second_url)
        .header("cookie", &cookie_pair)
        .send()
        .await
        .unwrap();
    assert_eq!(reload.status(), 200);
    assert_eq!(boot_of(&reload.text().await.unwrap())["secondary"], true);
    let other = get(app, &second_url).await;
    assert_eq!(other.status(), 409);
    assert!(other
        .text()
        .await
        .unwrap()
        .contains("This link was already used"));
    let forged = app
        .client
        .get(&second_url)
        .header("cookie", format!("ol_sd_{sid}=00ff"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 409);

    // No new link once claimed, and none from the second device.
    let refused = app.client.post(&issue_url).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "CLIENT_ERROR");
    assert!(body["message"].as_str().unwrap().contains("already"));
    let from_second = app
        .client
        .post(format!("{}/h5/liveness/cross-device?{second_q}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(from_second.status(), 409);

    // The first page sees the claim, then the verdict and where to go.
    let status: Value = get(app, &status_url).await.json().await.unwrap();
    assert_eq!(status["secondaryClaimed"], true);
    assert_eq!(status["finished"], false);
    let first = boot_of(&get(app, &url).await.text().await.unwrap());
    assert_eq!(first["secondaryClaimed"], true);
    assert_eq!(first["crossDeviceAllowed"], false);
    finish(app, &sid, true).await;
    let status: Value = get(app, &format!("{}/h5/liveness/status?{second_q}", app.base))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["finished"], true);
    assert_eq!(status["passed"], true);
    assert_eq!(status["status"], "passed");
    assert_eq!(
        status["redirectUrl"],
        format!("https://www.example.com/done?signatureId={sid}")
    );
    let wrong = get(
        app,
        &format!(
            "{}/h5/liveness/status?signatureId={sid}&token={}",
            app.base,
            "0".repeat(64)
        ),
    )
    .await;
    assert_eq!(wrong.status(), 404);

    // A finished session offers no new link.
    let (sid2, url2) = app.session(&t).await;
    finish(app, &sid2, true).await;
    let q2 = format!("signatureId={sid2}&token={}", capability(&url2));
    let done = app
        .client
        .post(format!("{}/h5/liveness/cross-device?{q2}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 409);
}
both_backends!(cross_device_case, cross_device);

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Undoes the HTML escaping of an attribute value.
fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"")
}

fn attribute<'a>(html: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = html
        .find(&key)
        .unwrap_or_else(|| panic!("{name} in {html}"))
        + key.len();
    &html[start..start + html[start..].find('"').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_site_runs_both_flows_through_the_api() {
    let app = spawn_with(Backend::Sqlite, |c| c.demo = true).await;
    let client = no_redirects();

    let home = get(&app, &format!("{}/demo", app.base)).await;
    assert_eq!(home.status(), 200);
    let csp = header(&home, "content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-src 'self'"),
        "{csp}"
    );
    let html = home.text().await.unwrap();
    assert!(html.contains("Start (redirect flow)") && html.contains("Start (iframe flow)"));
    // A developer trying the demo gets the sandbox's keys and where the API is described.
    let keys: serde_json::Value = serde_json::from_slice(
        &std::fs::read(app.data_dir.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let access_key = keys["accessKey"].as_str().unwrap();
    assert!(html.contains(access_key) && html.contains(keys["secretKey"].as_str().unwrap()));
    assert!(html.contains("href=\"/openapi.json\"") && html.contains("docs/api.md"));
    assert!(html.contains(&format!(
        "{}/openapi/auth/ticket/v1/generate-token",
        app.base
    )));
    for (path, ty) in [
        ("/demo/site.css", "text/css"),
        ("/demo/site.js", "text/javascript"),
    ] {
        let resp = get(&app, &format!("{}{path}", app.base)).await;
        assert_eq!(resp.status(), 200);
        assert!(header(&resp, "content-type").starts_with(ty));
    }

    // Redirect flow: the site creates a session and sends the browser to its page.
    let resp = client
        .post(format!("{}/demo/start", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("flow=redirect")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let session_url = header(&resp, "location");
    assert!(session_url.starts_with(&format!("{}/h5/liveness?", app.base)));
    let page = get(&app, &session_url).await;
    assert_eq!(page.status(), 200);
    let boot = boot_of(&page.text().await.unwrap());
    let sid = boot["signatureId"].as_str().unwrap().to_owned();
    assert_eq!(boot["iframe"], false);
    let session = app.store.session(&sid).await.unwrap().unwrap();
    assert_eq!(session.new.return_url, format!("{}/demo/done", app.base));

    // Before the check ends the return page says there is no result yet; after, it shows it.
    let pending = get(&app, &format!("{}/demo/done?signatureId={sid}", app.base)).await;
    assert_eq!(pending.status(), 200);
    assert!(pending.text().await.unwrap().contains("No result yet"));
    finish(&app, &sid, true).await;
    let done = get(&app, &format!("{}/demo/done?signatureId={sid}", app.base)).await;
    assert_eq!(done.status(), 200);
    let html = done.text().await.unwrap();
    assert!(html.contains("Score <strong>96</strong>"), "{html}");
    assert!(html.contains("src=\"data:image/jpeg;base64,"));
    assert!(html.contains("characters elided"));
    assert!(html.contains("&quot;code&quot;: &quot;SUCCESS&quot;"));

    // Iframe flow: the session page is framed by the site and posts to the site's origin.
    let resp = client
        .post(format!("{}/demo/start", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("flow=iframe")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    let frame = &html[html.find("<iframe").expect("an iframe")..];
    assert_eq!(attribute(frame, "allow"), "camera; microphone; autoplay");
    assert_eq!(attribute(frame, "data-origin"), app.base);
    let src = unescape(attribute(frame, "src"));
    assert!(
        src.starts_with(&format!("{}/h5/liveness?", app.base)),
        "{src}"
    );
    let framed = get(&app, &src).await;
    assert_eq!(framed.status(), 200);
    assert!(header(&framed, "content-security-policy").ends_with("frame-ancestors *"));
    let boot = boot_of(&framed.text().await.unwrap());
    assert_eq!(boot["iframe"], true);
    assert_eq!(boot["parentOrigin"], app.base.as_str());

    let bad = client
        .post(format!("{}/demo/start", app.base))
        .body("flow=other")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let no_sid = get(&app, &format!("{}/demo/done?signatureId=%3Cx%3E", app.base)).await;
    assert_eq!(no_sid.status(), 400);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_site_exists_only_in_demo_mode() {
    let app = spawn(Backend::Sqlite).await;
    for path in ["/demo", "/demo/done?signatureId=abc", "/demo/site.js"] {
        let resp = get(&app, &format!("{}{path}", app.base)).await;
        assert_eq!(resp.status(), 404, "{path}");
    }
    let resp = app
        .client
        .post(format!("{}/demo/start", app.base))
        .body("flow=redirect")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    app.cleanup().await;
}

/// `serve --demo --lan`: HTTPS on every interface with a certificate made at start-up; the
/// demo's links use it and its own API calls trust exactly that certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lan_demo_serves_https_with_its_own_certificate() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.demo = true;
        c.demo_lan = true;
    })
    .await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let https = format!("https://127.0.0.1:{port}");
    // The test trusts nothing: the certificate is self-signed for this run.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let home = client.get(format!("{https}/demo")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert!(home
        .text()
        .await
        .unwrap()
        .contains("/openapi/auth/ticket/v1/generate-token"));
    // The demo's backend calls this server's API over HTTPS and sends the browser to an
    // https:// session page on the LAN address.
    let resp = client
        .post(format!("{https}/demo/start"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("flow=redirect")
        .send()
        .await
        .unwrap();
    let location = header(&resp, "location");
    assert_eq!(resp.status(), 303, "{location}");
    assert!(
        location.starts_with("https://") && location.contains("/h5/liveness?"),
        "{location}"
    );
    // Plain HTTP on that port gets no answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(std::time::Duration::from_secs(15))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    app.cleanup().await;
}
