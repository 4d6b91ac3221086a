/**
 * Retained messages and publishing as the broker (through the admin facade). Topics travel in
 * the query string or the body, never in the path.
 * - GET /api/v1/retained?prefix=&page=&limit= : retained messages under a topic (whole levels)
 * - GET /api/v1/retained/message?topic=&encoding=text|json|hex|base64 : one, with its payload
 * - DELETE /api/v1/retained/message?topic= : delete one; DELETE /api/v1/retained?prefix= : a subtree
 * - POST /api/v1/publish : { topic, payload, encoding, qos, retain, properties } (role publisher)
 * - POST /api/v1/publish/bulk : up to 100 of them
 */
import type { FastifyInstance } from 'fastify';
import type { AdminPublish } from '../broker/admin.js';
import type { Message } from '../broker/message.js';
import type { Properties, QoS } from '../protocol/packets.js';
import { badRequest, notFound } from './errors.js';
import type { AdminContext } from './http.js';
import { facade, LIMIT, PAGE, PAGED, QOS, TOPIC } from './schemas.js';

const ENCODINGS = ['text', 'json', 'hex', 'base64'] as const;
type Encoding = (typeof ENCODINGS)[number];
const PAYLOAD_ENCODINGS = ['plain', 'base64', 'hex'] as const;
type PayloadEncoding = (typeof PAYLOAD_ENCODINGS)[number];

interface PublishBody {
  topic: string;
  payload?: string;
  encoding?: PayloadEncoding;
  qos?: QoS;
  retain?: boolean;
  properties?: {
    payloadFormatIndicator?: boolean;
    messageExpiryInterval?: number;
    contentType?: string;
    responseTopic?: string;
    correlationData?: string;
    userProperties?: Record<string, string>;
  };
}

const PUBLISH_BODY = {
  type: 'object',
  required: ['topic'],
  additionalProperties: false,
  properties: {
    topic: TOPIC,
    payload: { type: 'string', maxLength: 1024 * 1024, description: 'the payload, in `encoding`' },
    encoding: { type: 'string', enum: [...PAYLOAD_ENCODINGS], default: 'plain' },
    qos: QOS,
    retain: { type: 'boolean' },
    properties: {
      type: 'object',
      additionalProperties: false,
      description: 'MQTT 5.0 properties',
      properties: {
        payloadFormatIndicator: { type: 'boolean', description: 'true: the payload is UTF-8' },
        messageExpiryInterval: { type: 'integer', minimum: 0, maximum: 4294967295 },
        contentType: { type: 'string', maxLength: 65535 },
        responseTopic: TOPIC,
        correlationData: { type: 'string', maxLength: 65535, description: 'base64' },
        userProperties: { type: 'object', maxProperties: 100, additionalProperties: { type: 'string', maxLength: 65535 } },
      },
    },
  },
} as const;

export function messageRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const admin = ctx.admin;
  app.get<{ Querystring: { prefix?: string; page: number; limit: number } }>(
    '/api/v1/retained',
    {
      schema: {
        tags: ['retained'],
        summary: 'Retained messages under a topic prefix (whole levels; none: all but $ topics)',
        querystring: { type: 'object', additionalProperties: false, properties: { prefix: { type: 'string', maxLength: 65535 }, page: PAGE, limit: LIMIT } },
        response: { 200: PAGED },
      },
    },
    (request) => facade(() => admin.retainedMessages(request.query.prefix ?? '', request.query), 'querystring.prefix'),
  );

  app.get<{ Querystring: { topic: string; encoding?: Encoding } }>(
    '/api/v1/retained/message',
    {
      schema: {
        tags: ['retained'],
        summary: 'One retained message, its payload as text, JSON, hex or base64 (default base64)',
        querystring: { type: 'object', required: ['topic'], additionalProperties: false, properties: { topic: TOPIC, encoding: { type: 'string', enum: [...ENCODINGS] } } },
      },
    },
    (request) => {
      const { topic, encoding = 'base64' } = request.query;
      const message = facade(() => admin.retainedMessage(topic), 'querystring.topic');
      if (message === undefined) throw notFound(`retained message on ${JSON.stringify(topic)}`);
      return retainedBody(message, encoding);
    },
  );

  app.delete<{ Querystring: { topic: string } }>(
    '/api/v1/retained/message',
    { schema: { tags: ['retained'], summary: 'Delete one retained message (publishes nothing)', querystring: { type: 'object', required: ['topic'], additionalProperties: false, properties: { topic: TOPIC } } } },
    (request, reply) => {
      if (!facade(() => admin.deleteRetained(request.query.topic), 'querystring.topic')) throw notFound(`retained message on ${JSON.stringify(request.query.topic)}`);
      return reply.code(204).send();
    },
  );

  app.delete<{ Querystring: { prefix: string } }>(
    '/api/v1/retained',
    {
      schema: {
        tags: ['retained'],
        summary: 'Delete the retained messages of a topic and everything below it',
        querystring: { type: 'object', required: ['prefix'], additionalProperties: false, properties: { prefix: TOPIC } },
      },
    },
    (request) => ({ deleted: facade(() => admin.deleteRetainedTree(request.query.prefix), 'querystring.prefix') }),
  );

  app.post<{ Body: PublishBody }>(
    '/api/v1/publish',
    { config: { access: 'publisher' }, schema: { tags: ['publish'], summary: 'Publish a message as the broker', body: PUBLISH_BODY } },
    (request) => {
      facade(() => admin.publish(toPublish(request.body, 'body')), 'body.topic');
      return { topic: request.body.topic };
    },
  );

  app.post<{ Body: PublishBody[] }>(
    '/api/v1/publish/bulk',
    { config: { access: 'publisher' }, schema: { tags: ['publish'], summary: 'Publish up to 100 messages as the broker, in order', body: { type: 'array', minItems: 1, maxItems: 100, items: PUBLISH_BODY } } },
    (request) => {
      // Every message is checked before the first is published: all or none.
      const messages = request.body.map((body, i) => toPublish(body, `body.${i}`));
      messages.forEach((message, i) => facade(() => admin.checkPublish(message), `body.${i}.topic`));
      for (const message of messages) admin.publish(message);
      return { published: messages.length };
    },
  );
}

