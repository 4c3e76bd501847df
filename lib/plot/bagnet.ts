import type { PlotSpec } from './spec';
import { grid, heatmap, Raster, toRgb, upscale } from './images';

/**
 * Figure builders of the BagNet study: raster panels (images, heatmaps, patch galleries) with labels, scatter
 * plots with identity lines, grouped lines. Pure data in, plotly spec out (the PNG bytes of a raster panel are
 * encoded by the caller, see `encodePng` in ./images).
 */

/** One cell of a labelled panel: an image, or a heatmap drawn with RdBu_r symmetric around 0 (99th percentile). */
export type PanelCell = { image: Raster } | { heat: ArrayLike<number>; width: number; height: number; percentile?: number };

/** A heatmap as the reference code draws it: RdBu_r, symmetric around 0, clipped at the 99th percentile of |h|. */
export function evidenceRaster(values: ArrayLike<number>, width: number, height: number, percentile = 99): Raster {
  return heatmap(values, width, height, { symmetric: true, percentile, cmap: 'RdBu_r' });
}

/**
 * Cells laid out row by row into one raster, each cell upscaled by `scale` (nearest neighbour) to the size of the
 * largest; returns the raster and the pixel centres of the columns and rows (for labels).
 */
export function panelRaster(rows: readonly (readonly PanelCell[])[], scale: number, pad = 4): { raster: Raster; colCentres: number[]; rowCentres: number[] } {
  const cells: Raster[] = [];
  const cols = Math.max(...rows.map((r) => r.length));
  for (const row of rows) {
    for (let j = 0; j < cols; j++) {
      const cell = row[j];
      let r: Raster;
      if (!cell) r = { width: 1, height: 1, channels: 3, data: new Uint8Array([255, 255, 255]) };
      else if ('image' in cell) r = toRgb(cell.image);
      else r = evidenceRaster(cell.heat, cell.width, cell.height, cell.percentile ?? 99);
      cells.push(r);
    }
  }
  const cw = Math.max(...cells.map((c) => c.width));
  const ch = Math.max(...cells.map((c) => c.height));
  // Upscale every cell to (about) the same size so that patches of different sizes stay comparable.
  const scaled = cells.map((c) => upscale(c, Math.max(1, Math.round((scale * cw) / c.width))));
  const raster = grid(scaled, { cols, pad });
  const cellW = Math.max(...scaled.map((c) => c.width));
  const cellH = Math.max(...scaled.map((c) => c.height));
  return {
    raster,
    colCentres: Array.from({ length: cols }, (_, j) => pad + j * (cellW + pad) + cellW / 2),
    rowCentres: rows.map((_, i) => pad + i * (cellH + pad) + cellH / 2),
  };
}

/**
 * A raster shown as one plotly image trace (`source`: a PNG data URI), with column titles above and row labels on
 * the left. `png` is the raster's PNG encoding.
 */
export function rasterFigure(opts: {
  title: string;
  png: Uint8Array;
  width: number;
  height: number;
  colLabels?: { x: number; text: string }[];
  rowLabels?: { y: number; text: string }[];
}): PlotSpec {
  // The plot area gets exactly the raster's size (no scaling), plus margins for the labels.
  const left = opts.rowLabels?.length ? 200 : 10;
  const top = 60 + (opts.colLabels?.length ? 24 : 0);
  const annotations = [
    ...(opts.colLabels ?? []).map((c) => ({ x: c.x, y: 1, xref: 'x', yref: 'paper', text: c.text, showarrow: false, yanchor: 'bottom', font: { size: 12 } })),
    ...(opts.rowLabels ?? []).map((r) => ({ x: 0, y: r.y, xref: 'paper', yref: 'y', text: r.text, showarrow: false, xanchor: 'right', font: { size: 12 } })),
  ];
  const b64 = Buffer.from(opts.png).toString('base64');
  return {
    data: [{ type: 'image', source: `data:image/png;base64,${b64}`, x0: 0, y0: 0, dx: 1, dy: 1, hoverinfo: 'skip' }],
    layout: {
      title: { text: opts.title },
      width: opts.width + left + 10,
      height: opts.height + top + 10,
      margin: { t: top, l: left, r: 10, b: 10 },
      xaxis: { visible: false, range: [0, opts.width] },
      yaxis: { visible: false, range: [opts.height, 0] },
      annotations,
    },
  };
}

/** A scatter of (x, y) point sets with the identity line y = x (e.g. joint vs summed logit drops, per-class accuracies). */
export function identityScatter(opts: { title: string; xTitle: string; yTitle: string; sets: { name: string; x: number[]; y: number[]; text?: string[] }[] }): PlotSpec {
  const all = opts.sets.flatMap((s) => [...s.x, ...s.y]).filter((v) => Number.isFinite(v));
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  return {
    data: [
      ...opts.sets.map((s) => ({ type: 'scatter', mode: 'markers', name: s.name, x: s.x, y: s.y, text: s.text, marker: { size: 6, opacity: 0.7 } })),
      { type: 'scatter', mode: 'lines', name: 'y = x', x: [lo, hi], y: [lo, hi], line: { dash: 'dot', color: 'grey' } },
    ],
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: opts.xTitle } },
      yaxis: { title: { text: opts.yTitle } },
      legend: { orientation: 'h', y: -0.2 },
      margin: { t: 50, l: 60, r: 20, b: 80 },
    },
  };
}

/** Several line charts side by side sharing a y axis (e.g. one panel per target model). */
export function linePanels(opts: {
  title: string;
  xTitle: string;
  yTitle: string;
  panels: { title: string; series: { name: string; x: number[]; y: number[]; dash?: string }[] }[];
  colours?: Record<string, string>;
}): PlotSpec {
  const n = opts.panels.length;
  const gap = 0.06;
  const w = (1 - gap * (n - 1)) / n;
  const data: Record<string, unknown>[] = [];
  const layout: Record<string, unknown> = {
    title: { text: opts.title },
    legend: { orientation: 'h', y: -0.25 },
    margin: { t: 70, l: 60, r: 20, b: 90 },
    width: Math.max(720, 300 * n),
    annotations: [] as unknown[],
  };
  const seen = new Set<string>();
  opts.panels.forEach((p, i) => {
    const suffix = i === 0 ? '' : String(i + 1);
    layout[`xaxis${suffix}`] = { domain: [i * (w + gap), i * (w + gap) + w], title: { text: opts.xTitle }, anchor: `y${suffix}` };
    layout[`yaxis${suffix}`] = { anchor: `x${suffix}`, ...(i === 0 ? { title: { text: opts.yTitle } } : { matches: 'y' }) };
    (layout.annotations as unknown[]).push({ text: p.title, x: i * (w + gap) + w / 2, y: 1.02, xref: 'paper', yref: 'paper', showarrow: false, yanchor: 'bottom' });
    for (const s of p.series) {
      data.push({
        type: 'scatter',
        mode: 'lines+markers',
        name: s.name,
        legendgroup: s.name,
        showlegend: !seen.has(s.name),
        x: s.x,
        y: s.y,
        xaxis: `x${suffix}`,
        yaxis: `y${suffix}`,
        line: { dash: s.dash ?? 'solid', ...(opts.colours?.[s.name] ? { color: opts.colours[s.name] } : {}) },
      });
      seen.add(s.name);
    }
  });
  return { data, layout };
}
