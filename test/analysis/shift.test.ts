import * as tf from '@tensorflow/tfjs';
import {
  anchorCosines,
  circularShift,
  circularShiftGrid,
  consistency,
  cosine,
  halfLabels,
  localVariation,
  periodicPeak,
  pooledFeatures,
  probeAccuracy,
  solveSpd,
} from '../../lib/analysis/shift';
import { Rng } from '../../lib/util/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A map over a side x side grid from f(row, column). */
function gridMap(side: number, f: (j: number, i: number) => number): Float32Array {
  return Float32Array.from({ length: side * side }, (_, p) => f(Math.floor(p / side), p % side));
}

describe('anchorCosines', () => {
  it('a translation-invariant feature (the same direction at every position) gives cosine 1 everywhere', () => {
    const v = [0.3, -1, 2, 0.5];
    const P = 9;
    const rows = Array.from({ length: P }, (_, p) => v.map((x) => x * (1 + p))); // scale changes, direction does not
    const maps = tf.tidy(() => anchorCosines(tf.tensor2d(rows), [0, 4, 8]));
    for (const m of maps) for (const c of m) expect(c).toBeCloseTo(1, 6);
  });
  it('equals the literal cosine of every row with every anchor', () => {
    const rng = new Rng(3);
    const P = 12;
    const D = 5;
    const rows = Array.from({ length: P }, () => Array.from({ length: D }, () => rng.normal()));
    rows[7] = new Array(D).fill(0); // a zero row: cosine 0
    const anchors = [0, 5, 11];
    const maps = tf.tidy(() => anchorCosines(tf.tensor2d(rows), anchors));
    anchors.forEach((a, k) => rows.forEach((r, p) => expect(maps[k][p]).toBeCloseTo(cosine(rows[a], r), 5)));
    expect(maps[0][7]).toBe(0);
  });
  it('orthogonal features give 0, opposite ones -1', () => {
    const maps = tf.tidy(() =>
      anchorCosines(
        tf.tensor2d([
          [1, 0],
          [0, 2],
          [-3, 0],
        ]),
        [0],
      ),
    );
    expect(Array.from(maps[0])).toEqual([1, 0, -1].map((x) => expect.closeTo(x, 6)));
  });
  it('refuses an anchor outside the rows', () => {
    expect(() => tf.tidy(() => anchorCosines(tf.zeros([3, 2]) as tf.Tensor2D, [3]))).toThrow(/anchor 3 is not a row of the 3 features/);
  });
});

describe('localVariation', () => {
  it('is the mean |difference| over horizontal and vertical neighbours (hand-worked 2x2)', () => {
    // pairs: (0,1) 1, (2,3) 1, (0,2) 2, (1,3) 2 -> 1.5
    expect(localVariation([0, 1, 2, 3], 2, 2)).toBe(1.5);
  });
  it('is 0 for a constant map and the slope for a ramp', () => {
    expect(localVariation(new Float32Array(25).fill(0.9), 5, 5)).toBe(0);
    // m = 0.01 * column: horizontal pairs differ by 0.01 (20 pairs), vertical by 0 (20 pairs) -> 0.005
    expect(
      localVariation(
        gridMap(5, (_, i) => 0.01 * i),
        5,
        5,
      ),
    ).toBeCloseTo(0.005, 9);
  });
  it('says what size it expected', () => {
    expect(() => localVariation([1, 2, 3], 2, 2)).toThrow(/2x2 map needs 4 values, found 3/);
  });
});

describe('periodicPeak', () => {
  const side = 25;
  // A smooth fall-off from the centre plus a stride-4 artefact: a bump at every 4th row and column.
  const artefact = (s: number) =>
    gridMap(side, (j, i) => 1 - 0.002 * ((i - 12) ** 2 + (j - 12) ** 2) + 0.02 * (+(i % s === 0) + +(j % s === 0)));
  it('a stride-s artefact shows at period s and not at other periods', () => {
    const m = artefact(4);
    const at4 = periodicPeak(m, side, side, 4);
    expect(at4).toBeGreaterThan(2.5);
    expect(periodicPeak(m, side, side, 3)).toBeLessThan(1);
    expect(periodicPeak(m, side, side, 5)).toBeLessThan(1);
    // A weaker artefact gives a smaller peak: blurring (anti-aliasing) lowers it.
    const weak = gridMap(side, (j, i) => 1 - 0.002 * ((i - 12) ** 2 + (j - 12) ** 2) + 0.002 * (+(i % 4 === 0) + +(j % 4 === 0)));
    expect(periodicPeak(weak, side, side, 4)).toBeLessThan(at4);
    expect(periodicPeak(artefact(8), side, side, 8)).toBeGreaterThan(2);
  });
  it('the smooth fall-off alone is at noise level (rounding only); white noise about 1; a constant map 0', () => {
    expect(
      periodicPeak(
        gridMap(side, (j, i) => 1 - 0.002 * ((i - 12) ** 2 + (j - 12) ** 2)),
        side,
        side,
        4,
      ),
    ).toBeLessThan(2);
    const rng = new Rng(5);
    const noise = gridMap(side, () => rng.normal());
    const r = periodicPeak(noise, side, side, 4);
    expect(r).toBeGreaterThan(0.3);
    expect(r).toBeLessThan(3);
    expect(periodicPeak(new Float32Array(side * side).fill(1), side, side, 4)).toBe(0);
  });
  it('refuses a grid too small for the period', () => {
    expect(() => periodicPeak(new Float32Array(36), 6, 6, 4)).toThrow(/too small to see period 4; it needs at least 9 positions/);
  });
});

