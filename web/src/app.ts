// The page's flow: loading → camera permission → positioning → challenge → stills → verifying
// → result (or timeout, expiry, cross-device). The server decides; the page guides and uploads.

import { readBoot, socketUrl, type Boot } from './boot';
import { isCameraFailure, openCamera, type CameraFailure } from './camera';
import { background, button, h, icon, styled } from './dom';
import { FrameRing, Steadiness, TipHold, type Tip } from './guidance';
import { initialFlow, reduce, type Effect, type FlowEvent, type FlowState } from './flow';
import { isCentre } from './follow';
import { format, forDesktop, pickLocale, RTL, STRINGS, type Key, type Locale, type Strings } from './i18n';
import { Live } from './live';
import { clearMarks, mark } from './marks';
import { resolveLook, resultButtons, type Look } from './look';
import { finish, hello, Kind, positioned, secondsLeft, type Action, type GuideMsg, type ResultHint, type ResultMsg, type ServerMsg, type StepMsg } from './protocol';
import { qrCanvas } from './qr';
import { Recorder } from './recorder';
import { Speaker } from './speech';
import { View } from './view';

/** Frames go up at 9–10 per second (the server wants 8–15, and allows 1200 per 120-s try). */
const FRAME_INTERVAL_MS = 95;
/** The server refuses more than 1200 frames in a try; a try that long times out anyway. */
const MAX_FRAMES_PER_TRY = 1150;
/** A frame that could not leave within this long after its capture is dropped, not sent late. */
const MAX_FRAME_LAG_MS = 400;
/** The capture loop's period; the preview itself is the video element. */
const LOOP_INTERVAL_MS = 45;
/** Frames the server called good in a row before the page asks for the challenge (about a
 * second of frames). */
const STEADY_FRAMES = 9;
/** Sent frames kept as pictures until the server's guide for them comes back (the stills are
 * chosen among them): about 0.75 s of frames. */
const FRAMES_KEPT = 8;
/** The near still must be ≥ 1.3× the far one on the server's mesh; the page aims a little higher. */
const NEAR_TARGET = 1.4;
/** The server allows 15 s after the last deadline for the stills and `finish`; the page keeps
 * a wide margin, because the server reads `finish` only after the frames queued before it. */
const NEAR_PHASE_MS = 8_000;
const VERIFY_WATCHDOG_MS = 30_000;
const RESULT_COUNTDOWN_S = 5;
const MAX_FRAME_SIDE = 640;

const ACTION_KEYS: Record<Action | 'near', Key> = {
  look: 'actLook',
  blink: 'actBlink',
  open_mouth: 'actOpenMouth',
  turn_left: 'actTurnLeft',
  turn_right: 'actTurnRight',
  nod: 'actNod',
  move_closer: 'actMoveCloser',
  near: 'actNear',
};

interface Candidate {
  canvas: HTMLCanvasElement;
  captureMs: number;
  seq: number;
  size: number;
}

export class App {
  private readonly boot: Boot;
  private locale: Locale;
  private s: Strings;
  private look: Look;
  private readonly view: View;
  private readonly speaker: Speaker;
  private live: Live | null = null;
  private stream: MediaStream | null = null;
  private readonly recorder = new Recorder((data) => {
    void this.live?.sendBinary(Kind.VideoChunk, ++this.videoSeq, Date.now(), data);
  });
  private videoSeq = 0;

  /** The try's flow (flow.ts): phase, steps, tries left, clock offset. */
  private flow: FlowState;

  // Capture loop.
  private looping = false;
  private streaming = false;
  private seq = 0;
  private lastSent = 0;
  private readonly sent = new FrameRing<HTMLCanvasElement>(FRAMES_KEPT);
  /** Capture time of each sent frame whose guide has not come back yet. */
  private readonly captured = new Map<number, number>();
  private lastTip: Tip | null = null;

  // Per try.
  private steady = new Steadiness(STEADY_FRAMES);
  private tipHold = new TipHold();
  private positionedAt = 0;
  private baselineSizes: number[] = [];
  /** The current target's number in the follow part (1-based). */
  private lookNo = 0;
  private far: Candidate | null = null;
  private near: Candidate | null = null;
  private nearPhaseStarted = 0;
  private watchdog = 0;
  private countdownTimer = 0;

