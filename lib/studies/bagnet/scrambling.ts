import { scrambleTiles } from '../../data/transforms';
import { BagNetPatchLogits } from '../../explain/patches';
import { mean } from '../../analysis/stats';
import { argmaxRows, predictLogits } from '../../train/metrics';
import { diffOf, Estimate, estimate } from './estimates';
import { DatasetSession, timed } from './session';

/**
 * Figure 3: accuracy on tile-scrambled evaluation images, our proxy for the paper's texturised images (which keep
 * local statistics and lose the global arrangement). A BagNet's patch is unchanged by scrambling only when it lies
 * inside one tile; `intact` counts those, and the control recomputes each BagNet's logits from its intact patches
 * alone (the patch-logit map's mean over intact units): with tiles a multiple of the patch stride these are exactly
 * patches of the unscrambled image, so the control loses only patches, no arrangement, and gains no seam evidence.
 */
export interface ScrambleResult {
  /** Tile sides t (the last, the image side, leaves the image as it is). */
  tiles: number[];
  /** The tile size at which the claims compare the models. */
  compareTile: number;
  /** Per model key: accuracy per tile size [tiles.length]. */
  accuracy: Record<string, number[]>;
  /** Per BagNet key, per tile: the share of its patches (patch-logit units) inside one tile. */
  intact: Record<string, number[]>;
  /** Per BagNet key, per tile: accuracy of the logits averaged over the intact units only (the control). */
  controlAccuracy: Record<string, number[]>;
  /** At the compare tile, paired over images: per model key, unscrambled minus scrambled accuracy ... */
  drop: Record<string, Estimate>;
  /** ... per BagNet key, unscrambled accuracy minus the control's on scrambled images ... */
  controlDrop: Record<string, Estimate>;
  /** ... and the ResNet-like's drop minus the VGG-like's (the last CNN's minus the first's). */
  deeperMinusShallower: Estimate;
}

/** 1 for each unit of an n-unit axis (field [start + jump*i, + q)) that lies inside one t-tile. */
export function intactUnits(n: number, q: number, jump: number, start: number, t: number): boolean[] {
  return Array.from({ length: n }, (_, i) => {
    const a = start + jump * i;
    return a >= 0 && Math.floor(a / t) === Math.floor((a + q - 1) / t);
  });
}

/**
 * Shuffles the t x t tiles of the evaluation images for every t (each t with its own generator, forked from the
 * dataset's, so one t gives the same shuffle whatever the others) and measures every model, the BagNets also through
 * their intact patches. `tiles` defaults to the plan's (the last must be the image side).
 */
export function scrambling(ds: DatasetSession, tiles: number[] = ds.plan.tiles): ScrambleResult {
  return timed(ds, 'scrambling', () => {
    const K = ds.test.numClasses;
    const n = ds.labels.length;
    const side = ds.test.height;
    if (tiles[tiles.length - 1] !== side)
      throw new Error(`scrambling: the last tile size must be the image side ${side} (unscrambled), found ${tiles.join(', ')}`);
    const compareTile = ds.plan.scrambleCompareTile;
    const accuracy: Record<string, number[]> = {};
    const intact: Record<string, number[]> = {};
    const controlAccuracy: Record<string, number[]> = {};
    const correctAt: Record<string, Record<number, number[]>> = {};
    const controlCorrect: Record<string, number[]> = {};
    const right = (logits: Float32Array) => argmaxRows(logits, K).map((p, i) => (p === ds.labels[i] ? 1 : 0));
    for (const m of ds.models) {
      accuracy[m.key] = [];
      correctAt[m.key] = {};
    }
    for (const b of ds.bagnets) {
      intact[b.key] = [];
      controlAccuracy[b.key] = [];
    }
    for (const t of tiles) {
      const xs = scrambleTiles(ds.x, t, ds.rng.fork(`scramble-${t}`));
      const record = (key: string, c: number[]) => {
        accuracy[key].push(mean(c));
        if (t === compareTile || t === side) correctAt[key][t] = c;
      };
      for (const m of ds.cnns) record(m.key, right(predictLogits(m.model, xs)));
      // A BagNet's logits are the mean of its patch logits (the patch-mean check), so one pass gives both the
      // BagNet's own logits (mean over all units) and the control's (mean over the intact units).
      for (const b of ds.bagnets) {
        const maps = new BagNetPatchLogits(b.model).allClasses(xs);
        const g = maps.geometry;
        const okY = intactUnits(maps.height, g.y.size, g.y.jump, g.y.start, t);
        const okX = intactUnits(maps.width, g.x.size, g.x.jump, g.x.start, t);
        const hw = maps.height * maps.width;
        const units: number[] = [];
        for (let iy = 0; iy < maps.height; iy++)
          for (let ix = 0; ix < maps.width; ix++) if (okY[iy] && okX[ix]) units.push(iy * maps.width + ix);
        intact[b.key].push(units.length / hw);
        const meanOver = (us: number[]) => {
          const logits = new Float32Array(n * K);
          for (let i = 0; i < n && us.length; i++)
            for (const u of us) for (let k = 0; k < K; k++) logits[i * K + k] += maps.values[(i * hw + u) * K + k] / us.length;
          return logits;
        };
        record(b.key, right(meanOver(Array.from({ length: hw }, (_, u) => u))));
        // No intact patch: the control has no evidence and gets every image wrong.
        const c = units.length ? right(meanOver(units)) : new Array<number>(n).fill(0);
        controlAccuracy[b.key].push(mean(c));
        if (t === compareTile) controlCorrect[b.key] = c;
      }
      xs.dispose();
    }
    if (!tiles.includes(compareTile))
      throw new Error(`scrambling: the compare tile ${compareTile} is not among the tiles ${tiles.join(', ')}`);
    const rng = ds.rng.fork('scramble-bootstrap');
    const B = ds.resamples;
    const drop: Record<string, Estimate> = {};
    for (const m of ds.models) drop[m.key] = estimate(n, diffOf(correctAt[m.key][side], correctAt[m.key][compareTile]), rng.fork(m.key), B);
    const controlDrop: Record<string, Estimate> = {};
    for (const b of ds.bagnets)
      controlDrop[b.key] = estimate(n, diffOf(correctAt[b.key][side], controlCorrect[b.key]), rng.fork(`control-${b.key}`), B);
    const [shallow, deep] = [ds.cnns[0].key, ds.cnns[ds.cnns.length - 1].key];
    const dropOf = (k: string) => correctAt[k][side].map((v, i) => v - correctAt[k][compareTile][i]);
    const deeperMinusShallower = estimate(n, diffOf(dropOf(deep), dropOf(shallow)), rng.fork('deeper'), B);
    return { tiles, compareTile, accuracy, intact, controlAccuracy, drop, controlDrop, deeperMinusShallower };
  });
}
