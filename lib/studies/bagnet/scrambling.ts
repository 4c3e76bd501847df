import { scrambleTiles } from '../../data/transforms';
import { accuracyOf, argmaxRows, predictLogits } from '../../train/metrics';
import { DatasetSession, timed } from './session';

/** Figure 3 and claim 4: accuracy of every model on tile-scrambled evaluation images. */
export interface ScrambleResult {
  /** Tile sides t (the last, the image side, leaves the image as it is). */
  tiles: number[];
  /** The tile size at which the claim compares the models. */
  compareTile: number;
  /** Per model key: accuracy per tile size [tiles.length]. */
  accuracy: Record<string, number[]>;
}

/**
 * Shuffles the t x t tiles of the evaluation images for every t (each t with its own generator, forked from the
 * dataset's, so one t gives the same shuffle whatever the others) and measures every model. `tiles` defaults to the plan's.
 */
export function scrambling(ds: DatasetSession, tiles: number[] = ds.plan.tiles): ScrambleResult {
  return timed(ds, 'scrambling', () => {
    const K = ds.test.numClasses;
    const accuracy: Record<string, number[]> = {};
    for (const m of ds.models) accuracy[m.key] = [];
    for (const t of tiles) {
      const xs = scrambleTiles(ds.x, t, ds.rng.fork(`scramble-${t}`));
      for (const m of ds.models) accuracy[m.key].push(accuracyOf(argmaxRows(predictLogits(m.model, xs), K), ds.labels));
      xs.dispose();
    }
    return { tiles, compareTile: ds.plan.scrambleCompareTile, accuracy };
  });
}
