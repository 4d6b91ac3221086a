// Loaded into every Node 24 process of scripts/node24.mjs (NODE_OPTIONS --import): better-sqlite3
// resolves to the copy compiled for Node 24's ABI (CICADA_NODE24_SQLITE).
import { register } from 'node:module';

const target = process.env.CICADA_NODE24_SQLITE;
if (target !== undefined) {
  register(`data:text/javascript,${encodeURIComponent(`
    export async function resolve(specifier, context, next) {
      if (specifier === 'better-sqlite3') return { url: ${JSON.stringify(target)}, shortCircuit: true, format: 'commonjs' };
      return next(specifier, context);
    }`)}`);
}
