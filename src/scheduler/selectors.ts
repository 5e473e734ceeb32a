/**
 * Task selectors as people type them: `name`, `cycle/name`, or globs in either part
 * (`*\/train`, `2/*`, `tr*`). A bare name means that task in every cycle point.
 */
export interface TaskSelector {
  text: string;
  cycle: RegExp;
  name: RegExp;
  /** Set when the selector names exactly one instance (no globs), which may not exist yet. */
  exact?: { cycle: number; name: string };
}

export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) source += '\\[';
      else {
        source += `[${glob.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else source += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function parts(text: string): { cyclePart: string; namePart: string } {
  const slash = text.indexOf('/');
  return { cyclePart: slash === -1 ? '*' : text.slice(0, slash), namePart: slash === -1 ? text : text.slice(slash + 1) };
}

/** The one instance `text` names (`cycle/name` without globs), if it names exactly one. */
export function exactTask(text: string): { cycle: number; name: string } | undefined {
  const { cyclePart, namePart } = parts(text);
  return /^[1-9][0-9]*$/.test(cyclePart) && !/[*?[]/.test(namePart) ? { cycle: Number(cyclePart), name: namePart } : undefined;
}

export function parseSelector(text: string): TaskSelector {
  const { cyclePart, namePart } = parts(text);
  const selector: TaskSelector = { text, cycle: globToRegExp(cyclePart), name: globToRegExp(namePart) };
  const exact = exactTask(text);
  if (exact) selector.exact = exact;
  return selector;
}

export function selectorMatches(selector: TaskSelector, cycle: number, name: string): boolean {
  return selector.name.test(name) && selector.cycle.test(String(cycle));
}
