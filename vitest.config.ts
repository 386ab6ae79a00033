import { configDefaults, defineConfig } from 'vitest/config';

/**
 * The suites that run the whole server on its registry (tests/helpers/full-app.ts), run a second time on PostgreSQL
 * (`DATABASE_URL`, issue 18): the same API, roles, alerts, outbox and audit on both databases.
 */
const ON_BOTH_REGISTRIES = [
  'tests/fuzz/http-boundary.test.ts',
  'tests/integration/audit-log.test.ts',
  'tests/integration/auth-access.test.ts',
  'tests/integration/farmer-choices.test.ts',
  'tests/integration/http-limits.test.ts',
  'tests/integration/injection.test.ts',
  'tests/integration/prealert-cluster.test.ts',
  'tests/integration/prealert.test.ts',
  'tests/integration/rule-state-guard.test.ts',
  'tests/integration/season-score.test.ts',
  'tests/integration/sources-chirpstack.test.ts',
  'tests/integration/sources-frost-night.test.ts',
  'tests/integration/station-import-api.test.ts',
  'tests/integration/twilio-opt-out.test.ts',
];

/**
 * Issue 18's whole province cluster through a frost night: fourteen processes that need the machine to themselves
 * (a second of lag is minutes of simulated night), so it runs after everything else, alone.
 */
const ALONE = ['tests/reliability/province-cluster-night.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['tests/global-setup.ts'],
    // Integration tests start real influxd / mosquitto / aedes processes; give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run test files in parallel, but not so many that influxd instances starve.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ALONE],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ON_BOTH_REGISTRIES,
          globalSetup: ['tests/global-setup-postgres.ts'],
          env: { FROSTWATCH_TEST_REGISTRY: 'postgres' },
          sequence: { groupOrder: 0 },
        },
      },
      { extends: true, test: { name: 'cluster', include: ALONE, sequence: { groupOrder: 1 } } },
    ],
  },
});
