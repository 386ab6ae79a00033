import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface HeldLock {
  /** Resolves with performance.now() in this process when the other process has committed. */
  released: Promise<number>;
  process: ChildProcess;
}

const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.exec('BEGIN EXCLUSIVE');
console.log('locked');
setTimeout(() => { db.exec('COMMIT'); db.close(); console.log('released'); }, Number(process.argv[2]));
`;

/**
 * Another process (as an admin's sqlite3 shell or a backup script would) takes the write lock of `file` and holds it
 * for `ms`. Resolves once the lock is held.
 */
export async function holdWriteLock(file: string, ms: number): Promise<HeldLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, file, String(ms)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  let onReleased: (atMs: number) => void = () => undefined;
  const released = new Promise<number>((resolve) => (onReleased = resolve));
  const locked = new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'locked') resolve();
      if (line === 'released') onReleased(performance.now());
    });
    void once(child, 'exit').then(([code]) => reject(new Error(`the lock holder exited (${String(code)}) before locking`)));
  });
  await locked;
  return { released, process: child };
}
