import * as tf from '@tensorflow/tfjs';
import { BagNetConfig, patchLogitModel } from '../models/bagnet';
import { withInputSize } from '../models/index';
import { receptiveField } from '../models/rf';
import type { Raster } from '../plot/images';
import { UserError } from '../util/errors';
import { mapBatches } from '../util/batches';
import { ClassHeatmaps, Heatmaps, selectClasses } from './heatmaps';
import { AttributeOptions, checkInputs, ExplanationMethod, MethodInfo, numClasses } from './method';

/**
 * BagNet class evidence (Brendel & Bethge, ICLR 2019):
 * - `patchLogits`: the per-location logit map of the "patch_logits" layer, one q x q patch every `jump` pixels
 *   (the paper's heatmap before averaging; image logits are its spatial mean);
 * - `patchSweep`: the exact per-pixel heatmap of the reference code's `generate_heatmap_pytorch`: pad the image by
 *   (q-1)/2, run the BagNet on the q x q patch centred on every pixel; the value at (y, x) is the logit of the patch
 *   centred there. The reference pads the *normalised* image with zeros, i.e. with the mean colour; here the default
 *   pad is each image's own mean colour (the occlusion fill, `occlude` 'mean'); 'zero' pads with black.
 *   `patchSweepLiteral` does exactly that, patch by patch; `patchSweep` gets the same numbers
 *   from jump² shifted passes of the whole padded image (each pass yields every jump-th patch, since a patch-logit
 *   unit depends only on its q x q field: valid convolutions, centred residual crops, BN in inference mode).
 */

/** A trained BagNet with the config it was built from (the sweep rebuilds it at other input sizes). */
export interface BagNetModel {
  model: tf.LayersModel;
  config: BagNetConfig;
}

/** Patch size and patch stride of a BagNet's logit map, read from the model's receptive-field arithmetic. */
export function bagnetGeometry(model: tf.LayersModel): { q: number; jump: number; start: number } {
  const rf = receptiveField(model, 'patch_logits');
  return { q: rf.y.size, jump: rf.y.jump, start: rf.y.start };
}

/** What the sweep pads the image with: each image's mean colour (default, the occlusion fill) or black. */
export type SweepPad = 'mean' | 'zero';

/** The pad colour [C] of image [H,W,C] (flat): its per-channel mean, or zeros. */
export function padColour(image: Float32Array, c: number, pad: SweepPad): Float32Array {
  const colour = new Float32Array(c);
  if (pad === 'zero') return colour;
  const pixels = image.length / c;
  for (let p = 0; p < pixels; p++) for (let ch = 0; ch < c; ch++) colour[ch] += image[p * c + ch] / pixels;
  return colour;
}

/**
 * The q x q patches of `image` [H,W,C], padded by (q-1)/2 with `fill` [C] (default black), centred on pixels
 * `centres` ([y, x]): [n,q,q,C].
 */
export function extractPatches(
  image: Float32Array,
  h: number,
  w: number,
  c: number,
  q: number,
  centres: readonly [number, number][],
  fill: ArrayLike<number> = new Float32Array(c),
): Float32Array {
  const r = (q - 1) / 2;
  const out = new Float32Array(centres.length * q * q * c);
  for (let p = 0; p < centres.length * q * q; p++) for (let ch = 0; ch < c; ch++) out[p * c + ch] = fill[ch];
  centres.forEach(([cy, cx], k) => {
    for (let dy = 0; dy < q; dy++) {
      const y = cy - r + dy;
      if (y < 0 || y >= h) continue;
      for (let dx = 0; dx < q; dx++) {
        const x = cx - r + dx;
        if (x < 0 || x >= w) continue;
        const s = (y * w + x) * c;
        const d = ((k * q + dy) * q + dx) * c;
        for (let ch = 0; ch < c; ch++) out[d + ch] = image[s + ch];
      }
    }
  });
  return out;
}

/**
 * The literal sweep, as in the reference code: every padded q x q patch through the BagNet built for q x q inputs
 * (its logit map is then 1 x 1). Slow; kept as the definition the fast sweep is tested against.
 * [N,H,W,C] -> [N,H,W,K]; `pad` as in patchSweep (default 'mean').
 */
export function patchSweepLiteral(bag: BagNetModel, x: tf.Tensor4D, batchSize = 1024, pad: SweepPad = 'mean'): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const q = bag.config.q;
  const K = bag.model.outputs[0].shape[1] as number;
  const small = withInputSize(bag.model, bag.config, { inputShape: [q, q, c], numClasses: K });
  const data = x.dataSync() as Float32Array;
  const out = new Float32Array(n * h * w * K);
  const centres: [number, number][] = [];
  for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) centres.push([y, xx]);
  for (let i = 0; i < n; i++) {
    const img = data.subarray(i * h * w * c, (i + 1) * h * w * c);
    const fill = padColour(img, c, pad);
    for (let s = 0; s < centres.length; s += batchSize) {
      const chunk = centres.slice(s, s + batchSize);
      const logits = tf.tidy(
        () => small.predict(tf.tensor4d(extractPatches(img, h, w, c, q, chunk, fill), [chunk.length, q, q, c])) as tf.Tensor2D,
      );
      out.set(logits.dataSync(), (i * h * w + s) * K);
      logits.dispose();
    }
  }
  small.dispose();
  return tf.tensor4d(out, [n, h, w, K]);
}

