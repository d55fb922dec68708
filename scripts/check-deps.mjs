#!/usr/bin/env node
// The dependency rule: suites/<phase> imports only harness/, helpers/, build/, automation/, reports/ and
// its own folder (never another suite; suites/self-lab also the self tests' fixtures), and no worker
// class: the sandbox hands workers out (harness/sandbox/sandbox.ts). harness/, build/, helpers/, reports/
// and automation/ never import a suite; and no module imports itself through a cycle, type-only imports
// included. Exits 1 naming every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const DIRS = ['harness', 'helpers', 'build', 'suites', 'reports', 'automation', 'scripts'];

function files(dir) {
  const out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(ts|mts|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

const graph = new Map();
for (const f of DIRS.flatMap((d) => files(join(ROOT, d)))) {
  const text = readFileSync(f, 'utf8');
  // Type-only imports count too, for the layers and for cycles: a cycle of types is still two modules
  // that cannot be understood apart.
  const all = [
    ...text.matchAll(/(import\s+type\s[^;]*?from\s+|(?:from\s+|import\s*\(\s*))['"](\.{1,2}\/[^'"]+)['"]/g),
  ];
  const specs = all.map((m) => m[2]);
  graph.set(
    relative(ROOT, f),
    specs.map((s) => relative(ROOT, resolve(dirname(f), s))),
  );
}

const problems = [];
const top = (p) => p.split('/')[0];
for (const [from, tos] of graph) {
  for (const to of tos) {
    const [a, b] = [from.split('/'), to.split('/')];
    if (a[0] === 'suites' && a[1] !== 'self') {
      const selfFixture = a[1] === 'self-lab' && b[1] === 'self' && b[2] === 'fixtures';
      if (b[0] === 'suites' && b[1] !== a[1] && !selfFixture)
        problems.push(`${from} imports another suite: ${to}`);
      // A phase's checks get their workers from the sandbox (harness/sandbox/sandbox.ts), never a class.
      if (!a[1].startsWith('self') && b[0] === 'harness' && b[1] === 'sandbox' && /-workers?\.ts$/.test(b[2]))
        problems.push(`${from} imports a worker class (${to}); take it from harness/sandbox/sandbox.ts`);
    } else if (a[0] !== 'suites' && top(to) === 'suites') {
      problems.push(`${from} (${a[0]}/) imports a suite: ${to}`);
    }
  }
}

// Cycles among the modules, type-only imports included (tests are leaves).
const state = new Map();
const stack = [];
function visit(n) {
  state.set(n, 'open');
  stack.push(n);
  for (const m of graph.get(n) ?? []) {
    if (!graph.has(m)) continue;
    if (state.get(m) === 'open')
      problems.push(`import cycle: ${[...stack.slice(stack.indexOf(m)), m].join(' -> ')}`);
    else if (!state.has(m)) visit(m);
  }
  stack.pop();
  state.set(n, 'done');
}
for (const n of graph.keys()) if (!state.has(n)) visit(n);

if (problems.length > 0) {
  for (const p of problems) console.error(`deps: ${p}`);
  process.exit(1);
}
console.log(`deps: ${graph.size} modules, the dependency rule holds`);
