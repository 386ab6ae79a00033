import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface LockEntry {
  engines?: { node?: string } | string[];
  dev?: boolean;
  optional?: boolean;
}

const ours = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as { packages: Record<string, LockEntry> };

/**
 * package.json's Node range is a promise to the district office: every package the lock installs — the build's too,
 * since install.sh builds on the office machine — must support every Node version in it. `.npmrc` sets
 * engine-strict, so `npm ci` refuses a lock that breaks it; this says which package and why before anyone gets there.
 */
describe("the project's Node range is honest", () => {
  it('every package in package-lock.json supports the whole range', () => {
    const excluding = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && !Array.isArray(entry.engines) && entry.engines?.node !== undefined)
      .filter(([, entry]) => !semver.subset(ours, (entry.engines as { node: string }).node))
      .map(([path, entry]) => `${path.replace(/^.*node_modules\//, '')} needs node ${(entry.engines as { node: string }).node}`);
    expect(excluding).toEqual([]);
  });

  it('the Node running the tests is in it', () => {
    expect(semver.satisfies(process.versions.node, ours), `${process.versions.node} against ${ours}`).toBe(true);
  });

  it('npm refuses to install on a Node outside it', () => {
    expect(readFileSync('.npmrc', 'utf8')).toMatch(/^engine-strict=true$/m);
  });
});
