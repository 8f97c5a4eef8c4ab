// Lint: strict TypeScript everywhere, and the determinism rule for src/core and src/cluster:
// those layers must take time, randomness, timers and I/O only through injected interfaces, so
// the simulator can replay any run from its seed.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const nondeterministicGlobals = ['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'performance', 'process', 'fetch'].map((name) => ({
  name,
  message: 'src/core and src/cluster are deterministic: use the injected Clock / Transport / Random.',
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // the dashboard's scripts run in the browser, as plain ES modules (no build step)
    files: ['src/api/dashboard/assets/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser, uPlot: 'readonly' } },
  },
  {
    files: ['src/core/**/*.ts', 'src/cluster/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...nondeterministicGlobals],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='Date'][property.name='now']", message: 'Use the injected Clock.' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'Use the injected Clock.' },
        { selector: "MemberExpression[object.name='Math'][property.name='random']", message: 'Use the injected Random.' },
        { selector: "MemberExpression[object.name='crypto'][property.name='randomUUID']", message: 'Use the injected Random.' },
      ],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'net', 'http', 'dgram', 'child_process', 'os', 'crypto', 'timers', 'worker_threads'], message: 'No I/O in src/core or src/cluster: use injected interfaces.' },
        { group: ['**/net/**', '**/api/**', '**/sim/**', '**/cli/**', '**/server*'], message: 'Layering: core and cluster import only lower layers.' },
      ] }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['node:*', 'fs', 'net', 'http', 'dgram', 'child_process', 'os', 'crypto', 'timers', 'worker_threads'], message: 'No I/O in src/core.' },
        { group: ['**/storage/**', '**/cluster/**', '**/net/**', '**/api/**', '**/sim/**', '**/cli/**', '**/server*'], message: 'src/core is the lowest layer.' },
      ] }],
    },
  },
);
