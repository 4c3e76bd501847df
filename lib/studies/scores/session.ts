import * as tf from '@tensorflow/tfjs';
import { wilsonInterval } from '../../analysis/intervals';
import type { Dataset } from '../../data/dataset';
import { EngineInfo, initEngine } from '../../engine/index';
import { buildModel, ModelConfig } from '../../models/index';
import type { ModelInput } from '../../models/common';
import { buildProtoPNet, distanceLayer } from '../../models/prototype';
import { argmaxRows, predictLogits } from '../../train/metrics';
import { Progress } from '../../util/progress';
import { Rng } from '../../util/rng';
import { prepare as prepareCrops } from '../country-crops/session';
import { COUNTRY_CROPS_CONFIGS } from '../country-crops/config';
import { signatureMask } from '../../data/synthetic/facade-truth';
import { prepare as prepareSummaries } from '../visual-summaries/session';
import { disposeDataset, loadData as protoPNetData, prepare as prepareProtoPNet } from '../protopnet/session';
import { trainProtoPNet } from '../protopnet/train';
import type { Interval, StudyContext } from '../types';
import { SCORES_CONFIGS, ScoresConfig } from './config';

/** A ProtoPNet's build (lib/models/prototype.ts buildProtoPNet): its backbone's config and its head. */
export interface ProtoPNetBuild {
  family: 'protopnet';
  backbone: ModelConfig;
  channels: number;
  prototypeClasses: number[];
}

/** A model whose explanations are scored, with what its methods need. */
export interface ScoredModel {
  /** e.g. "bagnet-q17", "gap-crop16", "protopnet". */
  key: string;
  label: string;
  /** How it is built: a lib/models config, or a ProtoPNet's backbone and head. */
  config: ModelConfig | ProtoPNetBuild;
  model: tf.LayersModel;
  /** Side of the crops it was trained on (facades crop models: the sliding window's window); null for whole images. */
  crop: number | null;
  /** Top-1 accuracy on the scored images and its Wilson interval. */
  accuracy: number;
  accuracyInterval: Interval;
  fromCache: boolean;
}

/** One world: the scored test images with their discriminative-part masks, and the models trained on it. */
export interface ScoredDataset {
  name: 'parts-birds' | 'facades';
  label: string;
  /** Images [n,H,W,C] in [0,1] (the first `config.images` test images), their labels (the explained classes), bytes. */
  x: tf.Tensor4D;
  labels: number[];
  pixels: Uint8Array;
  height: number;
  width: number;
  channels: number;
  classNames: string[];
  /** Per image [H*W]: 1 on the pixels of its class's discriminative parts. */
  masks: Uint8Array[];
  /** What the masks are, in words. */
  truth: string;
  models: ScoredModel[];
}

export interface ScoresSession {
  ctx: StudyContext;
  config: ScoresConfig;
  engine: EngineInfo;
  rng: Rng;
  datasets: ScoredDataset[];
  seconds: Record<string, number>;
}

/** The first n images of a test set as a tensor, labels and bytes. */
function firstImages(test: Dataset, n: number): Pick<ScoredDataset, 'x' | 'labels' | 'pixels' | 'height' | 'width' | 'channels'> {
  const count = Math.min(n, test.size);
  const idx = Array.from({ length: count }, (_, i) => i);
  const { x, y } = test.batch(idx);
  const labels = Array.from(y.dataSync());
  y.dispose();
  const per = test.height * test.width * test.channels;
  return { x, labels, pixels: test.images.slice(0, count * per), height: test.height, width: test.width, channels: test.channels };
}

/** Top-1 accuracy of a model on the scored images. */
function accuracyOn(model: tf.LayersModel, x: tf.Tensor4D, labels: number[], classes: number): { accuracy: number; interval: Interval } {
  const predicted = argmaxRows(predictLogits(model, x), classes);
  const right = predicted.filter((p, i) => p === labels[i]).length;
  return { accuracy: right / labels.length, interval: wilsonInterval(right, labels.length, 0.95, 'scored images') };
}

/** What the explanation methods may need of a model besides its weights (lib/explain ModelContext). */
export function modelContext(m: ScoredModel): { config?: ModelConfig } {
  return m.config.family === 'protopnet' ? {} : { config: m.config };
}

/** A freshly initialised model of m's architecture (the randomisation cascade's new weights), seeded by rng. */
export function freshModel(m: ScoredModel, input: ModelInput, rng: Rng): tf.LayersModel {
  const c = m.config;
  if (c.family !== 'protopnet') return buildModel(c, input, rng);
  const backbone = buildModel(c.backbone, input, rng.fork('backbone'));
  return buildProtoPNet(backbone, { channels: c.channels, prototypeClasses: c.prototypeClasses }, input, rng.fork('head'));
}

/**
 * The ProtoPNet study's parts-birds model at the same scale, after pruning (its final model), from the run cache: its
 * prepare and loadData make the same requests as the study, so the cache keys match (trained here when absent).
 */
