import { Box, cropResize, hog, hogLength } from '../../analysis/hog';
import type { ProposalSet } from '../../analysis/proposal-flow';
import { lomConfidence } from '../../analysis/proposal-flow';
import { selectiveSearch } from '../../analysis/selective-search';
import { Progress } from '../../util/progress';
import type { Session } from './session';
import { timed } from './session';

/** Selective Search proposals and their whitened HOG descriptors, per test image that any architecture explains. */
export interface ProposalResults {
  /** Test index -> proposals. */
  byImage: Map<number, ProposalSet>;
}

/** The test image's bytes as HWC values 0..255. */
export function imageOf(s: Session, index: number): Uint8Array {
  return s.test.imageBytes(index);
}

/**
 * Proposals of every image in `indices`: Selective Search boxes (one strategy, RGB), each box resized to a
 * window x window crop and described by HOG; descriptors whitened as far as we can without the reference's
 * background statistics: centred by the mean descriptor over all proposals of the run and L2-normalised (Proposal
 * Flow whitens with an LDA background model learnt on natural images, which our world has no counterpart of).
 */
export function computeProposals(s: Session, indices: readonly number[]): ProposalResults {
  return timed(s, 'proposals', () => {
    const { proposals: pc, hog: hc } = s.config;
    const [h, w, c] = s.test.imageShape;
    const dim = hogLength(hc.window, hc.window, { cell: hc.cell });
    const raw = new Map<number, { boxes: Box[]; d: Float32Array }>();
    const bar = new Progress('selective search + HOG', indices.length);
    const mean = new Float64Array(dim);
    let count = 0;
    for (const index of indices) {
      const img = imageOf(s, index);
      const boxes = selectiveSearch(img, h, w, c, s.rng.fork(`proposals/${index}`), {
        k: pc.k,
        sigma: pc.sigma,
        minSize: pc.minSize,
        minSide: pc.minSide,
        max: pc.max,
      });
      const d = new Float32Array(boxes.length * dim);
      boxes.forEach((box, b) => {
        const v = hog(cropResize(img, w, c, box, hc.window, hc.window), hc.window, hc.window, c, { cell: hc.cell });
        d.set(v, b * dim);
        for (let k = 0; k < dim; k++) mean[k] += v[k];
      });
      count += boxes.length;
      raw.set(index, { boxes, d });
      bar.tick();
    }
    bar.finish();
    for (let k = 0; k < dim; k++) mean[k] /= Math.max(1, count);
    const byImage = new Map<number, ProposalSet>();
    for (const [index, { boxes, d }] of raw) {
      for (let b = 0; b < boxes.length; b++) {
        let norm = 0;
        for (let k = 0; k < dim; k++) norm += (d[b * dim + k] -= mean[k]) ** 2;
        norm = Math.sqrt(norm) || 1;
        for (let k = 0; k < dim; k++) d[b * dim + k] /= norm;
      }
      byImage.set(index, { boxes, descriptors: d, dim });
    }
    return { byImage };
  });
}

/** Pairwise similarities between the proposals of two images: [n_a * n_b], larger = more alike. */
export type PairSimilarity = (a: number, b: number) => Float32Array;

/**
 * Proposal Flow LOM confidences between the proposals of every pair of images (image with itself included, as the
 * reference registers every pair i <= j), computed once per unordered pair and cached; (b, a) is the transpose.
 */
export function flowSimilarity(s: Session, props: ProposalResults): { similarity: PairSimilarity; registrations: () => number } {
  const cache = new Map<string, Float32Array>();
  const lom = s.config.lom;
  const similarity = (a: number, b: number): Float32Array => {
    const [i, j] = a <= b ? [a, b] : [b, a];
    const key = `${i}/${j}`;
    let m = cache.get(key);
    if (!m) {
      const t0 = Date.now();
      m = lomConfidence(props.byImage.get(i)!, props.byImage.get(j)!, lom);
      s.seconds.flow = (s.seconds.flow ?? 0) + (Date.now() - t0) / 1000;
      cache.set(key, m);
    }
    if (a <= b) return m;
    const nA = props.byImage.get(a)!.boxes.length;
    const nB = props.byImage.get(b)!.boxes.length;
    const t = new Float32Array(nA * nB);
    for (let p = 0; p < nA; p++) for (let q = 0; q < nB; q++) t[p * nB + q] = m[q * nA + p];
    return t;
  };
  return { similarity, registrations: () => cache.size };
}
