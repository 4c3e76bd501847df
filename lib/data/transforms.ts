/**
 * Image transforms used by the studies. Unless stated otherwise every function takes and returns an NHWC float32
 * tensor `x` of shape [N, H, W, C] with values in [0, 1], does not dispose its input, and draws every random
 * choice from the `rng` it is given (one draw sequence per call, image by image, so a seed fixes the result).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';

type Pixels = Float32Array | Uint8Array;

function dims(x: tf.Tensor4D): [number, number, number, number] {
  if (x.rank !== 4) throw new Error(`expected an NHWC tensor of rank 4, found shape [${x.shape.join(', ')}]`);
  return x.shape as [number, number, number, number];
}

// ---------------------------------------------------------------------------------------------------------------
// Tile scrambling (BagNet's texturisation test)

/**
 * Permutes the t x t tiles of one H x W x C image (`img`, row-major) by `perm` (tile k of the output is tile
 * perm[k] of the input; tiles numbered row-major). Only full tiles move: when t does not divide H or W the
 * remaining bottom rows / right columns stay in place. Returns a new array of the same type.
 */
export function scrambleTilesBytes<T extends Pixels>(img: T, h: number, w: number, c: number, t: number, perm: readonly number[]): T {
  const rows = Math.floor(h / t);
  const cols = Math.floor(w / t);
  if (perm.length !== rows * cols)
    throw new Error(`scramble: ${rows}x${cols} tiles need a permutation of ${rows * cols}, found ${perm.length}`);
  const out = img.slice() as T;
  for (let k = 0; k < perm.length; k++) {
    const sr = Math.floor(perm[k] / cols) * t;
    const sc = (perm[k] % cols) * t;
    const dr = Math.floor(k / cols) * t;
    const dc = (k % cols) * t;
    for (let y = 0; y < t; y++) {
      const s = ((sr + y) * w + sc) * c;
      const d = ((dr + y) * w + dc) * c;
      out.set(img.subarray(s, s + t * c), d);
    }
  }
  return out;
}

/**
 * Tile scrambling: cuts each image into t x t pixel tiles and shuffles them (a fresh permutation per image from
 * `rng`), keeping local statistics and destroying the global layout. [N,H,W,C] -> [N,H,W,C].
 */
export function scrambleTiles(x: tf.Tensor4D, t: number, rng: Rng): tf.Tensor4D {
  const [n, h, w, c] = dims(x);
  if (!(Number.isInteger(t) && t >= 1 && t <= Math.min(h, w)))
    throw new Error(`scramble: tile size must be an integer in 1..${Math.min(h, w)}, found ${t}`);
  const data = x.dataSync() as Float32Array;
  const out = new Float32Array(data.length);
  const per = h * w * c;
  const tiles = Math.floor(h / t) * Math.floor(w / t);
  for (let i = 0; i < n; i++) {
    out.set(scrambleTilesBytes(data.subarray(i * per, (i + 1) * per), h, w, c, t, rng.permutation(tiles)), i * per);
  }
  return tf.tensor4d(out, [n, h, w, c]);
}

// ---------------------------------------------------------------------------------------------------------------
// Gaussian blur

