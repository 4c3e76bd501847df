/**
 * Parts birds: a synthetic world of RGB birds built from seven parts, where the truth about which parts decide the
 * class is known. See lib/data/synthetic/README.md for the design.
 */
import { Dataset, Split } from '../dataset';
import { Rng } from '../../util/rng';
import {
  Affine,
  Canvas,
  Paint,
  Rgb,
  Shape,
  capsule,
  ellipse,
  hash2,
  mix,
  placement,
  polygon,
  rect,
  rgb,
  solid,
  spots,
  stripes,
  union,
  FLAT_COLOURS,
} from './raster';
import { finishImage } from './common';

export const BIRD_PARTS = ['head', 'beak', 'eye', 'body', 'wing', 'tail', 'legs'] as const;
export type BirdPart = (typeof BIRD_PARTS)[number];
/** Label of a part in the part maps (0 is background). */
export const BIRD_LABEL: Record<BirdPart, number> = { head: 1, beak: 2, eye: 3, body: 4, wing: 5, tail: 6, legs: 7 };

interface Variant {
  /** Shape in the bird's local frame (facing +u, v down, about 48 units long). */
  shape: Shape | Shape[];
  paint: Paint;
}

const C = {
  red: rgb(210, 30, 35),
  blue: rgb(40, 80, 220),
  yellow: rgb(245, 210, 30),
  black: rgb(25, 25, 30),
  brown: rgb(125, 85, 55),
  grey: rgb(140, 140, 135),
  tan: rgb(190, 160, 120),
  orange: rgb(240, 130, 20),
  white: rgb(245, 245, 240),
  cream: rgb(235, 220, 185),
  dark: rgb(60, 50, 45),
  green: rgb(60, 190, 70),
  buff: rgb(200, 180, 140),
  slate: rgb(95, 100, 110),
};

const HEAD = ellipse(12, -9, 6.5, 6.2);
const BODY = ellipse(0, 0, 13, 8, -0.15);
const WING = ellipse(-2, -1.5, 9.5, 5, -0.3);
const EYE_AT: [number, number] = [14.2, -10.5];