/**
 * The exact per-pixel sweep, fast: pad by (q-1)/2 (plus jump-1 more bottom/right) with the `pad` colour, then for
 * every shift (dy, dx) in [0, jump)² run the patch-logit map on the padded image cropped at (dy, dx); unit (i, j) of
 * that pass is the patch centred on pixel (dy + jump*i, dx + jump*j). Same numbers as `patchSweepLiteral`.
 * [N,H,W,C] -> [N,H,W,K]; pad: each image's mean colour (default) or 'zero'.
 */
export function patchSweep(bag: BagNetModel, x: tf.Tensor4D, batchSize = 32, pad: SweepPad = 'mean'): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const { q, jump, start } = bagnetGeometry(bag.model);
  if (q !== bag.config.q || start !== 0)
    throw new Error(`patchSweep: the model's patch size is ${q} (start ${start}), its config says q=${bag.config.q}`);
  const K = bag.model.outputs[0].shape[1] as number;
  const r = (q - 1) / 2;
  const sh = h + q - 1;
  const sw = w + q - 1;
  const big = withInputSize(bag.model, bag.config, { inputShape: [sh, sw, c], numClasses: K });
  const pm = patchLogitModel(big);
  const out = new Float32Array(n * h * w * K);
  for (let i0 = 0; i0 < n; i0 += batchSize) {
    const nb = Math.min(batchSize, n - i0);
    const padded = tf.tidy(() => {
      const xb = x.slice([i0, 0, 0, 0], [nb, -1, -1, -1]);
      // Padding x - colour with zeros, then adding the colour back, pads x with the colour.
      const colour = pad === 'mean' ? tf.mean(xb, [1, 2], true) : tf.zeros([nb, 1, 1, c]);
      return tf.add(
        tf.pad(tf.sub(xb, colour), [
          [0, 0],
          [r, r + jump - 1],
          [r, r + jump - 1],
          [0, 0],
        ]),
        colour,
      );
    });
    for (let dy = 0; dy < jump; dy++) {
      for (let dx = 0; dx < jump; dx++) {
        const map = tf.tidy(() => pm.predict(padded.slice([0, dy, dx, 0], [nb, sh, sw, c])) as tf.Tensor4D);
        const [, mh, mw] = map.shape;
        const v = map.dataSync() as Float32Array;
        map.dispose();
        for (let b = 0; b < nb; b++) {
          for (let iy = 0; iy < mh; iy++) {
            const y = dy + jump * iy;
            if (y >= h) break;
            for (let ix = 0; ix < mw; ix++) {
              const xx = dx + jump * ix;
              if (xx >= w) break;
              const s = ((b * mh + iy) * mw + ix) * K;
              out.set(v.subarray(s, s + K), (((i0 + b) * h + y) * w + xx) * K);
            }
          }
        }
      }
    }
    padded.dispose();
  }
  big.dispose();
  return tf.tensor4d(out, [n, h, w, K]);
}

/** A patch of one image found by its evidence. (y0, x0) is the top-left corner in image pixels (may be < 0 with padding). */
export interface ScoredPatch {
  image: number;
  y0: number;
  x0: number;
  size: number;
  score: number;
}

/**
 * The `k` highest-scoring locations of per-location maps [N,h,w] given as a flat array with a score per unit,
 * mapped to image patches through the map's geometry (unit (i, j) covers [start + jump*i, +q) on each axis).
 * `images` restricts the search to some images.
 */
export function topPatches(
  scores: Float32Array,
  n: number,
  mh: number,
  mw: number,
  geometry: { q: number; jump: number; start: number },
  k: number,
  images?: readonly number[],
): ScoredPatch[] {
  const list: ScoredPatch[] = [];
  for (const i of images ?? Array.from({ length: n }, (_, j) => j)) {
    for (let iy = 0; iy < mh; iy++) {
      for (let ix = 0; ix < mw; ix++) {
        const score = scores[(i * mh + iy) * mw + ix];
        list.push({ image: i, y0: geometry.start + geometry.jump * iy, x0: geometry.start + geometry.jump * ix, size: geometry.q, score });
      }
    }
  }
  list.sort((a, b) => b.score - a.score || a.image - b.image || a.y0 - b.y0 || a.x0 - b.x0);
  return list.slice(0, k);
}

/** Crops a patch from uint8 HWC image bytes as a Raster (outside the image: grey 128). */
export function cropPatch(bytes: Uint8Array, h: number, w: number, c: number, p: { y0: number; x0: number; size: number }): Raster {
  const data = new Uint8Array(p.size * p.size * c).fill(128);
  for (let dy = 0; dy < p.size; dy++) {
    const y = p.y0 + dy;
    if (y < 0 || y >= h) continue;
    for (let dx = 0; dx < p.size; dx++) {
      const x = p.x0 + dx;
      if (x < 0 || x >= w) continue;
      for (let ch = 0; ch < c; ch++) data[(dy * p.size + dx) * c + ch] = bytes[(y * w + x) * c + ch];
    }
  }
  return { width: p.size, height: p.size, channels: c, data };
}

