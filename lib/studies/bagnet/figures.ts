import { cropPatch } from '../../explain/patches';
import { fromBytes, Raster } from '../../plot/images';
import { lineChart, linePanels } from '../../plot/line';
import { labelledPanels, PanelCell } from '../../plot/panels';
import { identityScatter } from '../../plot/scatter';
import type { Figure, Interval } from '../types';
import type { AccuracyResult } from './accuracy';
import { fix } from './format';
import type { HeatmapResult } from './heatmaps';
import type { OcclusionResult } from './occlusion';
import type { PointingResult, PointingScore } from './pointing';
import type { RemovalResult } from './removal';
import type { DatasetMeasures } from './results';
import type { ScrambleResult } from './scrambling';
import type { DatasetSession } from './session';

/**
 * The study's figures, built from the steps' results (no model runs here; `ds` gives labels, images and names).
 * Figure names end in the dataset name, e.g. fig1-accuracy-vs-q-fashion-mnist: the committed figures use them.
 */

/** Every figure of one dataset, by experiment. */
export interface DatasetFigures {
  accuracy: { vsQ: Figure; perClass: Figure; logitCorrelation: Figure };
  heatmaps: { maps: Figure; gallery: Figure; wrong?: Figure };
  scrambling: Figure;
  occlusion: { r: Figure; scatter: Figure };
  removal: { logit: Figure; accuracy: Figure };
  pointing?: Figure;
}

/** The figures of one dataset in the study's order (results.json lists them so). */
export function figureList(f: DatasetFigures): Figure[] {
  const { accuracy: a, heatmaps: h, occlusion: o, removal: r } = f;
  const list = [a.vsQ, a.perClass, a.logitCorrelation, h.maps, h.gallery, h.wrong];
  list.push(f.scrambling, o.r, o.scatter, r.logit, r.accuracy, f.pointing);
  return list.filter((x): x is Figure => x !== undefined);
}

/** Every figure of one dataset. */
export async function datasetFigures(ds: DatasetSession, m: DatasetMeasures): Promise<DatasetFigures> {
  return {
    accuracy: accuracyFigures(ds, m.accuracy),
    heatmaps: await heatmapFigures(ds, m.heatmaps),
    scrambling: scramblingFigure(ds, m.scrambling),
    occlusion: occlusionFigures(ds, m.occlusion),
    removal: removalFigures(ds, m.removal),
    pointing: m.pointing && pointingFigure(ds, m.pointing),
  };
}

/** Figure 1 (accuracy against q) and Figure 6 (per-class accuracy, logit correlation against q). */
export function accuracyFigures(ds: DatasetSession, acc: AccuracyResult): DatasetFigures['accuracy'] {
  const { plan, bagnets, cnns, largest } = ds;
  const tag = plan.dataset;
  const qs = bagnets.map((b) => b.q!);
  return {
    vsQ: {
      name: `fig1-accuracy-vs-q-${tag}`,
      caption:
        `Fig. 1: test accuracy (top-1, ${ds.counts.eval} test images, 95% Wilson intervals) of BagNet-q against q on ${plan.label}, ` +
        "with the CNNs as dashed reference lines (the paper's Fig. 1B). Every model trained on the same budget.",
      spec: withErrorBars(
        0,
        bagnets.map((b) => acc.accuracy[b.key]),
        bagnets.map((b) => acc.accuracyInterval[b.key]),
        lineChart({
          title: `Accuracy against patch size q — ${plan.label}`,
          xTitle: 'patch size q (pixels)',
          yTitle: 'test accuracy (top-1)',
          series: [
            { name: 'BagNet-q', x: qs, y: bagnets.map((b) => acc.accuracy[b.key]) },
            ...cnns.map((c) => ({
              name: c.label,
              x: [plan.qs[0], plan.qs[plan.qs.length - 1]],
              y: [acc.accuracy[c.key], acc.accuracy[c.key]],
              reference: true,
            })),
          ],
        }),
      ),
    },
    perClass: {
      name: `fig6-per-class-accuracy-${tag}`,
      caption:
        `Fig. 6a: per-class accuracy of ${largest.label} against each CNN on ${plan.label} (one point per class; Pearson r in the ` +
        'legend).',
      spec: identityScatter({
        title: `Per-class accuracy: ${largest.label} vs CNNs — ${plan.label}`,
        xTitle: `${largest.label} per-class accuracy`,
        yTitle: 'CNN per-class accuracy',
        sets: cnns.map((c) => ({
          name: `${c.label} (r = ${fix(acc.accuracyR[c.key][largest.key], 2)})`,
          x: acc.perClass[largest.key],
          y: acc.perClass[c.key],
          text: ds.test.classNames,
        })),
      }),
    },
    logitCorrelation: {
      name: `fig6-logit-correlation-${tag}`,
      caption:
        "Fig. 6b: correlation of BagNet-q logits with each CNN's logits (logits centred per image, Pearson r over images x " +
        `classes) against q on ${plan.label} (the paper's Fig. 1C).`,
      spec: lineChart({
        title: `Logit correlation with the CNNs against q — ${plan.label}`,
        xTitle: 'patch size q (pixels)',
        yTitle: 'Pearson r of logits',
        series: cnns.map((c) => ({ name: c.label, x: qs, y: bagnets.map((b) => acc.logitR[c.key][b.key]) })),
      }),
    },
  };
}

