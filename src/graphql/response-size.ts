/**
 * The response-size cap of one GraphQL request. The cost budget bounds what a request may ask
 * for; this bounds what it gets, counted while the response is built rather than after a string
 * of it exists: `jobLog` (the one field that reads files) charges each read, and the finished
 * data is measured by walking it.
 */
import { GraphQLError } from './graphql-js.js';

export function responseLimitError(limit: number): GraphQLError {
  return new GraphQLError(
    `The response would be larger than ${limit} bytes (WorkflowServer.limits.response_bytes): ask for less, for example fewer logs or a smaller jobLog tail.`,
    { extensions: { code: 'RESPONSE_LIMIT', limit } },
  );
}

export class ResponseMeter {
  private charged = 0;
  private over = false;

  constructor(readonly limit: number) {}

  /** Whether anything charged so far, or the finished data, went over the limit. */
  get exceeded(): boolean {
    return this.over;
  }

  /** Counts bytes about to go into the response; throws once the total passes the limit. */
  charge(bytes: number): void {
    this.charged += bytes;
    if (this.charged > this.limit) this.over = true;
    if (this.over) throw responseLimitError(this.limit);
  }

  /** Measures finished data as JSON would spell it (near enough), stopping once over the limit. */
  measure(data: unknown): boolean {
    if (!this.over && jsonBytesOver(data, this.limit)) this.over = true;
    return this.over;
  }
}

function jsonBytesOver(root: unknown, limit: number): boolean {
  let total = 0;
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === 'string') total += Buffer.byteLength(value) + 2;
    else if (Array.isArray(value)) {
      total += 2 + value.length;
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      total += 2 + entries.length;
      for (const [key, inner] of entries) {
        total += key.length + 3;
        stack.push(inner);
      }
    } else total += String(value).length;
    if (total > limit) return true;
  }
  return false;
}

/** The refusal of a finished, single result whose request went over its cap (subscriptions' streams are not measured). */
export function oversizedResult(context: unknown, result: object): GraphQLError | undefined {
  const meter = (context as { meter?: unknown } | undefined)?.meter;
  if (!(meter instanceof ResponseMeter) || !('data' in result)) return undefined;
  return meter.exceeded || meter.measure(result.data) ? responseLimitError(meter.limit) : undefined;
}
