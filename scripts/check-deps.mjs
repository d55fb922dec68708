#!/usr/bin/env node
// The dependency rule, so that the folders stay the layers docs/architecture.md draws:
// - Layers, lowest first. A module imports its own folder or a lower layer, never a higher one and
//   never another folder of its own layer:
//     helpers (pure parsers, verdicts, the command result and errors)
//     harness/plan (options, the environment table, the config)
//     harness/target, reports
//     harness/docker, automation
//     build (the scripts users run), harness/lab
//     harness/run (session, hand-over, phase context, global setup)
//     harness/subjects (the artefacts under test, as a phase loads them)
//     harness/sandbox (the workers test bodies receive)
//     harness/cli
//     suites, scripts, bin
// - suites/<phase> imports no other suite but suites/lists (test lists that several runners share;
//   suites/self-lab also the self tests' fixtures), and no worker class: the sandbox hands workers out
//   (harness/sandbox/sandbox.ts).
// - No module imports itself through a cycle, type-only imports included.
// Exits 1 naming every violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const DIRS = ['harness', 'helpers', 'build', 'suites', 'reports', 'automation', 'scripts', 'bin'];
const LAYERS = [
  ['helpers'],
  ['harness/plan'],
  ['harness/target', 'reports'],
  ['harness/docker', 'automation'],
  ['build', 'harness/lab'],
  ['harness/run'],
  ['harness/subjects'],
  ['harness/sandbox'],
  ['harness/cli'],
  ['suites', 'scripts', 'bin'],
];
/** A module's folder as the layers name it: harness/<concept>, else the top folder. */
const folder = (p) => {
  const parts = p.split('/');
  return parts[0] === 'harness' ? parts.slice(0, 2).join('/') : parts[0];
};
const layer = (f) => LAYERS.findIndex((l) => l.includes(f));

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
for (const from of graph.keys())
  if (layer(folder(from)) < 0) problems.push(`${from} is in no layer (harness/ has only concept folders)`);
for (const [from, tos] of graph) {
  for (const to of tos) {
    const [fa, fb] = [folder(from), folder(to)];
    if (fa !== fb && layer(fb) >= 0 && layer(fb) >= layer(fa))
      problems.push(
        `${from} (${fa}) imports ${to} (${fb}), a layer ${layer(fb) > layer(fa) ? 'above it' : 'beside it'}`,
      );
    const [a, b] = [from.split('/'), to.split('/')];
    if (a[0] === 'suites' && a[1] !== 'self') {
      const selfFixture = a[1] === 'self-lab' && b[1] === 'self' && b[2] === 'fixtures';
      if (b[0] === 'suites' && b[1] !== a[1] && b[1] !== 'lists' && !selfFixture)
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
