import * as tf from '@tensorflow/tfjs';
import { buildModel, ModelConfig, receptiveField, receptiveFields, unitField } from '../../lib/models';
import { randomizeWeights, randomTensor } from './helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('receptive-field arithmetic', () => {
  test('hand-checked layer stack: same/valid convs, pooling, dilation', () => {
    const inp = tf.input({ shape: [16, 16, 1] });
    let x = tf.layers.conv2d({ filters: 1, kernelSize: 3, padding: 'same', name: 'c1' }).apply(inp) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2, name: 'p1' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 1, kernelSize: 3, dilationRate: 2, padding: 'valid', name: 'c2' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', name: 'c3' }).apply(x) as tf.SymbolicTensor;
    const rfs = receptiveFields(tf.model({ inputs: inp, outputs: x }));
    const by = Object.fromEntries(rfs.map((r) => [r.name, r.y]));
    expect(by.c1).toEqual({ size: 3, jump: 1, start: -1 });
    expect(by.p1).toEqual({ size: 4, jump: 2, start: -1 });
    expect(by.c2).toEqual({ size: 12, jump: 2, start: -1 }); // dilated 3x3 spans 5 at jump 2: +8
    // c3 input 4x4, k3 s2 "same": total pad max((2-1)*2+3-4, 0) = 1, before 0.
    expect(by.c3).toEqual({ size: 16, jump: 4, start: -1 });
  });

  test('BagNet q values at the paper scale (strides [2,2,2,1], 224 px)', () => {
    for (const q of [9, 17, 33]) {
      const m = buildModel(
        { family: 'bagnet', q, widths: [2, 2, 2, 2], strides: [2, 2, 2, 1] },
        { inputShape: [64, 64, 3], numClasses: 2 },
        0,
      );
      const rf = receptiveField(m, 'patch_logits');
      expect(rf.y.size).toBe(q);
      expect(rf.y.jump).toBe(8);
    }
  });

  // Empirical probe: with positive weights and inputs every ReLU is active, so the gradient of one output unit
  // w.r.t. the input is non-zero wherever a path exists; a union over random inputs covers max-pool choices.
  const probes: [string, ModelConfig, number][] = [
    ['bagnet q9', { family: 'bagnet', q: 9, widths: [2, 2, 2] }, 20],
    ['bagnet q13', { family: 'bagnet', q: 13, widths: [2, 2, 2], blocks: [2, 1, 1] }, 24],
    ['vgg', { family: 'vgg', widths: [2, 2], convs: 2, hidden: 4 }, 16],
    ['vgg aa tri-3', { family: 'vgg', widths: [2, 2], convs: 1, hidden: 4, antialias: 'tri-3' }, 16],
    ['resnet', { family: 'resnet', widths: [2, 2, 2], blocks: 1 }, 16],
    ['resnet aa bin-5', { family: 'resnet', widths: [2, 2], blocks: 1, antialias: 'bin-5' }, 16],
    ['gap aa rect-2', { family: 'gap', widths: [2, 2], convs: 2, antialias: 'rect-2' }, 14],
  ];
  for (const [label, config, size] of probes) {
    test(`gradient support of a unit equals its computed field: ${label}`, () => {
      const model = buildModel(config, { inputShape: [size, size, 1], numClasses: 2 }, 1);
      randomizeWeights(model, 2, true);
      const layer = config.family === 'bagnet' ? 'patch_logits' : 'features';
      const rf = receptiveField(model, layer);
      const fm = tf.model({ inputs: model.inputs, outputs: model.getLayer(layer).output as tf.SymbolicTensor });
      const [gh, gw] = rf.outputSize!;
      const units: [number, number][] = [
        [0, 0],
        [gh - 1, gw - 1],
        [Math.floor(gh / 2), Math.floor(gw / 2) - (gw > 1 ? 1 : 0)],
      ];
      // One backward pass: images [u*B, (u+1)*B) probe unit u. Without max-pooling every path is active for any
      // positive input, so one image per unit suffices; max-pool choices need a union over several.
      const B = model.layers.some((l) => l.getClassName() === 'MaxPooling2D') ? 16 : 1;
      const x = randomTensor([units.length * B, size, size, 1], 5, 0.1, 1);
      const mask = tf.buffer([units.length * B, gh, gw, 1]);
      units.forEach(([i, j], u) => {
        for (let b = 0; b < B; b++) mask.set(1, u * B + b, i, j, 0);
      });
      const m = mask.toTensor();
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul((fm.apply(t) as tf.Tensor4D).slice([0, 0, 0, 0], [-1, -1, -1, 1]), m)))(x);
      for (const [u, [i, j]] of units.entries()) {
        const gu = g.slice([u * B, 0, 0, 0], [B, -1, -1, -1]);
        const support = (tf.sum(tf.abs(gu), [0, 3]).arraySync() as number[][]).map((r) => r.map((v) => v > 0));
        const [y0, x0, y1, x1] = unitField(rf, i, j, [size, size]);
        for (let yy = 0; yy < size; yy++) {
          for (let xx = 0; xx < size; xx++) {
            const inside = yy >= y0 && yy <= y1 && xx >= x0 && xx <= x1;
            if (support[yy][xx] !== inside)
              throw new Error(
                `${label} unit (${i},${j}): pixel (${yy},${xx}) support ${support[yy][xx]} but field [${y0},${x0}]-[${y1},${x1}]`,
              );
          }
        }
      }
    });
  }
});
