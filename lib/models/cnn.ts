import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { Antialias, LayerKit, ModelInput, Size } from './common';

/**
 * VGG-like plain CNN after Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
 * Recognition" (ICLR 2015, arXiv 1409.1556): stages of 3x3 "same" convs + ReLU, each followed by a 2x2 max-pool,
 * then flatten -> fully connected (ReLU) -> class logits. Anti-aliased (Zhang 2019, arXiv 1904.11486): each max-pool
 * becomes max-pool at stride 1 + BlurPool at stride 2.
 */
export interface VggConfig {
  family: 'vgg';
  size?: Size;
  /** Channels per stage (overrides the size preset). */
  widths?: number[];
  /** 3x3 convs per stage. */
  convs?: number;
  /** Units of the hidden fully connected layer. */
  hidden?: number;
  antialias?: Antialias;
  batchNorm?: boolean;
}

/**
 * ResNet-like CNN after He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016, arXiv 1512.03385):
 * 3x3 stem, stages of basic blocks (3x3 -> BN -> ReLU -> 3x3 -> BN, + shortcut, ReLU), the first block of every stage
 * after the first at stride 2 with a 1x1 projection shortcut, then GAP -> linear (so CAM is exact for it too).
 * Anti-aliased (Zhang 2019): the strided 3x3 becomes 3x3 at stride 1 -> BN -> ReLU -> BlurPool(2), and the projection
 * shortcut BlurPool(2) -> 1x1.
 */
export interface ResNetConfig {
  family: 'resnet';
  size?: Size;
  widths?: number[];
  /** Basic blocks per stage. */
  blocks?: number;
  antialias?: Antialias;
  /** BatchNorm after every conv (default true). */
  batchNorm?: boolean;
}

/**
 * GAP classifier after Zhou et al., "Learning Deep Features for Discriminative Localization" (CVPR 2016,
 * arXiv 1512.04150): conv stages (3x3 same + BN + ReLU, max-pool between stages but not after the last, so the final
 * map keeps some resolution), then global average pooling -> one linear layer. The class activation map
 * CAM_c(y,x) = sum_k w_kc f_k(y,x) then averages exactly to logit_c - b_c. Layer "features" is f, "logits" the dense.
 */
export interface GapConfig {
  family: 'gap';
  size?: Size;
  widths?: number[];
  convs?: number;
  antialias?: Antialias;
  batchNorm?: boolean;
}

const VGG_PRESETS: Record<Size, { widths: number[]; convs: number; hidden: number }> = {
  small: { widths: [16, 32], convs: 1, hidden: 64 },
  medium: { widths: [32, 64, 128], convs: 2, hidden: 128 },
  large: { widths: [32, 64, 128, 256], convs: 2, hidden: 256 },
};
const RESNET_PRESETS: Record<Size, { widths: number[]; blocks: number }> = {
  small: { widths: [16, 32], blocks: 1 },
  medium: { widths: [16, 32, 64], blocks: 2 },
  large: { widths: [32, 64, 128], blocks: 3 },
};
const GAP_PRESETS: Record<Size, { widths: number[]; convs: number }> = {
  small: { widths: [16, 32], convs: 1 },
  medium: { widths: [32, 64, 128], convs: 2 },
  large: { widths: [32, 64, 128, 256], convs: 2 },
};

function checkPool(n: number, stages: number, family: string): void {
  if (n >> stages < 1) throw new UserError(`${family}: a ${n}px input is too small for ${stages} halvings; use a smaller size`);
}

export function buildVgg(config: VggConfig, input: ModelInput, rng: Rng): tf.LayersModel {
  const preset = VGG_PRESETS[config.size ?? 'small'];
  const widths = config.widths ?? preset.widths;
  const convs = config.convs ?? preset.convs;
  const aa = config.antialias ?? 'none';
  checkPool(Math.min(input.inputShape[0], input.inputShape[1]), widths.length, 'vgg');
  const kit = new LayerKit(rng);
  const inp = tf.input({ shape: input.inputShape, name: 'input' });
  let x: tf.SymbolicTensor = inp;
  widths.forEach((w, si) => {
    for (let c = 0; c < convs; c++) {
      const name = `stage${si + 1}_conv${c + 1}`;
      x = kit.conv(x, name, w, 3, { bias: !config.batchNorm });
      if (config.batchNorm) x = kit.bn(x, `${name}_bn`);
      x = kit.relu(x, `${name}_relu`);
    }
    x = kit.maxPool(x, si === widths.length - 1 ? 'features' : `stage${si + 1}_pool`, aa);
  });
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  x = kit.dense(x, 'fc', config.hidden ?? preset.hidden, 'relu');
  const logits = kit.dense(x, 'logits', input.numClasses);
  return tf.model({ inputs: inp, outputs: logits, name: `vgg_${config.size ?? 'custom'}` });
}

