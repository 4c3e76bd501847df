import type { Command } from './command';
import { intFlag, parseArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';
import { DATASET_NAMES, LoadOptions, loadDataset } from '../data/index';
import { Dataset, Split } from '../data/dataset';
import { drawBox, fromBytes, grid, overlayLabels, upscale, writePng } from '../plot/images';
import { Rng } from '../util/rng';

const USAGE = `usage:
  tessera data describe <dataset> [--data DIR] [--json] [--seed N] [--size N] [--limit N] [--image-size N] [...]
  tessera data sample <dataset> --out FILE.png [--n N] [--split train|test] [--data DIR] [--seed N] [...]

datasets: ${DATASET_NAMES.join(', ')} (imagefolder and cub need --data DIR)

describe  image shape, split sizes, counts per class, the kinds of ground truth, load or generation speed
sample    a PNG grid of N samples (default 16); with part maps each image is followed by its mask overlay, and
          boxes are drawn in red
options   --size: images per split for generated worlds; --limit: at most N per class; --image-size: output side for
          imagefolder/cub (and the side of generated worlds); --objects shapes|fashion-mnist: what shifted-objects pastes;
          --classes N: the first N classes of a generated world; --fit cover|contain|fill: resize policy of
          imagefolder/cub; --crop-to-box: crop CUB images to their bird's box (as ProtoPNet)`;

const GENERATED = new Set(['parts-birds', 'facades', 'shifted-objects']);

function loadOptions(args: ReturnType<typeof parseArgs>, split: Split): LoadOptions {
  const opts: LoadOptions = { split, data: stringFlag(args, 'data'), seed: intFlag(args, 'seed', 0) };
  if (args.flags.size !== undefined) opts.size = intFlag(args, 'size', 0, { min: 1 });
  if (args.flags.limit !== undefined) opts.limit = intFlag(args, 'limit', 0, { min: 1 });
  const objects = stringFlag(args, 'objects');
  if (objects !== undefined) {
    if (objects !== 'shapes' && objects !== 'fashion-mnist')
      throw new UserError(`--objects must be shapes or fashion-mnist, found "${objects}"`);
    opts.objectSource = objects;
  }
  if (args.flags.classes !== undefined) opts.classes = intFlag(args, 'classes', 10, { min: 2 });
  if (args.flags['crop-to-box']) opts.cropToBox = true;
  const fit = stringFlag(args, 'fit');
  if (fit !== undefined) {
    if (fit !== 'cover' && fit !== 'contain' && fit !== 'fill') throw new UserError(`--fit must be cover, contain or fill, found "${fit}"`);
    opts.fit = fit;
  }
  if (args.flags['image-size'] !== undefined) opts.imageSize = intFlag(args, 'image-size', 64, { min: 8, max: 1024 });
  return opts;
}

/** The kinds of ground truth a dataset carries, in words. */
export function truthKinds(ds: Dataset): string[] {
  const t = ds.truth;
  const kinds: string[] = [];
  if (t.partMaps && t.partNames) kinds.push(`part maps (${t.partNames.length}: ${t.partNames.join(', ')})`);
  if (t.discriminativeParts) kinds.push('discriminative parts per class');
  if (t.boxes) kinds.push('boxes');
  if (t.positions) kinds.push('positions');
  if (t.keypoints && t.keypointNames) kinds.push(`keypoints (${t.keypointNames.length})`);
  return kinds;
}

interface SplitInfo {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  classCounts: Record<string, number>;
}

async function describe(name: string, args: ReturnType<typeof parseArgs>): Promise<number> {
  const splits: Partial<Record<Split, SplitInfo>> = {};
  let first: Dataset | undefined;
  let splitNames: Split[] = ['train', 'test'];
  const dataDir = stringFlag(args, 'data');
  if (name === 'imagefolder' && dataDir) {
    // A folder with only one of train/ and test/ has one split (a folder with neither is split by name hashes).
    const fs = await import('fs');
    const path = await import('path');
    const has = (s: string) => fs.existsSync(path.join(dataDir, s));
    if (has('train') || has('test')) splitNames = splitNames.filter(has);
  }
  for (const split of splitNames) {
    const t0 = process.hrtime.bigint();
    const ds = await loadDataset(name, loadOptions(args, split));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    first = first ?? ds;
    const counts = ds.classCounts();
    splits[split] = {
      images: ds.size,
      seconds,
      imagesPerSecond: ds.size / Math.max(seconds, 1e-9),
      classCounts: Object.fromEntries(ds.classNames.map((c, i) => [c, counts[i]])),
    };
  }
  const ds = first!;
  const info: Record<string, unknown> = {
    dataset: name,
    imageShape: ds.imageShape,
    classes: ds.classNames,
    splits,
    groundTruth: truthKinds(ds),
    discriminativeParts: ds.truth.discriminativeParts
      ? Object.fromEntries(ds.classNames.map((c, i) => [c, ds.truth.discriminativeParts![i]]))
      : undefined,
    speedKind: GENERATED.has(name) ? 'generation' : 'load',
  };
  if (name === 'shifted-objects') {
    const { shiftedObjects } = await import('../data/synthetic/shifted');
    const gen = shiftedObjects({ seed: intFlag(args, 'seed', 0) });
    const t0 = process.hrtime.bigint();
    let n = 0;
    for (const s of gen.object(0)) {
      if (s.image.length === 0) break;
      if (++n >= 1000) break;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    info.lazyGrid = {
      objects: gen.sprites.length,
      objectSize: gen.objectSize,
      positionsPerAxis: gen.positions,
      images: gen.size,
      imagesPerSecond: n / Math.max(seconds, 1e-9),
    };
  }
  if (args.flags.json) {
    console.log(JSON.stringify(info, null, 2));
    return 0;
  }
  const [h, w, c] = ds.imageShape;
  const lines = [`dataset      ${name}`, `image        ${h}x${w}x${c} (uint8 HWC)`, `classes      ${ds.numClasses}`];
  for (const [split, s] of Object.entries(splits)) {
    lines.push(
      `${split.padEnd(12)} ${s!.images} images; ${GENERATED.has(name) ? 'generated' : 'loaded'} in ${s!.seconds.toFixed(2)} s ` +
        `(${Math.round(s!.imagesPerSecond)} images/s)`,
    );
  }
  const width = Math.max(...ds.classNames.map((n) => n.length));
  lines.push('per class    (train / test)');
  ds.classNames.forEach((cls, i) => {
    const tr = splits.train?.classCounts[cls] ?? 0;
    const te = splits.test?.classCounts[cls];
    const disc = ds.truth.discriminativeParts ? `   decided by: ${ds.truth.discriminativeParts[i].join(', ')}` : '';
    lines.push(`  ${cls.padEnd(width)}  ${String(tr).padStart(6)} / ${te === undefined ? '-' : String(te).padStart(5)}${disc}`);
  });
  const kinds = truthKinds(ds);
  lines.push(`ground truth ${kinds.length ? kinds.join('; ') : 'none'}`);
  if (info.lazyGrid) {
    const g = info.lazyGrid as Record<string, number>;
    lines.push(
      `lazy grid    ${g.objects} objects of ${g.objectSize}px x ${g.positionsPerAxis}^2 positions = ${g.images} images, ` +
        `${Math.round(g.imagesPerSecond)} images/s`,
    );
  }
  console.log(lines.join('\n'));
  return 0;
}

async function sample(name: string, args: ReturnType<typeof parseArgs>): Promise<number> {
  const out = stringFlag(args, 'out');
  if (!out) throw new UserError('data sample needs --out FILE.png');
  const n = intFlag(args, 'n', 16, { min: 1, max: 400 });
  const split = stringFlag(args, 'split', 'train') as Split;
  if (split !== 'train' && split !== 'test') throw new UserError(`--split must be train or test, found "${split}"`);
  const opts = loadOptions(args, split);
  if (GENERATED.has(name) && opts.size === undefined) opts.size = n;
  const ds = await loadDataset(name, opts);
  const picks = new Rng(opts.seed ?? 0).fork('sample').permutation(ds.size).slice(0, Math.min(n, ds.size));
  const factor = Math.max(1, Math.ceil(96 / Math.max(ds.height, ds.width)));
  const hw = ds.height * ds.width;
  const cells = [];
  for (const i of picks) {
    const img = fromBytes(ds.imageBytes(i).slice(), ds.width, ds.height, ds.channels);
    const withBox = ds.truth.boxes ? drawBox(overlayLabels(img, new Uint8Array(hw)), ds.truth.boxes.subarray(i * 4, i * 4 + 4)) : img;
    cells.push(upscale(withBox, factor));
    if (ds.truth.partMaps)
      cells.push(upscale(overlayLabels(img, ds.truth.partMaps.subarray(i * hw, (i + 1) * hw), { alpha: 0.6 }), factor));
  }
  const cols = ds.truth.partMaps ? 2 * Math.min(4, Math.ceil(Math.sqrt(picks.length))) : Math.ceil(Math.sqrt(picks.length));
  await writePng(out, grid(cells, { cols, pad: 2 }));
  const legend = ds.truth.partNames
    ? ` (left: image, right: ground truth ${ds.truth.partNames.map((p, k) => `${k + 1}=${p}`).join(' ')})`
    : '';
  console.log(`wrote ${out}: ${picks.length} ${name} ${split} images${legend}`);
  return 0;
}

export const command: Command = {
  name: 'data',
  summary: 'describe a dataset or write a grid of samples with ground-truth overlays',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const args = parseArgs(argv, {
      command: 'data',
      values: ['data', 'out', 'n', 'split', 'seed', 'size', 'limit', 'image-size', 'objects', 'classes', 'fit'],
      booleans: ['json', 'crop-to-box'],
    });
    const [verb, name] = args.positional;
    if (!verb || !['describe', 'sample'].includes(verb))
      throw new UserError(`data: expected "describe" or "sample", found ${verb ? `"${verb}"` : 'nothing'}\n\n${USAGE}`);
    if (!name) throw new UserError(`data ${verb}: name a dataset: ${DATASET_NAMES.join(', ')}`);
    if (!(DATASET_NAMES as readonly string[]).includes(name))
      throw new UserError(`data ${verb}: unknown dataset "${name}"; known: ${DATASET_NAMES.join(', ')}`);
    return verb === 'describe' ? describe(name, args) : sample(name, args);
  },
};
