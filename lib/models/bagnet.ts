import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { LayerKit, ModelInput } from './common';

/**
 * BagNet-q, after Brendel & Bethge, "Approximating CNNs with Bag-of-local-Features models works surprisingly well
 * on ImageNet" (ICLR 2019, arXiv 1904.00760), scaled down.
 *
 * Layout (reference: bagnets/pytorchnet.py):
 * - stem: 3x3 "valid" conv -> BN -> ReLU (RF 3);
 * - stages of bottleneck blocks 1x1 -> kxk (valid, stride s) -> 1x1 (x expansion), k = 3 only in the first block of
 *   the stages whose flag is on, 1 elsewhere; so each 3x3 adds 2 * jump to the receptive field;
 * - the residual is cropped *centred* ((k-1)/2 on every side, before the optional strided 1x1 projection), so the
 *   residual of output unit i sits exactly at the centre of unit i's main-path field (the reference crops the
 *   trailing rows, off-centre);
 * - head: a 1x1 conv to the class logits at every location ("patch_logits", the logit heatmap of q x q patches),
 *   then the spatial mean ("logits"). Since both are linear, image logits = mean of patch logits.
 *
 * With strides [2, 2, 1] the 3x3s of the three stages add 2, 4 and 8: q = 5 [1,0,0], 9 [1,1,0], 13 [1,0,1],
 * 17 [1,1,1] (any odd q in 3..17). Add a stage with stride 1 after [2,2,2] for q up to 33 at 64 px.
 */
export interface BagNetConfig {
  family: 'bagnet';
  /** Patch size (receptive field) in pixels. */
  q: number;
  /** Bottleneck width per stage (default [32, 64, 128]). */
  widths?: number[];
  /** Blocks per stage (default 1 each). */
  blocks?: number[];
  /** Stride of each stage's first block (default [2, 2, 1]). */
  strides?: number[];
  /** Output channels = width * expansion (default 2). */
  expansion?: number;
  /** Stem width (default widths[0]). */
  stemWidth?: number;
  /** BatchNorm after every conv (default true, as in the reference). */
  batchNorm?: boolean;
}

export const BAGNET_DEFAULTS = { widths: [32, 64, 128], strides: [2, 2, 1], expansion: 2 };

/** Which stages get a 3x3 to reach patch size q (prefix of stages if possible, as in the paper). */
export function bagnetKernelFlags(q: number, strides: readonly number[]): boolean[] {
  const contrib: number[] = [];
  let jump = 1;
  for (const s of strides) {
    contrib.push(2 * jump);
    jump *= s;
  }
  const S = strides.length;
  const candidates: boolean[][] = [];
  for (let mask = 0; mask < 1 << S; mask++) {
    const flags = Array.from({ length: S }, (_, i) => ((mask >> i) & 1) === 1);
    const rf = 3 + flags.reduce((acc, f, i) => acc + (f ? contrib[i] : 0), 0);
    if (rf === q) candidates.push(flags);
  }
  if (candidates.length === 0) {
    const possible = new Set<number>();
    for (let mask = 0; mask < 1 << S; mask++) possible.add(3 + contrib.reduce((a, c, i) => a + ((mask >> i) & 1 ? c : 0), 0));
    throw new UserError(
      `BagNet: q=${q} cannot be built with stage strides [${strides.join(', ')}]; possible q: ` +
        `${[...possible].sort((a, b) => a - b).join(', ')}`,
    );
  }
  const isPrefix = (f: boolean[]) => {
    const firstOff = f.indexOf(false);
    return firstOff === -1 || f.slice(firstOff).every((v) => !v);
  };
  const prefix = candidates.find(isPrefix);
  if (prefix) return prefix;
  // Otherwise the 3x3s as early as possible.
  candidates.sort((a, b) => {
    for (let i = 0; i < S; i++) if (a[i] !== b[i]) return a[i] ? -1 : 1;
    return 0;
  });
  return candidates[0];
}

export function buildBagNet(config: BagNetConfig, input: ModelInput, rng: Rng): tf.LayersModel {
  const widths = config.widths ?? BAGNET_DEFAULTS.widths;
  const strides = config.strides ?? BAGNET_DEFAULTS.strides.slice(0, widths.length);
  const blocks = config.blocks ?? widths.map(() => 1);
  const expansion = config.expansion ?? BAGNET_DEFAULTS.expansion;
  if (strides.length !== widths.length || blocks.length !== widths.length) {
    throw new UserError(
      `BagNet: widths, strides and blocks need one entry per stage, found ${widths.length}, ${strides.length}, ${blocks.length}`,
    );
  }
  const flags = bagnetKernelFlags(config.q, strides);
  const kit = new LayerKit(rng, config.batchNorm ?? true);
  const inp = tf.input({ shape: input.inputShape, name: 'input' });
  let x = kit.conv(inp, 'stem_conv', config.stemWidth ?? widths[0], 3, { padding: 'valid', bias: false });
  x = kit.bn(x, 'stem_bn');
  x = kit.relu(x, 'stem_relu');
  let channels = config.stemWidth ?? widths[0];
  widths.forEach((width, si) => {
    for (let b = 0; b < blocks[si]; b++) {
      const name = `stage${si + 1}_block${b + 1}`;
      const first = b === 0;
      const k = first && flags[si] ? 3 : 1;
      const stride = first ? strides[si] : 1;
      const out = width * expansion;
      let y = kit.conv(x, `${name}_conv1`, width, 1, { bias: false });
      y = kit.relu(kit.bn(y, `${name}_bn1`), `${name}_relu1`);
      y = kit.conv(y, `${name}_conv2`, width, k, { stride, padding: 'valid', bias: false });
      y = kit.relu(kit.bn(y, `${name}_bn2`), `${name}_relu2`);
      y = kit.conv(y, `${name}_conv3`, out, 1, { bias: false });
      y = kit.bn(y, `${name}_bn3`);
      let r = x;
      if (k > 1) {
        const c = (k - 1) / 2;
        r = tf.layers
          .cropping2D({
            name: `${name}_crop`,
            cropping: [
              [c, c],
              [c, c],
            ],
          })
          .apply(r) as tf.SymbolicTensor;
      }
      if (stride !== 1 || channels !== out) {
        r = kit.conv(r, `${name}_down`, out, 1, { stride, padding: 'valid', bias: false });
        r = kit.bn(r, `${name}_down_bn`);
      }
      x = tf.layers.add({ name: `${name}_add` }).apply([y, r]) as tf.SymbolicTensor;
      const last = si === widths.length - 1 && b === blocks[si] - 1;
      x = kit.relu(x, last ? 'features' : `${name}_relu`);
      channels = out;
    }
  });
  const patchLogits = kit.conv(x, 'patch_logits', input.numClasses, 1, { padding: 'valid' });
  const logits = tf.layers.globalAveragePooling2d({ name: 'logits' }).apply(patchLogits) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: logits, name: `bagnet_q${config.q}` });
}

/** A model that maps images [N,H,W,C] to the per-location logit map [N,h,w,classes] of a BagNet (shared weights). */
export function patchLogitModel(bagnet: tf.LayersModel): tf.LayersModel {
  const layer = bagnet.getLayer('patch_logits');
  return tf.model({ inputs: bagnet.inputs, outputs: layer.output as tf.SymbolicTensor });
}