/** Figure 2 a-c: heatmaps per q (map and sweep), top patches per class, patches behind wrong predictions. */
export async function heatmapFigures(ds: DatasetSession, heat: HeatmapResult): Promise<DatasetFigures['heatmaps']> {
  const { plan, test, labels, largest } = ds;
  const [H, W, C] = test.imageShape;
  const tag = plan.dataset;
  const imageRaster = (i: number): Raster => fromBytes(test.imageBytes(i), W, H, C);
  const crop = (i: number, p: { y0: number; x0: number; size: number }) => cropPatch(test.imageBytes(i), H, W, C, p);
  const magnify = Math.max(1, Math.round(128 / W));
  // Maps are placed through their geometry: a coarse patch-logit map covers only the tiles around its patches' centres.
  const nHeat = Object.values(heat.planes)[0]?.maps.n ?? 0;
  const heatRows: PanelCell[][] = Array.from({ length: nHeat }, (_, i) => [
    { image: imageRaster(i) },
    ...ds.bagnets.flatMap((b) => [
      { maps: heat.planes[b.key].maps, index: i },
      { maps: heat.planes[b.key].sweeps, index: i },
    ]),
  ]);
  const maps: Figure = {
    name: `fig2-heatmaps-${tag}`,
    caption:
      `Fig. 2a: class evidence for the true class on ${plan.label} test images: per-location logit maps (one q x q patch every ` +
      `${heat.geometry.jump} px) and the exact per-pixel patch sweep, for each q (RdBu_r, symmetric, clipped at the 99th ` +
      'percentile; red = evidence for the class).',
    spec: await labelledPanels({
      title: `Class-evidence heatmaps — ${plan.label}`,
      rows: heatRows,
      colLabels: ['image', ...ds.bagnets.flatMap((b) => [`q=${b.q} map`, `q=${b.q} sweep`])],
      rowLabels: heatRows.map((_, i) => test.classNames[labels[i]].slice(0, 26)),
      scale: magnify,
    }),
  };
  const galleryRows: PanelCell[][] = heat.gallery.map((top) => top.map((p) => ({ image: crop(p.image, p) })));
  const q = heat.geometry.q;
  const gallery: Figure = {
    name: `fig2-gallery-${tag}`,
    caption:
      `Fig. 2b: the ${plan.galleryPerClass} most predictive ${q}x${q} patches of every class (highest class logit of ` +
      `${largest.label} over ${ds.counts.check} test images) on ${plan.label}.`,
    spec: await labelledPanels({
      title: `Top patches per class, ${largest.label}`,
      rows: galleryRows,
      colLabels: galleryRows[0].map((_, j) => `#${j + 1}`),
      rowLabels: test.classNames.map((n) => n.slice(0, 26)),
      scale: 4,
    }),
  };
  if (!heat.wrong.length) return { maps, gallery };
  const wrong: Figure = {
    name: `fig2-wrong-${tag}`,
    caption:
      `Fig. 2c: ${largest.label} mistakes on ${plan.label}: the image, the map of (predicted - true) class logits per patch, ` +
      'and the three patches that favour the wrong class most.',
    spec: await labelledPanels({
      title: `Behind wrong predictions, ${largest.label}`,
      rows: heat.wrong.map((e) => [
        { image: imageRaster(e.image) },
        { maps: e.diff, index: 0 },
        ...e.top.map((t) => ({ image: crop(e.image, t) })),
      ]),
      colLabels: ['image', 'pred - true', 'patch 1', 'patch 2', 'patch 3'],
      rowLabels: heat.wrong.map((e) => `${test.classNames[e.label].slice(0, 12)} → ${test.classNames[e.predicted].slice(0, 12)}`),
      scale: magnify,
    }),
  };
  return { maps, gallery, wrong };
}

