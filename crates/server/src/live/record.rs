//! Recording a try's verdict: the stills, video and audit image as sealed blobs, the
//! verdict and its signals in the session row. The newest try's result is the session's.

use openliveness_liveness::{Challenge, QualityOutcome, Verdict};
use openliveness_store::{
    BlobError, Outcome, QualityIssue, SessionResult, SessionStatus, StoreError,
};

use super::audit;
use super::conn::{Conn, TryData};
use crate::state::now_ms;

/// How a try with this verdict ended, as the store records it.
pub fn outcome(verdict: &Verdict) -> Outcome {
    verdict
        .quality
        .map_or(Outcome::Judged, |q| Outcome::Quality(quality_issue(q)))
}

/// The store's word for a quality gate of the liveness core.
pub fn quality_issue(q: QualityOutcome) -> QualityIssue {
    match q {
        QualityOutcome::NoFace => QualityIssue::NoFace,
        QualityOutcome::TooManyFaces => QualityIssue::TooManyFaces,
        QualityOutcome::InvalidFace => QualityIssue::InvalidFace,
        QualityOutcome::Occluded => QualityIssue::Occluded,
        QualityOutcome::PoorQuality => QualityIssue::PoorQuality,
    }
}

/// Why a verdict was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot store an image: {0}")]
    Blob(#[from] BlobError),
    #[error("cannot record the verdict: {0}")]
    Store(#[from] StoreError),
}

impl RecordError {
    /// Another connection holds the session's live lease now; its try counts, not this one.
    pub fn lease_lost(&self) -> bool {
        matches!(self, RecordError::Store(StoreError::LeaseLost))
    }
}

/// Stores the try's images and records its verdict (fenced by the connection's live lease).
/// When the verdict cannot be recorded, the images stored for it are deleted again.
pub async fn store_result(
    conn: &Conn,
    challenge: &Challenge,
    verdict: &Verdict,
    data: TryData,
) -> Result<(), RecordError> {
    let blobs = &conn.state.blobs;
    let mut written = Vec::new();
    let recorded = record(conn, challenge, verdict, data, &mut written).await;
    if recorded.is_err() {
        for key in written {
            if let Err(e) = blobs.delete(&key).await {
                tracing::warn!(blob = %key, error = %e, "could not delete an unrecorded blob");
            }
        }
    }
    recorded
}

async fn record(
    conn: &Conn,
    challenge: &Challenge,
    verdict: &Verdict,
    data: TryData,
    written: &mut Vec<String>,
) -> Result<(), RecordError> {
    let state = &conn.state;
    let blobs = &state.blobs;
    let mut put = async |bytes: Vec<u8>| -> Result<String, RecordError> {
        let key = blobs.put(bytes).await?;
        written.push(key.clone());
        Ok(key)
    };

    // The audit image: stills and sampled frames with face box and mesh drawn.
    let mut tiles = Vec::new();
    for still in [&data.far, &data.near].into_iter().flatten() {
        tiles.push(audit::tile(&still.frame, still.face.as_ref()));
    }
    let samples = data.samples;
    let sample_tiles = tokio::task::spawn_blocking(move || {
        samples
            .iter()
            .filter_map(|(jpeg, face)| {
                let frame = openliveness_vision::decode_image(jpeg).ok()?;
                Some(audit::tile(&frame, face.as_ref()))
            })
            .take(2)
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    tiles.extend(sample_tiles);
    let montage = tokio::task::spawn_blocking(move || audit::montage(&tiles))
        .await
        .ok()
        .flatten();

    let far_time = data.far.as_ref().map(|s| s.obs.capture_ms);
    let near_time = data.near.as_ref().map(|s| s.obs.capture_ms);
    let image_far_blob = match data.far {
        Some(s) => Some(put(s.jpeg).await?),
        None => None,
    };
    let image_near_blob = match data.near {
        Some(s) => Some(put(s.jpeg).await?),
        None => None,
    };
    let video_blob = if conn.account.video_enabled && !data.video.is_empty() {
        Some(put(data.video).await?)
    } else {
        None
    };
    let audit_blob = match montage {
        Some(m) => Some(put(m).await?),
        None => None,
    };
    let quality = verdict.quality.is_some();
    let signals = serde_json::json!({
        "tryNo": conn.live.try_no(),
        "nonce": challenge.nonce(),
        "challenge": challenge.actions().iter().map(|a| a.name()).collect::<Vec<_>>(),
        // The follow part's targets, by step ([x, y], user's view), null for actions.
        "targets": challenge.targets().iter().map(|t| t.map(|t| [t.x(), t.y()])).collect::<Vec<_>>(),
        "frames": data.frames.len(),
        // Server time this try cost: measuring frames and stills, and deciding.
        "costMs": {
            "measure": (data.measure_ms * 10.0).round() / 10.0,
            "decide": (data.decide_ms * 100.0).round() / 100.0,
        },
        "verdict": verdict,
    });
    // The session as stored now: its earlier images, and whether a second device has
    // claimed the cross-device link since this connection opened.
    let current = state
        .store
        .session(conn.session.signature_id())
        .await
        .ok()
        .flatten();
    let previous = current.as_ref().map(|s| s.blob_keys()).unwrap_or_default();
    let multi_device = current
        .as_ref()
        .unwrap_or(&conn.session)
        .secondary
        .as_ref()
        .is_some_and(|l| l.claimed_at.is_some());
    state
        .store
        .finish_session(
            conn.session.signature_id(),
            conn.fence,
            if verdict.passed {
                SessionStatus::Passed
            } else {
                SessionStatus::Failed
            },
            SessionResult {
                outcome: outcome(verdict),
                score: (!quality).then_some(i64::from(verdict.score)),
                attack_type: verdict.attack_type.map(|a| i64::from(a.code())),
                signals: Some(signals.to_string()),
                image_far_blob,
                image_near_blob,
                video_blob,
                audit_blob,
                far_image_time: far_time,
                near_image_time: near_time,
                // A second device opened the cross-device link; `secondary_device`: this
                // verification was made through it.
                multi_device,
                secondary_device: conn.secondary_device,
            },
            now_ms(),
        )
        .await?;
    // An earlier try's images are superseded; they are not kept.
    for key in previous {
        if let Err(e) = blobs.delete(&key).await {
            tracing::warn!(blob = %key, error = %e, "could not delete a superseded blob");
        }
    }
    Ok(())
}
