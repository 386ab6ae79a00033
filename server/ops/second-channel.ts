import nodemailer from 'nodemailer';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import { type Clock, ConfigError, type Health, type Timers, systemTimers } from '../../contracts/index.js';

/**
 * The second channel (issue 17): when a part of the warning chain fails — Twilio, SQLite, InfluxDB, the broker — the
 * officers must hear it by a path that does not run through that part. The SMS notices of server/warnings/notices.ts
 * need SQLite (the outbox) and Twilio (the SMS), so a dead SMS provider or a broken database would report itself
 * through itself: nothing. This watch holds its state in memory, reads the health checks one by one (a check that
 * throws counts as failing), and speaks through two things that share nothing with the chain:
 *
 * - **e-mail** through an SMTP server (`SMTP_URL`, nodemailer), once when a part has failed for five minutes and once
 *   when it is back;
 * - a **heartbeat** (`HEARTBEAT_URL`, healthchecks.io-compatible): a GET every minute while all is well, `<url>/fail`
 *   while something has failed for five minutes. If the whole machine dies, the pings stop and the outside monitor
 *   raises the alarm — the one failure nothing on the machine can report.
 */

export interface SecondChannelSettings {
  SMTP_URL?: string | undefined;
  SMTP_FROM?: string | undefined;
  SMTP_TO?: string | undefined;
  HEARTBEAT_URL?: string | undefined;
}

export interface SecondChannelOptions {
  settings: SecondChannelSettings;
  /** The checks of `/health`; may reject (SQLite closed) — then SQLite counts as failing. */
  health(): Promise<Health>;
  clock: Clock;
  timers?: Timers;
  logger: Logger;
  metrics: Registry;
  /** District name for the subject line; default none. */
  site?: string;
  /** How long a part must fail before anyone is told; default 5 min (clock time, like the SMS notices). */
  graceMs?: number;
  /** Real time between pings while nothing changes; default 60 s (a healthchecks period of 1 min, grace 2–5 min). */
  heartbeatEveryMs?: number;
  /** Per-request timeout of the heartbeat and the SMTP connection; default 10 s. */
  timeoutMs?: number;
}

/** The parts whose failure the chain cannot report through itself; other checks (tts, spool…) are watched too. */
const NAMES: Record<string, { vi: string; en: string }> = {
  twilio: { vi: 'Twilio (SMS và cuộc gọi)', en: 'Twilio (SMS and calls)' },
  sqlite: { vi: 'cơ sở dữ liệu SQLite', en: 'the SQLite database' },
  influx: { vi: 'InfluxDB (số đo)', en: 'InfluxDB (readings)' },
  broker: { vi: 'MQTT broker (trạm đo)', en: 'the MQTT broker (stations)' },
  spool: { vi: 'bộ đệm số đo', en: 'the readings spool' },
  ruleEngine: { vi: 'bộ quy tắc cảnh báo', en: 'the rule engine' },
  tts: { vi: 'The Things Stack (LoRaWAN)', en: 'The Things Stack (LoRaWAN)' },
};

interface Outage {
  sinceMs: number;
  detail: string | undefined;
  /** The raised e-mail went out (or there is no e-mail): the next one for this outage is the all-clear. */
  told: boolean;
}

export interface SecondChannel {
  /** One look at the health checks: e-mail what crossed the grace period or came back, ping the heartbeat. */
  check(): Promise<void>;
  /** The parts failing longer than the grace period now. */
  failing(): string[];
  start(): void;
  close(): Promise<void>;
}

