import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset';
import { countParams, ModelConfig, modelName } from '../../models/index';
import { trainCached } from '../../train/cache';
import type { DatasetPlan } from './config';

/** One model of a dataset, trained or loaded from the cache (data/models), with what results.json reports of it. */
export interface TrainedModel {
  /** 'bagnet-q<q>' or the CNN's modelName (e.g. 'vgg-small'): the key of every per-model record in the results. */
  key: string;
  label: string;
  kind: 'bagnet' | 'cnn';
  /** The patch size, BagNets only. */
  q?: number;
  config: ModelConfig;
  epochs: number;
  model: tf.LayersModel;
  params: number;
  trainSeconds: number;
  fromCache: boolean;
}

/** Trains (or loads) BagNet-q for every q of the plan, then its CNNs, in that order. */
export async function trainModels(plan: DatasetPlan, train: Dataset, seed: number): Promise<TrainedModel[]> {
  const specs: Pick<TrainedModel, 'key' | 'label' | 'kind' | 'q' | 'config' | 'epochs'>[] = [
    ...plan.qs.map((q) => ({
      key: `bagnet-q${q}`,
      label: `BagNet-${q}`,
      kind: 'bagnet' as const,
      q,
      config: { family: 'bagnet' as const, q, ...plan.bagnet },
      epochs: plan.epochs,
    })),
    ...plan.cnns.map((c) => ({
      key: modelName(c.config),
      label: c.label,
      kind: 'cnn' as const,
      config: c.config,
      epochs: c.epochs ?? plan.epochs,
    })),
  ];
  const out: TrainedModel[] = [];
  for (const s of specs) {
    const cached = await trainCached({
      config: s.config,
      data: { train },
      train: { epochs: s.epochs, batchSize: plan.batchSize, optimizer: { type: 'adam', lr: plan.lr }, schedule: { type: 'cosine' } },
      seed,
      name: `${plan.dataset}-${modelName(s.config)}`,
      progress: `${plan.dataset} ${s.label}`,
    });
    const trainSeconds = cached.result.history.reduce((a, h) => a + h.seconds, 0);
    out.push({ ...s, model: cached.model, params: countParams(cached.model), trainSeconds, fromCache: cached.fromCache });
    console.log(`${plan.dataset} ${s.label}: ${s.epochs} epochs, ${trainSeconds.toFixed(1)} s${cached.fromCache ? ' (cached)' : ''}`);
  }
  return out;
}
