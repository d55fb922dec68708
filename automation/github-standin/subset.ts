/**
 * A verbatim slice of GitHub's REST description: the operations the stand-in serves, each with every
 * component it references (transitively), and nothing else. Written by scripts/github-api-subset.ts,
 * committed beside this file, and read back here; the slice names what it was cut from.
 */
import { fileURLToPath } from 'node:url';
import type { OpenAPIV3 } from 'openapi-types';

export const SUBSET_FILE = fileURLToPath(new URL('./api.github.com.subset.json', import.meta.url));

export interface SlicedFrom {
  package: string;
  version: string;
  file: string;
  /** The SHA256 of the whole description the slice was cut from. */
  sha256: string;
}

export type Subset = OpenAPIV3.Document & { 'x-sliced-from': SlicedFrom };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** Every local `$ref` under `node`, as its JSON pointer's segments (`#/components/schemas/x`). */
function refsOf(node: unknown, out: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const v of node) refsOf(v, out);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.add(v);
      else refsOf(v, out);
    }
  return out;
}

function at(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`not a local reference: ${ref}`);
  let node = doc;
  for (const seg of ref.slice(2).split('/')) {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

/**
 * The operations named by `operationIds` (each must exist) with the path-level parameters of their
 * paths, and the components they reach through `$ref`, in the description's own order.
 */
export function sliceDescription(doc: OpenAPIV3.Document, operationIds: string[], from: SlicedFrom): Subset {
  const wanted = new Set(operationIds);
  const paths: OpenAPIV3.PathsObject = {};
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!item) continue;
    const kept: Record<string, unknown> = {};
    for (const m of METHODS) {
      const op = item[m];
      if (op?.operationId && wanted.has(op.operationId)) {
        kept[m] = op;
        wanted.delete(op.operationId);
      }
    }
    if (Object.keys(kept).length === 0) continue;
    const { parameters, summary, description } = item;
    paths[path] = {
      ...(summary && { summary }),
      ...(description && { description }),
      ...(parameters && { parameters }),
      ...kept,
    };
  }
  if (wanted.size) throw new Error(`not in GitHub's description: ${[...wanted].join(', ')}`);
  // The components reached from the kept paths, followed until nothing new is reached.
  const reached = new Set<string>();
  let frontier = refsOf(paths, new Set());
  while (frontier.size) {
    const next = new Set<string>();
    for (const ref of frontier) {
      if (reached.has(ref)) continue;
      const target = at(doc, ref);
      if (target === undefined) throw new Error(`a reference GitHub's description does not resolve: ${ref}`);
      reached.add(ref);
      refsOf(target, next);
    }
    frontier = next;
  }
  const components: Record<string, Record<string, unknown>> = {};
  for (const [kind, entries] of Object.entries(doc.components ?? {})) {
    const kept = Object.entries(entries ?? {}).filter(([name]) =>
      reached.has(`#/components/${kind}/${name}`),
    );
    if (kept.length) components[kind] = Object.fromEntries(kept);
  }
  // Webhooks are events GitHub sends, not operations it serves: left out with the rest.
  const {
    paths: _p,
    components: _c,
    'x-webhooks': _w,
    ...rest
  } = doc as OpenAPIV3.Document & { 'x-webhooks'?: unknown };
  return { ...rest, 'x-sliced-from': from, paths, components } as Subset;
}

/** The references of `doc` that do not resolve inside it (none in a whole slice). */
export function unresolvedRefs(doc: unknown): string[] {
  return [...refsOf(doc, new Set())].filter((ref) => at(doc, ref) === undefined);
}
