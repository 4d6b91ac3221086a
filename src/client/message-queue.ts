/**
 * An async iterator over incoming messages. Each call to `client.messages()` makes one; it
 * buffers up to `limit` messages that the consumer has not taken yet (beyond it the oldest are
 * dropped and counted in `dropped`), and ends when the client ends or `return()` is called.
 */
export class MessageQueue<T> implements AsyncIterableIterator<T> {
  dropped = 0;
  private readonly items: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private done = false;

  constructor(
    private readonly limit: number,
    private readonly onDone: () => void,
  ) {}

  push(item: T): void {
    if (this.done) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting({ value: item, done: false });
      return;
    }
    if (this.items.length >= this.limit) {
      this.items.shift();
      this.dropped++;
    }
    this.items.push(item);
  }

  /** No more items: a pending next() resolves as done; buffered items are still delivered. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.onDone();
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
