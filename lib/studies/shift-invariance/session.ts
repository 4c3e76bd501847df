import * as tf from '@tensorflow/tfjs';
import { Dataset, Split } from '../../data/dataset';
import { loadDataset } from '../../data/index';
import { ShiftBackground, ShiftedObjects, shiftedObjects } from '../../data/synthetic/shifted';
import { EngineInfo, initEngine } from '../../engine/index';
import { Antialias, countParams, modelName, receptiveFields } from '../../models/index';
import { trainCached } from '../../train/cache';
import { evaluate } from '../../train/metrics';
import { Rng } from '../../util/rng';
import type { StudyContext } from '../types';
import { SHIFT_CONFIGS, ShiftArchitecture, ShiftStudyConfig } from './config';

/** The study's state: context, the scale's config, the engine and the seeded generator. */
export interface ShiftSession {
  ctx: StudyContext;
  config: ShiftStudyConfig;
  engine: EngineInfo;
  rng: Rng;
}

/** One trained model: an architecture with one anti-aliasing filter, trained from one seed. */
export interface ShiftModel {
  /** '<arch>-<filter>-s<seed>', e.g. 'vgg-bin-5-s0'. */
  key: string;
  /** '<arch>-<filter>': the variant, shared by the seeds of one model (the claims and tables group by it). */
  variant: string;
  label: string;
  arch: ShiftArchitecture;
  antialias: Antialias;
  seed: number;
  model: tf.LayersModel;
  /** Network stride: input pixels between neighbouring units of the last spatial map ("features"). */
  stride: number;
  params: number;
  heldOutAccuracy: number;
  /** Validation accuracy after every epoch (the plateau), on `ShiftWorld.val`. */
  valCurve: number[];
  trainSeconds: number;
  fromCache: boolean;
}

/** Data and trained models: every step takes this. `disposeWorld` frees the models. */
export interface ShiftWorld {
  session: ShiftSession;
  /** Training images: the training objects (config.source) pasted at random positions, sizes and backgrounds. */
  train: Dataset;
  /** Validation images: other objects pasted the same way (the plateau is read on them). */
  val: Dataset;
  /** Held-out images pasted the same way (other objects again: test items or shapes of another seed). */
  heldOut: Dataset;
  /** The objects that the exhaustive shifts paste (round robin over the classes). */
  items: ObjectSource;
  models: ShiftModel[];
  seconds: Record<string, number>;
}

/** Starts the study: engine, config of ctx.scale, generator seeded by ctx.seed. Trains nothing. */
export async function prepare(ctx: StudyContext): Promise<ShiftSession> {
  const engine = await initEngine();
  return { ctx, config: SHIFT_CONFIGS[ctx.scale], engine, rng: new Rng(ctx.seed) };
}

/**
 * Where the pasted objects come from: Fashion-MNIST items (a Dataset, each item one object), or `shapes` synthetic
 * shapes (lib/data/synthetic/shifted: shape k % 10 is class k % 10, colour and stripes drawn from `seed`, so another
 * seed gives other objects of the same classes).
 */
export type ObjectSource = Dataset | { shapes: number; seed: number; split: Split };

/** The number of objects a source holds. */
export function sourceSize(source: ObjectSource): number {
  return source instanceof Dataset ? source.size : source.shapes;
}

/**
 * The generator of the first `objects` objects of a source at one size and background; `seed` draws the noise
 * backgrounds of a Dataset's objects (a shape source uses its own seed for both).
 */
export function objectGenerator(
  source: ObjectSource,
  objects: number,
  canvas: number,
  objectSize: number,
  background: ShiftBackground,
  seed: number,
): ShiftedObjects {
  return source instanceof Dataset
    ? shiftedObjects({ source, objects, canvas, objectSize, background, seed })
    : shiftedObjects({ source: 'shapes', objects, canvas, objectSize, background, seed: source.seed });
}

/**
 * Every object of `source` pasted onto the canvas once per (size, background), each at a position drawn uniformly
 * from the grid (the random-translation augmentation: every object position is seen in training). Labels are the
 * objects' classes.
 */
export function pastedSet(
  source: ObjectSource,
  canvas: number,
  sizes: number[],
  backgrounds: ShiftBackground[],
  seed: number,
  rng: Rng,
): Dataset {
  const parts: Dataset[] = [];
  const n = sourceSize(source);
  const split = source.split;
  for (const objectSize of sizes) {
    for (const background of backgrounds) {
      const gen = objectGenerator(source, n, canvas, objectSize, background, seed);
      parts.push(gen.sample(n, rng.fork(`${objectSize}-${background}`), { split, classNames: gen.classNames }));
    }
  }
  const per = canvas * canvas * 3;
  const total = parts.reduce((a, p) => a + p.size, 0);
  const images = new Uint8Array(total * per);
  const labels = new Int32Array(total);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * per);
    labels.set(p.labels, at);
    at += p.size;
  }
  return new Dataset({
    name: source instanceof Dataset ? `pasted-${source.name}` : 'pasted-shapes',
    split,
    images,
    labels,
    height: canvas,
    width: canvas,
    channels: 3,
    classNames: parts[0].classNames,
  });
}

/**
 * The four object sets of a run, disjoint: training, validation (the plateau), held-out (accuracy) and the objects the
 * exhaustive shifts paste. Fashion-MNIST: train items split per class into training and validation, test items for the
 * other two. Shapes: four seeds drawn from `rng`, `perClass` shapes per class for training, and so on.
 */
