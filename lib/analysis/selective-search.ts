import type { Rng } from '../util/rng';
import type { Box } from './hog';

/**
 * Selective Search (Uijlings, van de Sande, Gevers & Smeulders, IJCV 2013) in TypeScript on typed arrays: an initial
 * over-segmentation by Felzenszwalb & Huttenlocher's graph method (IJCV 2004), then hierarchical grouping that
 * repeatedly merges the two most similar neighbouring regions under s = s_colour + s_texture + s_size + s_fill; every
 * region of the hierarchy (initial and merged) gives a proposal box. One strategy (RGB, one k), as the paper's
 * "single strategy"; the diversification over colour spaces and k is left out at this scale.
 * Images: row-major HWC values in 0..255.
 */

export interface SegmentOptions {
  /** Scale k of the threshold k/|C|: larger k, larger segments (default 100). */
  k?: number;
  /** Gaussian pre-smoothing (default 0.8, as FH). */
  sigma?: number;
  /** Segments smaller than this (pixels) are merged into a neighbour afterwards (default 20). */
  minSize?: number;
}

export interface Segmentation {
  /** Segment of each pixel, 0..count-1 numbered in raster order of first appearance. */
  labels: Int32Array;
  count: number;
}

/** A separable Gaussian of one plane with clamped borders (radius ceil(4 sigma), as FH's code). */
export function smoothPlane(plane: Float64Array, h: number, w: number, sigma: number): Float64Array {
  if (sigma <= 0) return plane.slice();
  const r = Math.ceil(4 * sigma);
  const k = new Float64Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r] * plane[y * w + Math.min(w - 1, Math.max(0, x + i))];
      tmp[y * w + x] = s;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += k[i + r] * tmp[Math.min(h - 1, Math.max(0, y + i)) * w + x];
      out[y * w + x] = s;
    }
  }
  return out;
}

/** The channel planes of an HWC image, each smoothed by sigma. */
function smoothedPlanes(image: ArrayLike<number>, h: number, w: number, c: number, sigma: number): Float64Array[] {
  if (image.length !== h * w * c)
    throw new Error(`selective search: a ${h}x${w}x${c} image needs ${h * w * c} values, found ${image.length}`);
  return Array.from({ length: c }, (_, ch) => {
    const p = new Float64Array(h * w);
    for (let i = 0; i < h * w; i++) p[i] = image[i * c + ch];
    return smoothPlane(p, h, w, sigma);
  });
}

/**
 * The graph of FH: 8-connected pixels (edges to the right, below, below-right and above-right), weight the Euclidean
 * colour distance of the smoothed pixels; edges sorted by weight (ties by edge index, so the order is fixed).
 */
export function pixelGraph(
  planes: Float64Array[],
  h: number,
  w: number,
): { a: Int32Array; b: Int32Array; weight: Float64Array; order: Uint32Array } {
  const max = 4 * h * w;
  const a = new Int32Array(max);
  const b = new Int32Array(max);
  const weight = new Float64Array(max);
  let n = 0;
  const add = (p: number, q: number) => {
    let d = 0;
    for (const pl of planes) d += (pl[p] - pl[q]) ** 2;
    a[n] = p;
    b[n] = q;
    weight[n++] = Math.sqrt(d);
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (x < w - 1) add(p, p + 1);
      if (y < h - 1) add(p, p + w);
      if (x < w - 1 && y < h - 1) add(p, p + w + 1);
      if (x < w - 1 && y > 0) add(p, p - w + 1);
    }
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((i, j) => weight[i] - weight[j] || i - j);
  return { a: a.subarray(0, n), b: b.subarray(0, n), weight: weight.subarray(0, n), order };
}

/** Numbers the components of a root-per-pixel array 0.. in raster order of first appearance. */
function relabel(root: (p: number) => number, n: number): Segmentation {
  const ids = new Map<number, number>();
  const labels = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const r = root(p);
    let id = ids.get(r);
    if (id === undefined) ids.set(r, (id = ids.size));
    labels[p] = id;
  }
  return { labels, count: ids.size };
}

