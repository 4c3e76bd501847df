import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The `tessera` CLI's handling of bad input: a clear message and exit code 2, before any work starts. */
const ROOT = path.resolve(__dirname, '..', '..');

function tessera(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'tessera.js'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, TESSERA_PROGRESS: '0' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('tessera CLI', () => {
  it('lists the studies', () => {
    const r = tessera('list', '--json');
    expect(r.code).toBe(0);
    const studies = JSON.parse(r.out) as Array<{ name: string }>;
    expect(studies.map((s) => s.name)).toContain('smoke');
  });

  it('rejects an unknown command and an unknown study', () => {
    expect(tessera('frobnicate')).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "frobnicate"') });
    const r = tessera('reproduce', 'no-such-study', '--out', os.tmpdir());
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown study "no-such-study"; known studies: smoke');
  });

  it('rejects a bad scale, a missing --data folder, an unwritable --out and unknown flags', () => {
    expect(tessera('reproduce', 'smoke', '--scale', 'huge').err).toContain('unknown scale "huge"; expected one of quick, standard, full');
    const missing = path.join(os.tmpdir(), 'tessera-no-such-dir-93841');
    const r = tessera('reproduce', 'smoke', '--data', missing, '--out', os.tmpdir());
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--data folder "${missing}" does not exist`);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-out-')), 'a-file');
    fs.writeFileSync(file, '');
    const u = tessera('reproduce', 'smoke', '--out', path.join(file, 'sub'));
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/output folder ".*" is not writable/);
    expect(tessera('reproduce', '--sede', '1').err).toContain('unknown option --sede');
    const b = tessera('bench', '--nets', 'conv64,bogus');
    expect(b.code).toBe(2);
    expect(b.err).toContain('tessera bench: unknown net bogus; expected a comma-separated list of reference, conv64, bagnet, antialiased');
  });

  it('prints usage with --help', () => {
    const r = tessera('reproduce', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('--scale quick|standard|full');
  });
});
