import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launchChromium } from '../../lib/plot/export';
import { readClaims } from '../../lib/report/claims';
import { makeStripes } from '../../lib/studies/smoke';
import { Rng } from '../../lib/util/rng';

/**
 * The whole path: `tessera reproduce smoke` runs the smoke notebook headless (nbconvert when installed, else tslab's
 * executor), which trains the tiny net, saves figures and claims; then the report and the index are opened in
 * headless Chromium and must show the plot's SVG and the claims table.
 */
const ROOT = path.resolve(__dirname, '..', '..');

describe('smoke study end to end', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-smoke-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  it('writes claims, results, figures, the report and the index', () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tessera.js'), 'reproduce', 'smoke', '--out', out, '--seed', '0'], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    expect(r.stderr + r.stdout).toMatch(/smoke\s+seed 0\s+notebook\s+[\dms.]+\s+paper claims: 0 hold; checks: 2 hold/);
    expect(r.status).toBe(0);
    const claims = readClaims(path.join(out, 'smoke', 'claims.json'));
    expect(claims.map((c) => c.id)).toEqual(['loss-decreases', 'above-chance']);
    const results = JSON.parse(fs.readFileSync(path.join(out, 'smoke', 'results.json'), 'utf8'));
    expect(results.results.losses).toHaveLength(60);
    for (const ext of ['png', 'svg', 'html']) expect(fs.existsSync(path.join(out, 'smoke', 'figures', `training-loss.${ext}`))).toBe(true);
    expect(
      fs
        .readFileSync(path.join(out, 'smoke', 'figures', 'training-loss.png'))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(fs.existsSync(path.join(out, 'smoke', 'report.html'))).toBe(true);
    expect(fs.existsSync(path.join(out, 'index.html'))).toBe(true);
  });

  it('renders: the report shows the plot as SVG, the index shows the claims on the dashboard', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto('file://' + path.join(out, 'smoke', 'report.html'));
      await page.waitForSelector('.plot .main-svg', { timeout: 20000 });
      expect(await page.locator('.plot .main-svg').count()).toBeGreaterThan(0);
      expect(await page.locator('.scatterlayer .trace').count()).toBe(1);
      await page.goto('file://' + path.join(out, 'index.html'));
      const rows = await page.locator('details.claim').allTextContents();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toContain('loss-decreases');
      expect(rows[0]).toContain('holds');
    } finally {
      await browser.close();
    }
  });

  it('generates the same stripes for the same seed', () => {
    const a = makeStripes(8, 8, 0.2, new Rng(1), 'train');
    const b = makeStripes(8, 8, 0.2, new Rng(1), 'train');
    expect(Buffer.from(a.images).equals(Buffer.from(b.images))).toBe(true);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
  });
});