/**
 * Felzenszwalb-Huttenlocher segmentation: edges in increasing weight join components C1, C2 when the weight is at
 * most min(Int(C1) + k/|C1|, Int(C2) + k/|C2|) (Int = the largest edge weight inside, which is the joining edge's
 * weight, edges being sorted); then components smaller than minSize are joined along edges in the same order.
 * Union-find with path halving and union by size.
 */
export function felzenszwalb(image: ArrayLike<number>, h: number, w: number, c: number, opts: SegmentOptions = {}): Segmentation {
  const { k = 100, sigma = 0.8, minSize = 20 } = opts;
  const g = pixelGraph(smoothedPlanes(image, h, w, c, sigma), h, w);
  const n = h * w;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const size = new Int32Array(n).fill(1);
  const thr = new Float64Array(n).fill(k);
  const find = (p: number) => {
    while (parent[p] !== p) p = parent[p] = parent[parent[p]];
    return p;
  };
  const join = (ra: number, rb: number, wgt: number) => {
    const [big, small] = size[ra] >= size[rb] ? [ra, rb] : [rb, ra];
    parent[small] = big;
    size[big] += size[small];
    thr[big] = wgt + k / size[big];
  };
  for (const e of g.order) {
    const ra = find(g.a[e]);
    const rb = find(g.b[e]);
    if (ra !== rb && g.weight[e] <= thr[ra] && g.weight[e] <= thr[rb]) join(ra, rb, g.weight[e]);
  }
  for (const e of g.order) {
    const ra = find(g.a[e]);
    const rb = find(g.b[e]);
    if (ra !== rb && (size[ra] < minSize || size[rb] < minSize)) join(ra, rb, g.weight[e]);
  }
  return relabel(find, n);
}

/**
 * FH written literally (the twin the fast version is tested against): components as a label per pixel, a join
 * relabels every pixel of the smaller component (ties: the second joins the first); Int(C) and |C| recomputed by
 * scanning. O(n) per join.
 */
export function felzenszwalbLiteral(image: ArrayLike<number>, h: number, w: number, c: number, opts: SegmentOptions = {}): Segmentation {
  const { k = 100, sigma = 0.8, minSize = 20 } = opts;
  const g = pixelGraph(smoothedPlanes(image, h, w, c, sigma), h, w);
  const n = h * w;
  const label = Array.from({ length: n }, (_, i) => i);
  const internal = new Map<number, number>();
  const sizeOf = (l: number) => label.filter((v) => v === l).length;
  const join = (la: number, lb: number, wgt: number) => {
    const [keep, gone] = sizeOf(la) >= sizeOf(lb) ? [la, lb] : [lb, la];
    for (let p = 0; p < n; p++) if (label[p] === gone) label[p] = keep;
    internal.set(keep, wgt);
  };
  for (const e of g.order) {
    const la = label[g.a[e]];
    const lb = label[g.b[e]];
    if (la === lb) continue;
    const tau = (l: number) => (internal.get(l) ?? 0) + k / sizeOf(l);
    if (g.weight[e] <= tau(la) && g.weight[e] <= tau(lb)) join(la, lb, g.weight[e]);
  }
  for (const e of g.order) {
    const la = label[g.a[e]];
    const lb = label[g.b[e]];
    if (la !== lb && (sizeOf(la) < minSize || sizeOf(lb) < minSize)) join(la, lb, g.weight[e]);
  }
  return relabel((p) => label[p], n);
}

export interface GroupingOptions extends SegmentOptions {
  /** Colour histogram bins per channel (default 25, as the paper). */
  colourBins?: number;
  /** Texture: Gaussian-derivative orientations (default 8) and histogram bins per orientation and channel (default 10). */
  orientations?: number;
  textureBins?: number;
}

/** A region of the hierarchy: its box [x0, y0, x1, y1) and, for merged regions, the two regions it was made of. */
export interface Region {
  box: Box;
  size: number;
  /** Indices of the merged regions (-1 for an initial segment). */
  children: [number, number];
}

