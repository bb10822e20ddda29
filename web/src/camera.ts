// Opening the camera, and naming the real cause when it fails (never a generic "failed").

import type { Key } from './i18n';

export type CameraFailure = {
  /** `denied`: the user or the browser refused permission; `issue`: anything else. */
  kind: 'denied' | 'issue';
  key: Key;
  /** The browser's own error name and message, shown to the user as the cause. */
  detail: string;
};

export async function openCamera(): Promise<MediaStream> {
  if (!window.isSecureContext) throw failure('issue', 'camInsecure', 'not a secure context');
  if (!navigator.mediaDevices?.getUserMedia) throw failure('issue', 'camUnsupported', 'navigator.mediaDevices.getUserMedia is missing');
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
    });
  } catch (e) {
    throw describe(e);
  }
}

function failure(kind: CameraFailure['kind'], key: Key, detail: string): CameraFailure {
  return { kind, key, detail };
}

export function isCameraFailure(e: unknown): e is CameraFailure {
  return typeof e === 'object' && e !== null && 'kind' in e && 'key' in e && 'detail' in e;
}

/** Maps a getUserMedia rejection to what the user is told; `detail` keeps the browser's words. */
export function describe(e: unknown): CameraFailure {
  const name = e instanceof Error || (typeof e === 'object' && e !== null && 'name' in e) ? String((e as Error).name) : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  const detail = message ? `${name}: ${message}` : name;
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
    case 'SecurityError':
      return failure('denied', 'camNotAllowed', detail);
    case 'NotFoundError':
    case 'DevicesNotFoundError':
      return failure('issue', 'camNotFound', detail);
    case 'NotReadableError':
    case 'TrackStartError':
      return failure('issue', 'camNotReadable', detail);
    case 'OverconstrainedError':
    case 'ConstraintNotSatisfiedError':
      return failure('issue', 'camOverconstrained', detail);
    case 'AbortError':
      return failure('issue', 'camAborted', detail);
    case 'TypeError':
      return failure('issue', 'camUnsupported', detail);
    default:
      return failure('issue', 'camOther', detail);
  }
}
