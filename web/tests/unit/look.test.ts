import { describe, expect, it } from 'vitest';
import { STRINGS } from '../../src/i18n';
import { color, link, resolveLook, resultButtons } from '../../src/look';

const en = STRINGS.en;

describe('ConfigureUI application', () => {
  it('uses the built-in texts without a configuration', () => {
    const l = resolveLook(null, en, false);
    expect(l.title).toBe(en.title);
    expect(l.camera.tips.tooFar).toEqual({ text: en.tipTooFar, color: undefined });
    expect(l.result.isShow).toBe(true);
    expect(l.result.showScore).toBe(false);
    expect(l.result.countdown.text).toBe(en.countdown);
  });

  it('applies every camera-page tip text and colour, with tipsTextColor as the default colour', () => {
    const ui = {
      mobileCameraPage: {
        tipsTextColor: '#111111',
        faceNotCenterTipText: 'A', faceNotFrontalTipText: 'B', faceTooFarTipText: 'C', faceTooNearTipText: 'D',
        keepStillTipText: 'E', moveLeftTipText: 'F', moveRightTipText: 'G', moveTopTipText: 'H', moveBottomTipText: 'I',
        multipleFacesTipText: 'J', faceMissingTipText: 'K', faceOcclusionTipText: 'L',
        faceTooFarTipTextColor: '#ABC',
        backgroundColor: '#000', backgroundLink: 'https://cdn.example.com/bg.png', pageName: 'kyc',
      },
    };
    const t = resolveLook(ui, en, false).camera.tips;
    expect([t.notCentered, t.notFrontal, t.tooFar, t.tooNear, t.keepStill, t.moveLeft, t.moveRight, t.moveUp, t.moveDown, t.multiple, t.missing, t.occluded].map((x) => x.text).join('')).toBe('ABCDEFGHIJKL');
    expect(t.tooFar.color).toBe('#ABC');
    expect(t.tooNear.color).toBe('#111111');
    expect(t.good).toEqual({ text: en.tipGood, color: '#111111' });
    const c = resolveLook(ui, en, false).camera;
    expect([c.background, c.backgroundImage, c.pageName]).toEqual(['#000', 'https://cdn.example.com/bg.png', 'kyc']);
  });

  it('applies the result page', () => {
    const r = resolveLook(
      {
        mobileResultPage: {
          successDesc: 'Yay', failedDesc: 'Nay', showScore: true, isShow: false, faceShow: true,
          nextStepButtonText: 'Go', nextStepButtonBackgroundColor: '#00ff00', nextStepButtonTextColor: '#fff',
          tryAgainButtonText: 'Again', tryAgainButtonBackgroundColor: '#f00', tryAgainButtonTextColor: '#000',
          nextStepButtonInvisibleBeforeTryCountUseUp: true, livenessResultTextColor: '#123456',
          countdownText: 'Leaving in {second}', countdownTextColor: '#999', closeCountdownLogic: true,
          successIconLink: 'https://x.example/ok.png', failedIconLink: 'https://x.example/ko.png',
          backgroundColor: '#eee', nextStepButtonBackgroundLink: 'https://x.example/b.png',
        },
      },
      en,
      false,
    ).result;
    expect(r).toMatchObject({
      successDesc: 'Yay', failedDesc: 'Nay', showScore: true, isShow: false, faceShow: true,
      next: { text: 'Go', background: '#00ff00', color: '#fff', backgroundImage: 'https://x.example/b.png' },
      again: { text: 'Again', background: '#f00', color: '#000' },
      nextInvisibleBeforeTriesUsedUp: true, textColor: '#123456',
      countdown: { text: 'Leaving in {second}', color: '#999' }, countdownOff: true,
      successIcon: 'https://x.example/ok.png', failedIcon: 'https://x.example/ko.png', background: '#eee',
    });
  });

  it('hides "next step" before the tries are used up only when asked to', () => {
    const plain = resolveLook(null, en, false).result;
    const hide = resolveLook({ mobileResultPage: { nextStepButtonInvisibleBeforeTryCountUseUp: true } }, en, false).result;
    const failedWithRetry = { passed: false, retryAllowed: true, canLeave: true };
    expect(resultButtons(plain, failedWithRetry)).toEqual({ next: true, again: true });
    expect(resultButtons(hide, failedWithRetry)).toEqual({ next: false, again: true });
    expect(resultButtons(hide, { passed: false, retryAllowed: false, canLeave: true })).toEqual({ next: true, again: false });
    expect(resultButtons(hide, { passed: true, retryAllowed: true, canLeave: true })).toEqual({ next: true, again: false });
    expect(resultButtons(plain, { passed: true, retryAllowed: false, canLeave: false })).toEqual({ next: false, again: false });
  });

  it('applies the multi-device, timeout, loading, tips pages and failed dialog', () => {
    const l = resolveLook(
      {
        titleText: 'Acme KYC',
        mobileLoadingPage: { loadingText: 'Wait', loadingTextColor: '#010203', progressColor: '#0f0' },
        mobileMultiDeviceProcessPage: {
          refreshPageBoldText: 'R1', refreshPageTipText: 'R2', refreshPageBtnText: 'R3', refreshPageBtnBackgroundColor: '#111',
          qrCodePagePermissionDeniedBoldText: 'Q1', qrCodePageCameraIssueTipText: 'Q2', qrCodePageCopyLinkBtnText: 'Q3',
          qrCodePageLivenessLinkBorderColor: '#222', verifyFinishedPageBoldText: 'V1', verifyFinishedPageTipText: 'V2',
          videoUploadingText: 'Up', videoUploadingTextColor: '#333',
        },
        mobileTimeoutPage: { boldText: 'T1', tipText: 'T2', tryAgainButtonText: 'T3', backgroundColor: '#444' },
        mobileTipsPage: { titleText: 'P1', titleDescText: 'P2', buttonText: 'P3', tips: [{ text: 'one', iconLink: 'https://x.example/1.png' }, { text: 'two' }] },
        mobileFailedDialog: { descText: 'F1', buttonText: 'F2', buttonBackgroundColor: '#555' },
      },
      en,
      false,
    );
    expect(l.title).toBe('Acme KYC');
    expect(l.loading).toEqual({ text: { text: 'Wait', color: '#010203' }, progressColor: '#0f0' });
    expect([l.refresh.bold.text, l.refresh.tip.text, l.refresh.button.text, l.refresh.button.background]).toEqual(['R1', 'R2', 'R3', '#111']);
    expect([l.qr.deniedBold.text, l.qr.issueTip.text, l.qr.copy.text, l.qr.link.border]).toEqual(['Q1', 'Q2', 'Q3', '#222']);
    expect([l.finished.bold.text, l.finished.tip.text]).toEqual(['V1', 'V2']);
    expect(l.uploading).toEqual({ text: 'Up', color: '#333' });
    expect([l.timeout.bold.text, l.timeout.tip.text, l.timeout.button.text, l.timeout.background]).toEqual(['T1', 'T2', 'T3', '#444']);
    expect(l.tips.items).toEqual([{ text: 'one', icon: 'https://x.example/1.png' }, { text: 'two', icon: undefined }]);
    expect([l.tips.title, l.tips.desc, l.tips.button.text]).toEqual(['P1', 'P2', 'P3']);
    expect([l.failedDialog.desc, l.failedDialog.button.text, l.failedDialog.button.background]).toEqual(['F1', 'F2', '#555']);
  });

  it('prefers the PC pages on a desktop, falling back to the mobile ones', () => {
    const ui = {
      mobileResultPage: { successDesc: 'mobile', failedDesc: 'mobile-failed' },
      pcResultPage: { successDesc: 'pc' },
      pcCameraPage: { titleText: 'Look here', titleDescText: 'desc', takePhotoIconLink: 'https://x.example/cam.png' },
      pcTipsPage: { titleText: 'PC tips' },
    };
    const pc = resolveLook(ui, en, true);
    expect([pc.result.successDesc, pc.result.failedDesc, pc.tips.title]).toEqual(['pc', 'mobile-failed', 'PC tips']);
    expect([pc.camera.pcTitle, pc.camera.pcDesc, pc.camera.pcIcon]).toEqual(['Look here', 'desc', 'https://x.example/cam.png']);
    const phone = resolveLook(ui, en, false);
    expect([phone.result.successDesc, phone.camera.pcTitle]).toEqual(['mobile', undefined]);
  });

  it('never lets a bad value through, even if the server let one pass', () => {
    expect(color('#fff')).toBe('#fff');
    expect(color('red')).toBeUndefined();
    expect(color('#ffff')).toBeUndefined();
    expect(link('https://a.example/x.png')).toBe('https://a.example/x.png');
    expect(link('http://a.example/x.png')).toBeUndefined();
    expect(link('javascript:alert(1)')).toBeUndefined();
    expect(link('https://a.example/x.png")')).toBeUndefined();
    const l = resolveLook({ mobileResultPage: { countdownText: 'no placeholder', successDesc: '   ' }, titleText: 42 }, en, false);
    expect(l.result.countdown.text).toBe(en.countdown);
    expect(l.result.successDesc).toBe(en.successDesc);
    expect(l.title).toBe(en.title);
  });
});
