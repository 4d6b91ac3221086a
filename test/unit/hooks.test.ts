// The hook chain (src/broker/hooks.ts) with plain calls: order by priority, stop, removal, fold
// results, the synchronous path staying synchronous, and asynchrony only where it is declared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BrokerEventListeners } from '../../src/broker/events.js';
import { alteredMessage, HookChain, HookPriority, registerOptionHooks } from '../../src/broker/hooks.js';
import { Message } from '../../src/broker/message.js';
import type { ClientInfo, ConnectInfo } from '../../src/broker/options.js';
import { connectedChannel, unitCore } from '../helpers/channel.js';

const client: ClientInfo = { clientId: 'c', username: 'u', remoteAddress: '127.0.0.1' };
const info: ConnectInfo = { clientId: 'c', username: 'u', password: undefined, remoteAddress: '127.0.0.1', protocolVersion: 5 };
const message = (topic = 't'): Message => new Message(topic, Buffer.from('x'), 1, false, undefined, 'c', 0);

function chain(): { hooks: HookChain; errors: Error[] } {
  const errors: Error[] = [];
  return { hooks: new HookChain((e) => errors.push(e)), errors };
}

void test('callbacks run by priority, higher first, ties in registration order', () => {
  const { hooks } = chain();
  const order: string[] = [];
  hooks.add('client.connected', () => void order.push('low'), -5);
  hooks.add('client.connected', () => void order.push('zero-a'));
  hooks.add('client.connected', () => void order.push('high'), 10);
  hooks.add('client.connected', () => void order.push('zero-b'), 0);
  hooks.add('client.connected', () => void order.push('last'), HookPriority.listeners);
  hooks.notify('client.connected', client);
  assert.deepEqual(order, ['high', 'zero-a', 'zero-b', 'low', 'last']);
});

void test("'stop' ends a notification run; the callbacks after it do not run", () => {
  const { hooks } = chain();
  const order: string[] = [];
  hooks.add('message.delivered', () => void order.push('first'), 2);
  hooks.add('message.delivered', () => 'stop', 1);
  hooks.add('message.delivered', () => void order.push('never'), 0);
  hooks.notify('message.delivered', client, message());
  assert.deepEqual(order, ['first']);
});

void test('registration returns a function that removes it (twice: no effect), also during a run', () => {
  const { hooks } = chain();
  const order: string[] = [];
  const removeA = hooks.add('session.created', () => {
    order.push('a');
    removeB(); // the run in progress keeps its list
  });
  const removeB = hooks.add('session.created', () => void order.push('b'));
  hooks.notify('session.created', client);
  hooks.notify('session.created', client);
  removeA();
  removeA();
  hooks.notify('session.created', client);
  assert.deepEqual(order, ['a', 'b', 'a']);
  assert.equal(hooks.has('session.created'), false);
});

void test('client.authorize folds: the first definite answer wins, ignore passes on, all ignore is deny, none is allow', () => {
  const { hooks } = chain();
  assert.equal(hooks.authorize('publish', client, 't', 0, false), true, 'no callback: the open default');
  const asked: string[] = [];
  hooks.add('client.authorize', (_c, _a, topic) => (asked.push(`p10 ${topic}`), topic === 'secret' ? 'deny' : 'ignore'), 10);
  hooks.add('client.authorize', (_c, _a, topic) => (asked.push(`p0 ${topic}`), topic === 'open' ? 'allow' : 'ignore'), 0);
  assert.equal(hooks.authorize('publish', client, 'secret', 0, false), false);
  assert.equal(hooks.authorize('publish', client, 'open', 0, false), true);
  assert.equal(hooks.authorize('publish', client, 'other', 0, false), false, 'no definite answer: fail closed');
  assert.deepEqual(asked, ['p10 secret', 'p10 open', 'p0 open', 'p10 other', 'p0 other']);
});

void test('client.authorize: a number grants at most that QoS to a subscription and allows elsewhere', () => {
  const { hooks } = chain();
  hooks.add('client.authorize', () => 1);
  assert.equal(hooks.authorize('subscribe', client, 'a/#', 2, false), 1);
  assert.equal(hooks.authorize('publish', client, 'a', 2, false), true);
});