  constructor() {
    const boot = readBoot();
    this.boot = boot ?? {
      signatureId: '',
      token: '',
      wsUrl: '',
      locale: null,
      audio: false,
      iframe: false,
      video: false,
      tryCount: 1,
      triesUsed: 0,
      expiresAt: 0,
      serverTime: Date.now(),
      ui: null,
      secondary: false,
      crossDeviceAllowed: false,
      parentOrigin: null,
      statusUrl: null,
      crossDeviceUrl: null,
    };
    this.flow = initialFlow(Math.max(0, this.boot.tryCount - this.boot.triesUsed), this.boot.serverTime - Date.now());
    this.locale = pickLocale(this.boot.locale, (this.boot.ui?.locale as string) ?? null, navigator.language);
    this.s = isDesktop() ? forDesktop(STRINGS[this.locale]) : STRINGS[this.locale];
    this.look = resolveLook(this.boot.ui, this.s, isDesktop());
    this.applyLocale();
    this.view = new View(this.look, this.s);
    this.speaker = new Speaker(this.boot.audio, this.locale);
    if (!boot) {
      this.view.message('error', this.s.errorTitle, this.s.expiredTip);
      return;
    }
    void this.start();
  }

  private applyLocale(): void {
    document.documentElement.lang = this.locale;
    document.documentElement.dir = RTL.has(this.locale) ? 'rtl' : 'ltr';
  }

  private async start(): Promise<void> {
    if (this.boot.expiresAt && this.boot.expiresAt <= this.serverNow()) {
      this.showExpired();
      return;
    }
    this.view.permission(() => void this.startCamera(), this.flow.triesLeft);
  }

  private serverNow(): number {
    return Date.now() + this.flow.offset;
  }

  // ---- camera ----

  private async startCamera(): Promise<void> {
    this.view.camera();
    try {
      this.stream = await openCamera();
    } catch (e) {
      const f: CameraFailure = isCameraFailure(e) ? e : { kind: 'issue', key: 'camOther', detail: String(e) };
      this.cameraFailed(f);
      return;
    }
    const v = this.view.video;
    v.srcObject = this.stream;
    try {
      await v.play();
    } catch {
      // Autoplay of a muted inline video is allowed; the frames are read either way.
    }
    await waitFor(() => v.videoWidth > 0 && v.videoHeight > 0, 10_000);
    if (!(v.videoWidth > 0)) {
      this.cameraFailed({ kind: 'issue', key: 'camNotReadable', detail: 'the camera delivered no picture' });
      return;
    }
    this.startLoop();
    // Until the live channel answers, the user sees that the check is starting.
    this.view.loading();
    await this.connectAndHello();
  }

  private cameraFailed(f: CameraFailure): void {
    const other = this.crossDeviceOffer(f.kind === 'denied');
    if (f.kind === 'denied') {
      this.view.denied(f.detail, () => location.reload(), other);
    } else if (other) {
      void this.crossDevice(false, `${this.s[f.key]} (${f.detail})`);
    } else {
      this.view.cameraIssue(f.key, f.detail, () => void this.startCamera(), null);
    }
  }

  private crossDeviceOffer(denied: boolean): (() => void) | null {
    if (!this.boot.crossDeviceAllowed || !this.boot.crossDeviceUrl || this.boot.secondary) return null;
    return () => void this.crossDevice(denied, null);
  }

  // ---- live channel ----

  private async connectAndHello(): Promise<void> {
    if (!this.live) {
      this.live = new Live(socketUrl(this.boot.wsUrl, location), {
        onMessage: (m) => this.onMessage(m),
        onClose: (expected) => this.dispatch({ type: 'closed', expected, busy: isBusy() }),
      });
    }
    if (!this.live.open) {
      try {
        await this.live.connect();
      } catch (e) {
        // A refused upgrade looks the same as a network failure to the page: ask the status
        // endpoint, which answers 410 for an expired or cleared session.
        if ((await this.statusCode()) === 410) this.showExpired();
        else this.fatal(this.s.connectionLost, e instanceof Error ? e.message : String(e), true);
        return;
      }
    }
    this.resetTry();
    this.live.sendText(hello());
  }

