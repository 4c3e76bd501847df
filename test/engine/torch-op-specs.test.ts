/**
 * tfjs-core's own op specs (3,470 of them) against the torch backend, through
 * packages/tfjs-backend-torch/test/op-specs.js (Jasmine, in a child process; about 15-20 s).
 * The runner prints "op specs skipped: <reason>" and succeeds when libtorch is not available.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const script = path.join(__dirname, '..', '..', 'packages', 'tfjs-backend-torch', 'test', 'op-specs.js');

describe('tfjs-core op specs on the torch backend', () => {
  it('pass, except the documented exclusions', () => {
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 180_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    const summary = out
      .split('\n')
      .filter((l) => l.startsWith('op specs') || l.startsWith('FAIL'))
      .join('\n');
    if (r.status !== 0) throw new Error(`op-specs.js exited ${r.status}:\n${summary || out.slice(-3000)}`);
    expect(summary).toMatch(/op specs (on torch: (\d+)\/\2 passed, 0 failed|skipped)/);
  }, 200_000);
});
