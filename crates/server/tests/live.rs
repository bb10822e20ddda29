//! The liveness protocol end to end, driving the real server over the real WebSocket with
//! frames made from a real face photo: every attack species of SPEC §5 is rejected and its
//! verdict comes back through Get Result.
//!
//! Genuine runs are played and reported (BPCER) but not yet required to pass: the rendered
//! subject's painted mouth and 2-D landmark depth ratios do not reach the verdict's
//! uncalibrated thresholds (docs/attack-suite.md). `OPENLIVENESS_SUITE_GENUINE=N` sets the
//! number of genuine runs (default 1, which also records the session the replay attack
//! replays); `OPENLIVENESS_SUITE_SPLICES=N` the tries of each splice species (default 1: each
//! splice is drawn against a new challenge, so more tries show whether one gets through by
//! luck); `OPENLIVENESS_SUITE_REPORT=PATH` writes the APCER/BPCER report there
//! (`bash scripts/attack-report.sh` does all three, into docs/attack-suite.md).

// Tests may panic: a failed expectation is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

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

/// Tests that play sessions in real time take turns, and so does the one that keeps the
/// cores busy measuring: on a small machine a second load makes the server late, and late
/// frames fail genuine users' timing checks (the overload docs/benchmarks.md describes; the
/// burst species, which already sends twice the frame rate, timed out before its challenge
/// once when `rendered_subject_signals` ran beside it), which is not what these tests test.
static REAL_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn app() -> TestApp {
    spawn_with(Backend::Sqlite, |c| c.step_window_ms = STEP_WINDOW_MS).await
}

async fn new_session(app: &TestApp, token: &str) -> (String, String) {
    app.session(token).await
}

