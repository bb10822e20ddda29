// A scriptable camera: an init script replaces getUserMedia with a canvas stream that shows
// the pose the page asks for (document.body.dataset.action, and for a `look` step
// document.body.dataset.target). Images come from same-origin paths (/__fake/NAME.jpg) that
// the test fulfils with context.route, so the page's CSP holds.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const POSES = ['neutral', 'blink', 'open_mouth', 'turn_left', 'turn_right', 'nod', 'near'];
/** The look grid of render_subject (its README.txt): yaw and pitch in degrees, and the head's
 * turn for a target at full reach (the server tests' respond_look). */
export const LOOK_GRID = { yaw: [-25, 25, 5], pitch: [-16, 16, 4], yawPerX: 25, pitchPerY: 16 };

/** Serves `dir/POSE.jpg` (or one image for every pose) under /__fake/ to pages of `context`. */
export async function serveFakeImages(context, source) {
  await context.route('**/__fake/*', async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop().replace(/\.jpg$/, '');
    let file = typeof source === 'string' && !source.endsWith('.png') && !source.endsWith('.jpg') ? join(source, `${name}.jpg`) : source;
    if (!existsSync(file)) return route.fulfill({ status: 404, body: '' });
    const type = file.endsWith('.png') ? 'image/png' : 'image/jpeg';
    await route.fulfill({ status: 200, body: readFileSync(file), headers: { 'content-type': type, 'cache-control': 'no-store' } });
  });
}

/**
 * Installs the fake camera in every page of `context`.
 * opts.mode: 'subject' (rendered poses), 'photo' (one picture, near = the picture scaled up),
 *            'none' (an empty room).
 * opts.holdMs: how long a pose is held after the step appears (blink is a short pulse).
 */
