import type { Dataset } from '../../data/dataset';
import { loadDataset } from '../../data/index';
import type { StudyContext } from '../types';
import type { DatasetPlan } from './config';

/** Train and test sets of one plan: Fashion-MNIST subsets per class, or the generated world at the plan's sizes. */
export async function loadData(plan: DatasetPlan, ctx: StudyContext): Promise<{ train: Dataset; test: Dataset }> {
  if (plan.dataset === 'fashion-mnist') {
    const [train, test] = await Promise.all([
      loadDataset('fashion-mnist', { split: 'train', data: ctx.data, limit: plan.trainPerClass, seed: ctx.seed }),
      loadDataset('fashion-mnist', { split: 'test', data: ctx.data, limit: plan.testPerClass, seed: ctx.seed }),
    ]);
    return { train, test };
  }
  const [train, test] = await Promise.all([
    loadDataset(plan.dataset, { split: 'train', size: plan.trainSize, seed: ctx.seed }),
    loadDataset(plan.dataset, { split: 'test', size: plan.testSize, seed: ctx.seed }),
  ]);
  return { train, test };
}
