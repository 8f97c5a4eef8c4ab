#!/usr/bin/env node
/** `npm run chaos -- <options>`: see main.ts. */
import { chaosMain } from './main.js';

process.exit(await chaosMain(process.argv.slice(2)));
