/**
 * Shifted objects (shift-invariance study): an object pasted, alpha-blended, onto a larger canvas at every position
 * of a grid, generated lazily one image at a time (the full set is never materialised).
 */
import * as tf from '@tensorflow/tfjs';
import { Dataset, Split } from '../dataset';
import { Rng } from '../../util/rng';
import { Canvas, IDENTITY, Rgb, Shape, difference, ellipse, polygon, rect, rgb, shade, solid, starPoints, stripes, union } from './raster';

/** An object to paste: straight (not premultiplied) RGB colour and an alpha in [0,1], both h x w. */
export interface Sprite {
  width: number;
  height: number;
  /** h*w*3 bytes. */
  colour: Uint8Array;
  /** h*w alphas in [0,1]. */
  alpha: Float32Array;
  label: number;
  name: string;
}

export type ShiftBackground = 'white' | 'grey' | 'noise';

export interface ShiftedObjectsOptions {
  /** Canvas side (default 64). */
  canvas?: number;
  /** Object side after resizing (default 28). */
  objectSize?: number;
  /**
   * Where objects come from: 'shapes' (ten synthetic shapes, one per class; default) or a Dataset (e.g. Fashion-MNIST
   * or parts-birds): its first `objects` images in a per-class round robin. Grey images use their intensity as
   * alpha (alpha = min(1, v/64), so the black surround vanishes); images with part maps use the part mask; other
   * images are opaque.
   */
  source?: 'shapes' | Dataset;
  /** Number of objects (default 10). */
  objects?: number;
  /** Canvas background (default white, as in Lee et al.); 'noise' is one fixed noise image per object. */
  background?: ShiftBackground;
  /** Grid stride in pixels (default 1: every position). */
  stride?: number;
  seed?: number;
}

/** One generated image. */
export interface ShiftedSample {
  /** H*W*3 bytes (a fresh array). */
  image: Uint8Array;
  /** Paste offset: the object's top-left corner in canvas pixels. */
  x: number;
  y: number;
  /** Object index in 0..objects-1, its class label and name. */
  object: number;
  label: number;
  /** Running index over (object, y, x). */
  index: number;
}

export const SHAPE_NAMES = ['circle', 'square', 'triangle', 'star', 'ring', 'cross', 'diamond', 'hexagon', 'crescent', 'arrow'] as const;

function shapeOf(name: string, s: number): Shape {
  const c = s / 2;
  const r = s / 2 - 0.5;
  switch (name) {
    case 'circle':
      return ellipse(c, c, r, r);
    case 'square':
      return rect(s * 0.12, s * 0.12, s * 0.88, s * 0.88);
    case 'triangle':
      return polygon([
        [c, 0.5],
        [s - 0.5, s - 1.5],
        [0.5, s - 1.5],
      ]);
    case 'star':
      return polygon(starPoints(c, c + 1, r, r * 0.45, 5));
    case 'ring':
      return difference(ellipse(c, c, r, r), ellipse(c, c, r * 0.5, r * 0.5));
    case 'cross':
      return union(rect(s * 0.35, 0.5, s * 0.65, s - 0.5), rect(0.5, s * 0.35, s - 0.5, s * 0.65));
    case 'diamond':
      return polygon([
        [c, 0.5],
        [s - 0.5, c],
        [c, s - 0.5],
        [0.5, c],
      ]);
    case 'hexagon':
      return polygon(starPoints(c, c, r, r, 3, 0));
    case 'crescent':
      return difference(ellipse(c, c, r, r), ellipse(c + r * 0.45, c - r * 0.1, r * 0.8, r * 0.8));
    case 'arrow':
      return polygon([
        [0.5, s * 0.38],
        [s * 0.55, s * 0.38],
        [s * 0.55, s * 0.12],
        [s - 0.5, c],
        [s * 0.55, s * 0.88],
        [s * 0.55, s * 0.62],
        [0.5, s * 0.62],
      ]);
    default:
      throw new Error(`unknown shape ${name}`);
  }
}

