#!/usr/bin/env node
/**
 * Builds the libtorch N-API addon (native/addon.cc -> build/torch_addon.node), idempotently.
 *
 * - Finds libtorch: $LIBTORCH (a folder with include/ and lib/), Debian's libtorch-dev (/usr/include/torch,
 *   /usr/lib/<arch>/libtorch.so), or a pip-installed torch (its include/ and lib/) seen by python3.
 * - Finds Node's headers: $NODE_HEADERS, /usr/include/node, or <node prefix>/include/node.
 * - Skips the build when build/torch_addon.node is newer than the source and was built with the same settings.
 * - Never fails when libtorch is missing: prints "libtorch not found; backend unavailable" and exits 0.
 *   It exits 1 only when libtorch is there but compiling fails (a real error to fix).
 *
 * Usage: node packages/tfjs-backend-torch/scripts/build.js [--force] [--quiet]
 * TFJS_TORCH_SEARCH=env,system,python (default: all) limits where libtorch is looked for (tests use "none").
 */
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');

const pkgDir = path.resolve(__dirname, '..');
const src = path.join(pkgDir, 'native', 'addon.cc');
const outDir = path.join(pkgDir, 'build');
const out = path.join(outDir, 'torch_addon.node');
const stampFile = path.join(outDir, 'build-stamp.json');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');
const log = (...a) => {
  if (!quiet) console.log('[tfjs-backend-torch]', ...a);
};

function exists(p) {
  try {
    fs.accessSync(p);
    return true;
  } catch {
    return false;
  }
}

