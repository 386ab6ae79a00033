import { execFileSync } from 'node:child_process';

/**
 * System tests run the real `frostwatch` command from dist/ and serve the built dashboard, so build both first
 * (incremental: seconds when nothing changed). A type error fails the build, and so the test run.
 */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
