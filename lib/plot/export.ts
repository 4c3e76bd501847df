import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { writeFileAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { PlotSpec, escapeHtml, figureSize, plotlyBundle, plotlyBundlePath, scriptJson } from './spec';

export type FigureFormat = 'png' | 'svg' | 'html';

/** Flags that keep headless Chromium quiet and offline. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The Chromium binary: $CHROMIUM_PATH, else the usual system locations; null when none exists. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((p): p is string => !!p && fs.existsSync(p)) ?? null;
}

/** Launches headless Chromium through playwright-core (which downloads no browser of its own). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) {
    throw new UserError(
      'no Chromium found for exporting figures (looked at $CHROMIUM_PATH, /usr/bin/chromium, /usr/bin/chromium-browser, ' +
        '/usr/bin/google-chrome); run `npm run bootstrap` as root or `sudo apt-get install chromium`, or set CHROMIUM_PATH',
    );
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
}

/** Plotly gives each graph a random id; replacing it makes the SVG the same on every run. */
export function stabiliseSvg(svg: string): string {
  const match = /id="defs-([0-9a-z]+)"/.exec(svg);
  return match ? svg.split(match[1]).join('tessera') : svg;
}

/** A standalone interactive page for one figure; `bundleSrc` is a relative path to plotly.min.js. */
export function figurePage(spec: PlotSpec, title: string, bundleSrc: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><script src="${escapeHtml(bundleSrc)}"></script>
<style>body{font-family:sans-serif;margin:1em}</style></head>
<body><div id="fig"></div>
<script>var s=${scriptJson(spec)};Plotly.newPlot('fig', s.data, s.layout, Object.assign({responsive:true}, s.config||{}));</script>
</body></html>
`;
}

/**
 * Writes figures as PNG and SVG (rendered by plotly in one headless Chromium page, reused for every figure) and as
 * interactive HTML pages that load plotly from one shared copy under `<root>/assets/`.
 */
export class FigureExporter {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
    private readonly assetsRoot: string,
  ) {}

  /** `assetsRoot`: the output root (e.g. figures/) that receives assets/plotly.min.js for the HTML pages. */
  static async open(assetsRoot: string): Promise<FigureExporter> {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
      await page.addScriptTag({ content: plotlyBundle() });
      return new FigureExporter(browser, page, assetsRoot);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** Renders a figure to PNG (2x pixel ratio) and SVG text. */
  async render(spec: PlotSpec): Promise<{ png: Buffer; svg: string }> {
    const { width, height } = figureSize(spec);
    // Fixed trace uids: plotly otherwise draws random ones into the SVG's class names.
    spec = { ...spec, data: spec.data.map((trace, i) => ({ uid: `trace${i}`, ...trace })) };
    const out = await this.page.evaluate(
      async ({ spec, width, height }) => {
        // Runs in the browser page; the project compiles without DOM types, as tslab does.
        const g = globalThis as unknown as { Plotly: any; document: any };
        const P = g.Plotly;
        const div = g.document.createElement('div');
        g.document.body.appendChild(div);
        try {
          await P.newPlot(div, spec.data, { ...spec.layout, width, height }, { staticPlot: true });
          const png: string = await P.toImage(div, { format: 'png', width, height, scale: 2 });
          const svg: string = await P.toImage(div, { format: 'svg', width, height });
          return { png, svg };
        } finally {
          P.purge(div);
          div.remove();
        }
      },
      { spec, width, height },
    );
    const png = Buffer.from(out.png.slice(out.png.indexOf(',') + 1), 'base64');
    const svg = stabiliseSvg(decodeURIComponent(out.svg.slice(out.svg.indexOf(',') + 1)));
    return { png, svg };
  }

  /** Writes `<dir>/<name>.png|.svg|.html` (the formats asked for); returns the paths written. */
  async export(spec: PlotSpec, dir: string, name: string, formats: FigureFormat[] = ['png', 'svg', 'html']): Promise<string[]> {
    const written: string[] = [];
    if (formats.includes('png') || formats.includes('svg')) {
      const { png, svg } = await this.render(spec);
      if (formats.includes('png')) written.push(write(path.join(dir, `${name}.png`), png));
      if (formats.includes('svg')) written.push(write(path.join(dir, `${name}.svg`), svg));
    }
    if (formats.includes('html')) {
      const bundle = this.ensureBundle();
      const rel = path.relative(dir, bundle).split(path.sep).join('/');
      const title = (spec.layout.title as { text?: string } | undefined)?.text ?? name;
      written.push(write(path.join(dir, `${name}.html`), figurePage(spec, title, rel)));
    }
    return written;
  }

  /** The browser page, for other headless checks that want it (e.g. screenshots of reports). */
  get browserPage(): Page {
    return this.page;
  }

  async close(): Promise<void> {
    await this.browser.close();
  }

  private ensureBundle(): string {
    const target = path.join(this.assetsRoot, 'assets', 'plotly.min.js');
    if (!fs.existsSync(target) || fs.statSync(target).size !== fs.statSync(plotlyBundlePath()).size) {
      writeFileAtomic(target, fs.readFileSync(plotlyBundlePath()));
    }
    return target;
  }
}

function write(file: string, data: string | Buffer): string {
  writeFileAtomic(file, data);
  return file;
}