function multiarch() {
  const r = spawnSync('gcc', ['-print-multiarch'], { encoding: 'utf8' });
  return (r.status === 0 && r.stdout.trim()) || (process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu');
}

/** Candidate libtorch locations, in order; the python ones are only probed if the earlier ones fail. */
function* libtorchCandidates() {
  const search = (process.env.TFJS_TORCH_SEARCH || 'env,system,python').split(',');
  if (process.env.LIBTORCH && search.includes('env')) {
    const d = process.env.LIBTORCH;
    yield { kind: `$LIBTORCH (${d})`, root: path.join(d, 'include'), libDir: path.join(d, 'lib'), abi: null };
  }
  if (search.includes('system'))
    yield { kind: 'system (libtorch-dev)', root: '/usr/include', libDir: `/usr/lib/${multiarch()}`, abi: null };
  for (const py of search.includes('python') ? ['/usr/bin/python3', 'python3'] : []) {
    const r = spawnSync(py, ['-c', 'import torch,os;print(os.path.dirname(torch.__file__));print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'], {
      encoding: 'utf8',
      timeout: 60000,
    });
    if (r.status === 0) {
      const [dir, abi] = r.stdout.trim().split('\n');
      yield { kind: `python torch (${dir})`, root: path.join(dir, 'include'), libDir: path.join(dir, 'lib'), abi: Number(abi) };
    }
  }
}

/** @returns {{kind:string, includes:string[], libDir:string, abi:number|null}|null} */
function findLibtorch() {
  for (const c of libtorchCandidates()) {
    const ok =
      exists(path.join(c.root, 'ATen', 'ATen.h')) &&
      exists(path.join(c.root, 'torch', 'csrc', 'api', 'include', 'torch', 'version.h')) &&
      exists(path.join(c.libDir, 'libtorch_cpu.so')) &&
      exists(path.join(c.libDir, 'libc10.so'));
    if (ok) return { kind: c.kind, includes: [c.root, path.join(c.root, 'torch', 'csrc', 'api', 'include')], libDir: c.libDir, abi: c.abi };
  }
  return null;
}

function findNodeHeaders() {
  const c = [
    process.env.NODE_HEADERS,
    '/usr/include/node',
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    path.join(require('os').homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
  ];
  return c.find((d) => d && exists(path.join(d, 'node_api.h'))) || null;
}

function main() {
  const torch = findLibtorch();
  if (!torch) {
    console.log(
      '[tfjs-backend-torch] ' +
        'libtorch not found; backend unavailable (install it with `apt-get install libtorch-dev libopenblas0-openmp`, ' +
        'or set LIBTORCH to a folder with include/ and lib/, or pip install torch).',
    );
    return 0;
  }
  const nodeInc = findNodeHeaders();
  if (!nodeInc) {
    log(
      `libtorch found (${torch.kind}) but Node's headers (node_api.h) were not found in /usr/include/node or ` +
        `${path.join(path.dirname(process.execPath), '..', 'include', 'node')}; set NODE_HEADERS. Backend unavailable.`,
    );
    return 0;
  }
  const cxx = process.env.CXX || 'g++';
  const extraLibs = [];
  for (const l of ['torch_cuda', 'c10_cuda']) if (exists(path.join(torch.libDir, `lib${l}.so`))) extraLibs.push(`-l${l}`);
  // oneDNN's own API (fused inference convs, dnnlConv) where its headers and library are there (Debian's libdnnl-dev:
  // the oneDNN Debian's libtorch itself links); without them the addon is built without dnnlConv.
  const dnnl =
    torch.includes.some((i) => exists(path.join(i, 'oneapi', 'dnnl', 'dnnl.hpp'))) && exists(path.join(torch.libDir, 'libdnnl.so'));
  if (dnnl) extraLibs.push('-ldnnl');
  else log('oneDNN headers (libdnnl-dev) not found: building without the fused inference convs');
  const args = [
    '-O2',
    // ATen's at::parallel_for is an inline template that runs on OpenMP only where the caller is compiled with it:
    // without this flag the addon's own kernels (Adam, batch norm + ReLU) run on one thread.
    '-fopenmp',
    '-std=c++17',
    '-fPIC',
    '-shared',
    '-fvisibility=hidden',
    '-w',
    '-DNODE_GYP_MODULE_NAME=torch_addon',
    '-DNAPI_VERSION=8',
    ...(dnnl ? ['-DTFJS_TORCH_DNNL'] : []),
    ...(torch.abi === null ? [] : [`-D_GLIBCXX_USE_CXX11_ABI=${torch.abi}`]),
    `-I${nodeInc}`,
    ...torch.includes.map((i) => `-I${i}`),
    src,
    '-o',
    out + '.tmp',
    `-L${torch.libDir}`,
    `-Wl,-rpath,${torch.libDir}`,
    '-Wl,--no-as-needed',
    '-ltorch',
    '-ltorch_cpu',
    '-lc10',
    ...extraLibs,
    '-Wl,--as-needed',
  ];
  const stamp = crypto
    .createHash('sha256')
    .update(fs.readFileSync(src))
    .update(JSON.stringify(args))
    .update(process.versions.modules)
    .digest('hex');
  if (!force && exists(out) && exists(stampFile)) {
    try {
      if (JSON.parse(fs.readFileSync(stampFile, 'utf8')).stamp === stamp) {
        log(`addon up to date (${path.relative(process.cwd(), out)}, libtorch: ${torch.kind})`);
        return 0;
      }
    } catch {
      /* rebuild */
    }
  }
  fs.mkdirSync(outDir, { recursive: true });
  log(`building addon against libtorch from ${torch.kind} (about a minute)...`);
  const t0 = Date.now();
  const r = spawnSync(cxx, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error || r.status !== 0) {
    console.error(
      `[tfjs-backend-torch] compiling the addon failed (${cxx} exited ${r.error ? r.error.message : r.status}). ` +
        `Command: ${cxx} ${args.join(' ')}`,
    );
    return 1;
  }
  fs.renameSync(out + '.tmp', out);
  fs.writeFileSync(
    stampFile,
    JSON.stringify({ stamp, libtorch: torch.kind, libDir: torch.libDir, built: new Date().toISOString() }, null, 1),
  );
  log(`built ${path.relative(process.cwd(), out)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}

process.exitCode = main();
