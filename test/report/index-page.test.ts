import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findChromium, launchChromium } from '../../lib/plot/export';
import { encodePng } from '../../lib/plot/images';
import { writeIndex } from '../../lib/report/index-page';
import type { Claim } from '../../lib/studies/types';

const claim = (id: string, verdict: 'holds' | 'fails' | 'inconclusive', kind: Claim['kind'], extra: Partial<Claim> = {}): Claim => ({
  id,
  claim: `statement ${id}`,
  paper: `paper number ${id}`,
  measured: `measured number ${id}`,
  pass: verdict === 'holds',
  details: `rule of ${id}`,
  verdict,
  kind,
  ...extra,
});

/** Two studies as the harness leaves them: one quick single-seed run with provenance, one aggregate over 3 seeds. */
async function fixture(root: string): Promise<void> {
  const smoke = [
    claim('p1', 'holds', 'paper', { interval: { low: 0.61, high: 0.72, level: 0.95, over: 'images (bootstrap)' } }),
    claim('p2', 'fails', 'paper'),
    claim('p3', 'inconclusive', 'paper'),
    claim('p4', 'holds', 'paper'),
    claim('c1', 'holds', 'check'),
    claim('e1', 'fails', 'extension'),
  ];
  const other = [claim('q1', 'inconclusive', 'paper'), claim('q2', 'inconclusive', 'paper'), claim('k1', 'holds', 'check')];
  const provenance = {
    code: { commit: '0123456789abcdef0123', dirty: true, diffHash: 'feedbeef', source: 'git' },
    engine: { backend: 'torch', threads: 2, detail: 'libtorch 1.13.0 via tfjs-backend-torch' },
    versions: { node: 'v20.0.0', tfjs: '4.22.0', libtorch: '1.13.0', tslab: '1.0.22' },
    host: { platform: 'linux', arch: 'x64', cpus: 2, cpuModel: 'cpu' },
    savedAt: '2026-01-02T03:04:05.000Z',
    loops: [{ label: 'smoke: training', total: 60, seconds: 2.5 }],
    models: [{ name: 'bagnet-q9-abc', key: 'abc', fromCache: true, seconds: 0 }],
    via: 'notebook',
    seconds: 75,
    steps: [{ cell: 1, source: 'const ctx = notebookContext();', seconds: 3 }],
  };
  const write = (study: string, claims: Claim[], results: object) => {
    fs.mkdirSync(path.join(root, study, 'figures'), { recursive: true });
    fs.writeFileSync(path.join(root, study, 'claims.json'), JSON.stringify(claims));
    fs.writeFileSync(path.join(root, study, 'results.json'), JSON.stringify(results));
  };
  write('smoke', smoke, { study: 'smoke', scale: 'quick', seed: 0, results: {}, provenance });
  write('other-study', other, {
    study: 'other-study',
    scale: 'quick',
    seeds: [0, 1, 2],
    runs: [0, 1, 2].map((seed) => ({ seed, dir: `../runs/o-s${seed}/other-study` })),
    provenance: { ...provenance, aggregatedAt: '2026-01-03T00:00:00.000Z' },
  });
  const png = await encodePng({ width: 4, height: 3, channels: 3, data: new Uint8Array(36).fill(200) });
  fs.writeFileSync(path.join(root, 'smoke', 'figures', 'training-loss.png'), png);
  fs.writeFileSync(path.join(root, 'smoke', 'figures', 'training-loss.html'), '<html><body>interactive</body></html>');
}

/** Counts straight from claims.json, independently of the page's code. */
function expectedCounts(root: string, study: string): Record<string, number> {
  const claims = JSON.parse(fs.readFileSync(path.join(root, study, 'claims.json'), 'utf8')) as Claim[];
  const out: Record<string, number> = {};
  for (const kind of ['paper', 'other'])
    for (const v of ['holds', 'fails', 'inconclusive'])
      out[`${kind}:${v}`] = claims.filter((c) => ((c.kind ?? 'paper') === 'paper') === (kind === 'paper') && c.verdict === v).length;
  return out;
}

(findChromium() ? describe : describe.skip)('index page (dashboard) in headless Chromium', () => {
  it('shows per study the counts of claims.json (checks apart), the quick caveat, claims that open, thumbnails, provenance', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-index-'));
    await fixture(root);
    const file = writeIndex(root);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${file}`);
      for (const study of ['smoke', 'other-study']) {
        const shown = await page.$$eval(`tr.study-row[data-study="${study}"] td.n`, (tds) =>
          Object.fromEntries(
            tds.map((td) => [`${td.getAttribute('data-kind')}:${td.getAttribute('data-verdict')}`, Number(td.textContent)]),
          ),
        );
        expect(shown).toEqual(expectedCounts(root, study));
      }
      const row = await page.$eval('tr.study-row[data-study="other-study"]', (tr) => tr.textContent);
      expect(row).toContain('0, 1, 2'); // seeds
      expect(row).toContain('torch');
      expect(await page.textContent('.caveat')).toContain('Quick scale');
      // a claim opens to its rule, numbers and interval
      const details = 'details.claim[data-claim="p1"]';
      expect(await page.isVisible(`${details} dl`)).toBe(false);
      await page.click(`${details} summary`);
      const opened = await page.textContent(`${details} dl`);
      expect(opened).toContain('rule of p1');
      expect(opened).toContain('measured number p1');
      expect(opened).toContain('95% interval [0.610, 0.720] over images (bootstrap)');
      // the thumbnail links to the interactive figure and has loaded
      expect(await page.getAttribute('.thumbs a', 'href')).toBe('smoke/figures/training-loss.html');
      await page.$eval('.thumbs img', (img) => (img as unknown as { decode(): Promise<void> }).decode());
      // provenance and links
      const prov = await page.textContent('#smoke ~ details.prov');
      expect(prov).toMatch(/0123456789ab\+dirty:feedbeef/);
      expect(prov).toContain('1 (1 from the cache, 0 trained)');
      expect(await page.$$eval('a[href="other-study/../runs/o-s1/other-study/report.html"]', (a) => a.length)).toBe(1);
      // self-contained: nothing but the page's own files is requested
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
      if (process.env.TESSERA_SCREENSHOT) await page.screenshot({ path: process.env.TESSERA_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 120_000);
});
