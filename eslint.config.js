// ESLint: typescript-eslint's strictest type-checked set, and the arrows between folders (docs/architecture.md).
import tseslint from 'typescript-eslint';

/** Folders of this repository, and which of them each may import (contracts ← everything; cli is the composition root). */
const FOLDERS = ['contracts', 'frost', 'gateway', 'firmware-sim', 'server', 'backtest', 'cli', 'bench', 'tests', 'testkit', 'scripts'];
const MAY_IMPORT = {
  contracts: [],
  frost: ['contracts'],
  gateway: ['contracts'],
  'firmware-sim': ['contracts'],
  server: ['contracts', 'frost', 'gateway'], // the gateway's intake pieces serve the broker consumer too
  backtest: ['contracts', 'frost'],
  cli: ['contracts', 'frost', 'gateway', 'firmware-sim', 'server', 'backtest'],
  testkit: ['contracts', 'firmware-sim', 'server'],
  bench: ['contracts', 'frost', 'gateway', 'firmware-sim', 'server', 'testkit'],
  scripts: ['contracts', 'frost', 'backtest'],
  tests: FOLDERS.filter((f) => f !== 'bench' && f !== 'scripts'),
};

/** One `no-restricted-imports` block per folder: a relative import that reaches a folder it may not use is an error. */
const boundaries = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: FOLDERS.filter((f) => f !== folder && !allowed.includes(f)).map((f) => ({
          group: [`../**/${f}/**`, `../${f}/**`],
          message: `${folder}/ may not import ${f}/ (docs/architecture.md: dependencies point one way)`,
        })),
      },
    ],
  },
}));

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'dashboard/dist/**',
      'dashboard/vite.config.ts',
      'scripts/real-nights/**',
      'vitest.config.ts',
      'eslint.config.js',
      'bench/results/**',
    ],
  },
  ...tseslint.configs.strictTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    rules: {
      // Numbers and booleans read naturally in messages and logs; objects and nullables still need a decision.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `(x) => void f(x)` style shorthands are clear; a void value used anywhere else is still an error.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  ...boundaries,
  // The dashboard is its own build (Vite, DOM types; dashboard/tsconfig.json, found by the project service): it may
  // use the contracts' types and schemas, and nothing else of the server side.
  {
    files: ['dashboard/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: FOLDERS.filter((f) => f !== 'contracts').map((f) => ({
            group: [`../**/${f}/**`],
            message: `dashboard/ may import contracts/ only, not ${f}/ (docs/architecture.md)`,
          })),
        },
      ],
    },
  },
  // Inside server/, only the app (app.ts, app-deps.ts) and the routes know the routes: services never import an HTTP layer.
  {
    files: ['server/**/*.ts'],
    ignores: ['server/app.ts', 'server/app-deps.ts', 'server/routes/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../**/cli/**',
                '../cli/**',
                '../**/bench/**',
                '../**/tests/**',
                '../**/testkit/**',
                '../**/backtest/**',
                '../**/firmware-sim/**',
              ],
              message: 'server/ may import contracts/, frost/ and gateway/ only',
            },
            { group: ['./routes/**', '../routes/**'], message: 'services do not import routes: routes import services' },
          ],
        },
      ],
    },
  },
  {
    // A test asserts that a value is there before it reads it; `!` after that is the test's own claim.
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
