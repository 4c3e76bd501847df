import { ssim } from 'ssim.js';
import { affinityPropagation, medianOf } from '../../analysis/affinity-propagation';
import { Box, cropResize } from '../../analysis/hog';
import { Rng } from '../../util/rng';
import type { ExplainedImage } from './masks';
import type { PairSimilarity, ProposalResults } from './proposals';
import type { Session } from './session';

/** One region of a summary: a proposal box of a test image, and the ground-truth part it shows. */
export interface Member {
  image: number;
  box: Box;
  /** Dominant part label (0 background, k = partNames[k-1]) inside box ∩ salient regions, and its pixel share. */
  part: number;
  partShare: number;
}

/** A kept cluster: exemplar first, members sorted by similarity to it (one per image). */
export interface Summary {
  members: Member[];
  medianSsim: number;
  /** Share of members showing the summary's most common part, that part, and the chance purity of its size. */
  purity: number;
  part: number;
  chancePurity: number;
}

/** Per architecture and class: how many clusters AP found, the summaries kept after cleaning, the candidates. */
export interface ClassSummaries {
  label: number;
  images: number;
  /** Proposals kept inside the masks (after redundancy pruning), over all images of the class. */
  candidates: number;
  clusters: number;
  summaries: Summary[];
  /** Salient-region mask per explained image (1 = salient), by test index. */
  regionMasks: Map<number, Uint8Array>;
}

/**
 * Connected components (8-connected, as skimage.label) of `binary` [h*w] with at least `minPixels` pixels, as a mask.
 */
export function largeComponents(binary: Uint8Array, h: number, w: number, minPixels: number): Uint8Array {
  const label = new Int32Array(h * w).fill(-1);
  const out = new Uint8Array(h * w);
  const stack = new Int32Array(h * w);
  for (let p0 = 0; p0 < h * w; p0++) {
    if (!binary[p0] || label[p0] >= 0) continue;
    let top = 0;
    let n = 0;
    stack[top++] = p0;
    label[p0] = p0;
    const members: number[] = [];
    while (top) {
      const p = stack[--top];
      members.push(p);
      n++;
      const y = Math.floor(p / w);
      const x = p % w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          const q = yy * w + xx;
          if (binary[q] && label[q] < 0) {
            label[q] = p0;
            stack[top++] = q;
          }
        }
      }
    }
    if (n >= minPixels) for (const p of members) out[p] = 1;
  }
  return out;
}

/** Pixels of `mask` inside box [x0,y0,x1,y1). */
function inside(mask: Uint8Array, w: number, [x0, y0, x1, y1]: Box): number {
  let s = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += mask[y * w + x];
  return s;
}

/** Overlap of two boxes over the smaller box's area (MATLAB bboxOverlapRatio 'Min'). */
function overlapMin(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const area = (x: Box) => (x[2] - x[0]) * (x[3] - x[1]);
  return (iw * ih) / Math.min(area(a), area(b));
}

/**
 * The reference's redundancy pruning (prune_rps_redundant_fn): walk the kept list; the current box and every other
 * box overlapping it by >= sameRegion ('Min' ratio) with an area ratio < scaleFactor are "the same region"; of those,
 * the one with the highest mean of its top `topScores` similarities to the other images' proposals stays, first.
 */
export function pruneRedundant(
  keep: number[],
  boxes: readonly Box[],
  score: (p: number) => number,
  sameRegion: number,
  scaleFactor: number,
): number[] {
  let list = keep.slice();
  const area = (x: Box) => (x[2] - x[0]) * (x[3] - x[1]);
  for (let count = 0; count < list.length; count++) {
    const g1 = list[count];
    const same = [g1];
    const toKeep: number[] = [];
    for (const g2 of list) {
      if (g2 === g1) continue;
      const ratio = Math.max(area(boxes[g1]), area(boxes[g2])) / Math.min(area(boxes[g1]), area(boxes[g2]));
      if (overlapMin(boxes[g1], boxes[g2]) >= sameRegion && ratio < scaleFactor) same.push(g2);
      else toKeep.push(g2);
    }
    let best = same[0];
    for (const g of same) if (score(g) > score(best)) best = g;
    // As the reference: the survivor goes first and the walk continues at position count + 1 of the new list.
    list = [best, ...toKeep];
  }
  return list;
}

/** Mean of the `k` largest values (all of them if fewer). */
function meanTop(values: Float32Array | number[], k: number): number {
  const sorted = Array.from(values)
    .sort((a, b) => b - a)
    .slice(0, k);
  return sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
}