function retainedBody(message: Message, encoding: Encoding): Record<string, unknown> {
  const p = message.properties;
  return {
    topic: message.topic,
    qos: message.qos,
    payloadBytes: message.payload.length,
    encoding,
    payload: encodePayload(message.payload, encoding),
    expiresAt: message.expiresAt === 0 ? null : new Date(message.expiresAt).toISOString(),
    properties: {
      ...(p?.contentType !== undefined ? { contentType: p.contentType } : {}),
      ...(p?.payloadFormatIndicator !== undefined ? { payloadFormatIndicator: p.payloadFormatIndicator === 1 } : {}),
      ...(p?.responseTopic !== undefined ? { responseTopic: p.responseTopic } : {}),
      ...(p?.correlationData !== undefined ? { correlationData: p.correlationData.toString('base64') } : {}),
      ...(p?.userProperties !== undefined ? { userProperties: p.userProperties } : {}),
    },
  };
}

function encodePayload(payload: Buffer, encoding: Encoding): unknown {
  if (encoding === 'hex') return payload.toString('hex');
  if (encoding === 'base64') return payload.toString('base64');
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let decoded: string;
  try {
    decoded = text.decode(payload);
  } catch {
    throw badRequest('encoding', 'the payload is not UTF-8: ask for hex or base64');
  }
  if (encoding === 'text') return decoded;
  try {
    return JSON.parse(decoded) as unknown;
  } catch {
    throw badRequest('encoding', 'the payload is not JSON: ask for text, hex or base64');
  }
}

function toPublish(body: PublishBody, at: string): AdminPublish {
  const payload = decodePayload(body.payload ?? '', body.encoding ?? 'plain', `${at}.payload`);
  const p = body.properties;
  const properties: Properties = {};
  if (p?.payloadFormatIndicator !== undefined) properties.payloadFormatIndicator = p.payloadFormatIndicator ? 1 : 0;
  if (p?.messageExpiryInterval !== undefined) properties.messageExpiryInterval = p.messageExpiryInterval;
  if (p?.contentType !== undefined) properties.contentType = p.contentType;
  if (p?.responseTopic !== undefined) properties.responseTopic = p.responseTopic;
  if (p?.correlationData !== undefined) properties.correlationData = Buffer.from(p.correlationData, 'base64');
  if (p?.userProperties !== undefined) properties.userProperties = Object.entries(p.userProperties);
  return { topic: body.topic, payload, qos: body.qos ?? 0, retain: body.retain ?? false, ...(Object.keys(properties).length > 0 ? { properties } : {}) };
}

function decodePayload(text: string, encoding: PayloadEncoding, field: string): Buffer {
  if (encoding === 'plain') return Buffer.from(text, 'utf8');
  const pattern = encoding === 'hex' ? /^(?:[0-9a-fA-F]{2})*$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!pattern.test(text)) throw badRequest(field, `not ${encoding}`);
  return Buffer.from(text, encoding);
}
