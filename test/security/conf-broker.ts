/**
 * A broker under test started from mosquitto.conf lines, a password file and an ACL file: Cicada
 * (embedded, the configuration parsed as `cicada broker -c` parses it) or, with
 * CICADA_TEST_BROKER=mosquitto, Debian's Mosquitto with the same files. `reload()` is SIGHUP.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Broker } from '../../src/index.js';
import { createBroker } from '../../src/index.js';
import { loadConfigText } from '../../src/config/config-file.js';
import { brokerKind, freePort } from '../helpers/broker.js';
import { connect } from '../helpers/packets.js';
import { runProcess } from '../helpers/processes.js';
import { waitFor, withTimeout } from '../helpers/wait.js';
import { capture } from './support.js';

export interface ConfBroker {
  url: string;
  /** The embedded Cicada; undefined for Mosquitto. */
  broker: Broker | undefined;
  /** Re-read the password and ACL files (SIGHUP), resolved once the broker has done it. */
  reload(): Promise<void>;
  logs(): string;
  close(): Promise<void>;
}

/** Write a password file with mosquitto_passwd -b. */
export async function writePasswords(file: string, users: Record<string, string>): Promise<void> {
  writeFileSync(file, '');
  for (const [user, password] of Object.entries(users)) {
    const result = await runProcess('mosquitto_passwd', ['-b', file, user, password], 10_000);
    if (result.code !== 0) throw new Error(`mosquitto_passwd: ${result.stderr}`);
  }
}

/** Start the broker under test on a free loopback port with `lines` after its listener line. */
export async function startConfBroker(t: { after(fn: () => Promise<void>): void }, dir: string, lines: string[]): Promise<ConfBroker> {
  const port = await freePort();
  const conf = join(dir, 'broker.conf');
  const logFile = join(dir, 'broker.log');
  const text = ['user root', `listener ${port} 127.0.0.1`, 'sys_interval 0', ...lines, ''].join('\n');
  const url = `mqtt://127.0.0.1:${port}`;
  if (brokerKind === 'cicada') {
    const logs: string[] = [];
    const options = loadConfigText(text, conf).options;
    const broker = createBroker({ persistence: false, ...options, logLevel: 'debug' }, capture(logs));
    await withTimeout(broker.listen(), 5000, 'cicada listen');
    t.after(() => withTimeout(broker.close(), 5000, 'cicada close'));
    return {
      url,
      broker,
      reload: () => Promise.resolve(broker.reload()),
      logs: () => logs.join('\n'),
      close: () => withTimeout(broker.close(), 5000, 'cicada close'),
    };
  }
  writeFileSync(conf, `${text}persistence false\nlog_dest file ${logFile}\nlog_type all\n`);
  writeFileSync(logFile, '');
  const child = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
  const logs = (): string => readFileSync(logFile, 'utf8');
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await withTimeout(exited, 5000, 'mosquitto exit').catch(() => child.kill('SIGKILL'));
  };
  t.after(close);
  await waitFor(() => logs().includes('running'), 5000, 'mosquitto running');
  return {
    url,
    broker: undefined,
    async reload(): Promise<void> {
      const before = logs().split('Reloading config').length;
      child.kill('SIGHUP');
      await waitFor(() => logs().split('Reloading config').length > before, 5000, 'mosquitto reload');
      // Mosquitto logs the line, then applies the files in the same turn of its loop: an answer
      // to a later CONNECT means that turn is over.
      await answered(port);
    },
    logs,
    close,
  };
}

/** Send a CONNECT and resolve when the broker answers it or closes the connection. */
function answered(port: number): Promise<void> {
  return withTimeout(
    new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(connect({ clientId: 'reload-probe' })));
      const done = (): void => {
        socket.destroy();
        resolve();
      };
      socket.once('data', done);
      socket.once('close', done);
      socket.once('error', done);
    }),
    5000,
    'broker answer after reload',
  );
}
