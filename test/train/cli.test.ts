import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { command, modelConfigFromArgs } from '../../lib/cli/train';
import { parseArgs } from '../../lib/util/args';

const parse = (argv: string[]) => parseArgs(argv, { command: 'train', values: ['model', 'q', 'size', 'depth', 'widths', 'antialias'] });

describe('tessera train', () => {
  test('flags map to model configs', () => {
    expect(modelConfigFromArgs(parse(['--model', 'bagnet', '--q', '13']))).toEqual({ family: 'bagnet', q: 13 });
    expect(modelConfigFromArgs(parse(['--model', 'resnet', '--depth', 'medium', '--antialias', 'bin-5']))).toEqual({
      family: 'resnet',
      size: 'medium',
      antialias: 'bin-5',
    });
    expect(modelConfigFromArgs(parse(['--model', 'vgg', '--widths', '8,16', '--depth', '2']))).toEqual({
      family: 'vgg',
      widths: [8, 16],
      convs: 2,
      antialias: 'none',
    });
    expect(() => modelConfigFromArgs(parse(['--model', 'alexnet']))).toThrow(/unknown --model/);
    expect(() => modelConfigFromArgs(parse(['--model', 'gap', '--antialias', 'bin-9']))).toThrow(/--antialias expects/);
  });

  test('trains on the toy set, checkpoints, resumes, and prints one JSON line last', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cli-'));
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((s: string) => void lines.push(s));
    const prev = process.env.TESSERA_PROGRESS;
    process.env.TESSERA_PROGRESS = '0';
    try {
      const base = [
        '--model',
        'gap',
        '--widths',
        '4,6',
        '--dataset',
        'toy',
        '--limit',
        '16',
        '--seed',
        '2',
        '--backend',
        'cpu',
        '--checkpoint',
        dir,
        '--batch-size',
        '16',
      ];
      expect(await command.run([...base, '--epochs', '1'])).toBe(0);
      expect(await command.run([...base, '--epochs', '2', '--resume'])).toBe(0);
    } finally {
      spy.mockRestore();
      process.env.TESSERA_PROGRESS = prev;
    }
    const first = JSON.parse(lines[lines.length - 2]);
    const second = JSON.parse(lines[lines.length - 1]);
    expect(first.backend).toBe('cpu');
    expect(first.losses).toHaveLength(1);
    expect(second.resumed_from).toBe(1);
    expect(second.losses[0]).toBe(first.losses[0]);
    expect(second.losses).toHaveLength(2);
    expect(typeof second.val_accuracy).toBe('number');
    expect(fs.readdirSync(dir)).toEqual(['epoch-0002']);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
