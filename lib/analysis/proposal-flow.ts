import type { Box } from './hog';

/**
 * Proposal Flow (Ham, Cho, Schmid & Ponce, CVPR 2016), its local offset matching (LOM) as in the authors' LOM.m:
 * the confidence that proposal i of image A matches proposal j of image B is the appearance vote max(0, <d_i, d_j>),
 * zero where the aspect ratios differ by 2x or more (bDeleteByAspect), times a geometric consistency
 * exp(-alpha |offset_xy(i,j) - m_i| - beta |offset_s(i,j) - m_s|), where m_i is the median offset of the best matches
 * of the proposals overlapping i (its neighbourhood in A, i included), times sum(local best votes) / sum(all best
 * votes). As in LOM.m: offsets are A's centre minus B's, the scale offset is the area ratio A/B, the "geometric
 * median" is 20 Weiszfeld steps from (1, 1, 1) taken per coordinate, and rows are updated in place in order (a later
 * row's neighbourhood sees the earlier rows already re-weighted).
 */

/** Proposals of one image: boxes [x0, y0, x1, y1) and one descriptor per box ([n * dim], row-major). */
export interface ProposalSet {
  boxes: readonly Box[];
  descriptors: Float32Array;
  dim: number;
}

export interface LomOptions {
  /** Zero the votes of pairs whose aspect ratios differ by `aspectThreshold` or more (default true, 2.0). */
  deleteByAspect?: boolean;
  aspectThreshold?: number;
  /** alpha: weight of the centre offset deviation per pixel (LOM.m: 0.05). */
  offsetRate?: number;
  /** beta: weight of the scale offset deviation (LOM.m: 0.3). */
  scaleRate?: number;
  /** Pixel offsets are multiplied by this before alpha (e.g. 224/64 to express offsets at the reference image size). */
  offsetScale?: number;
  /** Weiszfeld steps of the median (LOM.m: 20). */
  medianIterations?: number;
}

const EPS = 2.220446049250313e-16; // MATLAB eps

interface Frames {
  cx: Float64Array;
  cy: Float64Array;
  area: Float64Array;
  aspect: Float64Array;
}

function frames(boxes: readonly Box[]): Frames {
  const n = boxes.length;
  const f = { cx: new Float64Array(n), cy: new Float64Array(n), area: new Float64Array(n), aspect: new Float64Array(n) };
  boxes.forEach(([x0, y0, x1, y1], i) => {
    f.cx[i] = (x0 + x1) / 2;
    f.cy[i] = (y0 + y1) / 2;
    f.area[i] = (x1 - x0) * (y1 - y0);
    f.aspect[i] = (x1 - x0) / (y1 - y0);
  });
  return f;
}

function check(A: ProposalSet, B: ProposalSet): void {
  for (const [name, s] of [
    ['A', A],
    ['B', B],
  ] as const) {
    if (s.descriptors.length !== s.boxes.length * s.dim)
      throw new Error(
        `proposal flow: image ${name} has ${s.boxes.length} boxes of dimension ${s.dim} but ${s.descriptors.length} descriptor values`,
      );
  }
  if (A.dim !== B.dim) throw new Error(`proposal flow: descriptor dimensions differ (${A.dim} vs ${B.dim})`);
}

/** Whether boxes a and b share any area (IoU > 0). */
export function overlaps(a: Box, b: Box): boolean {
  return Math.min(a[2], b[2]) > Math.max(a[0], b[0]) && Math.min(a[3], b[3]) > Math.max(a[1], b[1]);
}

/** The appearance votes, aspect-filtered: [nA * nB]. */
function votes(A: ProposalSet, B: ProposalSet, fa: Frames, fb: Frames, deleteByAspect: boolean, thr: number): Float64Array {
  const nA = A.boxes.length;
  const nB = B.boxes.length;
  const d = A.dim;
  const out = new Float64Array(nA * nB);
  for (let i = 0; i < nA; i++) {
    for (let j = 0; j < nB; j++) {
      if (deleteByAspect) {
        const r = fb.aspect[j] / fa.aspect[i];
        if (!(r < thr && r > 1 / thr)) continue;
      }
      let s = 0;
      for (let k = 0; k < d; k++) s += A.descriptors[i * d + k] * B.descriptors[j * d + k];
      out[i * nB + j] = Math.max(0, s);
    }
  }
  return out;
}

/** Per-coordinate Weiszfeld median of `count` offsets (LOM.m's loop), from (1, 1, 1). */
function offsetMedian(ox: Float64Array, oy: Float64Array, os: Float64Array, count: number, iterations: number, out: Float64Array): void {
  out[0] = out[1] = out[2] = 1;
  const cols = [ox, oy, os];
  for (let it = 0; it < iterations; it++) {
    for (let d = 0; d < 3; d++) {
      let num = 0;
      let den = 0;
      for (let k = 0; k < count; k++) {
        const dist = Math.abs(cols[d][k] - out[d]) + EPS;
        num += cols[d][k] / dist;
        den += 1 / dist;
      }
      out[d] = num / den;
    }
  }
}

/**
 * LOM confidences [nA * nB] (row i: proposal i of A). Fast form: neighbourhoods precomputed, each row's best vote
 * and its sum kept up to date as rows change, so a row costs O(|neighbourhood| + nB) instead of O(nA * nB).
 */
