import type { Heatmaps } from '../../explain/heatmaps';
import type { SimilarityMaps } from '../../explain/prototype';
import { cellBox, latentModel } from '../../models/prototype';
import { fromBytes, Raster } from '../../plot/images';
import { lineChart } from '../../plot/line';
import { labelledPanels, PanelBox, PanelCell, Rgb } from '../../plot/panels';
import type { PlotSpec } from '../../plot/spec';
import type { Figure } from '../types';
import type { AccuracyResult, Box, CritiqueResult, ReasoningImage } from './analysis';
import type { DatasetSession } from './session';
import type { ProtoPNetRun } from './train';

/**
 * The study's figures from the steps' results (no training here). Names end in the dataset, e.g. gallery-parts-birds.
 * Boxes: yellow = receptive field of the latent cell, red = the paper's 95th-percentile box of the upsampled map,
 * blue = the centre of the window whose occlusion lowers the prototype's similarity most.
 */

const RF: Rgb = [255, 200, 0];
const ACT: Rgb = [230, 30, 30];
const PEAK: Rgb = [30, 90, 255];
const box = (b: Box, colour: Rgb): PanelBox => ({ y0: b[0], x0: b[1], y1: b[2], x1: b[3], colour });

/** Image i of a dataset as a raster. */
function imageOf(ds: DatasetSession, split: 'train' | 'test', i: number): Raster {
  const d = split === 'train' ? ds.train : ds.test;
  return fromBytes(d.imageBytes(i), d.width, d.height, d.channels);
}

/** Pixel magnification so that a panel cell is about 160 px wide (room for the column titles). */
const scaleOf = (ds: DatasetSession) => Math.max(1, Math.round(160 / ds.test.width));

/** Heatmaps of chosen (image, prototype) pairs of similarity maps, for map cells. */
export function pairMaps(maps: SimilarityMaps, pairs: [number, number][], targets: number[]): Heatmaps {
  const hw = maps.height * maps.width;
  const values = new Float32Array(pairs.length * hw);
  pairs.forEach(([i, j], k) => {
    for (let p = 0; p < hw; p++) values[k * hw + p] = maps.values[(i * hw + p) * maps.prototypes + j];
  });
  const { prototypes, values: _all, ...frame } = maps;
  return { ...frame, n: pairs.length, targets, values };
}

/** Accuracy at every point of the schedule with its 95% Wilson interval. */
export function accuracyFigure(ds: DatasetSession, acc: AccuracyResult): Figure {
  const spec: PlotSpec = {
    data: [
      {
        type: 'bar',
        x: acc.rows.map((r) => r.model.replace(/^ProtoPNet /, '')),
        y: acc.rows.map((r) => r.accuracy),
        error_y: {
          type: 'data',
          symmetric: false,
          array: acc.rows.map((r) => r.interval.high - r.accuracy),
          arrayminus: acc.rows.map((r) => r.accuracy - r.interval.low),
        },
      },
    ],
    layout: {
      title: { text: `Test accuracy — ${ds.plan.label}` },
      xaxis: { title: { text: 'baseline CNN, then ProtoPNet at each point of its schedule' } },
      yaxis: { title: { text: `top-1 accuracy (${acc.testImages} test images, 95% Wilson)` }, range: [0, 1] },
      margin: { t: 50, l: 70, r: 20, b: 90 },
    },
  };
  return {
    name: `accuracy-${ds.plan.dataset}`,
    caption:
      `Test accuracy of the baseline CNN and of ProtoPNet before push, after push, after the last-layer stage and after pruning ` +
      `on ${ds.plan.label} (bars: 95% Wilson intervals).`,
    spec,
  };
}

