import * as tf from '@tensorflow/tfjs';
import { clusterPoints, Linkage, LINKAGES, l2Normalize, meanPairwiseDistance } from '../../analysis/cluster';
import { bootstrapInterval, meanInterval } from '../../analysis/intervals';
import { cellCentre, cellField, Heatmaps, plane } from '../../explain/heatmaps';
import { featureModel } from '../../models/features';
import { mapBatches } from '../../util/batches';
import type { Interval } from '../types';
import type { MapsResult } from './maps';
import { imagesTensor } from './maps';
import { cropsOf, CountryCropsSession, modelOf, timed } from './session';
import { maskShare } from './truth';

/** Where top crops come from: CAM maxima on the whole image, or the sliding window's best windows. */
export type CropSource = 'cam' | 'window';
export const CROP_SOURCES: readonly CropSource[] = ['cam', 'window'];
export const SOURCE_LABEL: Record<CropSource, string> = { cam: 'CAM', window: 'sliding window' };

/** One crop of an explained image (index into MapsResult.images), `crop` px square at top-left (y, x). */
export interface Crop {
  image: number;
  y: number;
  x: number;
  /** The source's own score: the CAM logit at the cell, the window's class probability; random crops: NaN. */
  score: number;
  /** The crop model's probability of the class on the crop alone. */
  probability: number;
  /** Share of the crop's pixels on a signature cue of the class (NaN without ground truth). */
  cueShare: number;
}

/** A gallery's proxies: cue share (mean share of signature-cue pixels per crop), diversity, purity. */
export interface GalleryScore {
  cueShare: number;
  diversity: number;
  purity: number;
}

/** One class's galleries from one source. Crops index `pool`. */
export interface ClassGalleries {
  cls: number;
  source: CropSource;
  /** The top-N crops of the class, best score first. */
  pool: Crop[];
  /** Max-probability crop of each cluster (config linkage), by probability; and with the other linkage. */
  clustered: number[];
  otherLinkage: number[];
  /** The k best-scored crops, without clustering. */
  topK: number[];
  scores: { clustered: GalleryScore; otherLinkage: GalleryScore; topK: GalleryScore };
}

export interface GalleriesResult {
  crop: number;
  linkage: Linkage;
  otherLinkage: Linkage;
  k: number;
  topN: number;
  galleries: ClassGalleries[];
  /** Random crops of the explained images (the chance level of the cue share). */
  random: Crop[];
  /** Mean cue share of each source's top-N crops and of random crops (NaN without ground truth). */
  poolCueShare: Record<CropSource, number>;
  randomCueShare: number;
  /** Per source: pool cue share minus random, bootstrap over explained images. */
  aboveChance: Record<CropSource, { value: number; interval: Interval } | null>;
  /** Window pool cue share minus CAM's, bootstrap over explained images. */
  windowMinusCam: { value: number; interval: Interval } | null;
  /** Per source, over all classes: mean cue share of the gallery crops, bootstrap over them. */
  galleryCueShare: Record<CropSource, { value: number; interval: Interval } | null>;
  /** Diversity of the clustered gallery minus the plain top-k, per (class, source), and its mean's interval. */
  diversityGain: { value: number; interval: Interval; perGallery: number[] };
}

/** Cells of a plane [h*w] that are at least as large as their 8 neighbours (local maxima), in row-major order. */
export function localMaxima(values: ArrayLike<number>, h: number, w: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const v = values[i * w + j];
      let best = true;
      for (let di = -1; di <= 1 && best; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const a = i + di;
          const b = j + dj;
          if ((di || dj) && a >= 0 && a < h && b >= 0 && b < w && values[a * w + b] > v) {
            best = false;
            break;
          }
        }
      }
      if (best) out.push(i * w + j);
    }
  }
  return out;
}

/**
 * Candidate crops of one source on every explained image: each local maximum of the map gives a `crop` px square,
 * centred on the cell's field (CAM: cells are 4 px apart with a larger field; clamped into the image) or the window
 * itself (sliding window).
 */
