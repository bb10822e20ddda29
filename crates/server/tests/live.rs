//! The liveness protocol end to end, driving the real server over the real WebSocket with
//! frames made from a real face photo: every attack species of SPEC §5 is rejected and its
//! verdict comes back through Get Result.
//!
//! Genuine runs are played and reported (BPCER) but not yet required to pass: the rendered
//! subject's painted mouth and 2-D landmark depth ratios do not reach the verdict's
//! uncalibrated thresholds (docs/attack-suite.md). `OPENLIVENESS_SUITE_GENUINE=N` sets the
//! number of genuine runs (default 1, which also records the session the replay attack
//! replays); `OPENLIVENESS_SUITE_REPORT=PATH` writes the APCER/BPCER report there
//! (`bash scripts/attack-report.sh` does both, into docs/attack-suite.md).

mod common;
mod support;

use common::*;
use openliveness_store::NewAccount;
use serde_json::json;
use support::client::{self, Outcome, Script};
use support::scripts::*;
use support::subject::{astronaut, photo, Subject};

/// The server's step window in the tests: long enough for a rendered action, short enough
/// to keep a session under ten seconds.
const STEP_WINDOW_MS: i64 = 2000;

async fn app() -> TestApp {
    spawn_with(Backend::Sqlite, |c| c.step_window_ms = STEP_WINDOW_MS).await
}

async fn new_session(app: &TestApp, token: &str) -> (String, String) {
    app.session(token).await
}

struct Species {
    name: &'static str,
    attempted: u32,
    wrong: u32,
    attack_types: Vec<Option<i64>>,
}

async fn play(
    app: &TestApp,
    token: &str,
    script: &mut dyn Script,
) -> (String, Outcome, serde_json::Value) {
    let (sid, url) = new_session(app, token).await;
    let outcome = client::run(&url, script).await;
    let r = app.get_result(token, &sid).await;
    (sid, outcome, r.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_suite() {
    let app = app().await;
    let creds = app
        .create_account(NewAccount {
            video_enabled: true,
            ..account("suite")
        })
        .await;
    let token = app.token(&creds).await;
    let engine = engine();
    let subject: &Subject = astronaut(&engine);
    let other = Subject::new(&engine, photo("camera.png"));
    let genuine_runs: u32 = std::env::var("OPENLIVENESS_SUITE_GENUINE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);

    let mut report: Vec<Species> = Vec::new();
    let mut genuine = Species {
        name: "genuine responsive subject (3-D head)",
        attempted: 0,
        wrong: 0,
        attack_types: vec![],
    };
    let mut recorded = None;
    for i in 0..genuine_runs {
        let (sid, out, body) = play(
            &app,
            &token,
            &mut Genuine {
                subject,
                seed: 1000 * u64::from(i),
            },
        )
        .await;
        genuine.attempted += 1;
        if !out.passed() {
            genuine.wrong += 1;
            eprintln!(
                "genuine run {i} rejected: result {:?}; Get Result {}",
                out.result, body["data"]["score"]
            );
            let s = app.store.session(&sid).await.unwrap().unwrap();
            eprintln!(
                "signals: {}",
                s.result.and_then(|r| r.signals).unwrap_or_default()
            );
        } else {
            assert_eq!(body["code"], "SUCCESS", "{body}");
            assert!(body["data"]["score"].as_i64().unwrap() >= 50);
            assert!(body["data"]["image"]
                .as_str()
                .is_some_and(|s| s.starts_with("/9j/")));
            assert!(body["data"]["imageNear"].as_str().is_some());
            assert!(body["data"]["auditImageUrl"].as_str().is_some());
        }
        if recorded.is_none() {
            recorded = Some(out.sent.clone());
        }
    }
    report.push(genuine);

    let attack = |name: &'static str| Species {
        name,
        attempted: 0,
        wrong: 0,
        attack_types: vec![],
    };
    let mut species: Vec<(Species, Box<dyn Script + '_>)> = vec![
        (
            attack("static photo"),
            Box::new(StaticPhoto { subject, seed: 7 }),
        ),
        (
            attack("photo moved and warped in 2-D"),
            Box::new(Warped2d { subject, seed: 8 }),
        ),
        (
            attack("non-responsive clip"),
            Box::new(NonResponsive { subject, seed: 9 }),
        ),
        (
            attack("frames captured before the challenge"),
            Box::new(PreChallenge {
                inner: Genuine { subject, seed: 10 },
            }),
        ),
        (
            attack("frames injected in bursts"),
            Box::new(Burst {
                inner: Genuine { subject, seed: 11 },
            }),
        ),
        (
            attack("second face appearing"),
            Box::new(SecondFace {
                inner: Genuine { subject, seed: 12 },
                other: other.neutral().clone(),
            }),
        ),
        (
            attack("face swapped mid-session"),
            Box::new(FaceSwap {
                inner: Genuine { subject, seed: 13 },
                other: &other,
            }),
        ),
    ];
    if let Some(rec) = recorded {
        species.push((
            attack("replay of an earlier successful session"),
            Box::new(Replay { recorded: rec }),
        ));
    }
    for (mut sp, mut script) in species {
        let (_, out, body) = play(&app, &token, script.as_mut()).await;
        sp.attempted += 1;
        let attack_type = body["data"]["attackType"].as_i64();
        sp.attack_types.push(attack_type);
        if let Some(url) = body["data"]["auditImageUrl"].as_str() {
            let audit = app
                .client
                .get(url)
                .header("X-ACCESS-TOKEN", &token)
                .send()
                .await
                .unwrap();
            assert_eq!(audit.status(), 200, "audit image of {}", sp.name);
            assert_eq!(audit.headers()["content-type"], "image/jpeg");
            assert!(audit.bytes().await.unwrap().starts_with(b"\xff\xd8"));
        }
        if out.passed() || body["data"]["score"].as_i64().is_some_and(|s| s >= 50) {
            sp.wrong += 1;
            eprintln!("ATTACK ACCEPTED: {}: {:?}", sp.name, out.result);
        }
        report.push(sp);
    }

    let mut table = String::from(
        "| species | attempted | accepted (attacks, APCER) / rejected (genuine, BPCER) | rate | attackType seen |\n|---|---|---|---|---|\n",
    );
    for s in &report {
        let types: Vec<String> = s
            .attack_types
            .iter()
            .map(|t| t.map_or("—".into(), |t| t.to_string()))
            .collect();
        table.push_str(&format!(
            "| {} | {} | {} | {:.1} % | {} |\n",
            s.name,
            s.attempted,
            s.wrong,
            100.0 * f64::from(s.wrong) / f64::from(s.attempted.max(1)),
            types.join(", ")
        ));
    }
    println!("\n{table}");
    if let Ok(path) = std::env::var("OPENLIVENESS_SUITE_REPORT") {
        let doc = format!(
            "# Attack suite report\n\nMade by `bash scripts/attack-report.sh` ({} genuine runs), driving the real server over the live protocol with frames rendered from scikit-image's astronaut photo (public domain); the swapped and second face is scikit-image's camera man. ISO/IEC 30107-3 terms: APCER = attacks accepted / attempted per species; BPCER = genuine runs rejected / attempted.\n\n{table}\n",
            genuine_runs
        );
        std::fs::write(&path, doc).expect("report written");
    }
    // Every attack is rejected. Its attackType is reported in the table, not required: the
    // verdict sets one only when it scores an attack 0, and a clip that happens to answer
    // one step can score above 0 and still fail.
    for s in &report[1..] {
        assert_eq!(s.wrong, 0, "{} accepted", s.name);
    }
    app.cleanup().await;
}

/// Protocol errors fail the try closed with a stable code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_refused() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = app().await;
    let creds = app.create_account(account("acme")).await;
    let token = app.token(&creds).await;
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("{nope".into()), "MALFORMED_MESSAGE"),
        (
            Message::Text(json!({"type":"hello","protocol":9}).to_string().into()),
            "UNSUPPORTED_VERSION",
        ),
        (Message::Binary(vec![1, 2, 3].into()), "MALFORMED_MESSAGE"),
        (
            Message::Binary(
                openliveness_server::live::protocol::encode_binary(
                    openliveness_server::live::protocol::Kind::Frame,
                    1,
                    0,
                    b"not a jpeg",
                )
                .into(),
            ),
            "BAD_IMAGE",
        ),
        (
            Message::Text(json!({"type":"finish"}).to_string().into()),
            "OUT_OF_ORDER",
        ),
    ];
    for (msg, code) in cases {
        let (_, url) = new_session(&app, &token).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(client::ws_url(&url))
            .await
            .unwrap();
        ws.send(Message::Text(
            json!({"type":"hello","protocol":1}).to_string().into(),
        ))
        .await
        .unwrap();
        ws.send(msg).await.unwrap();
        let mut got = None;
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "error" {
                    got = Some(v);
                    break;
                }
            }
        }
        let v = got.unwrap_or_else(|| panic!("no error for {code}"));
        assert_eq!(v["code"], code, "{v}");
    }
    // A wrong capability never upgrades.
    let (_, url) = new_session(&app, &token).await;
    let forged = format!("{}x", client::ws_url(&url));
    assert!(tokio_tungstenite::connect_async(forged).await.is_err());
    app.cleanup().await;
}

