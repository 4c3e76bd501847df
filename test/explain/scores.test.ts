import * as tf from '@tensorflow/tfjs';
import { Heatmaps, PIXEL_GEOMETRY, Saliency, windowGeometry } from '../../lib/explain/index';
import { buildModel } from '../../lib/models/index';
import { buildProtoPNet } from '../../lib/models/prototype';
import { Rng } from '../../lib/util/rng';
import {
  averageRanks,
  cascadePoints,
  Deletion,
  EnergyInMask,
  gini,
  Insertion,
  ModelRandomisation,
  PointingGame,
  SCORES,
  Sparseness,
  spearman,
  trapezoid,
  weightedUnits,
} from '../../lib/explain/scores/index';

/** Every score on constructed maps and masks whose answer is worked out by hand. */

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Per-pixel maps of 4x4 images from planes of 16 values. */
function pixelMaps(planes: number[][], targets = planes.map(() => 0)): Heatmaps {
  return {
    method: 'test',
    n: planes.length,
    height: 4,
    width: 4,
    imageHeight: 4,
    imageWidth: 4,
    targets,
    geometry: PIXEL_GEOMETRY,
    signed: true,
    values: Float32Array.from(planes.flat()),
  };
}

/** The 4x4 mask of the top-left 2x2 cell (pixels 0, 1, 4, 5). */
const PART = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const ON_PART = [1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const OFF_PART = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4];
const HALF = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

describe('pointing game', () => {
  it('hits when the maximum is on the part, misses otherwise; chance is the grown part share', () => {
    const g = new PointingGame(0);
    expect(g.score({ maps: pixelMaps([ON_PART, OFF_PART]), masks: [PART, PART] }).values).toEqual([1, 0]);
    expect(g.chance({ masks: [PART], height: 4, width: 4 }).values).toEqual([4 / 16]);
    // Grown by 1 px the 2x2 part covers the 3x3 top-left square.
    expect(new PointingGame(1).chance({ masks: [PART], height: 4, width: 4 }).values).toEqual([9 / 16]);
  });
  it('a plateau of maxima scores the share of them on the part', () => {
    // Four maximal pixels: the two of the top-left cell hit, the two in the bottom row miss.
    const plateau = [5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 0, 0];
    expect(new PointingGame(0).score({ maps: pixelMaps([plateau]), masks: [PART] }).values).toEqual([0.5]);
  });
  it('is NaN for an image without part pixels', () => {
    const empty = new Uint8Array(16);
    expect(new PointingGame().score({ maps: pixelMaps([ON_PART]), masks: [empty] }).values[0]).toBeNaN();
  });
  it('says what is missing without masks', () => {
    expect(() => new PointingGame().score({ maps: pixelMaps([ON_PART]) })).toThrow(/ground-truth part masks/);
  });
});

describe('energy in mask', () => {
  const e = new EnergyInMask();
  it('is 1 with all mass on the part, 0 with none, 0.5 with half', () => {
    const r = e.score({ maps: pixelMaps([ON_PART, OFF_PART, HALF]), masks: [PART, PART, PART] });
    expect(r.values).toEqual([1, 0, 0.5]);
  });
  it('counts positive mass only', () => {
    const signed = [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -5, 2];
    expect(e.score({ maps: pixelMaps([signed]), masks: [PART] }).values[0]).toBeCloseTo(0.5, 6);
  });
  it('places a coarse map on the image through its geometry; chance is the part share', () => {
    // 2x2 cells of 2x2 pixels: the top-left cell holds all the mass.
    const coarse: Heatmaps = {
      ...pixelMaps([[]]),
      height: 2,
      width: 2,
      geometry: windowGeometry(2, 2),
      values: Float32Array.from([1, 0, 0, 0]),
    };
    expect(e.score({ maps: coarse, masks: [PART] }).values).toEqual([1]);
    expect(e.chance({ masks: [PART], height: 4, width: 4 }).values).toEqual([0.25]);
  });
});

