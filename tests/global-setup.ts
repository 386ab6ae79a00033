import { execFileSync } from 'node:child_process';

/**
 * System tests run the real `frostwatch` command from dist/ and serve the built dashboard, so build both first
 * (incremental: seconds when nothing changed). A type error fails the build, and so the test run.
 */
export default function setup(): void {
  // Once per run: each vitest project (sqlite, postgres) runs the global setup it inherits, in this one process.
  if (process.env['FROSTWATCH_TESTS_BUILT'] === '1') return;
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
  process.env['FROSTWATCH_TESTS_BUILT'] = '1';
}