  private async statusCode(): Promise<number> {
    if (!this.boot.statusUrl) return 0;
    try {
      return (await fetch(this.boot.statusUrl, { cache: 'no-store' })).status;
    } catch {
      return 0;
    }
  }

  private resetTry(): void {
    clearMarks();
    this.dispatch({ type: 'hello' });
    this.streaming = false;
    this.steady.reset();
    this.baselineSizes = [];
    this.far = null;
    this.near = null;
    this.nearPhaseStarted = 0;
    this.positionedAt = 0;
    this.seq = 0;
    this.lastTip = null;
    this.tipHold.reset();
    this.sent.clear();
    this.captured.clear();
    clearTimeout(this.watchdog);
    clearInterval(this.countdownTimer);
  }

  /** Runs one event through the flow (flow.ts) and its effects here. */
  private dispatch(e: FlowEvent): void {
    const [next, effects] = reduce(this.flow, e);
    this.flow = next;
    for (const fx of effects) this.run(fx);
  }

  private onMessage(m: ServerMsg): void {
    if (m.type === 'guide') this.onGuide(m);
    else this.dispatch({ type: 'message', msg: m, now: Date.now() });
  }

  /** The effect runner: the only place the flow's decisions touch the screen and the socket. */
  private run(fx: Effect): void {
    switch (fx.do) {
      case 'startStreaming':
        this.streaming = true;
        this.lastSent = 0;
        if (this.stream && this.boot.video) this.recorder.start(this.stream);
        return;
      case 'stopStreaming':
        this.streaming = false;
        void this.recorder.stop();
        clearTimeout(this.watchdog);
        clearInterval(this.countdownTimer);
        this.speaker.stop();
        return;
      case 'showPositioning':
        this.view.live('positioning');
        this.view.progress(0);
        this.view.setCountdown(null);
        this.view.ringState('idle');
        this.view.say({ text: this.s.positioning });
        return;
      case 'showChallenge':
        this.view.live('challenge', 'ready');
        this.view.ringState('action');
        this.view.say({ text: this.s.actGetReady }, format(this.s.stepOf, { current: 1, total: fx.steps }));
        this.view.progress(0);
        return;
      case 'showStep':
        this.showStep(fx.step);
        return;
      case 'showSeen':
        // The server saw the action: say so until the next step comes (in under a second).
        clearInterval(this.countdownTimer);
        this.view.setCountdown(null);
        this.view.ringState('good');
        this.view.say({ text: this.s.actSeen }, format(this.s.stepOf, { current: fx.index + 1, total: fx.total }));
        mark('ol:seen', { index: fx.index });
        return;
      case 'askNear':
        this.askNear();
        return;
      case 'sendStills':
        void this.sendStillsAndFinish();
        return;
      case 'showVerifying':
        this.view.busy('verifying', { text: this.s.verifying });
        return;
      case 'showResult':
        this.onResult(fx.result);
        return;
      case 'showTimeout':
        this.showTimeout(fx.retry, fx.triesLeft);
        return;
      case 'showTryFailed': {
        const why = fx.cause === 'abandoned' ? this.s.reasonAbandoned : this.s.reasonProtocol;
        const cause = fx.lastError ? `${why} (${fx.lastError})` : why;
        if (this.boot.secondary && !fx.retry) {
          this.finishedOnSecondary(false);
          return;
        }
        this.showResult(false, null, fx.retry, fx.triesLeft, null, cause);
        if (!fx.retry) void this.leaveButton(false).then((b) => b && this.view.panel.append(b));
        return;
      }
      case 'showExpired':
        this.showExpired();
        return;
      case 'showLockedOut':
        this.showLockedOut(fx.retryAfterS);
        return;
      case 'showTrouble':
        this.fatal(this.s[fx.trouble], '', fx.retry);
        return;
    }
  }

