//! One face, good enough to judge, and the same person throughout.
//!
//! Invariants: two faces already there while positioning is a quality
//! problem the user can fix; a second face that appears once the challenge
//! is running is a presentation attack (something was brought before the
//! camera). A different person in the frames or stills is an injection
//! attack (a swap), judged on at least `swap_min_samples` frames or on a
//! still, so a single blurred embedding cannot fail a genuine user.

use super::{points, Stream};
use crate::policy::Policy;
use crate::signals::{cosine_similarity, median, FaceObs, StillObs};
use crate::verdict::{AttackType, QualityOutcome, SignalReport};

pub(crate) fn check(
    stream: &Stream,
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    policy: &Policy,
) -> Vec<SignalReport> {
    let mut out = vec![face_count(stream, policy), stills_faces(far, near)];
    out.extend(quality(stream, policy));
    out.push(identity(stream, far, near, policy));
    out
}

fn face_count(stream: &Stream, policy: &Policy) -> SignalReport {
    let name = "faces.count";
    let singles = stream
        .frames
        .iter()
        .filter(|f| f.single_face().is_some())
        .count();
    let (mut n_pre, mut multi_pre, mut n_ch, mut multi_ch, mut none_ch) = (0, 0, 0, 0, 0);
    for f in &stream.frames {
        let multi = f.face_count >= 2;
        if f.arrival_ms < stream.issued_at_ms {
            n_pre += 1;
            multi_pre += usize::from(multi);
        } else {
            n_ch += 1;
            multi_ch += usize::from(multi);
            none_ch += usize::from(!multi && f.single_face().is_none());
        }
    }
    if multi_ch >= policy.second_face_min_frames.max(1) {
        if n_pre > 0 && multi_pre * 2 >= n_pre {
            return SignalReport::quality(
                name,
                Some(multi_ch as f32),
                QualityOutcome::TooManyFaces,
                format!(
                    "two or more faces from the start ({multi_pre} of {n_pre} positioning frames)"
                ),
            );
        }
        return SignalReport::attack(
            name,
            Some(multi_ch as f32),
            AttackType::Presentation,
            format!("a second face appeared in {multi_ch} frame(s) after the challenge began"),
        );
    }
    if singles < policy.min_face_frames || n_ch == 0 {
        return SignalReport::quality(
            name,
            Some(singles as f32),
            QualityOutcome::NoFace,
            format!(
                "{singles} frame(s) with one face, {n_ch} during the challenge; need {} and some",
                policy.min_face_frames
            ),
        );
    }
    let share = none_ch as f32 / n_ch as f32;
    if share > policy.max_faceless_fraction {
        return SignalReport::quality(
            name,
            Some(share),
            QualityOutcome::NoFace,
            format!("no usable face in {none_ch} of {n_ch} challenge frames"),
        );
    }
    SignalReport::ok(
        name,
        Some(share),
        0,
        format!("one face in {singles} frames; {none_ch} of {n_ch} challenge frames without"),
    )
}

fn stills_faces(far: Option<&StillObs>, near: Option<&StillObs>) -> SignalReport {
    let name = "faces.stills";
    let count = |s: Option<&StillObs>| s.map(|s| s.face_count);
    match (count(far), count(near)) {
        (_, Some(n)) if n >= 2 => SignalReport::attack(
            name,
            Some(f32::from(n)),
            AttackType::Presentation,
            "the near still shows a second face".into(),
        ),
        (Some(n), _) if n >= 2 => SignalReport::quality(
            name,
            Some(f32::from(n)),
            QualityOutcome::TooManyFaces,
            "the far still shows more than one face".into(),
        ),
        (Some(0), _) | (_, Some(0)) => SignalReport::quality(
            name,
            Some(0.0),
            QualityOutcome::NoFace,
            "a still shows no face".into(),
        ),
        _ => SignalReport::ok(
            name,
            None,
            0,
            "each still shows one face (missing stills are judged under geometry)".into(),
        ),
    }
}