describe('consistency', () => {
  it('is sum_c p_c^2 (hand-worked) and 1 when every position agrees', () => {
    expect(consistency([0, 0, 1, 1])).toBe(0.5);
    expect(consistency([2, 2, 2])).toBe(1);
    // p = (3/4, 1/4): 9/16 + 1/16
    expect(consistency([1, 1, 1, 0])).toBe(10 / 16);
  });
  it('matches the agreement rate of many independent random pairs', () => {
    const top1 = Array.from({ length: 50 }, (_, i) => (i * 7) % 3);
    const rng = new Rng(1);
    let same = 0;
    const n = 40000;
    for (let k = 0; k < n; k++) if (top1[rng.int(50)] === top1[rng.int(50)]) same++;
    expect(same / n).toBeCloseTo(consistency(top1), 2);
  });
});

describe('halfLabels', () => {
  it('top/bottom halves of the rows, the middle row of an odd grid left out', () => {
    expect(Array.from(halfLabels(2, 3, 'rows'))).toEqual([0, 0, -1, -1, 1, 1]);
    expect(Array.from(halfLabels(2, 2, 'columns'))).toEqual([0, 1, 0, 1]);
  });
});

describe('solveSpd and the linear probe', () => {
  it('solves a hand-worked 2x2 system', () => {
    // [[4, 2], [2, 3]] x = [2, 1] -> x = [0.5, 0]
    const x = solveSpd([4, 2, 2, 3], [2, 1], 2);
    expect(x[0]).toBeCloseTo(0.5, 12);
    expect(x[1]).toBeCloseTo(0, 12);
    expect(() => solveSpd([1, 2, 2, 1], [1, 1], 2)).toThrow(/not positive definite/);
  });
  it('decodes position perfectly from a feature that encodes it, and is at chance on a feature that does not', () => {
    const side = 10;
    const labels = halfLabels(side, side, 'rows');
    const rng = new Rng(2);
    // Feature 0 = row index (position-coded), feature 1 noise.
    const coded = Float32Array.from({ length: side * side * 2 }, (_, k) => (k % 2 === 0 ? Math.floor(k / 2 / side) : rng.normal()));
    expect(probeAccuracy(coded, 2, labels, new Rng(1), { ridge: 0.01 })).toBe(1);
    const invariant = Float32Array.from({ length: side * side * 3 }, () => rng.normal());
    const acc = probeAccuracy(invariant, 3, labels, new Rng(1));
    expect(acc).toBeGreaterThan(0.3);
    expect(acc).toBeLessThan(0.7);
  });
  it('the same seed gives the same folds and accuracy', () => {
    const rng = new Rng(9);
    const f = Float32Array.from({ length: 64 * 4 }, () => rng.normal());
    const labels = halfLabels(8, 8, 'columns');
    expect(probeAccuracy(f, 4, labels, new Rng(4))).toBe(probeAccuracy(f, 4, labels, new Rng(4)));
  });
});

describe('circularShift and pooledFeatures', () => {
  it('rolls rows and columns with wrap-around (hand-worked 3x3)', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const y = circularShift(x, 1, 2);
    // out(y, x) = in((y - 1) mod 3, (x - 2) mod 3)
    expect(Array.from(y.dataSync())).toEqual([8, 9, 7, 2, 3, 1, 5, 6, 4]);
    expect(Array.from(circularShift(x, 3, -3).dataSync())).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    tf.dispose([x, y]);
  });
  it('rolls a batch by many shifts at once, as concatenated single rolls (shift-major)', () => {
    const x = tf.tensor4d(
      Array.from({ length: 2 * 3 * 4 * 2 }, (_, i) => i),
      [2, 3, 4, 2],
    );
    const shifts: [number, number][] = [
      [0, 0],
      [1, 2],
      [-1, 5],
      [3, -4],
    ];
    const all = circularShiftGrid(x, shifts);
    const want = tf.concat(
      shifts.map(([dy, dx]) => circularShift(x, dy, dx)),
      0,
    );
    expect(all.shape).toEqual([8, 3, 4, 2]);
    expect(Array.from(all.dataSync())).toEqual(Array.from(want.dataSync()));
    tf.dispose([x, all, want]);
  });
  it('pools spatial maps by their mean and keeps vectors', () => {
    const m = pooledFeatures(tf.tensor4d([1, 2, 3, 5], [1, 2, 2, 1]));
    expect(Array.from(m.dataSync())).toEqual([2.75]);
    const v = pooledFeatures(tf.tensor2d([[1, 2]]));
    expect(Array.from(v.dataSync())).toEqual([1, 2]);
    tf.dispose([m, v]);
  });
});