export function parseRecipients(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Null when neither SMTP_URL nor HEARTBEAT_URL is set; throws ConfigError for a half-configured e-mail. */
export function createSecondChannel(options: SecondChannelOptions): SecondChannel | null {
  const { settings, clock, logger: parent } = options;
  if (settings.SMTP_URL === undefined && settings.HEARTBEAT_URL === undefined) return null;
  if (settings.SMTP_URL !== undefined && settings.SMTP_TO === undefined)
    throw new ConfigError('SMTP_TO: required with SMTP_URL (who gets the e-mails)');
  const logger = parent.child({ module: 'second-channel' });
  const timers = options.timers ?? systemTimers;
  const graceMs = options.graceMs ?? 5 * 60_000;
  const heartbeatEveryMs = options.heartbeatEveryMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const emails = new Counter({
    name: 'frostwatch_second_channel_emails_total',
    help: 'E-mails about the chain’s own failures, by result (sent, failed: retried at the next check)',
    labelNames: ['result'],
    registers: [options.metrics],
  });
  const pings = new Counter({
    name: 'frostwatch_heartbeat_pings_total',
    help: 'Heartbeat pings, by kind (ok, fail) and result (sent, failed)',
    labelNames: ['kind', 'result'],
    registers: [options.metrics],
  });

  const smtp = settings.SMTP_URL === undefined ? null : new URL(settings.SMTP_URL);
  const transport =
    settings.SMTP_URL === undefined
      ? null
      : nodemailer.createTransport({
          url: settings.SMTP_URL,
          connectionTimeout: timeoutMs,
          greetingTimeout: timeoutMs,
          socketTimeout: timeoutMs,
        });
  const from = settings.SMTP_FROM ?? `frostwatch@${smtp?.hostname ?? 'localhost'}`;
  const to = settings.SMTP_TO === undefined ? [] : parseRecipients(settings.SMTP_TO);
  // Logged by host only: the URLs carry a password (SMTP) or are the secret themselves (a healthchecks UUID).
  logger.info(
    { smtp: smtp?.host ?? null, recipients: to.length, heartbeat: settings.HEARTBEAT_URL ? new URL(settings.HEARTBEAT_URL).host : null },
    'second channel for the chain’s own failures',
  );

  const outages = new Map<string, Outage>();
  /** E-mails not sent yet (SMTP down too): tried again at each check, oldest first. */
  const unsent: { subject: string; text: string }[] = [];
  let lastPing: { kind: 'ok' | 'fail'; atReal: number } | null = null;
  let stop: (() => void) | null = null;
  let running: Promise<void> | null = null;

  async function readChecks(): Promise<Health['checks']> {
    try {
      return (await options.health()).checks;
    } catch (error) {
      // The checks read SQLite (the outbox for Twilio's state): a database that throws is the failure to report.
      return { sqlite: { ok: false, detail: error instanceof Error ? error.message : String(error) } };
    }
  }

  function label(name: string): { vi: string; en: string } {
    return NAMES[name] ?? { vi: name, en: name };
  }

  function compose(name: string, outage: Outage, state: 'raised' | 'cleared', nowMs: number): { subject: string; text: string } {
    const part = label(name);
    const minutes = Math.round((nowMs - outage.sinceMs) / 60_000);
    const since = new Date(outage.sinceMs).toISOString();
    const site = options.site ? ` ${options.site}` : '';
    if (state === 'raised') {
      return {
        subject: `[frostwatch${site}] LỖI: ${part.vi} không hoạt động ${minutes} phút / ${part.en} failing for ${minutes} min`,
        text: [
          `${part.vi} không hoạt động từ ${since} (${minutes} phút).`,
          name === 'twilio' || name === 'sqlite'
            ? 'Tin nhắn cảnh báo sương muối có thể KHÔNG đến được nông dân: hãy gọi điện cho họ nếu đêm nay có sương muối.'
            : 'Cảnh báo có thể bị chậm hoặc thiếu: kiểm tra máy chủ frostwatch.',
          '',
          `${part.en} has been failing since ${since} (${minutes} min).`,
          name === 'twilio' || name === 'sqlite'
            ? 'Frost warnings may NOT reach the farmers: phone them if frost is expected tonight.'
            : 'Warnings may be late or missing: check the frostwatch server.',
          ...(outage.detail ? ['', `Detail: ${outage.detail}`] : []),
          '',
          'docs/operations.md, "The second channel".',
        ].join('\n'),
      };
    }
    return {
      subject: `[frostwatch${site}] Đã khắc phục: ${part.vi} / ${part.en} is back`,
      text: [
        `${part.vi} hoạt động trở lại (lỗi từ ${since}, ${minutes} phút).`,
        '',
        `${part.en} is working again (failing since ${since}, ${minutes} min).`,
      ].join('\n'),
    };
  }

  async function flushMail(): Promise<void> {
    if (transport === null) return;
    for (let mail = unsent[0]; mail !== undefined; mail = unsent[0]) {
      try {
        await transport.sendMail({ from, to, subject: mail.subject, text: mail.text });
        unsent.shift();
        emails.inc({ result: 'sent' });
        logger.info({ subject: mail.subject, recipients: to.length }, 'e-mail sent about the chain');
      } catch (error) {
        emails.inc({ result: 'failed' });
        logger.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'e-mail could not be sent: tried again at the next check',
        );
        return;
      }
    }
  }

  async function ping(kind: 'ok' | 'fail', detail: string): Promise<void> {
    const url = settings.HEARTBEAT_URL;
    if (url === undefined) return;
    const due = lastPing === null || lastPing.kind !== kind || timers.now() - lastPing.atReal >= heartbeatEveryMs;
    if (!due) return;
    const target = kind === 'ok' ? url : `${url.replace(/\/+$/, '')}/fail`;
    try {
      // healthchecks.io keeps the request body of a ping (up to 10 KB) as its log: the failing parts, for the engineer.
      const response = await fetch(target, {
        method: kind === 'ok' ? 'GET' : 'POST',
        ...(kind === 'fail' ? { body: detail, headers: { 'content-type': 'text/plain; charset=utf-8' } } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      lastPing = { kind, atReal: timers.now() };
      pings.inc({ kind, result: 'sent' });
    } catch (error) {
      pings.inc({ kind, result: 'failed' });
      logger.warn({ kind, error: error instanceof Error ? error.message : String(error) }, 'heartbeat ping failed');
    }
  }

  async function check(): Promise<void> {
    const nowMs = clock.now();
    const checks = await readChecks();
    for (const [name, result] of Object.entries(checks)) {
      const outage = outages.get(name);
      if (result.ok) {
        if (outage?.told === true && transport !== null) unsent.push(compose(name, outage, 'cleared', nowMs));
        if (outage?.told === true) logger.info({ part: name }, 'part of the chain back after an outage');
        outages.delete(name);
        continue;
      }
      if (outage === undefined) {
        outages.set(name, { sinceMs: nowMs, detail: result.detail, told: false });
        continue;
      }
      outage.detail = result.detail ?? outage.detail;
      if (!outage.told && nowMs - outage.sinceMs >= graceMs) {
        outage.told = true;
        logger.error({ part: name, detail: outage.detail }, 'part of the chain failing for longer than the grace period');
        if (transport !== null) unsent.push(compose(name, outage, 'raised', nowMs));
      }
    }
    // A part that vanished from the checks (sqlite after a throwing read came back) counts as recovered.
    for (const [name, outage] of outages) {
      if (name in checks) continue;
      if (outage.told && transport !== null) unsent.push(compose(name, outage, 'cleared', nowMs));
      outages.delete(name);
    }
    await flushMail();
    const down = failingNow();
    await ping(
      down.length === 0 ? 'ok' : 'fail',
      down.map((name) => `${label(name).en}: ${outages.get(name)?.detail ?? 'failing'}`).join('\n'),
    );
  }

  function failingNow(): string[] {
    return [...outages].filter(([, o]) => o.told).map(([name]) => name);
  }

  function run(): void {
    if (running !== null) return; // a slow SMTP server: the next look waits for this one
    running = check()
      .catch((error: unknown) => logger.error({ err: error }, 'second-channel check failed'))
      .finally(() => (running = null));
  }

  return {
    check,
    failing: failingNow,
    start() {
      if (stop !== null) return;
      // Checks follow the Clock (a demo at ×600 looks every simulated minute); pings are paced in real time.
      stop = timers.every(Math.max(1_000, Math.min(heartbeatEveryMs, 60_000 / clock.speed)), run);
      run();
    },
    async close() {
      stop?.();
      stop = null;
      await running;
      transport?.close();
    },
  };
}