const SHAPE_COLOURS: Rgb[] = [
  rgb(220, 40, 40),
  rgb(40, 90, 220),
  rgb(30, 160, 70),
  rgb(240, 170, 20),
  rgb(150, 50, 180),
  rgb(20, 150, 160),
  rgb(120, 80, 40),
  rgb(60, 60, 60),
];

/** A synthetic shape sprite (hard alpha) with a seeded colour and an optional stripe pattern. */
export function shapeSprite(label: number, size: number, rng: Rng): Sprite {
  const name = SHAPE_NAMES[label % SHAPE_NAMES.length];
  const canvas = new Canvas(size, size);
  const c1 = rng.pick(SHAPE_COLOURS);
  const paint = rng.next() < 0.5 ? solid(c1) : stripes(c1, shade(c1, 0.55), Math.max(3, size / 6), rng.uniform(0, Math.PI), 0.35);
  canvas.fill(shapeOf(name, size), IDENTITY, paint, 1);
  const alpha = new Float32Array(size * size);
  for (let i = 0; i < alpha.length; i++) alpha[i] = canvas.labels[i];
  return { width: size, height: size, colour: canvas.rgb, alpha, label: label % SHAPE_NAMES.length, name };
}

/** Bilinear resize of an h x w x c byte image to s x s (float output). */
function resize(src: ArrayLike<number>, w: number, h: number, c: number, s: number): Float32Array {
  const out = new Float32Array(s * s * c);
  for (let y = 0; y < s; y++) {
    const fy = Math.max(0, Math.min(h - 1, ((y + 0.5) * h) / s - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let x = 0; x < s; x++) {
      const fx = Math.max(0, Math.min(w - 1, ((x + 0.5) * w) / s - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(w - 1, x0 + 1);
      const tx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * w + x0) * c + k] * (1 - tx) + src[(y0 * w + x1) * c + k] * tx;
        const b = src[(y1 * w + x0) * c + k] * (1 - tx) + src[(y1 * w + x1) * c + k] * tx;
        out[(y * s + x) * c + k] = a * (1 - ty) + b * ty;
      }
    }
  }
  return out;
}

/** A sprite from image `i` of a Dataset (see ShiftedObjectsOptions.source for the alpha rule). */
export function datasetSprite(ds: Dataset, i: number, size: number): Sprite {
  const { width: w, height: h, channels: c } = ds;
  const img = resize(ds.imageBytes(i), w, h, c, size);
  const colour = new Uint8Array(size * size * 3);
  const alpha = new Float32Array(size * size);
  const maps = ds.truth.partMaps;
  const mask = maps ? resize(maps.subarray(i * w * h, (i + 1) * w * h), w, h, 1, size) : undefined;
  for (let p = 0; p < size * size; p++) {
    for (let k = 0; k < 3; k++) colour[p * 3 + k] = Math.round(img[p * c + (c === 1 ? 0 : k)]);
    if (mask) alpha[p] = mask[p] > 0 ? 1 : 0;
    else if (c === 1) alpha[p] = Math.min(1, img[p] / 64);
    else alpha[p] = 1;
  }
  return { width: size, height: size, colour, alpha, label: ds.labels[i], name: `${ds.name}#${i} ${ds.classNames[ds.labels[i]]}` };
}

/**
 * The lazy shifted-object set. Iterating yields every (object, y, x) in that order, row-major over positions:
 * `objects * positions^2` images with positions = floor((canvas - objectSize) / stride) + 1.
 */
export class ShiftedObjects implements Iterable<ShiftedSample> {
  readonly sprites: Sprite[];
  readonly canvas: number;
  readonly objectSize: number;
  readonly stride: number;
  readonly background: ShiftBackground;
  /** Positions along each axis. */
  readonly positions: number;
  /** Class names of the sprites' labels (shape names, or the source dataset's classes). */
  readonly classNames: string[];
  private readonly backgrounds: Uint8Array[];

