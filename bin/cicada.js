#!/usr/bin/env node
// --max-semi-space-size=4 (MB): V8's young generation otherwise grows to 2 x 16 MB under a burst of
// connections and never shrinks, about 2.4 KiB per connection at 10,000 clients. Measured (README,
// Performance): idle connections 3.7 KiB instead of 5.8; peak fan-out about 30% lower, fan-in about
// 10% lower, QoS 1/2 unchanged. For peak throughput: `node --max-semi-space-size=16 bin/cicada.js`.
// The cap is a V8 start-up flag: v8.setFlagsFromString() comes too late (new space measured at
// 32 MB with it, 8 MB with the flag), and `env -S` in the shebang is missing from BusyBox's env
// (Alpine). So `cicada broker` started without it (the cicada binary, npx cicada) starts itself
// again with it, in place, with process.execve (Node 22.15+, 23.11+, 24). Older Node has no
// execve: there the broker runs uncapped unless started as `node --max-semi-space-size=4
// bin/cicada.js` (npm start does); a child process would change the broker's pid under its
// supervisor and its lock file.
// Thin launcher: the CLI is compiled from src/cli (run `npm run build` first).
// SIGHUP would end the process (Node's default) until the broker is up: hold it before loading the
// rest; a reload asked for during start-up runs once the broker listens (src/cli/reload-signal.ts).
import { fileURLToPath } from 'node:url';
import { holdReloads, isBrokerCommand } from '../dist/src/cli/reload-signal.js';

const SEMI_SPACE = '--max-semi-space-size';
const args = process.argv.slice(2);
if (isBrokerCommand(args)) holdReloads();
const nodeOptions = (process.env.NODE_OPTIONS ?? '').split(/\s+/);
const capped = [...process.execArgv, ...nodeOptions].some((a) => a.startsWith(SEMI_SPACE));

if (isBrokerCommand(args) && !capped && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, `${SEMI_SPACE}=4`, ...process.execArgv, fileURLToPath(import.meta.url), ...args], process.env);
}
const { main } = await import('../dist/src/cli/main.js');
main(args).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { process.stderr.write(`cicada: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
