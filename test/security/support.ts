/**
 * Shared by the security tests: a throw-away PKI made with the openssl CLI (a CA, a server
 * certificate for localhost / 127.0.0.1, client certificates), temporary directories, and an
 * embedded Cicada whose log lines are kept for assertions.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { Broker, BrokerOptions } from '../../src/index.js';
import { createBroker } from '../../src/index.js';
import type { Logger } from '../../src/broker/logger.js';
import { ConfigError, loadConfigText } from '../../src/config/config-file.js';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { withTimeout } from '../helpers/wait.js';

export function tempDir(t: { after(fn: () => void): void }, prefix = 'cicada-sec-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Pki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** Client certificate and key files by CN. */
  client(cn: string): { cert: string; key: string };
  /** A CA nobody trusts, with a client certificate it signed. */
  rogue: { cert: string; key: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`], dir);
}

function signed(dir: string, ca: string, name: string, subject: string, extensions?: string): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const args = ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2'];
  if (extensions !== undefined) {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(args, dir);
}

/** CA, server (localhost, 127.0.0.1) and client certificates, made at test time. */
export function makePki(dir: string, clients: string[]): Pki {
  makeCa(dir, 'ca');
  signed(dir, 'ca', 'server', '/CN=localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const cn of clients) signed(dir, 'ca', `client-${cn}`, `/C=GB/O=Cicada Test/CN=${cn}`, 'extendedKeyUsage=clientAuth\n');
  makeCa(dir, 'rogue-ca');
  signed(dir, 'rogue-ca', 'rogue', '/CN=alice', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    serverCert: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    client: (cn) => ({ cert: join(dir, `client-${cn}.pem`), key: join(dir, `client-${cn}.key`) }),
    rogue: { cert: join(dir, 'rogue.pem'), key: join(dir, 'rogue.key') },
  };
}

/** A client certificate signed by the PKI's CA with any subject (e.g. '/O=Org' without a CN, or '/' for none). */
export function clientWithSubject(pki: Pki, name: string, subject: string): { cert: string; key: string } {
  signed(pki.dir, 'ca', name, subject, 'extendedKeyUsage=clientAuth\n');
  return { cert: join(pki.dir, `${name}.pem`), key: join(pki.dir, `${name}.key`) };
}

export function read(path: string): Buffer {
  return readFileSync(path);
}

/** A Logger that keeps `level message {fields}` lines. */
export function capture(lines: string[]): Logger {
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (lines.length >= 20_000) return;
      const fields = typeof objOrMsg === 'string' ? {} : objOrMsg;
      lines.push(`${level} ${typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '')} ${JSON.stringify(fields)}`);
    };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger };
  return logger;
}

export interface SecureBroker {
  broker: Broker;
  logs: string[];
  /** URL of listener i. */
  url: (i?: number) => string;
}

/** Start an embedded Cicada (no $SYS), closed when the test ends. */
export async function startCicada(t: { after(fn: () => Promise<void>): void }, options: BrokerOptions): Promise<SecureBroker> {
  const logs: string[] = [];
  const broker = createBroker({ sysInterval: 0, ...options }, capture(logs));
  await withTimeout(broker.listen(), 5000, 'cicada listen');
  t.after(() => withTimeout(broker.close(), 5000, 'cicada close'));
  return { broker, logs, url: (i = 0) => broker.urls[i] as string };
}

/** The port of a URL such as mqtts://127.0.0.1:1234. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** The CONNACK code a refused MQTT.js connection got, or undefined when it was accepted. */
export async function refusedCode(url: string, options: IClientOptions): Promise<number | undefined> {
  try {
    await endMqtt(await connectMqtt(url, options));
    return undefined;
  } catch (error) {
    return (error as { code?: number }).code;
  }
}

/** Publish at QoS 1 and return the PUBACK reason code (0 for 3.1.1 or success). */
export function pubackCode(client: MqttClient, topic: string, payload: string): Promise<number | undefined> {
  return client.publishAsync(topic, payload, { qos: 1 }).then(
    (packet) => (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0,
    (error: { code?: number }) => error.code,
  );
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** 'loaded', or the ConfigError message a configuration text gets. */
export function configOutcome(text: string, file: string): string {
  try {
    loadConfigText(text, file);
    return 'loaded';
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.message;
  }
}
