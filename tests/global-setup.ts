import { execFileSync } from 'node:child_process';

/**
 * System tests run the real `frostwatch` command from dist/, so build it first (incremental: seconds when
 * nothing changed). A type error fails the build, and so the test run.
 */
export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
