#!/usr/bin/env node
'use strict';
/*
 * `npm run lab [-- jupyter options]`: starts JupyterLab on the project root with the project's kernel (JUPYTER_PATH
 * = .jupyter/, written by the bootstrap), `--allow-root` when run as root. Finds `jupyter-lab` on PATH or in a venv
 * ($TESSERA_JUPYTER_VENV, .venv/, ~/.venvs/jupyter); without JupyterLab, falls back to the classic Notebook when
 * installed, else says how to install JupyterLab and exits 1. `--classic` asks for the classic Notebook.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const classic = args.includes('--classic');
const passOn = args.filter((a) => a !== '--classic');

/** The first of `names` that runs (`<name> --version`), looked up in the venvs and then on PATH. */
function find(names) {
  const venvs = [process.env.TESSERA_JUPYTER_VENV, path.join(root, '.venv'), path.join(os.homedir(), '.venvs', 'jupyter')].filter(Boolean);
  const candidates = names.flatMap((n) => [...venvs.map((v) => path.join(v, 'bin', n)), n]);
  return candidates.find(
    (c) => (c.includes(path.sep) ? fs.existsSync(c) : true) && spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0,
  );
}

const HOW = `JupyterLab is not installed. Debian has no JupyterLab package; install it with pip in a venv:
  python3 -m venv ~/.venvs/jupyter && ~/.venvs/jupyter/bin/pip install jupyterlab
then run \`npm run lab\` again (it looks in ~/.venvs/jupyter, .venv/ and $TESSERA_JUPYTER_VENV).
Or the classic Notebook 6.4 from Debian:  sudo apt-get install jupyter-notebook  (then \`npm run lab\` starts it).`;

const lab = classic ? null : find(['jupyter-lab']);
const notebook = lab ? null : find(['jupyter-notebook']);
const program = lab ?? notebook;
if (!program) {
  process.stderr.write(HOW + '\n');
  process.exit(1);
}
if (!lab && !classic)
  process.stderr.write(
    '[lab] JupyterLab not found; starting the classic Notebook instead.\n' + HOW.split('\n').slice(0, 3).join('\n') + '\n',
  );

// The kernelspec (and node_modules) come from the bootstrap; it is idempotent and quick when all is there.
const boot = spawnSync(process.execPath, [path.join(__dirname, 'bootstrap.js'), '--quiet', '--no-apt'], { stdio: 'inherit' });
if (boot.status !== 0) process.exit(boot.status ?? 1);

const env = { ...process.env, JUPYTER_PATH: [path.join(root, '.jupyter'), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) };
// Started in the project root, the server's root is the project: figures load plotly from /files/node_modules.
const argv = lab ? ['--LabApp.default_url=/lab/tree/notebooks'] : [];
if (typeof process.getuid === 'function' && process.getuid() === 0) argv.push('--allow-root');
const child = spawn(program, [...argv, ...passOn], { cwd: root, env, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
