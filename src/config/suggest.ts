import { editDistance } from '../authz/spelling.js';

// One edit distance for every "did you mean" in the project: authz's, which also counts a swap
// of neighbouring letters as one edit.
export { editDistance };

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo: within a third
 * of the word's length (at least 1, at most 3 edits), compared without regard to case.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** `; did you mean "x"?` or nothing. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : `; did you mean ${JSON.stringify(match)}?`;
}