/** Variants of each part; names prefixed "n:" are neutral (never fixed by a class). */
const VARIANTS: Record<BirdPart, Record<string, Variant>> = {
  head: {
    red: { shape: HEAD, paint: solid(C.red) },
    blue: { shape: HEAD, paint: solid(C.blue) },
    yellow: { shape: HEAD, paint: solid(C.yellow) },
    black: { shape: HEAD, paint: solid(C.black) },
    'n:brown': { shape: HEAD, paint: solid(C.brown) },
    'n:grey': { shape: HEAD, paint: solid(C.grey) },
  },
  beak: {
    long: {
      shape: polygon([
        [17.5, -10.5],
        [17.5, -8],
        [29, -9],
      ]),
      paint: solid(C.orange),
    },
    hooked: {
      shape: polygon([
        [17, -12.5],
        [22, -11.5],
        [24.5, -8],
        [21, -9],
        [17, -7],
      ]),
      paint: solid(C.yellow),
    },
    'short-red': {
      shape: polygon([
        [17, -11.5],
        [17, -6.5],
        [23, -9],
      ]),
      paint: solid(C.red),
    },
    'n:short-grey': {
      shape: polygon([
        [17, -11],
        [17, -7],
        [22.5, -9],
      ]),
      paint: solid(C.slate),
    },
    'n:short-tan': {
      shape: polygon([
        [17, -11],
        [17, -7],
        [22.5, -9],
      ]),
      paint: solid(C.tan),
    },
  },
  eye: {
    'red-ring': { shape: ellipse(EYE_AT[0], EYE_AT[1], 2.3, 2.3), paint: ring(C.red, C.black, EYE_AT, 1.1) },
    'white-ring': { shape: ellipse(EYE_AT[0], EYE_AT[1], 2.3, 2.3), paint: ring(C.white, C.black, EYE_AT, 1.1) },
    'n:dot': { shape: ellipse(EYE_AT[0], EYE_AT[1], 1.3, 1.3), paint: solid(C.black) },
  },
  body: {
    striped: { shape: BODY, paint: stripes(C.cream, C.dark, 4, 0, 0.45) },
    spotted: { shape: BODY, paint: spots(C.brown, C.white, 4.5, 1.3) },
    green: { shape: BODY, paint: solid(C.green) },
    'n:brown': { shape: BODY, paint: solid(C.brown) },
    'n:grey': { shape: BODY, paint: solid(C.grey) },
    'n:buff': { shape: BODY, paint: solid(C.buff) },
  },
  wing: {
    barred: { shape: WING, paint: stripes(C.white, C.black, 3.5, 0.4, 0.5) },
    blue: { shape: WING, paint: solid(C.blue) },
    'red-tip': { shape: WING, paint: (u) => (u < -6 ? C.red : C.dark) },
    'n:dark': { shape: WING, paint: solid(C.dark) },
    'n:slate': { shape: WING, paint: solid(C.slate) },
  },
  tail: {
    forked: {
      shape: polygon([
        [-11, -3.5],
        [-11, 2.5],
        [-23, 6],
        [-18, 0],
        [-23, -7],
      ]),
      paint: solid(C.black),
    },
    streamer: {
      shape: [
        polygon([
          [-10, -3],
          [-10, 2],
          [-17, 1],
          [-17, -2],
        ]),
        capsule(-14, -0.5, -28, 4, 1.6),
      ],
      paint: solid(C.dark),
    },
    fan: {
      shape: polygon([
        [-10, -1],
        [-20, -10],
        [-24, -3],
        [-24, 3],
        [-20, 9],
      ]),
      paint: stripes(C.white, C.dark, 3, Math.PI / 2, 0.35),
    },
    'n:short-brown': {
      shape: polygon([
        [-11, -3],
        [-11, 2],
        [-20, 1],
        [-19, -4],
      ]),
      paint: solid(C.brown),
    },
    'n:short-grey': {
      shape: polygon([
        [-11, -3],
        [-11, 2],
        [-20, 1],
        [-19, -4],
      ]),
      paint: solid(C.grey),
    },
  },
  legs: {
    'long-red': { shape: union(capsule(-3, 6, -4, 17, 1.2), capsule(3, 6, 2, 17, 1.2)), paint: solid(C.red) },
    'n:short-dark': { shape: union(capsule(-3, 6, -4, 12.5, 1.1), capsule(3, 6, 2, 12.5, 1.1)), paint: solid(C.dark) },
    'n:short-grey': { shape: union(capsule(-3, 6, -4, 12.5, 1.1), capsule(3, 6, 2, 12.5, 1.1)), paint: solid(C.slate) },
  },
};

function ring(outer: Rgb, inner: Rgb, at: [number, number], r: number): Paint {
  const r2 = r * r;
  return (u, v) => ((u - at[0]) ** 2 + (v - at[1]) ** 2 <= r2 ? inner : outer);
}

/** The ten classes: each fixes the variants of 2-3 parts (its discriminative parts); all other parts are neutral. */
export const BIRD_CLASSES: { name: string; fixed: Partial<Record<BirdPart, string>> }[] = [
  { name: 'red-head barred-wing', fixed: { head: 'red', wing: 'barred' } },
  { name: 'red-head forked-tail', fixed: { head: 'red', tail: 'forked' } },
  { name: 'blue-head striped-body', fixed: { head: 'blue', body: 'striped' } },
  { name: 'hooked-beak spotted-body', fixed: { beak: 'hooked', body: 'spotted' } },
  { name: 'long-beak red-eye long-legs', fixed: { beak: 'long', eye: 'red-ring', legs: 'long-red' } },
  { name: 'blue-wing streamer-tail', fixed: { wing: 'blue', tail: 'streamer' } },
  { name: 'yellow-head green-body', fixed: { head: 'yellow', body: 'green' } },
  { name: 'white-eye fan-tail', fixed: { eye: 'white-ring', tail: 'fan' } },
  { name: 'black-head red-tip-wing red-beak', fixed: { head: 'black', wing: 'red-tip', beak: 'short-red' } },
  { name: 'long-beak spotted-body', fixed: { beak: 'long', body: 'spotted' } },
];

