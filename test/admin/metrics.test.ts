// GET /metrics parsed by the rules of the Prometheus text exposition format 0.0.4: every line a
// comment (# HELP / # TYPE), blank, or a sample `name{label="value",...} value [timestamp]`;
// names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, label values with \\, \"
// and \n escapes only; at most one HELP and one TYPE per family, TYPE before its samples, a
// family's samples together; counters named *_total. Then the figures against real traffic.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectMqtt, endMqtt } from '../helpers/mqttjs.js';
import { basic, call, startAdminBroker, type AdminBroker } from './helpers.js';

interface Family {
  name: string;
  type: string | undefined;
  help: string | undefined;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

/** The family a sample belongs to: histogram and summary samples carry suffixes. */
function familyOf(sample: string, families: Map<string, Family>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = sample.slice(0, -suffix.length);
    if (sample.endsWith(suffix) && ['histogram', 'summary'].includes(families.get(base)?.type ?? '')) return base;
  }
  return sample;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest !== '') {
    const m = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    assert.ok(m, `${where}: malformed labels ${text}`);
    const name = m[1] as string;
    assert.match(name, LABEL_NAME, `${where}: label name`);
    assert.ok(!(name in labels), `${where}: label ${name} twice`);
    labels[name] = (m[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

/** A value as Go's strconv.ParseFloat reads it (Prometheus's parser): NaN and Inf in any case. */
function parseValue(text: string, where: string): number {
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf' || special === '+infinity' || special === 'infinity') return Infinity;
  if (special === '-inf' || special === '-infinity') return -Infinity;
  if (special === 'nan') return NaN;
  assert.match(text, /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/, `${where}: value ${text}`);
  return Number(text);
}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: string | undefined;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { name, type: undefined, help: undefined, samples: [] }));
    return f;
  };
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // other comments are allowed
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      assert.match(name, METRIC_NAME, `${where}: metric name`);
      const f = family(name);
      if (kind === 'HELP') {
        assert.equal(f.help, undefined, `${where}: second HELP for ${name}`);
        f.help = rest;
      } else {
        assert.equal(f.type, undefined, `${where}: second TYPE for ${name}`);
        assert.equal(f.samples.length, 0, `${where}: TYPE of ${name} after its samples`);
        assert.ok(TYPES.includes(rest), `${where}: type ${rest}`);
        f.type = rest;
      }
      return;
    }
    const m = /^([^\s{]+)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    assert.ok(m, `${where}: not a sample: ${line}`);
    const name = m[1] as string;
    assert.match(name, METRIC_NAME, `${where}: metric name`);
    const owner = familyOf(name, families);
    if (owner !== current) {
      assert.ok(!closed.has(owner), `${where}: samples of ${owner} are not together`);
      if (current !== undefined) closed.add(current);
      current = owner;
    }
    family(owner).samples.push({ name, labels: parseLabels(m[2] ?? '', where), value: parseValue(m[3] as string, where) });
  });
  return families;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(name);
  return f?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

let b: AdminBroker;
before(async () => {
  b = await startAdminBroker({ maxQueuedMessages: 1 });
});
after(async () => {
  await b.close();
});

void test('/metrics follows the Prometheus text format: names, HELP and TYPE once each, counters end in _total', async () => {
  const reply = await fetch(`${b.http}/metrics`);
  assert.equal(reply.status, 200, 'open without credentials by default');
  assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheusText(await reply.text());
  for (const f of families.values()) {
    assert.ok(f.help !== undefined && f.type !== undefined, `${f.name} has HELP and TYPE`);
    if (f.type === 'counter') assert.ok(f.name.endsWith('_total'), `counter ${f.name} ends in _total`);
    // prom-client's own nodejs_active_*_total are gauges (its naming, not ours): ours are strict.
    if (f.name.startsWith('cicada_') && f.name.endsWith('_total')) assert.equal(f.type, 'counter', `${f.name} is a counter`);
  }
  for (const name of [
    'cicada_connections',
    'cicada_sessions',
    'cicada_subscriptions',
    'cicada_retained_messages',
    'cicada_messages_received_total',
    'cicada_messages_sent_total',
    'cicada_bytes_received_total',
    'cicada_bytes_sent_total',
    'cicada_messages_dropped_total',
    'cicada_packets_received_total',
    'cicada_queued_messages',
    'cicada_refusals_total',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_eventloop_lag_seconds',
  ]) {
    assert.ok(families.has(name), `${name} is exported`);
  }
});

void test('/metrics figures follow real MQTT traffic: connections, messages, retained, drops by reason', async () => {
  const sub = await connectMqtt(b.mqtt, { clientId: 'metrics-sub', clean: false, protocolVersion: 4 });
  await sub.subscribeAsync('m/#', { qos: 1 });
  await endMqtt(sub);
  const pub = await connectMqtt(b.mqtt, { clientId: 'metrics-pub' });
  // Two QoS 1 messages for a disconnected session whose queue holds one: one dropped (queue full).
  await pub.publishAsync('m/1', 'a', { qos: 1, retain: true });
  await pub.publishAsync('m/2', 'b', { qos: 1 });
  const families = parsePrometheusText(await (await fetch(`${b.http}/metrics`)).text());
  assert.equal(value(families, 'cicada_connections'), 1);
  assert.equal(value(families, 'cicada_sessions'), 2);
  assert.equal(value(families, 'cicada_retained_messages'), 1);
  assert.equal(value(families, 'cicada_queued_messages'), 1);
  assert.equal(value(families, 'cicada_messages_received_total'), 2);
  assert.equal(value(families, 'cicada_messages_dropped_total', { reason: 'queue-full' }), 1);
  assert.equal(value(families, 'cicada_messages_dropped_total', { reason: 'expired' }), 0);
  await pub.publishAsync('m/3', 'c', { qos: 0 });
  const later = parsePrometheusText(await (await fetch(`${b.http}/metrics`)).text());
  assert.equal(value(later, 'cicada_messages_received_total'), 3, 'a counter grows between scrapes, never counted twice');
  await endMqtt(pub);
});

void test('http_metrics_auth true: /metrics needs a viewer', async () => {
  const closed = await startAdminBroker({ httpMetricsAuth: true });
  try {
    const anonymous = await call(closed.http, 'GET', '/metrics');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'UNAUTHORIZED');
    const viewer = await call(closed.http, 'GET', '/metrics', basic('viewer'));
    assert.equal(viewer.status, 200);
    assert.ok(parsePrometheusText(viewer.text).has('cicada_connections'));
  } finally {
    await closed.close();
  }
});