/// Prints what the vision engine measures on the rendered subject (calibration aid).
#[test]
fn rendered_subject_signals() {
    use support::render::Pose;
    use support::subject::Act;
    let engine = engine();
    let subject = astronaut(&engine);
    let cases = [
        ("rest", Act::REST),
        (
            "yaw+28",
            Act {
                pose: Pose {
                    yaw: 28.0,
                    ..Pose::FRONT
                },
                ..Act::REST
            },
        ),
        (
            "yaw-28",
            Act {
                pose: Pose {
                    yaw: -28.0,
                    ..Pose::FRONT
                },
                ..Act::REST
            },
        ),
        (
            "pitch-18",
            Act {
                pose: Pose {
                    pitch: -18.0,
                    ..Pose::FRONT
                },
                ..Act::REST
            },
        ),
        (
            "near",
            Act {
                pose: Pose {
                    distance: 0.65,
                    ..Pose::FRONT
                },
                ..Act::REST
            },
        ),
        (
            "eyes",
            Act {
                eyes_closed: true,
                ..Act::REST
            },
        ),
        (
            "mouth",
            Act {
                mouth_open: true,
                ..Act::REST
            },
        ),
    ];
    for (name, act) in cases {
        let img = subject.frame(act, 1);
        img.save(format!("/tmp/subject-{name}.png")).ok();
        let frame = openliveness_vision::Frame::from_image(img);
        let a = engine.analyze(&frame).unwrap();
        let f = &a.faces[0];
        let (nose, eyes) = openliveness_server::live::observe::depth_ratios(&f.mesh);
        println!(
            "{name:9} faces {} yaw {:6.1} pitch {:6.1} eye {:.3}/{:.3} mouth {:.3} size {:.3} nose_off {:?} nose_ratio {:?} eye_ratio {:?}",
            a.faces.len(), f.signals.yaw, f.signals.pitch, f.signals.left_eye_openness, f.signals.right_eye_openness,
            f.signals.mouth_openness, f.signals.face_size, openliveness_server::live::observe::nose_offset(&f.mesh), nose, eyes
        );
    }
}
