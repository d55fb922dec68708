/**
 * GitHub's REST API description (`@octokit/openapi`, pinned in package.json), made acceptable to ajv.
 *
 * Two fixes, both keeping what the description allows: 135 schemas say `nullable: true` without a
 * `type` (ajv's `nullable` needs one), rewritten as `anyOf: [schema, {enum: [null]}]`; and a nullable
 * `enum` gets `null` among its values, as OpenAPI 3.0 means it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { OpenAPIV3 } from 'openapi-types';

const require = createRequire(import.meta.url);

type Node = Record<string, unknown>;

function fixNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(fixNullable);
  if (!node || typeof node !== 'object') return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node as Node)) out[k] = fixNullable(v);
  if (out.nullable === true) {
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    if (out.type === undefined) {
      const { nullable: _n, ...rest } = out;
      return { anyOf: [rest, { enum: [null] }] };
    }
  }
  return out;
}

let cached: OpenAPIV3.Document | undefined;

/** The description, parsed and fixed once per process (13 MB; about a second). */
export function githubApiDescription(): OpenAPIV3.Document {
  if (!cached) {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    cached = fixNullable(JSON.parse(readFileSync(file, 'utf8'))) as OpenAPIV3.Document;
  }
  return cached;
}

export function githubApiVersion(): string {
  const pkg = require('@octokit/openapi/package.json') as { version: string };
  return `@octokit/openapi ${pkg.version} (${githubApiDescription().info.version})`;
}