/** Checks that `model` is a BagNet (has the "patch_logits" layer); the message says what to do otherwise. */
export function bagnetProblem(model: tf.LayersModel): string | null {
  if (!model.layers.some((l) => l.name === 'patch_logits'))
    return 'needs a BagNet: the model has no layer named "patch_logits" (the per-patch logits it averages)';
  return null;
}

function requireBagNet(info: MethodInfo, model: tf.LayersModel): void {
  const problem = bagnetProblem(model);
  if (problem) throw new UserError(`${info.id}: ${problem}`);
}

export const BAGNET_PATCHES_INFO: MethodInfo = {
  id: 'bagnet-patches',
  label: 'BagNet patch logits',
  signed: true,
  needs: { bagnet: true },
  summary: 'the logit of every q x q patch the BagNet averages, one every jump pixels (Brendel & Bethge 2019)',
};

export const BAGNET_SWEEP_INFO: MethodInfo = {
  id: 'bagnet-sweep',
  label: 'BagNet per-pixel sweep',
  signed: true,
  needs: { bagnet: true, modelConfig: true },
  summary: 'the logit of the q x q patch centred on every pixel, as the reference code draws BagNet heatmaps',
};

/**
 * BagNet class evidence per patch location: the "patch_logits" map [n, h, w] (one q x q patch every `jump` px), whose
 * spatial mean is the image logit. Geometry: the layer's receptive field. Options: batchSize (default 64).
 */
export class BagNetPatchLogits implements ExplanationMethod {
  readonly info = BAGNET_PATCHES_INFO;
  constructor(readonly model: tf.LayersModel) {
    requireBagNet(this.info, model);
  }

  allClasses(x: tf.Tensor4D, options: AttributeOptions = {}): ClassHeatmaps {
    checkInputs(
      this.info,
      this.model,
      x,
      Array.from({ length: x.shape[0] }, () => 0),
    );
    const pm = patchLogitModel(this.model);
    const values = mapBatches(x, options.batchSize ?? 64, (xb) => pm.predict(xb) as tf.Tensor);
    const rf = receptiveField(this.model, 'patch_logits');
    const [h, w] = rf.outputSize!;
    const [n, H, W] = x.shape;
    return {
      method: this.info.id,
      n,
      height: h,
      width: w,
      imageHeight: H,
      imageWidth: W,
      classes: numClasses(this.model),
      geometry: { y: rf.y, x: rf.x },
      signed: true,
      values,
    };
  }

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: AttributeOptions = {}): Heatmaps {
    checkInputs(this.info, this.model, x, targets);
    return selectClasses(this.allClasses(x, options), targets);
  }
}

/** Options of the BagNet sweep: batchSize (default 32) and the pad colour (default 'mean', see patchSweep). */
export interface SweepOptions extends AttributeOptions {
  pad?: SweepPad;
}

/**
 * The exact per-pixel BagNet heatmap of the reference code (`generate_heatmap_pytorch`): the value at pixel (y, x) is
 * the logit of the padded q x q patch centred there (`patchSweep`; `patchSweepLiteral` is its literal twin). Pads
 * with each image's mean colour by default (the reference pads the normalised image with zeros: the mean colour).
 * Needs the BagNet's build config, to rebuild it for the padded input. Options: SweepOptions.
 */
export class BagNetSweep implements ExplanationMethod {
  readonly info = BAGNET_SWEEP_INFO;
  constructor(
    readonly model: tf.LayersModel,
    readonly config: BagNetConfig,
  ) {
    requireBagNet(this.info, model);
    if (config?.family !== 'bagnet')
      throw new UserError(`${this.info.id}: needs the BagNet's build config (family "bagnet"), found ${JSON.stringify(config)}`);
  }

  allClasses(x: tf.Tensor4D, options: SweepOptions = {}): ClassHeatmaps {
    checkInputs(
      this.info,
      this.model,
      x,
      Array.from({ length: x.shape[0] }, () => 0),
    );
    const t = patchSweep({ model: this.model, config: this.config }, x, options.batchSize ?? 32, options.pad ?? 'mean');
    const values = t.dataSync() as Float32Array;
    t.dispose();
    const [n, H, W] = x.shape;
    const r = (this.config.q - 1) / 2;
    const axis = { size: this.config.q, jump: 1, start: -r };
    return {
      method: this.info.id,
      n,
      height: H,
      width: W,
      imageHeight: H,
      imageWidth: W,
      classes: numClasses(this.model),
      geometry: { y: axis, x: { ...axis } },
      signed: true,
      values,
    };
  }

  attribute(x: tf.Tensor4D, targets: ArrayLike<number>, options: SweepOptions = {}): Heatmaps {
    checkInputs(this.info, this.model, x, targets);
    return selectClasses(this.allClasses(x, options), targets);
  }
}