export async function installFakeCamera(context, opts = {}) {
  await context.addInitScript((cfg) => {
    const grid = cfg.lookGrid;
    const md = navigator.mediaDevices;
    if (!md) return;
    const poses = ['neutral', 'blink', 'open_mouth', 'turn_left', 'turn_right', 'nod', 'near'];
    // Live controls for the test: mode ('subject' | 'photo' | 'none'), and for 'photo' the
    // layout of the picture: zoom, shift (fractions of the frame) and how many copies.
    const fake = (window.__fakeCamera = { mode: cfg.mode ?? 'photo', zoom: cfg.zoom ?? 1, dx: cfg.dx ?? 0, dy: cfg.dy ?? 0, copies: 1, frames: 0, pose: 'neutral', log: [] });
    md.getUserMedia = async (constraints) => {
      if (!constraints || !constraints.video) throw new DOMException('video only', 'NotSupportedError');
      if (cfg.delayMs) await new Promise((r) => setTimeout(r, cfg.delayMs));
      const W = 640;
      const H = 480;
      const canvas = document.createElement('canvas');
      canvas.width = W;
      canvas.height = H;
      const ctx = canvas.getContext('2d');
      const images = {};
      const load = async (n) => {
        const res = await fetch(`/__fake/${n}.jpg`);
        if (res.ok) images[n] = await createImageBitmap(await res.blob());
      };
      for (const n of cfg.mode === 'subject' ? poses : ['neutral']) await load(n);
      // The look grid (99 images) loads, all at once, before the camera starts: a pose not
      // yet loaded would show as neutral, and the first target would look ignored.
      const lookName = (yaw, pitch) => `look_y${yaw}_p${pitch}`;
      if (cfg.mode === 'subject') {
        const names = [];
        for (let yaw = grid.yaw[0]; yaw <= grid.yaw[1]; yaw += grid.yaw[2]) {
          for (let pitch = grid.pitch[0]; pitch <= grid.pitch[1]; pitch += grid.pitch[2]) names.push(lookName(yaw, pitch));
        }
        await Promise.all(names.map(load));
      }
      let action = '';
      let since = performance.now();
      // The follow part: the head turns from the previous target (the centre at first) to the
      // new one from 300 to 750 ms after it appears, as the server tests' respond_look.
      let target = '';
      let from = [0, 0];
      let to = [0, 0];
      let targetSince = since;
      const lookPose = (now) => {
        const k = Math.min(1, Math.max(0, (now - targetSince - 300) / 450));
        const x = from[0] + k * (to[0] - from[0]);
        const y = from[1] + k * (to[1] - from[1]);
        const snap = (v, [lo, hi, step]) => Math.min(hi, Math.max(lo, Math.round(v / step) * step)) || 0;
        // The user's right is the image's left in an unmirrored frame: yaw falls.
        return lookName(snap(-x * grid.yawPerX, grid.yaw), snap(y * grid.pitchPerY, grid.pitch));
      };
      // [start, duration] in ms after the step appears, per the README.txt of render_subject.
      const timing = {
        blink: [400, 300],
        open_mouth: [350, 1000],
        turn_left: [400, 500],
        turn_right: [400, 500],
        nod: [400, 400],
        move_closer: [600, Infinity],
        near: [600, Infinity],
        ...(cfg.timing ?? {}),
      };
      // Turns and nods: [yaw, pitch] at the look grid's reach, k from 0 (rest) to 1.
      const RAMP_MS = 300;
      const toward = (yaw, pitch) => (k) => lookName(Math.round((k * yaw) / grid.yaw[2]) * grid.yaw[2] || 0, Math.round((k * pitch) / grid.pitch[2]) * grid.pitch[2] || 0);
      const turnSweep = { turn_left: toward(grid.yaw[1], 0), turn_right: toward(grid.yaw[0], 0), nod: toward(0, grid.pitch[0]) };
      const pick = () => {
        const a = document.body?.dataset.action ?? '';
        const now = performance.now();
        if (a !== action) {
          action = a;
          since = now;
        }
        if (a === 'look') {
          const tg = document.body?.dataset.target ?? '';
          if (tg !== target) {
            const [x, y] = tg.split(',').map(Number);
            // Wherever the head is now is where the next turn starts.
            const k = Math.min(1, Math.max(0, (now - targetSince - 300) / 450));
            from = target ? [from[0] + k * (to[0] - from[0]), from[1] + k * (to[1] - from[1])] : [0, 0];
            to = [x || 0, y || 0];
            target = tg;
            targetSince = now;
          }
          return lookPose(now);
        }
        target = '';
        const t = now - since;
        const tm = timing[a];
        if (!tm || t < tm[0]) return 'neutral';
        // A person turns or nods over a few hundred milliseconds, not from one frame to the
        // next (the server judges a jump between two still poses as a splice): the head passes
        // through the look grid's poses on the way to the rendered turn or nod and back.
        const sweep = turnSweep[a];
        if (sweep) {
          const into = t - tm[0];
          const out = into - RAMP_MS - tm[1];
          if (into < RAMP_MS) return sweep(into / RAMP_MS);
          if (out < 0) return a;
          return out < RAMP_MS ? sweep(1 - out / RAMP_MS) : 'neutral';
        }
        if (t >= tm[0] + tm[1]) return 'neutral';
        return a === 'move_closer' ? 'near' : a;
      };
      // A photo is framed so that its face (cfg.focus: centre and width as fractions of the
      // picture) is in the middle at `cfg.focus.target` of the frame height.
      const placePhoto = (img, zoom) => {
        const f = cfg.focus ?? { x: 0.5, y: 0.5, w: 0.3, target: 0.36 };
        const scale = ((f.target * H) / (f.w * img.width)) * zoom;
        const w = img.width * scale;
        const h = img.height * scale;
        return [W / 2 - f.x * w, H / 2 - f.y * h, w, h];
      };
      const draw = () => {
        const pose = pick();
        if (pose !== fake.pose) fake.log.push([Math.round(performance.now()), pose]);
        fake.pose = pose;
        ctx.fillStyle = '#6b7280';
        ctx.fillRect(0, 0, W, H);
        if (fake.mode === 'subject' && (images[pose] || pose.startsWith('look_'))) {
          // The renders are 640×480; zoom (about the middle) and dx/dy place the person in
          // front of the camera: nearer, lower. Every pose gets the same placement, so the
          // head's own movements and the far/near ratio stay as rendered.
          const z = fake.zoom;
          ctx.drawImage(images[pose] ?? images.neutral, (W - W * z) / 2 + fake.dx * W, (H - H * z) / 2 + fake.dy * H, W * z, H * z);
        } else if (fake.mode !== 'none' && images.neutral) {
          // One photo: "closer" is the same picture larger.
          const zoom = fake.zoom * (pose === 'near' ? 1.6 : 1);
          const [x, y, w, h] = placePhoto(images.neutral, zoom);
          for (let i = 0; i < fake.copies; i++) {
            const off = fake.copies > 1 ? (i - (fake.copies - 1) / 2) * W * 0.5 : 0;
            ctx.drawImage(images.neutral, x + off + fake.dx * W, y + fake.dy * H, w, h);
          }
        }
        // Sensor noise: a real camera never sends two identical frames.
        const noise = ctx.getImageData(0, 0, W, 8);
        for (let i = 0; i < noise.data.length; i += 4) noise.data[i] = (noise.data[i] + ((Math.random() * 9) | 0)) & 255;
        ctx.putImageData(noise, 0, 0);
        fake.frames++;
      };
      draw();
      setInterval(draw, 33);
      return canvas.captureStream(30);
    };
  }, { lookGrid: LOOK_GRID, ...opts });
}

/** Where the astronaut's face is in models/testdata/astronaut.png (fractions of the picture). */
export const ASTRONAUT_FOCUS = { x: 0.44, y: 0.235, w: 0.2, target: 0.36 };
