//! Every threshold and weight of the verdict, in one struct with documented
//! defaults. docs/liveness.md explains each one; keep the two in step.
//!
//! Invariants: defaults are a starting point, not calibrated on real attacks
//! (see docs/liveness.md, "What is not known"); a weight is the most points
//! its signal can take off the score; times are milliseconds, angles degrees.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Score needed to pass; per account. Default 50.
    pub pass_threshold: u8,

    // --- faces and quality ---
    /// Frames with exactly one face needed at all. Default 5.
    pub min_face_frames: usize,
    /// Share of challenge frames allowed without a usable face. Default 0.3.
    pub max_faceless_fraction: f32,
    /// Challenge frames with 2+ faces that make "a second face". Default 2.
    pub second_face_min_frames: usize,
    /// Median face size below this is too far away. Default 0.12.
    pub min_face_size: f32,
    /// Median centre offset above this is off-frame. Default 0.8.
    pub max_centre_offset: f32,
    /// Median Laplacian variance below this is too blurred. Default 4.0.
    pub min_sharpness: f32,
    /// Median face brightness allowed range. Defaults 0.12 and 0.95.
    pub min_brightness: f32,
    pub max_brightness: f32,
    /// Share of face frames without eyes or mouth measured. Default 0.5.
    pub max_occluded_fraction: f32,

    // --- baseline and actions ---
    /// Positioning frames needed for the baseline; fewer and the baseline is
    /// the median of all frames. Default 3.
    pub min_baseline_frames: usize,
    /// Blink: eye openness at or below this share of the baseline. Default 0.5.
    pub blink_closed_ratio: f32,
    /// Blink: recovered at or above this share of the baseline. Default 0.8.
    pub blink_open_ratio: f32,
    /// Open mouth: openness (inner-lip gap over mouth width) above baseline
    /// by this much. Default 0.07: the rendered 3-D head with its jaw dropped
    /// reads +0.08–0.09 (the landmark model follows a rendered mouth only in
    /// part), its rest frames vary by ±0.02.
    pub mouth_open_delta: f32,
    /// Open mouth: back at rest below baseline plus this. Default 0.035.
    pub mouth_rest_delta: f32,
    /// Open mouth is judged only on frames within this many degrees of the
    /// baseline's yaw and pitch: turning reads as opening. Default 10°.
    pub mouth_frontal_deg: f32,
    /// Turns: yaw change from the baseline. Default 15°.
    pub turn_yaw_deg: f32,
    /// Nod: pitch change (either way) from the baseline. Default 10°.
    pub nod_pitch_deg: f32,
    /// Nod is judged only on frames within this many degrees of the
    /// baseline's yaw: the landmark model reads a turned head as pitched too
    /// (the rendered head turned 45° reads 7–8° of pitch). Default 12°.
    pub nod_max_yaw_deg: f32,
    /// "Back" means within this share of the threshold. Default 0.5.
    pub return_fraction: f32,
    /// Move closer: face size over baseline. Default 1.3.
    pub closer_scale: f32,
    /// An onset this much before the reveal still counts (timestamp
    /// granularity). Default 100 ms.
    pub reveal_slack_ms: i64,
    /// An onset this much after the window closes still counts (latency of
    /// the next reveal). Default 600 ms.
    pub window_grace_ms: i64,
    /// A turn, nod or blink may come back this long after the window. Default 1500 ms.
    pub return_grace_ms: i64,
    /// A requested action (not a blink) starting this long before its reveal
    /// is an answer to a question not yet asked: injection. Default 1500 ms.
    pub anticipation_lookback_ms: i64,
    /// Points off per step not seen in its window. Default 55.
    pub missing_step_penalty: u8,
    /// Cap on the action deductions, so a partial answer is a plain
    /// failure and only "nothing answered" reaches 0. Default 70.
    pub max_action_penalty: u8,
    /// Static picture: every range below these over the challenge. Defaults
    /// 3.0°, 0.05 (eye ratio), 0.08 (relative size), 0.05 (mouth): above the
    /// landmark model's jitter on a still photo with camera noise (measured:
    /// yaw 1.4°, pitch 2.4°, eyes 0.024, mouth 0.033, size 0.061), far below
    /// any requested action.
    pub static_pose_range_deg: f32,
    pub static_eye_range: f32,
    pub static_size_range: f32,
    pub static_mouth_range: f32,

    // --- the follow part (continuous challenge) ---
    /// Head yaw and pitch, from the baseline, that a target at full reach
    /// asks for; the measured path is expressed in these units, and one
    /// gain per try absorbs how far this person turns. Defaults 20° and 12°.
    pub follow_yaw_deg: f32,
    pub follow_pitch_deg: f32,
    /// The lag between the server's path and the measured one is searched
    /// in this range (reveal → frame on the server clock: downlink, reaction,
    /// movement, uplink). Below `follow_min_lag_ms` no person could have seen
    /// the target yet: injection. Defaults 150, 1600 ms.
    pub follow_min_lag_ms: i64,
    pub follow_max_lag_ms: i64,
    /// After the lag, a target's pose is measured once this share of its
    /// hold has passed (the movement itself is skipped). Default 0.35.
    pub follow_settle_fraction: f32,
    /// Correlation of the measured path with the server's, at the best lag:
    /// below `follow_unsure_below` the head did not follow at all (attack
    /// type 3); below `follow_min_correlation` it costs
    /// `follow_weak_penalty`. Defaults 0.5, 0.75, 30.
    pub follow_unsure_below: f32,
    pub follow_min_correlation: f32,
    pub follow_weak_penalty: u8,
    /// One gain (measured over asked, least squares) for the whole path:
    /// below `follow_min_gain` the head barely moved. Default 0.3.
    pub follow_min_gain: f32,
    /// A target is reached when the head points within this angle of its
    /// direction and moved at least `follow_min_reach` of the gain's
    /// expectation; the centre when it came back within `follow_centre_slack`
    /// of the gain. Defaults 35°, 0.4, 0.5.
    pub follow_max_angle_deg: f32,
    pub follow_min_reach: f32,
    pub follow_centre_slack: f32,
    /// Points off per target not reached. Default 30: one miss passes, two fail.
    pub follow_miss_penalty: u8,

    // --- replays across sessions ---
    /// A move of the follow part looks like another session's when this many
    /// consecutive frames of it match, in order and at a camera's pace, the
    /// frames of one earlier session. Reported, not judged (exact bytes are
    /// judged). Default 5.
    pub replay_min_run: usize,
    /// ...provided the head moved by at least this much over the run (yaw or
    /// pitch range): someone at rest at the same desk can look alike twice.
    /// Default 4°.
    pub replay_min_motion_deg: f32,

    // --- joins (checks/joins.rs) ---
    /// A jump: the pose (yaw and pitch together) changes by at least
    /// `joins_jump_deg` between two consecutive frames at most
    /// `joins_max_gap_ms` apart, while the steps just before and after it
    /// are each at most `joins_still_share` of it (or `joins_still_deg`,
    /// whichever is more), as where two clips are spliced. Defaults 10°,
    /// 0.2, 2°, 200 ms.
    pub joins_jump_deg: f32,
    pub joins_still_share: f32,
    pub joins_still_deg: f32,
    pub joins_max_gap_ms: i64,
    /// Jumps in one try judged as injection; fewer are reported. A quick
    /// genuine turn sampled at an unlucky moment shows one. Default 2.
    pub joins_attack_count: usize,

    // --- stream timing ---
    /// Frames per second over the challenge, at least (arrivals from the
    /// first to the last challenge frame); the protocol asks for 8–15.
    /// Below it actions and lags cannot be measured: a quality outcome.
    /// Default 6.
    pub min_frame_rate: f32,
    /// Challenge-phase frames declared captured this long before the
    /// challenge existed. Default 250 ms.
    pub pre_challenge_slack_ms: i64,
    /// More pre-challenge frames than this is injection. Default 2.
    pub max_pre_challenge_frames: usize,
    /// |median(arrival − capture)| above this: not this session's clock. Default 60 000 ms.
    pub max_clock_offset_ms: i64,
    /// A frame's lag beyond the median lag by more than this is "skewed". Default 1500 ms.
    pub clock_tolerance_ms: i64,
    /// Share of skewed frames that is injection. Default 0.1.
    pub max_skewed_fraction: f32,
    /// |capture clock rate / arrival clock rate − 1| above this. Default 0.1.
    pub max_clock_rate_error: f32,
    /// The rate is judged only over at least this much capture time. Default 3000 ms.
    pub min_rate_span_ms: i64,
    /// Arrivals closer than this are one burst. Default 8 ms.
    pub burst_gap_ms: i64,
    /// A burst of this many frames is injection. Default 10.
    pub burst_attack_frames: usize,
    /// Points off for a smaller burst (3+ frames). Default 5.
    pub burst_penalty: u8,
    /// An arrival gap longer than this is a gap. Default 1500 ms.
    pub max_gap_ms: i64,
    /// Points off per gap, and their cap. Defaults 5 and 15.
    pub gap_penalty: u8,
    pub max_gap_penalty: u8,
    /// Share of frames repeating the previous frame's bytes that is
    /// injection (a frozen feed); fewer repeats cost `stall_penalty`. Defaults 0.2, 5.
    pub max_stall_fraction: f32,
    pub stall_penalty: u8,

    // --- identity ---
    /// Similarity to the reference below this is another person. Default 0.7.
    pub same_person_attack_below: f32,
    /// Similarity at or above this costs nothing. Default 0.8.
    pub same_person_ok: f32,
    /// Frame samples below `same_person_attack_below` that make a swap. Default 2.
    pub swap_min_samples: usize,
    /// Most points off in the band between the two. Default 15.
    pub identity_weight: u8,
    /// Points off when fewer than two embeddings exist. Default 30.
    pub identity_unmeasured_penalty: u8,

    // --- 3-D geometry ---
    /// Near still's face size over the far still's, at least. Default 1.3.
    pub min_far_near_scale: f32,
    /// Depth gain (ratio growth per unit of scale growth, as the landmark
    /// model measures it) below this is as flat as a picture: an attack when
    /// no head turn showed parallax, the full `depth_weight` off otherwise.
    /// Default 0.01.
    pub flat_gain_max: f32,
    /// Depth gain at or above this costs nothing. Default 0.05 (the rendered
    /// 3-D head measures about 0.05 for a true gain of 0.15).
    pub depth_gain_ok: f32,
    /// Most points off between the two. Default 15.
    pub depth_weight: u8,
    /// Points off when the stills cannot be compared. Default 55.
    pub missing_still_penalty: u8,
    /// Points off when the stills lack the ratios. Default 30.
    pub depth_unmeasured_penalty: u8,
    /// Parallax is judged on frames turned at least this far. Default 12°.
    pub parallax_min_yaw_deg: f32,
    /// Median nose-offset change per sin(yaw change) below this: flat. Default 0.1.
    pub flat_parallax_max: f32,
    /// At or above this costs nothing. Default 0.3.
    pub parallax_ok: f32,
    pub parallax_weight: u8,
    /// A still is matched to the nearest frame within this time. Default 700 ms.
    pub still_match_ms: i64,
    /// A matched frame's face size may differ from the still's by this share. Default 0.35.
    pub still_size_tolerance: f32,
    /// Points off for a still no frame corroborates. Default 10.
    pub uncorroborated_still_penalty: u8,

    // --- passive models (weak) ---
    /// Anti-spoof probability: full deduction at or below `low`, none at or
    /// above `high`, linear between. Defaults 0.3, 0.7, weight 8.
    pub anti_spoof_low: f32,
    pub anti_spoof_high: f32,
    pub anti_spoof_weight: u8,
    /// Replay model, same shape. Defaults 0.5, 0.9, weight 7.
    pub replay_low: f32,
    pub replay_high: f32,
    pub replay_weight: u8,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            pass_threshold: 50,
            min_face_frames: 5,
            max_faceless_fraction: 0.3,
            second_face_min_frames: 2,
            min_face_size: 0.12,
            max_centre_offset: 0.8,
            min_sharpness: 4.0,
            min_brightness: 0.12,
            max_brightness: 0.95,
            max_occluded_fraction: 0.5,
            min_baseline_frames: 3,
            blink_closed_ratio: 0.5,
            blink_open_ratio: 0.8,
            mouth_open_delta: 0.07,
            mouth_rest_delta: 0.035,
            mouth_frontal_deg: 10.0,
            turn_yaw_deg: 15.0,
            nod_pitch_deg: 10.0,
            nod_max_yaw_deg: 12.0,
            return_fraction: 0.5,
            closer_scale: 1.3,
            reveal_slack_ms: 100,
            window_grace_ms: 600,
            return_grace_ms: 1_500,
            anticipation_lookback_ms: 1_500,
            missing_step_penalty: 55,
            max_action_penalty: 70,
            static_pose_range_deg: 3.0,
            static_eye_range: 0.05,
            static_size_range: 0.08,
            static_mouth_range: 0.05,
            follow_yaw_deg: 20.0,
            follow_pitch_deg: 12.0,
            follow_min_lag_ms: 150,
            follow_max_lag_ms: 1_600,
            follow_settle_fraction: 0.35,
            follow_unsure_below: 0.5,
            follow_min_correlation: 0.75,
            follow_weak_penalty: 30,
            follow_min_gain: 0.3,
            follow_max_angle_deg: 30.0,
            follow_min_reach: 0.4,
            follow_centre_slack: 0.5,
            follow_miss_penalty: 30,
            min_frame_rate: 6.0,
            replay_min_run: 5,
            replay_min_motion_deg: 4.0,
            joins_jump_deg: 10.0,
            joins_still_share: 0.2,
            joins_still_deg: 2.0,
            joins_max_gap_ms: 200,
            joins_attack_count: 2,
            pre_challenge_slack_ms: 250,
            max_pre_challenge_frames: 2,
            max_clock_offset_ms: 60_000,
            clock_tolerance_ms: 1_500,
            max_skewed_fraction: 0.1,
            max_clock_rate_error: 0.1,
            min_rate_span_ms: 3_000,
            burst_gap_ms: 8,
            burst_attack_frames: 10,
            burst_penalty: 5,
            max_gap_ms: 1_500,
            gap_penalty: 5,
            max_gap_penalty: 15,
            max_stall_fraction: 0.2,
            stall_penalty: 5,
            same_person_attack_below: 0.7,
            same_person_ok: 0.8,
            swap_min_samples: 2,
            identity_weight: 15,
            identity_unmeasured_penalty: 30,
            min_far_near_scale: 1.3,
            flat_gain_max: 0.01,
            depth_gain_ok: 0.05,
            depth_weight: 15,
            missing_still_penalty: 55,
            depth_unmeasured_penalty: 30,
            parallax_min_yaw_deg: 12.0,
            flat_parallax_max: 0.1,
            parallax_ok: 0.3,
            parallax_weight: 10,
            still_match_ms: 700,
            still_size_tolerance: 0.35,
            uncorroborated_still_penalty: 10,
            anti_spoof_low: 0.3,
            anti_spoof_high: 0.7,
            anti_spoof_weight: 8,
            replay_low: 0.5,
            replay_high: 0.9,
            replay_weight: 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_their_defaults() {
        let p: Policy = serde_json::from_str(r#"{"pass_threshold": 70}"#).unwrap();
        assert_eq!(p.pass_threshold, 70);
        assert_eq!(p.turn_yaw_deg, Policy::default().turn_yaw_deg);
    }

    #[test]
    fn one_missing_step_always_fails_and_only_silence_reaches_zero() {
        let p = Policy::default();
        assert!(100 - p.missing_step_penalty < p.pass_threshold);
        assert!(p.max_action_penalty < 100);
        // Weak models together cannot fail a session on their own.
        assert!(p.anti_spoof_weight + p.replay_weight < 100 - p.pass_threshold);
    }
}
