/**
 * Facades ("countries"): street scenes of 1-3 buildings whose local cues (wall, window, frame, roof, door,
 * vegetation, sign) follow a per-class distribution with overlap between classes. See README.md for the design.
 */
import { Dataset, Split } from '../dataset';
import { Rng } from '../../util/rng';
import { finishImage } from './common';
import {
  Canvas,
  IDENTITY,
  Paint,
  Rgb,
  Shape,
  bricks,
  capsule,
  ellipse,
  hash2,
  mix,
  polygon,
  rect,
  rgb,
  shade,
  solid,
  speckle,
  stripes,
  union,
  vgradient,
  FLAT_COLOURS,
} from './raster';

export const FACADE_PARTS = ['wall', 'window', 'frame', 'roof', 'door', 'vegetation', 'sign'] as const;
export type FacadeCue = (typeof FACADE_PARTS)[number];
export const FACADE_LABEL: Record<FacadeCue, number> = { wall: 1, window: 2, frame: 3, roof: 4, door: 5, vegetation: 6, sign: 7 };

/** The values each cue can take. */
export const CUE_VALUES: Record<FacadeCue, string[]> = {
  wall: ['dark-brick', 'light-brick', 'stucco', 'wood', 'stone', 'concrete', 'glass'],
  window: ['rect', 'arched', 'small', 'tall', 'band'],
  frame: ['white', 'dark', 'shutters', 'none'],
  roof: ['flat', 'gable-red', 'gable-slate', 'dome'],
  door: ['wood', 'arched', 'glass'],
  vegetation: ['palm', 'tree', 'hedge', 'none'],
  sign: ['none', 'red', 'blue'],
};

/**
 * The classes. Each has 2-3 signature cues: with probability `p` the cue takes the class's value, otherwise a value
 * drawn uniformly from all values of that cue (the shared base distribution, which also holds the signature values
 * of other classes, so classes overlap). Cues without a signature follow the base distribution.
 */
export const FACADE_CLASSES: { name: string; signature: Partial<Record<FacadeCue, [string, number]>> }[] = [
  { name: 'brickland', signature: { wall: ['dark-brick', 0.75], frame: ['white', 0.75], roof: ['gable-slate', 0.6] } },
  { name: 'palmyra', signature: { wall: ['glass', 0.7], vegetation: ['palm', 0.75], roof: ['flat', 0.6] } },
  { name: 'archia', signature: { window: ['arched', 0.75], roof: ['dome', 0.6], wall: ['stone', 0.5] } },
  { name: 'timberia', signature: { wall: ['wood', 0.75], roof: ['gable-red', 0.6], vegetation: ['tree', 0.6] } },
  { name: 'pastelia', signature: { wall: ['stucco', 0.75], frame: ['shutters', 0.7] } },
  { name: 'signapore', signature: { sign: ['red', 0.8], wall: ['concrete', 0.6], window: ['band', 0.6] } },
];

export interface FacadesOptions {
  split: Split;
  seed?: number;
  /** Number of images (default 1200 train / 300 test). */
  size?: number;
  /** Image side in pixels (default 128). */
  side?: number;
  /** Number of classes, the first k of FACADE_CLASSES (default 6). */
  classes?: number;
  /** Per-pixel noise amplitude (default 5). */
  noise?: number;
  /** 'flat' paints each cue in FLAT colours on black (tests). */
  mode?: 'normal' | 'flat';
}

/** Flat colours per label in 'flat' mode (index = label). */
export const FLAT_CUE_COLOURS = FLAT_COLOURS;

export interface FacadeRecord {
  label: number;
  /** Cues of each drawn building, in order left to right. */
  buildings: Record<FacadeCue, string>[];
}

const PASTELS = [rgb(240, 200, 200), rgb(250, 230, 170), rgb(200, 225, 240), rgb(215, 240, 205), rgb(245, 215, 180)];

function sampleCues(rng: Rng, label: number): Record<FacadeCue, string> {
  const sig = FACADE_CLASSES[label].signature;
  const out = {} as Record<FacadeCue, string>;
  for (const cue of FACADE_PARTS) {
    const s = sig[cue];
    out[cue] = s && rng.next() < s[1] ? s[0] : rng.pick(CUE_VALUES[cue]);
  }
  return out;
}