  private showStep(m: StepMsg): void {
    const text = this.s[ACTION_KEYS[m.action]];
    const following = m.action === 'look' && document.body.dataset.action === 'look';
    this.view.live('challenge', m.action);
    this.view.ringState('action');
    if (m.action === 'look' && m.target) {
      // The follow part: one instruction for all its targets (announced and spoken once, at
      // the first), the dot moves; the detail line counts the targets.
      this.lookNo = following ? this.lookNo + 1 : 1;
      this.view.target(m.target);
      this.view.say({ text }, isCentre(m.target) ? this.s.followCentre : format(this.s.followOf, { current: this.lookNo }));
    } else {
      this.view.say({ text }, format(this.s.stepOf, { current: m.index + 1, total: m.total }));
    }
    this.view.progress(m.index / m.total);
    if (!following) this.speaker.say(text, true);
    clearInterval(this.countdownTimer);
    const tick = (): void => this.view.setCountdown(secondsLeft(m.deadline, Date.now(), this.flow.offset));
    tick();
    this.countdownTimer = window.setInterval(tick, 250);
  }

  // ---- capture loop ----

  private startLoop(): void {
    if (this.looping) return;
    this.looping = true;
    const run = async (): Promise<void> => {
      if (!this.stream || this.stream.getVideoTracks().every((t) => t.readyState === 'ended')) {
        // The camera was closed (the flow ended); a new try opens it and the loop again.
        this.looping = false;
        return;
      }
      const t0 = performance.now();
      try {
        await this.step();
      } catch (e) {
        console.error(e);
      }
      const spent = performance.now() - t0;
      setTimeout(() => void run(), Math.max(0, LOOP_INTERVAL_MS - spent));
    };
    void run();
  }

  private async step(): Promise<void> {
    const v = this.view.video;
    if (!(v.videoWidth > 0) || v.readyState < 2) return;
    const captureMs = Date.now();
    if (!this.streaming || !this.live || captureMs - this.lastSent < FRAME_INTERVAL_MS || this.seq >= MAX_FRAMES_PER_TRY) return;
    const scale = Math.min(1, MAX_FRAME_SIDE / Math.max(v.videoWidth, v.videoHeight));
    const w = Math.round(v.videoWidth * scale);
    const hgt = Math.round(v.videoHeight * scale);
    // Unmirrored, as the camera produced it; only the preview is mirrored (CSS). Each sent
    // frame is kept a moment as a picture: the stills are chosen among them once the server's
    // guide says what it measured in them.
    const frame = this.sent.push(++this.seq, (reuse) => reuse ?? document.createElement('canvas'));
    if (frame.width !== w || frame.height !== hgt) {
      frame.width = w;
      frame.height = hgt;
    }
    frame.getContext('2d')?.drawImage(v, 0, 0, w, hgt);
    this.lastSent = captureMs;
    this.captured.set(this.seq, captureMs);
    void this.live.sendBinary(Kind.Frame, this.seq, captureMs, jpeg(frame, 0.8), MAX_FRAME_LAG_MS);
  }

