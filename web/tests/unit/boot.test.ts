import { describe, expect, it } from 'vitest';
import { parseBoot, socketUrl } from '../../src/boot';

describe('boot data', () => {
  it('reads the injected JSON', () => {
    const b = parseBoot(JSON.stringify({ signatureId: 's', token: 't', wsUrl: '/h5/liveness/ws?x=1', locale: 'ar', audio: true, tryCount: 3, triesUsed: 1, ui: { titleText: 'x' }, iframe: true, video: true, parentOrigin: 'https://p.example' }));
    expect(b).toMatchObject({ signatureId: 's', locale: 'ar', audio: true, tryCount: 3, triesUsed: 1, iframe: true, parentOrigin: 'https://p.example', secondary: false, video: true });
    expect(b?.ui).toEqual({ titleText: 'x' });
  });
  it('is null without a usable bootstrap', () => {
    expect(parseBoot(null)).toBeNull();
    expect(parseBoot('{')).toBeNull();
    expect(parseBoot('{"token":"x"}')).toBeNull();
  });
  it('makes the socket URL absolute on the page’s host and scheme', () => {
    expect(socketUrl('/h5/liveness/ws?a=b', { protocol: 'https:', host: 'h.example' })).toBe('wss://h.example/h5/liveness/ws?a=b');
    expect(socketUrl('/h5/liveness/ws', { protocol: 'http:', host: '127.0.0.1:9' })).toBe('ws://127.0.0.1:9/h5/liveness/ws');
  });
});
