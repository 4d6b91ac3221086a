/**
 * MQTT 5.0 with independent tools: Debian's mosquitto_pub / mosquitto_sub with -V mqttv5 and -D
 * properties, and Python paho-mqtt 1.6 (Debian's /usr/bin/python3) with MQTTv5. PUBLISH
 * properties (user properties, message expiry, content type, response topic, correlation data,
 * payload format) and subscription identifiers survive the broker unchanged [MQTT-3.3.2-4]
 * [MQTT-3.3.2-6] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20] [MQTT-3.3.4-3].
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, type Harness } from '../helpers/harness.js';
import { runProcess, SYSTEM_PYTHON, type Spawned } from '../helpers/processes.js';
import { mqtt5, mqtt5Subscriber } from '../helpers/v5.js';
import { waitFor } from '../helpers/wait.js';

const TOOL_TIMEOUT_MS = 5000;
/** mosquitto_sub output format: every v5 property it can print, separated by '|'. */
const FORMAT = '%t|%p|%C|%E|%P|%R|%D|%F|%S';


const PUB_PROPS = [
  ['-D', 'publish', 'user-property', 'k1', 'v1'],
  ['-D', 'publish', 'user-property', 'k2', 'v2'],
  ['-D', 'publish', 'message-expiry-interval', '60'],
  ['-D', 'publish', 'content-type', 'text/x-cicada'],
  ['-D', 'publish', 'response-topic', 'v5tools/reply'],
  ['-D', 'publish', 'correlation-data', 'corr-1'],
  ['-D', 'publish', 'payload-format-indicator', '1'],
].flat();

async function mosquittoPub(h: Harness, args: string[]): Promise<void> {
  const result = await runProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(h.port), '-V', 'mqttv5', ...args], TOOL_TIMEOUT_MS);
  assert.equal(result.code, 0, `mosquitto_pub ${args.join(' ')} failed: ${result.stderr}`);
}

/** mosquitto_sub -V mqttv5 printing FORMAT, resolved once subscribed (line-buffered with stdbuf). */
async function mosquittoSub(h: Harness, args: string[]): Promise<Spawned> {
  const child = h.spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(h.port), '-V', 'mqttv5', '-d', '-W', '5', '-F', FORMAT, ...args]);
  await child.waitForOutput('received SUBACK', TOOL_TIMEOUT_MS);
  return child;
}

/** The FORMAT lines mosquitto_sub printed for `topicPrefix`, split into fields. */
async function formatted(child: Spawned, topicPrefix: string): Promise<string[][]> {
  const result = await child.exit(TOOL_TIMEOUT_MS);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith(topicPrefix))
    .map((l) => l.split('|'));
}

