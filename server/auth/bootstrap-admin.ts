import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { UserRepository } from './users.js';

export const ADMIN_PASSWORD_FILE = 'admin-password';

/**
 * The first start has no users, so nobody could sign in to the dashboard: create `admin` with a random password,
 * keep it in DATA_DIR/admin-password (mode 0600, like the admin token) and let the CLI print it once.
 * Change it by creating your own users (`frostwatch user add`) and disabling this one.
 */
export async function ensureBootstrapAdmin(
  users: UserRepository,
  dataDir: string,
  logger: Logger,
): Promise<{ username: string; password: string } | null> {
  if (users.list().length > 0) return null;
  const password = randomBytes(12).toString('base64url');
  const created = await users.create({ username: 'admin', name: 'Administrator', role: 'admin', password });
  if (!created.ok) return null;
  const file = join(dataDir, ADMIN_PASSWORD_FILE);
  await writeFile(`${file}.tmp`, `${password}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  logger.info({ file }, 'dashboard user "admin" created');
  return { username: 'admin', password };
}