const DRAW_ORDER: BirdPart[] = ['legs', 'tail', 'body', 'wing', 'head', 'beak', 'eye'];
/** Local extent of every variant, for placing the bird inside the canvas. */
const LOCAL_BOX: [number, number, number, number] = [-28, -13, 29, 18.5];

export interface BirdsOptions {
  split: Split;
  seed?: number;
  /** Number of images (default 2000 train / 500 test). */
  size?: number;
  /** Image side in pixels (default 64). */
  side?: number;
  /** Number of classes, the first k of BIRD_CLASSES (default 10). */
  classes?: number;
  /** Background clutter shapes: none, or how many at most (default 6). */
  clutter?: number;
  /** Per-pixel noise amplitude in grey levels (default 6). */
  noise?: number;
  /**
   * Debug/testing: paint every part in a flat colour (FLAT_PART_COLOURS) on black, with no clutter, lighting or
   * noise; or render the image without its bird ('background': the same pixels wherever the part map is 0).
   */
  mode?: 'normal' | 'flat' | 'background';
}

/** Flat colours per label in 'flat' mode (index = label). */
export const FLAT_PART_COLOURS = FLAT_COLOURS;

export interface BirdRecord {
  label: number;
  variants: Record<BirdPart, string>;
  /** Local -> pixel placement of the bird. */
  pose: Affine;
}

/** Draws the parts of one bird; returns its variants. */
function drawBird(canvas: Canvas, variants: Record<BirdPart, string>, pose: Affine, flat: boolean): void {
  for (const part of DRAW_ORDER) {
    const variant = VARIANTS[part][variants[part]];
    const label = BIRD_LABEL[part];
    const paint = flat ? solid(FLAT_PART_COLOURS[label]) : variant.paint;
    for (const s of Array.isArray(variant.shape) ? variant.shape : [variant.shape]) canvas.fill(s, pose, paint, label);
  }
}

const SKIES: [Rgb, Rgb][] = [
  [rgb(170, 205, 235), rgb(225, 235, 240)],
  [rgb(200, 215, 190), rgb(235, 235, 215)],
  [rgb(225, 215, 200), rgb(190, 180, 160)],
  [rgb(150, 170, 160), rgb(205, 215, 200)],
];
const CLUTTER: Rgb[] = [
  rgb(70, 120, 60),
  rgb(100, 140, 70),
  rgb(110, 90, 60),
  rgb(150, 120, 90),
  rgb(170, 170, 160),
  rgb(90, 100, 80),
  rgb(190, 200, 170),
];

function drawBackground(canvas: Canvas, rng: Rng, clutter: number): void {
  const { width: w, height: h } = canvas;
  const [top, bottom] = rng.pick(SKIES);
  canvas.fillRows((y) => mix(top, bottom, (y + 0.5) / h));
  const n = clutter > 0 ? rng.int(clutter + 1) : 0;
  for (let i = 0; i < n; i++) {
    const colour = rng.pick(CLUTTER);
    const kind = rng.int(3);
    const x = rng.uniform(0, w);
    const y = rng.uniform(0, h);
    const sz = rng.uniform(0.05, 0.2) * w;
    let shape: Shape;
    if (kind === 0) shape = ellipse(x, y, sz, sz * rng.uniform(0.3, 0.8), rng.uniform(0, Math.PI));
    else if (kind === 1) shape = capsule(x, y, x + rng.uniform(-2, 2) * sz, y + rng.uniform(-1, 1) * sz, rng.uniform(0.8, 2) * (w / 64));
    else shape = rect(x, y, x + sz, y + sz * rng.uniform(0.5, 1.5));
    const seed = rng.nextU32();
    canvas.fill(
      shape,
      { a: 1, b: 0, c: 0, d: 1, tx: 0, ty: 0 },
      (_u, _v, px, py) => (hash2(px >> 1, py >> 1, seed) < 0.15 ? colour + 0x080808 : colour),
      0,
    );
  }
}

/**
 * Renders image `index` of a split into `canvas` (RGB + part labels) and returns what was drawn. Image i depends
 * only on (seed, split, i), never on how many images are generated.
 */