/** A normalised 1-D Gaussian of standard deviation `sigma` on -radius..radius (radius default ceil(3 sigma)). */
export function gaussianKernel1d(sigma: number, radius = Math.ceil(3 * sigma)): Float32Array {
  if (!(sigma > 0)) throw new Error(`gaussian: sigma must be > 0, found ${sigma}`);
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Gaussian blur, separable, with edge pixels mirrored ('symmetric' padding: the border pixel repeats), per channel.
 * `radius` defaults to ceil(3 sigma). [N,H,W,C] -> [N,H,W,C].
 */
export function gaussianBlur(x: tf.Tensor4D, sigma: number, radius = Math.ceil(3 * sigma)): tf.Tensor4D {
  const [, h, w, c] = dims(x);
  const r = Math.min(radius, h, w);
  if (r === 0) return x.clone();
  const k = gaussianKernel1d(sigma, r);
  return tf.tidy(() => {
    const padded = tf.mirrorPad(
      x,
      [
        [0, 0],
        [r, r],
        [r, r],
        [0, 0],
      ],
      'symmetric',
    );
    const kv = tf.tile(tf.tensor4d(k, [k.length, 1, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const kh = tf.tile(tf.tensor4d(k, [1, k.length, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, kv, 1, 'valid'), kh, 1, 'valid');
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Occlusion

/** A rectangle [x, x + width) x [y, y + height) in pixels (clipped to the image). */
export interface Patch {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * What replaces an occluded patch: 'mean' the image's own mean colour (per channel, over the whole image), 'blur'
 * the same pixels of a Gaussian-blurred copy (sigma `sigma`, default patch side / 4), 'zero' black, 'noise' uniform
 * noise in [0,1) from `rng`, 'constant' the colour `value` (one number, or one per channel; e.g. a dataset mean).
 */
export type OcclusionFill = 'mean' | 'blur' | 'zero' | 'noise' | 'constant';

/**
 * Occludes patches: `patches` is one list applied to every image, or one list per image. [N,H,W,C] -> same.
 */
export function occlude(
  x: tf.Tensor4D,
  patches: readonly Patch[] | readonly (readonly Patch[])[],
  fill: OcclusionFill,
  opts: { rng?: Rng; sigma?: number; value?: number | readonly number[] } = {},
): tf.Tensor4D {
  const [n, h, w, c] = dims(x);
  const perImage = patches.length > 0 && Array.isArray(patches[0]);
  if (perImage && patches.length !== n) throw new Error(`occlude: ${n} images need ${n} patch lists, found ${patches.length}`);
  const listOf = (i: number): readonly Patch[] => (perImage ? (patches as Patch[][])[i] : (patches as Patch[]));
  const out = (x.dataSync() as Float32Array).slice();
  let blurred: Float32Array | undefined;
  if (fill === 'blur') {
    const all = (perImage ? (patches as Patch[][]).flat() : (patches as Patch[])) as Patch[];
    const side = all.length ? Math.max(...all.map((p) => Math.max(p.width, p.height))) : 4;
    const b = gaussianBlur(x, opts.sigma ?? Math.max(0.5, side / 4));
    blurred = b.dataSync() as Float32Array;
    b.dispose();
  }
  if (fill === 'noise' && !opts.rng) throw new Error("occlude: fill 'noise' needs an rng");
  if (fill === 'constant' && opts.value === undefined) throw new Error("occlude: fill 'constant' needs a value");
  const constant = Array.from({ length: c }, (_, k) => (typeof opts.value === 'number' ? opts.value : (opts.value?.[k] ?? 0)));
  const per = h * w * c;
  for (let i = 0; i < n; i++) {
    const base = i * per;
    const mean = new Float32Array(c);
    if (fill === 'mean') {
      for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) mean[k] += out[base + p * c + k];
      for (let k = 0; k < c; k++) mean[k] /= h * w;
    }
    for (const patch of listOf(i)) {
      const x0 = Math.max(0, Math.floor(patch.x));
      const y0 = Math.max(0, Math.floor(patch.y));
      const x1 = Math.min(w, Math.floor(patch.x + patch.width));
      const y1 = Math.min(h, Math.floor(patch.y + patch.height));
      for (let yy = y0; yy < y1; yy++)
        for (let xx = x0; xx < x1; xx++)
          for (let k = 0; k < c; k++) {
            const j = base + (yy * w + xx) * c + k;
            out[j] =
              fill === 'mean'
                ? mean[k]
                : fill === 'zero'
                  ? 0
                  : fill === 'blur'
                    ? blurred![j]
                    : fill === 'constant'
                      ? constant[k]
                      : opts.rng!.next();
          }
    }
  }
  return tf.tensor4d(out, [n, h, w, c]);
}

// ---------------------------------------------------------------------------------------------------------------
// Crops, shifts, flips

/** The centre size x size crop (offset floor((H - size) / 2), same for W). [N,H,W,C] -> [N,size,size,C]. */
export function centreCrop(x: tf.Tensor4D, size: number, width = size): tf.Tensor4D {
  const [n, h, w, c] = dims(x);
  if (size > h || width > w) throw new Error(`centreCrop: ${size}x${width} does not fit ${h}x${w}`);
  return tf.slice(x, [0, Math.floor((h - size) / 2), Math.floor((w - width) / 2), 0], [n, size, width, c]);
}

/**
 * Random size x size crops, one offset per image (uniform over all positions). Returns the crops
 * [N,size,size,C] and the offsets [x, y] per image.
 */
export function randomCrop(x: tf.Tensor4D, size: number, rng: Rng): { x: tf.Tensor4D; offsets: [number, number][] } {
  const [n, h, w, c] = dims(x);
  if (size > h || size > w) throw new Error(`randomCrop: ${size}x${size} does not fit ${h}x${w}`);
  const offsets: [number, number][] = [];
  for (let i = 0; i < n; i++) offsets.push([rng.int(w - size + 1), rng.int(h - size + 1)]);
  const crops = tf.tidy(
    () =>
      tf.concat(
        offsets.map(([ox, oy], i) => tf.slice(x, [i, oy, ox, 0], [1, size, size, c])),
        0,
      ) as tf.Tensor4D,
  );
  return { x: crops, offsets };
}

/**
 * Integer shift: content moves right by dx and down by dy (negative: left/up); uncovered pixels take `fill`.
 * [N,H,W,C] -> [N,H,W,C].
 */
export function shift(x: tf.Tensor4D, dx: number, dy: number, fill = 0): tf.Tensor4D {
  const [n, h, w, c] = dims(x);
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) throw new Error(`shift: dx and dy must be integers, found ${dx}, ${dy}`);
  if (Math.abs(dx) >= w || Math.abs(dy) >= h) return tf.fill([n, h, w, c], fill) as tf.Tensor4D;
  return tf.tidy(() => {
    const padded = tf.pad(
      x,
      [
        [0, 0],
        [Math.max(dy, 0), Math.max(-dy, 0)],
        [Math.max(dx, 0), Math.max(-dx, 0)],
        [0, 0],
      ],
      fill,
    );
    return tf.slice(padded, [0, Math.max(-dy, 0), Math.max(-dx, 0), 0], [n, h, w, c]);
  });
}

/** Circular shift (roll): out[y, x] = in[(y - dy) mod H, (x - dx) mod W]. [N,H,W,C] -> [N,H,W,C]. */
export function circularShift(x: tf.Tensor4D, dx: number, dy: number): tf.Tensor4D {
  const [, h, w] = dims(x);
  const sy = ((dy % h) + h) % h;
  const sx = ((dx % w) + w) % w;
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    if (sy) y = tf.concat([tf.slice(y, [0, h - sy, 0, 0], [-1, sy, -1, -1]), tf.slice(y, [0, 0, 0, 0], [-1, h - sy, -1, -1])], 1);
    if (sx) y = tf.concat([tf.slice(y, [0, 0, w - sx, 0], [-1, -1, sx, -1]), tf.slice(y, [0, 0, 0, 0], [-1, -1, w - sx, -1])], 2);
    return y === x ? x.clone() : y;
  });
}

/** Mirror left-right. */
export function flipHorizontal(x: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(x, 2);
}

/** Mirror top-bottom. */
export function flipVertical(x: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(x, 1);
}

/** Mirrors each image left-right with probability p (default 0.5). Returns the images and which were flipped. */
export function randomFlip(x: tf.Tensor4D, rng: Rng, p = 0.5): { x: tf.Tensor4D; flipped: boolean[] } {
  const [n] = dims(x);
  const flipped = Array.from({ length: n }, () => rng.next() < p);
  const out = tf.tidy(
    () =>
      tf.concat(
        flipped.map((f, i) => (f ? tf.reverse(tf.slice(x, [i], [1]), 2) : tf.slice(x, [i], [1]))),
        0,
      ) as tf.Tensor4D,
  );
  return { x: out, flipped };
}

// ---------------------------------------------------------------------------------------------------------------
// Affine augmentation

export interface AffineOptions {
  /** Maximum rotation in degrees (uniform in +-; default 10). */
  rotate?: number;
  /** Maximum relative scale change (scale uniform in 1 +- scale; default 0.1). */
  scale?: number;
  /** Maximum translation as a fraction of the side (default 0.1). */
  translate?: number;
  /** Also mirror left-right with probability 0.5 (default false). */
  flip?: boolean;
  /** How pixels from outside are filled (default 'nearest'). */
  fillMode?: 'constant' | 'reflect' | 'wrap' | 'nearest';
  fillValue?: number;
  interpolation?: 'bilinear' | 'nearest';
}

/**
 * The 8 parameters of tf.image.transform (output -> input map) for rotation `angle` (radians), scale `s`,
 * translation (tx, ty) in pixels and optional mirror, about the centre of an H x W image.
 */
export function affineParams(h: number, w: number, angle: number, s: number, tx: number, ty: number, mirror = false): number[] {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  // Forward: out = c + t + s R (F (in - c)); inverse: in = c + F R^T (out - c - t) / s, with F = diag(+-1, 1).
  const cos = Math.cos(angle) / s;
  const sin = Math.sin(angle) / s;
  const f = mirror ? -1 : 1;
  const m00 = f * cos;
  const m01 = f * sin;
  const m10 = -sin;
  const m11 = cos;
  const ox = cx + tx;
  const oy = cy + ty;
  return [m00, m01, cx - m00 * ox - m01 * oy, m10, m11, cy - m10 * ox - m11 * oy, 0, 0];
}

/** Small random affine augmentation (rotation, scale, translation, optional flip) per image. [N,H,W,C] -> same. */
export function affineAugment(x: tf.Tensor4D, rng: Rng, opts: AffineOptions = {}): tf.Tensor4D {
  const [n, h, w] = dims(x);
  const rot = ((opts.rotate ?? 10) * Math.PI) / 180;
  const sc = opts.scale ?? 0.1;
  const tr = opts.translate ?? 0.1;
  const params: number[] = [];
  for (let i = 0; i < n; i++) {
    const angle = rng.uniform(-rot, rot);
    const s = 1 + rng.uniform(-sc, sc);
    const tx = rng.uniform(-tr, tr) * w;
    const ty = rng.uniform(-tr, tr) * h;
    const mirror = opts.flip ? rng.next() < 0.5 : false;
    params.push(...affineParams(h, w, angle, s, tx, ty, mirror));
  }
  // One call per image: tfjs 4.22's cpu Transform kernel leaves images after the first at zero when given a batch
  // of transforms.
  return tf.tidy(
    () =>
      tf.concat(
        Array.from({ length: n }, (_, i) =>
          tf.image.transform(
            tf.slice(x, [i], [1]),
            tf.tensor2d(params.slice(i * 8, i * 8 + 8), [1, 8]),
            opts.interpolation ?? 'bilinear',
            opts.fillMode ?? 'nearest',
            opts.fillValue ?? 0,
          ),
        ),
        0,
      ) as tf.Tensor4D,
  );
}
