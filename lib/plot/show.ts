import type { PlotSpec } from './spec';
import { escapeHtml, plotlyBundle, scriptJson } from './spec';

/** MIME type of plotly figures in Jupyter (JupyterLab renders it with its plotly extension; our reports do). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

let bundleSent = false;
let counter = 0;

/**
 * The HTML that draws a figure in a notebook page: a div and a script. The first figure of a kernel session also
 * carries plotly's bundle, so the notebook works offline; later ones reuse window.Plotly.
 */
export function figureHtml(spec: PlotSpec, id = `tessera-plot-${Date.now()}-${counter++}`): string {
  const loader = bundleSent ? '' : `<script>${plotlyBundle()}</script>`;
  bundleSent = true;
  return (
    `${loader}<div id="${escapeHtml(id)}"></div>` +
    `<script>(function(){var s=${scriptJson(spec)};` +
    `Plotly.newPlot(${JSON.stringify(id)}, s.data, s.layout, Object.assign({responsive:true}, s.config||{}));})();</script>`
  );
}

interface DisplayWriter {
  (data: { data: Record<string, unknown>; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean): void;
}

/** tslab's hook for writing display data, present only inside a tslab kernel or executor. */
function displayWriter(): DisplayWriter | null {
  try {
    return (require('tslab/dist/jupyter') as { lastWriteDisplayData: DisplayWriter | null }).lastWriteDisplayData;
  } catch {
    return null;
  }
}

/**
 * Shows a figure in a notebook: one display message carrying the plotly JSON (for reports and JupyterLab) and the
 * HTML that draws it (for any notebook front end). Outside a notebook it prints a one-line summary.
 */
export function show(spec: PlotSpec): void {
  const write = displayWriter();
  const title = (spec.layout.title as { text?: string } | undefined)?.text ?? 'figure';
  if (!write) {
    console.log(`[figure] ${title} (${spec.data.length} traces)`);
    return;
  }
  write({ data: { [PLOTLY_MIME]: spec, 'text/html': figureHtml(spec), 'text/plain': `[figure] ${title}` }, metadata: {}, transient: {} }, false);
}

/** Shows HTML (e.g. a table) in a notebook, or prints the fallback text outside one. */
export function showHtml(html: string, text: string): void {
  const write = displayWriter();
  if (!write) {
    console.log(text);
    return;
  }
  write({ data: { 'text/html': html, 'text/plain': text }, metadata: {}, transient: {} }, false);
}

/** Shows a PNG image in a notebook (e.g. a heatmap grid), or prints its size outside one. */
export function showPng(png: Uint8Array, caption = 'image'): void {
  const write = displayWriter();
  if (!write) {
    console.log(`[image] ${caption} (${png.length} bytes PNG)`);
    return;
  }
  write({ data: { 'image/png': Buffer.from(png).toString('base64'), 'text/plain': `[image] ${caption}` }, metadata: {}, transient: {} }, false);
}