/** Figure 3: accuracy against the scrambling tile size, per model, with the BagNets' intact-patch controls (dashed). */
export function scramblingFigure(ds: DatasetSession, scr: ScrambleResult): Figure {
  const { plan } = ds;
  const spec = lineChart({
    title: `Tile scrambling — ${plan.label}`,
    xTitle: 'tile size t (pixels)',
    yTitle: 'test accuracy (top-1)',
    logX: true,
    series: [
      ...ds.models.map((m) => ({ name: m.label, x: scr.tiles, y: scr.accuracy[m.key] })),
      ...ds.bagnets.map((b) => ({ name: `${b.label}, intact patches only`, x: scr.tiles, y: scr.controlAccuracy[b.key] })),
    ],
  });
  (spec.layout.xaxis as Record<string, unknown>).tickvals = scr.tiles;
  for (const trace of spec.data.slice(ds.models.length) as Record<string, unknown>[])
    trace.line = { ...(trace.line as object), dash: 'dot' };
  const j = scr.tiles.indexOf(scr.compareTile);
  return {
    name: `fig3-scrambling-${plan.dataset}`,
    caption:
      `Fig. 3: accuracy on images whose t x t tiles are shuffled (our proxy for the paper's texturised images), against t, for ` +
      `every model on ${plan.label} (t = ${ds.test.height}: unscrambled). Dotted: each BagNet's logits averaged over its intact ` +
      `patches only (no seam evidence). At the compare tile t = ${scr.compareTile}, intact patches: ` +
      `${ds.bagnets.map((b) => `${b.label} ${(100 * scr.intact[b.key][j]).toFixed(0)}%`).join(', ')}.`,
    spec,
  };
}

/** Figure 4: occlusion linearity against the gap, and joint against summed drops at the smallest and largest gap. */
export function occlusionFigures(ds: DatasetSession, occ: OcclusionResult): DatasetFigures['occlusion'] {
  const { plan, largest, cnns } = ds;
  const { settings, distances } = occ;
  const dNear = distances[0];
  const dFar = distances[distances.length - 1];
  return {
    r: {
      name: `fig4-occlusion-r-${plan.dataset}`,
      caption:
        `Fig. 4a: Pearson r between the class-logit drop when two ${settings.patch}x${settings.patch} patches are masked together ` +
        `and the sum of the drops when each is masked alone, against the gap d between the patches (${occ.images} images, ` +
        `${settings.perDistance} pairs per gap and image, mean-colour fill), per model on ${plan.label}. A BagNet is exactly ` +
        'additive for d >= q - 1.',
      spec: lineChart({
        title: `Occlusion linearity against distance — ${plan.label}`,
        xTitle: 'gap d between the masked patches (pixels)',
        yTitle: 'Pearson r (joint vs summed drop)',
        series: ds.models.map((m) => ({ name: m.label, x: distances, y: occ.r[m.key] })),
      }),
    },
    scatter: {
      name: `fig4-occlusion-scatter-${plan.dataset}`,
      caption:
        `Fig. 4b: joint against summed logit drops at the smallest (d=${dNear}) and largest (d=${dFar}) gap, for ` +
        `${largest.label} and the CNNs on ${plan.label}.`,
      spec: identityScatter({
        title: `Joint vs summed occlusion effects — ${plan.label}`,
        xTitle: 'drop(a) + drop(b)',
        yTitle: 'drop(a and b)',
        sets: [largest, ...cnns].flatMap((m) =>
          [dNear, dFar].map((d) => {
            const e = occ.effects[m.key].filter((p) => p.distance === d);
            return { name: `${m.label}, d=${d}`, x: e.map((p) => p.deltaA + p.deltaB), y: e.map((p) => p.deltaAB) };
          }),
        ),
      }),
    },
  };
}

