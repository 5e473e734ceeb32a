/**
 * The async iterator shape that graphql-js subscriptions need, around a stream's own `next` and a
 * `finish` that releases what the stream holds (it must be safe to call more than once).
 */
export function streamIterator<T>(
  next: () => Promise<IteratorResult<T>>,
  finish: () => IteratorReturnResult<undefined>,
): AsyncIterableIterator<T> {
  return {
    next,
    async return() {
      return finish();
    },
    async throw(err: unknown) {
      finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