export function lomConfidence(A: ProposalSet, B: ProposalSet, opts: LomOptions = {}): Float32Array {
  check(A, B);
  const { deleteByAspect = true, aspectThreshold = 2, offsetRate = 0.05, scaleRate = 0.3, offsetScale = 1, medianIterations = 20 } = opts;
  const nA = A.boxes.length;
  const nB = B.boxes.length;
  if (!nA || !nB) return new Float32Array(nA * nB);
  const fa = frames(A.boxes);
  const fb = frames(B.boxes);
  const conf = votes(A, B, fa, fb, deleteByAspect, aspectThreshold);
  const rowMax = new Float64Array(nA);
  const rowArg = new Int32Array(nA);
  const updateRow = (i: number) => {
    let m = -Infinity;
    let arg = 0;
    for (let j = 0; j < nB; j++) if (conf[i * nB + j] > m) [m, arg] = [conf[i * nB + j], j];
    rowMax[i] = m;
    rowArg[i] = arg;
  };
  for (let i = 0; i < nA; i++) updateRow(i);
  const neighbours: Int32Array[] = A.boxes.map((bi) => Int32Array.from(A.boxes.flatMap((bj, j) => (overlaps(bi, bj) ? [j] : []))));
  const ox = new Float64Array(nA);
  const oy = new Float64Array(nA);
  const os = new Float64Array(nA);
  const med = new Float64Array(3);
  for (let i = 0; i < nA; i++) {
    const nb = neighbours[i];
    let local = 0;
    for (let k = 0; k < nb.length; k++) {
      const j = nb[k];
      const m = rowArg[j];
      local += rowMax[j];
      ox[k] = (fa.cx[j] - fb.cx[m]) * offsetScale;
      oy[k] = (fa.cy[j] - fb.cy[m]) * offsetScale;
      os[k] = fa.area[j] / fb.area[m];
    }
    let global = 0;
    for (let r = 0; r < nA; r++) global += rowMax[r];
    offsetMedian(ox, oy, os, nb.length, medianIterations, med);
    const ratio = global > 0 ? local / global : 0;
    for (let j = 0; j < nB; j++) {
      const dx = (fa.cx[i] - fb.cx[j]) * offsetScale - med[0];
      const dy = (fa.cy[i] - fb.cy[j]) * offsetScale - med[1];
      const ds = fa.area[i] / fb.area[j] - med[2];
      conf[i * nB + j] *= Math.exp(-offsetRate * Math.sqrt(dx * dx + dy * dy) - scaleRate * Math.abs(ds)) * ratio;
    }
    updateRow(i);
  }
  return Float32Array.from(conf);
}

/**
 * LOM written literally after LOM.m (the twin): full offset matrices, the neighbourhood from the IoU matrix, every
 * row's best match and the global best votes recomputed for every row, the median loop as written there.
 */
export function lomConfidenceLiteral(A: ProposalSet, B: ProposalSet, opts: LomOptions = {}): Float32Array {
  check(A, B);
  const { deleteByAspect = true, aspectThreshold = 2, offsetRate = 0.05, scaleRate = 0.3, offsetScale = 1, medianIterations = 20 } = opts;
  const nA = A.boxes.length;
  const nB = B.boxes.length;
  const fa = frames(A.boxes);
  const fb = frames(B.boxes);
  const v = votes(A, B, fa, fb, deleteByAspect, aspectThreshold);
  const conf = Array.from({ length: nA }, (_, i) => Array.from({ length: nB }, (_, j) => v[i * nB + j]));
  const offX = conf.map((row, i) => row.map((_, j) => (fa.cx[i] - fb.cx[j]) * offsetScale));
  const offY = conf.map((row, i) => row.map((_, j) => (fa.cy[i] - fb.cy[j]) * offsetScale));
  const offS = conf.map((row, i) => row.map((_, j) => fa.area[i] / fb.area[j]));
  const iou = A.boxes.map((a) => A.boxes.map((b) => overlaps(a, b)));
  const argmax = (row: number[]) => row.reduce((best, x, j) => (x > row[best] ? j : best), 0);
  for (let i = 0; i < nA; i++) {
    const hood = iou[i].flatMap((o, j) => (o ? [j] : []));
    const matchingConf = hood.map((j) => Math.max(...conf[j]));
    const matchingIdx = hood.map((j) => argmax(conf[j]));
    const globalConf = conf.map((row) => Math.max(...row));
    const local = [
      hood.map((j, k) => offX[j][matchingIdx[k]]),
      hood.map((j, k) => offY[j][matchingIdx[k]]),
      hood.map((j, k) => offS[j][matchingIdx[k]]),
    ];
    let median = [1, 1, 1];
    for (let it = 0; it < medianIterations; it++) {
      median = local.map((vals, d) => {
        const dist = vals.map((x) => Math.sqrt((x - median[d]) ** 2) + EPS);
        return vals.reduce((s, x, k) => s + x / dist[k], 0) / dist.reduce((s, dd) => s + 1 / dd, 0);
      });
    }
    const sumLocal = matchingConf.reduce((a, b) => a + b, 0);
    const sumGlobal = globalConf.reduce((a, b) => a + b, 0);
    for (let j = 0; j < nB; j++) {
      const xy = Math.sqrt((offX[i][j] - median[0]) ** 2 + (offY[i][j] - median[1]) ** 2);
      const affinity = Math.exp(-offsetRate * xy - scaleRate * Math.abs(offS[i][j] - median[2]));
      conf[i][j] = conf[i][j] * affinity * (sumGlobal > 0 ? sumLocal / sumGlobal : 0);
    }
  }
  return Float32Array.from(conf.flat());
}
