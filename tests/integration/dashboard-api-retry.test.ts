import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, api } from '../../dashboard/src/api.js';

/**
 * The dashboard's requests (dashboard/src/api.ts, run here on Node's fetch) against a real HTTP server that fails the
 * way a cluster's server does when it dies under a request: the connection breaks, or a balancer answers 502.
 */
type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: Handler): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  server = createServer((req, res) => {
    requests.push(req.method ?? '');
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/stations`, requests };
}

const stations = (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify([{ id: 'sim-01' }]));
};
/** As a SIGKILLed server: the request arrived, the connection ends without an answer. */
const die = (req: IncomingMessage): void => {
  req.socket.destroy();
};

describe('the dashboard asks a read again when its server dies under it', () => {
  it('a GET whose connection broke is asked once more, and the answer is used', async () => {
    const { url, requests } = await serve((req, res, n) => (n === 1 ? die(req) : stations(res)));
    expect(await api('GET', url)).toEqual([{ id: 'sim-01' }]);
    expect(requests).toEqual(['GET', 'GET']);
  });

  it('a GET a balancer answered 502 is asked once more', async () => {
    const { url, requests } = await serve((_req, res, n) => {
      if (n === 1) res.writeHead(502).end('<html>Bad Gateway</html>');
      else stations(res);
    });
    expect(await api('GET', url)).toEqual([{ id: 'sim-01' }]);
    expect(requests).toHaveLength(2);
  });

  it('only once: a read that fails twice reports the failure', async () => {
    const { url, requests } = await serve((req) => die(req));
    await expect(api('GET', url)).rejects.toThrow();
    expect(requests).toHaveLength(2);
  });

  it('a write is never repeated: it may have been done', async () => {
    const { url, requests } = await serve((req) => die(req));
    await expect(api('POST', url, { name: 'x' })).rejects.toThrow();
    expect(requests).toEqual(['POST']);
    const balancer = await serve((_req, res) => res.writeHead(502).end());
    await expect(api('PUT', balancer.url, { name: 'x' })).rejects.toBeInstanceOf(ApiError);
    expect(balancer.requests).toEqual(['PUT']);
  });

  it("the server's own refusals are not asked again", async () => {
    const { url, requests } = await serve((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'not_found', message: 'no such station' }));
    });
    await expect(api('GET', url)).rejects.toMatchObject({ status: 404, code: 'not_found', message: 'no such station' });
    expect(requests).toHaveLength(1);
  });
});
