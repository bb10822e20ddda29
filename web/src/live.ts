// The live channel client: one WebSocket, messages in order, binary messages framed by protocol.ts.

import { encodeBinary, parseServer, type Kind, type ServerMsg } from './protocol';

export interface LiveHandlers {
  onMessage(m: ServerMsg): void;
  /** The socket closed; `expected` when the page or a terminal message closed it. */
  onClose(expected: boolean, code: number): void;
}

export class Live {
  private ws: WebSocket | null = null;
  private closing = false;
  private sendChain: Promise<void> = Promise.resolve();
  /** Bytes the page handed to the socket, for the upload indicator. */
  sentBytes = 0;
  /** Capture-to-send delay of the last binary message (encoding and queueing on the page). */
  lagMs = 0;
  /** Frames dropped because they were too late. */
  dropped = 0;

  constructor(
    private readonly url: string,
    private readonly handlers: LiveHandlers,
  ) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): Promise<void> {
    this.closing = false;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        resolve();
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        const m = parseServer(ev.data);
        if (m.type === 'invalid') return;
        if (m.type === 'expired' || m.type === 'error' || m.type === 'lockedOut') this.closing = true;
        this.handlers.onMessage(m);
      };
      ws.onclose = (ev) => {
        if (this.ws === ws) this.ws = null;
        if (!opened) reject(new Error(`WebSocket closed before opening (code ${ev.code})`));
        else this.handlers.onClose(this.closing, ev.code);
      };
      ws.onerror = () => {
        // onclose follows with the code.
      };
    });
  }

  sendText(text: string): void {
    // Text goes through the same chain as binary messages so the order is the page's order.
    this.sendChain = this.sendChain.then(() => {
      this.ws?.send(text);
    });
  }

  /**
   * Queues a binary message whose payload is still being encoded; order is kept. A message
   * that could not leave within `maxLagMs` of its capture is dropped: a stalled page must not
   * send a burst of stale frames (the server limits the rate and checks capture against arrival).
   */
  sendBinary(kind: Kind, seq: number, captureMs: number, payload: Promise<Uint8Array | null>, maxLagMs = Infinity): Promise<void> {
    this.sendChain = this.sendChain.then(async () => {
      const bytes = await payload;
      if (!bytes || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      if (Date.now() - captureMs > maxLagMs) {
        this.dropped++;
        return;
      }
      const msg = encodeBinary(kind, seq, captureMs, bytes);
      this.ws.send(msg);
      this.sentBytes += msg.length;
      this.lagMs = Date.now() - captureMs;
    });
    return this.sendChain;
  }

  /** Resolves once everything queued was handed to the socket. */
  flushed(): Promise<void> {
    return this.sendChain;
  }

  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  close(): void {
    this.closing = true;
    this.ws?.close(1000);
    this.ws = null;
  }
}
