import type { TestProject } from 'vitest/node';
import { startPostgres } from '../testkit/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The `postgres` project's server: each full app makes a database of its own there (tests/helpers/registry-db.ts). */
    postgresUrl: string;
  }
}

/** One PostgreSQL for the `postgres` project's run (vitest.config.ts), stopped at its end. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const pg = await startPostgres({ database: 'frostwatch_tests' });
  project.provide('postgresUrl', pg.url);
  return () => pg.stop();
}
