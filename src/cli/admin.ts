/**
 * `cicada admin passwd [-c CONFIG | -d DATA_DIR] [-r ROLE] USER`: set a dashboard user's
 * password (asked twice; from a terminal without echo, or two lines of stdin), in
 * dashboard-users.json of the data directory (-d, else the configuration's persistence_location,
 * else ./data). A running broker reads the change at the next login.
 */
import { parseArgs } from 'node:util';
import { DashboardUsers, ROLES, validUsername, type Role } from '../admin/auth.js';
import { readConfigFile } from '../config/config-file.js';
import { askPassword } from './passwd.js';
import { CliUsageError, processIo, type ToolIo } from './usage.js';

export const ADMIN_USAGE = `Usage: cicada admin passwd [-c CONFIG | -d DATA_DIR] [-r ROLE] USER

Set the password of a dashboard user (created if new). The password is asked twice.
 -c, --config FILE  the broker's configuration (its persistence_location is the data directory)
 -d, --data DIR     the data directory (default ./data)
 -r, --role ROLE    viewer, publisher or administrator (default: unchanged; new users viewer,
                    or administrator when there is no user yet)
`;

const MIN_PASSWORD = 8;

export async function runAdmin(argv: string[], io: ToolIo = processIo, stdin = process.stdin): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, data: { type: 'string', short: 'd' }, role: { type: 'string', short: 'r' }, help: { type: 'boolean' } },
  });
  if (values.help === true) {
    io.out(ADMIN_USAGE);
    return 0;
  }
  const [command, user, ...extra] = positionals;
  if (command !== 'passwd' || user === undefined || extra.length > 0) throw new CliUsageError(`expected: cicada admin passwd USER\n\n${ADMIN_USAGE}`);
  if (values.config !== undefined && values.data !== undefined) throw new CliUsageError('give -c or -d, not both');
  if (!validUsername(user)) throw new CliUsageError(`user name ${JSON.stringify(user)}: letters, digits and _ . @ - only, at most 64`);
  const role = values.role;
  if (role !== undefined && !ROLES.includes(role as Role)) throw new CliUsageError(`role must be one of ${ROLES.join(', ')}`);
  const directory = values.data ?? (values.config !== undefined ? readConfigFile(values.config).persistenceLocation : undefined) ?? './data';
  const users = DashboardUsers.load(directory);
  const password = await askPassword(io, stdin);
  if (password.length < MIN_PASSWORD) throw new Error(`the password needs at least ${MIN_PASSWORD} characters`);
  users.setUser(user, password, role as Role | undefined);
  io.err(`dashboard user ${user} set in ${users.path}\n`);
  return 0;
}
