import { marked } from 'marked';
import { escapeHtml, plotlyBundle, scriptJson } from '../plot/spec';
import type { PlotSpec } from '../plot/spec';
import { PLOTLY_MIME } from '../plot/show';
import { tableHtml } from '../plot/table';
import { Claim, StudyOutput, Verdict, verdictOf } from '../studies/types';
import { claimsTableHtml, REPORT_CSS } from './claims';

/** The parts of nbformat 4 that reports read. */
export interface NotebookOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface NotebookCell {
  /** nbformat 4.5 cell id. */
  id?: string;
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  outputs?: NotebookOutput[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: Record<string, unknown>;
  nbformat: number;
  nbformat_minor: number;
}

export function joinText(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join('') : (text ?? '');
}

/** Terminal text as a reader sees it: ANSI colours dropped, carriage-return redraws collapsed to their last state. */
export function cleanTerminalText(text: string): string {
  // eslint-disable-next-line no-control-regex
  const noAnsi = text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  return noAnsi
    .split('\n')
    .map((line) => {
      const parts = line.split('\r').filter((p) => p.length > 0);
      return parts.length ? parts[parts.length - 1] : '';
    })
    .join('\n');
}

let plotCounter = 0;

function plotDiv(spec: PlotSpec): string {
  const id = `plot-${plotCounter++}`;
  return (
    `<div id="${id}" class="plot"></div><script>(function(){var s=${scriptJson(spec)};` +
    `Plotly.newPlot('${id}', s.data, s.layout, Object.assign({responsive:true}, s.config||{}));})();</script>`
  );
}

/** One output, in the richest form a static page can show. */
function outputHtml(out: NotebookOutput): string {
  switch (out.output_type) {
    case 'stream': {
      const text = cleanTerminalText(joinText(out.text));
      return text.trim() ? `<pre class="${out.name === 'stderr' ? 'stderr' : 'stdout'}">${escapeHtml(text)}</pre>` : '';
    }
    case 'error':
      const text = cleanTerminalText([`${out.ename}: ${out.evalue}`, ...(out.traceback ?? [])].join('\n'));
      return `<pre class="error">${escapeHtml(text)}</pre>`;
    default: {
      const data = out.data ?? {};
      if (data[PLOTLY_MIME]) return plotDiv(data[PLOTLY_MIME] as PlotSpec);
      if (data['image/png']) return `<img src="data:image/png;base64,${joinText(data['image/png'] as string)}">`;
      if (data['image/jpeg']) return `<img src="data:image/jpeg;base64,${joinText(data['image/jpeg'] as string)}">`;
      if (data['image/svg+xml']) return joinText(data['image/svg+xml'] as string);
      if (data['text/html']) return joinText(data['text/html'] as string);
      if (data['text/markdown']) return marked.parse(joinText(data['text/markdown'] as string), { async: false }) as string;
      if (data['text/plain']) return `<pre>${escapeHtml(joinText(data['text/plain'] as string))}</pre>`;
      return '';
    }
  }
}

/** A self-contained page: CSS, plotly inlined when a plot needs it, the body. */
export function page(title: string, body: string): string {
  const needsPlotly = body.includes('Plotly.newPlot');
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${REPORT_CSS}</style>` +
    (needsPlotly ? `<script>${plotlyBundle()}</script>` : '') +
    `</head><body>\n${body}\n</body></html>\n`
  );
}

/** An executed notebook as a self-contained HTML report (sources, prompts with execution counts, all outputs). */
export function notebookHtml(nb: Notebook, title: string): string {
  const cells = nb.cells.map((cell) => {
    const source = joinText(cell.source);
    if (cell.cell_type === 'markdown') return `<div class="cell markdown">${marked.parse(source, { async: false }) as string}</div>`;
    if (cell.cell_type === 'raw') return `<div class="cell raw"><pre>${escapeHtml(source)}</pre></div>`;
    const count = cell.execution_count ?? ' ';
    const outputs = (cell.outputs ?? []).map(outputHtml).join('\n');
    return `<div class="cell code"><div class="prompt">In [${count}]:</div><pre><code>${escapeHtml(source)}</code></pre>\n${outputs}</div>`;
  });
  return page(title, cells.join('\n'));
}

/** The CLI's own report, for a run without the notebook: summary, claims, figures and tables. */
export function studyReportHtml(opts: {
  title: string;
  summary: string;
  scale: string;
  seed: number;
  backend?: string;
  output: StudyOutput;
}): string {
  const { output } = opts;
  const parts = [
    `<h1>${escapeHtml(opts.title)}</h1>`,
    `<p>${escapeHtml(opts.summary)}</p>`,
    `<p class="prompt">scale ${escapeHtml(opts.scale)}, seed ${opts.seed}${opts.backend ? `, backend ${escapeHtml(opts.backend)}` : ''}; ` +
      'report written by the CLI (run without the notebook)</p>',
    '<h2>Claims</h2>',
    claimsTableHtml(output.claims),
    '<h2>Figures</h2>',
    ...output.figures.map((f) => `<h3>${escapeHtml(f.name)}</h3><p>${escapeHtml(f.caption)}</p>${plotDiv(f.spec)}`),
    ...(output.tables?.length ? ['<h2>Tables</h2>', ...output.tables.map((t) => tableHtml(t.rows, t.caption))] : []),
  ];
  return page(opts.title, parts.join('\n'));
}

/** Counts of claims that hold, and of those that fail or are inconclusive when there are any. */
export function verdictSummary(claims: Claim[]): string {
  const count = (v: Verdict) => claims.filter((c) => verdictOf(c) === v).length;
  const inconclusive = count('inconclusive');
  return `${count('holds')} of ${claims.length} claims hold` + (inconclusive ? `, ${inconclusive} inconclusive` : '');
}