export interface Hierarchy {
  segmentation: Segmentation;
  /** Initial segments first (segment i is region i), then one region per merge in merge order. */
  regions: Region[];
}

/** Per-pixel bins of the colour and texture histograms (shared by the fast and literal grouping). */
interface PixelBins {
  colour: Int32Array; // [n * c]: bin index of each pixel's channel value, offset by channel
  texture: Int32Array; // [n * c * orientations]
  colourLength: number;
  textureLength: number;
}

/**
 * The pixel bins: colour = value binned in `colourBins` per channel; texture = Gaussian derivatives (sigma 1) in
 * `orientations` directions theta_o = 2 pi o / orientations per channel, the positive part of the directional
 * derivative binned in `textureBins` over [0, the image's largest response].
 */
function pixelBins(
  image: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  colourBins: number,
  orientations: number,
  textureBins: number,
): PixelBins {
  const n = h * w;
  const colour = new Int32Array(n * c);
  for (let p = 0; p < n; p++)
    for (let ch = 0; ch < c; ch++)
      colour[p * c + ch] = ch * colourBins + Math.min(colourBins - 1, Math.floor((image[p * c + ch] / 256) * colourBins));
  const planes = smoothedPlanes(image, h, w, c, 1);
  const resp = new Float64Array(n * c * orientations);
  let max = 0;
  for (let ch = 0; ch < c; ch++) {
    const pl = planes[ch];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const gx = (pl[y * w + Math.min(w - 1, x + 1)] - pl[y * w + Math.max(0, x - 1)]) / 2;
        const gy = (pl[Math.min(h - 1, y + 1) * w + x] - pl[Math.max(0, y - 1) * w + x]) / 2;
        for (let o = 0; o < orientations; o++) {
          const t = (2 * Math.PI * o) / orientations;
          const v = Math.max(0, gx * Math.cos(t) + gy * Math.sin(t));
          resp[((y * w + x) * c + ch) * orientations + o] = v;
          if (v > max) max = v;
        }
      }
    }
  }
  const texture = new Int32Array(n * c * orientations);
  for (let i = 0; i < texture.length; i++)
    texture[i] =
      (i % (c * orientations)) * textureBins + (max > 0 ? Math.min(textureBins - 1, Math.floor((resp[i] / max) * textureBins)) : 0);
  return { colour, texture, colourLength: c * colourBins, textureLength: c * orientations * textureBins };
}

/** Sum of minima of two L1-normalised histograms (histogram intersection). */
function intersection(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.min(a[i], b[i]);
  return s;
}

/** s_size + s_fill of two regions of an image of `area` pixels. */
function shapeSimilarity(sa: number, sb: number, boxA: Box, boxB: Box, area: number): number {
  const bw = Math.max(boxA[2], boxB[2]) - Math.min(boxA[0], boxB[0]);
  const bh = Math.max(boxA[3], boxB[3]) - Math.min(boxA[1], boxB[1]);
  return 1 - (sa + sb) / area + 1 - (bw * bh - sa - sb) / area;
}

