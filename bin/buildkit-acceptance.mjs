#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (no build step; the suite is run from its checkout).
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli/main.ts');