fn quality(stream: &Stream, policy: &Policy) -> Vec<SignalReport> {
    let faces: Vec<&FaceObs> = stream
        .frames
        .iter()
        .filter_map(|f| f.single_face())
        .collect();
    if faces.is_empty() {
        return Vec::new();
    }
    let med = |get: fn(&FaceObs) -> Option<f32>| median(faces.iter().filter_map(|f| get(f)));
    let mut out = Vec::new();
    let gate = |name: &str, value: Option<f32>, bad: bool, kind, why: String, ok: String| {
        if bad {
            SignalReport::quality(name, value, kind, why)
        } else {
            SignalReport::ok(name, value, 0, ok)
        }
    };
    let size = med(FaceObs::size);
    out.push(gate(
        "quality.size",
        size,
        size.is_none_or(|s| s < policy.min_face_size),
        QualityOutcome::InvalidFace,
        format!(
            "the face is too small (median size below {})",
            policy.min_face_size
        ),
        "face size fine".into(),
    ));
    let off = med(FaceObs::centre_offset);
    out.push(gate(
        "quality.position",
        off,
        off.is_none_or(|o| o > policy.max_centre_offset),
        QualityOutcome::InvalidFace,
        "the face is not in the frame".into(),
        "face position fine".into(),
    ));
    let hidden = faces
        .iter()
        .filter(|f| f.eye().is_none() || f.mouth().is_none())
        .count();
    let share = hidden as f32 / faces.len() as f32;
    out.push(gate(
        "quality.occlusion",
        Some(share),
        share > policy.max_occluded_fraction,
        QualityOutcome::Occluded,
        format!(
            "eyes or mouth not measurable in {hidden} of {} frames",
            faces.len()
        ),
        format!(
            "eyes and mouth measurable in {} of {} frames",
            faces.len() - hidden,
            faces.len()
        ),
    ));
    let sharp = med(FaceObs::sharpness);
    out.push(gate(
        "quality.sharpness",
        sharp,
        sharp.is_none_or(|s| s < policy.min_sharpness),
        QualityOutcome::PoorQuality,
        "the face is too blurred".into(),
        "sharp enough".into(),
    ));
    let light = med(FaceObs::brightness);
    out.push(gate(
        "quality.brightness",
        light,
        light.is_none_or(|b| b < policy.min_brightness || b > policy.max_brightness),
        QualityOutcome::PoorQuality,
        "the face is too dark or too bright".into(),
        "lighting fine".into(),
    ));
    out
}

fn identity(
    stream: &Stream,
    far: Option<&StillObs>,
    near: Option<&StillObs>,
    policy: &Policy,
) -> SignalReport {
    let name = "identity.same_person";
    let frame_embs: Vec<&[f32]> = stream
        .frames
        .iter()
        .filter_map(|f| f.single_face().and_then(FaceObs::embedding))
        .collect();
    let far_emb = far.and_then(StillObs::embedding);
    // The selfie is the far still, so it is the identity everything must match.
    let (reference, frame_samples) = match (far_emb, frame_embs.split_first()) {
        (Some(r), _) => (r, frame_embs.as_slice()),
        (None, Some((first, rest))) => (*first, rest),
        (None, None) => {
            return SignalReport::unmeasured(
                name,
                policy.identity_unmeasured_penalty,
                policy.identity_unmeasured_penalty,
                "no embeddings to compare".into(),
            )
        }
    };
    let near_sim = near
        .and_then(StillObs::embedding)
        .and_then(|e| cosine_similarity(reference, e));
    let sims: Vec<f32> = frame_samples
        .iter()
        .filter_map(|e| cosine_similarity(reference, e))
        .collect();
    if sims.len() + usize::from(near_sim.is_some()) == 0 {
        return SignalReport::unmeasured(
            name,
            policy.identity_unmeasured_penalty,
            policy.identity_unmeasured_penalty,
            "only one embedding: nothing to compare it with".into(),
        );
    }
    let low = sims
        .iter()
        .filter(|s| **s < policy.same_person_attack_below)
        .count();
    let near_low = near_sim.is_some_and(|s| s < policy.same_person_attack_below);
    let min = sims.iter().copied().chain(near_sim).fold(1.0f32, f32::min);
    if low >= policy.swap_min_samples.max(1) || near_low {
        return SignalReport::attack(
            name,
            Some(min),
            AttackType::Injection,
            format!("another person: {low} frame(s){} below similarity {} to the selfie (lowest {min:.2})", if near_low { " and the near still" } else { "" }, policy.same_person_attack_below),
        );
    }
    let band = policy.same_person_ok - policy.same_person_attack_below;
    let share = if band > 0.0 {
        (policy.same_person_ok - min) / band
    } else {
        0.0
    };
    SignalReport::deduct(
        name,
        Some(min),
        policy.identity_weight,
        points(policy.identity_weight, share),
        format!(
            "lowest similarity to the selfie {min:.2} over {} sample(s); ≥ {} costs nothing",
            sims.len() + usize::from(near_sim.is_some()),
            policy.same_person_ok
        ),
    )
}
