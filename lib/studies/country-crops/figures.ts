import { cellField } from '../../explain/heatmaps';
import { intervalBars } from '../../plot/bars';
import { fromBytes, Raster } from '../../plot/images';
import { lineChart } from '../../plot/line';
import { labelledPanels, PanelCell } from '../../plot/panels';
import type { PlotSpec } from '../../plot/spec';
import type { Figure } from '../types';
import type { AccuracyResult } from './accuracy';
import { CROP_SOURCES, GalleriesResult, SOURCE_LABEL } from './galleries';
import type { DetailResult, MapsResult } from './maps';
import { cropRaster } from './userstudy';

/** Accuracy against crop size: on crops of the model's side and on whole images, with Wilson intervals. */
export function accuracyFigure(acc: AccuracyResult): Figure {
  const cats = acc.models.map((m) => m.label);
  const spec = intervalBars({
    title: 'Accuracy against crop size (test set, 95% Wilson intervals)',
    yTitle: 'top-1 accuracy',
    categories: cats,
    series: [
      {
        name: 'on crops of its size',
        values: acc.models.map((m) => m.cropAccuracy),
        low: acc.models.map((m) => m.cropInterval.low),
        high: acc.models.map((m) => m.cropInterval.high),
      },
      {
        name: 'on whole images',
        values: acc.models.map((m) => m.wholeAccuracy),
        low: acc.models.map((m) => m.wholeInterval.low),
        high: acc.models.map((m) => m.wholeInterval.high),
      },
    ],
    yRange: [0, 1],
  });
  return {
    name: 'accuracy-vs-crop',
    caption: 'Top-1 accuracy of each model on random crops of its own size and on whole test images.',
    spec,
  };
}

/** Validation accuracy (whole images) per epoch of every model: the learning curves. */
export function learningFigure(acc: AccuracyResult): Figure {
  const spec = lineChart({
    title: 'Learning curves: validation accuracy on whole images',
    xTitle: 'epoch',
    yTitle: 'validation accuracy',
    series: acc.models.map((m) => ({ name: m.label, x: m.valCurve.map((_, i) => i + 1), y: m.valCurve })),
    yRange: [0, 1],
  });
  return { name: 'learning-curves', caption: 'Validation accuracy (whole held-out training images) after every epoch.', spec };
}

/** Image i of the explained images as a Raster. */
function imageRaster(pixels: Uint8Array, side: number, channels: number, i: number): Raster {
  const n = side * side * channels;
  return fromBytes(pixels.slice(i * n, (i + 1) * n), side, side, channels);
}

/**
 * Image, CAM and sliding window for a few explained images (one per class first), the window map with boxes around its
 * three best windows and their class probability written over them, as in the post's figures.
 */
export async function mapsFigure(
  m: MapsResult,
  pixels: Uint8Array,
  side: number,
  channels: number,
  classNames: string[],
  count: number,
): Promise<Figure> {
  const perClass = Math.max(1, Math.ceil(count / classNames.length));
  const picks: number[] = [];
  for (let round = 0; round < perClass && picks.length < count; round++) {
    for (let c = 0; c < classNames.length && picks.length < count; c++) {
      const i = m.images.labels.map((l, k) => (l === c ? k : -1)).filter((k) => k >= 0)[round];
      if (i !== undefined) picks.push(i);
    }
  }
  const scale = 4;
  const hw = m.window.height * m.window.width;
  const tops = picks.map((i) =>
    Array.from(m.window.values.subarray(i * hw, (i + 1) * hw))
      .map((v, cell) => ({ v, cell }))
      .sort((a, b) => b.v - a.v)
      .slice(0, 3),
  );
  const rows: PanelCell[][] = picks.map((i, r) => {
    const image = imageRaster(pixels, side, channels, i);
    const boxes = tops[r].map(({ cell }) => cellField(m.window.geometry, Math.floor(cell / m.window.width), cell % m.window.width));
    return [{ image }, { maps: m.cam, index: i, image }, { maps: m.window, index: i, image, cmap: 'viridis', boxes }];
  });
  const spec = await labelledPanels({
    title: `CAM and sliding window of the ${m.crop} px crop model on whole images`,
    rows,
    colLabels: ['image', 'CAM (class logit)', `sliding window (p, ${m.crop} px)`],
    rowLabels: picks.map((i) => `${classNames[m.images.labels[i]]} (pred. ${classNames[m.predicted[i]]})`),
    scale,
  });
  // The probabilities over the best windows, placed in raster pixels (cells are side*scale wide, 4 px apart).
  const cellW = side * scale;
  const annotations = picks.flatMap((i, r) =>
    tops[r].map(({ v, cell }) => {
      const f = cellField(m.window.geometry, Math.floor(cell / m.window.width), cell % m.window.width);
      return {
        x: 4 + 2 * (cellW + 4) + f.x0 * scale + 2,
        y: 4 + r * (cellW + 4) + f.y0 * scale + 1,
        xref: 'x',
        yref: 'y',
        text: v.toFixed(2),
        showarrow: false,
        xanchor: 'left',
        yanchor: 'top',
        font: { size: 10, color: 'white' },
        bgcolor: 'rgba(0,0,0,0.55)',
      };
    }),
  );
  const layout = spec.layout as { annotations: unknown[] };
  layout.annotations = [...layout.annotations, ...annotations];
  return {
    name: 'cam-vs-window-maps',
    caption: 'Whole images, the CAM of their class, and the sliding-window probability map with its three best windows.',
    spec,
  };
}

