/**
 * Loaded into every test process (`--import`, scripts/run-tests.mjs) before the test file:
 * - fast-check's properties run from CICADA_TEST_SEED, so a failure replays with the same seed;
 * - with CICADA_TEST_UNIT=1 (`npm run test:unit`), opening a socket or starting a process
 *   throws: a unit test that does either is in the wrong set.
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import fc from 'fast-check';

const seed = process.env.CICADA_TEST_SEED;
if (seed !== undefined && seed !== '') fc.configureGlobal({ seed: Number(seed) });

if (process.env.CICADA_TEST_UNIT === '1') {
  const refuse = (what: string) => (): never => {
    throw new Error(`a unit test may not ${what} (npm run test:unit runs without sockets or child processes)`);
  };
  net.Server.prototype.listen = refuse('listen on a socket');
  net.Socket.prototype.connect = refuse('connect a socket');
  for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const) {
    Object.defineProperty(childProcess, name, { value: refuse('start a process') });
  }
  syncBuiltinESMExports(); // `import { spawn } from 'node:child_process'` sees the refusal too
}
