import * as tf from '@tensorflow/tfjs';
import { CrispMask, MaskStats, maskStats } from '../../explain/crisp-mask';
import type { Selection, Session } from './session';
import { timed } from './session';

/** One explained image: its test index, class, both masks (1 = keep) and the reference statistics of each. */
export interface ExplainedImage {
  index: number;
  label: number;
  /** [h*w] masks on the image grid: smooth (stage 1 as it perturbs) and crisp (stage 2). */
  smooth: Float32Array;
  crisp: Float32Array;
  p0: number;
  pBlur: number;
  smoothStats: MaskStats;
  crispStats: MaskStats;
}

/** Per architecture and class position: the explained images. */
export interface MaskResults {
  images: ExplainedImage[][][];
}

/**
 * Crisp masks of every selected image of every architecture: one optimisation per architecture with all its images
 * in one batch (each image's loss is its own term; see CrispMask).
 */
export function computeMasks(s: Session, sel: Selection): MaskResults {
  return timed(s, 'masks', () => ({
    images: s.architectures.map((a, ai) => {
      const flat = sel.images[ai].flat();
      const targets = flat.map((i) => s.test.labels[i]);
      const x = tf.tidy(() => tf.gather(s.x, flat)) as tf.Tensor4D;
      const r = new CrispMask(a.model).optimise(x, targets, {
        ...s.config.masks,
        batchSize: Math.max(1, flat.length),
        progress: `crisp masks ${a.plan.label}`,
      });
      x.dispose();
      const hw = r.height * r.width;
      let k = 0;
      return sel.images[ai].map((list) =>
        list.map((index) => {
          const j = k++;
          return {
            index,
            label: s.test.labels[index],
            smooth: r.smooth.slice(j * hw, (j + 1) * hw),
            crisp: r.crisp.slice(j * hw, (j + 1) * hw),
            p0: r.p0[j],
            pBlur: r.pBlur[j],
            smoothStats: maskStats(r, j, 'smooth'),
            crispStats: maskStats(r, j, 'crisp'),
          };
        }),
      );
    }),
  }));
}