/// Noise seeds of an attack species: far from the genuine runs' (1000 per run) and from
/// each other's, so no two sessions send the same bytes unless the attack replays them.
fn species_seed(k: u64) -> u64 {
    1_000_000 + 10_000 * k
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

/// How many times the head jumped between two still poses (`motion.joins`), if judged.
async fn jumps(app: &TestApp, sid: &str) -> Option<u64> {
    let signals = app.stored_signals(sid).await;
    signals["verdict"]["signals"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == "motion.joins")?["value"]
        .as_f64()
        .map(|v| v as u64)
}

/// Prints the challenge and every signal that cost points, for a run's log.
async fn explain(app: &TestApp, sid: &str) {
    let signals = app.stored_signals(sid).await;
    eprintln!("  challenge {}", signals["challenge"]);
    for sig in signals["verdict"]["signals"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let always = sig["name"] == "motion.static" || sig["name"] == "motion.joins";
        // A quality gate or an attack decides without deducting points.
        let decisive = sig["outcome"].is_object();
        if sig["deduction"].as_u64().unwrap_or(0) > 0 || always || decisive {
            eprintln!(
                "    {} −{} {}: {}",
                sig["name"], sig["deduction"], sig["outcome"], sig["explanation"]
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_suite() {
    let _alone = REAL_TIME.lock().await;
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
    let splice_runs: u32 = std::env::var("OPENLIVENESS_SUITE_SPLICES")
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
    let mut library = Vec::new();
    let mut step_delays: Vec<i64> = Vec::new();
    // `motion.joins` of each genuine run and each splice: jumps between two still poses.
    let mut genuine_jumps: Vec<u64> = Vec::new();
    let mut splice_jumps: Vec<u64> = Vec::new();
    for i in 0..genuine_runs {
        let (sid, out, body) = play(
            &app,
            &token,
            &mut Genuine::new(subject, 1000 * u64::from(i)),
        )
        .await;
        genuine.attempted += 1;
        if !out.passed() {
            genuine.wrong += 1;
            // What ended the try when no verdict came (an error, a failed try).
            let ending: Vec<&serde_json::Value> = out
                .messages
                .iter()
                .filter(|m| !matches!(m["type"].as_str(), Some("guide" | "step" | "seen")))
                .collect();
            eprintln!(
                "genuine run {i} rejected: result {:?}; Get Result {}; messages {ending:?}",
                out.result, body["data"]["score"]
            );
            explain(&app, &sid).await;
        } else {
            assert_eq!(body["code"], "SUCCESS", "{body}");
            assert!(body["data"]["score"].as_i64().unwrap() >= 50);
            assert!(body["data"]["image"]
                .as_str()
                .is_some_and(|s| s.starts_with("/9j/")));
            assert!(body["data"]["imageNear"].as_str().is_some());
            assert!(body["data"]["auditImageUrl"].as_str().is_some());
        }
        genuine_jumps.extend(jumps(&app, &sid).await);
        if recorded.is_none() {
            recorded = Some(out.sent.clone());
        }
        // How long after its window opened each action's step message reached the client.
        step_delays.extend(
            out.received
                .iter()
                .filter(|(a, _, _)| a != "look")
                .map(|(_, at, deadline)| at - (deadline - STEP_WINDOW_MS)),
        );
        if out.passed() && library.len() < 3 {
            library.push(out);
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
            Box::new(StaticPhoto {
                subject,
                seed: species_seed(7),
            }),
        ),
        (
            attack("photo moved and warped in 2-D"),
            Box::new(Warped2d {
                subject,
                seed: species_seed(8),
                stills: Default::default(),
            }),
        ),
        (
            attack("non-responsive clip"),
            Box::new(NonResponsive {
                subject,
                seed: species_seed(9),
                stills: Default::default(),
            }),
        ),
        (
            attack("frames captured before the challenge"),
            Box::new(PreChallenge {
                inner: Genuine::new(subject, species_seed(10)),
            }),
        ),
        (
            attack("frames injected in bursts"),
            Box::new(Burst {
                inner: Genuine::new(subject, species_seed(11)),
                tick: 0,
            }),
        ),
        (
            attack("second face appearing"),
            Box::new(SecondFace {
                inner: Genuine::new(subject, species_seed(12)),
                other: &other,
                stills: Default::default(),
                small: false,
            }),
        ),
        (
            attack("small second face in the background"),
            Box::new(SecondFace {
                inner: Genuine::new(subject, species_seed(15)),
                // The camera man's face, half hidden by his camera, is found only from about
                // an eighth of the frame's width: the background person is the astronaut,
                // mirrored (the face count is what is tested).
                other: subject,
                stills: Default::default(),
                small: true,
            }),
        ),
        (
            attack("face swapped mid-session"),
            Box::new(FaceSwap {
                inner: Genuine::new(subject, species_seed(13)),
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
    // A library of the accepted genuine sessions, spliced to answer new challenges.
    if !library.is_empty() {
        let mut positioning = Vec::new();
        let mut segs = Vec::new();
        for out in &library {
            let (p, s) = segments(out);
            positioning.extend(p);
            segs.extend(s);
        }
        let still = |k: openliveness_server::live::protocol::Kind| {
            library[0]
                .sent
                .iter()
                .find(|s| s.kind == k)
                .map(|s| s.payload.clone())
                .unwrap_or_default()
        };
        use openliveness_server::live::protocol::Kind;
        let stills = (still(Kind::FarStill), still(Kind::NearStill));
        for (name, altered) in [
            (
                "recorded genuine sessions spliced to the new challenge",
                None,
            ),
            (
                "recorded sessions spliced, shifted and scaled in 2-D, re-encoded with noise",
                Some(77),
            ),
        ] {
            species.push((
                attack(name),
                Box::new(Splice {
                    positioning: positioning.clone(),
                    library: segs.clone(),
                    stills: stills.clone(),
                    altered,
                    tick: 0,
                }),
            ));
        }
    }
    species.push((
        attack("genuine answers streamed at 3 frames a second"),
        Box::new(Slow {
            inner: Genuine::new(subject, species_seed(14)),
            tick: 0,
        }),
    ));
    for (mut sp, mut script) in species {
        let runs = if sp.name.contains("spliced") {
            splice_runs.max(1)
        } else {
            1
        };
        for _ in 0..runs {
            let (sid, out, body) = play(&app, &token, script.as_mut()).await;
            eprintln!("{}:", sp.name);
            explain(&app, &sid).await;
            for m in out
                .messages
                .iter()
                .filter(|m| m["type"] == "error" || m["type"] == "tryFailed")
            {
                eprintln!("  refused: {m}");
            }
            sp.attempted += 1;
            if sp.name.contains("spliced") {
                splice_jumps.extend(jumps(&app, &sid).await);
            }
            let attack_type = body["data"]["attackType"].as_i64();
            sp.attack_types.push(attack_type);
            // A try judged an attack tells its page nothing about what caught it.
            if attack_type.is_some() {
                let hint = out.result.as_ref().and_then(|r| r.get("hint"));
                assert!(hint.is_none(), "{}: the page was told {hint:?}", sp.name);
            }
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
    step_delays.sort_unstable();
    let q = |f: f64| {
        step_delays
            .get(((step_delays.len() as f64 - 1.0) * f).round().max(0.0) as usize)
            .copied()
            .unwrap_or(0)
    };
    let delays = format!(
        "Step messages of the genuine runs ({} actions) reached the client p50 {} ms, p90 {} ms, max {} ms after their windows opened (the client reads its socket between frames, every 100 ms). A dash under attackType: not judged, a quality outcome (the 3 frames a second stream: PoorQuality, `timing.frame_rate`).",
        step_delays.len(),
        q(0.5),
        q(0.9),
        step_delays.last().copied().unwrap_or(0)
    );
    let tally = |jumps: &[u64]| {
        let n = |k: u64| jumps.iter().filter(|j| **j == k).count();
        let more = jumps.iter().filter(|j| **j >= 2).count();
        format!(
            "{} with none, {} with one, {more} with two or more",
            n(0),
            n(1)
        )
    };
    let delays = format!(
        "{delays} Jumps between two still poses (`motion.joins`, judged from two): genuine runs {}; splices {} (counts per splice: {splice_jumps:?}).",
        tally(&genuine_jumps),
        tally(&splice_jumps)
    );
    println!("\n{table}\n{delays}");
    if let Ok(path) = std::env::var("OPENLIVENESS_SUITE_REPORT") {
        let doc = format!(
            "# Attack suite report\n\n\
Made by `bash scripts/attack-report.sh` ({genuine_runs} genuine runs, {splice_runs} tries of each splice species, each against a new challenge; every session streamed in real time over the live protocol, docs/protocol.md, against the real server). ISO/IEC 30107-3 terms: APCER = attacks accepted / attempted per species; BPCER = genuine runs rejected / attempted. A run is accepted when the page is told it passed or Get Result scores it at or above the pass threshold.\n\n\
## Subjects\n\n\
- **Genuine**: scikit-image's astronaut photo (public domain) as a textured 3-D head: its 468-point face mesh with depth, plus a ring for the sides of the head, rendered with perspective and a z-buffer. It turns its head towards each target of the follow part (yaw −25° × x, pitch 16° × y, from 300 ms after the reveal over 450 ms), and performs each action when revealed: eyes painted closed for a blink, the jaw dropped for an open mouth, the head turned ±45° or pitched −18°, brought 1.54× closer; after the last step it comes closer for the near still, and its stills are frames of its own stream.\n\
- **Attacks**: the same photo held still; moved, scaled and sheared in 2-D to pretend the actions; a clip of the genuine head looking around on its own (blinking, turning right and left in turn, then coming closer), whatever is asked; the genuine answers with capture times 90 s old; each frame sent twice at once; a second person (scikit-image's camera man) leaning into the picture, and a face small in the background (the astronaut mirrored, its face a tenth of the frame's width); the camera man swapped in after the first step; an earlier genuine session's frames replayed byte for byte; a library of the first three accepted genuine sessions spliced to each new challenge (for each target, the recorded segment of the nearest recorded target; for each action, the segment that answered it; re-timed to the new reveals with fresh capture times), byte for byte and altered (shifted 3 px, scaled 3 %, noise, re-encoded); the genuine answers streamed at 3 frames a second.\n\n\
## Result\n\n{table}\n{delays}\n\n\
## What the verdict measures on the rendered head\n\n\
| signal | rendered | measured by the landmark model | threshold |\n|---|---|---|---|\n\
| yaw, head turned 28° / 45° | 28° / 45° | 23–25° / 34° | 15° from baseline |\n\
| mouth openness, jaw dropped 0.3 mouth widths | +0.3 | +0.08–0.09 | +0.07, on frames within 10° of the baseline pose |\n\
| eye openness, eyes closed | — | 0.35 → 0.11–0.17 | ≤ 0.5 × baseline |\n\
| nose-width / face-width, 1.54× closer | +10.8 % | +2–4 % | a weak signal: a turn's parallax is the 3-D evidence |\n\
| nose offset per sin(yaw), turned | 1.7–1.8 | 1.7–1.8 | ≥ 0.3 (a flat picture: ≤ 0.1) |\n\n\
The landmark model follows a rendered mouth and perspective only in part, so those two thresholds were set from these measurements, not from real captures; docs/liveness.md says what each check does.\n"
        );
        std::fs::write(&path, doc).expect("report written");
    }
    // Every attack is rejected, with an attackType; genuine runs pass (ISO/IEC 30107-3
    // BPCER at most 2 %, so with the default single run: it passes).
    for s in &report[1..] {
        assert_eq!(s.wrong, 0, "{} accepted", s.name);
        // A slow stream is not judged (a quality outcome, docs/liveness.md), not called an attack.
        if s.name.contains("frames a second") {
            continue;
        }
        // Altered bytes escape the exact replay check, and look-alike frames are reported, not
        // judged (docs/liveness.md): when its nearest recorded targets happen to fit the new
        // path, this splice is rejected by the fit and order deductions without being named
        // an attack. Rejected it must be (above); an attackType is not guaranteed.
        if s.name.contains("re-encoded") {
            continue;
        }
        assert!(
            s.attack_types.iter().all(Option::is_some),
            "{} rejected without an attackType",
            s.name
        );
    }
    let g = &report[0];
    assert!(
        f64::from(g.wrong) <= 0.02 * f64::from(g.attempted),
        "{} of {} genuine runs rejected",
        g.wrong,
        g.attempted
    );
    app.cleanup().await;
}

/// Protocol errors fail the try closed with a stable code.
/// The page shows what the server's guide says of each frame: the rendered head at rest is
/// `good`, and each way of standing wrong gets its own tip, from the server's own measurements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_guides_each_frame_it_measures() {
    use futures_util::{SinkExt, StreamExt};
    use openliveness_server::live::protocol::{encode_binary, Kind};
    use support::subject::{jpeg, with_second_face};
    use tokio_tungstenite::tungstenite::Message;

    let app = app().await;
    let creds = app.create_account(account("guide")).await;
    let token = app.token(&creds).await;
    let (_, url) = new_session(&app, &token).await;
    let engine = engine();
    let subject = astronaut(&engine);
    let other = Subject::new(&engine, photo("camera.png"));
    // The rendered head at rest, reframed as a phone would show it: the face's longer side
    // `size` of the frame's height, its centre moved by `dx` of the frame's width.
    let mesh = engine
        .analyze(&openliveness_vision::Frame::from_image(
            subject.at_rest(1.0, 0),
        ))
        .unwrap()
        .faces[0]
        .mesh
        .bbox();
    let (fx, fy) = (mesh.x + mesh.w / 2.0, mesh.y + mesh.h / 2.0);
    let side = mesh.w.max(mesh.h);
    let framed = move |seed: u64, size: f32, dx: f32| {
        let src = subject.at_rest(1.0, seed);
        let scale = side / (size * 480.0);
        image::RgbImage::from_fn(640, 480, |x, y| {
            let sx = fx + (x as f32 - 320.0 - dx * 640.0) * scale;
            let sy = fy + (y as f32 - 240.0) * scale;
            if sx < 0.0 || sy < 0.0 || sx >= src.width() as f32 || sy >= src.height() as f32 {
                image::Rgb([110, 114, 120])
            } else {
                *src.get_pixel(sx as u32, sy as u32)
            }
        })
    };
    type Make<'a> = Box<dyn Fn(u64) -> image::RgbImage + 'a>;
    let groups: Vec<(&str, Make)> = vec![
        ("positioned", Box::new(move |s| framed(s, 0.45, 0.0))),
        ("far away", Box::new(move |s| framed(s, 0.2, 0.0))),
        // The face on the image's left: the user stands to their right.
        ("to the side", Box::new(move |s| framed(s, 0.45, -0.2))),
        (
            "two people",
            Box::new(move |s| with_second_face(&framed(s, 0.45, -0.1), &other)),
        ),
        (
            "nobody",
            Box::new(|s| {
                let mut i = image::RgbImage::from_pixel(640, 480, image::Rgb([90, 96, 104]));
                support::subject::noise(&mut i, s);
                i
            }),
        ),
    ];

    let mut ws = open_and_hello(&url).await;
    let mut tips: Vec<Vec<String>> = vec![Vec::new(); groups.len()];
    let mut seq_group = std::collections::HashMap::new();
    let mut seq = 0u32;
    let mut pace = tokio::time::interval(std::time::Duration::from_millis(100));
    for (g, (_, make)) in groups.iter().enumerate() {
        for k in 0..12u64 {
            pace.tick().await;
            seq += 1;
            seq_group.insert(seq, g);
            let bytes = jpeg(&make(10_000 + u64::from(seq) + k));
            let msg = encode_binary(Kind::Frame, seq, client::now_ms(), &bytes);
            ws.send(Message::Binary(msg.into())).await.unwrap();
        }
    }
    // Every frame gets its guide.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut heard = 0;
    while heard < seq {
        let m = tokio::time::timeout_at(deadline, ws.next()).await;
        let Ok(Some(Ok(Message::Text(t)))) = m else {
            assert!(
                !matches!(m, Err(_) | Ok(None)),
                "only {heard} of {seq} guides came"
            );
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] != "guide" {
            assert!(v["type"] == "session", "{v}");
            continue;
        }
        heard += 1;
        let g = seq_group[&(v["seq"].as_u64().unwrap() as u32)];
        tips[g].push(v["tip"].as_str().unwrap().to_owned());
        if g == 0 {
            assert_eq!(v["faces"], 1, "{v}");
            let size = v["size"].as_f64().unwrap();
            assert!((0.3..0.8).contains(&size), "a face at arm's length: {v}");
        }
    }
    let most =
        |g: usize, tip: &str| tips[g].iter().filter(|t| *t == tip).count() * 2 > tips[g].len();
    assert!(most(0, "good"), "at rest: {:?}", tips[0]);
    assert!(most(1, "tooFar"), "far away: {:?}", tips[1]);
    assert!(most(2, "moveLeft"), "to the side: {:?}", tips[2]);
    assert!(
        tips[3].iter().any(|t| t == "multiple"),
        "two people: {:?}",
        tips[3]
    );
    assert!(
        tips[4].iter().all(|t| t == "missing"),
        "nobody: {:?}",
        tips[4]
    );
    app.cleanup().await;
}

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
        let mut ws = open_and_hello(&url).await;
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

/// Opens the live channel of `url` (with `cookie`, if any), says hello, breaks the protocol
/// once a try runs, and returns every message the server sent before closing.
/// Opens the live channel of a page URL and says hello.
async fn open_and_hello(url: &str) -> client::Ws {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(client::ws_url(url))
        .await
        .unwrap();
    ws.send(Message::Text(
        json!({"type":"hello","protocol":1}).to_string().into(),
    ))
    .await
    .unwrap();
    ws
}

async fn hello_then_break(url: &str, cookie: Option<&str>) -> Vec<serde_json::Value> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let mut request = client::ws_url(url).into_client_request().unwrap();
    if let Some(c) = cookie {
        request.headers_mut().insert("cookie", c.parse().unwrap());
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::Text(
        json!({"type":"hello","protocol":1}).to_string().into(),
    ))
    .await
    .unwrap();
    let mut got = Vec::new();
    let mut broke = false;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        let Message::Text(t) = m else { continue };
        let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
        if v["type"] == "session" && !broke {
            broke = true;
            ws.send(Message::Binary(vec![1, 2, 3].into()))
                .await
                .unwrap();
        }
        got.push(v);
    }
    got
}

/// A user who fails `lockout_failures` tries is refused new tries, in this session and in
/// the next ones, with a final `LOCKED_OUT` result; another user is not. Without a user id,
/// the browser's device cookie is what is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_keeps_failing_is_locked_out() {
    let app = spawn_with(Backend::Sqlite, |c| {
        c.step_window_ms = STEP_WINDOW_MS;
        c.lockout_failures = 2;
    })
    .await;
    let creds = app.create_account(account("acme")).await;
    let token = app.token(&creds).await;
    let session_for = |user: Option<&'static str>| {
        let (app, token) = (&app, token.clone());
        async move {
            let mut body = json!({"returnUrl": "https://www.example.com/done", "region": "IDN", "tryCount": 5});
            if let Some(u) = user {
                body["userId"] = json!(u);
            }
            let r = app.get_token(&token, body).await;
            r.expect("SUCCESS", "OK");
            (
                r.body["data"]["signatureId"].as_str().unwrap().to_owned(),
                r.body["data"]["url"].as_str().unwrap().to_owned(),
            )
        }
    };
    let kinds = |msgs: &[serde_json::Value]| {
        msgs.iter()
            .map(|m| m["type"].as_str().unwrap_or("?").to_owned())
            .collect::<Vec<_>>()
    };
    let (sid, url) = session_for(Some("alice")).await;
    for _ in 0..2 {
        let msgs = hello_then_break(&url, None).await;
        assert!(kinds(&msgs).contains(&"tryFailed".to_owned()), "{msgs:?}");
    }
    // The third try of this session is refused, and the session ends.
    let msgs = hello_then_break(&url, None).await;
    assert_eq!(kinds(&msgs), ["lockedOut"], "{msgs:?}");
    let retry_after = msgs[0]["retryAfterS"].as_i64().unwrap();
    assert!((1700..=1800).contains(&retry_after), "{retry_after}");
    let r = app.get_result(&token, &sid).await;
    r.expect(
        "LOCKED_OUT",
        "Too many failed tries for this user; no new try was allowed",
    );
    assert_eq!(r.body["pricingStrategy"], "FREE");
    assert_eq!(r.body["data"]["lockout"]["failures"], 2);
    // A new session for the same user is refused too; another user's is not.
    let (_, url) = session_for(Some("alice")).await;
    assert_eq!(kinds(&hello_then_break(&url, None).await), ["lockedOut"]);
    let (_, url) = session_for(Some("bob")).await;
    assert_eq!(kinds(&hello_then_break(&url, None).await)[0], "session");
    // Without a user id: the device cookie is counted, per browser.
    let mine = "ol_device=0123456789abcdef0123456789abcdef";
    for _ in 0..2 {
        let (_, url) = session_for(None).await;
        assert_eq!(
            kinds(&hello_then_break(&url, Some(mine)).await)[0],
            "session"
        );
    }
    let (_, url) = session_for(None).await;
    assert_eq!(
        kinds(&hello_then_break(&url, Some(mine)).await),
        ["lockedOut"]
    );
    // That session stays ended; another browser's new session is not locked.
    assert_eq!(kinds(&hello_then_break(&url, None).await), ["lockedOut"]);
    let (_, url) = session_for(None).await;
    let other = "ol_device=fedcba9876543210fedcba9876543210";
    assert_eq!(
        kinds(&hello_then_break(&url, Some(other)).await)[0],
        "session"
    );
    app.cleanup().await;
}

/// Opens a live channel to each of `urls` at once and says hello on each. Returns the
/// channels whose hello was answered with `session`, with what they received, and the
/// errors the others were refused with.
async fn race(
    urls: &[String],
) -> (
    Vec<(client::Ws, Vec<serde_json::Value>)>,
    Vec<serde_json::Value>,
) {
    let opened = urls
        .iter()
        .map(|url| client::say_hello(url, std::time::Duration::from_secs(20)));
    let mut running = Vec::new();
    let mut refused = Vec::new();
    for (ws, msgs, first) in futures_util::future::join_all(opened).await {
        if first["type"] == "session" {
            running.push((ws, msgs));
        } else {
            refused.push(first);
        }
    }
    (running, refused)
}

/// A session allowing one try: (signatureId, page URL).
async fn one_try_session(app: &TestApp, token: &str) -> (String, String) {
    let r = app
        .get_token(
            token,
            json!({"returnUrl": "https://www.example.com/done", "region": "IDN", "tryCount": 1}),
        )
        .await;
    r.expect("SUCCESS", "OK");
    (
        r.body["data"]["signatureId"].as_str().unwrap().to_owned(),
        r.body["data"]["url"].as_str().unwrap().to_owned(),
    )
}

/// Sessions whose page is gone end on the server, each with a final `NOT_COMPLETED` result
/// naming why and its webhook: a try left mid-way fails at its limit with no connection
/// (`ABANDONED`), a page that stays but sends nothing times out (`TIMED_OUT`), a URL
/// nobody opened expires (`EXPIRED`).
async fn sessions_end_without_their_page(backend: Backend) {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_with(backend, |c| {
        c.try_time_limit_ms = 5_000;
        c.session_ttl_ms = 10_000;
        c.sweep_interval_ms = 100;
    })
    .await;
    let creds = app.create_account(account("acme")).await;
    openliveness_server::admin::set_callback_url(
        app.store.as_ref(),
        &app.sealer,
        "acme",
        Some("http://127.0.0.1:9/hook"),
    )
    .await
    .unwrap();
    let token = app.token(&creds).await;
    let (abandoned, url_a) = one_try_session(&app, &token).await;
    let (timed_out, url_t) = one_try_session(&app, &token).await;
    let (unopened, _) = one_try_session(&app, &token).await;
    let until_session = |mut ws: client::Ws| async move {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = &m {
                if serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap()["type"]
                    == "session"
                {
                    return ws;
                }
            }
        }
        panic!("no session message");
    };

    // The first page opens its try and vanishes without a closing frame.
    drop(until_session(open_and_hello(&url_a).await).await);
    // The second stays connected and silent: its own connection times the try out.
    let mut ws = until_session(open_and_hello(&url_t).await).await;
    let heard = tokio::spawn(async move {
        let mut heard = Vec::new();
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(std::time::Duration::from_secs(30), ws.next()).await
        {
            if let Message::Text(t) = m {
                heard.push(serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap());
            }
        }
        heard
    });

    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(40);
    for (sid, reason, tries) in [
        (&abandoned, "ABANDONED", 1),
        (&timed_out, "TIMED_OUT", 1),
        (&unopened, "EXPIRED", 0),
    ] {
        let r = loop {
            let r = app.get_result(&token, sid).await;
            if r.code() != "LIVENESS_NO_RESULT" {
                break r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{sid} ({reason}) never ended: {:?}",
                app.store.session(sid).await.unwrap().map(|s| s.status)
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        };
        r.expect(
            "NOT_COMPLETED",
            "The user did not complete the liveness check; no verdict was reached",
        );
        assert_eq!(r.body["pricingStrategy"], "FREE");
        assert_eq!(r.body["data"]["ending"]["reason"], reason, "{:?}", r.body);
        assert_eq!(r.body["data"]["ending"]["triesUsed"], tries);
        assert_eq!(r.body["data"]["ending"]["triesAllowed"], 1);
        assert_eq!(r.body["data"]["score"], serde_json::Value::Null);
        let jobs = app
            .store
            .webhook_jobs(openliveness_store::WebhookFilter {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        let notices: Vec<_> = jobs.iter().filter(|j| &j.signature_id == sid).collect();
        assert_eq!(notices.len(), 1, "{sid}: {notices:?}");
        assert_eq!(
            notices[0].outcome,
            openliveness_store::Outcome::NotCompleted
        );
        // Nothing left for the sweeper: the session is not due any more.
        let swept_again = app.store.sessions_due(i64::MAX, 100).await.unwrap();
        assert!(!swept_again.contains(sid), "{swept_again:?}");
    }
    // The page that stayed heard why, before the channel closed.
    let heard = heard.await.unwrap();
    let failed = heard
        .iter()
        .find(|m| m["type"] == "tryFailed")
        .unwrap_or_else(|| panic!("{heard:?}"));
    assert_eq!(failed["reason"], "TIMED_OUT");
    assert_eq!(failed["retryAllowed"], false);
    app.cleanup().await;
}

/// A replica that runs as many tries as it can measure refuses the next page at `hello` with
/// `SERVER_BUSY` and when to come back, starting and counting nothing; the place comes back
/// when a running try's page leaves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_refuses_new_tries_up_front() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_with(Backend::Sqlite, |c| c.max_live_tries = 1).await;
    let creds = app.create_account(account("acme")).await;
    let token = app.token(&creds).await;
    let (_, first) = one_try_session(&app, &token).await;
    let (waiting, second) = one_try_session(&app, &token).await;
    /// Connects and says hello: the first message back.
    async fn hello(url: &str) -> (client::Ws, serde_json::Value) {
        let mut ws = open_and_hello(url).await;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    return (ws, serde_json::from_str(t.as_str()).unwrap());
                }
                Some(Ok(_)) => continue,
                other => panic!("no answer to hello: {other:?}"),
            }
        }
    }
    let (running, answer) = hello(&first).await;
    assert_eq!(answer["type"], "session", "{answer}");
    let (mut refused, answer) = hello(&second).await;
    assert_eq!(answer["type"], "error", "{answer}");
    assert_eq!(answer["code"], "SERVER_BUSY");
    assert_eq!(
        answer["message"],
        "the server is busy with other checks; try again in 10 s"
    );
    // The refused page's channel closes, and its session is as it was.
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(m)) = refused.next().await {
            if matches!(m, Message::Close(_)) {
                return true;
            }
        }
        true
    })
    .await;
    assert_eq!(closed, Ok(true));
    let s = app.store.session(&waiting).await.unwrap().unwrap();
    assert_eq!((s.tries_used, s.status.as_str()), (0, "created"));
    // The running page leaves: its place comes back.
    drop(running);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_ws, answer) = hello(&second).await;
        if answer["type"] == "session" {
            break;
        }
        assert_eq!(answer["code"], "SERVER_BUSY", "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place never came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_without_their_page_on_sqlite() {
    sessions_end_without_their_page(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_without_their_page_on_postgres() {
    sessions_end_without_their_page(Backend::Postgres).await;
}

/// A one-try session opened by `n` connections at once: one runs the try, every other is
/// refused with `SESSION_BUSY` and says why; once the try has ended, the lease is free.
async fn one_try_at_a_time(app: &TestApp) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let creds = app.create_account(account("acme")).await;
    let token = app.token(&creds).await;
    let (sid, url) = one_try_session(app, &token).await;
    let (mut running, refused) = race(&vec![url.clone(); 5]).await;
    assert_eq!(
        running.len(),
        1,
        "exactly one of 5 connections runs the try"
    );
    for e in &refused {
        assert_eq!(e["code"], "SESSION_BUSY", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("another window"),
            "{e}"
        );
    }
    // The one running breaks the protocol: its try fails, the only try the session had.
    let (mut ws, _) = running.pop().unwrap();
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let mut kinds = Vec::new();
    while let Ok(Some(Ok(m))) =
        tokio::time::timeout(std::time::Duration::from_secs(20), ws.next()).await
    {
        if let Message::Text(t) = m {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            kinds.push(v["type"].as_str().unwrap_or("?").to_owned());
        }
    }
    assert!(kinds.contains(&"tryFailed".to_owned()), "{kinds:?}");
    let s = app.store.session(&sid).await.unwrap().unwrap();
    assert_eq!(s.tries_used, 1, "one try was run");
    // The closed connection left the session free: the next one is told the session is
    // over, not that it is busy.
    let (running, refused) = race(&[url]).await;
    assert!(running.is_empty());
    assert_ne!(refused[0]["code"], "SESSION_BUSY", "{}", refused[0]);
}
both_backends!(one_connection_runs_a_session, one_try_at_a_time);

/// Two replicas on one PostgreSQL, Redis and S3-compatible store, as an operator runs them
/// behind a load balancer: A in this test's process, B the real `openliveness serve` binary
/// in a process of its own. A one-try session opened four times at once, twice on each,
/// runs exactly one try to one verdict; the other replica serves that verdict, its images
/// and its audit image, and the second facade's result; clear-data and the retention purge
/// on the other replica leave no image in the object store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_sessions_images_and_tries() {
    let _alone = REAL_TIME.lock().await;
    let prefix = format!("replicas-{}", openliveness_server::state::random_hex(6));
    let tweak = |c: &mut openliveness_server::config::Config| {
        c.step_window_ms = STEP_WINDOW_MS;
        c.redis_url = Some(redis_url());
        use_s3(c, &prefix);
    };
    let a = spawn_with(Backend::Postgres, tweak).await;
    let mut env = s3_env(&prefix);
    env.push(("REDIS_URL", redis_url()));
    env.push(("OPENLIVENESS_STEP_WINDOW_MS", STEP_WINDOW_MS.to_string()));
    let b = spawn_process_replica(&a, &env).await;
    let creds = a
        .create_account(NewAccount {
            video_enabled: true,
            ..account("acme")
        })
        .await;
    let token = a.token(&creds).await;
    let (sid, on_a) = one_try_session(&a, &token).await;
    let on_b = on_a.replacen(&a.base, &b.base, 1);
    assert_ne!(on_a, on_b);

    // One try, one verdict, whichever replica each connection reached.
    let (mut running, refused) = race(&[on_a.clone(), on_b.clone(), on_a, on_b]).await;
    assert_eq!(
        running.len(),
        1,
        "exactly one of 4 connections runs the try"
    );
    assert_eq!(refused.len(), 3);
    assert!(
        refused.iter().all(|e| e["code"] == "SESSION_BUSY"),
        "{refused:?}"
    );
    let engine = engine();
    let (ws, msgs) = running.pop().unwrap();
    let out = client::after_session(ws, msgs, &mut Genuine::new(astronaut(&engine), 7)).await;
    if !out.passed() {
        explain(&a, &sid).await;
    }
    assert!(out.passed(), "the genuine try passes: {:?}", out.result);
    assert_eq!(b.store.session(&sid).await.unwrap().unwrap().tries_used, 1);

    // The other replica serves the verdict, its images and its audit image.
    let blobs = b.store.session(&sid).await.unwrap().unwrap().blob_keys();
    assert!(blobs.len() >= 3, "stills, video and audit image: {blobs:?}");
    for key in &blobs {
        assert!(b.blobs.get(key).await.is_ok(), "replica B reads blob {key}");
    }
    let token_b = b.token(&creds).await;
    let r = b.get_result(&token_b, &sid).await;
    r.expect("SUCCESS", "OK");
    assert!(r.body["data"]["image"]
        .as_str()
        .is_some_and(|i| i.len() > 1000));
    let audit_url = r.body["data"]["auditImageUrl"].as_str().unwrap();
    assert!(audit_url.starts_with(&b.base), "{audit_url}");
    let audit = b
        .client
        .get(audit_url)
        .header("X-ACCESS-TOKEN", &token_b)
        .send()
        .await
        .unwrap();
    assert_eq!(audit.status(), 200);
    assert!(audit.bytes().await.unwrap().starts_with(b"\xff\xd8"));

    // The second facade: a session made on A, its verdict's selfie served by B.
    let td_path = |kind: &str| {
        format!(
            "/verification/kyc/h5/liveness/{kind}/v1?partner_code={}&partner_key={}",
            creds.partner_code, creds.partner_key
        )
    };
    let r = a
        .post(
            &td_path("token"),
            None,
            json!({"success_redirect": "https://www.example.com/ok", "failure_redirect": "https://www.example.com/no"}),
        )
        .await;
    let td_token = r.body["token"].as_str().unwrap().to_owned();
    let td_session = a
        .store
        .session_by_td_token(&td_token)
        .await
        .unwrap()
        .unwrap();
    let selfie = a.blobs.put(b"\xff\xd8selfie".to_vec()).await.unwrap();
    a.store
        .finish_session(
            td_session.signature_id(),
            None,
            openliveness_store::SessionStatus::Passed,
            openliveness_store::SessionResult {
                outcome: openliveness_store::Outcome::Judged,
                score: Some(90),
                image_far_blob: Some(selfie.clone()),
                far_image_time: Some(now_ms()),
                ..openliveness_store::SessionResult::of(openliveness_store::Outcome::Judged)
            },
            now_ms(),
        )
        .await
        .unwrap();
    let r = b
        .post(&td_path("result"), None, json!({ "token": td_token }))
        .await;
    assert_eq!(r.body["code"], 200, "{}", r.body);
    assert_eq!(r.body["data"]["selfie"], "/9hzZWxmaWU=");

    // clear-data on B removes A's session images from the shared store.
    let r = b
        .send(
            reqwest::Method::GET,
            &format!("/liveness/h5/ext/v1/clear-data?signatureId={sid}"),
            Some(&token_b),
            None,
        )
        .await;
    r.expect("SUCCESS", "OK");
    for key in &blobs {
        assert!(
            matches!(
                a.blobs.get(key).await,
                Err(openliveness_store::BlobError::NotFound(_))
            ),
            "blob {key} is gone for every replica"
        );
    }
    // The retention purge on B takes the second session's selfie; nothing is left.
    let later = now_ms() + 31 * 86_400_000;
    openliveness_server::jobs::purge(b.store.as_ref(), &b.blobs, later)
        .await
        .unwrap();
    assert_eq!(
        b.blobs.keys().await.unwrap(),
        Vec::<String>::new(),
        "no image left in the object store"
    );
    b.cleanup().await;
    a.cleanup().await;
}

/// Shutdown (SIGTERM) while a try runs: the server stops accepting connections, closes a
/// live channel where no try runs with `SERVER_UNAVAILABLE`, lets the running try reach its
/// verdict, and only then ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_lets_the_running_try_finish() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let _alone = REAL_TIME.lock().await;
    let mut app = spawn_with(Backend::Sqlite, |c| {
        c.step_window_ms = STEP_WINDOW_MS;
        c.shutdown_grace_ms = 120_000;
    })
    .await;
    let creds = app.create_account(account("acme")).await;
    let token = app.token(&creds).await;
    let (sid, url) = new_session(&app, &token).await;
    let (_, idle_url) = new_session(&app, &token).await;
    let (mut idle, _) = tokio_tungstenite::connect_async(client::ws_url(&idle_url))
        .await
        .unwrap();
    let engine = engine();
    let running =
        tokio::spawn(
            async move { client::run(&url, &mut Genuine::new(astronaut(&engine), 11)).await },
        );
    // Shut down once the try's challenge runs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let status = app.store.session(&sid).await.unwrap().unwrap().status;
        if matches!(
            status,
            openliveness_store::SessionStatus::Challenged
                | openliveness_store::SessionStatus::Capturing
        ) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the try never started: {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let server = app.shut_down();

    // The channel without a try is told why it closes.
    let told = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(m)) = idle.next().await {
            if let Message::Text(t) = m {
                return Some(serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap());
            }
        }
        None
    })
    .await
    .expect("the idle channel hears within 10 s")
    .expect("an error message");
    assert_eq!(told["code"], "SERVER_UNAVAILABLE", "{told}");
    assert!(
        told["message"].as_str().unwrap().contains("restarting"),
        "{told}"
    );
    // No new connection is accepted while the try finishes.
    let refused = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        app.client.get(format!("{}/healthz", app.base)).send(),
    )
    .await
    .expect("a refused connection fails fast");
    assert!(
        refused.is_err(),
        "new connections are refused while draining"
    );
    assert!(
        !server.is_finished(),
        "the server waits for the running try"
    );

    // The running try reaches its verdict, recorded; then the server ends.
    let out = running.await.unwrap();
    assert!(
        out.result.is_some(),
        "the try got its verdict: {:?}",
        out.messages
    );
    tokio::time::timeout(std::time::Duration::from_secs(30), server)
        .await
        .expect("the server ends once the try is done")
        .unwrap()
        .unwrap();
    let s = app.store.session(&sid).await.unwrap().unwrap();
    assert!(s.result.is_some(), "the verdict is recorded");
    app.cleanup().await;
}

