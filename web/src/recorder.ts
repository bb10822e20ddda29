// The session video: the camera stream recorded with MediaRecorder during a try and uploaded
// in one-second pieces (protocol kind 4). The server keeps it only when the account enables
// video; everything stays under the protocol's 8 MiB limit.

const MAX_VIDEO_BYTES = 7 * 1024 * 1024;
const TYPES = ['video/webm;codecs=vp8', 'video/webm', 'video/mp4'];

export class Recorder {
  private rec: MediaRecorder | null = null;
  private bytes = 0;
  private stopped: Promise<void> = Promise.resolve();

  constructor(private readonly onChunk: (data: Promise<Uint8Array | null>) => void) {}

  start(stream: MediaStream): void {
    this.stop();
    if (typeof MediaRecorder === 'undefined') return;
    const mimeType = TYPES.find((t) => MediaRecorder.isTypeSupported(t));
    try {
      this.rec = new MediaRecorder(stream, { mimeType, videoBitsPerSecond: 300_000 });
    } catch {
      this.rec = null;
      return;
    }
    this.bytes = 0;
    const rec = this.rec;
    rec.ondataavailable = (e) => {
      if (!e.data || e.data.size === 0) return;
      if (this.bytes + e.data.size > MAX_VIDEO_BYTES) {
        if (rec.state !== 'inactive') rec.stop();
        return;
      }
      this.bytes += e.data.size;
      this.onChunk(e.data.arrayBuffer().then((b) => new Uint8Array(b), () => null));
    };
    this.stopped = new Promise((resolve) => {
      rec.onstop = () => resolve();
      rec.onerror = () => resolve();
    });
    rec.start(1000);
  }

  /** Stops recording; resolves once the last piece was handed to `onChunk`. */
  stop(): Promise<void> {
    const rec = this.rec;
    this.rec = null;
    if (!rec || rec.state === 'inactive') return Promise.resolve();
    rec.stop();
    // onstop follows the last dataavailable; do not wait for ever on a broken recorder.
    return Promise.race([this.stopped, new Promise<void>((r) => setTimeout(r, 1000))]);
  }
}
