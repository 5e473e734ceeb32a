/**
 * The workflow schema is built without checking its SDL (src/graphql/schema.ts): checked here
 * instead, in full, and the schema the server builds is the one the SDL describes.
 */
import { describe, expect, it } from 'vitest';
import { buildSchema, printSchema, validateSchema } from '../../src/graphql/graphql-js.js';
import { buildWorkflowSchema, workflowSdl } from '../../src/graphql/schema.js';

describe('the workflow schema', () => {
  it('is valid GraphQL, and the server builds the schema its SDL describes', () => {
    const checked = buildSchema(workflowSdl());
    expect(validateSchema(checked)).toEqual([]);
    const built = buildWorkflowSchema();
    expect(validateSchema(built)).toEqual([]);
    expect(printSchema(built)).toBe(printSchema(checked));
  });
});
