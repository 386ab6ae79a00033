import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FileEntry } from './manifest.js';
import { BackupError } from './manifest.js';

/**
 * The small files beside the registry that a backup carries, whichever exist: without token-hmac-key no station can
 * log in; tts-state.json lets the restored system fetch The Things Stack's stored uplinks since the backup.
 */
export const DATA_FILES = ['token-hmac-key', 'admin-token', 'admin-password', 'tts-state.json'] as const;

export async function describeFile(root: string, file: string): Promise<FileEntry> {
  const path = join(root, file);
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return { name: file, bytes: (await stat(path)).size, sha256: hash.digest('hex') };
}

/** Every regular file under `root`, as paths relative to it, sorted. */
export async function filesUnder(root: string): Promise<string[]> {
  const found: string[] = [];
  // A walk of our own: Dirent.parentPath (for readdir's `recursive`) arrived in Node 20.12, and we run on 20.6.
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.push(relative(root, path));
    }
  };
  await walk(root);
  return found.sort();
}

/** Throws when a file differs from what the manifest recorded: a damaged backup is refused before anything is replaced. */
export async function verifyFile(root: string, expected: FileEntry, where: string): Promise<void> {
  let actual: FileEntry;
  try {
    actual = await describeFile(root, expected.name);
  } catch (error) {
    throw new BackupError(`${where}: ${expected.name} is missing from the backup (${errorCode(error)})`);
  }
  if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256)
    throw new BackupError(`${where}: ${expected.name} differs from the manifest (size or SHA-256): the backup is damaged`);
}

/** Whether `dir` is absent or empty; throws when it is a file or cannot be read. */
export async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw new BackupError(`${dir} is a file, not a directory`);
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
}

export function errorCode(error: unknown): string {
  if (error instanceof BackupError) return error.message;
  const { code, message } = error as NodeJS.ErrnoException;
  return code ?? message;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