export function candidates(maps: Heatmaps, crop: number, side: number): Omit<Crop, 'probability' | 'cueShare'>[] {
  const out: Omit<Crop, 'probability' | 'cueShare'>[] = [];
  const clamp = (v: number) => Math.max(0, Math.min(side - crop, Math.round(v)));
  for (let i = 0; i < maps.n; i++) {
    const p = plane(maps, i);
    for (const cell of localMaxima(p, maps.height, maps.width)) {
      const r = Math.floor(cell / maps.width);
      const c = cell % maps.width;
      const centre = cellCentre(maps.geometry, r, c);
      const field = cellField(maps.geometry, r, c);
      const square = field.y1 - field.y0 === crop && field.x1 - field.x0 === crop;
      out.push({
        image: i,
        y: square ? field.y0 : clamp(centre.y - crop / 2),
        x: square ? field.x0 : clamp(centre.x - crop / 2),
        score: p[cell],
      });
    }
  }
  return out;
}

/** Features (the GAP layer, L2-normalised later) and class probabilities of crops, through the crop model. */
function describe(
  model: tf.LayersModel,
  x: tf.Tensor4D,
  crops: Omit<Crop, 'probability' | 'cueShare'>[],
  size: number,
  K: number,
): { features: Float32Array[]; probs: Float32Array[] } {
  if (!crops.length) return { features: [], probs: [] };
  const fm = featureModel(model, ['gap', 'logits']);
  const t = cropsOf(
    x,
    crops.map((c) => c.image),
    crops.map((c) => c.y),
    crops.map((c) => c.x),
    size,
  );
  const values = mapBatches(t, 256, (xb) => {
    const [g, l] = fm.predict(xb) as tf.Tensor[];
    return tf.concat([g, tf.softmax(l)], 1);
  });
  t.dispose();
  const per = values.length / crops.length;
  const D = per - K;
  return {
    features: crops.map((_, i) => values.slice(i * per, i * per + D)),
    probs: crops.map((_, i) => values.slice(i * per + D, (i + 1) * per)),
  };
}

function score(crops: Crop[], feats: Float64Array[], members: number[]): GalleryScore {
  const pick = members.map((m) => crops[m]);
  return {
    cueShare: pick.reduce((a, c) => a + c.cueShare, 0) / Math.max(1, pick.length),
    diversity: meanPairwiseDistance(members.map((m) => feats[m])),
    purity: pick.reduce((a, c) => a + c.probability, 0) / Math.max(1, pick.length),
  };
}

/** The max-probability member of each cluster, by decreasing probability. */
function clusterPicks(pool: Crop[], feats: Float64Array[], k: number, linkage: Linkage): number[] {
  if (pool.length <= k) return pool.map((_, i) => i);
  const labels = clusterPoints(feats, k, linkage);
  const best = new Array<number>(k).fill(-1);
  labels.forEach((l, i) => {
    if (best[l] < 0 || pool[i].probability > pool[best[l]].probability) best[l] = i;
  });
  return best.sort((a, b) => pool[b].probability - pool[a].probability);
}

/**
 * Per class and source: the top-N crops, clustered on the crop model's L2-normalised GAP features into k clusters,
 * the max-probability crop of each cluster (the gallery), the plain top-k beside it; proxies and their intervals.
 */
