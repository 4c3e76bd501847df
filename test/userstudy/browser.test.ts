import * as fs from 'fs';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../lib/plot/export';
import { analyzeStoredAnswers } from '../../lib/userstudy/analyze';
import { listen, type RunningServer } from '../../lib/userstudy/server';
import { ResponseStore } from '../../lib/userstudy/store';
import type { TaskSet } from '../../lib/userstudy/tasks';
import { demoOut } from './helpers';

/**
 * The participant pages in headless Chromium, driven by the keyboard alone: a participant completes the smoke demo
 * task set; the answers are in the database and in `analyze`'s tables. Stored markup in answers stays text in the
 * admin view and in the report (no stored script runs).
 */

let browser: Browser;
let server: RunningServer;
let out: string;
let set: TaskSet;
let db: string;
const TOKEN = 'browser-test-admin-token-0123456789';
// Two names that would run script if a page put them in as HTML (each fits the 40-character name field).
const HOSTILE = ['<script>window.__pwned=1</script>', '<img src=x onerror="__pwned=2">'];

beforeAll(async () => {
  ({ out, set } = await demoOut());
  db = path.join(out, 'user-study', 'responses.sqlite');
  server = await listen({ taskSets: [set], store: new ResponseStore(db), adminToken: TOKEN, host: '127.0.0.1', port: 0 });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Answers the task on screen with keys only; returns what it answered. */
async function answerWithKeyboard(page: Page, summariesSeen: number): Promise<{ prompt: string; kind: 'ab' | 'summary' }> {
  const prompt = (await page.textContent('#prompt'))!;
  if (prompt.startsWith('Which image')) {
    await page.keyboard.press('1'); // A
    await page.keyboard.press('Enter');
    return { prompt, kind: 'ab' };
  }
  await page.keyboard.press('1'); // "yes": the images show the same pattern
  await page.keyboard.press('Tab'); // to the name
  await page.keyboard.type(HOSTILE[summariesSeen]);
  await page.keyboard.press('Tab'); // to the confidence
  await page.keyboard.type('4');
  await page.keyboard.press('Enter');
  return { prompt, kind: 'summary' };
}

describe('participant pages in Chromium', () => {
  it('a participant completes the demo task set by keyboard; answers reach the database and the tables', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    await page.goto(server.url);
    await page.waitForSelector('#start:focus');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#task:not([hidden])');

    // A missing choice is caught on the page before anything is sent.
    await page.keyboard.press('Enter');
    expect(await page.textContent('#error')).toMatch(/^Please (choose an option|fill in)/);

    let summaries = 0;
    for (let k = 1; k <= set.tasks.length; k++) {
      // Selectors, not string predicates: the page's CSP forbids eval, which string predicates need.
      await page.waitForSelector(`#progress-text:text-is("Task ${k} of 4")`);
      const images = (await page.evaluate(`[...document.querySelectorAll('#images img')].map((i) => i.naturalWidth)`)) as number[];
      expect(images.every((w) => w === 96)).toBe(true); // every image loaded (8 px stripes magnified 12x)
      const { kind } = await answerWithKeyboard(page, summaries);
      if (kind === 'summary') summaries++;
    }
    await page.waitForSelector('#done:not([hidden])');
    expect(await page.textContent('#done h1')).toBe('Thank you!');
    expect(errors).toEqual([]);
    const api = requests.filter((r) => r.includes('/api/'));
    expect(new Set(api.map((r) => r.replace(/\?.*/, '')))).toEqual(
      new Set(['POST /api/participants', 'GET /api/tasks', 'POST /api/responses']),
    );

    // The same participant reloading sees the thank-you page, not the tasks again.
    await page.reload();
    await page.waitForSelector('#done:not([hidden])');

    const store = new ResponseStore(db);
    const stored = store.responses();
    store.close();
    expect(stored.length).toBe(4);
    expect(new Set(stored.map((s) => s.participant)).size).toBe(1);
    const byTask = Object.fromEntries(stored.map((s) => [s.task, s.answer]));
    expect(byTask['ab-1']).toEqual({ preferred: 'A' });
    expect(byTask['ab-2']).toEqual({ preferred: 'A' });
    expect([byTask['summary-1'].name, byTask['summary-2'].name].sort()).toEqual([...HOSTILE].sort());
    expect(byTask['summary-1']).toMatchObject({ same: 'yes', confidence: 4 });

    const [analysed] = analyzeStoredAnswers({ out, db, seed: 0 });
    const table = (name: string) => analysed.tables.find((t) => t.name === name)!.rows;
    // "A" both times: the clean image in ab-1, the noisy one in ab-2 -> one preference each way.
    expect(table('ab-preference')).toMatchObject([{ first: 'clean', second: 'extra noise', decisive: 2, preferFirst: 1, preferSecond: 1 }]);
    expect(table('summary-per-task').map((r) => [r.task, r.raters, r['answered yes']])).toEqual([
      ['summary-1', 1, 1],
      ['summary-2', 1, 1],
    ]);
    expect(fs.readFileSync(path.join(out, 'smoke', 'user-study', 'tables', 'summary-per-task.csv'), 'utf8')).toContain('script');

    // The analysis page shows the names as text: no stored script runs.
    const report = await browser.newPage();
    await report.goto(`file://${analysed.report}`);
    expect(await report.evaluate('window.__pwned')).toBeUndefined();
    expect(await report.textContent('body')).toContain(HOSTILE[0]);
    await report.close();
    await page.close();
  });

  it('the admin view needs the token and shows stored markup as text', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}admin`);
    await page.fill('#token', 'wrong');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#summary:has-text("not accepted")');
    await page.fill('#token', TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#answers:not([hidden])');
    expect(await page.textContent('#summary')).toBe('4 stored answers');
    const cells = await page.$$eval('#answers td.answer', (tds) => tds.map((td) => td.textContent));
    expect(cells.some((c) => c!.includes(HOSTILE[0]))).toBe(true);
    expect(cells.some((c) => c!.includes(HOSTILE[1].replace(/"/g, '\\"')))).toBe(true);
    expect(await page.$$('#answers script, #answers img')).toEqual([]);
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });
});
