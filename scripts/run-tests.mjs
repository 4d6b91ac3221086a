#!/usr/bin/env node
// Runs the compiled test files (dist/test/**/*.test.js) with node's test runner.
// Node 20's `node --test` takes no globs, so the files are listed here.
//   node scripts/run-tests.mjs [substring...]  files whose path contains one of them (all by default)
//   node scripts/run-tests.mjs --unit          the unit tests: no sockets, no child processes (seconds)
// Random inputs (fast-check properties, fuzzing, crash timing: test/helpers/seed.ts) take their seed from CICADA_TEST_SEED, chosen
// here when unset and printed at the end, so a failure can be replayed with the same seed.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** The unit tests: plain calls into the codec, topics, router, sessions, storage and core. */
const UNIT = ['dist/test/unit/', 'dist/test/protocol/', 'dist/test/topics/', 'dist/test/broker/session.test.js', 'dist/test/storage/'];

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...find(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const unit = filters.includes('--unit');
const substrings = [...(unit ? UNIT : []), ...filters.filter((f) => f !== '--unit')];
const files = find('dist/test')
  .sort()
  .filter((f) => substrings.length === 0 || substrings.some((s) => f.includes(s)));
if (files.length === 0) {
  process.stderr.write('no test files found under dist/test\n');
  process.exit(1);
}
const seed = process.env.CICADA_TEST_SEED ?? String(Math.floor(Math.random() * 2 ** 31));
// Sockets and processes are refused only when nothing but the unit tests runs.
const onlyUnit = unit && substrings.length === UNIT.length;
const env = { ...process.env, CICADA_TEST_SEED: seed, ...(onlyUnit ? { CICADA_TEST_UNIT: '1' } : {}) };
const started = Date.now();
const args = ['--expose-gc', '--import', './dist/test/helpers/preload.js', '--test', '--test-concurrency=2', ...files];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
const seconds = ((Date.now() - started) / 1000).toFixed(1);
const status = result.status ?? 1;
process.stdout.write(`\n${files.length} test files in ${seconds} s on Node ${process.versions.node}; seed ${seed}`);
process.stdout.write(status === 0 ? '\n' : ` (replay: CICADA_TEST_SEED=${seed} node scripts/run-tests.mjs ${filters.join(' ')})\n`);
process.exit(status);