function wallPaint(kind: string, rng: Rng, k: number): Paint {
  const seed = rng.nextU32();
  switch (kind) {
    case 'dark-brick':
      return bricks(rgb(105, 45, 35), rgb(70, 60, 55), 6 * k, 3 * k, 1, seed);
    case 'light-brick':
      return bricks(rgb(205, 120, 70), rgb(225, 215, 200), 6 * k, 3 * k, 1, seed);
    case 'stucco':
      return speckle(solid(rng.pick(PASTELS)), 0.04, seed);
    case 'wood':
      return (_u, v, x, y) => {
        const plank = Math.floor(v / (3 * k));
        const base = shade(rgb(150, 100, 60), 0.8 + 0.35 * hash2(plank, 0, seed));
        return v - plank * 3 * k < 0.8 ? rgb(80, 55, 35) : shade(base, 0.95 + 0.1 * hash2(x >> 2, y, seed));
      };
    case 'stone':
      return bricks(rgb(185, 175, 155), rgb(140, 130, 115), 10 * k, 6 * k, 1, seed);
    case 'concrete':
      return speckle(solid(rgb(165, 165, 160)), 0.08, seed);
    case 'glass': {
      const mullion = rgb(200, 205, 210);
      const light = mix(rgb(60, 110, 150), rgb(150, 190, 215), 0.3);
      const dark = mix(rgb(60, 110, 150), rgb(150, 190, 215), 0.1);
      return (u, v) => {
        const gu = ((u % (6 * k)) + 6 * k) % (6 * k);
        const gv = ((v % (8 * k)) + 8 * k) % (8 * k);
        return gu < 1 || gv < 1 ? mullion : (u * 0.7 + v * 0.3) % 1 > 0.5 ? light : dark;
      };
    }
    default:
      throw new Error(`unknown wall ${kind}`);
  }
}

/** Window shape at (x, y) of size (w, h) by kind; frame is the same shape grown by `g`. */
function windowShape(kind: string, x: number, y: number, w: number, h: number, g: number): Shape {
  if (kind === 'arched') {
    const r = w / 2 + g;
    return union(rect(x - g, y + w / 2, x + w + g, y + h + g), ellipse(x + w / 2, y + w / 2, r, r));
  }
  return rect(x - g, y - g, x + w + g, y + h + g);
}

interface Building {
  x0: number;
  x1: number;
  top: number;
}

