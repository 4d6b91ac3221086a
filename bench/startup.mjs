#!/usr/bin/env node
/**
 * Start-up time of the `cicada` commands: each command is spawned --runs times (default 9) one
 * after the other and timed from spawn to exit (wall) and by the CPU time it used (user + system,
 * from bash's `times`: what a loaded machine inflates least); the table gives medians (and the
 * minimum wall time) in ms, beside
 * `node -e 0` (Node's own start-up, the floor) and mosquitto_pub/mosquitto_sub where installed.
 * The publishing rows publish one message to a Cicada broker started on a free port of 127.0.0.1.
 *
 *   node bench/startup.mjs [--runs 9] [--json] [--cli PATH/bin/cicada.js]   (`npm run build` first;
 *   --cli times another build's commands, e.g. main's, against this build's broker)
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const BROKER_CLI = join(ROOT, 'bin', 'cicada.js');
const CLI = args.includes('--cli') ? args[args.indexOf('--cli') + 1] : BROKER_CLI;
const runs = Math.max(1, Math.min(100, Number(args[args.indexOf('--runs') + 1] ?? 9) || 9));
const json = args.includes('--json');

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

/** `0m0.052s` -> 52 (ms). */
const seconds = (text) => {
  const m = /(\d+)m([\d.]+)s/.exec(text);
  return m === null ? NaN : (Number(m[1]) * 60 + Number(m[2])) * 1000;
};

/** Wall and CPU time of one run, ms. The command runs under bash, whose `times` gives its CPU. */
function once(argv) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const script = '"$@" >/dev/null || exit $?; times >&2';
    const child = spawn('bash', ['-c', script, 'bash', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim()}`));
      // times: the shell's user and system time, then its children's.
      const children = err.trim().split('\n').at(-1) ?? '';
      const [user, system] = children.split(/\s+/).map(seconds);
      resolve({ wall, cpu: user + system });
    });
  });
}

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function measure(name, argv) {
  const results = [];
  try {
    for (let i = 0; i < runs; i++) results.push(await once(argv));
  } catch (error) {
    process.stderr.write(`${name}: ${error.message.split("\n")[0]}\n`); // e.g. a flag an older build lacks
    return { name, median: NaN, min: NaN, cpu: NaN };
  }
  const walls = results.map((r) => r.wall);
  return { name, median: median(walls), min: Math.min(...walls), cpu: median(results.map((r) => r.cpu)) };
}

const port = await freePort();
// In memory, no warm-up: nothing written to the working directory.
const dir = mkdtempSync(join(tmpdir(), 'cicada-startup-'));
writeFileSync(join(dir, 'cicada.conf'), 'persistence false\nwarm_up false\n');
const broker = spawn(process.execPath, [BROKER_CLI, 'broker', '-p', String(port), '-c', join(dir, 'cicada.conf')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the broker did not start in 20 s')), 20_000);
  broker.stdout.on('data', (d) => {
    if (String(d).includes(`127.0.0.1:${port}`)) {
      clearTimeout(timer);
      resolve();
    }
  });
  broker.on('exit', (code) => reject(new Error(`the broker exited ${code}`)));
});

const node = [process.execPath];
const cicada = [process.execPath, '--max-semi-space-size=4', CLI];
const pubArgs = ['-h', '127.0.0.1', '-p', String(port), '-t', 'startup/t', '-m', 'x'];
const rows = [];
try {
  rows.push(await measure('node -e 0 (floor)', [...node, '-e', '0']));
  rows.push(await measure('cicada --version', [...cicada, '--version']));
  rows.push(await measure('cicada pub --help', [...cicada, 'pub', '--help']));
  rows.push(await measure('cicada sub --help', [...cicada, 'sub', '--help']));
  rows.push(await measure('cicada passwd --help', [...cicada, 'passwd', '--help']));
  rows.push(await measure('cicada bench --help', [...cicada, 'bench', '--help']));
  rows.push(await measure('cicada pub -m x (QoS 0)', [...cicada, 'pub', ...pubArgs]));
  rows.push(await measure('cicada pub -m x -q 1', [...cicada, 'pub', ...pubArgs, '-q', '1']));
  rows.push(await measure('cicada sub -E (subscribe, exit)', [...cicada, 'sub', '-h', '127.0.0.1', '-p', String(port), '-t', 'startup/#', '-E']));
  if (has('mosquitto_pub')) rows.push(await measure('mosquitto_pub -m x (QoS 0)', ['mosquitto_pub', ...pubArgs]));
  if (has('mosquitto_sub')) rows.push(await measure('mosquitto_sub -E', ['mosquitto_sub', '-h', '127.0.0.1', '-p', String(port), '-t', 'startup/#', '-E']));
} finally {
  broker.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
const load = (await import('node:os')).loadavg()[0].toFixed(2);
if (json) {
  process.stdout.write(`${JSON.stringify({ runs, load, rows })}\n`);
} else {
  process.stdout.write(`start-up, ${runs} runs each, load ${load}\n| command | median wall ms | min wall ms | median CPU ms |\n|---|---|---|---|\n`);
  for (const r of rows) process.stdout.write(`| ${r.name} | ${r.median.toFixed(1)} | ${r.min.toFixed(1)} | ${r.cpu.toFixed(0)} |\n`);
}