function unionBox(a: Box, b: Box): Box {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

/** Segment boxes, sizes, histograms (L1-normalised) and 8-neighbour adjacency of a segmentation. */
function segmentStats(seg: Segmentation, h: number, w: number, bins: PixelBins, c: number, orientations: number) {
  const R = seg.count;
  const size = new Int32Array(R);
  const box = Array.from({ length: R }, () => [w, h, 0, 0]);
  const colour = Array.from({ length: R }, () => new Float64Array(bins.colourLength));
  const texture = Array.from({ length: R }, () => new Float64Array(bins.textureLength));
  const neighbours = Array.from({ length: R }, () => new Set<number>());
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const l = seg.labels[p];
      size[l]++;
      const bx = box[l];
      bx[0] = Math.min(bx[0], x);
      bx[1] = Math.min(bx[1], y);
      bx[2] = Math.max(bx[2], x + 1);
      bx[3] = Math.max(bx[3], y + 1);
      for (let ch = 0; ch < c; ch++) colour[l][bins.colour[p * c + ch]]++;
      for (let t = 0; t < c * orientations; t++) texture[l][bins.texture[p * c * orientations + t]]++;
      const nb = [
        x < w - 1 ? p + 1 : -1,
        y < h - 1 ? p + w : -1,
        x < w - 1 && y < h - 1 ? p + w + 1 : -1,
        x < w - 1 && y > 0 ? p - w + 1 : -1,
      ];
      for (const q of nb) {
        if (q >= 0 && seg.labels[q] !== l) {
          neighbours[l].add(seg.labels[q]);
          neighbours[seg.labels[q]].add(l);
        }
      }
    }
  }
  for (let l = 0; l < R; l++) {
    for (let i = 0; i < colour[l].length; i++) colour[l][i] /= size[l] * c;
    for (let i = 0; i < texture[l].length; i++) texture[l][i] /= size[l] * c * orientations;
  }
  return { size: Array.from(size), box: box.map((b) => b as unknown as Box), colour, texture, neighbours };
}

/**
 * Hierarchical grouping on the FH segmentation: start from the segments; while any two regions are neighbours, merge
 * the pair of highest s (ties: the pair with the smaller indices); the merged region's histograms are the
 * size-weighted mean of its parts', its neighbours the union of theirs. Similarities of untouched pairs are kept.
 */
export function hierarchicalGrouping(image: ArrayLike<number>, h: number, w: number, c: number, opts: GroupingOptions = {}): Hierarchy {
  const { colourBins = 25, orientations = 8, textureBins = 10 } = opts;
  const segmentation = felzenszwalb(image, h, w, c, opts);
  const bins = pixelBins(image, h, w, c, colourBins, orientations, textureBins);
  const st = segmentStats(segmentation, h, w, bins, c, orientations);
  const area = h * w;
  const regions: Region[] = st.box.map((box, i) => ({ box, size: st.size[i], children: [-1, -1] }));
  const { colour, texture, neighbours } = st;
  const M = 2 * segmentation.count;
  const sim = new Map<number, number>();
  const similarity = (i: number, j: number) =>
    intersection(colour[i], colour[j]) +
    intersection(texture[i], texture[j]) +
    shapeSimilarity(regions[i].size, regions[j].size, regions[i].box, regions[j].box, area);
  for (let i = 0; i < segmentation.count; i++) for (const j of neighbours[i]) if (i < j) sim.set(i * M + j, similarity(i, j));
  while (sim.size) {
    let bestKey = -1;
    let best = -Infinity;
    for (const [key, s] of sim) if (s > best || (s === best && key < bestKey)) [best, bestKey] = [s, key];
    const i = Math.floor(bestKey / M);
    const j = bestKey % M;
    const t = regions.length;
    const [si, sj] = [regions[i].size, regions[j].size];
    regions.push({ box: unionBox(regions[i].box, regions[j].box), size: si + sj, children: [i, j] });
    colour.push(colour[i].map((v, k) => (v * si + colour[j][k] * sj) / (si + sj)));
    texture.push(texture[i].map((v, k) => (v * si + texture[j][k] * sj) / (si + sj)));
    const nb = new Set<number>([...neighbours[i], ...neighbours[j]]);
    nb.delete(i);
    nb.delete(j);
    for (const r of [i, j]) for (const q of neighbours[r]) sim.delete(Math.min(r, q) * M + Math.max(r, q));
    for (const q of nb) {
      neighbours[q].delete(i);
      neighbours[q].delete(j);
      neighbours[q].add(t);
      sim.set(q * M + t, similarity(q, t));
    }
    neighbours.push(nb);
  }
  return { segmentation, regions };
}