  /** The server measured frame `m.seq`: guidance while positioning, still candidates after. */
  private onGuide(m: GuideMsg): void {
    const captureMs = this.captured.get(m.seq);
    if (captureMs === undefined) return; // a frame of an earlier try
    this.captured.delete(m.seq);
    for (const k of this.captured.keys()) if (k < m.seq) this.captured.delete(k);
    const tip = m.tip as Tip;
    const size = m.size;
    const single = m.faces === 1;
    const canvas = this.sent.get(m.seq);
    mark('ol:guide', { seq: m.seq, tip, faces: m.faces, lagMs: Date.now() - captureMs });

    switch (this.flow.phase) {
      case 'positioning': {
        // What is shown is held (TipHold); readiness counts every frame's own tip.
        const shown = this.tipHold.push(tip, Date.now());
        const styledTip = this.look.camera.tips[shown];
        this.view.say(styledTip);
        this.view.ringState(shown === 'good' ? 'good' : 'idle');
        if (shown !== this.lastTip && shown !== 'good') this.speaker.say(styledTip.text);
        if (shown !== this.lastTip) mark('ol:tip', { tip: shown });
        this.lastTip = shown;
        const ready = this.steady.push(tip);
        this.view.progress(this.steady.progress);
        if (tip === 'good') this.baselineSizes.push(size);
        // The last good frame before the challenge: the far still if the end of the challenge
        // offers no better one.
        if (tip === 'good' && canvas) this.far = snapshot(canvas, captureMs, m.seq, size, this.far);
        if (ready && !this.positionedAt) this.sendPositioned();
        return;
      }
      case 'challenge': {
        // Stills are chosen among the frames that were streamed, so each still is exactly a
        // frame the server already measured (it checks that they agree).
        if (size > 0 && single && canvas) this.keepNear(canvas, captureMs, m.seq, size, tip);
        const last = this.flow.steps[this.flow.totalSteps - 1];
        if (last && this.serverNow() >= last.deadline + 150) {
          // The far still: a frontal frame at the positioning distance once the actions are
          // over (the user is back at rest); after a final move_closer, or if none comes within
          // 3 s, the last good frame of the positioning.
          const base = this.baselineSize();
          const frontal = tip === 'good' || tip === 'keepStill';
          const atBase = base === 0 || (size >= 0.8 * base && size <= 1.2 * base);
          if (canvas && single && frontal && atBase && last.action !== 'move_closer') {
            this.far = snapshot(canvas, captureMs, m.seq, size, this.far);
            this.afterSteps();
          } else if (last.action === 'move_closer' || this.serverNow() >= last.deadline + 3000) {
            this.afterSteps();
          }
        }
        return;
      }
      case 'near': {
        if (size > 0 && single && canvas) this.keepNear(canvas, captureMs, m.seq, size, tip);
        const far = this.far;
        const enough = far && this.near && this.near.size >= NEAR_TARGET * far.size;
        if (enough || Date.now() - this.nearPhaseStarted > NEAR_PHASE_MS) this.dispatch({ type: 'finish' });
        else if (far && size > 0) {
          const ratio = size / far.size;
          this.view.progress(Math.min(1, Math.max(0, (ratio - 1) / (NEAR_TARGET - 1))));
          if (tip === 'tooNear' && ratio < NEAR_TARGET) this.view.say({ text: this.s.actNear });
        }
        return;
      }
      default:
        return;
    }
  }

  private sendPositioned(): void {
    this.positionedAt = Date.now();
    this.live?.sendText(positioned());
  }

  private baselineSize(): number {
    const s = [...this.baselineSizes].sort((x, y) => x - y);
    return s.length ? s[Math.floor(s.length / 2)] : 0;
  }

  /** Keeps the streamed frame with the largest face (the near still's candidate). */
  private keepNear(canvas: HTMLCanvasElement, captureMs: number, seq: number, size: number, tip: Tip): void {
    const clipped = tip === 'notCentered';
    if (!clipped && (!this.near || size > this.near.size) && (this.far === null || size > this.far.size)) {
      this.near = snapshot(canvas, captureMs, seq, size, this.near);
    }
  }

  private afterSteps(): void {
    clearInterval(this.countdownTimer);
    this.view.setCountdown(null);
    const closeEnough = this.far && this.near && this.near.size >= NEAR_TARGET * this.far.size;
    this.dispatch({ type: closeEnough ? 'finish' : 'stepsOver' });
  }

  /** The challenge did not bring the face closer: ask for it now, for the near still. */
  private askNear(): void {
    this.near = null;
    this.nearPhaseStarted = Date.now();
    this.view.live('challenge', 'near');
    this.view.ringState('action');
    this.view.say({ text: this.s.actNear });
    this.view.progress(0);
    this.speaker.say(this.s.actNear, true);
  }

  private async sendStillsAndFinish(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.view.busy('uploading', this.look.uploading);
    if (this.far) void live.sendBinary(Kind.FarStill, this.far.seq, this.far.captureMs, jpeg(this.far.canvas, 0.92));
    if (this.near) void live.sendBinary(Kind.NearStill, this.near.seq, this.near.captureMs, jpeg(this.near.canvas, 0.92));
    this.streaming = false;
    await this.recorder.stop();
    await live.flushed();
    live.sendText(finish());
    this.watchdog = window.setTimeout(() => {
      if (isBusy()) this.fatal(this.s.connectionLost, 'no verdict from the server', true);
    }, VERIFY_WATCHDOG_MS);
  }

