/**
 * One call per test: `const h = await setup(t, options)` starts a broker and gives factories for
 * clients and processes; everything they create is closed after the test (clients first, then
 * the broker), so every test cleans up and the process exits.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { IClientOptions } from 'mqtt';
import type { BrokerOptions } from '../../src/index.js';
import { startBroker, type TestBroker } from './broker.js';
import { connectMqtt, endMqtt, type TestClient } from './mqttjs.js';
import type { ConnectOptions } from './packets.js';
import { spawnProcess, type Spawned } from './processes.js';
import { rawClient, rawConnect, type RawClient } from './raw.js';

export interface Harness {
  broker: TestBroker;
  port: number;
  url: string;
  /** A raw TCP connection (no CONNECT sent). */
  raw(): Promise<RawClient>;
  /** A raw connection after CONNECT and an accepted CONNACK with the given session present. */
  rawConnect(options?: ConnectOptions, sessionPresent?: boolean): Promise<RawClient>;
  /** An MQTT.js client (3.1.1 unless options.protocolVersion says otherwise), connected. */
  mqtt(options?: IClientOptions): Promise<TestClient>;
  /** A child process, killed after the test. */
  spawn(command: string, args: string[]): Spawned;
  /** A connected client that proves the broker still serves others: `await w.check()`. */
  witness(): Promise<Witness>;
  /** Run `fn` after the test, before the broker closes. */
  defer(fn: () => unknown): void;
}

export interface Witness {
  check(): Promise<void>;
}

let witnessCount = 0;

export async function setup(t: TestContext, options: BrokerOptions = {}): Promise<Harness> {
  const broker = await startBroker(options);
  const cleanups: Array<() => unknown> = [];
  t.after(async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // Cleanup must not mask the test's own result.
      }
    }
    await broker.close();
  });
  const defer = (fn: () => unknown): void => {
    cleanups.push(fn);
  };
  const track = (client: RawClient): RawClient => {
    defer(() => client.close());
    return client;
  };
  const h: Harness = {
    broker,
    port: broker.port,
    url: broker.url,
    raw: async () => track(await rawClient(broker.port)),
    rawConnect: async (o, sp) => track(await rawConnect(broker.port, o, sp)),
    mqtt: async (o) => {
      const client = await connectMqtt(broker.url, o);
      defer(() => endMqtt(client, true));
      return client;
    },
    spawn: (command, args) => {
      const child = spawnProcess(command, args);
      defer(() => child.kill('SIGKILL'));
      return child;
    },
    witness: async () => {
      const id = `witness${++witnessCount}`;
      const client = await h.mqtt({ clientId: id });
      const topic = `witness/${id}`;
      await client.subscribeAsync(topic, { qos: 1 });
      let n = 0;
      return {
        async check() {
          assert.ok(client.connected, 'the witness client was disconnected');
          const payload = `ping ${++n}`;
          await client.publishAsync(topic, payload, { qos: 1 });
          const [m] = await client.inbox.next(1);
          assert.equal(m?.payload, payload, 'the witness client is no longer served');
        },
      };
    },
    defer,
  };
  return h;
}
