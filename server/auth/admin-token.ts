import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { sha256 } from './station-tokens.js';

export const ADMIN_TOKEN_FILE = 'admin-token';
/** Same floor as ADMIN_TOKEN in contracts/env.ts. */
const MIN_LENGTH = 16;

export interface ResolveAdminTokenOptions {
  /** ADMIN_TOKEN from the environment, if set. */
  configured?: string | undefined;
  dataDir: string;
  logger: Logger;
}

export interface AdminToken {
  token: string;
  /** True only on the run that created it: the CLI prints it then, and never again. */
  generated: boolean;
}

/** ADMIN_TOKEN if set, else the one kept in DATA_DIR/admin-token, else a new one written there (mode 0600). */
export async function resolveAdminToken(options: ResolveAdminTokenOptions): Promise<AdminToken> {
  const { configured, dataDir, logger } = options;
  if (configured !== undefined && configured !== '') return { token: configured, generated: false };
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readTokenFile(file);
  if (existing !== null) return { token: existing, generated: false };
  const token = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  // Write then rename, so a crash never leaves a half-written token that would lock admins out.
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await rename(partial, file);
  logger.info({ file }, 'admin token generated');
  return { token, generated: true };
}

async function readTokenFile(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (isNodeError(error) && error.code === 'ENOENT') return null;
    throw error;
  }
  const token = text.trim();
  if (token.length < MIN_LENGTH) throw new Error(`${file}: admin token shorter than ${MIN_LENGTH} characters; fix or delete the file`);
  return token;
}

/** Constant-time check of an `Authorization: Bearer <token>` header. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = bearerToken(header);
  if (presented === null) return false;
  // Comparing digests keeps the comparison constant-time even when the lengths differ.
  return timingSafeEqual(sha256(presented), sha256(token));
}

export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

function isNodeError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && 'code' in error;
}