  constructor(opts: ShiftedObjectsOptions = {}) {
    this.canvas = opts.canvas ?? 64;
    this.objectSize = opts.objectSize ?? 28;
    this.stride = opts.stride ?? 1;
    this.background = opts.background ?? 'white';
    if (!(this.objectSize >= 1 && this.objectSize <= this.canvas)) {
      throw new Error(`shifted-objects: objectSize must be 1..${this.canvas} (the canvas side), found ${this.objectSize}`);
    }
    if (!(Number.isInteger(this.stride) && this.stride >= 1))
      throw new Error(`shifted-objects: stride must be a positive integer, found ${this.stride}`);
    this.positions = Math.floor((this.canvas - this.objectSize) / this.stride) + 1;
    const rng = new Rng(opts.seed ?? 0).fork('shifted-objects');
    const count = opts.objects ?? 10;
    const source = opts.source ?? 'shapes';
    if (source === 'shapes') {
      this.sprites = Array.from({ length: count }, (_, i) => shapeSprite(i, this.objectSize, rng.fork(`sprite${i}`)));
      this.classNames = Array.from({ length: Math.min(count, SHAPE_NAMES.length) }, (_, i) => SHAPE_NAMES[i]);
    } else {
      // Round robin over classes, so that the objects cover the classes evenly.
      const byClass: number[][] = source.classNames.map(() => []);
      source.labels.forEach((l, i) => byClass[l].push(i));
      const picks: number[] = [];
      for (let r = 0; picks.length < count && r < source.size; r++) {
        for (const list of byClass) if (r < list.length && picks.length < count) picks.push(list[r]);
      }
      this.sprites = picks.map((i) => datasetSprite(source, i, this.objectSize));
      this.classNames = source.classNames;
    }
    const side = this.canvas;
    this.backgrounds = this.sprites.map((_, i) => {
      const bg = new Uint8Array(side * side * 3);
      if (this.background === 'white') bg.fill(255);
      else if (this.background === 'grey') bg.fill(128);
      else {
        const r = rng.fork(`background${i}`);
        for (let p = 0; p < bg.length; p++) bg[p] = r.nextU32() & 255;
      }
      return bg;
    });
  }

  /** [H, W, C] of every image. */
  get shape(): [number, number, number] {
    return [this.canvas, this.canvas, 3];
  }

  /** Number of images. */
  get size(): number {
    return this.sprites.length * this.positions * this.positions;
  }

  /** Renders object `object` with its top-left corner at (x, y) into `out` (or a new array). */
  render(object: number, x: number, y: number, out?: Uint8Array): Uint8Array {
    const side = this.canvas;
    const img = out ?? new Uint8Array(side * side * 3);
    img.set(this.backgrounds[object]);
    const sp = this.sprites[object];
    for (let sy = 0; sy < sp.height; sy++) {
      const cy = y + sy;
      if (cy < 0 || cy >= side) continue;
      for (let sx = 0; sx < sp.width; sx++) {
        const cx = x + sx;
        if (cx < 0 || cx >= side) continue;
        const a = sp.alpha[sy * sp.width + sx];
        if (a === 0) continue;
        const d = (cy * side + cx) * 3;
        const s = (sy * sp.width + sx) * 3;
        for (let k = 0; k < 3; k++) img[d + k] = Math.round(sp.colour[s + k] * a + img[d + k] * (1 - a));
      }
    }
    return img;
  }

  /** Object mask (alpha > 0.5) placed at (x, y) as an H*W label map (1 = object). */
  mask(object: number, x: number, y: number): Uint8Array {
    const side = this.canvas;
    const out = new Uint8Array(side * side);
    const sp = this.sprites[object];
    for (let sy = 0; sy < sp.height; sy++)
      for (let sx = 0; sx < sp.width; sx++) {
        const cx = x + sx;
        const cy = y + sy;
        if (cx >= 0 && cy >= 0 && cx < side && cy < side && sp.alpha[sy * sp.width + sx] > 0.5) out[cy * side + cx] = 1;
      }
    return out;
  }

  /** Paste offsets along one axis. */
  offsets(): number[] {
    return Array.from({ length: this.positions }, (_, i) => i * this.stride);
  }

