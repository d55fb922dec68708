/**
 * GitHub's REST API description, as far as the stand-in serves it (the verbatim slice of
 * `@octokit/openapi`'s `api.github.com.json` in subset.ts), made acceptable to ajv.
 *
 * Two fixes, both keeping what the description allows: 135 schemas say `nullable: true` without a
 * `type` (ajv's `nullable` needs one), rewritten as `anyOf: [schema, {enum: [null]}]`; and a nullable
 * `enum` gets `null` among its values, as OpenAPI 3.0 means it.
 */
import { readFileSync } from 'node:fs';
import type { OpenAPIV3 } from 'openapi-types';
import { SUBSET_FILE, type Subset } from './subset.ts';

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

let cached: Subset | undefined;

/** The description, parsed and fixed once per process. */
export function githubApiDescription(): OpenAPIV3.Document {
  cached ??= fixNullable(JSON.parse(readFileSync(SUBSET_FILE, 'utf8'))) as Subset;
  return cached;
}

/** What the description was cut from: `@octokit/openapi 23.0.2 (GitHub v1.1.4)`. */
export function githubApiVersion(): string {
  const d = githubApiDescription() as Subset;
  const from = d['x-sliced-from'];
  return `${from.package} ${from.version} (${d.info.version})`;
}
