import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../lib/cli/index';
import { decideOverSeeds, defaultAggregate } from '../../lib/report/aggregate';
import type { Claim, SeedRun } from '../../lib/studies/types';

const claim = (id: string, verdict: Claim['verdict'], extra: Partial<Claim> = {}): Claim => ({
  id,
  claim: `claim ${id}`,
  paper: 'paper says',
  measured: `m-${id}-${verdict}`,
  pass: verdict === 'holds',
  details: 'rule: x above 0.5',
  verdict,
  kind: 'paper',
  ...extra,
});

describe('defaultAggregate (the harness rule when a study has no aggregate hook)', () => {
  it("keeps a verdict every seed agrees on, else inconclusive with every seed's measurement and verdict", () => {
    const runs: SeedRun[] = [
      { seed: 0, results: {}, claims: [claim('a', 'holds'), claim('b', 'holds'), claim('c', 'fails', { kind: 'check' })] },
      { seed: 1, results: {}, claims: [claim('a', 'holds'), claim('b', 'fails'), claim('c', 'fails', { kind: 'check' })] },
    ];
    const out = defaultAggregate(runs);
    expect(out.map((c) => [c.id, c.verdict, c.pass, c.kind])).toEqual([
      ['a', 'holds', true, 'paper'],
      ['b', 'inconclusive', false, 'paper'],
      ['c', 'fails', false, 'check'],
    ]);
    expect(out[1].measured).toBe('seed 0: m-b-holds (holds); seed 1: m-b-fails (fails)');
    expect(out[1].details).toContain('rule: x above 0.5');
    expect(out[1].details).toContain('Over seeds 0, 1');
  });

  it('a claim missing in one seed is inconclusive; intervals of every seed give their labelled envelope', () => {
    const iv = (low: number, high: number) => ({ low, high, level: 0.95, over: 'images (bootstrap)' });
    const runs: SeedRun[] = [
      { seed: 3, results: {}, claims: [claim('a', 'holds', { interval: iv(0.6, 0.7) }), claim('z', 'holds')] },
      { seed: 5, results: {}, claims: [claim('a', 'holds', { interval: iv(0.55, 0.66) })] },
    ];
    const [a, z] = defaultAggregate(runs);
    expect(a.interval).toEqual({
      low: 0.55,
      high: 0.7,
      level: 0.95,
      over: "envelope of the 2 seeds' intervals (each over images (bootstrap))",
    });
    expect(z.verdict).toBe('inconclusive');
    expect(z.measured).toContain('seed 5: not measured (missing)');
  });

  it("a study's own aggregate hook decides instead, and its claims are validated", () => {
    const runs: SeedRun[] = [0, 1, 2].map((seed) => ({ seed, results: { acc: 0.5 + 0.1 * seed }, claims: [claim('acc', 'holds')] }));
    const hook = (rs: readonly SeedRun[]): Claim[] => {
      const accs = rs.map((r) => r.results.acc as number);
      const low = Math.min(...accs);
      return [
        claim('acc', low > 0.55 ? 'holds' : 'inconclusive', {
          measured: accs.join(','),
          interval: { low, high: Math.max(...accs), level: 1, over: 'seeds' },
        }),
      ];
    };
    expect(decideOverSeeds({ name: 's', aggregate: hook }, runs)).toEqual([
      expect.objectContaining({ verdict: 'inconclusive', measured: '0.5,0.6,0.7' }),
    ]);
    const broken = () => [{ ...claim('x', 'holds'), pass: false }];
    expect(() => decideOverSeeds({ name: 's', aggregate: broken }, runs)).toThrow(
      /aggregate of s over seeds: claim 0 has pass false but verdict holds/,
    );
  });
});