/**
 * Hierarchical grouping written literally (the twin): regions are pixel sets (a label per pixel); every step
 * recomputes every region's histograms from its pixels, the adjacency from the pixels, and every neighbouring pair's
 * similarity, then merges the best pair (same tie rule). O(n * regions) per merge.
 */
export function hierarchicalGroupingLiteral(
  image: ArrayLike<number>,
  h: number,
  w: number,
  c: number,
  opts: GroupingOptions = {},
): Hierarchy {
  const { colourBins = 25, orientations = 8, textureBins = 10 } = opts;
  const segmentation = felzenszwalbLiteral(image, h, w, c, opts);
  const bins = pixelBins(image, h, w, c, colourBins, orientations, textureBins);
  const label = Array.from(segmentation.labels);
  const regions: Region[] = [];
  const M = 2 * segmentation.count;
  const statsNow = () => {
    // Region ids in use, as a segmentation over compact indices, so segmentStats can be reused per step.
    const ids = [...new Set(label)].sort((a, b) => a - b);
    const index = new Map(ids.map((id, k) => [id, k]));
    const st = segmentStats({ labels: Int32Array.from(label, (l) => index.get(l)!), count: ids.length }, h, w, bins, c, orientations);
    return { ids, st };
  };
  let { ids, st } = statsNow();
  ids.forEach((_, k) => regions.push({ box: st.box[k], size: st.size[k], children: [-1, -1] }));
  for (;;) {
    let bestKey = -1;
    let best = -Infinity;
    for (let a = 0; a < ids.length; a++) {
      for (const b of st.neighbours[a]) {
        const [i, j] = [ids[a], ids[b]];
        if (i >= j) continue;
        const s =
          intersection(st.colour[a], st.colour[b]) +
          intersection(st.texture[a], st.texture[b]) +
          shapeSimilarity(st.size[a], st.size[b], st.box[a], st.box[b], h * w);
        const key = i * M + j;
        if (s > best || (s === best && key < bestKey)) [best, bestKey] = [s, key];
      }
    }
    if (bestKey < 0) break;
    const i = Math.floor(bestKey / M);
    const j = bestKey % M;
    const t = regions.length;
    for (let p = 0; p < label.length; p++) if (label[p] === i || label[p] === j) label[p] = t;
    ({ ids, st } = statsNow());
    const k = ids.indexOf(t);
    regions.push({ box: st.box[k], size: st.size[k], children: [i, j] });
  }
  return { segmentation, regions };
}

export interface ProposalOptions extends GroupingOptions {
  /** Boxes narrower or lower than this are dropped (default 4 px). */
  minSide?: number;
  /** At most this many proposals, best ranked first (default all). */
  max?: number;
}

/**
 * Selective Search proposals of one image, ranked as Uijlings et al.: a region's rank value is its position counted
 * from the top of the hierarchy (the last merge is 1) times U(0,1) from `rng`, smaller first; duplicate boxes keep
 * their best rank. Boxes [x0, y0, x1, y1).
 */
export function selectiveSearch(image: ArrayLike<number>, h: number, w: number, c: number, rng: Rng, opts: ProposalOptions = {}): Box[] {
  const { regions } = hierarchicalGrouping(image, h, w, c, opts);
  return rankProposals(regions, rng, opts);
}

/** The ranked, deduplicated, size-filtered boxes of a hierarchy (see selectiveSearch). */
export function rankProposals(regions: readonly Region[], rng: Rng, opts: Pick<ProposalOptions, 'minSide' | 'max'> = {}): Box[] {
  const { minSide = 4, max = Infinity } = opts;
  const ranked = regions.map((r, i) => ({ box: r.box, value: (regions.length - i) * rng.next() }));
  ranked.sort((a, b) => a.value - b.value);
  const seen = new Set<string>();
  const out: Box[] = [];
  for (const r of ranked) {
    const key = r.box.join(',');
    if (seen.has(key) || r.box[2] - r.box[0] < minSide || r.box[3] - r.box[1] < minSide) continue;
    seen.add(key);
    out.push(r.box);
    if (out.length >= max) break;
  }
  return out;
}
