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
export function lineChart(opts: { title: string; xTitle: string; yTitle: string; series: Series[]; yRange?: [number, number]; logX?: boolean }): PlotSpec {
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