/// The session page gives a browser without one its device cookie, private to the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_page_sets_a_device_cookie_once() {
    let app = app().await;
    let creds = app.create_account(account("acme")).await;
    let token = app.token(&creds).await;
    let (_, url) = new_session(&app, &token).await;
    let first = app.client.get(&url).send().await.unwrap();
    let cookie = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("ol_device="))
        .expect("a device cookie")
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Path=/h5/liveness"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_owned();
    let again = app
        .client
        .get(&url)
        .header("cookie", pair)
        .send()
        .await
        .unwrap();
    assert!(!again
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|v| v.to_str().unwrap_or("").starts_with("ol_device=")));
    app.cleanup().await;
}

/// Prints what the vision engine measures on the rendered subject (calibration aid). It
/// keeps both cores busy for a while, so it takes its turn with the real-time tests.
#[test]
fn rendered_subject_signals() {
    use support::render::Pose;
    use support::subject::Act;
    let _alone = REAL_TIME.blocking_lock();
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
            "yaw+45",
            Act {
                pose: Pose {
                    yaw: 45.0,
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
    let jaws = [0.2f32, 0.3, 0.45].map(|j| Act {
        pose: Pose {
            jaw: j,
            ..Pose::FRONT
        },
        ..Act::REST
    });
    let cases = cases.into_iter().chain([
        ("jaw0.2", jaws[0]),
        ("jaw0.3", jaws[1]),
        ("jaw0.45", jaws[2]),
    ]);
    for (name, act) in cases {
        let img = subject.frame(act, 1);
        img.save(format!("/tmp/subject-{name}.png")).ok();
        let frame = openliveness_vision::Frame::from_image(img);
        let a = engine.analyze(&frame).unwrap();
        let f = &a.faces[0];
        let (nose, eyes) = openliveness_server::live::observe::depth_ratios(&f.mesh);
        let truth = subject.head.projected(act.pose);
        let d = |a: usize, b: usize| {
            ((truth[a].0 - truth[b].0).powi(2) + (truth[a].1 - truth[b].1).powi(2)).sqrt()
        };
        println!(
            "{name:9} rendered: nose_ratio {:.3} eye_ratio {:.3} nose_off {:.3}",
            d(48, 278) / d(234, 454),
            d(33, 263) / d(234, 454),
            (truth[1].0 - (truth[234].0 + truth[454].0) / 2.0) / (d(234, 454) / 2.0)
        );
        println!(
            "{name:9} faces {} yaw {:6.1} pitch {:6.1} eye {:.3}/{:.3} mouth {:.3} size {:.3} nose_off {:?} nose_ratio {:?} eye_ratio {:?}",
            a.faces.len(), f.signals.yaw, f.signals.pitch, f.signals.left_eye_openness, f.signals.right_eye_openness,
            f.signals.mouth_openness, f.signals.face_size, openliveness_server::live::observe::nose_offset(&f.mesh), nose, eyes
        );
    }
}