void test('client.authorize actions: a callback for publish only leaves deliveries unchecked (open) and costs them nothing', () => {
  const { hooks } = chain();
  hooks.add('client.authorize', () => 'deny', 0, { actions: ['publish'] });
  assert.equal(hooks.authorizes('publish'), true);
  assert.equal(hooks.authorizes('deliver'), false);
  assert.equal(hooks.authorize('deliver', client, 't', 0, false), true);
  assert.equal(hooks.authorize('subscribe', client, 't', 0, false), true);
  assert.throws(() => hooks.add('client.connected', () => undefined, 0, { actions: ['publish'] }), /for client.authorize/);
});

void test('client.authenticate folds: first definite answer; all ignore refuses with Not authorized (0x87); none accepts', () => {
  const { hooks } = chain();
  assert.equal(hooks.authenticate(info), true);
  const remove = hooks.add('client.authenticate', () => 'ignore', 5);
  assert.equal(hooks.authenticate(info), 0x87);
  hooks.add('client.authenticate', (i) => ({ username: `${i.clientId}-user` }), 0);
  assert.deepEqual(hooks.authenticate(info), { username: 'c-user' });
  remove();
  hooks.add('client.authenticate', () => false, 1);
  assert.equal(hooks.authenticate(info), false);
});

void test('message.publish folds over the message: a callback may replace it or stop it', () => {
  const { hooks } = chain();
  assert.equal(hooks.publish(message('a'), client)?.topic, 'a');
  hooks.add('message.publish', (m) => (m.topic === 'drop' ? 'stop' : undefined), 10);
  hooks.add('message.publish', (m) => alteredMessage(m, { topic: `moved/${m.topic}`, payload: 'changed' }), 0);
  hooks.add('message.publish', (m) => alteredMessage(m, { qos: 0 }), -1);
  const routed = hooks.publish(message('a'), client);
  assert.deepEqual([routed?.topic, routed?.payload.toString(), routed?.qos, routed?.origin], ['moved/a', 'changed', 0, 'c']);
  assert.equal(hooks.publish(message('drop'), client), undefined);
});

void test('the run stays synchronous when every callback is: no Promise, answers in the same turn', () => {
  const { hooks } = chain();
  hooks.add('client.authorize', () => 'ignore', 1);
  hooks.add('client.authorize', () => 'allow', 0);
  hooks.add('client.authenticate', () => true);
  const answer = hooks.authorize('subscribe', client, 't', 1, false);
  assert.equal(answer, true, 'a plain value, not a Promise');
  assert.equal(hooks.authenticate(info), true);
});

void test('asynchronous callbacks continue the fold where declared (authenticate, authorize publish/subscribe)', async () => {
  const { hooks } = chain();
  hooks.add('client.authorize', () => Promise.resolve('ignore'), 2, { actions: ['subscribe'] });
  hooks.add('client.authorize', () => 'ignore', 1);
  hooks.add('client.authorize', (_c, _a, topic) => Promise.resolve(topic === 'ok' ? 'allow' : 'deny'), 0);
  const pending = hooks.authorize('subscribe', client, 'ok', 1, false);
  assert.ok(pending instanceof Promise);
  assert.equal(await pending, true);
  assert.equal(await hooks.authorize('publish', client, 'no', 1, false), false);
  hooks.add('client.authenticate', () => Promise.resolve('ignore'), 1);
  hooks.add('client.authenticate', () => Promise.resolve(true), 0);
  assert.equal(await hooks.authenticate(info), true);
});

void test('asynchrony is refused where not declared: a delivery check answering a Promise is deny (fail closed), a notification one is reported', () => {
  const { hooks, errors } = chain();
  hooks.add('client.authorize', () => Promise.resolve('allow'), 0, { actions: ['deliver'] });
  assert.equal(hooks.authorize('deliver', client, 't', 0, false), false);
  // An async function is not assignable to a notification callback; at run time it is reported.
  hooks.add('message.acked', (() => Promise.resolve()) as unknown as () => undefined);
  hooks.notify('message.acked', client, message());
  assert.equal(errors.length, 2);
  assert.match(errors[0]?.message ?? '', /client.authorize hook returned a Promise/);
  assert.match(errors[1]?.message ?? '', /message.acked hook returned a Promise/);
});

