#!/usr/bin/env node
// The build step after tsc: copies files that are not TypeScript (the dashboard's page, scripts and
// styles) to the same place under dist/, so the compiled server finds them beside itself.
import { cpSync } from 'node:fs';

cpSync('src/api/dashboard/assets', 'dist/src/api/dashboard/assets', { recursive: true });