describe('sparseness', () => {
  it('Gini: 0 for equal values, (n-1)/n for one value, 0.5 for [0, 0, 1, 1]', () => {
    expect(gini([2, 2, 2, 2])).toBeCloseTo(0, 12);
    expect(gini([0, 0, 0, 5])).toBeCloseTo(3 / 4, 12);
    expect(gini([1, 0, 1, 0])).toBeCloseTo(0.5, 12);
    expect(gini([0, 0])).toBeNaN();
  });
  it('scores the magnitudes of the map on the image grid', () => {
    const r = new Sparseness().score({ maps: pixelMaps([[-1, ...new Array(15).fill(0)], new Array(16).fill(3)]) });
    expect(r.values[0]).toBeCloseTo(15 / 16, 12);
    expect(r.values[1]).toBeCloseTo(0, 12);
  });
});

describe('rank correlation', () => {
  it('average ranks share ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([5, 5, 5]))).toEqual([2, 2, 2]);
  });
  it('Spearman: identical maps 1, reversed -1, monotone transform 1, a hand-worked case with ties', () => {
    expect(spearman([1, 2, 3, 4], [1, 2, 3, 4])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 100])).toBeCloseTo(1, 12);
    // ranks a = [1, 2.5, 2.5, 4], b = [1, 2, 3, 4]: centred a = [-1.5, 0, 0, 1.5], b = [-1.5, -0.5, 0.5, 1.5];
    // r = 4.5 / sqrt(4.5 * 5) = 0.9486833.
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(4.5 * 5), 12);
  });
  it('constant maps: 1 against a constant map, 0 against a varying one', () => {
    expect(spearman([0, 0, 0], [1, 1, 1])).toBe(1);
    expect(spearman([0, 0, 0], [1, 2, 3])).toBe(0);
  });
  it('cascade points spread over 1..total', () => {
    expect(cascadePoints(10, 4)).toEqual([1, 4, 7, 10]);
    expect(cascadePoints(3, 6)).toEqual([1, 2, 3]);
    expect(cascadePoints(5, 1)).toEqual([1]);
  });
});

/** x [1,4,4,1]: 1 on the top-left 2x2 cell, 0 elsewhere (mean colour 0.25). */
const image = () => tf.tensor4d(Float32Array.from(PART), [1, 4, 4, 1]);

/** logit 0 = the sum of the top-left cell's pixels, logit 1 = 0. */
function cellModel(weights = Array.from(PART)): tf.LayersModel {
  const inp = tf.input({ shape: [4, 4, 1] });
  const flat = tf.layers.flatten().apply(inp) as tf.SymbolicTensor;
  const kernel = tf.tensor2d(
    weights.map((w) => [w, 0]),
    [16, 2],
  );
  const out = tf.layers.dense({ units: 2, useBias: false, weights: [kernel] }).apply(flat) as tf.SymbolicTensor;
  return tf.model({ inputs: inp, outputs: out });
}

describe('deletion and insertion', () => {
  // p(logit 4) with the cell present, p(logit 1) with it filled by the mean colour 0.25 (4 pixels x 0.25).
  const high = Math.exp(4) / (Math.exp(4) + 1);
  const low = Math.exp(1) / (Math.exp(1) + 1);
  const opts = { cell: 2, steps: 4, progress: false as const };
  const model = cellModel();

  it('trapezoid rule', () => {
    expect(trapezoid([0, 0.5, 1], [1, 1, 0])).toBeCloseTo(0.75, 12);
  });
  it('a map that ranks the deciding cell first: the hand-computed areas', () => {
    const x = image();
    const maps = pixelMaps([ON_PART]);
    const del = new Deletion(opts).score({ maps, model, x });
    expect(del.curve!.x).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(del.values[0]).toBeCloseTo(0.25 * ((high + low) / 2 + 3 * low), 6);
    const ins = new Insertion(opts).score({ maps, model, x });
    expect(ins.values[0]).toBeCloseTo(0.25 * ((low + high) / 2 + 3 * high), 6);
    x.dispose();
  });
  it('a map that ranks it last deletes late (higher deletion area)', () => {
    const x = image();
    // Cell sums: top-right and bottom-right 4, bottom-left 1, top-left -4 (last).
    const last = [-1, -1, 1, 1, -1, -1, 1, 1, 1, 0, 1, 1, 0, 0, 1, 1];
    const del = new Deletion(opts).score({ maps: pixelMaps([last]), model, x });
    expect(del.curve!.y[0].map((v) => +v.toFixed(6))).toEqual([high, high, high, high, low].map((v) => +v.toFixed(6)));
    x.dispose();
  });
  it('chance: the mean area over random orders lies between the best and worst orders, the same for both calls', () => {
    const x = image();
    const d = new Deletion({ ...opts, randomOrders: 6 });
    const c = d.chance({ model, x, targets: [0], height: 4, width: 4 });
    const best = 0.25 * ((high + low) / 2 + 3 * low);
    const worst = 0.25 * (3 * high + (high + low) / 2);
    expect(c.values[0]).toBeGreaterThanOrEqual(best - 1e-9);
    expect(c.values[0]).toBeLessThanOrEqual(worst + 1e-9);
    expect(new Deletion({ ...opts, randomOrders: 6 }).chance({ model, x, targets: [0], height: 4, width: 4 }).values).toEqual(c.values);
    x.dispose();
  });
  it('breaks ties in a seeded random order: a flat map scores like one random order', () => {
    const x = image();
    const flat = pixelMaps([new Array(16).fill(0)]);
    const a = new Deletion(opts).score({ maps: flat, model, x }).curve!.y[0];
    expect(new Deletion(opts).score({ maps: flat, model, x }).curve!.y[0]).toEqual(a);
    const removedAt = a.findIndex((v) => v < (high + low) / 2);
    expect(removedAt).toBeGreaterThan(0);
    x.dispose();
  });
  it('rejects a cell that does not divide the image', () => {
    const x = image();
    expect(() => new Deletion({ cell: 3, progress: false }).score({ maps: pixelMaps([ON_PART]), model, x })).toThrow(/does not divide/);
    x.dispose();
  });
});

