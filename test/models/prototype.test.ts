import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Dataset } from '../../lib/data/dataset';
import { buildModel } from '../../lib/models/index';
import { loadModel, saveModel } from '../../lib/models/io';
import {
  buildProtoPNet,
  classIdentity,
  distanceLayer,
  getPrototypes,
  highActivationBox,
  keepPrototypes,
  lastLayerInit,
  logSimilarity,
  lossModel,
  nearestPatches,
  prototypeCosts,
  prototypeCostsLiteral,
  prototypesPerClass,
  pushPrototypes,
  setPrototypes,
  similarityLiteral,
  similarityModel,
  squaredDistances,
  squaredDistancesLiteral,
  upsample,
} from '../../lib/models/prototype';
import { Rng } from '../../lib/util/rng';
import { randomTensor } from './helpers';
import { identityProtoPNet, tinyProtoPNet } from './protopnet-fixture';

/** The ProtoPNet layer, costs and push against slow literal versions of the paper's formulas and hand-made cases. */

beforeAll(async () => {
  await tf.setBackend('cpu');
  process.env.TESSERA_PROGRESS = '0';
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, digits = 5) => {
  expect(a.length).toBe(b.length);
  Array.from(a).forEach((v, i) => expect(v).toBeCloseTo(b[i], digits));
};

describe('distances, similarity and costs against their literal twins', () => {
  test('squared distances by the expansion equal sum_c (z - p)^2, and never go negative', () => {
    const z = randomTensor([2, 3, 4, 5], 1) as tf.Tensor4D;
    const p = randomTensor([6, 5], 2) as tf.Tensor2D;
    const fast = squaredDistances(z, p);
    expect(fast.shape).toEqual([2, 3, 4, 6]);
    close(fast.dataSync(), squaredDistancesLiteral(z.dataSync(), [2, 3, 4, 5], p.dataSync(), 6));
    // A prototype equal to a latent cell: the expansion cancels to ~0 and the ReLU keeps it >= 0.
    const same = squaredDistances(z, z.reshape([24, 5]).slice([7, 0], [1, 5]) as tf.Tensor2D);
    expect(Math.min(...same.dataSync())).toBeGreaterThanOrEqual(0);
    expect(same.dataSync()[7]).toBeCloseTo(0, 5);
    tf.dispose([z, p, fast, same]);
  });

  test('the log similarity is log((d+1)/(d+1e-4)): large at d = 0, decreasing in d', () => {
    const d = [0, 1e-4, 0.5, 1, 7.25, 100];
    const s = logSimilarity(tf.tensor1d(d));
    close(
      s.dataSync(),
      d.map((v) => similarityLiteral(v)),
      4,
    );
    expect(similarityLiteral(0)).toBeCloseTo(Math.log(1e4), 8);
    s.dispose();
  });

  test("the model's similarities are the log similarity of each prototype's minimum distance over the latent map", () => {
    const { model } = tinyProtoPNet();
    const x = randomTensor([2, 8, 8, 2], 9) as tf.Tensor4D;
    const latentNet = tf.model({ inputs: model.inputs, outputs: model.getLayer('latent').output as tf.SymbolicTensor });
    const z = latentNet.predict(x) as tf.Tensor4D;
    const p = getPrototypes(model);
    const [n, h, w, D] = z.shape;
    const M = p.shape[0];
    const d = squaredDistancesLiteral(z.dataSync(), [n, h, w, D], p.dataSync(), M);
    const expected = Array.from({ length: n * M }, (_, k) => {
      const [i, j] = [Math.floor(k / M), k % M];
      let min = Infinity;
      for (let c = 0; c < h * w; c++) min = Math.min(min, d[(i * h * w + c) * M + j]);
      return similarityLiteral(min);
    });
    const s = similarityModel(model).predict(x) as tf.Tensor;
    close(s.dataSync(), expected, 3);
    tf.dispose([x, z, p, s]);
    model.dispose();
  });

  test('the masked-max costs equal the min-over-own/other-class definitions; a naive masked min would be 0', () => {
    const classes = [0, 0, 1, 1, 2, 2];
    const K = 3;
    const D = 4;
    const rng = new Rng(3);
    const minD = Float32Array.from({ length: 5 * 6 }, () => rng.uniform(0, D));
    const labels = [0, 2, 1, 1, 0];
    const kernel = Float32Array.from({ length: 6 * K }, () => rng.normal());
    const [dT, yT, idT, wT] = [
      tf.tensor2d(minD, [5, 6]),
      tf.tensor1d(labels, 'int32'),
      classIdentity(classes, K),
      tf.tensor2d(kernel, [6, K]),
    ];
    const fast = prototypeCosts(dT, yT, idT, wT, D);
    const slow = prototypeCostsLiteral(minD, labels, classes, kernel, K);
    expect(fast.cluster.dataSync()[0]).toBeCloseTo(slow.cluster, 5);
    expect(fast.separation.dataSync()[0]).toBeCloseTo(slow.separation, 5);
    expect(fast.l1.dataSync()[0]).toBeCloseTo(slow.l1, 5);
    expect(slow.cluster).toBeGreaterThan(0);
    const naive = tf.mean(tf.min(tf.mul(dT, tf.transpose(tf.gather(idT, yT, 1))), 1)).dataSync()[0];
    expect(naive).toBe(0);
    tf.dispose([dT, yT, idT, wT, fast.cluster, fast.separation, fast.l1]);
  });

  test('the last layer starts at +1 for the own class and -0.5 elsewhere, without bias', () => {
    expect(prototypesPerClass(3, 2)).toEqual([0, 0, 1, 1, 2, 2]);
    const w = lastLayerInit([0, 1, 1], 2);
    expect(Array.from(w.dataSync())).toEqual([1, -0.5, -0.5, 1, -0.5, 1]);
    w.dispose();
    const input = { inputShape: [8, 8, 2] as [number, number, number], numClasses: 3 };
    const backbone = buildModel({ family: 'gap', widths: [4, 6] }, input, new Rng(3));
    const fresh = buildProtoPNet(backbone, { channels: 4, prototypeClasses: [2, 0] }, input, new Rng(1));
    const logits = fresh.getLayer('logits');
    expect(logits.getWeights().length).toBe(1);
    expect(Array.from(logits.getWeights()[0].dataSync())).toEqual([-0.5, -0.5, 1, 1, -0.5, -0.5]);
    const protos = Array.from(getPrototypes(fresh).dataSync());
    expect(protos).toHaveLength(8);
    protos.forEach((v) => expect(v >= 0 && v < 1 ? v : `out of [0, 1): ${v}`).toBe(v));
  });

  test('bad prototype classes and a backbone without "features" are refused with a clear message', () => {
    const input = { inputShape: [8, 8, 2] as [number, number, number], numClasses: 3 };
    const { model } = tinyProtoPNet();
    expect(() => buildProtoPNet(model, { channels: 4, prototypeClasses: [0, 3] }, input, new Rng(1))).toThrow(
      /prototype class 3 is not a class \(0\.\.2\)/,
    );
    const inp = tf.input({ shape: [4, 4, 1] });
    const plain = tf.model({ inputs: inp, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(inp) as tf.SymbolicTensor });
    expect(() => buildProtoPNet(plain, { channels: 4, prototypeClasses: [0] }, input, new Rng(1))).toThrow(/no layer "features"/);
  });
});

/** Images of 4x4x2 bytes, all 0 except `pixels`: [image, y, x, byte0, byte1]. */
function imagesWith(n: number, labels: number[], pixels: [number, number, number, number, number][]): Dataset {
  const images = new Uint8Array(n * 32);
  for (const [i, y, x, a, b] of pixels) images.set([a, b], i * 32 + (y * 4 + x) * 2);
  return new Dataset({
    name: 'push-toy',
    split: 'train',
    images,
    labels: Int32Array.from(labels),
    height: 4,
    width: 4,
    channels: 2,
    classNames: ['a', 'b'],
  });
}

const latentOf = (a: number, b: number) => [a, b].map((v) => 1 / (1 + Math.exp(-v / 255)));

describe('push', () => {
  test('each prototype becomes exactly its nearest latent patch among the images of its class', () => {
    const model = identityProtoPNet();
    // Prototype 0 (class 0) sits at the latent of pixel (200, 10); prototype 1 (class 1) at that of (30, 240).
    const start = [...latentOf(200, 10), ...latentOf(30, 240)];
    setPrototypes(model, Float32Array.from(start));
    const data = imagesWith(
      4,
      [0, 1, 0, 1],
      [
        [0, 1, 1, 180, 20], // class 0, near prototype 0
        [2, 2, 3, 199, 12], // class 0, nearer: the answer for prototype 0
        [1, 0, 0, 200, 10], // class 1, equal to prototype 0 but of the wrong class: must be ignored
        [3, 3, 2, 35, 235], // class 1, the answer for prototype 1 (image 1's other pixels are 0)
      ],
    );
    const records = pushPrototypes(model, data, { batchSize: 3, progress: false });
    expect(records.map((r) => [r.prototype, r.cls, r.image, r.label, r.cell])).toEqual([
      [0, 0, 2, 0, [2, 3]],
      [1, 1, 3, 1, [3, 2]],
    ]);
    close(getPrototypes(model).dataSync(), [...latentOf(199, 12), ...latentOf(35, 235)], 6);
    const sq = (u: number[], v: number[]) => u.reduce((s, x, c) => s + (x - v[c]) ** 2, 0);
    expect(records[0].distance).toBeCloseTo(sq(latentOf(199, 12), start.slice(0, 2)), 6);
    expect(records[1].distance).toBeCloseTo(sq(latentOf(35, 235), start.slice(2)), 6);
    // 1x1 receptive fields: the RF box is the pixel itself.
    expect(records[0].rfBox).toEqual([2, 3, 3, 4]);
    expect(records[1].rfBox).toEqual([3, 2, 4, 3]);
    // After the push the prototype's nearest patch in its class is at distance 0.
    const again = pushPrototypes(model, data, { progress: false });
    expect(again.map((r) => r.distance).every((d) => d < 1e-6)).toBe(true);
  });

  test('the k nearest images of a prototype, one patch per image, over all classes', () => {
    const model = identityProtoPNet();
    setPrototypes(model, Float32Array.from([...latentOf(200, 10), ...latentOf(30, 240)]));
    const data = imagesWith(
      4,
      [0, 1, 0, 1],
      [
        [0, 1, 1, 180, 20],
        [2, 2, 3, 199, 12],
        [1, 0, 0, 200, 10],
        [3, 3, 2, 35, 235],
      ],
    );
    const near = nearestPatches(model, data, 2, { batchSize: 3, progress: false });
    expect(near.neighbours[0].map((e) => [e.image, e.label, e.cell])).toEqual([
      [1, 1, [0, 0]],
      [2, 0, [2, 3]],
    ]);
    expect(near.neighbours[0][0].distance).toBeCloseTo(0, 6);
    expect(near.neighbours[1].map((e) => e.image)).toEqual([3, 0]);
  });

  test('pruning keeps the chosen prototypes with their last-layer rows: logits = sum over kept j of w_jk sim_j', () => {
    const { model } = tinyProtoPNet();
    const input = { inputShape: [8, 8, 2] as [number, number, number], numClasses: 3 };
    const backboneOf = () => tinyProtoPNet(99).model; // other weights: everything must be copied
    const keep = [0, 3, 4];
    const pruned = keepPrototypes(model, keep, backboneOf, input);
    expect(distanceLayer(pruned).prototypeClasses).toEqual([0, 1, 2]);
    const x = randomTensor([2, 8, 8, 2], 4) as tf.Tensor4D;
    const sim = (similarityModel(model).predict(x) as tf.Tensor).arraySync() as number[][];
    const w = model.getLayer('logits').getWeights()[0].arraySync() as number[][];
    const expected = sim.flatMap((row) => [0, 1, 2].map((k) => keep.reduce((s, j) => s + w[j][k] * row[j], 0)));
    close((pruned.predict(x) as tf.Tensor).dataSync(), expected, 4);
    expect(() => keepPrototypes(model, [], backboneOf, input)).toThrow(/keep at least one/);
  });

  test('the loss view shares the weights; a saved ProtoPNet loads with its prototype classes', async () => {
    const { model } = tinyProtoPNet();
    const x = randomTensor([2, 8, 8, 2], 6) as tf.Tensor4D;
    const [logits] = lossModel(model).predict(x) as tf.Tensor[];
    close(logits.dataSync(), (model.predict(x) as tf.Tensor).dataSync(), 6);
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-proto-')), 'model');
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    expect(distanceLayer(loaded).prototypeClasses).toEqual([0, 0, 1, 1, 2, 2]);
    close((loaded.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync(), 6);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });
});

describe('activation boxes', () => {
  test('bilinear upsampling with half-pixel centres, clamped at the borders (hand-worked 2x2 -> 4x4)', () => {
    const up = upsample([0, 1, 2, 3], 2, 2, 4, 4);
    const f = [0, 0.25, 0.75, 1]; // source coordinate of each output pixel: clamp(-0.25), 0.25, 0.75, clamp(1.25)
    close(
      up,
      f.flatMap((fy) => f.map((fx) => 2 * fy + fx)),
      6,
    );
  });

  test('the high-activation box holds every pixel at or above the 95th percentile', () => {
    // Values 0..99 with 99 moved to (3, 4) and 98 to (6, 2). numpy's 95th percentile of 0..99 is 94.05: the pixels
    // 95, 96, 97 (row 9, columns 5-7), 98 and 99 are at or above it.
    const map = Float32Array.from({ length: 100 }, (_, p) => p);
    [map[34], map[99]] = [99, 34];
    [map[62], map[98]] = [98, 62];
    expect(highActivationBox(map, 10, 10, 95)).toEqual([3, 2, 10, 8]);
    expect(highActivationBox(map, 10, 10, 99)).toEqual([3, 4, 4, 5]);
  });
});