/** Validation accuracy per epoch: backbone pre-training, the baseline, and ProtoPNet's stages after the pre-training. */
export function trainingFigure(ds: DatasetSession, run: ProtoPNetRun): Figure {
  const pre = ds.pretrained.history;
  const offset = pre.length;
  const stages = [...new Set([...run.history, ...run.pruneHistory].map((h) => h.stage))];
  const protoSeries = stages.map((stage) => {
    const all = [...run.history, ...run.pruneHistory.map((h) => ({ ...h, epoch: h.epoch + run.history.length }))];
    const of = all.filter((h) => h.stage === stage);
    return { name: `ProtoPNet: ${stage}`, x: of.map((h) => offset + h.epoch), y: of.map((h) => h.valAccuracy ?? NaN) };
  });
  return {
    name: `training-${ds.plan.dataset}`,
    caption:
      `Validation accuracy per epoch on ${ds.plan.label}: the backbone's plain pre-training, the baseline CNN (same architecture, ` +
      "trained as long as the pre-training plus ProtoPNet's warm and joint epochs), then ProtoPNet stage by stage (push at the start of " +
      'each last-layer stage).',
    spec: lineChart({
      title: `Validation accuracy per epoch — ${ds.plan.label}`,
      xTitle: 'epoch',
      yTitle: 'validation accuracy',
      yRange: [0, 1],
      series: [
        { name: 'backbone pre-training', x: pre.map((h) => h.epoch), y: pre.map((h) => h.valAccuracy ?? NaN) },
        { name: 'baseline CNN', x: ds.baseline.history.map((h) => h.epoch), y: ds.baseline.history.map((h) => h.valAccuracy ?? NaN) },
        ...protoSeries,
      ],
    }),
  };
}

/** Prototypes by class: each cell the source training image with the RF box (yellow) and the 95th-percentile box (red). */
export async function galleryFigure(ds: DatasetSession, run: ProtoPNetRun): Promise<Figure> {
  const pushed = run.pushes[run.pushes.length - 1];
  const m = ds.plan.perClass;
  const classes = Math.min(ds.train.numClasses, Math.max(1, Math.ceil(ds.plan.galleryPrototypes / m)));
  const rows: PanelCell[][] = Array.from({ length: classes }, (_, c) =>
    pushed
      .filter((r) => r.cls === c)
      .map((r) => ({ image: imageOf(ds, 'train', r.image), boxes: [box(r.rfBox, RF), box(r.activationBox, ACT)] })),
  );
  const spec = await labelledPanels({
    title: `Prototypes after the last push — ${ds.plan.label}`,
    rows,
    colLabels: Array.from({ length: m }, (_, j) => `prototype ${j + 1}`),
    rowLabels: Array.from({ length: classes }, (_, c) => ds.train.classNames[c]),
    scale: scaleOf(ds),
  });
  return {
    name: `gallery-${ds.plan.dataset}`,
    caption:
      `Prototype gallery on ${ds.plan.label}: each prototype is a latent patch of a training image of its class; yellow: the ` +
      "receptive field of that latent cell, red: the paper's box around the 95th percentile of the upsampled similarity map.",
    spec,
  };
}

/** The paper's Figure 1: test image, the similarity map of each top prototype of the predicted class, the prototype's source. */
export async function reasoningFigure(
  ds: DatasetSession,
  run: ProtoPNetRun,
  maps: SimilarityMaps,
  images: ReasoningImage[],
): Promise<Figure> {
  const pushed = run.pushes[run.pushes.length - 1];
  const names = ds.test.classNames;
  const rows: PanelCell[][] = images.map((r) => {
    const heat = pairMaps(
      maps,
      r.top.map((t) => [r.image, t.prototype]),
      r.top.map(() => r.predicted),
    );
    const cells: PanelCell[] = [{ image: imageOf(ds, 'test', r.image) }];
    r.top.forEach((t, k) => {
      const src = pushed[t.prototype];
      cells.push({ maps: heat, index: k, image: imageOf(ds, 'test', r.image), cmap: 'jet' });
      cells.push({ image: imageOf(ds, 'train', src.image), boxes: [box(src.rfBox, RF), box(src.activationBox, ACT)] });
    });
    return cells;
  });
  const colLabels = ['test image', ...images[0].top.flatMap((_, k) => [`looks like (${k + 1})`, `that (${k + 1})`])];
  // Row labels stay short (the label margin is 200 px); similarity x weight = points are in the table "reasoning".
  const rowLabels = images.map((r) => (r.predicted === r.label ? names[r.label] : `${names[r.label]} (predicted ${names[r.predicted]})`));
  return {
    name: `reasoning-${ds.plan.dataset}`,
    caption:
      `"This looks like that" on ${ds.plan.label}: for each test image, the predicted class's top prototypes by points (similarity x ` +
      'last-layer weight). "looks like": the prototype\'s similarity over the latent grid, each cell drawn on its receptive field; ' +
      '"that": ' +
      "the prototype's source training image with its boxes. Rows: the true class. Similarity x weight = points of the shown " +
      'prototypes, and the logit that sums them over all prototypes, are in the table "reasoning".',
    spec: await labelledPanels({ title: `This looks like that — ${ds.plan.label}`, rows, colLabels, rowLabels, scale: scaleOf(ds) }),
  };
}