describe('mosquitto_pub / mosquitto_sub -V mqttv5 with properties', { concurrency: true }, () => {
  test('mosquitto_pub -D publish properties to an MQTT.js v5 subscriber: all unchanged', async (t) => {
    const h = await setup(t);
    const { packets } = await mqtt5Subscriber(h, 'mq-js-sub', 'v5tools/a', 1);
    await mosquittoPub(h, ['-t', 'v5tools/a', '-m', 'from mosquitto_pub', '-q', '1', ...PUB_PROPS]);
    const [m] = await packets.count(1);
    assert.equal(m?.payload.toString(), 'from mosquitto_pub');
    const props = m?.properties ?? {};
    assert.deepEqual({ ...props.userProperties }, { k1: 'v1', k2: 'v2' });
    assert.ok(props.messageExpiryInterval !== undefined && props.messageExpiryInterval >= 59 && props.messageExpiryInterval <= 60);
    assert.equal(props.contentType, 'text/x-cicada');
    assert.equal(props.responseTopic, 'v5tools/reply');
    assert.equal(props.correlationData?.toString(), 'corr-1');
    assert.equal(props.payloadFormatIndicator, true);
  });

  test('MQTT.js v5 publisher to mosquitto_sub -V mqttv5 -F: properties printed unchanged, subscription identifier from -D subscribe', async (t) => {
    const h = await setup(t);
    const s = await mosquittoSub(h, ['-t', 'v5tools/b', '-q', '1', '-C', '1', '-D', 'subscribe', 'subscription-identifier', '42']);
    const p = await mqtt5(h, 'mq-js-pub');
    await p.publishAsync('v5tools/b', 'from MQTT.js', {
      qos: 1,
      properties: {
        userProperties: { who: 'mqttjs' },
        messageExpiryInterval: 120,
        contentType: 'text/plain',
        responseTopic: 'v5tools/back',
        correlationData: Buffer.from('c42'),
        payloadFormatIndicator: true,
      },
    });
    const [line] = await formatted(s, 'v5tools/');
    assert.ok(line, 'mosquitto_sub printed nothing');
    const [topic, payload, contentType, expiry, user, response, corr, pfi, sid] = line;
    assert.deepEqual([topic, payload, contentType, user, response, corr, pfi, sid], ['v5tools/b', 'from MQTT.js', 'text/plain', 'who:mqttjs', 'v5tools/back', 'c42', '1', '42']);
    assert.ok(Number(expiry) >= 119 && Number(expiry) <= 120, `message expiry ${String(expiry)}`);
  });

  test('mosquitto_pub -> mosquitto_sub, both -V mqttv5, with -D user-property, message-expiry-interval and content-type', async (t) => {
    const h = await setup(t);
    const s = await mosquittoSub(h, ['-t', 'v5tools/c', '-q', '2', '-C', '1']);
    await mosquittoPub(h, ['-t', 'v5tools/c', '-m', 'round trip', '-q', '2', '-D', 'publish', 'user-property', 'a', 'b', '-D', 'publish', 'message-expiry-interval', '30', '-D', 'publish', 'content-type', 'ct/1']);
    const [line] = await formatted(s, 'v5tools/');
    assert.ok(line, 'mosquitto_sub printed nothing');
    assert.deepEqual([line[0], line[1], line[2], line[4]], ['v5tools/c', 'round trip', 'ct/1', 'a:b']);
    assert.ok(Number(line[3]) >= 29 && Number(line[3]) <= 30, `message expiry ${String(line[3])}`);
  });

  test('mosquitto_sub -V mqttv5 on a shared subscription: the message goes to it or the MQTT.js member, once', async (t) => {
    const h = await setup(t);
    const s = await mosquittoSub(h, ['-t', '$share/g/v5tools/d', '-q', '1', '-W', '2']);
    const js = await mqtt5(h, 'mq-share-js');
    await js.subscribeAsync('$share/g/v5tools/d', { qos: 1 });
    const p = await mqtt5(h, 'mq-share-pub');
    for (let i = 0; i < 4; i++) await p.publishAsync('v5tools/d', `s${i}`, { qos: 1 });
    const printed = (): string[] => s.stdout.split('\n').filter((l) => l.startsWith('v5tools/d|')).map((l) => l.split('|')[1] ?? '');
    // Stop mosquitto_sub only once every message was printed by one member or received by the other.
    await waitFor(() => printed().length + js.inbox.all.length >= 4, TOOL_TIMEOUT_MS, 'all 4 shared messages');
    s.kill('SIGTERM');
    await s.exit(TOOL_TIMEOUT_MS);
    const viaTool = printed();
    const viaJs = js.inbox.all.map((m) => m.payload);
    assert.deepEqual([...viaTool, ...viaJs].sort(), ['s0', 's1', 's2', 's3']);
    assert.ok(viaTool.length > 0 && viaJs.length > 0, `split ${viaTool.length}/${viaJs.length}`);
  });
});

/**
 * paho MQTTv5. argv: mode port client_id topic. "sub": subscribes (Subscription Identifier 3),
 * prints READY, then one JSON line per message with its properties, exits after one message or
 * 5 s. "pub": publishes one QoS 1 message with properties and exits.
 */
const PAHO = `
import sys, json, time
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes
mode, port, client_id, topic = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
got = []
def out(line):
    print(line, flush=True)
def on_connect(c, userdata, flags, rc, props):
    out("CONNACK %d" % rc.value)
    if mode == "sub":
        sp = Properties(PacketTypes.SUBSCRIBE)
        sp.SubscriptionIdentifier = 3
        c.subscribe(topic, qos=1, properties=sp)
def on_subscribe(c, userdata, mid, codes, props):
    out("READY %s" % [x.value for x in codes])
def on_message(c, userdata, msg):
    p = msg.properties
    got.append(1)
    out(json.dumps({
        "topic": msg.topic, "payload": msg.payload.decode(), "qos": msg.qos,
        "user": getattr(p, "UserProperty", None), "ct": getattr(p, "ContentType", None),
        "rt": getattr(p, "ResponseTopic", None),
        "cd": getattr(p, "CorrelationData", b"").hex() if hasattr(p, "CorrelationData") else None,
        "mei": getattr(p, "MessageExpiryInterval", None), "pfi": getattr(p, "PayloadFormatIndicator", None),
        "sid": getattr(p, "SubscriptionIdentifier", None)}))
c = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv5)
c.on_connect, c.on_subscribe, c.on_message = on_connect, on_subscribe, on_message
c.connect("127.0.0.1", port, keepalive=30, clean_start=True)
c.loop_start()
if mode == "pub":
    pp = Properties(PacketTypes.PUBLISH)
    pp.UserProperty = [("from", "paho"), ("n", "1"), ("n", "2")]
    pp.ContentType = "text/paho"
    pp.ResponseTopic = "paho/reply"
    pp.CorrelationData = b"\\x01\\x02"
    pp.MessageExpiryInterval = 90
    pp.PayloadFormatIndicator = 1
    c.publish(topic, "from paho", qos=1, properties=pp).wait_for_publish()
    out("PUBLISHED")
else:
    deadline = time.time() + 5
    while time.time() < deadline and not got:
        time.sleep(0.01)
c.disconnect()
c.loop_stop()
`;

