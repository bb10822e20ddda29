// Generated from crates/server/src/live/protocol.rs: do not edit. After changing a message
// there, run `OPENLIVENESS_WRITE_WIRE=1 cargo test --workspace --lib wire_types` to rewrite.

export type ServerMsg = { "type": "session", signatureId: string, tryNo: number, triesAllowed: number, expiresAt: number, serverTime: number, locale: string | null, audio: boolean, iframe: boolean, ui: JsonValue | null, } | { "type": "challenge", nonce: string, steps: number, } | { "type": "step", index: number, total: number, action: Action, deadline: number, 
/**
 * `look` steps: where to draw the target, in the user's own view
 * (`x` towards their right, `y` up, −1…1).
 */
target?: Target, } | { "type": "guide", seq: number, tip: Tip, 
/**
 * Faces counted (the detector's last count while the face is tracked).
 */
faces: number, 
/**
 * `FaceObs::face_size`, 0 without a face.
 */
size: number, } | { "type": "seen", index: number, } | { "type": "verifying", frames: number, } | { "type": "result", passed: boolean, score: number | null, retryAllowed: boolean, triesLeft: number, redirectUrl: string | null, 
/**
 * For a rejected try: what its user can fix (`Verdict::hint` says the rule).
 */
hint?: Hint, } | { "type": "tryFailed", reason: "TIMED_OUT" | "ABANDONED" | "PROTOCOL_VIOLATION", retryAllowed: boolean, triesLeft: number, } | { "type": "expired" } | { "type": "lockedOut", lockedUntil: number, retryAfterS: number, } | { "type": "error", code: string, message: string, };
export type ClientMsg = { "type": "hello", protocol: number, } | { "type": "positioned" } | { "type": "finish" };
export type Action = "look" | "blink" | "open_mouth" | "turn_left" | "turn_right" | "nod" | "move_closer";
export type Target = { x: number, y: number, };
export type Tip = "missing" | "multiple" | "tooDark" | "notCentered" | "moveLeft" | "moveRight" | "moveUp" | "moveDown" | "tooFar" | "tooNear" | "notFrontal" | "occluded" | "keepStill" | "good";
export type Hint = { "code": "FACE_LOST" } | { "code": "TWO_FACES" } | { "code": "FACE_HIDDEN" } | { "code": "POOR_QUALITY" } | { "code": "ACTIONS_MISSED", actions: Array<string>, };
export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;