/** Per class, its first prototype and the k nearest training patches (one per image, RF box of the nearest cell). */
export async function nearestFigure(ds: DatasetSession, run: ProtoPNetRun): Promise<Figure> {
  const pushed = run.pushes[run.pushes.length - 1];
  const m = ds.plan.perClass;
  const shown = Array.from({ length: Math.min(ds.train.numClasses, ds.plan.galleryPrototypes) }, (_, c) => c * m);
  const { rf } = latentModel(run.model);
  const names = ds.train.classNames;
  const rows: PanelCell[][] = shown.map((j) => {
    const src = pushed[j];
    return [
      { image: imageOf(ds, 'train', src.image), boxes: [box(src.rfBox, RF), box(src.activationBox, ACT)] },
      ...run.nearest.neighbours[j].map((e) => ({
        image: imageOf(ds, 'train', e.image),
        boxes: [box(cellBox(rf, e.cell, [ds.train.height, ds.train.width]), RF)],
      })),
    ];
  });
  const rowLabels = shown.map((j) => {
    const list = run.nearest.neighbours[j];
    const own = list.filter((e) => e.label === run.prototypeClasses[j]).length;
    return `${names[run.prototypeClasses[j]]} #${j}: ${own}/${list.length} own class`;
  });
  return {
    name: `nearest-${ds.plan.dataset}`,
    caption:
      `Nearest training patches of one prototype per class on ${ds.plan.label} (each image contributes its closest latent cell; yellow: ` +
      "that cell's receptive field). The row label gives the class purity that pruning uses (a prototype with fewer than tau of k is " +
      'removed).',
    spec: await labelledPanels({
      title: `Nearest training patches per prototype — ${ds.plan.label}`,
      rows,
      colLabels: ['prototype', ...Array.from({ length: ds.plan.prune.k }, (_, k) => `nearest ${k + 1}`)],
      rowLabels,
      scale: scaleOf(ds),
    }),
  };
}

/** The critique: upsampled map and its 95th-percentile box against the RF box and the occlusion map of the prototype's similarity. */
export async function critiqueFigure(ds: DatasetSession, c: CritiqueResult, maps: SimilarityMaps): Promise<Figure> {
  const [H, W] = [ds.test.height, ds.test.width];
  const n = Math.min(4, c.images.length);
  const grid = pairMaps(
    maps,
    c.images.slice(0, n).map((i) => [i, c.prototypes[i]]),
    c.prototypes.slice(0, n),
  );
  const rows: PanelCell[][] = Array.from({ length: n }, (_, i) => {
    const marks = {
      boxes: [
        box(c.activationBoxes[i], ACT),
        box(c.rfBoxes[i], RF),
        box([c.peaks[i][0], c.peaks[i][1], c.peaks[i][0] + 1, c.peaks[i][1] + 1], PEAK),
      ],
    };
    const image = imageOf(ds, 'test', c.images[i]);
    return [
      { image, ...marks },
      { heat: c.upsampled.subarray(i * H * W, (i + 1) * H * W), width: W, height: H, boxes: [box(c.activationBoxes[i], ACT)] },
      { maps: grid, index: i, image, cmap: 'jet', boxes: [box(c.rfBoxes[i], RF)] },
      {
        maps: c.occlusion,
        index: i,
        image,
        cmap: 'jet',
        boxes: [box([c.peaks[i][0], c.peaks[i][1], c.peaks[i][0] + 1, c.peaks[i][1] + 1], PEAK)],
      },
    ];
  });
  return {
    name: `critique-${ds.plan.dataset}`,
    caption:
      `Are upsampled activation maps faithful? On ${ds.plan.label}, for test images and their class's top prototype: the image with ` +
      "the paper's 95th-percentile box (red), the receptive field of the most similar cell (yellow) and the centre of the window whose " +
      "occlusion lowers the prototype's similarity most (blue); the upsampled map; the map on the latent grid; the occlusion map. " +
      'Rows: the true class and the prototype (#index).',
    spec: await labelledPanels({
      title: `Upsampled map vs receptive field vs occlusion — ${ds.plan.label}`,
      rows,
      colLabels: ['image, boxes', 'upsampled map', 'latent grid', 'occlusion drop'],
      rowLabels: c.images.slice(0, n).map((i) => `${ds.test.classNames[ds.labels[i]]} #${c.prototypes[i]}`),
      scale: scaleOf(ds),
    }),
  };
}
