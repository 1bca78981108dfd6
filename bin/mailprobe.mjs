#!/usr/bin/env node
// Runs the TypeScript CLI in place (no build step): `npx mailprobe …` from the repository.
import { register } from 'tsx/esm/api';

register();
await import('./mailprobe.ts');
