import { mkdtemp, rm } from 'node:fs/promises';
import { type Socket, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LOCKOUT } from '../../gateway/auth-lockout.js';
import { type Gateway, createGateway } from '../../gateway/gateway.js';
import { CachingStationAuthenticator } from '../../server/auth/station-authenticator.js';
import { type Db, openDatabase } from '../../server/registry/db.js';
import { StationRepository } from '../../server/registry/stations.js';
import { type TcpBalancer, startTcpBalancer } from '../../testkit/tcp-balancer.js';
import { registerStation } from '../helpers/register-station.js';
import { HOST, capturingLogger, connackFrom, fixedClock, metricValue } from '../helpers/mqtt.js';

/**
 * MQTT_PROXY_PROTOCOL: a gateway behind a TCP balancer that sends the PROXY protocol sees each station's own address.
 * Real balancers of the test kit write HAProxy's v1 line or v2 header, clients dial them from two loopback addresses
 * (two networks), and the login lockout — keyed by (station, address) — locks the guessing one out, not the other. A
 * gateway without the setting behind the same balancer is the control: there both look like the balancer.
 */
const { logger, lines } = capturingLogger();
let dir: string;
let db: Db;
let stations: StationRepository;
const metrics = new Registry();
let gateway: Gateway;
let plain: Gateway;
let gatewayPort: number;
const balancers: TcpBalancer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'frostwatch-proxy-'));
  db = openDatabase(join(dir, 'frostwatch.sqlite'), logger);
  stations = new StationRepository(db, fixedClock);
  gateway = await createGateway({
    authenticator: new CachingStationAuthenticator(stations),
    logger,
    metrics,
    clock: fixedClock,
    proxyProtocol: true,
  });
  ({ mqttPort: gatewayPort } = await gateway.listen({ host: HOST, mqttPort: 0, wsPort: 0 }));
  plain = await createGateway({
    authenticator: new CachingStationAuthenticator(stations),
    logger,
    metrics: new Registry(),
    clock: fixedClock,
  });
});

afterAll(async () => {
  for (const b of balancers) await b.close();
  await gateway.close();
  await plain.close();
  db.close();
  await rm(dir, { recursive: true, force: true });
});

async function balancer(port: number, proxyProtocol?: 'v1' | 'v2'): Promise<number> {
  // On all loopback addresses, so a client can come from 127.0.0.2 or 127.0.0.3.
  const b = await startTcpBalancer([port], '127.0.0.1', proxyProtocol ? { proxyProtocol } : {});
  balancers.push(b);
  return b.port;
}

async function guess(port: number, id: string, from: string, times: number): Promise<number[]> {
  const codes: number[] = [];
  for (let i = 0; i < times; i++) codes.push(await connackFrom(port, id, `wrong-${i}`, from));
  return codes;
}

/** An MQTT 3.1.1 CONNECT with username and password, by hand (the header tests write it in pieces). */
function connectPacket(clientId: string, username: string, password: string): Buffer {
  const str = (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(bytes.length);
    return Buffer.concat([len, bytes]);
  };
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 30]), str(clientId), str(username), str(password)]);
  const remaining: number[] = [];
  for (let n = body.length; ;) {
    const byte = n % 128;
    n = Math.floor(n / 128);
    remaining.push(n > 0 ? byte | 0x80 : byte);
    if (n === 0) break;
  }
  return Buffer.concat([Buffer.from([0x10, ...remaining]), body]);
}

/** Writes `pieces` straight to the gateway, 20 ms apart; the CONNACK's return code, or -1 when it closed without one. */
function raw(pieces: Buffer[]): Promise<number> {
  return new Promise((resolve) => {
    const socket: Socket = netConnect({ host: HOST, port: gatewayPort });
    let answered = false;
    socket.on('data', (data: Buffer) => {
      if (data[0] === 0x20 && data.length >= 4) {
        answered = true;
        resolve(data[3] ?? -1);
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (!answered) resolve(-1);
    });
    void (async () => {
      for (const piece of pieces) {
        if (socket.destroyed) return;
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  });
}

describe('a gateway behind a balancer that speaks the PROXY protocol', () => {
  it.each(['v1', 'v2'] as const)('%s: the lockout falls on the guessing address, not on the station everywhere', async (version) => {
    const port = await balancer(gatewayPort, version);
    const id = `px-${version}`;
    const token = await registerStation(stations, id);
    expect(await guess(port, id, '127.0.0.2', DEFAULT_LOCKOUT.maxFailures)).toEqual(Array(DEFAULT_LOCKOUT.maxFailures).fill(4));
    // Locked from 127.0.0.2 even with the right token (never verified since start); the station's own network is not.
    expect(await connackFrom(port, id, token, '127.0.0.2')).toBe(5);
    expect(await connackFrom(port, id, token, '127.0.0.3')).toBe(0);
  });

  it('control: without the setting, behind the same kind of balancer, the guesser locks the station out of every address', async () => {
    const { mqttPort } = await plain.listen({ host: HOST, mqttPort: 0, wsPort: 0 });
    const port = await balancer(mqttPort);
    const token = await registerStation(stations, 'px-control');
    await guess(port, 'px-control', '127.0.0.2', DEFAULT_LOCKOUT.maxFailures);
    expect(await connackFrom(port, 'px-control', token, '127.0.0.3')).toBe(5);
  });

  it('reads a header that comes in pieces, and MQTT after it in the same chunk', async () => {
    const token = await registerStation(stations, 'px-pieces');
    const header = Buffer.from('PROXY TCP4 203.0.113.9 10.0.0.1 40000 1883\r\n', 'latin1');
    const connect = connectPacket('px-pieces', 'px-pieces', token);
    expect(await raw([header.subarray(0, 3), header.subarray(3, 20), Buffer.concat([header.subarray(20), connect])])).toBe(0);
  });

  it('closes a connection that does not start with a PROXY header, or with a malformed one, and counts it', async () => {
    const token = await registerStation(stations, 'px-none');
    const before = await metricValue(metrics, 'frostwatch_gateway_connections_refused_total', { reason: 'proxy_header' });
    expect(await raw([connectPacket('px-none', 'px-none', token)])).toBe(-1);
    expect(
      await raw([Buffer.from('PROXY TCP4 not-an-address 10.0.0.1 1 2\r\n', 'latin1'), connectPacket('px-none', 'px-none', token)]),
    ).toBe(-1);
    expect(await raw([Buffer.from(`PROXY ${'x'.repeat(200)}`, 'latin1')])).toBe(-1);
    const after = await metricValue(metrics, 'frostwatch_gateway_connections_refused_total', { reason: 'proxy_header' });
    expect(after - before).toBe(3);
    expect(JSON.stringify(lines)).not.toContain(token);
  });
});
