/**
 * Clients, sessions and subscriptions (through the admin facade):
 * - GET /api/v1/clients?clientid=&username=&ip=&protocol=&connected=&queued=&dropped=&sort=&order=&page=&limit=
 * - GET /api/v1/clients/:clientid : one client's session in detail
 * - POST /api/v1/clients/:clientid/kick ; POST /api/v1/clients/kick { clientIds } : disconnect
 * - DELETE /api/v1/clients/:clientid : end the session (kicking the client first)
 * - DELETE /api/v1/sessions/stale : end every disconnected session
 * - GET /api/v1/subscriptions?clientid=&topic=&match=&qos=&share_group=&page=&limit=
 */
import type { FastifyInstance } from 'fastify';
import { CLIENT_SORT_FIELDS, type ClientQuery } from '../broker/admin.js';
import type { QoS } from '../protocol/packets.js';
import { notFound } from './errors.js';
import type { AdminContext } from './http.js';
import { CLIENT_ID, facade, LIMIT, PAGE, PAGED, QOS, TOPIC } from './schemas.js';

/** The facade's query, with the API's lower-case `clientid`. */
type ClientsQuery = Omit<ClientQuery, 'clientId'> & { clientid?: string };

const CLIENT_PARAMS = { type: 'object', required: ['clientid'], properties: { clientid: CLIENT_ID } } as const;

export function clientRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const admin = ctx.admin;
  app.get<{ Querystring: ClientsQuery }>(
    '/api/v1/clients',
    {
      schema: {
        tags: ['clients'],
        summary: 'Clients (connected, and disconnected sessions): filter, sort, page',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            clientid: { type: 'string', maxLength: 65535, description: 'client id prefix' },
            username: { type: 'string', maxLength: 65535 },
            ip: { type: 'string', maxLength: 64 },
            protocol: { type: 'integer', enum: [3, 4, 5], description: '3: MQTT 3.1, 4: 3.1.1, 5: 5.0' },
            connected: { type: 'boolean' },
            queued: { type: 'boolean', description: 'only clients with queued messages' },
            dropped: { type: 'boolean', description: 'only clients that had messages dropped' },
            sort: { type: 'string', enum: [...CLIENT_SORT_FIELDS] },
            order: { type: 'string', enum: ['asc', 'desc'] },
            page: PAGE,
            limit: LIMIT,
          },
        },
        response: { 200: PAGED },
      },
    },
    (request) => {
      const { clientid, ...rest } = request.query;
      return admin.clients({ ...rest, ...(clientid !== undefined ? { clientId: clientid } : {}) });
    },
  );

  app.get<{ Params: { clientid: string } }>(
    '/api/v1/clients/:clientid',
    { schema: { tags: ['clients'], summary: "One client's session: subscriptions, queue, in-flight, dropped, expiry, will, keepalive, TLS", params: CLIENT_PARAMS } },
    (request) => admin.client(request.params.clientid) ?? notFoundClient(request.params.clientid),
  );

  app.post<{ Params: { clientid: string } }>(
    '/api/v1/clients/:clientid/kick',
    { schema: { tags: ['clients'], summary: 'Disconnect a client (5.0: reason 0x98 Administrative action)', params: CLIENT_PARAMS } },
    (request, reply) => {
      if (!admin.kick(request.params.clientid)) notFoundClient(request.params.clientid);
      ctx.log.info({ clientId: request.params.clientid, by: request.principal?.name }, 'client kicked through the admin API');
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { clientIds: string[] } }>(
    '/api/v1/clients/kick',
    {
      schema: {
        tags: ['clients'],
        summary: 'Disconnect several clients; answers the ids that were connected',
        body: { type: 'object', required: ['clientIds'], additionalProperties: false, properties: { clientIds: { type: 'array', maxItems: 1000, items: CLIENT_ID } } },
      },
    },
    (request) => {
      const kicked = admin.kickMany(request.body.clientIds);
      ctx.log.info({ clients: kicked.length, by: request.principal?.name }, 'clients kicked through the admin API');
      return { kicked };
    },
  );

  app.delete<{ Params: { clientid: string } }>(
    '/api/v1/clients/:clientid',
    { schema: { tags: ['clients'], summary: "End a client's session (kicking it first)", params: CLIENT_PARAMS } },
    (request, reply) => {
      if (!admin.deleteSession(request.params.clientid)) notFoundClient(request.params.clientid);
      return reply.code(204).send();
    },
  );

  app.delete('/api/v1/sessions/stale', { schema: { tags: ['clients'], summary: 'End every disconnected session' } }, () => ({ deleted: admin.deleteDisconnectedSessions() }));

  app.get<{ Querystring: { clientid?: string; topic?: string; match?: string; qos?: QoS; share_group?: string; page: number; limit: number } }>(
    '/api/v1/subscriptions',
    {
      schema: {
        tags: ['subscriptions'],
        summary: 'Subscriptions: filter by client, filter, matching topic, QoS, share group',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { clientid: CLIENT_ID, topic: TOPIC, match: TOPIC, qos: QOS, share_group: { type: 'string', minLength: 1, maxLength: 65535 }, page: PAGE, limit: LIMIT },
        },
        response: { 200: PAGED },
      },
    },
    (request) => {
      const { clientid, match, share_group, ...rest } = request.query;
      return facade(() =>
        admin.subscriptions({
          ...rest,
          ...(clientid !== undefined ? { clientId: clientid } : {}),
          ...(match !== undefined ? { matching: match } : {}),
          ...(share_group !== undefined ? { shareGroup: share_group } : {}),
        }),
        'querystring.match',
      );
    },
  );
}

function notFoundClient(clientId: string): never {
  throw notFound(`client ${JSON.stringify(clientId)}`);
}
