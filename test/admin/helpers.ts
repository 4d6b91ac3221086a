/**
 * A real broker with its admin HTTP server on a free port, API keys of each role, a password
 * file and an ACL file, for the admin API tests (real HTTP with fetch, real MQTT.js clients).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, type Broker, type BrokerOptions } from '../../src/index.js';
import type { Logger } from '../../src/broker/logger.js';
import { hashPassword } from '../../src/auth/password-file.js';

export const KEYS = {
  administrator: ['ops', 'ops-secret-0123456789'],
  viewer: ['watch', 'watch-secret-0123456789'],
  publisher: ['pub', 'pub-secret-0123456789'],
} as const;

export interface AdminBroker {
  broker: Broker;
  http: string;
  mqtt: string;
  dir: string;
  lines: string[];
  /** The admin password the broker logged at first start. */
  adminPassword: string;
  close(): Promise<void>;
}

export function basic(role: keyof typeof KEYS): string {
  const [key, secret] = KEYS[role];
  return `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
}

function recordingLogger(lines: string[]): Logger {
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (lines.length < 10_000) lines.push(`${level} ${typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '')} ${typeof objOrMsg === 'string' ? '' : safeJson(objOrMsg)}`);
    };
  const logger: Logger = { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => logger };
  return logger;
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v));
  } catch {
    return '';
  }
}

export async function startAdminBroker(extra: BrokerOptions = {}): Promise<AdminBroker> {
  const dir = mkdtempSync(join(tmpdir(), 'cicada-admin-'));
  const keyFile = join(dir, 'keys');
  writeFileSync(keyFile, `# key:secret:role\n${Object.entries(KEYS).map(([role, [k, s]]) => `${k}:${s}:${role}`).join('\n')}\n`);
  const passwordFile = join(dir, 'passwd');
  writeFileSync(passwordFile, `alice:${hashPassword('alice-pw')}\n`);
  const aclFile = join(dir, 'acl');
  writeFileSync(aclFile, 'topic readwrite #\nuser alice\ntopic readwrite #\n');
  const lines: string[] = [];
  const broker = createBroker(
    {
      port: 0,
      sysInterval: 0,
      persistenceLocation: dir,
      http: { port: 0 },
      httpApiKeyFile: keyFile,
      security: { allowAnonymous: true, passwordFile, aclFile },
      ...extra,
    },
    recordingLogger(lines),
  );
  await broker.listen();
  const logged = lines.map((l) => /dashboard user admin created with password (\S+)/.exec(l)?.[1]).find((p) => p !== undefined);
  if (logged === undefined || broker.httpUrl === undefined) throw new Error(`no admin password or HTTP URL: ${lines.join('\n')}`);
  return {
    broker,
    http: broker.httpUrl,
    mqtt: `mqtt://127.0.0.1:${broker.port}`,
    dir,
    lines,
    adminPassword: logged,
    close: async () => {
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON replies of many shapes, checked by the tests
  body: any;
  headers: Headers;
  text: string;
}

/** One HTTP request; the body parsed as JSON when it is JSON. */
export async function call(base: string, method: string, path: string, auth?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const init: RequestInit = { method, headers: { ...(auth !== undefined ? { authorization: auth } : {}), ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  let parsed: unknown = undefined;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
  return { status: response.status, body: parsed, headers: response.headers, text };
}

/** Log in as a dashboard user; the bearer header. */
export async function login(base: string, username: string, password: string): Promise<string> {
  const reply = await call(base, 'POST', '/api/v1/login', undefined, { username, password });
  if (reply.status !== 200) throw new Error(`login ${username}: ${reply.status} ${reply.text}`);
  return `Bearer ${reply.body.token as string}`;
}
