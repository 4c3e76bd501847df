/**
 * Learning-rate schedules, as a pure function of progress:
 * - constant;
 * - step: lr * gamma^floor(epoch / stepEpochs) (He et al. 2016; the ImageNet recipe is stepEpochs 30, gamma 0.1);
 * - cosine: per iteration, minLr + (lr - minLr) (1 + cos(pi t)) / 2 with t the fraction of training done
 *   (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts);
 * each with an optional linear warm-up over the first `warmupEpochs`.
 */
export type ScheduleConfig =
  | { type: 'constant'; warmupEpochs?: number }
  | { type: 'step'; stepEpochs: number; gamma?: number; warmupEpochs?: number }
  | { type: 'cosine'; minLr?: number; warmupEpochs?: number };

export function learningRate(
  base: number,
  schedule: ScheduleConfig,
  epoch: number,
  batch: number,
  batchesPerEpoch: number,
  totalEpochs: number,
): number {
  const progress = epoch + batch / Math.max(1, batchesPerEpoch);
  const warm = schedule.warmupEpochs ?? 0;
  const warmFactor = warm > 0 && progress < warm ? (progress + 1 / Math.max(1, batchesPerEpoch)) / warm : 1;
  let lr: number;
  switch (schedule.type) {
    case 'constant':
      lr = base;
      break;
    case 'step':
      lr = base * Math.pow(schedule.gamma ?? 0.1, Math.floor(epoch / schedule.stepEpochs));
      break;
    case 'cosine': {
      const min = schedule.minLr ?? 0;
      const t = Math.min(1, progress / Math.max(1e-9, totalEpochs));
      lr = min + ((base - min) * (1 + Math.cos(Math.PI * t))) / 2;
      break;
    }
    default:
      throw new Error(`unknown schedule ${(schedule as { type: string }).type}; expected constant, step or cosine`);
  }
  return lr * Math.min(1, warmFactor);
}
