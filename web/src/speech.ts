// Spoken guidance (when the session asks for audio). The same text is always on screen.

const LANG: Record<string, string> = { en: 'en-US', zh: 'zh-CN', id: 'id-ID', ar: 'ar-SA' };

export class Speaker {
  private last = '';
  private lastAt = 0;
  constructor(
    private readonly enabled: boolean,
    private readonly locale: string,
  ) {}

  /** Speaks `text`; the same text is not repeated within `minGapMs`. */
  say(text: string, urgent = false, minGapMs = 4000): void {
    if (!this.enabled || typeof speechSynthesis === 'undefined') return;
    const now = Date.now();
    if (text === this.last && now - this.lastAt < minGapMs) return;
    if (!urgent && speechSynthesis.speaking) return;
    this.last = text;
    this.lastAt = now;
    try {
      if (urgent) speechSynthesis.cancel();
      const u = new SpeechSynthesisUtterance(text);
      u.lang = LANG[this.locale] ?? 'en-US';
      speechSynthesis.speak(u);
    } catch {
      // Speech is an extra; the text is on screen.
    }
  }

  stop(): void {
    if (this.enabled && typeof speechSynthesis !== 'undefined') speechSynthesis.cancel();
  }
}