  // ---- outcomes ----

  private onResult(m: ResultMsg): void {
    const over = m.passed || !m.retryAllowed;
    if (this.boot.secondary && over) {
      this.finishedOnSecondary(m.passed);
      return;
    }
    this.showResult(m.passed, m.score ?? null, m.retryAllowed, m.triesLeft, m.redirectUrl ?? null, this.hintText(m.hint));
  }

  /** The server's hint for a rejected try, in the user's words (null when there is none). */
  private hintText(hint: ResultHint | undefined): string | null {
    switch (hint?.code) {
      case 'FACE_LOST':
        return this.s.hintFaceLost;
      case 'TWO_FACES':
        return this.s.hintTwoFaces;
      case 'FACE_HIDDEN':
        return this.s.hintFaceHidden;
      case 'POOR_QUALITY':
        return this.s.hintPoorQuality;
      case 'ACTIONS_MISSED': {
        const names = (hint.actions ?? [])
          .filter((a): a is Action => a in ACTION_KEYS)
          .map((a) => this.s[ACTION_KEYS[a]]);
        return names.length ? format(this.s.hintActionsMissed, { actions: [...new Set(names)].join(' · ') }) : null;
      }
      default:
        return null;
    }
  }

  private showResult(passed: boolean, score: number | null, retry: boolean, triesLeft: number, redirectUrl: string | null, reason: string | null): void {
    const r = this.look.result;
    const canLeave = this.boot.iframe || !!redirectUrl;
    if (!r.isShow && canLeave && (passed || !retry)) {
      this.view.state('result');
      document.body.dataset.result = passed ? 'passed' : 'failed';
      this.leave(passed, redirectUrl);
      return;
    }
    const retrying = !passed && retry;
    const fd = this.look.failedDialog;
    const shown = resultButtons(r, { passed, retryAllowed: retry, canLeave });
    this.view.state('result');
    document.body.dataset.result = passed ? 'passed' : 'failed';
    background(document.body, r.background, r.backgroundImage);
    const title = passed ? this.s.successTitle : this.s.failedTitle;
    const desc = passed ? r.successDesc : retrying ? fd.desc : r.failedDesc;
    const ico = icon(passed ? r.successIcon : retrying ? fd.icon : r.failedIcon) ?? h('div', { class: `mark ${passed ? 'ok' : 'bad'}`, 'aria-hidden': 'true' });
    const titleEl = h('h2', { 'data-testid': 'result-title' }, title);
    const descEl = h('p', { class: 'lead' }, desc);
    if (r.textColor) {
      titleEl.style.setProperty('color', r.textColor);
      descEl.style.setProperty('color', r.textColor);
    }
    const parts: (Node | null)[] = [ico, titleEl, descEl];
    if (reason) parts.push(h('p', { class: 'cause', 'data-testid': 'cause' }, reason));
    if (r.showScore && typeof score === 'number') parts.push(h('p', { class: 'score', 'data-testid': 'score' }, format(this.s.score, { score: Math.round(score) })));
    if (r.faceShow && this.far) {
      const face = document.createElement('canvas');
      face.className = 'face';
      face.width = 160;
      face.height = 120;
      face.getContext('2d')?.drawImage(this.far.canvas, 0, 0, 160, 120);
      parts.push(face);
    }
    if (retrying) parts.push(h('p', { class: 'detail' }, format(this.s.triesLeft, { n: triesLeft })));
    if (shown.again) parts.push(button(retrying ? fd.button : r.again, () => void this.tryAgain(), { 'data-testid': 'try-again', class: 'btn primary' }));
    if (shown.next) parts.push(button(r.next, () => this.leave(passed, redirectUrl), { 'data-testid': 'next-step', class: `btn ${shown.again ? 'secondary' : 'primary'}` }));
    if (canLeave && !retrying && !r.countdownOff) {
      const cd = styled('p', { text: '', color: r.countdown.color }, { class: 'detail', 'data-testid': 'countdown' });
      parts.push(cd);
      let left = RESULT_COUNTDOWN_S;
      const tick = (): void => {
        cd.textContent = format(r.countdown.text, { second: left });
        if (left <= 0) {
          clearInterval(this.countdownTimer);
          this.leave(passed, redirectUrl);
        }
        left--;
      };
      tick();
      clearInterval(this.countdownTimer);
      this.countdownTimer = window.setInterval(tick, 1000);
    }
    this.view.panelReplace(...parts);
    this.speaker.say(title, true);
  }

