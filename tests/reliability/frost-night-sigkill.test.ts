import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { drawFor } from '../../firmware-sim/random.js';
import { queryReadings } from '../../server/influx/readings-query.js';
import { type FrostNightRun, PHONES, levelOf, playPhones, prepareDistrict, runFrostNight } from '../helpers/frost-night.js';
import { type TestInfluxd, startTestInfluxd } from '../helpers/influxd.js';
import { eventually } from '../helpers/mqtt.js';
import { type HeldLock, holdWriteLock } from '../helpers/sqlite-lock.js';
import { TwilioTestServer } from '../../testkit/twilio-server.js';

const START = '2026-12-20T15:00:00+07:00';
const LADDER = ['watch', 'warning', 'severe', 'all_clear'];
/** At least 10 kills with FROSTWATCH_LONG_TESTS=1; 3 by default. */
const KILLS = process.env['FROSTWATCH_LONG_TESTS'] === '1' ? 10 : 3;
const SEED = 6;
/** Longer than server/registry/db.ts's busy_timeout (5 s), so writes do fail with SQLITE_BUSY, not only wait. */
const LOCK_MS = 8_000;

/**
 * The newest instant the killed process had acknowledged: the last timestamp in its spool (InfluxDB lags behind the
 * spool by the forwarder's batch). Resuming the simulated clock before it would turn time back, which no real
 * restart does.
 */
async function lastSpooledMs(dataDir: string): Promise<number> {
  const dir = join(dataDir, 'spool');
  let newest = 0;
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.lp'))) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      const ts = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line && Number.isFinite(ts)) newest = Math.max(newest, ts);
    }
  }
  return newest;
}

/**
 * One simulated frost night with two kinds of fault. First another process (a backup script, an admin's sqlite3
 * shell) holds the registry's write lock for 8 s, taken just as Twilio accepts a farmer's first Watch: frostwatch
 * must not crash, must not send that Watch again, and decisions are delayed, not lost.
 * Then `frostwatch up` is SIGKILLed at seeded random moments, restarted each time where it had left off. Every
 * farmer gets every level of the ladder, in order, and no level twice — except where a kill fell inside a request
 * to Twilio (the documented window), which is counted.
 */
describe('a busy SQLite, then SIGKILLs at random moments, through a frost night', () => {
  let twilio: TwilioTestServer | undefined;
  let influx: TestInfluxd | undefined;
  let dataDir: string | undefined;
  let night: FrostNightRun | undefined;
  afterEach(async () => {
    await night?.stop();
    await twilio?.close();
    await influx?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    night = twilio = influx = dataDir = undefined;
  });

  it(
    `an ${LOCK_MS / 1_000} s write lock, then ${KILLS} kills: the whole ladder reaches every farmer, each level once`,
    { timeout: 240_000 + KILLS * 20_000 },
    async () => {
      const server = (twilio = await TwilioTestServer.start());
      const db = (influx = await startTestInfluxd({ database: 'frostwatch' }));
      const district = (dataDir = await prepareDistrict());
      const run = (night = await runFrostNight(district, server, db.url, START));
      const draw = drawFor('frost-night-sigkill', SEED);
      const stopPhones = playPhones(server);
      const recoveries: number[] = [];
      let killsInsideRequests = 0;
      let lockLines = 0;
      try {
        // The lock is taken as Twilio accepts the first farmer's Watch, before its answer leaves: the worst moment,
        // when frostwatch must write down a message that now exists and cannot be taken back.
        let lock: Promise<HeldLock> | undefined;
        server.onAccept = async (request) => {
          if (lock !== undefined || levelOf(request.body) !== 'watch' || (request.to !== PHONES.ha && request.to !== PHONES.tu)) return;
          server.onAccept = null;
          await (lock = holdWriteLock(join(district, 'frostwatch.db'), LOCK_MS));
        };
        await eventually(() => expect(lock).toBeDefined(), 120_000);
        await (
          await lock!
        ).released;
        expect(run.fw.proc.exitCode).toBeNull(); // rode it out
        lockLines = run.fw
          .output()
          .split('\n')
          .filter((line) => /SQLITE_BUSY|database is locked/i.test(line)).length;
        for (let kill = 0; kill < KILLS; kill++) {
          await new Promise((r) => setTimeout(r, draw.between(2_000, 9_000)));
          // Each kill must find it alive: a crash of its own (a write still failing after the lock) would be hidden by the restart.
          expect(run.fw.proc.exitCode, `frostwatch exited by itself before kill ${kill + 1}:\n${run.fw.output().slice(-2_000)}`).toBeNull();
          // A kill within 100 ms of a request reaching Twilio may fall between Twilio's answer and our record of it.
          if (performance.now() - (server.requests.at(-1)?.atMs ?? -Infinity) < 100) killsInsideRequests++;
          const killedAt = performance.now();
          await run.fw.kill('SIGKILL');
          const stored = await queryReadings(db.conn, 'sim-01', { fromMs: Date.parse(START), toMs: Date.parse(START) + 86_400_000 });
          const resumeMs = Math.max(Date.parse(stored.at(-1)?.ts ?? START), await lastSpooledMs(district)) + 60_000;
          await run.restart(new Date(resumeMs).toISOString());
          recoveries.push(Math.round(performance.now() - killedAt));
        }
        await eventually(() => {
          const last = (phone: string) =>
            server
              .created('message')
              .filter((r) => r.to === phone)
              .map((r) => levelOf(r.body))
              .at(-1);
          for (const phone of [PHONES.ha, PHONES.tu]) expect(last(phone)).toBe('all_clear');
        }, 240_000);
      } finally {
        stopPhones();
      }
      let duplicates = 0;
      const sent: Record<string, string[]> = {};
      for (const phone of [PHONES.ha, PHONES.tu]) {
        const levels = server
          .created('message')
          .filter((r) => r.to === phone)
          .map((r) => levelOf(r.body))
          .filter((l) => l !== 'other');
        sent[phone] = levels;
        expect(
          levels.filter((l, i) => levels.indexOf(l) === i),
          phone,
        ).toEqual(LADDER);
        duplicates += levels.length - LADDER.length;
      }
      expect(duplicates, JSON.stringify(sent)).toBeLessThanOrEqual(killsInsideRequests);
      console.info(
        `frost night: ${LOCK_MS} ms SQLite write lock (${lockLines} log line(s) about it, no crash), then ${KILLS} SIGKILLs of frostwatch up: kill → serving HTTP again in ${JSON.stringify(recoveries)} ms; ` +
          `${killsInsideRequests} kill(s) within 100 ms of a Twilio request; ${duplicates} duplicate SMS`,
      );
    },
  );
});
