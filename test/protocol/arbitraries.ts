/**
 * fast-check arbitraries for valid packets in canonical form (packets.ts header), per version.
 * decode(encode(p)) must deep-equal every value these produce.
 */
import fc from 'fast-check';
import type {
  Packet,
  Properties,
  ProtocolVersion,
  QoS,
  Subscription,
  Will,
} from '../../src/protocol/packets.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const flag = fc.constantFrom(0, 1);
const byte = fc.integer({ min: 0, max: 255 });
const qos = fc.constantFrom<QoS>(0, 1, 2);
const packetId = fc.integer({ min: 1, max: 0xffff });

/** MQTT UTF-8 strings: well-formed (no lone surrogates), no U+0000. */
export const utf8 = (maxLength = 12): fc.Arbitrary<string> =>
  fc.string({ unit: 'binary', maxLength }).filter((s) => Buffer.from(s).toString() === s && !s.includes('\u0000')); // no lone surrogates

export const bytes = (maxLength = 40): fc.Arbitrary<Buffer> =>
  fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** A topic level without '/', '+', '#'. */
const level = utf8(6).map((s) => s.replace(/[/+#]/g, '_'));

export const topicName: fc.Arbitrary<string> = fc
  .array(level, { minLength: 1, maxLength: 4 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

const plainFilter: fc.Arbitrary<string> = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { maxLength: 4 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

export const topicFilter: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: plainFilter },
  {
    weight: 1,
    arbitrary: fc
      .tuple(utf8(5).map((g) => g.replace(/[/+#]/g, '_')).filter((g) => g.length > 0), plainFilter)
      .map(([group, filter]) => `$share/${group}/${filter}`),
  },
);

const pairs = fc.array(fc.tuple(utf8(6), utf8(6)), { minLength: 1, maxLength: 3 });

/** Generators of every property, by name. */
const propertyArbs: { [K in keyof Properties]-?: fc.Arbitrary<NonNullable<Properties[K]>> } = {
  payloadFormatIndicator: flag,
  messageExpiryInterval: u32,
  contentType: utf8(),
  responseTopic: topicName,
  correlationData: bytes(10),
  subscriptionIdentifiers: fc.array(fc.integer({ min: 1, max: 268435455 }), { minLength: 1, maxLength: 3 }),
  sessionExpiryInterval: u32,
  assignedClientIdentifier: utf8(),
  serverKeepAlive: u16,
  authenticationMethod: utf8(),
  authenticationData: bytes(10),
  requestProblemInformation: flag,
  willDelayInterval: u32,
  requestResponseInformation: flag,
  responseInformation: utf8(),
  serverReference: utf8(),
  reasonString: utf8(),
  receiveMaximum: fc.integer({ min: 1, max: 0xffff }),
  topicAliasMaximum: u16,
  topicAlias: fc.integer({ min: 1, max: 0xffff }),
  maximumQoS: flag,
  retainAvailable: flag,
  userProperties: pairs,
  maximumPacketSize: fc.integer({ min: 1, max: 0xffffffff }),
  wildcardSubscriptionAvailable: flag,
  subscriptionIdentifierAvailable: flag,
  sharedSubscriptionAvailable: flag,
};

/** A canonical property bag with some of `names`, or undefined when empty. */
function propertiesOf(names: Array<keyof Properties>): fc.Arbitrary<Properties | undefined> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const name of names) model[name] = propertyArbs[name];
  return fc
    .record(model, { requiredKeys: [], noNullPrototype: true })
    .map((p) => (Object.keys(p).length === 0 ? undefined : ({ ...p })));
}

const PUBLISH_PROPS: Array<keyof Properties> = [
  'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData',
  'subscriptionIdentifiers', 'topicAlias', 'userProperties',
];
const WILL_PROPS: Array<keyof Properties> = [
  'payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData',
  'willDelayInterval', 'userProperties',
];
const CONNECT_PROPS: Array<keyof Properties> = [
  'sessionExpiryInterval', 'authenticationMethod', 'authenticationData', 'requestProblemInformation',
  'requestResponseInformation', 'receiveMaximum', 'topicAliasMaximum', 'userProperties', 'maximumPacketSize',
];
const CONNACK_PROPS: Array<keyof Properties> = [
  'sessionExpiryInterval', 'assignedClientIdentifier', 'serverKeepAlive', 'authenticationMethod',
  'authenticationData', 'responseInformation', 'serverReference', 'reasonString', 'receiveMaximum',
  'topicAliasMaximum', 'maximumQoS', 'retainAvailable', 'userProperties', 'maximumPacketSize',
  'wildcardSubscriptionAvailable', 'subscriptionIdentifierAvailable', 'sharedSubscriptionAvailable',
];
const REASON_PROPS: Array<keyof Properties> = ['reasonString', 'userProperties'];
const DISCONNECT_PROPS: Array<keyof Properties> = ['sessionExpiryInterval', 'serverReference', 'reasonString', 'userProperties'];
const AUTH_PROPS: Array<keyof Properties> = ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'];

/** Adds `properties` only when defined (canonical form). */
function withProps<T extends object>(base: T, properties: Properties | undefined): T & { properties?: Properties } {
  return properties === undefined ? base : { ...base, properties };
}

/** Optional field helper: absent rather than undefined. */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function will(version: ProtocolVersion): fc.Arbitrary<Will> {
  return fc
    .record({ topic: topicName, payload: bytes(), qos, retain: fc.boolean(), properties: version === 5 ? propertiesOf(WILL_PROPS) : fc.constant(undefined) })
    .map(({ properties, ...w }) => withProps(w, properties));
}

function connect(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      clean: fc.boolean(),
      keepalive: u16,
      clientId: utf8(23),
      will: fc.option(will(version), { nil: undefined }),
      username: fc.option(utf8(), { nil: undefined }),
      password: fc.option(bytes(10), { nil: undefined }),
      properties: version === 5 ? propertiesOf(CONNECT_PROPS) : fc.constant(undefined),
    })
    .map((c) => ({
      type: 'connect' as const,
      protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      clean: c.clean,
      keepalive: c.keepalive,
      clientId: c.clientId,
      ...opt('will', c.will),
      ...opt('username', c.username),
      // [MQTT-3.1.2-22]: before 5.0 a password needs a username.
      ...opt('password', version === 5 || c.username !== undefined ? c.password : undefined),
      ...opt('properties', c.properties),
    }));
}

function publish(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      topic: topicName,
      payload: bytes(),
      qos,
      retain: fc.boolean(),
      dup: fc.boolean(),
      packetId,
      properties: version === 5 ? propertiesOf(PUBLISH_PROPS) : fc.constant(undefined),
      emptyTopic: fc.boolean(),
    })
    .map((p) => ({
      type: 'publish' as const,
      // 5.0: an empty topic name is valid with a topic alias.
      topic: p.emptyTopic && p.properties?.topicAlias !== undefined ? '' : p.topic,
      payload: p.payload,
      qos: p.qos,
      retain: p.retain,
      dup: p.qos > 0 && p.dup,
      ...opt('packetId', p.qos > 0 ? p.packetId : undefined),
      ...opt('properties', p.properties),
    }));
}

function ack(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      type: fc.constantFrom('puback' as const, 'pubrec' as const, 'pubrel' as const, 'pubcomp' as const),
      packetId,
      reasonCode: byte,
      properties: propertiesOf(REASON_PROPS),
    })
    .map((a) => (version === 5 ? withProps({ type: a.type, packetId: a.packetId, reasonCode: a.reasonCode }, a.properties) : { type: a.type, packetId: a.packetId }));
}