  /**
   * The five anchor positions of Lee et al.: TL, TR, C (grid index (P/2 - 1, P/2 - 1) as in their code), BL, BR,
   * each as grid indices (i = column, j = row) and paste offsets.
   */
  anchors(): { name: 'TL' | 'TR' | 'C' | 'BL' | 'BR'; i: number; j: number; x: number; y: number }[] {
    const last = this.positions - 1;
    const mid = Math.max(0, Math.floor(this.positions / 2) - 1);
    const at = (name: 'TL' | 'TR' | 'C' | 'BL' | 'BR', i: number, j: number) => ({ name, i, j, x: i * this.stride, y: j * this.stride });
    return [at('TL', 0, 0), at('TR', last, 0), at('C', mid, mid), at('BL', 0, last), at('BR', last, last)];
  }

  /** Every position of one object, row-major. */
  *object(object: number): Generator<ShiftedSample> {
    const per = this.positions * this.positions;
    for (let j = 0; j < this.positions; j++) {
      for (let i = 0; i < this.positions; i++) {
        const x = i * this.stride;
        const y = j * this.stride;
        yield {
          image: this.render(object, x, y),
          x,
          y,
          object,
          label: this.sprites[object].label,
          index: object * per + j * this.positions + i,
        };
      }
    }
  }

  /** Object `object` at each paste offset [x, y], as a float32 [n, H, W, 3] tensor in [0, 1] (caller disposes). */
  tensor(object: number, offsets: readonly (readonly [number, number])[]): tf.Tensor4D {
    const side = this.canvas;
    const per = side * side * 3;
    const bytes = new Uint8Array(per);
    const data = new Float32Array(offsets.length * per);
    offsets.forEach(([x, y], b) => {
      this.render(object, x, y, bytes);
      for (let j = 0; j < per; j++) data[b * per + j] = bytes[j] / 255;
    });
    return tf.tensor4d(data, [offsets.length, side, side, 3]);
  }

  /**
   * Every position of one object in row-major chunks of `batchSize`: `x` [n, H, W, 3] float in [0, 1] (the caller
   * disposes it), the paste offsets, and the grid indices [i, j] (column, row) of each image.
   */
  *batches(object: number, batchSize: number): Generator<{ x: tf.Tensor4D; offsets: [number, number][]; grid: [number, number][] }> {
    const grid: [number, number][] = [];
    for (let j = 0; j < this.positions; j++) for (let i = 0; i < this.positions; i++) grid.push([i, j]);
    for (let start = 0; start < grid.length; start += batchSize) {
      const chunk = grid.slice(start, start + batchSize);
      const offsets = chunk.map(([i, j]) => [i * this.stride, j * this.stride] as [number, number]);
      yield { x: this.tensor(object, offsets), offsets, grid: chunk };
    }
  }

  *[Symbol.iterator](): Iterator<ShiftedSample> {
    for (let o = 0; o < this.sprites.length; o++) yield* this.object(o);
  }

  /**
   * A materialised random sample: `n` images at random (object, position), with labels, positions, boxes and the
   * object mask as part map (part "object").
   */
  sample(n: number, rng: Rng, opts: { split?: Split; classNames?: string[] } = {}): Dataset {
    const side = this.canvas;
    const hw = side * side;
    const images = new Uint8Array(n * hw * 3);
    const partMaps = new Uint8Array(n * hw);
    const labels = new Int32Array(n);
    const positions = new Int32Array(n * 2);
    const boxes = new Int32Array(n * 4);
    for (let k = 0; k < n; k++) {
      const o = k % this.sprites.length;
      const x = rng.int(this.positions) * this.stride;
      const y = rng.int(this.positions) * this.stride;
      this.render(o, x, y, images.subarray(k * hw * 3, (k + 1) * hw * 3));
      partMaps.set(this.mask(o, x, y), k * hw);
      labels[k] = this.sprites[o].label;
      positions.set([x, y], k * 2);
      boxes.set([x, y, x + this.objectSize, y + this.objectSize], k * 4);
    }
    const names = opts.classNames ?? this.classNames;
    return new Dataset({
      name: 'shifted-objects',
      split: opts.split ?? 'test',
      images,
      labels,
      height: side,
      width: side,
      channels: 3,
      classNames: names,
      truth: { partNames: ['object'], partMaps, positions, boxes },
    });
  }
}

/** The lazy shifted-object generator (see ShiftedObjects). */
export function shiftedObjects(opts: ShiftedObjectsOptions = {}): ShiftedObjects {
  return new ShiftedObjects(opts);
}