export function buildResNet(config: ResNetConfig, input: ModelInput, rng: Rng): tf.LayersModel {
  const preset = RESNET_PRESETS[config.size ?? 'small'];
  const widths = config.widths ?? preset.widths;
  const blocks = config.blocks ?? preset.blocks;
  const aa = config.antialias ?? 'none';
  checkPool(Math.min(input.inputShape[0], input.inputShape[1]), widths.length - 1, 'resnet');
  const kit = new LayerKit(rng, config.batchNorm ?? true);
  const inp = tf.input({ shape: input.inputShape, name: 'input' });
  let x = kit.conv(inp, 'stem_conv', widths[0], 3, { bias: false });
  x = kit.relu(kit.bn(x, 'stem_bn'), 'stem_relu');
  let channels = widths[0];
  widths.forEach((w, si) => {
    for (let b = 0; b < blocks; b++) {
      const name = `stage${si + 1}_block${b + 1}`;
      const stride = b === 0 && si > 0 ? 2 : 1;
      let y: tf.SymbolicTensor;
      if (stride > 1 && aa !== 'none') {
        y = kit.conv(x, `${name}_conv1`, w, 3, { bias: false });
        y = kit.relu(kit.bn(y, `${name}_bn1`), `${name}_relu1`);
        y = kit.blur(y, `${name}_blur`, aa, stride);
      } else {
        y = kit.conv(x, `${name}_conv1`, w, 3, { stride, bias: false });
        y = kit.relu(kit.bn(y, `${name}_bn1`), `${name}_relu1`);
      }
      y = kit.bn(kit.conv(y, `${name}_conv2`, w, 3, { bias: false }), `${name}_bn2`);
      let r = x;
      if (stride > 1 || channels !== w) {
        if (stride > 1 && aa !== 'none') {
          r = kit.blur(r, `${name}_down_blur`, aa, stride);
          r = kit.conv(r, `${name}_down`, w, 1, { bias: false });
        } else {
          r = kit.conv(r, `${name}_down`, w, 1, { stride, bias: false });
        }
        r = kit.bn(r, `${name}_down_bn`);
      }
      x = tf.layers.add({ name: `${name}_add` }).apply([y, r]) as tf.SymbolicTensor;
      const last = si === widths.length - 1 && b === blocks - 1;
      x = kit.relu(x, last ? 'features' : `${name}_relu`);
      channels = w;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const logits = kit.dense(x, 'logits', input.numClasses);
  return tf.model({ inputs: inp, outputs: logits, name: `resnet_${config.size ?? 'custom'}` });
}

export function buildGap(config: GapConfig, input: ModelInput, rng: Rng): tf.LayersModel {
  const preset = GAP_PRESETS[config.size ?? 'small'];
  const widths = config.widths ?? preset.widths;
  const convs = config.convs ?? preset.convs;
  const aa = config.antialias ?? 'none';
  const bn = config.batchNorm ?? true;
  checkPool(Math.min(input.inputShape[0], input.inputShape[1]), widths.length - 1, 'gap');
  const kit = new LayerKit(rng);
  const inp = tf.input({ shape: input.inputShape, name: 'input' });
  let x: tf.SymbolicTensor = inp;
  widths.forEach((w, si) => {
    if (si > 0) x = kit.maxPool(x, `stage${si}_pool`, aa);
    for (let c = 0; c < convs; c++) {
      const name = `stage${si + 1}_conv${c + 1}`;
      const last = si === widths.length - 1 && c === convs - 1;
      x = kit.conv(x, name, w, 3, { bias: !bn });
      if (bn) x = kit.bn(x, `${name}_bn`);
      x = kit.relu(x, last ? 'features' : `${name}_relu`);
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const logits = kit.dense(x, 'logits', input.numClasses);
  return tf.model({ inputs: inp, outputs: logits, name: `gap_${config.size ?? 'custom'}` });
}