  private left = false;
  /** Ends the flow: postMessage to the parent (iframe) or go to the return URL. */
  private leave(passed: boolean, redirectUrl: string | null): void {
    clearInterval(this.countdownTimer);
    if (this.left) return;
    this.left = true;
    this.stopCamera();
    if (this.boot.iframe && this.boot.parentOrigin && window.parent !== window) {
      // A JSON string, as the vendor's documented parent code does JSON.parse(event.data).
      window.parent.postMessage(JSON.stringify({ info: passed ? 'successNext' : 'failedNext' }), this.boot.parentOrigin);
      return;
    }
    if (redirectUrl) location.assign(redirectUrl);
  }

  private showTimeout(retry: boolean, triesLeft: number): void {
    const t = this.look.timeout;
    this.view.state('timeout');
    background(document.body, t.background, t.backgroundImage);
    const parts: (Node | null)[] = [icon(t.icon) ?? h('div', { class: 'mark clock', 'aria-hidden': 'true' }), styled('h2', t.bold), styled('p', t.tip, { class: 'lead' })];
    if (retry) {
      parts.push(h('p', { class: 'detail' }, format(this.s.triesLeft, { n: triesLeft })));
      parts.push(button(t.button, () => void this.tryAgain(), { 'data-testid': 'try-again', class: 'btn primary' }));
    } else {
      void this.leaveButton(false).then((b) => b && this.view.panel.append(b));
    }
    this.view.panelReplace(...parts);
    this.speaker.say(t.bold.text, true);
  }

  /** Without a verdict message (time-out, error), the return URL comes from the status endpoint. */
  private async leaveButton(passed: boolean): Promise<HTMLElement | null> {
    let url: string | null = null;
    if (this.boot.statusUrl) {
      try {
        const st = await (await fetch(this.boot.statusUrl, { cache: 'no-store' })).json();
        url = typeof st.redirectUrl === 'string' ? st.redirectUrl : null;
      } catch {
        url = null;
      }
    }
    if (!url && !this.boot.iframe) return null;
    return button(this.look.result.next, () => this.leave(passed, url), { 'data-testid': 'next-step', class: 'btn secondary' });
  }

  private async tryAgain(): Promise<void> {
    clearInterval(this.countdownTimer);
    delete document.body.dataset.result;
    if (!this.stream || this.stream.getVideoTracks().every((t) => t.readyState === 'ended')) {
      await this.startCamera();
      return;
    }
    this.view.loading();
    await this.connectAndHello();
  }

  /** The second device's last page: the outcome as it is (a failed check is never shown as
   *  done with a green mark), and the way back to the first browser. */
  private finishedOnSecondary(passed: boolean): void {
    this.stopCamera();
    const f = this.look.finished;
    this.view.state('finished');
    document.body.dataset.result = passed ? 'passed' : 'failed';
    const bold = passed ? f.bold : { text: this.s.failedTitle, color: f.bold.color };
    const mark = h('div', { class: `mark ${passed ? 'ok' : 'bad'}`, 'aria-hidden': 'true' });
    this.view.panelReplace((passed ? icon(f.icon) : null) ?? mark, styled('h2', bold), styled('p', f.tip, { class: 'lead' }));
    this.speaker.say(bold.text, true);
  }

  private showExpired(): void {
    this.stopCamera();
    this.view.message('expired', this.s.expiredTitle, this.s.expiredTip, [], h('div', { class: 'mark clock', 'aria-hidden': 'true' }));
  }

