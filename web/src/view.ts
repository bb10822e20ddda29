// The screens. Each call replaces the panel's content and sets the test hooks on <body>:
// data-state (the screen) and, during a challenge, data-action (the step's action) and, for a
// `look` step, data-target ("x,y" as the server sent it).

import { background, button, h, icon, styled } from './dom';
import type { Key, Strings } from './i18n';
import { format } from './i18n';
import { dotPosition, targetKey } from './follow';
import type { Target } from './protocol';
import type { Look, Styled } from './look';

export type State =
  | 'loading'
  | 'permission'
  | 'camera'
  | 'denied'
  | 'crossDevice'
  | 'positioning'
  | 'challenge'
  | 'uploading'
  | 'verifying'
  | 'result'
  | 'timeout'
  | 'expired'
  | 'error'
  | 'finished';

export class View {
  readonly root: HTMLElement;
  readonly stage: HTMLElement;
  readonly video: HTMLVideoElement;
  readonly panel: HTMLElement;
  /** The instruction line: an aria-live region, so screen readers announce every change. */
  readonly instruction: HTMLElement;
  readonly detail: HTMLElement;
  readonly meter: HTMLElement;
  readonly meterFill: HTMLElement;
  readonly countdown: HTMLElement;
  private readonly countdownSpoken: HTMLElement;
  readonly ring: HTMLElement;
  /** The follow part's target dot, over the preview; hidden outside `look` steps. */
  readonly dot: HTMLElement;
  readonly header: HTMLElement;

