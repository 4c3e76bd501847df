import type { PlotSpec } from './spec';

/** One series of a grouped bar chart: a value per category and its interval [low, high] (drawn as an error bar). */
export interface IntervalSeries {
  name: string;
  values: number[];
  low: number[];
  high: number[];
}

/**
 * Grouped bars with interval whiskers, e.g. accuracy per model with Wilson intervals, or a proxy per method with
 * bootstrap intervals. Traces: one bar trace per series, `error_y` asymmetric arrays (high - value, value - low);
 * optional dashed horizontal reference lines (e.g. chance).
 */
export function intervalBars(opts: {
  title: string;
  yTitle: string;
  categories: string[];
  series: IntervalSeries[];
  references?: { name: string; y: number }[];
  yRange?: [number, number];
}): PlotSpec {
  for (const s of opts.series) {
    if (s.values.length !== opts.categories.length || s.low.length !== s.values.length || s.high.length !== s.values.length) {
      throw new Error(`intervalBars: series "${s.name}" needs ${opts.categories.length} values, lows and highs (one per category)`);
    }
  }
  const bars = opts.series.map((s) => ({
    type: 'bar',
    name: s.name,
    x: opts.categories,
    y: s.values,
    error_y: {
      type: 'data',
      symmetric: false,
      array: s.values.map((v, i) => s.high[i] - v),
      arrayminus: s.values.map((v, i) => v - s.low[i]),
    },
  }));
  const refs = (opts.references ?? []).map((r) => ({
    type: 'scatter',
    mode: 'lines',
    name: r.name,
    x: opts.categories,
    y: opts.categories.map(() => r.y),
    line: { dash: 'dash' },
  }));
  return {
    data: [...bars, ...refs],
    layout: {
      title: { text: opts.title },
      barmode: 'group',
      yaxis: { title: { text: opts.yTitle }, ...(opts.yRange ? { range: opts.yRange } : {}) },
      legend: { orientation: 'h', y: -0.2 },
      margin: { t: 50, l: 60, r: 20, b: 80 },
    },
  };
}