  /** Too many failed tries: no way forward from this session; say when to come back. */
  private showLockedOut(retryAfterS: number): void {
    this.stopCamera();
    const minutes = Math.max(1, Math.ceil(retryAfterS / 60));
    this.view.message('error', this.s.lockedTitle, format(this.s.lockedTip, { minutes }), [], h('div', { class: 'mark clock', 'aria-hidden': 'true' }));
    this.speaker.say(this.s.lockedTitle, true);
  }

  private fatal(title: string, detail: string, retry: boolean): void {
    clearTimeout(this.watchdog);
    const buttons = retry ? [button({ text: this.s.retry }, () => void this.tryAgain(), { 'data-testid': 'retry', class: 'btn primary' })] : [];
    this.view.message('error', this.s.errorTitle, title, buttons, h('div', { class: 'mark bad', 'aria-hidden': 'true' }));
    if (detail) this.view.panel.insertBefore(h('p', { class: 'cause' }, format(this.s.cause, { cause: detail })), this.view.panel.querySelector('button'));
  }

  private stopCamera(): void {
    this.streaming = false;
    void this.recorder.stop();
    for (const t of this.stream?.getTracks() ?? []) t.stop();
  }

  // ---- cross-device (the first device) ----

  private async crossDevice(denied: boolean, detail: string | null): Promise<void> {
    const page = this.view.crossDevice(denied, detail);
    let link: { url: string };
    try {
      const res = await fetch(this.boot.crossDeviceUrl as string, { method: 'POST', cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      link = await res.json();
      if (typeof link.url !== 'string') throw new Error('no url in the answer');
    } catch (e) {
      this.fatal(this.s.connectionLost, e instanceof Error ? e.message : String(e), false);
      return;
    }
    page.setLink(link.url, qrCanvas(link.url), () => {
      void copyText(link.url).then((ok) => {
        page.status.textContent = ok ? this.s.linkCopied : link.url;
      });
    });
    void this.pollStatus(page.status);
  }

  private async pollStatus(status: HTMLElement): Promise<void> {
    const url = this.boot.statusUrl;
    if (!url) return;
    for (;;) {
      await delay(2000);
      if (document.body.dataset.state !== 'crossDevice') return;
      let st: { finished?: boolean; passed?: boolean; redirectUrl?: string | null; secondaryClaimed?: boolean; status?: string };
      try {
        const res = await fetch(url, { cache: 'no-store' });
        if (res.status === 404 || res.status === 410) {
          this.showExpired();
          return;
        }
        if (!res.ok) continue;
        st = await res.json();
      } catch {
        continue;
      }
      if (st.finished) {
        this.showResult(st.passed === true, null, false, 0, st.redirectUrl ?? null, null);
        return;
      }
      if (st.secondaryClaimed) status.textContent = this.s.otherOpened;
    }
  }
}

function isDesktop(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(min-width: 900px) and (pointer: fine)').matches;
}

function isBusy(): boolean {
  const s = document.body.dataset.state;
  return s === 'uploading' || s === 'verifying';
}

/**
 * The canvas as JPEG bytes. Encoded synchronously (`toDataURL`, a few milliseconds for a 640-px
 * frame): Chromium runs `toBlob` in the main thread's idle time, and a page that never idles
 * (seen in an iframe) got each frame a second late, so every frame was dropped as stale.
 */
function jpeg(canvas: HTMLCanvasElement, quality: number): Promise<Uint8Array | null> {
  try {
    const url = canvas.toDataURL('image/jpeg', quality);
    const bin = atob(url.slice(url.indexOf(',') + 1));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return Promise.resolve(out.length > 0 ? out : null);
  } catch {
    return Promise.resolve(null);
  }
}

function snapshot(src: HTMLCanvasElement, captureMs: number, seq: number, size: number, reuse: Candidate | null): Candidate {
  const canvas = reuse?.canvas ?? document.createElement('canvas');
  canvas.width = src.width;
  canvas.height = src.height;
  canvas.getContext('2d')?.drawImage(src, 0, 0);
  return { canvas, captureMs, seq: Math.max(0, seq), size };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond() && Date.now() < end) await delay(50);
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
