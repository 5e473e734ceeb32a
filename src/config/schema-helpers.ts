import * as z from 'zod';
import { isValidUserName, NAME_RULE, quote } from './names.js';
import { didYouMean } from './suggest.js';
import type { ConfigIssue } from './errors.js';

/** Plain-words messages for zod's built-in checks, used wherever a schema gives none itself. */
export function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${expectedType(issue.expected)}, got ${quote(issue.input)}`;
    case 'too_small':
      if (issue.origin === 'number') {
        return `expected a number ${issue.inclusive ? 'of at least' : 'greater than'} ${issue.minimum}, got ${quote(issue.input)}`;
      }
      if (issue.origin === 'string') return 'must not be empty';
      return `expected at least ${issue.minimum} item(s)`;
    case 'invalid_key':
      // A record key that failed its own schema: that schema's message says what is wrong.
      return issue.issues.map((inner) => inner.message).join('; ');
    case 'too_big':
      return `expected at most ${issue.maximum}, got ${quote(issue.input)}`;
    default:
      return undefined;
  }
}

function expectedType(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'array') return 'a list';
  if (expected === 'object' || expected === 'record') return 'an object';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** A strict object: unknown keys are errors, with the nearest known key suggested. */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return unknownKeysMessage(issue.keys, known);
      if (issue.code === 'invalid_type') return `expected an object, got ${quote(issue.input)}`;
      return undefined;
    },
  });
}

function unknownKeysMessage(keys: string[], known: string[]): string {
  const described = keys.map((key) => `${JSON.stringify(key)}${didYouMean(key, known)}`);
  const anyHint = described.some((text) => text.includes('did you mean'));
  const allowed = anyHint ? '' : ` (allowed here: ${known.join(', ')})`;
  return `${keys.length === 1 ? 'unknown key' : 'unknown keys'} ${described.join(', ')}${allowed}`;
}

/** A key that must not appear in this file; present, it is an error with this message. */
export function refusedKey(message: string) {
  return z.unknown().refine((value) => value === undefined, { error: message }).optional();
}

/** A name under the shared rule; `what` is "user name", "group name", "role name"… */
export function nameSchema(what: string) {
  return z
    .string({ error: (issue) => `expected a ${what}, got ${quote(issue.input)}` })
    .refine(isValidUserName, { error: (issue) => `${quote(issue.input)} is not a valid ${what}: ${NAME_RULE}` });
}

export function nameList(what: string) {
  return z.array(nameSchema(what), {
    error: (issue) => `expected a list of ${what}s, got ${quote(issue.input)}`,
  });
}

/** Converts zod issues to ours, with the file in front; unions and such report their inner issues. */
export function toConfigIssues(file: string | null, error: z.ZodError, prefix: (string | number)[] = []): ConfigIssue[] {
  return error.issues.map((issue) => ({
    file,
    path: [...prefix, ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment))],
    message: issue.message,
  }));
}
