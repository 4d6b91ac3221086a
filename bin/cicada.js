#!/usr/bin/env node
// --max-semi-space-size=4 (MB): V8's young generation otherwise grows to 2 x 16 MB under a burst of
// connections and never shrinks, about 2.4 KiB per connection at 10,000 clients. Measured (README,
// Performance): idle connections 3.7 KiB instead of 5.8; peak fan-out about 30% lower, fan-in about
// 10% lower, QoS 1/2 unchanged. For peak throughput: `node --max-semi-space-size=16 bin/cicada.js`.
// The cap is a V8 start-up flag: v8.setFlagsFromString() comes too late (new space measured at
// 32 MB with it, 8 MB with the flag), and `env -S` in the shebang is missing from BusyBox's env
// (Alpine). So `cicada broker` started without it (the cicada binary, npx cicada) starts itself
// again with it: in place with process.execve where Node has it (22.15+, 23.11+), else as a child
// that gets the parent's signals and ends with it.
// Thin launcher: the CLI is compiled from src/cli (run `npm run build` first).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SEMI_SPACE = '--max-semi-space-size';
const args = process.argv.slice(2);
const nodeOptions = (process.env.NODE_OPTIONS ?? '').split(/\s+/);
const capped = [...process.execArgv, ...nodeOptions].some((a) => a.startsWith(SEMI_SPACE));

if (args[0] === 'broker' && !capped) relaunch();
else run();

function run() {
  // A relaunched child ends when its launcher does (even by SIGKILL): the IPC channel closes.
  if (process.env.CICADA_RELAUNCHED === '1' && process.channel !== undefined) {
    process.channel.unref();
    process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  }
  import('../dist/src/cli/main.js').then(({ main }) => main(args)).then(
    (code) => { if (typeof code === 'number') process.exitCode = code; },
    (err) => { process.stderr.write(`cicada: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
  );
}

function relaunch() {
  const argv = [`${SEMI_SPACE}=4`, ...process.execArgv, fileURLToPath(import.meta.url), ...args];
  if (typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...argv], process.env);
    return;
  }
  const child = spawn(process.execPath, argv, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, CICADA_RELAUNCHED: '1' } });
  const forward = (signal) => child.kill(signal);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, forward);
  child.on('exit', (code, signal) => {
    if (signal === null) process.exit(code ?? 1);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.off(s, forward);
    process.kill(process.pid, signal);
  });
}