describe('model randomisation', () => {
  const ramp = Array.from({ length: 16 }, (_, i) => i + 1);
  it('saliency of a linear model: |w| trained against |w| re-initialised reversed gives -1', () => {
    const model = cellModel(ramp);
    const x = image();
    const explain = (m: tf.LayersModel) => new Saliency(m).attribute(x, [0]);
    const r = new ModelRandomisation({ progress: false }).score({
      maps: explain(model),
      model,
      x,
      explain,
      fresh: () => cellModel([...ramp].reverse()),
    });
    expect(r.curve!.x).toEqual([1]);
    expect(r.values[0]).toBeCloseTo(-1, 6);
    x.dispose();
  });
  it('a map that ignores the model stays at 1 at every cascade point', () => {
    const model = cellModel(ramp);
    const fixed = pixelMaps([ON_PART]);
    const r = new ModelRandomisation({ progress: false }).score({ maps: fixed, model, explain: () => fixed, fresh: () => cellModel() });
    expect(r.values).toEqual([1]);
  });
  it('weighted layers come output first, each with the batch normalisation it feeds', () => {
    const inp = tf.input({ shape: [4, 4, 1] });
    let h = tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', name: 'c1' }).apply(inp) as tf.SymbolicTensor;
    h = tf.layers.batchNormalization({ name: 'bn1' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.flatten().apply(h) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, name: 'd' }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: inp, outputs: out });
    const units = weightedUnits(model);
    expect(units.map((u) => u.name)).toEqual(['d', 'c1']);
    expect(units[1].layers.map((i) => model.layers[i].name)).toEqual(['c1', 'bn1']);
  });
  it("a ProtoPNet's prototype layer is a unit of its own, between the last layer and the add-on", () => {
    const input = { inputShape: [8, 8, 1] as [number, number, number], numClasses: 2 };
    const backbone = buildModel({ family: 'gap', widths: [2], batchNorm: false }, input, new Rng(1));
    const model = buildProtoPNet(backbone, { channels: 2, prototypeClasses: [0, 1] }, input, new Rng(2));
    expect(weightedUnits(model).map((u) => u.name)).toEqual([
      'logits',
      'prototype_distances',
      'latent',
      'addon',
      ...backbone.layers
        .filter((l) => l.weights.length && l.name !== 'logits')
        .map((l) => l.name)
        .reverse(),
    ]);
  });
});

describe('registry', () => {
  it('lists every score once with its metadata', () => {
    const ids = SCORES.map((s) => s.info.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(['pointing-game', 'energy-in-mask', 'deletion', 'insertion', 'randomisation', 'sparseness']);
    for (const s of SCORES) expect(['higher', 'lower']).toContain(s.create({}).info.direction);
  });
});
