import type { PlotSpec } from './spec';

/** One named series of (x, y) points. */
export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** Draw as a dashed horizontal reference line instead of markers and lines. */
  reference?: boolean;
}

/**
 * A line chart of several series, e.g. accuracy against patch size with reference models as dashed lines.
 * Traces: one scatter (lines+markers) per series.
 */
export function lineChart(opts: {
  title: string;
  xTitle: string;
  yTitle: string;
  series: Series[];
  yRange?: [number, number];
  logX?: boolean;
}): PlotSpec {
  return {
    data: opts.series.map((s) => ({
      type: 'scatter',
      mode: s.reference ? 'lines' : 'lines+markers',
      name: s.name,
      x: s.x,
      y: s.y,
      line: s.reference ? { dash: 'dash' } : {},
    })),
    layout: {
      title: { text: opts.title },
      xaxis: { title: { text: opts.xTitle }, type: opts.logX ? 'log' : 'linear' },
      yaxis: { title: { text: opts.yTitle }, ...(opts.yRange ? { range: opts.yRange } : {}) },
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
    const left = i * (w + gap);
    layout[`xaxis${suffix}`] = { domain: [left, left + w], title: { text: opts.xTitle }, anchor: `y${suffix}` };
    layout[`yaxis${suffix}`] = { anchor: `x${suffix}`, ...(i === 0 ? { title: { text: opts.yTitle } } : { matches: 'y' }) };
    const title = { text: p.title, x: left + w / 2, y: 1.02, xref: 'paper', yref: 'paper', showarrow: false, yanchor: 'bottom' };
    (layout.annotations as unknown[]).push(title);
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