describe('tessera aggregate: refuses runs that do not belong together (exit 2, a clear message)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-agg-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A run folder as `tessera reproduce STUDY --seed N --out` writes it (only the files aggregate reads). */
  function fakeRun(name: string, study: string, seed: number, scale = 'quick', commit = 'c1'): string {
    const root = path.join(dir, name);
    fs.mkdirSync(path.join(root, study), { recursive: true });
    const provenance = { code: { commit, dirty: false, source: 'TESSERA_CODE_VERSION' }, seconds: 1 };
    fs.writeFileSync(path.join(root, study, 'results.json'), JSON.stringify({ study, scale, seed, results: {}, provenance }));
    fs.writeFileSync(path.join(root, study, 'claims.json'), JSON.stringify([claim('a', seed % 2 ? 'fails' : 'holds')]));
    return root;
  }

  async function run(argv: string[]): Promise<{ code: number; err: string; out: string }> {
    let err = '';
    let out = '';
    const e = jest.spyOn(console, 'error').mockImplementation((m: string) => void (err += m));
    const o = jest.spyOn(console, 'log').mockImplementation((m: string) => void (out += m));
    try {
      return { code: await main(argv), err, out };
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
  }

  it('different scales', async () => {
    const r = await run(['aggregate', fakeRun('a', 'smoke', 0), fakeRun('b', 'smoke', 1, 'standard'), '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tessera aggregate: the runs have different scales \(quick, standard\).*aggregate the runs of one scale/);
  });

  it('different code versions', async () => {
    const r = await run(['aggregate', fakeRun('a', 'smoke', 0), fakeRun('b', 'smoke', 1, 'quick', 'c2'), '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the runs come from different code versions \(c1: .*; c2: .*\); rerun them on one commit/);
  });

  it('studies run over different seeds, and a seed given twice', async () => {
    let r = await run(['aggregate', fakeRun('a', 'smoke', 0), fakeRun('b', 'bagnet', 1), '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /the studies were run over different seeds \(smoke has seeds 0, bagnet has seeds 1\)|bagnet has seeds 1, smoke has seeds 0/,
    );
    r = await run(['aggregate', fakeRun('c', 'smoke', 0), fakeRun('d', 'smoke', 0), '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/study smoke seed 0 appears twice/);
  });

  it('a folder that holds no run, a missing folder, no --out', async () => {
    fs.mkdirSync(path.join(dir, 'empty'));
    expect((await run(['aggregate', path.join(dir, 'empty'), '--out', path.join(dir, 'out')])).err).toMatch(/holds no finished study run/);
    expect((await run(['aggregate', path.join(dir, 'nope'), '--out', path.join(dir, 'out')])).err).toMatch(
      /does not exist or is not a folder/,
    );
    expect((await run(['aggregate', fakeRun('a', 'smoke', 0)])).err).toMatch(/--out DIR is required/);
  });

  it('merges runs that belong together: verdicts over seeds, the index page', async () => {
    const r = await run([
      'aggregate',
      fakeRun('a', 'smoke', 0),
      fakeRun('b', 'smoke', 2),
      fakeRun('c', 'smoke', 1),
      '--out',
      path.join(dir, 'out'),
    ]);
    expect(r.code).toBe(0);
    const claims = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'smoke', 'claims.json'), 'utf8')) as Claim[];
    expect(claims[0].verdict).toBe('inconclusive'); // seed 1 fails, 0 and 2 hold
    expect(claims[0].measured).toMatch(/^seed 0: .*; seed 1: .*; seed 2: /);
    const results = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'smoke', 'results.json'), 'utf8'));
    expect(results.seeds).toEqual([0, 1, 2]);
    expect(results.runs.map((x: { dir: string }) => x.dir)).toEqual(['../../a/smoke', '../../c/smoke', '../../b/smoke']);
    expect(fs.existsSync(path.join(dir, 'out', 'index.html'))).toBe(true);
  });
});

describe('seeds in one command and as independent jobs give the same claims (smoke study)', () => {
  it('tessera reproduce --seeds 0,1 == two `reproduce --seed N --out` jobs + tessera aggregate', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-seeds-'));
    const cli = path.join(__dirname, '..', '..', 'bin', 'tessera.js');
    // One code version for all three commands, whatever others edit in the tree meanwhile.
    const env = { ...process.env, TESSERA_CODE_VERSION: 'seeds-test', TESSERA_PROGRESS: '0' };
    const tessera = (...args: string[]) => {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 300_000 });
      if (r.status !== 0) throw new Error(`tessera ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
      return r.stdout;
    };
    const one = path.join(dir, 'one');
    tessera('reproduce', 'smoke', '--seeds', '0,1', '--notebooks', 'off', '--out', one);
    for (const seed of [0, 1])
      tessera('reproduce', 'smoke', '--seed', String(seed), '--notebooks', 'off', '--out', path.join(dir, 'runs', `smoke-s${seed}`));
    const two = path.join(dir, 'two');
    const summary = tessera('aggregate', path.join(dir, 'runs', 'smoke-s0'), path.join(dir, 'runs', 'smoke-s1'), '--out', two);
    expect(summary).toMatch(/smoke\s+seeds 0,1/);
    const read = (root: string) => fs.readFileSync(path.join(root, 'smoke', 'claims.json'), 'utf8');
    expect(read(two)).toBe(read(one));
    expect(JSON.parse(read(one))).toHaveLength(2);
    fs.rmSync(dir, { recursive: true, force: true });
  }, 600_000);
});
