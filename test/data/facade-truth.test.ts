import { facades } from '../../lib/data/synthetic/facades';
import { ownerMap, signatureMask } from '../../lib/data/synthetic/facade-truth';

describe('facades signature-cue truth', () => {
  const opts = { split: 'test' as const, side: 64, size: 12, seed: 3 };
  const ds = facades(opts);

  test('the recorded label map is the dataset part map and every cue pixel has a building', () => {
    for (let i = 0; i < ds.size; i++) {
      const o = ownerMap(opts, i);
      expect(Buffer.from(o.labels).equals(Buffer.from(ds.truth.partMaps!.subarray(i * 4096, (i + 1) * 4096)))).toBe(true);
      for (let p = 0; p < 4096; p++) if (o.labels[p] > 0) expect(o.owner[p]).toBeGreaterThanOrEqual(0);
      expect(o.label).toBe(ds.labels[i]);
    }
  });

  test('signature mask: only signature cue types of the class, and only where the building has the signature value', () => {
    for (let i = 0; i < ds.size; i++) {
      const o = ownerMap(opts, i);
      const mask = signatureMask(opts, i);
      const wallSig = ['dark-brick', 'glass', 'stone', 'wood', 'stucco', 'concrete'][o.label];
      for (let p = 0; p < 4096; p++) {
        // Wall pixels (label 1) are signature pixels exactly when their building's wall is the class's signature wall.
        if (o.labels[p] === 1) expect(mask[p]).toBe(o.buildings[o.owner[p]].wall === wallSig ? 1 : 0);
        if (o.labels[p] === 0) expect(mask[p]).toBe(0);
      }
    }
  });
});
