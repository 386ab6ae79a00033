import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../server/auth/admin-token.js';
import { fail } from './output.js';

/** The admin token of a running system on this machine, for commands that talk to its API. */
export async function readAdminToken(dataDir: string): Promise<string> {
  try {
    return (await readFile(join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim();
  } catch {
    return fail(`no admin token: set ADMIN_TOKEN, or DATA_DIR to the running system's data folder (looked in ${dataDir})`);
  }
}