  constructor(
    private look: Look,
    private s: Strings,
  ) {
    this.root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
    this.header = h('header', { class: 'top' });
    this.video = h('video', { class: 'preview', playsinline: true, muted: true, autoplay: true }) as HTMLVideoElement;
    this.video.muted = true;
    this.ring = h('div', { class: 'ring', 'aria-hidden': 'true' });
    // A timer: screen readers read it when asked, without announcing every second; the
    // spoken line below says it once, when three seconds are left.
    this.countdown = h('div', { class: 'countdown', role: 'timer', 'aria-label': s.countdownLabel });
    this.countdownSpoken = h('p', { class: 'sr-only', role: 'status', 'aria-live': 'polite', 'data-testid': 'countdown-spoken' });
    // Decorative for a screen reader: the instruction line says what to do.
    this.dot = h('div', { class: 'target-dot', 'aria-hidden': 'true', hidden: true, 'data-testid': 'target-dot' });
    this.stage = h('div', { class: 'stage', hidden: true }, this.video, this.ring, this.dot, this.countdown, this.countdownSpoken);
    this.instruction = h('p', { class: 'instruction', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.detail = h('p', { class: 'detail' });
    this.meterFill = h('div', { class: 'meter-fill' });
    this.meter = h('div', { class: 'meter', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' }, this.meterFill);
    this.panel = h('section', { class: 'panel' });
    this.root.replaceChildren(this.header, this.stage, this.panel);
    this.setHeader();
  }

  setLook(look: Look, s: Strings): void {
    this.look = look;
    this.s = s;
    this.setHeader();
  }

  private setHeader(): void {
    const l = this.look;
    document.title = l.title;
    this.header.replaceChildren(h('h1', {}, l.title));
  }

  state(name: State, action?: string): void {
    document.body.dataset.state = name;
    if (action) document.body.dataset.action = action;
    else delete document.body.dataset.action;
    if (action !== 'look') this.target(null);
    this.stage.hidden = !(name === 'positioning' || name === 'challenge');
    document.body.classList.toggle('live', !this.stage.hidden);
    if (this.stage.hidden) background(document.body);
  }

  /** Replaces the panel. Focus moves to the new screen's heading, so a screen reader reads
   *  where the user is now (a verdict included) and keyboard focus is not left on <body>. */
  private show(...children: (Node | null | false | undefined)[]): void {
    this.panel.replaceChildren(...(children.filter(Boolean) as Node[]));
    const heading = this.panel.querySelector<HTMLElement>('h1, h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }

  /** The loading screen: a spinner while the camera and the live channel start. */
  loading(): void {
    this.state('loading');
    const l = this.look.loading;
    const spinner = h('div', { class: 'spinner', 'aria-hidden': 'true' });
    if (l.progressColor) spinner.style.setProperty('border-top-color', l.progressColor);
    this.show(spinner, styled('p', l.text, { class: 'lead', role: 'status', 'aria-live': 'polite' }));
  }

  /** The tips page; `triesLeft` is said up front, so nobody meets the limit unwarned. */
  permission(onStart: () => void, triesLeft: number): void {
    this.state('permission');
    const t = this.look.tips;
    background(document.body, t.background);
    const list = t.items.length
      ? h('ul', { class: 'tips' }, ...t.items.map((i) => h('li', {}, icon(i.icon), h('span', {}, i.text))))
      : null;
    this.show(
      h('div', { class: 'camera-icon', 'aria-hidden': 'true' }),
      h('h2', {}, t.title),
      h('p', { class: 'lead' }, t.desc),
      list,
      h('p', { class: 'detail', 'data-testid': 'tries-left' }, format(this.s.triesLeft, { n: triesLeft })),
      button(t.button, onStart, { 'data-testid': 'start', class: 'btn primary' }),
    );
  }

  camera(): void {
    this.state('camera');
    this.show(h('div', { class: 'spinner', 'aria-hidden': 'true' }), h('p', { class: 'lead', role: 'status', 'aria-live': 'polite' }, this.s.cameraAsk));
  }

  denied(detail: string, onRefresh: () => void, onOther: (() => void) | null): void {
    this.state('denied');
    const r = this.look.refresh;
    this.show(
      icon(r.icon) ?? h('div', { class: 'camera-icon blocked', 'aria-hidden': 'true' }),
      styled('h2', r.bold),
      styled('p', r.tip, { class: 'lead' }),
      h('p', { class: 'cause', 'data-testid': 'cause' }, format(this.s.cause, { cause: detail })),
      button(r.button, onRefresh, { 'data-testid': 'refresh', class: 'btn primary' }),
      onOther && button({ text: this.s.useOtherDevice }, onOther, { 'data-testid': 'other-device', class: 'btn secondary' }),
    );
  }

  cameraIssue(key: Key, detail: string, onRetry: () => void, onOther: (() => void) | null): void {
    this.state('error');
    this.show(
      h('div', { class: 'camera-icon blocked', 'aria-hidden': 'true' }),
      h('h2', {}, this.s[key]),
      h('p', { class: 'cause', 'data-testid': 'cause' }, format(this.s.cause, { cause: detail })),
      button({ text: this.s.retry }, onRetry, { class: 'btn primary' }),
      onOther && button({ text: this.s.useOtherDevice }, onOther, { 'data-testid': 'other-device', class: 'btn secondary' }),
    );
  }

  crossDevice(denied: boolean, detail: string | null): { setLink(url: string, qr: HTMLCanvasElement, onCopy: () => void): void; status: HTMLElement } {
    this.state('crossDevice');
    const q = this.look.qr;
    const status = h('p', { class: 'detail', role: 'status', 'aria-live': 'polite', 'data-testid': 'cross-status' }, this.s.loading);
    const slot = h('div', { class: 'qr-slot' }, h('div', { class: 'spinner', 'aria-hidden': 'true' }));
    this.show(
      icon(q.icon),
      styled('h2', denied ? q.deniedBold : q.issueBold),
      styled('p', denied ? q.deniedTip : q.issueTip, { class: 'lead' }),
      detail ? h('p', { class: 'cause' }, format(this.s.cause, { cause: detail })) : null,
      slot,
      status,
    );
    return {
      status,
      setLink: (url, qr, onCopy) => {
        const linkBox = h('p', { class: 'link', 'data-testid': 'cross-link' }, url);
        if (q.link.color) linkBox.style.setProperty('color', q.link.color);
        if (q.link.border) linkBox.style.setProperty('border-color', q.link.border);
        background(linkBox, q.link.background, q.link.backgroundImage);
        qr.setAttribute('aria-label', url);
        slot.replaceChildren(qr, linkBox, button(q.copy, onCopy, { 'data-testid': 'copy-link', class: 'btn primary' }));
        status.textContent = this.s.waitingOther;
      },
    };
  }

  /** The live camera view; the instruction and its colour come from the tip or step. */
  live(state: 'positioning' | 'challenge', action?: string): void {
    const already = document.body.dataset.state === state;
    this.state(state, action);
    if (!already) {
      const c = this.look.camera;
      background(document.body, c.background, c.backgroundImage);
      const head: Node[] = [];
      if (c.pcTitle) head.push(h('h2', {}, c.pcTitle));
      if (c.pcDesc) head.push(h('p', { class: 'lead' }, c.pcDesc));
      const pcIcon = icon(c.pcIcon);
      this.show(...head, pcIcon, this.instruction, this.detail, this.meter);
    }
  }

  say(text: Styled, detail = ''): void {
    if (this.instruction.textContent !== text.text) this.instruction.textContent = text.text;
    this.instruction.style.removeProperty('color');
    if (text.color) this.instruction.style.setProperty('color', text.color);
    if (this.detail.textContent !== detail) this.detail.textContent = detail;
  }

  progress(fraction: number | null): void {
    this.meter.hidden = fraction === null;
    const pct = Math.round(100 * Math.max(0, Math.min(1, fraction ?? 0)));
    this.meterFill.style.setProperty('width', `${pct}%`);
    this.meter.setAttribute('aria-valuenow', String(pct));
  }

  /** The ring around the face: its shape (dashed or solid) carries the same meaning as the text. */
  ringState(kind: 'idle' | 'good' | 'action'): void {
    this.ring.dataset.kind = kind;
  }

  /** Shows the dot at a `look` target (it glides there from the previous one), or hides it. */
  target(t: Target | null): void {
    if (!t) {
      this.dot.hidden = true;
      delete document.body.dataset.target;
      return;
    }
    const { left, top } = dotPosition(t);
    this.dot.style.setProperty('left', `${left}%`);
    this.dot.style.setProperty('top', `${top}%`);
    // From hidden the first target appears in place; moves between targets glide (style.css).
    this.dot.hidden = false;
    document.body.dataset.target = targetKey(t);
  }

  setCountdown(seconds: number | null): void {
    this.countdown.textContent = seconds === null ? '' : String(seconds);
    // Announced at one sensible moment, not every second.
    const spoken = seconds === 3 ? format(this.s.secondsLeft, { second: 3 }) : seconds === null || seconds > 3 ? '' : null;
    if (spoken !== null && this.countdownSpoken.textContent !== spoken) this.countdownSpoken.textContent = spoken;
  }

  busy(state: 'uploading' | 'verifying', text: Styled): void {
    this.state(state);
    this.show(h('div', { class: 'spinner', 'aria-hidden': 'true' }), styled('p', text, { class: 'lead', role: 'status', 'aria-live': 'polite' }));
  }

  message(state: State, title: string, body: string, buttons: HTMLElement[] = [], iconEl: HTMLElement | null = null): void {
    this.state(state);
    this.show(iconEl, h('h2', {}, title), h('p', { class: 'lead' }, body), ...buttons);
  }

  panelReplace(...children: (Node | null | false | undefined)[]): void {
    this.show(...children);
  }
}
