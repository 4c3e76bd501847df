import type { Figure, Study, StudyContext, StudyOutput, Table } from '../types';
import { accuracy, AccuracyResult } from './accuracy';
import { countryCropsClaims } from './claims';
import * as figures from './figures';
import { CROP_SOURCES, galleries, GalleriesResult, SOURCE_LABEL } from './galleries';
import { DetailResult, details, explainedImages, maps, MapsResult } from './maps';
import { CountryCropsSession, dispose, prepare } from './session';
import { UserStudyResult, writeUserStudy } from './userstudy';

/**
 * "Guess the country" (E. Kashin, Yandex, Habr post 473056, 2019) at laptop scale: fully convolutional GAP classifiers
 * trained from scratch on random crops of the facades world (or an ImageFolder via --data), CAM on whole images
 * against a sliding window of the crop model, top crops per class, agglomerative clustering into galleries, an A/B
 * task set for the user-study app and a ground-truth proxy. The steps below are what notebooks/05-country-crops.ipynb
 * calls one cell at a time; `run()` calls them in order.
 */

/** Bytes [n,H,W,C] of the explained images (for figures and the user-study PNGs). */
export function explainedPixels(s: CountryCropsSession, m: MapsResult): Uint8Array {
  const n = s.test.height * s.test.width * s.test.channels;
  const out = new Uint8Array(m.images.indices.length * n);
  m.images.indices.forEach((idx, k) => out.set(s.test.imageBytes(idx), k * n));
  return out;
}

/** Every figure of the study from the steps' results. */
export async function studyFigures(
  s: CountryCropsSession,
  acc: AccuracyResult,
  m: MapsResult,
  d: DetailResult | null,
  g: GalleriesResult,
): Promise<Figure[]> {
  const px = explainedPixels(s, m);
  const { side } = s.config;
  const ch = s.test.channels;
  const names = s.test.classNames;
  const out: Figure[] = [
    figures.accuracyFigure(acc),
    figures.learningFigure(acc),
    await figures.mapsFigure(m, px, side, ch, names, s.config.figureImages),
  ];
  for (const source of CROP_SOURCES) out.push(await figures.galleryFigure(g, px, side, ch, names, source));
  const proxy = figures.proxyFigure(g);
  if (proxy) out.push(proxy);
  if (d) out.push(figures.detailFigure(d));
  return out;
}

/** The per-gallery proxies as a table (class, source, gallery kind). */
export function proxyTable(s: CountryCropsSession, g: GalleriesResult): Table {
  const rows = g.galleries.flatMap((o) =>
    (['clustered', 'otherLinkage', 'topK'] as const).map((kind) => ({
      class: s.test.classNames[o.cls],
      source: SOURCE_LABEL[o.source],
      gallery:
        kind === 'clustered' ? `clustered (${g.linkage})` : kind === 'otherLinkage' ? `clustered (${g.otherLinkage})` : 'plain top-k',
      cueShare: +o.scores[kind].cueShare.toFixed(3),
      diversity: +o.scores[kind].diversity.toFixed(3),
      purity: +o.scores[kind].purity.toFixed(3),
    })),
  );
  return {
    name: 'gallery-proxies',
    caption: 'Per class, source and gallery: cue share, diversity (mean pairwise feature distance), purity (mean class probability).',
    rows,
  };
}

/** results.json, claims, figures and tables from the steps' results. */
export async function output(
  s: CountryCropsSession,
  acc: AccuracyResult,
  m: MapsResult,
  d: DetailResult | null,
  g: GalleriesResult,
  u: UserStudyResult,
): Promise<StudyOutput> {
  const results = {
    config: s.config,
    dataset: s.dataset,
    backend: s.engine.backend,
    sizes: { train: s.train.size, val: s.val.size, test: s.test.size, explained: m.images.indices.length },
    models: s.models.map((x) => ({ label: x.label, crop: x.crop, fromCache: x.fromCache, history: x.history })),
    accuracy: acc,
    camMeanError: m.camMeanError,
    details: d,
    proxies: {
      poolCueShare: g.poolCueShare,
      randomCueShare: g.randomCueShare,
      aboveChance: g.aboveChance,
      windowMinusCam: g.windowMinusCam,
      galleryCueShare: g.galleryCueShare,
      diversityGain: g.diversityGain,
      galleries: g.galleries.map((o) => ({
        cls: o.cls,
        source: o.source,
        pool: o.pool.length,
        scores: o.scores,
        shown: o.clustered.map((i) => o.pool[i]),
      })),
    },
    userStudy: { tasks: u.tasks, file: u.tasksFile },
    seconds: s.seconds,
  };
  return { results, claims: countryCropsClaims(acc, m, d, g), figures: await studyFigures(s, acc, m, d, g), tables: [proxyTable(s, g)] };
}

/** The whole study: prepare, measure, galleries, user-study tasks, figures and claims. */
export async function runCountryCrops(ctx: StudyContext): Promise<StudyOutput> {
  const s = await prepare(ctx);
  try {
    const acc = accuracy(s);
    const images = explainedImages(s);
    const m = maps(s, images);
    const d = details(s, images);
    const g = galleries(s, m);
    const u = await writeUserStudy(s, g, explainedPixels(s, m));
    return await output(s, acc, m, d, g, u);
  } finally {
    dispose(s);
  }
}

/**
 * The steps, for a notebook:
 * ```ts
 * const s = await countryCropsSteps.prepare(ctx);        // data, models trained (or loaded) once
 * const acc = countryCropsSteps.accuracy(s);             // accuracy against crop size
 * const images = countryCropsSteps.explainedImages(s);   // per class the explained test images, cue masks
 * const m = countryCropsSteps.maps(s, images);           // CAM and sliding window of the gallery crop model
 * const g = countryCropsSteps.galleries(s, m);           // top-N, clusters, galleries, proxies
 * ```
 */
export const countryCropsSteps = {
  prepare,
  accuracy,
  explainedImages,
  maps,
  details,
  galleries,
  writeUserStudy,
  explainedPixels,
  figures,
  studyFigures,
  proxyTable,
  claims: countryCropsClaims,
  output,
  dispose,
};

export const study: Study = {
  name: 'country-crops',
  title: 'Guess the country: crop-trained classifiers, CAM against sliding windows, clustered galleries',
  paper: 'E. Kashin (Yandex), "Guess the country by photo" interpretability study, Habr post 473056, 2019 (no code, no numbers)',
  summary:
    'GAP classifiers trained on random crops of two or three sizes and on whole images (facades world or --data ImageFolder): ' +
    'accuracy against crop size, CAM vs sliding window, top crops clustered (Ward/average) into galleries, A/B tasks for the ' +
    'user-study app, and a ground-truth cue proxy with intervals.',
  notebook: 'notebooks/05-country-crops.ipynb',
  run: runCountryCrops,
};

export { COUNTRY_CROPS_CONFIGS, CLAIM_RULES } from './config';
export type { CountryCropsConfig } from './config';
export type { AccuracyResult } from './accuracy';
export type { DetailResult, ExplainedImages, MapsResult } from './maps';
export type { GalleriesResult } from './galleries';
export type { CountryCropsSession } from './session';
export type { UserStudyResult } from './userstudy';
