import { fromBytes, fromFloats, Raster } from '../../plot/images';
import { labelledPanels, PanelCell } from '../../plot/panels';
import type { PlotSpec } from '../../plot/spec';
import type { ArchitectureSummaries } from './results';
import type { Session } from './session';
import type { ClassSummaries, Member } from './summaries';

const RED: [number, number, number] = [230, 30, 30];
const CYAN: [number, number, number] = [0, 220, 230];

/** The test image `index` as a raster. */
export function imageRaster(s: Session, index: number): Raster {
  const [h, w, c] = s.test.imageShape;
  return fromBytes(s.test.imageBytes(index).slice(), w, h, c);
}

/** The reference's rendering of a member: grey (64) outside the salient regions, the box in red, region contours in cyan. */
export function memberCell(s: Session, m: Member, mask: Uint8Array): PanelCell {
  const img = imageRaster(s, m.image);
  for (let p = 0; p < mask.length; p++) if (!mask[p]) img.data.fill(64, p * img.channels, (p + 1) * img.channels);
  return {
    image: img,
    boxes: [{ x0: m.box[0], y0: m.box[1], x1: m.box[2], y1: m.box[3], colour: RED }],
    contours: [{ mask, colour: CYAN }],
  };
}

/**
 * The paper's mask figure: image, smooth (stage 1) and crisp (stage 2) saliency 1 - m, and the image with the crisp
 * mask's regions blurred away.
 */
export async function maskFigure(s: Session, r: ArchitectureSummaries, count: number): Promise<PlotSpec> {
  const [h, w] = s.test.imageShape;
  const shown = r.masks.filter((_, i) => i % Math.max(1, Math.floor(r.masks.length / count)) === 0).slice(0, count);
  const sal = (m: Float32Array) =>
    fromFloats(
      Array.from(m, (v) => 1 - v),
      w,
      h,
      1,
    );
  const rows = shown.map((m) => {
    const binary = Uint8Array.from(m.crisp, (v) => (1 - v > 0.5 ? 1 : 0));
    return [
      { image: imageRaster(s, m.index), contours: [{ mask: binary, colour: CYAN }] },
      { image: sal(m.smooth) },
      { image: sal(m.crisp) },
    ] as PanelCell[];
  });
  return labelledPanels({
    title: `Smooth vs crisp masks (${r.label}): saliency 1 - m, white = blurred; cyan = crisp regions`,
    rows,
    colLabels: ['image', 'smooth (stage 1)', 'crisp (stage 2)'],
    rowLabels: shown.map(
      (m) =>
        `${s.test.classNames[m.label]}<br>drop ${(100 * m.smoothStats.drop).toFixed(0)}% -> ${(100 * m.crispStats.drop).toFixed(0)}%` +
        `<br>area ${(100 * m.smoothStats.area).toFixed(0)}% -> ${(100 * m.crispStats.area).toFixed(0)}%`,
    ),
    scale: 3,
  });
}

/** Summaries of an architecture: one row per summary (class, dominant part, purity), its members as the reference draws them. */
export async function summariesFigure(
  s: Session,
  r: ArchitectureSummaries,
  which: 'classes' | 'ablation',
  maxRows: number,
  maxMembers: number,
): Promise<PlotSpec> {
  const names = s.test.truth.partNames ?? [];
  const rows: PanelCell[][] = [];
  const labels: string[] = [];
  for (const c of r[which] as ClassSummaries[]) {
    for (const sm of c.summaries) {
      if (rows.length >= maxRows) break;
      rows.push(sm.members.slice(0, maxMembers).map((m) => memberCell(s, m, c.regionMasks.get(m.image)!)));
      labels.push(
        `${s.test.classNames[c.label]}<br>${sm.part === 0 ? 'background' : names[sm.part - 1]}: ${(100 * sm.purity).toFixed(0)}% pure, ` +
          `${sm.members.length} regions`,
      );
    }
  }
  if (!rows.length) {
    rows.push([{ image: fromFloats([0.5], 1, 1, 1) }]);
    labels.push('no summary kept');
  }
  return labelledPanels({
    title:
      `Visual summaries of ${r.label} (${which === 'classes' ? 'Proposal Flow' : 'ablation: CNN features + position'}); red = ` +
      `region, cyan = salient regions`,
    rows,
    rowLabels: labels,
    scale: 2,
  });
}

/** The paper's table as a figure: mean summaries per class (+- sd) against test accuracy, per architecture, both similarities. */
export function countsFigure(table: ReturnType<typeof import('./results').summaryTable>): PlotSpec {
  // Architecture names on the main trace only (the ablation's markers sit on the same x).
  const trace = (name: string, y: number[], err: number[] | null, symbol: string) => ({
    type: 'scatter',
    mode: err ? 'markers+text' : 'markers',
    name,
    x: table.map((r) => r.accuracy),
    y,
    ...(err ? { text: table.map((r) => r.architecture), textposition: 'middle right' } : {}),
    marker: { size: 11, symbol },
    ...(err ? { error_y: { type: 'data', array: err, visible: true } } : {}),
  });
  const xs = table.map((r) => r.accuracy);
  return {
    data: [
      trace(
        'Proposal Flow (mean +- sd over classes)',
        table.map((r) => r.summariesPerClass),
        table.map((r) => r.summariesSd),
        'circle',
      ),
      trace(
        'ablation: CNN features + position',
        table.map((r) => r.ablationSummariesPerClass),
        null,
        'diamond',
      ),
    ],
    layout: {
      title: { text: 'Summaries per class against test accuracy' },
      xaxis: { title: { text: 'test accuracy (parts-birds)' }, range: [Math.min(...xs) - 0.05, Math.max(...xs) + 0.1] },
      yaxis: { title: { text: 'summaries per class' }, rangemode: 'tozero' },
      legend: { orientation: 'h', y: -0.2 },
      width: 720,
      height: 480,
    },
  };
}

/** Part purity of the summaries against chance, per architecture. */
export function purityFigure(table: ReturnType<typeof import('./results').summaryTable>): PlotSpec {
  const bar = (name: string, y: number[]) => ({ type: 'bar', name, x: table.map((r) => r.architecture), y });
  return {
    data: [
      bar(
        'purity (Proposal Flow)',
        table.map((r) => r.purity),
      ),
      bar(
        'purity (ablation)',
        table.map((r) => r.ablationPurity),
      ),
      bar(
        'chance purity',
        table.map((r) => r.chancePurity),
      ),
    ],
    layout: {
      title: { text: 'Part purity of the summaries (share of members showing the same ground-truth part)' },
      barmode: 'group',
      yaxis: { title: { text: 'purity' }, range: [0, 1] },
      width: 720,
      height: 480,
    },
  };
}