function subscription(version: ProtocolVersion): fc.Arbitrary<Subscription> {
  return fc
    .record({ topicFilter, qos, noLocal: fc.boolean(), retainAsPublished: fc.boolean(), retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2) })
    .map((s) =>
      version === 5
        ? { ...s, noLocal: s.noLocal && !s.topicFilter.startsWith('$share/') } // [MQTT-3.8.3-4]
        : { topicFilter: s.topicFilter, qos: s.qos },
    );
}

function subscribe(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const props = version === 5
    ? propertiesOf(['subscriptionIdentifiers', 'userProperties']).map((p) =>
      p?.subscriptionIdentifiers === undefined ? p : { ...p, subscriptionIdentifiers: p.subscriptionIdentifiers.slice(0, 1) })
    : fc.constant(undefined);
  return fc
    .record({ packetId, subscriptions: fc.array(subscription(version), { minLength: 1, maxLength: 4 }), properties: props })
    .map(({ properties, ...s }) => withProps({ type: 'subscribe' as const, ...s }, properties));
}

function suback(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const code = version === 5 ? byte : fc.constantFrom(0, 1, 2, 0x80);
  return fc
    .record({ packetId, reasonCodes: fc.array(code, { minLength: 1, maxLength: 4 }), properties: version === 5 ? propertiesOf(REASON_PROPS) : fc.constant(undefined) })
    .map(({ properties, ...s }) => withProps({ type: 'suback' as const, ...s }, properties));
}

function unsubscribe(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({
      packetId,
      topicFilters: fc.array(topicFilter, { minLength: 1, maxLength: 4 }),
      properties: version === 5 ? propertiesOf(['userProperties']) : fc.constant(undefined),
    })
    .map(({ properties, ...u }) => withProps({ type: 'unsubscribe' as const, ...u }, properties));
}

function unsuback(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({ packetId, reasonCodes: fc.array(byte, { maxLength: 4 }), properties: propertiesOf(REASON_PROPS) })
    .map((u) => (version === 5 ? withProps({ type: 'unsuback' as const, packetId: u.packetId, reasonCodes: u.reasonCodes }, u.properties) : { type: 'unsuback' as const, packetId: u.packetId }));
}

function reasonOnly(type: 'disconnect' | 'auth', names: Array<keyof Properties>, version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({ reasonCode: byte, properties: propertiesOf(names) })
    .map((d) => (version === 5 ? withProps({ type, reasonCode: d.reasonCode }, d.properties) : { type }));
}

function connack(version: ProtocolVersion): fc.Arbitrary<Packet> {
  return fc
    .record({ sessionPresent: fc.boolean(), reasonCode: byte, properties: version === 5 ? propertiesOf(CONNACK_PROPS) : fc.constant(undefined) })
    .map(({ properties, ...c }) => withProps({ type: 'connack' as const, ...c }, properties));
}

/** Any valid canonical packet of `version`. */
export function packetOf(version: ProtocolVersion): fc.Arbitrary<Packet> {
  const arbs: Array<fc.Arbitrary<Packet>> = [
    connect(version), connack(version), publish(version), publish(version), ack(version), subscribe(version),
    suback(version), unsubscribe(version), unsuback(version), fc.constant({ type: 'pingreq' }),
    fc.constant({ type: 'pingresp' }), reasonOnly('disconnect', DISCONNECT_PROPS, version),
  ];
  if (version === 5) arbs.push(reasonOnly('auth', AUTH_PROPS, version));
  return fc.oneof(...arbs);
}

/** Cut points for splitting a buffer of `length` bytes: none, every byte, or random. */
export function chunking(length: number): fc.Arbitrary<number[]> {
  return fc.oneof(
    fc.constant<number[]>([]),
    fc.constant(Array.from({ length }, (_, i) => i)),
    fc.array(fc.integer({ min: 0, max: length }), { maxLength: 10 }),
  );
}
