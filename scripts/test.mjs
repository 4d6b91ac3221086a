#!/usr/bin/env node
// `npm test`: the system packages the tests need, the build, the lint, every test file on the
// machine's Node, then the Node-sensitive ones on Node 24 (scripts/node24.mjs); prints the time
// of each step and the total. `npm run test:unit` passes --unit: build, then the
// unit tests only (no sockets, no child processes), in seconds.
import { spawnSync } from 'node:child_process';

const unit = process.argv[2] === '--unit';
const bin = (name) => `node_modules/.bin/${name}`;
const steps = unit
  ? [['build', bin('tsc'), ['-p', '.']], ['unit tests', process.execPath, ['scripts/run-tests.mjs', '--unit']]]
  : [
      ['test dependencies', process.execPath, ['scripts/ensure-test-deps.mjs']],
      ['build', bin('tsc'), ['-p', '.']],
      ['lint', bin('eslint'), ['.']],
      ['tests', process.execPath, ['scripts/run-tests.mjs']],
      // CICADA_NODE24=0 skips the Node 24 pass, CICADA_NODE24=full runs every test there too.
      ...(process.env.CICADA_NODE24 === '0' ? [] : [['tests on Node 24', process.execPath, ['scripts/node24.mjs', ...(process.env.CICADA_NODE24 === 'full' ? ['--full'] : [])]]]),
    ];
const started = Date.now();
const times = [];
let status = 0;
for (const [name, command, args] of steps) {
  const t0 = Date.now();
  status = spawnSync(command, args, { stdio: 'inherit' }).status ?? 1;
  times.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (status !== 0) break;
}
process.stdout.write(`${status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s (${times.join(', ')})\n`);
process.exit(status);