/** Figure 5: true-class logit and accuracy against the number of masked cells, per model and ranking. */
export function removalFigures(ds: DatasetSession, rem: RemovalResult): DatasetFigures['removal'] {
  const { plan, largest, cnns } = ds;
  const { settings, names } = rem;
  const palette = ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b'];
  const colours: Record<string, string> = { [names.sweep]: '#d62728', [names.masking]: '#ff7f0e', [names.random]: '#7f7f7f' };
  Object.values(names.methods).forEach((n, i) => (colours[n] = palette[i % palette.length]));
  const panels = (y: 'meanLogit' | 'accuracy') =>
    [largest, ...cnns].map((m) => ({
      title: m.label,
      series: Object.entries(rem.curves[m.key]).map(([name, c]) => ({ name, x: rem.ks, y: c[y] })),
    }));
  return {
    logit: {
      name: `fig5-removal-logit-${plan.dataset}`,
      caption:
        `Fig. 5a: mean true-class logit after masking the k most predictive ${settings.cell}x${settings.cell} cells (mean-colour ` +
        `fill; ${rem.images} images), cells ranked by ${largest.label}'s heatmap, by its exact single-cell masking effect, by ` +
        `each attribution method on the masked model itself (${settings.methods.join(', ')}; baseline ${settings.baseline}), or ` +
        `at random (mean of ${settings.randomOrders} orders); on ${plan.label}.`,
      spec: linePanels({
        title: `Patch removal: class logit — ${plan.label}`,
        xTitle: 'masked cells k',
        yTitle: 'mean true-class logit',
        colours,
        panels: panels('meanLogit'),
      }),
    },
    accuracy: {
      name: `fig5-removal-accuracy-${plan.dataset}`,
      caption: `Fig. 5b: accuracy after masking the k most predictive cells, as in Fig. 5a, on ${plan.label}.`,
      spec: linePanels({
        title: `Patch removal: accuracy — ${plan.label}`,
        xTitle: 'masked cells k',
        yTitle: 'accuracy (top-1)',
        colours,
        panels: panels('accuracy'),
      }),
    },
  };
}

/** Figure 2d: pointing-game hit rate and evidence on the parts against q, with their chance levels. */
export function pointingFigure(ds: DatasetSession, pt: PointingResult): Figure {
  const { plan, bagnets } = ds;
  const qs = bagnets.map((b) => b.q!);
  const line = (name: string, field: Exclude<keyof PointingScore, 'images' | 'hitInterval'>) => ({
    name,
    x: qs,
    y: bagnets.map((b) => pt.scores[b.key][field]),
  });
  return {
    name: `fig2-pointing-${plan.dataset}`,
    caption:
      `Fig. 2d: do BagNet heatmaps (per-pixel sweep, true class) point at the class's discriminative parts? Pointing-game hit ` +
      `rate (maximum within ${pt.tolerance} px of a discriminative part) and the share of positive evidence on those parts, ` +
      `against q, with their chance levels, on ${pt.images} ${plan.label} test images.`,
    spec: lineChart({
      title: `Heatmaps on the discriminative parts — ${plan.label}`,
      xTitle: 'patch size q (pixels)',
      yTitle: 'fraction',
      series: [
        line('pointing-game hit rate', 'hitRate'),
        line('chance (random point)', 'chance'),
        line('positive evidence on the parts', 'massOnTarget'),
        line('area of the parts', 'areaFraction'),
      ],
      yRange: [0, 1],
    }),
  };
}

/** Adds error bars (intervals) to trace `index` of a line chart whose y values are `y`. */
function withErrorBars<T extends { data: unknown[] }>(index: number, y: number[], intervals: Interval[], spec: T): T {
  const trace = spec.data[index] as Record<string, unknown>;
  trace.error_y = {
    type: 'data',
    symmetric: false,
    array: intervals.map((iv, i) => iv.high - y[i]),
    arrayminus: intervals.map((iv, i) => y[i] - iv.low),
  };
  return spec;
}
