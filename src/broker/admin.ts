/**
 * The admin facade: everything the admin HTTP API (and later $SYS) may see or do in the core,
 * in one place, with plain calls. It reads through `core.sessions`, `core.connected` and
 * `core.channels` only.
 */
import type { BrokerCore } from './core.js';

export class AdminFacade {
  constructor(readonly core: BrokerCore) {}
}
