import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../../data/dataset';
import { countParams, ModelConfig, modelName, receptiveField } from '../../models/index';
import { EngineBuild, trainCached } from '../../train/cache';
import type { DatasetPlan } from './config';

/** One model of a dataset, trained or loaded from the cache (data/models), with what results.json reports of it. */
export interface TrainedModel {
  /** 'bagnet-q<q>' or the CNN's modelName (e.g. 'vgg-custom'): the key of every per-model record in the results. */
  key: string;
  label: string;
  kind: 'bagnet' | 'cnn';
  /** The patch size, BagNets only. */
  q?: number;
  config: ModelConfig;
  epochs: number;
  /** Adam learning rate (cosine schedule), chosen per model on the validation split (config LEARNING_RATES). */
  lr: number;
  model: tf.LayersModel;
  params: number;
  /**
   * Receptive field (px) of the last spatial layer: q for a BagNet ("patch_logits"), the "features" layer of a CNN.
   * A CNN sees the whole image when it is at least the image side.
   */
  receptiveField: number;
  /** Validation accuracy after every epoch. */
  valCurve: number[];
  /** Validation accuracy gained over the last quarter of the epochs (plateau: at most CLAIM_RULES.plateauGain). */
  plateauGain: number;
  trainSeconds: number;
  fromCache: boolean;
  /** The engine that trained it. */
  engine: EngineBuild;
}

/** The validation accuracy gained from epoch ceil(3E/4) to the last (0 for a single epoch). */
export function plateauGain(valCurve: readonly number[]): number {
  const e = valCurve.length;
  if (e < 2) return 0;
  const from = Math.min(e - 2, Math.ceil((3 * e) / 4) - 1);
  return valCurve[e - 1] - valCurve[from];
}

/** The receptive field of a model's last spatial layer (BagNets: "patch_logits"; CNNs: "features"). */
export function modelReceptiveField(model: tf.LayersModel, kind: TrainedModel['kind']): number {
  return receptiveField(model, kind === 'bagnet' ? 'patch_logits' : 'features').y.size;
}

/**
 * Trains (or loads) BagNet-q for every q of the plan, then its CNNs, all on the same budget (plan.epochs, batch and
 * schedule), each at its learning rate (plan.bagnetLr, cnns[].lr).
 */
export async function trainModels(plan: DatasetPlan, data: { train: Dataset; val: Dataset }, seed: number): Promise<TrainedModel[]> {
  const specs: Pick<TrainedModel, 'key' | 'label' | 'kind' | 'q' | 'config' | 'lr'>[] = [
    ...plan.qs.map((q) => ({
      key: `bagnet-q${q}`,
      label: `BagNet-${q}`,
      kind: 'bagnet' as const,
      q,
      config: { family: 'bagnet' as const, q, ...plan.bagnet },
      lr: plan.bagnetLr,
    })),
    ...plan.cnns.map((c) => ({ key: modelName(c.config), label: c.label, kind: 'cnn' as const, config: c.config, lr: c.lr })),
  ];
  const out: TrainedModel[] = [];
  for (const s of specs) {
    const cached = await trainCached({
      config: s.config,
      data,
      train: {
        epochs: plan.epochs,
        batchSize: plan.batchSize,
        optimizer: { type: 'adam', lr: s.lr },
        schedule: { type: 'cosine' },
      },
      seed,
      name: `${plan.dataset}-${modelName(s.config)}`,
      progress: `${plan.dataset} ${s.label}`,
    });
    const history = cached.result.history;
    const trainSeconds = history.reduce((a, h) => a + h.seconds, 0);
    const valCurve = history.map((h) => h.valAccuracy ?? NaN);
    out.push({
      ...s,
      epochs: plan.epochs,
      model: cached.model,
      params: countParams(cached.model),
      receptiveField: modelReceptiveField(cached.model, s.kind),
      valCurve,
      plateauGain: plateauGain(valCurve),
      trainSeconds,
      fromCache: cached.fromCache,
      engine: cached.engine,
    });
    const val = valCurve[valCurve.length - 1];
    console.log(
      `${plan.dataset} ${s.label}: ${plan.epochs} epochs, val ${(100 * val).toFixed(1)}%, ` +
        `${trainSeconds.toFixed(1)} s${cached.fromCache ? ' (cached)' : ''}`,
    );
  }
  return out;
}