function drawBuilding(
  canvas: Canvas,
  b: Building,
  ground: number,
  cues: Record<FacadeCue, string>,
  rng: Rng,
  k: number,
  flat: boolean,
): void {
  const P = (cue: FacadeCue, paint: Paint) => (flat ? solid(FLAT_CUE_COLOURS[FACADE_LABEL[cue]]) : paint);
  const L = FACADE_LABEL;
  const { x0, x1, top } = b;
  const bw = x1 - x0;
  // Roof.
  const roofColour = cues.roof === 'gable-red' ? rgb(170, 55, 40) : cues.roof === 'gable-slate' ? rgb(70, 75, 85) : rgb(120, 115, 110);
  if (cues.roof === 'flat') {
    canvas.fill(rect(x0 - 1, top - 3 * k, x1 + 1, top), IDENTITY, P('roof', solid(roofColour)), L.roof);
  } else if (cues.roof === 'dome') {
    const r = Math.min(bw * 0.35, 14 * k);
    canvas.fill(
      ellipse((x0 + x1) / 2, top, r, r * 0.9),
      IDENTITY,
      P('roof', vgradient(rgb(60, 140, 160), rgb(40, 90, 120), top - r, top)),
      L.roof,
    );
  } else {
    const rh = Math.min(bw * 0.4, 22 * k);
    const paint = stripes(roofColour, shade(roofColour, 0.75), 3 * k, Math.PI / 2, 0.3);
    canvas.fill(
      polygon([
        [x0 - 2, top],
        [(x0 + x1) / 2, top - rh],
        [x1 + 2, top],
      ]),
      IDENTITY,
      P('roof', paint),
      L.roof,
    );
  }
  // Wall.
  canvas.fill(rect(x0, top, x1, ground), IDENTITY, P('wall', wallPaint(cues.wall, rng, k)), L.wall);
  // Door.
  const dw = 10 * k;
  const dh = 17 * k;
  const dx = x0 + rng.uniform(0.2, 0.8) * (bw - dw);
  const doorShape =
    cues.door === 'arched'
      ? union(rect(dx, ground - dh + dw / 2, dx + dw, ground), ellipse(dx + dw / 2, ground - dh + dw / 2, dw / 2, dw / 2))
      : rect(dx, ground - dh, dx + dw, ground);
  const doorPaint =
    cues.door === 'glass'
      ? stripes(rgb(90, 140, 170), rgb(200, 210, 215), 4 * k, 0, 0.2)
      : cues.door === 'arched'
        ? solid(rgb(90, 50, 30))
        : stripes(rgb(120, 75, 40), rgb(95, 60, 30), 2.5 * k, 0, 0.4);
  canvas.fill(doorShape, IDENTITY, P('door', doorPaint), L.door);
  // Windows: floors above the door.
  const glass = (shape: Shape) =>
    canvas.fill(shape, IDENTITY, P('window', vgradient(rgb(50, 70, 95), rgb(120, 150, 175), 0, canvas.height)), L.window);
  const frameColour = cues.frame === 'white' ? rgb(245, 245, 240) : cues.frame === 'dark' ? rgb(40, 35, 30) : rgb(40, 130, 70);
  const sizes: Record<string, [number, number]> = { rect: [8, 10], arched: [8, 13], small: [6, 6], tall: [6, 15], band: [0, 6] };
  const [ww0, wh0] = sizes[cues.window];
  const wh = wh0 * k;
  const floorH = wh + 7 * k;
  const isWallGlass = cues.wall === 'glass';
  for (let fy = ground - dh - 5 * k - wh; fy >= top + 3 * k; fy -= floorH) {
    if (cues.window === 'band') {
      const frameShape = rect(x0 + 3 * k - 1, fy - 1, x1 - 3 * k + 1, fy + wh + 1);
      if (cues.frame !== 'none' && cues.frame !== 'shutters') canvas.fill(frameShape, IDENTITY, P('frame', solid(frameColour)), L.frame);
      glass(rect(x0 + 3 * k, fy, x1 - 3 * k, fy + wh));
      continue;
    }
    const ww = ww0 * k;
    const gap = (cues.frame === 'shutters' ? 9 : 6) * k;
    const cols = Math.max(1, Math.floor((bw - 4 * k) / (ww + gap)));
    const used = cols * ww + (cols - 1) * gap;
    let wx = x0 + (bw - used) / 2;
    for (let c = 0; c < cols; c++, wx += ww + gap) {
      if (cues.frame === 'shutters') {
        canvas.fill(
          rect(wx - ww / 2 - 1, fy, wx, fy + wh),
          IDENTITY,
          P('frame', stripes(frameColour, shade(frameColour, 0.7), 2, Math.PI / 2, 0.3)),
          L.frame,
        );
        canvas.fill(
          rect(wx + ww, fy, wx + ww * 1.5 + 1, fy + wh),
          IDENTITY,
          P('frame', stripes(frameColour, shade(frameColour, 0.7), 2, Math.PI / 2, 0.3)),
          L.frame,
        );
      } else if (cues.frame !== 'none' && !isWallGlass) {
        canvas.fill(windowShape(cues.window, wx, fy, ww, wh, 1.2 * k), IDENTITY, P('frame', solid(frameColour)), L.frame);
      }
      glass(windowShape(cues.window, wx, fy, ww, wh, 0));
    }
  }
  // Sign above the door.
  if (cues.sign !== 'none') {
    const sw = Math.min(bw - 4, 20 * k);
    const sx = Math.max(x0 + 2, Math.min(x1 - 2 - sw, dx + dw / 2 - sw / 2));
    const sy = ground - dh - 8 * k;
    const colour = cues.sign === 'red' ? rgb(215, 35, 40) : rgb(30, 70, 190);
    const seed = rng.nextU32();
    const text: Paint = (u, v) => {
      const row = v - sy;
      const inText = row > 2 * k && row < 4.5 * k && u > sx + 2 && u < sx + sw - 2 && hash2(Math.floor(u / 1.5), 0, seed) < 0.6;
      return inText ? rgb(250, 250, 240) : colour;
    };
    canvas.fill(rect(sx, sy, sx + sw, sy + 6.5 * k), IDENTITY, P('sign', text), L.sign);
  }
}

function drawVegetation(canvas: Canvas, kind: string, x: number, ground: number, rng: Rng, k: number, flat: boolean): void {
  if (kind === 'none') return;
  const L = FACADE_LABEL.vegetation;
  const seed = rng.nextU32();
  const leaf = (base: Rgb): Paint =>
    flat ? solid(FLAT_CUE_COLOURS[L]) : (u, v, px, py) => shade(base, 0.8 + 0.4 * hash2(px >> 1, py >> 1, seed));
  const trunk: Paint = flat ? solid(FLAT_CUE_COLOURS[L]) : solid(rgb(110, 80, 50));
  if (kind === 'palm') {
    const h = rng.uniform(30, 48) * k;
    const lean = rng.uniform(-6, 6) * k;
    canvas.fill(capsule(x, ground, x + lean, ground - h, 1.5 * k), IDENTITY, trunk, L);
    const tx = x + lean;
    const ty = ground - h;
    for (let f = 0; f < 6; f++) {
      const a = -Math.PI / 2 + ((f - 2.5) / 2.5) * 1.6 + rng.uniform(-0.15, 0.15);
      const len = rng.uniform(9, 13) * k;
      canvas.fill(
        ellipse(tx + Math.cos(a) * len * 0.5, ty + Math.sin(a) * len * 0.5 + 2 * k, len / 2, 1.8 * k, a),
        IDENTITY,
        leaf(rgb(60, 140, 50)),
        L,
      );
    }
  } else if (kind === 'tree') {
    const h = rng.uniform(18, 28) * k;
    const r = rng.uniform(8, 12) * k;
    canvas.fill(capsule(x, ground, x, ground - h, 1.8 * k), IDENTITY, trunk, L);
    canvas.fill(ellipse(x, ground - h - r * 0.5, r, r * 1.1), IDENTITY, leaf(rgb(50, 110, 45)), L);
  } else {
    const w = rng.uniform(12, 22) * k;
    canvas.fill(ellipse(x, ground - 3 * k, w / 2, 5 * k), IDENTITY, leaf(rgb(70, 120, 55)), L);
  }
}

