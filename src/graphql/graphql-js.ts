/**
 * The one import of graphql-js for our code. It names the CommonJS entry explicitly because
 * graphql-http and graphql-ws load that one: graphql refuses schemas and errors made by a second
 * copy of itself, and a bundler-style resolver (vitest's) would otherwise hand our code the ESM
 * copy (`module` field) while the libraries get the CommonJS one.
 */
export * from 'graphql/index.js';
