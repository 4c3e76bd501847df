import * as tf from '@tensorflow/tfjs';
import { extractFeatures } from '../../models/features';
import type { Architecture, Session } from './session';
import type { PairSimilarity, ProposalResults } from './proposals';

/**
 * The cheaper similarity of the ablation: the cosine of CNN features of two proposals minus `positionWeight` times
 * the distance of their box centres (as fractions of the image side). A proposal's features are the architecture's
 * "features" map averaged over the cells whose centres fall in its box (RoI average pooling: one forward pass per
 * image instead of one per crop); a box holding no cell centre takes the cell nearest its centre.
 */
export function featureSimilarity(s: Session, arch: Architecture, props: ProposalResults, indices: readonly number[]): PairSimilarity {
  const [H, W] = s.test.imageShape;
  const x = tf.tidy(() => tf.gather(s.x, indices as number[])) as tf.Tensor4D;
  const f = extractFeatures(arch.model, ['features'], x).features;
  x.dispose();
  const [, fh, fw, d] = f.shape as number[];
  const values = f.dataSync() as Float32Array;
  f.dispose();
  const byImage = new Map<number, { feats: Float32Array; cx: Float32Array; cy: Float32Array; n: number }>();
  indices.forEach((index, b) => {
    const boxes = props.byImage.get(index)!.boxes;
    const feats = new Float32Array(boxes.length * d);
    const cx = new Float32Array(boxes.length);
    const cy = new Float32Array(boxes.length);
    boxes.forEach(([x0, y0, x1, y1], p) => {
      cx[p] = (x0 + x1) / 2 / W;
      cy[p] = (y0 + y1) / 2 / H;
      const cells: number[] = [];
      for (let i = 0; i < fh; i++) {
        const yc = ((i + 0.5) * H) / fh;
        if (yc < y0 || yc >= y1) continue;
        for (let j = 0; j < fw; j++) {
          const xc = ((j + 0.5) * W) / fw;
          if (xc >= x0 && xc < x1) cells.push(i * fw + j);
        }
      }
      if (!cells.length) cells.push(Math.min(fh - 1, Math.floor(cy[p] * fh)) * fw + Math.min(fw - 1, Math.floor(cx[p] * fw)));
      let norm = 0;
      for (let k = 0; k < d; k++) {
        let v = 0;
        for (const cell of cells) v += values[(b * fh * fw + cell) * d + k];
        feats[p * d + k] = v / cells.length;
        norm += feats[p * d + k] ** 2;
      }
      norm = Math.sqrt(norm) || 1;
      for (let k = 0; k < d; k++) feats[p * d + k] /= norm;
    });
    byImage.set(index, { feats, cx, cy, n: boxes.length });
  });
  const weight = s.config.ablation.positionWeight;
  return (a, b) => {
    const A = byImage.get(a)!;
    const B = byImage.get(b)!;
    const out = new Float32Array(A.n * B.n);
    for (let p = 0; p < A.n; p++) {
      for (let q = 0; q < B.n; q++) {
        let dot = 0;
        for (let k = 0; k < d; k++) dot += A.feats[p * d + k] * B.feats[q * d + k];
        out[p * B.n + q] = dot - weight * Math.hypot(A.cx[p] - B.cx[q], A.cy[p] - B.cy[q]);
      }
    }
    return out;
  };
}
