// Read a store back in tests: everything load() streams, as arrays.
import type { RestoredState, Rows, Storage } from '../../src/broker/storage.js';

/** Everything load() streams, read in its declared order into arrays. */
export async function loadAll(storage: Storage): Promise<{ [K in keyof RestoredState]: Array<RestoredState[K] extends Rows<infer T> ? T : never> }> {
  const state = storage.load();
  const all = async <T>(rows: Rows<T>): Promise<T[]> => {
    const out: T[] = [];
    for await (const chunk of rows) out.push(...chunk);
    return out;
  };
  return {
    messages: await all(state.messages),
    retained: await all(state.retained),
    sessions: await all(state.sessions),
    subscriptions: await all(state.subscriptions),
    deliveries: await all(state.deliveries),
    incoming: await all(state.incoming),
    wills: await all(state.wills),
  };
}
