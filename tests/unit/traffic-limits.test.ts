import type { AedesOptions, Client, PublishPacket } from 'aedes';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { StationId } from '../../contracts/index.js';
import { Identities } from '../../gateway/identity.js';
import { type PublishRateLimit, limitPublishRate } from '../../gateway/publish-rate.js';
import { dashboardCsp, tileSource } from '../../server/security-headers.js';

type AuthorizePublish = NonNullable<AedesOptions['authorizePublish']>;
type Outcome = 'now' | 'later' | 'refused';

const LIMITS = { publishesPerS: 10, publishBurst: 3, maxPublishDelayMs: 250 };
const packet = {
  cmd: 'publish',
  topic: 'stations/st-1/readings',
  payload: Buffer.from('{}'),
  qos: 1,
  retain: false,
  dup: false,
  messageId: 1,
} as PublishPacket;

/** A client object as aedes passes it; only identity (by reference) and `closed` matter to the limiter. */
const client = (closed = false) => ({ id: 'c', closed }) as unknown as Client;

describe('per-station publish rate (GCRA)', () => {
  let limit: PublishRateLimit | undefined;
  afterEach(() => limit?.close());

  function setUp(speed = 1) {
    let nowMs = 0;
    const identities = new Identities();
    const throttled = new Counter({ name: 't', help: 't', labelNames: ['outcome'] as const, registers: [new Registry()] });
    const inner: AuthorizePublish = (_c, _p, callback) => callback(null);
    limit = limitPublishRate(inner, { limits: LIMITS, speed, identities, throttled, log: () => undefined, now: () => nowMs });
    const authorize = limit.authorizePublish;
    /** How one publish is answered: at once, after a delay, or with an error (the connection closes). */
    const publish = (c: Client): Outcome => {
      let outcome: Outcome = 'later';
      authorize(c, packet, (error) => {
        if (outcome === 'later' && error) outcome = 'refused';
        else if (outcome === 'later') outcome = 'now';
      });
      return outcome;
    };
    return { identities, publish, advance: (ms: number) => (nowMs += ms) };
  }

  it('lets a burst through at once, holds the next ones at the rate, and refuses what would wait too long', () => {
    const { identities, publish } = setUp();
    const station = client();
    identities.set(station, { kind: 'station', stationId: 'st-1' as StationId });
    // Burst of 3, then one every 100 ms may wait up to 250 ms: two are held, the third would wait 300 ms.
    expect([publish(station), publish(station), publish(station)]).toEqual(['now', 'now', 'now']);
    expect([publish(station), publish(station)]).toEqual(['later', 'later']);
    expect(publish(station)).toBe('refused');
  });

  it('refills at the sustained rate', () => {
    const { identities, publish, advance } = setUp();
    const station = client();
    identities.set(station, { kind: 'station', stationId: 'st-1' as StationId });
    for (let i = 0; i < 3; i++) publish(station);
    advance(1_000); // 10 publishes' worth, capped at the burst of 3
    expect([publish(station), publish(station), publish(station), publish(station)]).toEqual(['now', 'now', 'now', 'later']);
  });

  it('keeps one budget per connection, and never limits the service account, unknown clients or a will', () => {
    const { identities, publish } = setUp();
    const [a, b, service, closed] = [client(), client(), client(), client(true)];
    identities.set(a, { kind: 'station', stationId: 'st-1' as StationId });
    identities.set(b, { kind: 'station', stationId: 'st-2' as StationId });
    identities.set(service, { kind: 'service' });
    identities.set(closed, { kind: 'station', stationId: 'st-3' as StationId });
    for (let i = 0; i < 6; i++) publish(a);
    expect(publish(b)).toBe('now');
    for (let i = 0; i < 100; i++) expect([publish(service), publish(client()), publish(closed)]).toEqual(['now', 'now', 'now']);
  });

  it('scales the rate with an accelerated clock (`up --speed`)', () => {
    const { identities, publish } = setUp(100);
    const station = client();
    identities.set(station, { kind: 'station', stationId: 'st-1' as StationId });
    // 1,000/s real: the 250 ms of tolerance now holds 250 more publishes.
    const outcomes = Array.from({ length: 200 }, () => publish(station));
    expect(outcomes.includes('refused')).toBe(false);
  });
});

describe('CSP sources for MAP_TILE_URL', () => {
  it.each([
    [undefined, null],
    [null, null],
    ['https://tile.openstreetmap.org/{z}/{x}/{y}.png', 'https://tile.openstreetmap.org'],
    ['https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png', 'https://*.tile.openstreetmap.org'],
    ['http://10.0.0.5:8081/tiles/{z}/{x}/{y}.png', 'http://10.0.0.5:8081'],
    ['https://tiles-{r}.example.vn/{z}/{x}/{y}.png?key=abc', 'https://*.example.vn'],
  ])('%s → %s', (url, source) => {
    expect(tileSource(url)).toBe(source);
    expect(dashboardCsp(url)['img-src']).toEqual(["'self'", 'data:', ...(source ? [source] : [])]);
  });
});