export function renderBird(canvas: Canvas, opts: BirdsOptions, index: number): BirdRecord {
  const numClasses = opts.classes ?? BIRD_CLASSES.length;
  const rng = new Rng(opts.seed ?? 0).fork(`parts-birds/${opts.split}`).fork(index);
  const mode = opts.mode ?? 'normal';
  const label = index % numClasses;
  const cls = BIRD_CLASSES[label];
  const partRng = rng.fork('parts');
  const variants = {} as Record<BirdPart, string>;
  for (const part of BIRD_PARTS) {
    const neutral = Object.keys(VARIANTS[part]).filter((v) => v.startsWith('n:'));
    variants[part] = cls.fixed[part] ?? partRng.pick(neutral);
  }
  // Pose: scale, small rotation, mirror, position so that the whole bird stays inside the canvas.
  const poseRng = rng.fork('pose');
  const w = canvas.width;
  const h = canvas.height;
  const s = (w / 64) * poseRng.uniform(0.72, 1.02);
  const angle = poseRng.uniform(-0.25, 0.25);
  const flip = poseRng.next() < 0.5;
  const m0 = placement(s, angle, flip, 0, 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const u of [LOCAL_BOX[0], LOCAL_BOX[2]])
    for (const v of [LOCAL_BOX[1], LOCAL_BOX[3]]) {
      xs.push(m0.a * u + m0.b * v);
      ys.push(m0.c * u + m0.d * v);
    }
  const [xlo, xhi, ylo, yhi] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const tx = xhi - xlo < w ? poseRng.uniform(-xlo, w - xhi) : w / 2;
  const ty = yhi - ylo < h ? poseRng.uniform(-ylo, h - yhi) : h / 2;
  const pose = { ...m0, tx, ty };

  if (mode === 'flat') canvas.fillAll(solid(0));
  else drawBackground(canvas, rng.fork('background'), opts.clutter ?? 6);
  if (mode !== 'background') drawBird(canvas, variants, pose, mode === 'flat');
  if (mode !== 'flat') finishImage(canvas, rng.fork('finish'), opts.noise ?? 6);
  return { label, variants, pose };
}

/** Names of each class's discriminative parts (the parts it fixes). */
export function birdDiscriminativeParts(numClasses = BIRD_CLASSES.length): string[][] {
  return BIRD_CLASSES.slice(0, numClasses).map((c) => BIRD_PARTS.filter((p) => c.fixed[p] !== undefined));
}

/** The parts-birds dataset: images, labels, part maps, bird boxes and centres. */
export function partsBirds(opts: BirdsOptions): Dataset {
  const side = opts.side ?? 64;
  const numClasses = opts.classes ?? BIRD_CLASSES.length;
  if (!(numClasses >= 2 && numClasses <= BIRD_CLASSES.length)) {
    throw new Error(`parts-birds: classes must be 2..${BIRD_CLASSES.length}, found ${numClasses}`);
  }
  const n = opts.size ?? (opts.split === 'train' ? 2000 : 500);
  const hw = side * side;
  const images = new Uint8Array(n * hw * 3);
  const partMaps = new Uint8Array(n * hw);
  const labels = new Int32Array(n);
  const boxes = new Int32Array(n * 4);
  const positions = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const canvas = new Canvas(side, side, images.subarray(i * hw * 3, (i + 1) * hw * 3), partMaps.subarray(i * hw, (i + 1) * hw));
    const rec = renderBird(canvas, opts, i);
    labels[i] = rec.label;
    boxes.set(maskBox(canvas.labels, side, side), i * 4);
    positions[i * 2] = Math.round(rec.pose.tx);
    positions[i * 2 + 1] = Math.round(rec.pose.ty);
  }
  return new Dataset({
    name: 'parts-birds',
    split: opts.split,
    images,
    labels,
    height: side,
    width: side,
    channels: 3,
    classNames: BIRD_CLASSES.slice(0, numClasses).map((c) => c.name),
    truth: { partNames: [...BIRD_PARTS], partMaps, discriminativeParts: birdDiscriminativeParts(numClasses), boxes, positions },
  });
}

/** Bounding box [x0, y0, x1, y1) of the non-zero labels of a map (all zeros if none). */
export function maskBox(labels: Uint8Array, width: number, height: number): [number, number, number, number] {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (labels[y * width + x] === 0) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, 0, 0] : [x0, y0, x1 + 1, y1 + 1];
}