/** Renders image `index` of a split; depends only on (seed, split, index). */
export function renderFacade(canvas: Canvas, opts: FacadesOptions, index: number): FacadeRecord {
  const numClasses = opts.classes ?? FACADE_CLASSES.length;
  const rng = new Rng(opts.seed ?? 0).fork(`facades/${opts.split}`).fork(index);
  const label = index % numClasses;
  const flat = opts.mode === 'flat';
  const w = canvas.width;
  const h = canvas.height;
  const k = w / 128;
  const ground = h - Math.round(rng.uniform(8, 16) * k);
  // Draw the sky colour in every mode, so that flat and normal renders consume the same random numbers.
  const top = rng.pick([rgb(120, 170, 225), rgb(175, 200, 225), rgb(200, 205, 210)]);
  if (flat) canvas.fillAll(solid(0));
  else {
    const horizon = rgb(230, 235, 240);
    canvas.fillRows((y) => {
      const v = y + 0.5;
      if (v < ground) return mix(top, horizon, v / ground);
      return v < ground + 3 * k ? rgb(175, 170, 160) : rgb(95, 95, 100);
    });
  }
  // Buildings: split the width into 1-3 lots with small gaps.
  const count = 1 + rng.int(3);
  const cuts = [0, ...Array.from({ length: count - 1 }, () => rng.uniform(0.25, 0.75)).sort((a, b) => a - b), 1];
  const buildings: Record<FacadeCue, string>[] = [];
  const vegetation: [string, number][] = [];
  for (let i = 0; i < count; i++) {
    const cues = sampleCues(rng, label);
    const x0 = Math.round(cuts[i] * w + (i === 0 ? rng.uniform(-4, 6) : rng.uniform(1, 4)) * k);
    const x1 = Math.round(cuts[i + 1] * w - (i === count - 1 ? rng.uniform(-4, 6) : rng.uniform(1, 4)) * k);
    if (x1 - x0 < 20 * k) continue;
    buildings.push(cues);
    const tall = cues.wall === 'glass' ? rng.uniform(0.75, 0.92) : rng.uniform(0.4, 0.7);
    const top = Math.round(ground - tall * h);
    drawBuilding(canvas, { x0, x1, top }, ground, cues, rng, k, flat);
    vegetation.push([cues.vegetation, rng.uniform(x0, x1)]);
  }
  for (const [kind, x] of vegetation) drawVegetation(canvas, kind, x, ground + 2 * k, rng, k, flat);
  if (!flat) finishImage(canvas, rng.fork('finish'), opts.noise ?? 5);
  return { label, buildings };
}

/** The facades dataset with cue masks. */
export function facades(opts: FacadesOptions): Dataset {
  const side = opts.side ?? 128;
  const numClasses = opts.classes ?? FACADE_CLASSES.length;
  if (!(numClasses >= 2 && numClasses <= FACADE_CLASSES.length)) {
    throw new Error(`facades: classes must be 2..${FACADE_CLASSES.length}, found ${numClasses}`);
  }
  const n = opts.size ?? (opts.split === 'train' ? 1200 : 300);
  const hw = side * side;
  const images = new Uint8Array(n * hw * 3);
  const partMaps = new Uint8Array(n * hw);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const canvas = new Canvas(side, side, images.subarray(i * hw * 3, (i + 1) * hw * 3), partMaps.subarray(i * hw, (i + 1) * hw));
    labels[i] = renderFacade(canvas, opts, i).label;
  }
  return new Dataset({
    name: 'facades',
    split: opts.split,
    images,
    labels,
    height: side,
    width: side,
    channels: 3,
    classNames: FACADE_CLASSES.slice(0, numClasses).map((c) => c.name),
    truth: {
      partNames: [...FACADE_PARTS],
      partMaps,
      discriminativeParts: FACADE_CLASSES.slice(0, numClasses).map((c) => FACADE_PARTS.filter((p) => c.signature[p] !== undefined)),
    },
  });
}
