/**
 * Synchronous backends behind the asynchronous Storage interface. `asyncChunks`: a synchronous source of row chunks (SQLite's pages, a memory store's arrays) as the async
 * stream `Storage.load()` returns: one settled promise per chunk, read when the consumer asks
 * for it, an error of the source as a rejection, and the source closed when the consumer stops.
 * `promiseOf`: the outcome of synchronous work as a promise (an exception becomes a rejection).
 */
import type { Rows } from '../broker/storage.js';

export function asyncChunks<T>(chunks: Iterable<readonly T[]>): Rows<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<readonly T[]> {
      const source = chunks[Symbol.iterator]();
      return {
        next: () => promiseOf(() => source.next()),
        return: () => promiseOf(() => source.return?.() ?? { done: true, value: undefined }),
      };
    },
  };
}

export function promiseOf<R>(step: () => R): Promise<R> {
  try {
    return Promise.resolve(step());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
