import { relative } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

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

/**
 * The files that play an accelerated night or a season (minutes each, most of it waiting on the simulated clock). They
 * are short files, and vitest without its cache of durations (a clean clone, CI) starts the largest files first, so
 * one of them came last and ran alone for minutes while the other worker idled. They start first instead.
 */
const PLAYS_A_NIGHT = [/^tests\/reliability\//, /^tests\/e2e\//, /^tests\/integration\/system-/];

/** Vitest's order (project groups, then failed, longest or largest first), with the night players first in each group. */
class NightsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const rank = (spec: TestSpecification): number => {
      const path = relative(spec.project.config.root, spec.moduleId);
      return PLAYS_A_NIGHT.some((pattern) => pattern.test(path)) ? 0 : 1;
    };
    const position = new Map(base.map((spec, i) => [spec, i]));
    return [...base].sort(
      (a, b) =>
        a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder ||
        rank(a) - rank(b) ||
        (position.get(a) ?? 0) - (position.get(b) ?? 0),
    );
  }
}

export default defineConfig({
  test: {
    globalSetup: ['tests/global-setup.ts'],
    // Integration tests start real influxd / mosquitto / aedes processes; give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run test files in parallel, but not so many that influxd instances starve.
    maxWorkers: 2,
    sequence: { sequencer: NightsFirst },
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