/** One source's galleries: per class the clustered gallery and, below it, the plain top-k crops. */
export async function galleryFigure(
  g: GalleriesResult,
  pixels: Uint8Array,
  side: number,
  channels: number,
  classNames: string[],
  source: 'cam' | 'window',
): Promise<Figure> {
  const rows: PanelCell[][] = [];
  const labels: string[] = [];
  for (const o of g.galleries.filter((x) => x.source === source)) {
    for (const [kind, members] of [
      ['clustered', o.clustered],
      ['top-k', o.topK],
    ] as const) {
      rows.push(members.map((i) => ({ image: cropRaster(pixels, side, channels, o.pool[i], g.crop) })));
      labels.push(`${classNames[o.cls]}: ${kind}`);
    }
  }
  const spec: PlotSpec = await labelledPanels({
    title: `${SOURCE_LABEL[source]} galleries (${g.linkage} linkage, k = ${g.k}) and the plain top-k`,
    rows,
    colLabels: Array.from({ length: g.k }, (_, j) => String(j + 1)),
    rowLabels: labels,
    scale: 4,
  });
  return {
    name: `gallery-${source}`,
    caption:
      `Per class: the max-probability crop of each of ${g.k} clusters of the top crops from ${SOURCE_LABEL[source]}, and ` +
      `the ${g.k} best-scored crops without clustering.`,
    spec,
  };
}

/** The proxies of both sources: cue share (pool, gallery) against random crops, with intervals. */
export function proxyFigure(g: GalleriesResult): Figure | null {
  if (!g.galleryCueShare.cam || !g.aboveChance.cam) return null;
  const cats = CROP_SOURCES.map((s) => SOURCE_LABEL[s]);
  const pool = CROP_SOURCES.map((s) => {
    const a = g.aboveChance[s]!;
    return { v: g.poolCueShare[s], low: a.interval.low + g.randomCueShare, high: a.interval.high + g.randomCueShare };
  });
  const gal = CROP_SOURCES.map((s) => g.galleryCueShare[s]!);
  const spec = intervalBars({
    title: 'How much of the crops shows signature cues of their class',
    yTitle: 'mean share of signature-cue pixels per crop',
    categories: cats,
    series: [
      {
        name: 'top-N pool (interval of pool - random, shifted by random)',
        values: pool.map((p) => p.v),
        low: pool.map((p) => p.low),
        high: pool.map((p) => p.high),
      },
      {
        name: 'clustered gallery (bootstrap over crops)',
        values: gal.map((p) => p.value),
        low: gal.map((p) => p.interval.low),
        high: gal.map((p) => p.interval.high),
      },
    ],
    references: [{ name: 'random crops (chance)', y: g.randomCueShare }],
    yRange: [0, 1],
  });
  return {
    name: 'cue-proxy',
    caption: 'Ground-truth proxy: mean share of crop pixels on signature cues of the class, against random crops.',
    spec,
  };
}

/** Share of CAM evidence on signature cues per model ("smaller crops concentrate on details"). */
export function detailFigure(d: DetailResult): Figure {
  const spec = lineChart({
    title: 'Share of positive CAM evidence on the class signature cues',
    xTitle: 'crop side (px; the last point is the whole image)',
    yTitle: 'share of positive CAM mass',
    series: [{ name: 'CAM on whole images', x: d.models.map((m) => m.crop), y: d.models.map((m) => m.share) }],
    yRange: [0, 1],
  });
  return { name: 'cam-detail', caption: "How much of each model's positive CAM evidence lies on signature cues of the class.", spec };
}
