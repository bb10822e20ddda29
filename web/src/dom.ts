// A tiny DOM builder. Texts are always set as text nodes: ConfigureUI strings are never HTML.

import type { Button, Styled } from './look';

type Attrs = Record<string, string | boolean | undefined | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

/** Text in a colour from ConfigureUI (set through the CSSOM, which the CSP allows). */
export function styled(tag: string, s: Styled, attrs: Attrs = {}): HTMLElement {
  const el = h(tag, attrs, s.text);
  if (s.color) el.style.setProperty('color', s.color);
  return el;
}

export function button(b: Button, onClick: () => void, attrs: Attrs = {}): HTMLButtonElement {
  const el = h('button', { type: 'button', class: 'btn', ...attrs }, b.text) as HTMLButtonElement;
  if (b.color) el.style.setProperty('color', b.color);
  if (b.background) el.style.setProperty('background-color', b.background);
  if (b.backgroundImage) el.style.setProperty('background-image', `url("${b.backgroundImage}")`);
  el.addEventListener('click', onClick);
  return el;
}

export function icon(src: string | undefined, alt = ''): HTMLElement | null {
  if (!src) return null;
  return h('img', { class: 'icon', src, alt, referrerpolicy: 'no-referrer' });
}

export function background(el: HTMLElement, color?: string, image?: string): void {
  el.style.removeProperty('background-color');
  el.style.removeProperty('background-image');
  if (color) el.style.setProperty('background-color', color);
  if (image) el.style.setProperty('background-image', `url("${image}")`);
}
