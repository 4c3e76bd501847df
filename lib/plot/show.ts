import type { PlotSpec } from './spec';
import { escapeHtml, plotlyBundlePath, scriptJson } from './spec';

/** MIME type of plotly figures in Jupyter (JupyterLab renders it with its plotly extension; our reports do). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

let counter = 0;

/**
 * The plotly bundle's URL relative to the notebook's folder (the kernel's folder before tslab-kernel.js moved to the
 * project root: TESSERA_NOTEBOOK_DIR), e.g. "../node_modules/plotly.js-dist-min/plotly.min.js".
 */
function bundleUrlFromNotebook(): string {
  const path = require('path') as typeof import('path');
  const from = process.env.TESSERA_NOTEBOOK_DIR ?? path.join(process.cwd(), 'notebooks');
  return path.relative(from, plotlyBundlePath()).split(path.sep).join('/');
}

/**
 * Browser code: `tesseraPlotly(hint)` resolves to window.Plotly, loading the bundle once per page when missing. Where
 * from: the bundle's URL relative to the notebook (a hidden <input src>, which JupyterLab and Notebook 7 rewrite to the
 * server's /files/ URL after rendering, and which the classic Notebook resolves against the notebook's page), else the
 * server root's node_modules (`npm run lab` serves the project root). Kept in one promise on window, so many figures
 * wait on one load.
 */
const LOADER = `function tesseraPlotly(hint){var w=window;if(w.Plotly)return Promise.resolve(w.Plotly);
if(w.__tesseraPlotly)return w.__tesseraPlotly;
function base(){try{var c=document.getElementById('jupyter-config-data');if(c)return JSON.parse(c.textContent).baseUrl||'/';}catch(e){}
return (document.body&&document.body.getAttribute('data-base-url'))||'/';}
function resolved(){return new Promise(function(ok){var t0=Date.now();(function wait(){var a=hint.getAttribute('src')||'';
if(/\\/files\\//.test(a)||Date.now()-t0>1500)return ok(hint.src);setTimeout(wait,50);})();});}
w.__tesseraPlotly=resolved().then(function(first){
var urls=[first,base().replace(/\\/?$/,'/')+'files/node_modules/plotly.js-dist-min/plotly.min.js'];
return new Promise(function(ok,fail){(function next(i){if(i>=urls.length){w.__tesseraPlotly=null;return fail(new Error(urls.join(', ')));}
var s=document.createElement('script');s.src=urls[i];s.onload=function(){w.Plotly?ok(w.Plotly):next(i+1);};
s.onerror=function(){s.remove();next(i+1);};document.head.appendChild(s);})(0);});});return w.__tesseraPlotly;}`;

/**
 * The HTML that draws a figure in a notebook page: a div and a script that draws into it, loading plotly first when
 * the page has none (after a reload, in a second tab, in a new kernel session). The bundle is never inlined, so a
 * saved notebook stays small; the HTML reports inline it once (lib/report/html.ts).
 */
export function figureHtml(spec: PlotSpec, id = `tessera-plot-${Date.now()}-${counter++}`): string {
  const div = JSON.stringify(id);
  return (
    `<div id="${escapeHtml(id)}"></div><input type="hidden" id="${escapeHtml(id)}-src" src="${escapeHtml(bundleUrlFromNotebook())}">` +
    `<script>(function(){${LOADER}var s=${scriptJson(spec)};var hint=document.getElementById(${JSON.stringify(`${id}-src`)});` +
    `tesseraPlotly(hint).then(function(P){P.newPlot(${div}, s.data, s.layout, Object.assign({responsive:true}, s.config||{}));},` +
    `function(e){document.getElementById(${div}).textContent='plotly could not be loaded from '+e.message+': start Jupyter from the ` +
    `project root (npm run lab) or open the HTML report';});})();</script>`
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
  write(
    { data: { [PLOTLY_MIME]: spec, 'text/html': figureHtml(spec), 'text/plain': `[figure] ${title}` }, metadata: {}, transient: {} },
    false,
  );
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
  write(
    { data: { 'image/png': Buffer.from(png).toString('base64'), 'text/plain': `[image] ${caption}` }, metadata: {}, transient: {} },
    false,
  );
}
