import type { PlotSpec } from './spec';

/** A scatter of (x, y) point sets with the identity line y = x (e.g. joint vs summed logit drops, per-class accuracies). */
export function identityScatter(opts: {
  title: string;
  xTitle: string;
  yTitle: string;
  sets: { name: string; x: number[]; y: number[]; text?: string[] }[];
}): PlotSpec {
  const all = opts.sets.flatMap((s) => [...s.x, ...s.y]).filter((v) => Number.isFinite(v));
  const lo = all.length ? Math.min(...all) : 0;
  const hi = all.length ? Math.max(...all) : 1;
  return {
    data: [
      ...opts.sets.map((s) => ({ type: 'scatter', mode: 'markers', ...s, marker: { size: 6, opacity: 0.7 } })),
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