function paho(h: Harness, mode: string, clientId: string, topic: string): Spawned {
  return h.spawn(SYSTEM_PYTHON, ['-c', PAHO, mode, String(h.port), clientId, topic]);
}

describe('paho-mqtt MQTTv5 with properties', { concurrency: true }, () => {
  test('paho publisher with properties to an MQTT.js v5 subscriber: all unchanged, user properties in order', async (t) => {
    const h = await setup(t);
    const { packets } = await mqtt5Subscriber(h, 'paho-js-sub', 'v5paho/a', 1);
    const result = await paho(h, 'pub', 'paho-pub', 'v5paho/a').exit(8000);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /CONNACK 0\n[\s\S]*PUBLISHED/);
    const [m] = await packets.count(1);
    const props = m?.properties ?? {};
    assert.equal(m?.payload.toString(), 'from paho');
    assert.deepEqual({ ...props.userProperties }, { from: 'paho', n: ['1', '2'] });
    assert.equal(props.contentType, 'text/paho');
    assert.equal(props.responseTopic, 'paho/reply');
    assert.equal(props.correlationData?.toString('hex'), '0102');
    assert.equal(props.payloadFormatIndicator, true);
    assert.ok(props.messageExpiryInterval !== undefined && props.messageExpiryInterval >= 89 && props.messageExpiryInterval <= 90);
  });

  test('MQTT.js v5 publisher to a paho MQTTv5 subscriber: properties and the subscription identifier arrive', async (t) => {
    const h = await setup(t);
    const sub = paho(h, 'sub', 'paho-sub', 'v5paho/b');
    await sub.waitForOutput('READY [1]', 5000);
    const p = await mqtt5(h, 'paho-js-pub');
    await p.publishAsync('v5paho/b', 'to paho', {
      qos: 1,
      properties: { userProperties: { x: 'y' }, contentType: 'ct', responseTopic: 'rt/1', correlationData: Buffer.from([0xab]), messageExpiryInterval: 50, payloadFormatIndicator: true },
    });
    const result = await sub.exit(8000);
    assert.equal(result.code, 0, result.stderr);
    const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `paho printed no message: ${result.stdout}`);
    const m = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual(
      { ...m, mei: undefined },
      { topic: 'v5paho/b', payload: 'to paho', qos: 1, user: [['x', 'y']], ct: 'ct', rt: 'rt/1', cd: 'ab', mei: undefined, pfi: 1, sid: [3] },
    );
    assert.ok(typeof m.mei === 'number' && m.mei >= 49 && m.mei <= 50, `message expiry ${String(m.mei)}`);
  });

  test('paho publisher to a paho subscriber (both MQTTv5) through the broker', async (t) => {
    const h = await setup(t);
    const sub = paho(h, 'sub', 'paho-sub2', 'v5paho/c');
    await sub.waitForOutput('READY [1]', 5000);
    const pub = await paho(h, 'pub', 'paho-pub2', 'v5paho/c').exit(8000);
    assert.equal(pub.code, 0, pub.stderr);
    const result = await sub.exit(8000);
    const line = result.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `paho printed no message: ${result.stdout}`);
    const m = JSON.parse(line) as Record<string, unknown>;
    assert.deepEqual([m.payload, m.user, m.ct, m.rt, m.cd, m.pfi, m.sid], ['from paho', [['from', 'paho'], ['n', '1'], ['n', '2']], 'text/paho', 'paho/reply', '0102', 1, [3]]);
  });
});
