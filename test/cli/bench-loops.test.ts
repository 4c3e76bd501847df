/** `tessera bench --loops`: one figure per loop, each relative to plain predict on the same net. */
import { initEngine } from '../../lib/engine';
import { benchLoops } from '../../lib/cli/bench-loops';

describe('benchLoops', () => {
  it('measures predict, sliding window, occlusion and the shift sweep in images/s and as a share of predict', async () => {
    await initEngine({ quiet: true });
    const loops = benchLoops(1);
    expect(loops.map((l) => l.loop)).toEqual(['predict', 'sliding window', 'occlusion', 'shift sweep']);
    for (const l of loops) expect(l.images_per_s).toBeGreaterThan(0);
    expect(loops[0].of_predict).toBe(1);
    expect(loops[1].of_predict).toBeCloseTo(loops[1].images_per_s / loops[0].images_per_s, 1);
  }, 300_000);
});
