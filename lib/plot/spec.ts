/**
 * A plotly figure as plain data: what every figure builder in lib/plot returns. Kept loose on purpose (plotly's
 * schema is huge); builders document the traces they emit.
 */
export interface PlotSpec {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** Default size of exported figures, in CSS pixels. */
export const DEFAULT_WIDTH = 720;
export const DEFAULT_HEIGHT = 480;

/** The figure's width and height as the layout gives them, else the defaults. */
export function figureSize(spec: PlotSpec): { width: number; height: number } {
  const width = typeof spec.layout.width === 'number' ? spec.layout.width : DEFAULT_WIDTH;
  const height = typeof spec.layout.height === 'number' ? spec.layout.height : DEFAULT_HEIGHT;
  return { width, height };
}

/** Path of plotly's browser bundle; it cannot be `require`d in Node, only read as text and inlined. */
export function plotlyBundlePath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

let bundle: string | null = null;

/** The plotly bundle's text (about 4.6 MB), read once. */
export function plotlyBundle(): string {
  if (bundle === null) bundle = require('fs').readFileSync(plotlyBundlePath(), 'utf8') as string;
  return bundle;
}

/** JSON for embedding in a <script> element (no "</script>" can end it early). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
