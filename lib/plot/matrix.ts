import type { PlotSpec } from './spec';

/**
 * A table drawn as a heatmap: one row per entry, one column per measure, each cell coloured by `shade` (in [0, 1],
 * NaN = no value, drawn blank) and labelled with `text`. Trace: one plotly heatmap with text on the cells.
 */
export function matrixTable(opts: {
  title: string;
  rows: string[];
  cols: string[];
  /** shade[i][j] in [0, 1] (e.g. 1 = the best in its column). */
  shade: number[][];
  text: string[][];
  colourTitle?: string;
}): PlotSpec {
  const { rows, cols } = opts;
  return {
    data: [
      {
        type: 'heatmap',
        x: cols,
        y: rows,
        z: opts.shade.map((r) => r.map((v) => (Number.isFinite(v) ? v : null))),
        text: opts.text,
        texttemplate: '%{text}',
        textfont: { size: 10 },
        colorscale: 'Viridis',
        zmin: 0,
        zmax: 1,
        hoverongaps: false,
        colorbar: { title: { text: opts.colourTitle ?? '' } },
      },
    ],
    layout: {
      title: { text: opts.title, y: 0.98, yanchor: 'top' },
      width: Math.max(720, 200 + 130 * cols.length),
      // Room above the plot for the title and two-line column titles.
      height: Math.max(360, 190 + 26 * rows.length),
      margin: { t: 120, l: 260, r: 20, b: 40 },
      xaxis: { side: 'top', tickangle: 0 },
      yaxis: { autorange: 'reversed', automargin: true },
    },
  };
}
