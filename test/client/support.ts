/**
 * Support for the client and CLI tests: a Mosquitto broker with a custom configuration, the
 * `cicada` CLI as a child process (from sources under tsx, or from dist after `npm test`'s build),
 * and throw-away TLS certificates.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/broker.js';
import { Spawned, spawnProcess, type ProcessResult } from '../helpers/processes.js';
import { sleep, withTimeout } from '../helpers/wait.js';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-client-test-'));
  // Mosquitto started as root drops to its own user: it must be able to read what we write.
  chmodSync(dir, 0o755);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Mosquitto {
  port: number;
  output(): string;
  /** SIGTERM (Mosquitto saves its persistence file), wait for exit. */
  stop(): Promise<void>;
}

/**
 * Starts Debian's mosquitto with `listener PORT 127.0.0.1` plus `lines`, in `dir`. It logs to
 * stderr, which is unbuffered, so output() is current (its stdout is block-buffered in a pipe).
 */
export async function startMosquitto(dir: string, lines: string[] = ['allow_anonymous true'], port?: number): Promise<Mosquitto> {
  const listenPort = port ?? (await freePort());
  const conf = join(dir, `mosquitto-${listenPort}.conf`);
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
  writeFileSync(conf, [`listener ${listenPort} 127.0.0.1`, 'log_dest stderr', 'log_type all', ...lines, ''].join('\n'));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    try {
      await withTimeout(exited, 3000, 'mosquitto exit');
    } catch {
      child.kill('SIGKILL');
      await exited;
    }
  };
  // Mosquitto logs "... running" once its listeners are open.
  const deadline = Date.now() + 5000;
  while (!/mosquitto version \S+ running/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`mosquitto did not start on ${listenPort}:\n${output}`);
    }
    await sleep(20);
  }
  return { port: listenPort, output: () => output, stop };
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const MAIN = fileURLToPath(new URL(`../../src/cli/main.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));

/** Runs `cicada ARGS` as a child process (input optional). */
export function cicada(args: string[], input?: string): Spawned {
  const script = `import(${JSON.stringify(MAIN)}).then((m) => m.main(process.argv.slice(1))).then((c) => { process.exitCode = c; })`;
  const nodeArgs = [...(FROM_SOURCE ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script, '--', ...args];
  if (input === undefined) return spawnProcess(process.execPath, nodeArgs);
  const child = spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'pipe'], cwd: HERE });
  child.stdin.end(input);
  return new Spawned(child);
}

export async function runCicada(args: string[], timeoutMs = 10_000, input?: string): Promise<ProcessResult> {
  return cicada(args, input).exit(timeoutMs);
}

export interface Certs {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for localhost/127.0.0.1 and a client certificate, made with openssl. */
export function makeCerts(dir: string): Certs {
  const f = (name: string): string => join(dir, name);
  const run = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Cicada Test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who === 'server' ? 'localhost' : 'cicada-client'}`, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    run('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('ext.cnf'), '-out', f(`${who}.crt`));
  }
  for (const name of readdirSync(dir)) chmodSync(f(name), 0o644);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key') };
}
