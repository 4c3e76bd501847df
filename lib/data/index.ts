/**
 * One entry point for every dataset: `loadDataset(name, opts)`.
 *
 * | name            | source                                        | image       | ground truth                         |
 * |-----------------|-----------------------------------------------|-------------|--------------------------------------|
 * | fashion-mnist   | IDX gz files (see fashion-mnist.ts)           | 28x28x1     | none                                 |
 * | parts-birds     | synthetic (synthetic/birds.ts)                | 64x64x3     | 7 part maps, discriminative parts, box, position |
 * | facades         | synthetic (synthetic/facades.ts)              | 128x128x3   | 7 cue maps, discriminative cues      |
 * | shifted-objects | synthetic, random positions (shiftedObjects() for the lazy full grid) | 64x64x3 | object map, position, box |
 * | imagefolder     | `data` = folder of class folders              | imageSize   | none                                 |
 * | cub             | `data` = CUB_200_2011 folder                  | imageSize   | box, 15 keypoints, keypoint discs    |
 */
import { Dataset, Split } from './dataset';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { Fit } from './decode';

export { Dataset } from './dataset';
export type { GroundTruth, Split } from './dataset';
export { shiftedObjects, ShiftedObjects } from './synthetic/shifted';
export type { ShiftedObjectsOptions, ShiftedSample, Sprite } from './synthetic/shifted';

export const DATASET_NAMES = ['fashion-mnist', 'parts-birds', 'facades', 'shifted-objects', 'imagefolder', 'cub'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface LoadOptions {
  /** A directory: where to look for Fashion-MNIST, or the ImageFolder / CUB root. */
  data?: string;
  split: Split;
  /** Seed of generated worlds and of the `limit` subset (default 0). */
  seed?: number;
  /** Per-class cap: at most this many images of each class (chosen by the seed). */
  limit?: number;
  /** Generated worlds: number of images. */
  size?: number;
  /** ImageFolder / CUB: output side in pixels (default 64); generated worlds: image side. */
  imageSize?: number;
  /** ImageFolder / CUB resize policy. */
  fit?: Fit;
  /** CUB: crop to the bird's bounding box first. */
  cropToBox?: boolean;
  /** Generated worlds: number of classes (first k). */
  classes?: number;
  /** shifted-objects: paste synthetic shapes (default) or Fashion-MNIST items (found as for fashion-mnist). */
  objectSource?: 'shapes' | 'fashion-mnist';
  /** Fashion-MNIST: download when absent (default true unless TESSERA_OFFLINE=1). */
  download?: boolean;
}

/** Loads or generates a dataset by name. */
export async function loadDataset(name: string, opts: LoadOptions): Promise<Dataset> {
  const seed = opts.seed ?? 0;
  // Generated worlds honour `limit` by generating no more than limit * classes images.
  const genSize = (defaultSize: number, classes: number) => {
    const n = opts.size ?? defaultSize;
    return opts.limit !== undefined ? Math.min(n, opts.limit * classes) : n;
  };
  let ds: Dataset;
  switch (name) {
    case 'fashion-mnist': {
      const { loadFashionMnist } = await import('./fashion-mnist');
      ds = await loadFashionMnist({ split: opts.split, data: opts.data, download: opts.download });
      break;
    }
    case 'parts-birds': {
      const { partsBirds, BIRD_CLASSES } = await import('./synthetic/birds');
      const classes = opts.classes ?? BIRD_CLASSES.length;
      return partsBirds({
        split: opts.split,
        seed,
        classes,
        side: opts.imageSize,
        size: genSize(opts.split === 'train' ? 2000 : 500, classes),
      });
    }
    case 'facades': {
      const { facades, FACADE_CLASSES } = await import('./synthetic/facades');
      const classes = opts.classes ?? FACADE_CLASSES.length;
      return facades({
        split: opts.split,
        seed,
        classes,
        side: opts.imageSize,
        size: genSize(opts.split === 'train' ? 1200 : 300, classes),
      });
    }
    case 'shifted-objects': {
      const { shiftedObjects } = await import('./synthetic/shifted');
      const objects = opts.classes ?? 10;
      let source: 'shapes' | Dataset = 'shapes';
      if (opts.objectSource === 'fashion-mnist') {
        const { loadFashionMnist } = await import('./fashion-mnist');
        source = await loadFashionMnist({ split: opts.split, data: opts.data, download: opts.download });
      }
      const gen = shiftedObjects({ seed, objects, canvas: opts.imageSize, source });
      return gen.sample(genSize(1000, objects), new Rng(seed).fork(`shifted-objects/${opts.split}`), { split: opts.split });
    }
    case 'imagefolder': {
      if (!opts.data) throw new UserError('imagefolder needs --data DIR: a folder with one sub-folder of images per class');
      const { loadImageFolder } = await import('./imagefolder');
      // The per-class cap is applied before decoding.
      return loadImageFolder(opts.data, { split: opts.split, imageSize: opts.imageSize, fit: opts.fit, perClass: opts.limit, seed });
    }
    case 'cub': {
      if (!opts.data) throw new UserError('cub needs --data DIR: the CUB_200_2011 folder (with images.txt)');
      const { loadCub } = await import('./cub');
      return loadCub(opts.data, {
        split: opts.split,
        imageSize: opts.imageSize,
        fit: opts.fit,
        cropToBox: opts.cropToBox,
        perClass: opts.limit,
        seed,
      });
    }
    default:
      throw new UserError(`unknown dataset "${name}"; known: ${DATASET_NAMES.join(', ')}`);
  }
  if (opts.limit !== undefined) ds = ds.perClassSubset(opts.limit, new Rng(seed).fork(`limit/${name}/${opts.split}`));
  return ds;
}
