// The commit gate with an asynchronous store: a store whose commits resolve only when the test
// says (the shape of a networked backend such as Redis), under a real broker core and real TCP
// listener, driven by a raw client with byte-exact packets. An acknowledgement leaves exactly when
// the commit of the batch holding its state has resolved: not before, and not held for a later
// batch written while that commit was in flight. A failed commit stops the broker, releases
// nothing and is never followed by another commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BrokerCore } from '../../src/broker/core.js';
import { silentLogger } from '../../src/broker/logger.js';
import { resolveCoreOptions } from '../../src/broker/options.js';
import { MemoryStorage } from '../../src/storage/memory.js';
import { ConnectionRate, startListener, type RunningListener } from '../../src/transport/listeners.js';
import { RawClient } from '../helpers/raw.js';
import { connect, disconnect, publish, subscribe, T } from '../helpers/packets.js';
import { waitFor } from '../helpers/wait.js';

/** A durable-looking store whose commits, while `hold` is set, resolve (or fail) one at a time on the test's word. */
class HeldStorage extends MemoryStorage {
  override readonly durable = true;
  hold = false;
  /** commit() calls so far. */
  calls = 0;
  private readonly pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  override async commit(): Promise<number> {
    this.calls++;
    const rows = await super.commit();
    if (this.hold) await new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
    return rows;
  }

  get inFlight(): number {
    return this.pending.length;
  }

  /** Resolve the oldest commit in flight. */
  release(): void {
    this.pending.shift()?.resolve();
  }

  /** Fail the oldest commit in flight. */
  fail(): void {
    this.pending.shift()?.reject(new Error('store unreachable (test)'));
  }
}

interface Setup {
  core: BrokerCore;
  storage: HeldStorage;
  /** A client whose QoS 1 PUBLISHes to `t` each store a delivery for an offline persistent subscriber. */
  publisher: RawClient;
  fatal: unknown[];
}

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<Setup> {
  const storage = new HeldStorage();
  const core = new BrokerCore(resolveCoreOptions({ sysInterval: 0, persistenceCommitIntervalMs: 1 }), silentLogger, storage);
  const fatal: unknown[] = [];
  core.onFatal = (error) => fatal.push(error);
  await core.restore();
  core.start();
  const listener: RunningListener = await startListener(core, { port: 0, host: '127.0.0.1' }, 'test', new ConnectionRate(0));
  const clients: RawClient[] = [];
  const client = async (): Promise<RawClient> => {
    const socket = net.connect(listener.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const raw = new RawClient(socket);
    clients.push(raw);
    return raw;
  };
  t.after(async () => {
    for (const raw of clients) raw.socket.destroy();
    storage.hold = false;
    while (storage.inFlight > 0) storage.release();
    await listener.close();
    core.stop();
    await core.persistence?.close();
  });
  // The offline persistent subscriber: every QoS 1 message to `t` is stored for it.
  const subscriber = await client();
  subscriber.send(connect({ clientId: 'held-sub', clean: false }));
  assert.equal((await subscriber.readPacket()).type, T.CONNACK);
  subscriber.send(subscribe(1, [['t', 1]]));
  assert.equal((await subscriber.readPacket()).type, T.SUBACK);
  subscriber.send(disconnect());
  await waitFor(() => core.sessions.get('held-sub')?.link === undefined, 2000, 'the subscriber gone offline');
  const publisher = await client();
  publisher.send(connect({ clientId: 'held-pub', clean: true }));
  assert.equal((await publisher.readPacket()).type, T.CONNACK);
  return { core, storage, publisher, fatal };
}

/** Publish QoS 1 message `id` and wait until the broker stored its delivery (in the open batch). */
async function publishStored(s: Setup, id: number): Promise<void> {
  s.publisher.send(publish({ topic: 't', payload: `m${id}`, qos: 1, id }));
  await waitFor(() => (s.core.sessions.get('held-sub')?.queue.length ?? 0) >= id, 2000, `delivery of m${id} stored`);
}

/** No packet reaches the client within `ms` (a negative check needs a window). */
async function nothingWithin(raw: RawClient, ms: number, what: string): Promise<void> {
  await assert.rejects(raw.readPacket(ms), /timed out|timeout/i, what);
}

/**
 * Hold commits; message 1 goes to batch 1, whose commit starts; message 2, written while it is in
 * flight, to batch 2. Returns how many commits there were before.
 */
async function twoBatches(s: Setup): Promise<number> {
  s.storage.hold = true;
  const callsBefore = s.storage.calls;
  await publishStored(s, 1);
  await waitFor(() => s.storage.inFlight === 1, 2000, 'the commit of batch 1 in flight');
  await publishStored(s, 2);
  return callsBefore;
}

test('[MQTT-4.3.2-2] async store: a PUBACK leaves when the commit holding its state resolves, and one of the next batch (written during that commit) waits for its own', async (t) => {
  const s = await setup(t);
  const callsBefore = await twoBatches(s);
  await nothingWithin(s.publisher, 100, 'no PUBACK while the commit of its state is in flight');
  assert.equal(s.storage.calls, callsBefore + 1, 'one commit in flight at a time: batch 2 waits for batch 1 to resolve');
  s.storage.release();
  const first = await s.publisher.readPacket();
  assert.deepEqual([first.type, first.body.readUInt16BE(0)], [T.PUBACK, 1], 'PUBACK 1 once batch 1 is durable');
  await waitFor(() => s.storage.inFlight === 1, 2000, 'the commit of batch 2 started once batch 1 resolved');
  await nothingWithin(s.publisher, 100, 'PUBACK 2 waits for the commit of batch 2');
  s.storage.release();
  const second = await s.publisher.readPacket();
  assert.deepEqual([second.type, second.body.readUInt16BE(0)], [T.PUBACK, 2], 'PUBACK 2 once batch 2 is durable');
  assert.deepEqual(s.fatal, []);
});

test('async store: a failed commit stops the broker, sends nothing that waited for it or for the next batch, and no commit follows, not even at close', async (t) => {
  const s = await setup(t);
  const callsBefore = await twoBatches(s);
  s.storage.fail();
  await waitFor(() => s.fatal.length === 1, 2000, 'onFatal called');
  await nothingWithin(s.publisher, 200, 'neither PUBACK is ever sent');
  await publishStored(s, 3);
  await nothingWithin(s.publisher, 100, 'nor one of a later message');
  s.storage.hold = false;
  await s.core.persistence?.close();
  assert.equal(s.storage.calls, callsBefore + 1, 'the failed commit was the last one: none after it, none at close');
});
