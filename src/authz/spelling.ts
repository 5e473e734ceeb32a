import { OPERATIONS, type Operation, type PermissionGroup } from './operations.js';

/**
 * Spelling rules for permission names: case and separator style do not matter, so
 * `ext_trigger`, `Ext-trigger`, `ExtTrigger`, `extTrigger` and `EXT_TRIGGER` are one name.
 */

/** A permission name as written in configuration, resolved: an operation or a group, maybe negated. */
export interface PermissionTerm {
  readonly negated: boolean;
  readonly name: Operation | PermissionGroup;
}

/** Lower case with separators removed: the form that names are compared in. */
function foldName(name: string): string {
  return name.toLowerCase().replace(/[-_\s]+/g, '');
}

// `read` is both the operation and the group READ (which holds only `read`); resolving it to the
// operation keeps explanations in the spelling most people write.
const byFolded: ReadonlyMap<string, Operation | PermissionGroup> = new Map<string, Operation | PermissionGroup>([
  ['control', 'CONTROL'],
  ['all', 'ALL'],
  ...OPERATIONS.map((op) => [foldName(op), op] as const),
]);

/** Canonical names in the order suggestions prefer them. */
const CANONICAL_NAMES: readonly string[] = [...OPERATIONS, 'READ', 'CONTROL', 'ALL'];

export function resolvePermission(written: string): PermissionTerm | undefined {
  const negated = written.startsWith('!');
  const bare = negated ? written.slice(1) : written;
  // A name must start with a letter: `!!stop` or `-stop` are typos, not spellings of `stop`.
  if (!/^[A-Za-z]/.test(bare)) return undefined;
  const name = byFolded.get(foldName(bare));
  return name === undefined ? undefined : { negated, name };
}

export function termText(term: PermissionTerm): string {
  return term.negated ? `!${term.name}` : term.name;
}

/**
 * Edit distance where swapping two neighbouring letters counts as one edit, so that `stpo`
 * is one step from `stop`.
 */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/** The closest of `candidates` to `written` (compared folded), if it is close enough to be a typo. */
export function closestName(written: string, candidates: readonly string[]): string | undefined {
  const folded = foldName(written);
  if (folded.length === 0) return undefined;
  const allowed = folded.length <= 3 ? 1 : folded.length <= 7 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const d = editDistance(folded, foldName(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** "did you mean" text for an unknown permission name, keeping its negation. */
export function suggestPermission(written: string): string | undefined {
  const negated = written.startsWith('!');
  const suggestion = closestName(negated ? written.slice(1) : written, CANONICAL_NAMES);
  if (suggestion === undefined) return undefined;
  return negated ? `!${suggestion}` : suggestion;
}
