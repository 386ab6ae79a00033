import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runFrostwatch } from '../helpers/system.js';

const run = promisify(execFile);
const CONF = join(import.meta.dirname, '..', '..', 'deploy', 'nats', 'nats-server.conf');

/** The example nats-server configuration of docs/scale-out.md is one nats-server accepts, with the mapping frostwatch prints. */
describe('deploy/nats/nats-server.conf', () => {
  it("is valid for Debian's nats-server (-t) and carries the mapping `frostwatch cluster nats-mapping` prints for P = 12", async () => {
    const checked = await run('nats-server', ['-c', CONF, '-t']);
    expect(`${checked.stdout}${checked.stderr}`).toContain('is valid');
    const printed = runFrostwatch(['cluster', 'nats-mapping', '--partitions', '12'], {});
    expect(await printed.exited).toBe(0);
    const mapping = printed.output().trim();
    expect(mapping).toContain('partition(12,1)');
    expect(readFileSync(CONF, 'utf8')).toContain(mapping);
  });

  it('refuses a partition count it cannot map', async () => {
    const printed = runFrostwatch(['cluster', 'nats-mapping', '--partitions', '0'], {});
    expect(await printed.exited).not.toBe(0);
    expect(printed.output()).toContain('--partitions');
  });
});
