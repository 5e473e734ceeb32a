/**
 * Documents already analysed are kept per schema (src/graphql/analyse.ts): many subscribers or
 * requests sending the same text share one parsed document, and nothing a caller does to its
 * analysis reaches another's.
 */
import { describe, expect, it } from 'vitest';
import { analyseDocument } from '../../src/graphql/analyse.js';
import { buildWorkflowSchema } from '../../src/graphql/schema.js';

const DELTAS = 'subscription D($ws: [ID!]) { deltas(workflows: $ws) { workflow } }';

describe('analysed documents kept per schema', () => {
  it('gives the same text the same document, and another operation name its own analysis', () => {
    const schema = buildWorkflowSchema();
    const first = analyseDocument(schema, DELTAS);
    const again = analyseDocument(schema, DELTAS);
    if (!first.ok || !again.ok) throw new Error('the document should pass');
    expect(again.document).toBe(first.document);
    expect(again.kind).toBe('subscription');
    // Another schema (another server) keeps its own.
    const other = analyseDocument(buildWorkflowSchema(), DELTAS);
    expect(other.ok && other.document).not.toBe(first.document);
    const twoOps = 'query A { workflows { id } } query B { me { username } }';
    const a = analyseDocument(schema, twoOps, 'A');
    const b = analyseDocument(schema, twoOps, 'B');
    expect(a.ok && a.operation.name?.value).toBe('A');
    expect(b.ok && b.operation.name?.value).toBe('B');
  });

  it('keeps no failures, and the kept analyses cannot be changed', () => {
    const schema = buildWorkflowSchema();
    const bad = '{ nosuchfield }';
    const one = analyseDocument(schema, bad);
    const two = analyseDocument(schema, bad);
    expect(one.ok).toBe(false);
    expect(two.ok).toBe(false);
    expect(two).not.toBe(one);
    const kept = analyseDocument(schema, 'mutation { play(workflows: ["w"]) { ok } }');
    if (!kept.ok) throw new Error('the document should pass');
    expect(kept.operations).toEqual(['play']);
    expect(() => (kept.operations as string[]).push('stop')).toThrow(TypeError);
    expect(analyseDocument(schema, 'mutation { play(workflows: ["w"]) { ok } }')).toMatchObject({ operations: ['play'] });
  });

  it('keeps the most recently used 64, dropping the one unused longest', () => {
    const schema = buildWorkflowSchema();
    const text = (i: number) => `query Q${i} { workflows { id } }`;
    const kept = Array.from({ length: 64 }, (_, i) => analyseDocument(schema, text(i)));
    // Used again, Q0 is the most recent: the next one in drops Q1, the one unused longest.
    expect(analyseDocument(schema, text(0))).toBe(kept[0]);
    analyseDocument(schema, text(64));
    expect(analyseDocument(schema, text(1))).not.toBe(kept[1]);
    expect(analyseDocument(schema, text(0))).toBe(kept[0]);
    expect(analyseDocument(schema, text(3))).toBe(kept[3]);
  });
});
