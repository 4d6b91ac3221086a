/**
 * Log in and out of the dashboard:
 * - POST /api/v1/login `{ username, password }` -> 200 `{ token, username, role, expiresAt }`;
 *   401 BAD_CREDENTIALS, 401 USER_LOCKED (five failures lock ten minutes).
 * - POST /api/v1/logout (Bearer) -> 204.
 * - GET /api/v1/session -> `{ kind, name, role }` of the caller (session or API key).
 * The token goes in `Authorization: Bearer <token>` on every later request.
 */
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './http.js';

export function sessionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Body: { username: string; password: string } }>(
    '/api/v1/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['session'],
        summary: 'Log in as a dashboard user; returns a bearer token',
        body: {
          type: 'object',
          required: ['username', 'password'],
          additionalProperties: false,
          properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      },
    },
    (request) => {
      const { username, password } = request.body;
      const session = ctx.users.login(username, password);
      ctx.log.info({ user: username, ip: request.ip }, 'dashboard login');
      return { token: session.token, username, role: session.role, expiresAt: new Date(session.expiresAt).toISOString() };
    },
  );
  app.post('/api/v1/logout', { config: { access: 'viewer' }, schema: { tags: ['session'], summary: 'End the session of the bearer token' } }, (request, reply) => {
    const header = request.headers.authorization ?? '';
    if (header.toLowerCase().startsWith('bearer ')) ctx.users.logout(header.slice(7).trim());
    return reply.code(204).send();
  });
  app.get('/api/v1/session', { schema: { tags: ['session'], summary: 'Who the caller is' } }, (request) => request.principal);
}