export function galleries(s: CountryCropsSession, m: MapsResult): GalleriesResult {
  return timed(s, 'galleries', () => {
    const { config } = s;
    const model = modelOf(s, m.crop).cropModel;
    const K = s.test.numClasses;
    const side = config.side;
    const images = m.images;
    const x = imagesTensor(s, images);
    const cueOf = (c: { image: number; y: number; x: number }) =>
      images.masks ? maskShare(images.masks[c.image], side, c.y, c.x, m.crop) : NaN;
    const withTruth = (raw: Omit<Crop, 'probability' | 'cueShare'>[]) => {
      const d = describe(model, x, raw, m.crop, K);
      const crops = raw.map((c, i) => ({ ...c, probability: d.probs[i][images.labels[c.image]], cueShare: cueOf(c) }));
      return { crops, feats: l2Normalize(d.features) };
    };
    // Random crops: the chance level of the cue share.
    const rng = s.rng.fork('random-crops');
    const randomRaw = images.indices.flatMap((_, i) =>
      Array.from({ length: config.randomCropsPerImage }, () => ({
        image: i,
        y: rng.int(side - m.crop + 1),
        x: rng.int(side - m.crop + 1),
        score: NaN,
      })),
    );
    const random = withTruth(randomRaw).crops;
    const other = LINKAGES.find((l) => l !== config.linkage)!;
    const out: ClassGalleries[] = [];
    const pools: Record<CropSource, Crop[]> = { cam: [], window: [] };
    for (const source of CROP_SOURCES) {
      const all = candidates(source === 'cam' ? m.cam : m.window, m.crop, side);
      for (let cls = 0; cls < K; cls++) {
        const top = all
          .filter((c) => images.labels[c.image] === cls)
          .sort((a, b) => b.score - a.score)
          .slice(0, config.topN);
        const { crops, feats } = withTruth(top);
        pools[source].push(...crops);
        const k = Math.min(config.clusters, crops.length);
        const clustered = clusterPicks(crops, feats, k, config.linkage);
        const otherLinkage = clusterPicks(crops, feats, k, other);
        const topK = crops.slice(0, k).map((_, i) => i);
        out.push({
          cls,
          source,
          pool: crops,
          clustered,
          otherLinkage,
          topK,
          scores: {
            clustered: score(crops, feats, clustered),
            otherLinkage: score(crops, feats, otherLinkage),
            topK: score(crops, feats, topK),
          },
        });
      }
    }
    x.dispose();
    const n = images.indices.length;
    // Per explained image: crops and summed cue shares of each set, so that a bootstrap over images resamples whole images.
    const counts = (crops: Crop[]) => {
      const total = new Float64Array(n);
      const hits = new Float64Array(n);
      for (const c of crops) {
        total[c.image]++;
        hits[c.image] += c.cueShare;
      }
      return { total, hits };
    };
    const shareOf = (c: { total: Float64Array; hits: Float64Array }, idx: ArrayLike<number>) => {
      let t = 0;
      let h = 0;
      for (let k = 0; k < idx.length; k++) {
        t += c.total[idx[k]];
        h += c.hits[idx[k]];
      }
      return t > 0 ? h / t : NaN;
    };
    const all = Int32Array.from({ length: n }, (_, i) => i);
    const C = { cam: counts(pools.cam), window: counts(pools.window), random: counts(random) };
    const differenceOf = (a: keyof typeof C, b: keyof typeof C, label: string) => {
      const stat = (idx: ArrayLike<number>) => shareOf(C[a], idx) - shareOf(C[b], idx);
      return {
        value: stat(all),
        interval: bootstrapInterval(n, stat, s.rng.fork(label), { resamples: config.resamples, unit: 'explained images' }),
      };
    };
    const truth = images.masks !== null;
    const galleryCue = (source: CropSource) => {
      const g = out.filter((o) => o.source === source);
      const shown = g.flatMap((o) => o.clustered.map((i) => o.pool[i].cueShare));
      const value = shown.reduce((a, b) => a + b, 0) / Math.max(1, shown.length);
      return {
        value,
        interval: meanInterval(shown, s.rng.fork(`gallery-cue-${source}`), { resamples: config.resamples, unit: 'gallery crops' }),
      };
    };
    const gains = out.map((o) => o.scores.clustered.diversity - o.scores.topK.diversity).filter(Number.isFinite);
    return {
      crop: m.crop,
      linkage: config.linkage,
      otherLinkage: other,
      k: config.clusters,
      topN: config.topN,
      galleries: out,
      random,
      poolCueShare: { cam: shareOf(C.cam, all), window: shareOf(C.window, all) },
      randomCueShare: shareOf(C.random, all),
      aboveChance: {
        cam: truth ? differenceOf('cam', 'random', 'cam-chance') : null,
        window: truth ? differenceOf('window', 'random', 'window-chance') : null,
      },
      windowMinusCam: truth ? differenceOf('window', 'cam', 'window-vs-cam') : null,
      galleryCueShare: { cam: truth ? galleryCue('cam') : null, window: truth ? galleryCue('window') : null },
      diversityGain: {
        value: gains.reduce((a, b) => a + b, 0) / Math.max(1, gains.length),
        interval: meanInterval(gains, s.rng.fork('diversity-bootstrap'), {
          resamples: config.resamples,
          unit: 'galleries (class x source)',
        }),
        perGallery: gains,
      },
    };
  });
}