async function protoPNetModel(ctx: StudyContext, base: Pick<ScoredDataset, 'x' | 'labels'>, classes: number): Promise<ScoredModel> {
  const s = await prepareProtoPNet({ ...ctx, data: undefined });
  const data = await protoPNetData(s, 'parts-birds');
  const run = await trainProtoPNet(data);
  run.model.dispose(); // the unpruned model: only the pruned one is scored
  disposeDataset(data);
  const acc = accuracyOn(run.pruned, base.x, base.labels, classes);
  return {
    key: 'protopnet',
    label: 'ProtoPNet',
    config: {
      family: 'protopnet',
      backbone: data.plan.backbone,
      channels: data.plan.channels,
      prototypeClasses: distanceLayer(run.pruned).prototypeClasses,
    },
    model: run.pruned,
    crop: null,
    accuracy: acc.accuracy,
    accuracyInterval: acc.interval,
    fromCache: run.fromCache,
  };
}

/**
 * parts-birds: the visual-summaries study's three architectures (its prepare: same requests, same cache keys) and the
 * ProtoPNet study's model (its images are the same: a parts-birds image depends only on seed, split and index).
 */
async function birds(ctx: StudyContext, config: ScoresConfig): Promise<ScoredDataset> {
  const s = await prepareSummaries({ ...ctx, data: undefined });
  s.x.dispose();
  const base = firstImages(s.test, config.images);
  const { partMaps, partNames, discriminativeParts } = s.test.truth;
  if (!partMaps || !partNames || !discriminativeParts) throw new Error('parts-birds: the test set has no part maps');
  const hw = base.height * base.width;
  const masks = base.labels.map((label, i) => {
    const parts = new Set(discriminativeParts[label].map((p) => partNames.indexOf(p) + 1));
    return Uint8Array.from(partMaps.subarray(i * hw, (i + 1) * hw), (v) => (parts.has(v) ? 1 : 0));
  });
  const models = s.architectures.map((a): ScoredModel => {
    const acc = accuracyOn(a.model, base.x, base.labels, s.test.numClasses);
    return {
      key: a.plan.key,
      label: a.plan.label,
      config: a.plan.config,
      model: a.model,
      crop: null,
      accuracy: acc.accuracy,
      accuracyInterval: acc.interval,
      fromCache: a.fromCache,
    };
  });
  models.push(await protoPNetModel(ctx, base, s.test.numClasses));
  return {
    name: 'parts-birds',
    label: 'parts-birds (64 px)',
    ...base,
    classNames: s.test.classNames,
    masks,
    truth: "the pixels of the parts the class fixes (the world's discriminativeParts)",
    models,
  };
}

/** facades: the country-crops study's smallest crop model and its whole-image model (its prepare, same cache keys). */
async function facades(ctx: StudyContext, config: ScoresConfig): Promise<ScoredDataset> {
  const crops = COUNTRY_CROPS_CONFIGS[ctx.scale];
  const s = await prepareCrops({ ...ctx, data: undefined }, { ...crops, crops: [crops.galleryCrop] });
  s.x.dispose();
  for (const m of s.models) if (m.cropModel !== m.model) m.cropModel.dispose();
  const base = firstImages(s.test, config.images);
  const bar = new Progress('scores: facades cue masks', base.labels.length);
  const masks = base.labels.map((_, i) => {
    bar.tick();
    return signatureMask(s.truth!, i);
  });
  bar.finish();
  const models = s.models.map((m): ScoredModel => {
    const acc = accuracyOn(m.model, base.x, base.labels, s.test.numClasses);
    return {
      key: m.whole ? 'gap-whole' : `gap-crop${m.crop}`,
      label: m.whole ? 'GAP CNN (whole images)' : `GAP CNN (${m.crop} px crops)`,
      config: crops.model,
      model: m.model,
      crop: m.whole ? null : m.crop,
      accuracy: acc.accuracy,
      accuracyInterval: acc.interval,
      fromCache: m.fromCache,
    };
  });
  return {
    name: 'facades',
    label: 'facades (64 px)',
    ...base,
    classNames: s.test.classNames,
    masks,
    truth: "the pixels that show one of the class's signature cue values (lib/data/synthetic/facade-truth.ts signatureMask)",
    models,
  };
}

/** Starts the study: engine, the two worlds' scored images and masks, their models trained or loaded from the cache. */
export async function prepare(ctx: StudyContext, config: ScoresConfig = SCORES_CONFIGS[ctx.scale]): Promise<ScoresSession> {
  const engine = await initEngine();
  const seconds: Record<string, number> = {};
  const t0 = Date.now();
  const datasets = [await birds(ctx, config), await facades(ctx, config)];
  seconds.models = (Date.now() - t0) / 1000;
  return { ctx, config, engine, rng: new Rng(ctx.seed), datasets, seconds };
}

/** Runs one step, recording its wall time as s.seconds[name]. */
export function timed<T>(s: ScoresSession, name: string, step: () => T): T {
  const t0 = Date.now();
  const out = step();
  s.seconds[name] = (s.seconds[name] ?? 0) + (Date.now() - t0) / 1000;
  return out;
}

/** Frees the images and the models. */
export function dispose(s: ScoresSession): void {
  for (const d of s.datasets) {
    d.x.dispose();
    for (const m of d.models) m.model.dispose();
  }
}
