// ConfigureUI application: the account's UI snapshot (docs/configure-ui.md) merged with the
// built-in texts into one resolved "look" per page. Pure, so every field's effect is unit-tested;
// the view only copies these values into the DOM (as text, never as HTML).

import type { Tip } from './guidance';
import type { Key, Strings } from './i18n';

type Obj = Record<string, unknown>;

const COLOR = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
/** The server validated these already; checking again keeps a bad value out of CSS. */
export function color(v: unknown): string | undefined {
  return typeof v === 'string' && COLOR.test(v) ? v : undefined;
}
export function link(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > 2048 || /[\s"'`<>\\()]/.test(v)) return undefined;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' && u.host ? u.href : undefined;
  } catch {
    return undefined;
  }
}
function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}
function flag(v: unknown): boolean | undefined {
  return typeof v === 'boolean' ? v : undefined;
}
function page(ui: Obj | null, name: string): Obj {
  const p = ui?.[name];
  return typeof p === 'object' && p !== null && !Array.isArray(p) ? (p as Obj) : {};
}

export interface Styled {
  text: string;
  color?: string;
}
export interface Button {
  text: string;
  color?: string;
  background?: string;
  backgroundImage?: string;
}

export interface TipsItem {
  text: string;
  icon?: string;
}

export interface Look {
  title: string;
  loading: { text: Styled; progressColor?: string };
  tips: {
    title: string;
    desc: string;
    background?: string;
    items: TipsItem[];
    button: Button;
  };
  camera: {
    background?: string;
    backgroundImage?: string;
    pageName?: string;
    pcTitle?: string;
    pcDesc?: string;
    pcIcon?: string;
    tips: Record<Tip, Styled>;
  };
  refresh: { icon?: string; bold: Styled; tip: Styled; button: Button };
  qr: {
    icon?: string;
    deniedBold: Styled;
    deniedTip: Styled;
    issueBold: Styled;
    issueTip: Styled;
    link: { color?: string; background?: string; backgroundImage?: string; border?: string };
    copy: Button;
  };
  finished: { icon?: string; bold: Styled; tip: Styled };
  uploading: Styled;
  timeout: {
    bold: Styled;
    tip: Styled;
    icon?: string;
    button: Button;
    background?: string;
    backgroundImage?: string;
  };
  result: {
    successIcon?: string;
    failedIcon?: string;
    successDesc: string;
    failedDesc: string;
    textColor?: string;
    showScore: boolean;
    next: Button;
    again: Button;
    nextInvisibleBeforeTriesUsedUp: boolean;
    background?: string;
    backgroundImage?: string;
    isShow: boolean;
    faceShow: boolean;
    countdown: Styled;
    countdownOff: boolean;
  };
  /** A failed try while tries remain. */
  failedDialog: { desc: string; icon?: string; button: Button };
}

const TIP_FIELDS: Record<Tip, { field?: string; key: Key }> = {
  missing: { field: 'faceMissing', key: 'tipMissing' },
  multiple: { field: 'multipleFaces', key: 'tipMultiple' },
  tooDark: { key: 'tipTooDark' },
  notCentered: { field: 'faceNotCenter', key: 'tipNotCentered' },
  moveLeft: { field: 'moveLeft', key: 'tipMoveLeft' },
  moveRight: { field: 'moveRight', key: 'tipMoveRight' },
  moveUp: { field: 'moveTop', key: 'tipMoveUp' },
  moveDown: { field: 'moveBottom', key: 'tipMoveDown' },
  tooFar: { field: 'faceTooFar', key: 'tipTooFar' },
  tooNear: { field: 'faceTooNear', key: 'tipTooNear' },
  notFrontal: { field: 'faceNotFrontal', key: 'tipNotFrontal' },
  occluded: { field: 'faceOcclusion', key: 'tipOccluded' },
  keepStill: { field: 'keepStill', key: 'tipKeepStill' },
  good: { key: 'tipGood' },
};

/**
 * Resolves every page. `desktop` picks the `pc…` pages where they exist (their fields override
 * the mobile ones; a field left out falls back to the mobile page, then to the built-in text).
 */