void test('a callback that throws is reported: a decision is then no, a notification goes on to the next callback', () => {
  const { hooks, errors } = chain();
  const boom = (): never => {
    throw new Error('boom');
  };
  hooks.add('client.authorize', boom, 1);
  hooks.add('client.authorize', () => 'allow', 0);
  assert.equal(hooks.authorize('publish', client, 't', 0, false), false);
  let reached = false;
  hooks.add('client.disconnected', boom, 1);
  hooks.add('client.disconnected', () => void (reached = true), 0);
  hooks.notify('client.disconnected', client, 'bye');
  assert.ok(reached);
  assert.equal(errors.length, 2);
  assert.match(errors[0]?.message ?? '', /client.authorize hook threw: boom/);
  const other = chain();
  other.hooks.add('client.authorize', () => ({ allow: true }) as unknown as 'allow');
  assert.equal(other.hooks.authorize('subscribe', client, 't', 0, false), false, 'not an answer: deny');
  assert.match(other.errors[0]?.message ?? '', /not an answer: \{"allow":true\}/);
});

void test('unknown hook points and non-numeric priorities are refused with a clear message', () => {
  const { hooks } = chain();
  assert.throws(() => hooks.add('client.connect' as 'client.connected', () => undefined), /unknown hook point "client.connect"/);
  assert.throws(() => hooks.add('client.connected', () => undefined, Number.NaN), /priority must be a finite number/);
  assert.throws(() => hooks.add('client.connected', 'log' as unknown as () => undefined), /client.connected hook must be a function, not string/);
});

void test('BrokerOptions hooks become registrations at priority 0, each for its own action, before lower priorities', () => {
  const { hooks } = chain();
  registerOptionHooks(hooks, { authorizePublish: (_c, topic) => topic !== 'no', authorizeRead: () => false });
  hooks.add('client.authorize', () => 'allow', HookPriority.security);
  assert.equal(hooks.authorize('publish', client, 'no', 0, false), false, 'the option hook decides publishes');
  assert.equal(hooks.authorize('publish', client, 'yes', 0, false), true);
  assert.equal(hooks.authorize('deliver', client, 'x', 0, false), false, 'authorizeRead decides deliveries');
  assert.equal(hooks.authorize('subscribe', client, 'x', 0, false), true, 'subscriptions fall through to the lower registration');
});

void test('with nothing registered the core runs no hook and builds no client info on the message path', () => {
  const core = unitCore();
  const { channel: subscriber, outbox } = connectedChannel(core, 'sub', 4);
  subscriber.handle({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 't', qos: 1 }] });
  const { channel: publisher } = connectedChannel(core, 'pub', 4);
  publisher.handle({ type: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 1 });
  assert.equal(outbox.of('publish').length, 1);
  // info() is cached once built: nothing on the path asked for it.
  assert.equal((publisher as unknown as { cachedInfo: unknown }).cachedInfo, undefined, 'no ClientInfo built for the publisher');
  assert.equal((subscriber as unknown as { cachedInfo: unknown }).cachedInfo, undefined, 'no ClientInfo built for the subscriber');
  core.stop();
});

void test('broker.on/off on the chain: listeners run after every other callback, off removes one registration, fatal is told apart', () => {
  const { hooks } = chain();
  const events = new BrokerEventListeners(hooks);
  const seen: string[] = [];
  const onConnected = (c: ClientInfo): void => void seen.push(`listener ${c.clientId}`);
  events.on('clientConnected', onConnected);
  events.on('clientConnected', onConnected);
  hooks.add('client.connected', () => void seen.push('hook'), -1_000_000);
  hooks.notify('client.connected', client);
  assert.deepEqual(seen, ['hook', 'listener c', 'listener c']);
  events.off('clientConnected', onConnected);
  events.off('subscribed', () => undefined); // never added: nothing happens
  seen.length = 0;
  hooks.notify('client.connected', client);
  assert.deepEqual(seen, ['hook', 'listener c']);
  events.off('clientConnected', onConnected);
  assert.equal(hooks.has('client.connected'), true, 'the other hook stays');
  const messages: string[] = [];
  events.on('message', (topic, payload, qos, retain, publisher) => void messages.push(`${topic} ${payload.toString()} ${qos} ${retain} ${publisher?.clientId}`));
  hooks.add('message.publish', (m) => alteredMessage(m, { topic: 'changed' }), 0);
  const routed = hooks.publish(message('t'), client);
  assert.deepEqual(messages, [], 'the message listener runs after routing, not before');
  hooks.notify('message.routed', routed!, client); // as BrokerCore.publish does once the message is routed
  assert.deepEqual(messages, ['changed x 1 false c'], 'the message listener sees the message as it was routed');
  const fatal: string[] = [];
  const onFatal = (e: Error): void => void fatal.push(e.message);
  events.on('fatal', onFatal);
  events.fatal(new Error('store failed'));
  events.off('fatal', onFatal);
  events.fatal(new Error('again'));
  assert.deepEqual(fatal, ['store failed']);
});