async function objectSets(
  session: ShiftSession,
): Promise<{ trainItems: ObjectSource; valItems: ObjectSource; heldOutItems: ObjectSource; items: ObjectSource }> {
  const { ctx, config: cfg, rng } = session;
  const { perClass, valPerClass } = cfg.train;
  const objectsPerClass = Math.ceil(cfg.objects / 10);
  if (cfg.source === 'shapes') {
    const shapes = (what: string, n: number, split: Split) => ({ shapes: n, seed: rng.fork(`shapes-${what}`).seed(), split });
    return {
      trainItems: shapes('train', perClass * 10, 'train'),
      valItems: shapes('val', valPerClass * 10, 'train'),
      heldOutItems: shapes('held-out', cfg.heldOutPerClass * 10, 'test'),
      items: shapes('objects', objectsPerClass * 10, 'test'),
    };
  }
  const fm = (split: 'train' | 'test', limit: number) => loadDataset('fashion-mnist', { split, data: ctx.data, limit, seed: ctx.seed });
  const [trainSplit, testItems] = await Promise.all([
    fm('train', perClass + valPerClass),
    fm('test', Math.max(cfg.heldOutPerClass, objectsPerClass)),
  ]);
  const { trainItems, valItems } = splitPerClass(trainSplit, perClass);
  return {
    trainItems,
    valItems,
    heldOutItems: testItems.perClassSubset(cfg.heldOutPerClass, rng.fork('held-out')),
    items: testItems.perClassSubset(objectsPerClass, rng.fork('objects')),
  };
}

/** Loads the data and trains (or loads from the model cache) every architecture x filter x seed, all alike. */
export async function load(session: ShiftSession): Promise<ShiftWorld> {
  const { ctx, config: cfg } = session;
  const seconds: Record<string, number> = {};
  let t0 = Date.now();
  const { sizes, backgrounds } = cfg.train;
  const { trainItems, valItems, heldOutItems, items } = await objectSets(session);
  const paste = (source: ObjectSource, what: string) => pastedSet(source, cfg.canvas, sizes, backgrounds, ctx.seed, session.rng.fork(what));
  const train = paste(trainItems, 'train-positions');
  const val = paste(valItems, 'val-positions');
  const heldOut = paste(heldOutItems, 'held-out-positions');
  seconds.data = (Date.now() - t0) / 1000;
  t0 = Date.now();
  const models: ShiftModel[] = [];
  for (let s = 0; s < cfg.seeds; s++) {
    for (const arch of cfg.architectures) {
      for (const antialias of cfg.filters) {
        const config = { ...arch.config, antialias };
        const variant = `${arch.key}-${antialias}`;
        const label = `${arch.label.split(' (')[0]}${antialias === 'none' ? '' : ` AA ${antialias}`}`;
        const cached = await trainCached({
          config,
          data: { train, val },
          train: {
            epochs: cfg.train.epochs,
            batchSize: cfg.train.batchSize,
            optimizer: { type: 'adam', lr: cfg.train.lr },
            schedule: { type: 'cosine' },
          },
          seed: ctx.seed + s,
          name: `shift-${modelName(config)}`,
          progress: `shift-invariance ${label} (seed ${ctx.seed + s})`,
        });
        const features = receptiveFields(cached.model).find((l) => l.name === 'features');
        if (!features)
          throw new Error(`shift-invariance: ${variant} has no layer "features"; every model builder names its last spatial map so`);
        models.push({
          key: `${variant}-s${s}`,
          variant,
          label,
          arch,
          antialias,
          seed: ctx.seed + s,
          model: cached.model,
          stride: features.x.jump,
          params: countParams(cached.model),
          heldOutAccuracy: evaluate(cached.model, heldOut, { batchSize: cfg.batchSize }).accuracy,
          valCurve: cached.result.history.map((h) => h.valAccuracy ?? NaN),
          trainSeconds: cached.result.history.reduce((a, h) => a + h.seconds, 0),
          fromCache: cached.fromCache,
        });
      }
    }
  }
  seconds.training = (Date.now() - t0) / 1000;
  return { session, train, val, heldOut, items, models, seconds };
}

/**
 * Splits items into the first `perClass` of every class (training) and the rest (validation), in dataset order.
 * Throws when a class has no item left for validation.
 */
export function splitPerClass(items: Dataset, perClass: number): { trainItems: Dataset; valItems: Dataset } {
  const seen = new Array<number>(items.numClasses).fill(0);
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < items.size; i++) (seen[items.labels[i]]++ < perClass ? train : val).push(i);
  const short = seen.findIndex((n) => n <= perClass);
  if (short >= 0) {
    throw new Error(
      `shift-invariance: class "${items.classNames[short]}" has ${seen[short]} items, expected more than the ${perClass} for training; ` +
        'lower train.perClass or check the dataset',
    );
  }
  return { trainItems: items.subset(train), valItems: items.subset(val) };
}

/** The variants (architecture x filter) in config order, each with its models (one per seed). */
export function variants(
  world: ShiftWorld,
): { variant: string; label: string; arch: ShiftArchitecture; antialias: Antialias; stride: number; models: ShiftModel[] }[] {
  const out = new Map<string, ShiftModel[]>();
  for (const m of world.models) out.set(m.variant, [...(out.get(m.variant) ?? []), m]);
  return [...out.entries()].map(([variant, ms]) => ({
    variant,
    label: ms[0].label,
    arch: ms[0].arch,
    antialias: ms[0].antialias,
    stride: ms[0].stride,
    models: ms,
  }));
}

/** Frees the models. */
export function disposeWorld(world: ShiftWorld): void {
  for (const m of world.models) m.model.dispose();
}

/** Runs one step, recording its wall time as world.seconds[name]. */
export async function timed<T>(world: ShiftWorld, name: string, step: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await step();
  world.seconds[name] = (Date.now() - t0) / 1000;
  return out;
}