export function resolveLook(uiIn: unknown, s: Strings, desktop: boolean): Look {
  const ui = typeof uiIn === 'object' && uiIn !== null && !Array.isArray(uiIn) ? (uiIn as Obj) : null;
  const cam = page(ui, 'mobileCameraPage');
  const load = page(ui, 'mobileLoadingPage');
  const mRes = page(ui, 'mobileResultPage');
  const multi = page(ui, 'mobileMultiDeviceProcessPage');
  const tout = page(ui, 'mobileTimeoutPage');
  const mTips = page(ui, 'mobileTipsPage');
  const mFail = page(ui, 'mobileFailedDialog');
  const pcTips = desktop ? page(ui, 'pcTipsPage') : {};
  const pcFail = desktop ? page(ui, 'pcFailedDialog') : {};
  const pcCam = desktop ? page(ui, 'pcCameraPage') : {};
  const pcRes = desktop ? page(ui, 'pcResultPage') : {};
  // Desktop field first, then mobile field.
  const pick = <T>(f: (v: unknown) => T | undefined, pc: Obj, m: Obj, k: string): T | undefined => f(pc[k]) ?? f(m[k]);

  const tipsDefault = tipColor(cam.tipsTextColor);
  const tips = {} as Record<Tip, Styled>;
  for (const [tip, { field, key }] of Object.entries(TIP_FIELDS) as [Tip, { field?: string; key: Key }][]) {
    tips[tip] = {
      text: (field && text(cam[`${field}TipText`])) || s[key],
      color: (field && color(cam[`${field}TipTextColor`])) || tipsDefault,
    };
  }

  const tipItems = (pcTips.tips ?? mTips.tips) as unknown;
  const items: TipsItem[] = Array.isArray(tipItems)
    ? tipItems
        .slice(0, 4)
        .filter((t): t is Obj => typeof t === 'object' && t !== null && text((t as Obj).text) !== undefined)
        .map((t) => ({ text: t.text as string, icon: link(t.iconLink) }))
    : [];

  return {
    title: text(ui?.titleText) ?? s.title,
    loading: {
      text: { text: text(load.loadingText) ?? s.loading, color: color(load.loadingTextColor) },
      progressColor: color(load.progressColor),
    },
    tips: {
      title: pick(text, pcTips, mTips, 'titleText') ?? s.cameraAsk,
      desc: pick(text, pcTips, mTips, 'titleDescText') ?? s.cameraAskTip,
      background: pick(color, pcTips, mTips, 'backgroundColor'),
      items,
      button: {
        text: pick(text, pcTips, mTips, 'buttonText') ?? s.cameraStart,
        background: pick(color, pcTips, mTips, 'buttonBackgroundColor'),
      },
    },
    camera: {
      background: color(cam.backgroundColor),
      backgroundImage: link(cam.backgroundLink),
      pageName: text(cam.pageName),
      pcTitle: text(pcCam.titleText),
      pcDesc: text(pcCam.titleDescText),
      pcIcon: link(pcCam.takePhotoIconLink),
      tips,
    },
    refresh: {
      icon: link(multi.refreshPageTopIconLink),
      bold: { text: text(multi.refreshPageBoldText) ?? s.permissionDeniedTitle, color: color(multi.refreshPageBoldTextColor) },
      tip: { text: text(multi.refreshPageTipText) ?? s.permissionDeniedTip, color: color(multi.refreshPageTipTextColor) },
      button: {
        text: text(multi.refreshPageBtnText) ?? s.refresh,
        color: color(multi.refreshPageBtnTextColor),
        background: color(multi.refreshPageBtnBackgroundColor),
        backgroundImage: link(multi.refreshPageBtnBackgroundLink),
      },
    },
    qr: {
      icon: link(multi.qrCodePageTopIconLink),
      deniedBold: {
        text: text(multi.qrCodePagePermissionDeniedBoldText) ?? s.qrDeniedTitle,
        color: color(multi.qrCodePagePermissionDeniedBoldTextColor),
      },
      deniedTip: {
        text: text(multi.qrCodePagePermissionDeniedTipText) ?? s.qrDeniedTip,
        color: color(multi.qrCodePagePermissionDeniedTipTextColor),
      },
      issueBold: {
        text: text(multi.qrCodePageCameraIssueBoldText) ?? s.qrIssueTitle,
        color: color(multi.qrCodePageCameraIssueBoldTextColor),
      },
      issueTip: {
        text: text(multi.qrCodePageCameraIssueTipText) ?? s.qrIssueTip,
        color: color(multi.qrCodePageCameraIssueTipTextColor),
      },
      link: {
        color: color(multi.qrCodePageLivenessLinkTextColor),
        background: color(multi.qrCodePageLivenessLinkBackgroundColor),
        backgroundImage: link(multi.qrCodePageLivenessLinkBackgroundLink),
        border: color(multi.qrCodePageLivenessLinkBorderColor),
      },
      copy: {
        text: text(multi.qrCodePageCopyLinkBtnText) ?? s.copyLink,
        color: color(multi.qrCodePageCopyLinkBtnTextColor),
        background: color(multi.qrCodePageCopyLinkBtnBackgroundColor),
        backgroundImage: link(multi.qrCodePageCopyLinkBtnBackgroundLink),
      },
    },
    finished: {
      icon: link(multi.verifyFinishedPageTopIconLink),
      bold: { text: text(multi.verifyFinishedPageBoldText) ?? s.verifyFinishedTitle, color: color(multi.verifyFinishedPageBoldTextColor) },
      tip: { text: text(multi.verifyFinishedPageTipText) ?? s.verifyFinishedTip, color: color(multi.verifyFinishedPageTipTextColor) },
    },
    uploading: { text: text(multi.videoUploadingText) ?? s.uploading, color: color(multi.videoUploadingTextColor) },
    timeout: {
      bold: { text: text(tout.boldText) ?? s.timeoutTitle, color: color(tout.boldTextColor) },
      tip: { text: text(tout.tipText) ?? s.timeoutTip, color: color(tout.tipTextColor) },
      icon: link(tout.iconLink),
      button: {
        text: text(tout.tryAgainButtonText) ?? s.tryAgain,
        color: color(tout.tryAgainButtonTextColor),
        background: color(tout.tryAgainButtonBackgroundColor),
        backgroundImage: link(tout.tryAgainButtonBackgroundLink),
      },
      background: color(tout.backgroundColor),
      backgroundImage: link(tout.backgroundLink),
    },
    result: {
      successIcon: pick(link, pcRes, mRes, 'successIconLink'),
      failedIcon: pick(link, pcRes, mRes, 'failedIconLink'),
      successDesc: pick(text, pcRes, mRes, 'successDesc') ?? s.successDesc,
      failedDesc: pick(text, pcRes, mRes, 'failedDesc') ?? s.failedDesc,
      textColor: color(mRes.livenessResultTextColor),
      showScore: flag(mRes.showScore) ?? false,
      next: {
        text: pick(text, pcRes, mRes, 'nextStepButtonText') ?? s.nextStep,
        color: color(mRes.nextStepButtonTextColor),
        background: pick(color, pcRes, mRes, 'nextStepButtonBackgroundColor'),
        backgroundImage: link(mRes.nextStepButtonBackgroundLink),
      },
      again: {
        text: pick(text, pcRes, mRes, 'tryAgainButtonText') ?? s.tryAgain,
        color: color(mRes.tryAgainButtonTextColor),
        background: pick(color, pcRes, mRes, 'tryAgainButtonBackgroundColor'),
        backgroundImage: link(mRes.tryAgainButtonBackgroundLink),
      },
      nextInvisibleBeforeTriesUsedUp: flag(mRes.nextStepButtonInvisibleBeforeTryCountUseUp) ?? false,
      background: color(mRes.backgroundColor),
      backgroundImage: link(mRes.backgroundLink),
      isShow: flag(mRes.isShow) ?? true,
      faceShow: flag(mRes.faceShow) ?? false,
      countdown: {
        text: countdownText(mRes.countdownText) ?? s.countdown,
        color: color(mRes.countdownTextColor),
      },
      countdownOff: flag(mRes.closeCountdownLogic) ?? false,
    },
    failedDialog: {
      desc: pick(text, pcFail, mFail, 'descText') ?? pick(text, pcRes, mRes, 'failedDesc') ?? s.failedDesc,
      icon: pick(link, pcFail, mFail, 'iconLink') ?? pick(link, pcRes, mRes, 'failedIconLink'),
      button: {
        text: pick(text, pcFail, mFail, 'buttonText') ?? pick(text, pcRes, mRes, 'tryAgainButtonText') ?? s.tryAgain,
        color: color(mRes.tryAgainButtonTextColor),
        background:
          pick(color, pcFail, mFail, 'buttonBackgroundColor') ?? pick(color, pcRes, mRes, 'tryAgainButtonBackgroundColor'),
        backgroundImage: link(mRes.tryAgainButtonBackgroundLink),
      },
    },
  };
}

function tipColor(v: unknown): string | undefined {
  return color(v);
}

/** `countdownText` must carry `{second}`; one without it would hide the countdown, so it is ignored. */
function countdownText(v: unknown): string | undefined {
  const t = text(v);
  return t && t.includes('{second}') ? t : undefined;
}

/** Which buttons the result page shows (ConfigureUI's flags applied). */
export function resultButtons(
  look: Look['result'],
  r: { passed: boolean; retryAllowed: boolean; canLeave: boolean },
): { next: boolean; again: boolean } {
  const again = !r.passed && r.retryAllowed;
  let next = r.canLeave;
  if (!r.passed && r.retryAllowed && look.nextInvisibleBeforeTriesUsedUp) next = false;
  return { next, again };
}