/** SSIM (Wang et al. 2004, ssim.js 'original': 11x11 Gaussian window, sigma 1.5) of two RGB crops of side `side`. */
export function cropSsim(a: Float32Array, b: Float32Array, side: number): number {
  const rgba = (v: Float32Array) => {
    const out = new Uint8ClampedArray(side * side * 4);
    for (let p = 0; p < side * side; p++) {
      for (let c = 0; c < 3; c++) out[p * 4 + c] = Math.round(v[p * 3 + c]);
      out[p * 4 + 3] = 255;
    }
    return { data: out, width: side, height: side };
  };
  return ssim(rgba(a), rgba(b), { ssim: 'original', downsample: false }).mssim;
}

/** The dominant part inside box ∩ mask of image `index`, from the world's part maps. */
function dominantPart(s: Session, index: number, box: Box, mask: Uint8Array): { part: number; share: number } {
  const [h, w] = s.test.imageShape;
  const maps = s.test.truth.partMaps;
  if (!maps) throw new Error(`visual-summaries: ${s.test.name} has no part maps; the study needs a world with ground-truth parts`);
  const counts = new Array<number>((s.test.truth.partNames?.length ?? 0) + 1).fill(0);
  let total = 0;
  for (let y = box[1]; y < box[3]; y++) {
    for (let x = box[0]; x < box[2]; x++) {
      if (!mask[y * w + x]) continue;
      counts[maps[index * h * w + y * w + x]]++;
      total++;
    }
  }
  let part = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k] > counts[part]) part = k;
  return { part, share: total ? counts[part] / total : 0 };
}

/** Purity: share of members with the most common part (ties: the lower label). */
export function purityOf(parts: readonly number[]): { purity: number; part: number } {
  const counts = new Map<number, number>();
  for (const p of parts) counts.set(p, (counts.get(p) ?? 0) + 1);
  let part = -1;
  let best = 0;
  for (const [p, c] of [...counts].sort((a, b) => a[0] - b[0])) if (c > best) [part, best] = [p, c];
  return { purity: parts.length ? best / parts.length : NaN, part };
}

/**
 * The summaries of one class for one architecture (the reference's compute_clusters.m at our scale): salient regions
 * of the crisp masks, proposals inside them, redundancy pruning, the similarity matrix of the kept proposals (every
 * image pair, same-image blocks included), affinity propagation on it shifted to max 0 with preference
 * factor x median, one member per image sorted by similarity to the exemplar (top-k), then SSIM cleaning of clusters
 * and members. Members are cropped at their own boxes (the reference warps them onto the exemplar by the dense flow
 * and an SD filter first; see the notebook).
 */
