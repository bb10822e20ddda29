import { describe, expect, it } from 'vitest';
import { format, forDesktop, LOCALES, pickLocale, placeholders, RTL, STRINGS } from '../../src/i18n';

describe('languages', () => {
  const keys = Object.keys(STRINGS.en).sort();
  for (const l of LOCALES) {
    it(`${l} has every key, each non-empty, with the same placeholders as English`, () => {
      expect(Object.keys(STRINGS[l]).sort()).toEqual(keys);
      for (const k of keys) {
        const v = STRINGS[l][k as keyof typeof STRINGS.en];
        expect(v.trim(), `${l}.${k}`).not.toBe('');
        expect(placeholders(v), `${l}.${k}`).toEqual(placeholders(STRINGS.en[k as keyof typeof STRINGS.en]));
      }
    });
  }
  it('translations are not English left in place', () => {
    for (const l of ['zh', 'id', 'ar'] as const) {
      const same = Object.keys(STRINGS.en).filter((k) => STRINGS[l][k as keyof typeof STRINGS.en] === STRINGS.en[k as keyof typeof STRINGS.en]);
      expect(same, l).toEqual([]);
    }
  });
  it('a computer is not asked to move "the phone" nor told to use "another phone"', () => {
    for (const l of LOCALES) {
      const d = forDesktop(STRINGS[l]);
      expect(d.actNear).toBe(STRINGS[l].actNearDesktop);
      expect(d.qrIssueTip).toBe(STRINGS[l].qrIssueTipDesktop);
      expect(d.actNear).not.toBe(STRINGS[l].actNear);
    }
    expect(forDesktop(STRINGS.en).actNear).not.toMatch(/phone/);
    expect(forDesktop(STRINGS.en).qrIssueTip).not.toMatch(/another phone/);
  });

  it('Arabic is right-to-left, the others are not', () => {
    expect([...RTL]).toEqual(['ar']);
  });
  it('picks the first supported locale', () => {
    expect(pickLocale(null, 'zh', 'en-US')).toBe('zh');
    expect(pickLocale('id', 'zh')).toBe('id');
    expect(pickLocale('fr', undefined, 'ar-EG')).toBe('ar');
    expect(pickLocale('xx')).toBe('en');
  });
  it('fills placeholders', () => {
    expect(format(STRINGS.en.stepOf, { current: 2, total: 3 })).toBe('Step 2 of 3');
    expect(format('{second}s {unknown}', { second: 4 })).toBe('4s {unknown}');
  });
});
