/**
 * Users and ACL rules (administrator only):
 * - the broker's password_file: GET /api/v1/mqtt/users, PUT /api/v1/mqtt/users/:username
 *   { password }, DELETE /api/v1/mqtt/users/:username;
 * - its acl_file: GET /api/v1/mqtt/acl -> { text }, PUT /api/v1/mqtt/acl { text } (checked by the
 *   broker's own ACL parser first; a bad line is a 400 naming it);
 * - dashboard users: GET /api/v1/dashboard/users, PUT /api/v1/dashboard/users/:username
 *   { password, role }, DELETE /api/v1/dashboard/users/:username; any user changes their own
 *   password with POST /api/v1/dashboard/password { currentPassword, newPassword }.
 * Files are written atomically (temporary file, then rename) and take effect at once, as a
 * SIGHUP would (the broker's reload: clients of a removed user are disconnected).
 */
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { Acl, AclError } from '../auth/acl.js';
import { readPasswordFileSync, writePasswordFile } from '../auth/password-file.js';
import { ROLES, validUsername, writeFileAtomic, type Role } from './auth.js';
import { ApiError, badRequest, notFound } from './errors.js';
import type { AdminContext } from './http.js';

const MQTT_USER = { type: 'object', required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 65535, pattern: '^[^:\\s](?:[^:\\n\\r]*[^:\\s])?$', description: 'no colon, no line break, no blank at either end (the password file trims them)' } } } as const;
const DASHBOARD_USER = { type: 'object', required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.@-]+$' } } } as const;
const NEW_PASSWORD = { type: 'string', minLength: 8, maxLength: 1024 } as const;

export function securityRoutes(app: FastifyInstance, ctx: AdminContext): void {
  mqttUserRoutes(app, ctx);
  aclRoutes(app, ctx);
  dashboardUserRoutes(app, ctx);
}

/** The global password_file or acl_file; 409 when it is not configured (or per listener). */
function securityFile(ctx: AdminContext, which: 'passwordFile' | 'aclFile'): string {
  const name = which === 'passwordFile' ? 'password_file' : 'acl_file';
  if (ctx.options.perListenerSettings === true) throw new ApiError('CONFLICT', `per_listener_settings true: edit each listener's ${name} directly`);
  const path = ctx.options.security?.[which];
  if (path === undefined) throw new ApiError('CONFLICT', `no ${name} is configured`);
  return path;
}

function mqttUserRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/v1/mqtt/users', { config: { access: 'administrator' }, schema: { tags: ['security'], summary: 'User names of the password_file' } }, () => {
    const file = readPasswordFileSync(securityFile(ctx, 'passwordFile'));
    return { data: file.entries.map((e) => ({ username: e.username })) };
  });

  app.put<{ Params: { username: string }; Body: { password: string } }>(
    '/api/v1/mqtt/users/:username',
    {
      schema: {
        tags: ['security'],
        summary: 'Create a user of the password_file or change its password (takes effect at once)',
        params: MQTT_USER,
        body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: { type: 'string', minLength: 1, maxLength: 65535 } } },
      },
    },
    (request, reply) => {
      const path = securityFile(ctx, 'passwordFile');
      const file = readPasswordFileSync(path);
      file.setPassword(request.params.username, request.body.password);
      writePasswordFile(path, file);
      ctx.reload();
      ctx.log.info({ user: request.params.username, by: request.principal?.name }, 'password_file user set through the admin API');
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/api/v1/mqtt/users/:username',
    { schema: { tags: ['security'], summary: 'Remove a user of the password_file (its clients are disconnected)', params: MQTT_USER } },
    (request, reply) => {
      const path = securityFile(ctx, 'passwordFile');
      const file = readPasswordFileSync(path);
      if (!file.delete(request.params.username)) throw notFound(`user ${JSON.stringify(request.params.username)}`);
      writePasswordFile(path, file);
      ctx.reload();
      ctx.log.info({ user: request.params.username, by: request.principal?.name }, 'password_file user removed through the admin API');
      return reply.code(204).send();
    },
  );
}

function aclRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/api/v1/mqtt/acl', { config: { access: 'administrator' }, schema: { tags: ['security'], summary: 'The acl_file' } }, () => ({ text: readFileSync(securityFile(ctx, 'aclFile'), 'utf8') }));

  app.put<{ Body: { text: string } }>(
    '/api/v1/mqtt/acl',
    {
      schema: {
        tags: ['security'],
        summary: 'Replace the acl_file (checked first; takes effect at once)',
        body: { type: 'object', required: ['text'], additionalProperties: false, properties: { text: { type: 'string', maxLength: 1024 * 1024 } } },
      },
    },
    (request, reply) => {
      const path = securityFile(ctx, 'aclFile');
      const text = request.body.text;
      try {
        Acl.parse(text, 'line');
      } catch (error) {
        if (error instanceof AclError) throw badRequest('body.text', error.message);
        throw error;
      }
      writeFileAtomic(path, text.endsWith('\n') || text === '' ? text : `${text}\n`, 0o640);
      ctx.reload();
      ctx.log.info({ file: path, by: request.principal?.name }, 'acl_file replaced through the admin API');
      return reply.code(204).send();
    },
  );
}

function dashboardUserRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const users = ctx.users;
  app.get('/api/v1/dashboard/users', { config: { access: 'administrator' }, schema: { tags: ['security'], summary: 'Dashboard users and their roles' } }, () => ({ data: users.list() }));

  app.put<{ Params: { username: string }; Body: { password: string; role?: Role } }>(
    '/api/v1/dashboard/users/:username',
    {
      schema: {
        tags: ['security'],
        summary: "Create a dashboard user or change one's password and role (its sessions end)",
        params: DASHBOARD_USER,
        body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: NEW_PASSWORD, role: { type: 'string', enum: [...ROLES] } } },
      },
    },
    (request, reply) => {
      const { username } = request.params;
      if (!validUsername(username)) throw badRequest('params.username', 'letters, digits and _ . @ - only');
      if (request.body.role !== undefined && request.body.role !== 'administrator') keepAnAdministrator(ctx, username);
      users.setUser(username, request.body.password, request.body.role);
      ctx.log.info({ user: username, role: request.body.role, by: request.principal?.name }, 'dashboard user set');
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: { username: string } }>(
    '/api/v1/dashboard/users/:username',
    { schema: { tags: ['security'], summary: 'Remove a dashboard user (not the last administrator)', params: DASHBOARD_USER } },
    (request, reply) => {
      keepAnAdministrator(ctx, request.params.username);
      if (!users.deleteUser(request.params.username)) throw notFound(`dashboard user ${JSON.stringify(request.params.username)}`);
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/api/v1/dashboard/password',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['security'],
        summary: 'Change your own dashboard password (your sessions end)',
        body: { type: 'object', required: ['currentPassword', 'newPassword'], additionalProperties: false, properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 1024 }, newPassword: NEW_PASSWORD } },
      },
    },
    (request, reply) => {
      const principal = request.principal;
      if (principal?.kind !== 'session') throw new ApiError('FORBIDDEN', 'only a dashboard session has a password to change');
      users.login(principal.name, request.body.currentPassword); // throws BAD_CREDENTIALS, counts towards the lock
      users.setUser(principal.name, request.body.newPassword);
      return reply.code(204).send();
    },
  );
}

/** Refuse to remove or demote the last administrator (nobody could manage users any more). */
function keepAnAdministrator(ctx: AdminContext, username: string): void {
  const admins = ctx.users.list().filter((u) => u.role === 'administrator');
  if (admins.length === 1 && admins[0]?.username === username) throw new ApiError('CONFLICT', 'the last administrator cannot be removed or demoted');
}
