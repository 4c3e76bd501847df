#!/usr/bin/env node
'use strict';
/*
 * Idempotent set-up for Tessera, in plain Node (no npm dependencies, so it runs before `npm ci`):
 *   1. system packages listed in environment/apt-packages.txt, with apt-get when root, else the exact command;
 *   2. `npm ci` when node_modules is missing or older than package-lock.json (never `npm install`: set-up changes no
 *      tracked file, and fails loudly when the lock cannot be installed);
 *   3. the native build of the torch backend (packages/tfjs-backend-torch/scripts/build.js), when present;
 *   4. a tslab Jupyter kernelspec in the project-local Jupyter path .jupyter/ (JUPYTER_PATH).
 * Flags: --quiet (print only what it does), --no-apt (skip system packages; also TESSERA_SKIP_APT=1).
 */
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.resolve(__dirname, '..');
const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const skipApt = args.has('--no-apt') || process.env.TESSERA_SKIP_APT === '1';

function say(message) {
  process.stderr.write(`[bootstrap] ${message}\n`);
}

function run(command, argv, options = {}) {
  say(`$ ${[command, ...argv].join(' ')}`);
  const result = spawnSync(command, argv, { stdio: 'inherit', cwd: root, ...options });
  if (result.error) throw new Error(`could not start ${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed with exit code ${result.status}`);
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function aptPackages() {
  const text = fs.readFileSync(path.join(__dirname, 'apt-packages.txt'), 'utf8');
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

function installedDebian(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

function ensureSystemPackages() {
  if (skipApt) return;
  if (!has('dpkg-query') || !has('apt-get')) {
    if (!quiet) say(`not a Debian/Ubuntu system: install the equivalents of ${aptPackages().join(', ')} yourself`);
    return;
  }
  const missing = aptPackages().filter((p) => !installedDebian(p));
  if (missing.length === 0) return;
  const install = ['install', '-y', '-q', '--no-install-recommends', ...missing];
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    run('apt-get', ['update', '-q'], { env });
    run('apt-get', install, { env });
  } else {
    say(`missing system packages: ${missing.join(' ')}`);
    say(`install them with:  sudo apt-get update && sudo apt-get ${install.join(' ')}`);
    say('(continuing: the features that need them will say so when used)');
  }
}

function ensureNodeModules() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  const lock = path.join(root, 'package-lock.json');
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= fs.statSync(lock).mtimeMs) return;
  // Only `npm ci`: it installs exactly the lock and never writes it. No fallback to `npm install`, which would
  // rewrite the tracked package-lock.json (set-up must not change tracked files).
  try {
    run('npm', ['ci', '--no-audit', '--no-fund']);
  } catch (err) {
    throw new Error(
      `${err.message}.\n  npm ci installs exactly package-lock.json; it fails when the lock does not match package.json or lacks ` +
        'a package for this platform.\n  The set-up does not fall back to `npm install`, which would rewrite the tracked lock. ' +
        "Read npm's message above; if the lock is incomplete, report it (a maintainer regenerates it with " +
        '`npm install --package-lock-only` and commits it).',
    );
  }
}

function buildTorchBackend() {
  const script = path.join(root, 'packages', 'tfjs-backend-torch', 'scripts', 'build.js');
  if (fs.existsSync(script)) run(process.execPath, [script, ...(quiet ? ['--quiet'] : [])]);
}

/**
 * The kernelspec of the project's notebooks, in the project-local Jupyter path .jupyter/ (JUPYTER_PATH). Its paths
 * are relative to the kernelspec's own folder ({resource_dir}, which Jupyter fills in) and `node` comes from PATH, so
 * the checkout can move; `npm run lab` sets JUPYTER_PATH.
 */
function writeKernelspec() {
  const dir = path.join(root, '.jupyter', 'kernels', 'tslab');
  const spec = {
    argv: ['node', '{resource_dir}/../../../environment/tslab-kernel.js', '{connection_file}'],
    display_name: 'TypeScript (Tessera)',
    language: 'typescript',
  };
  const file = path.join(dir, 'kernel.json');
  const text = JSON.stringify(spec, null, 2) + '\n';
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
  if (!quiet) {
    say(`wrote the Jupyter kernelspec ${file}`);
    say('start JupyterLab with it:  npm run lab   (README: how to install JupyterLab)');
    say(`  or your own Jupyter:  JUPYTER_PATH=${path.join(root, '.jupyter')} jupyter lab   (the kernel is listed only with JUPYTER_PATH)`);
  }
}

try {
  ensureSystemPackages();
  ensureNodeModules();
  buildTorchBackend();
  writeKernelspec();
  if (!quiet) say('ready');
} catch (err) {
  say(`error: ${err.message}`);
  process.exit(1);
}