export function summariseClass(
  s: Session,
  images: readonly ExplainedImage[],
  props: ProposalResults,
  pairSimilarity: PairSimilarity,
  rng: Rng,
): ClassSummaries {
  // Each image pair's matrix is asked for many times below: compute (or transpose) it once per call.
  const pairs = new Map<string, Float32Array>();
  const similarity = (a: number, b: number) => {
    const key = `${a}/${b}`;
    if (!pairs.has(key)) pairs.set(key, pairSimilarity(a, b));
    return pairs.get(key)!;
  };
  const { regions, pruning, clustering, cleaning } = s.config;
  const [h, w, c] = s.test.imageShape;
  const label = images.length ? images[0].label : -1;
  const regionMasks = new Map<number, Uint8Array>();
  const kept: { image: number; proposal: number }[] = [];
  for (const img of images) {
    const binary = new Uint8Array(h * w);
    for (let p = 0; p < h * w; p++) binary[p] = 1 - img.crisp[p] > regions.threshold ? 1 : 0;
    const mask = largeComponents(binary, h, w, Math.ceil(regions.minComponent * h * w));
    regionMasks.set(img.index, mask);
    const boxes = props.byImage.get(img.index)!.boxes;
    const good = boxes.flatMap((b, k) => (inside(mask, w, b) > pruning.inside * (b[2] - b[0]) * (b[3] - b[1]) ? [k] : []));
    if (!good.length) continue;
    const others = images
      .filter((o) => o.index !== img.index)
      .map((o) => ({ sim: similarity(img.index, o.index), n: props.byImage.get(o.index)!.boxes.length }));
    const score = (p: number) =>
      meanTop(
        others.flatMap((o) => Array.from(o.sim.subarray(p * o.n, (p + 1) * o.n))),
        pruning.topScores,
      );
    for (const p of pruneRedundant(good, boxes, score, pruning.sameRegion, pruning.scaleFactor))
      kept.push({ image: img.index, proposal: p });
  }
  const n = kept.length;
  const empty: ClassSummaries = { label, images: images.length, candidates: n, clusters: 0, summaries: [], regionMasks };
  if (n < 2) return empty;
  const S = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const nb = props.byImage.get(kept[b].image)!.boxes.length;
      S[a * n + b] = similarity(kept[a].image, kept[b].image)[kept[a].proposal * nb + kept[b].proposal];
    }
  }
  let max = -Infinity;
  for (const v of S) max = Math.max(max, v);
  for (let k = 0; k < S.length; k++) S[k] -= max;
  const ap = affinityPropagation(S, n, {
    preference: clustering.preferenceFactor * medianOf(S),
    damping: clustering.damping,
    maxIts: clustering.maxIts,
    convIts: clustering.convIts,
    noise: rng.fork('ap-noise'),
  });
  const crops = new Map<string, Float32Array>();
  const cropOf = (m: { image: number; proposal: number }) => {
    const key = `${m.image}/${m.proposal}`;
    if (!crops.has(key))
      crops.set(
        key,
        cropResize(s.test.imageBytes(m.image), w, c, props.byImage.get(m.image)!.boxes[m.proposal], cleaning.crop, cleaning.crop),
      );
    return crops.get(key)!;
  };
  const clusters = ap.exemplars.map((e) => {
    const members = [...Array(n).keys()].filter((k) => ap.assignment[k] === e && (kept[k].image !== kept[e].image || k === e));
    members.sort((x, y) => S[e * n + y] - S[e * n + x]);
    const seen = new Set<number>();
    const one = members.filter((k) => !seen.has(kept[k].image) && (seen.add(kept[k].image), true)).slice(0, cleaning.topK);
    const ss = one.map((x) => one.map((y) => (x === y ? 1 : cropSsim(cropOf(kept[x]), cropOf(kept[y]), cleaning.crop))));
    const off = ss.flatMap((row, i) => row.filter((_, j) => j !== i));
    return { one, ss, median: off.length ? medianOf(off) : NaN };
  });
  const medians = clusters.map((k) => k.median).filter((v) => Number.isFinite(v));
  // The class median of cluster medians; the reference's median() would be NaN with a singleton cluster, so
  // singletons are left out of it (they cannot be summaries anyway: minMembers).
  const classMedian = medians.length ? medianOf(medians) : NaN;
  const summaries: Summary[] = [];
  for (const k of clusters) {
    if (!(k.median >= cleaning.clusterThreshold * classMedian)) continue;
    const ok = k.one.filter((_, i) => k.ss[i].filter((v) => v < classMedian).length / k.one.length < cleaning.memberThreshold);
    if (ok.length < cleaning.minMembers) continue;
    const members = ok.map((x) => {
      const box = props.byImage.get(kept[x].image)!.boxes[kept[x].proposal];
      const d = dominantPart(s, kept[x].image, box, regionMasks.get(kept[x].image)!);
      return { image: kept[x].image, box, part: d.part, partShare: d.share };
    });
    const { purity, part } = purityOf(members.map((m) => m.part));
    summaries.push({ members, medianSsim: k.median, purity, part, chancePurity: NaN });
  }
  // Chance purity: members drawn at random from the candidates, one per image, as many as the summary has.
  const candidateParts = new Map<number, number[]>();
  for (const k of kept) {
    const box = props.byImage.get(k.image)!.boxes[k.proposal];
    candidateParts.set(k.image, [...(candidateParts.get(k.image) ?? []), dominantPart(s, k.image, box, regionMasks.get(k.image)!).part]);
  }
  const imagesWith = [...candidateParts.keys()];
  const chanceRng = rng.fork('chance');
  for (const sm of summaries) {
    const draws = 200;
    let total = 0;
    for (let d = 0; d < draws; d++) {
      const chosen = chanceRng.shuffle(imagesWith.slice()).slice(0, sm.members.length);
      total += purityOf(chosen.map((im) => chanceRng.pick(candidateParts.get(im)!))).purity;
    }
    sm.chancePurity = total / draws;
  }
  return { label, images: images.length, candidates: n, clusters: ap.exemplars.length, summaries, regionMasks };
}
