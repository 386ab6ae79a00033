/**
 * A stand-in for The Things Stack's Storage Integration API (`GET /api/v3/as/applications/{app}/packages/storage/
 * uplink_message`), for the TTS client's tests: node:http, the uplinks the test gives it, answered as TTS answers —
 * one `{"result": …}` per line (NDJSON), or per blank-line-separated block with `Accept: text/event-stream` (no
 * `data:` prefix, tests/fixtures/devices/README.md). Bearer check, `after`/`before` (exclusive, on the Application
 * Server's `received_at`, to the nanosecond), `order` (`received_at` or `-received_at`), `limit`. Switches: answer
 * 404 as an application without the Storage Integration does, or cut the answer short after a number of results.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StorageRequest {
  path: string;
  query: Record<string, string>;
  authorization: string | undefined;
  accept: string | undefined;
  status: number;
}

export interface TtsStorageServer {
  /** e.g. http://127.0.0.1:43121: what TTS_API_URL is set to. */
  readonly url: string;
  /** Every request, in order, with the status answered. */
  readonly requests: StorageRequest[];
  /** Stores uplinks (ApplicationUp objects with `received_at`) as TTS's storage would have kept them. */
  add(...uplinks: object[]): void;
  /** How many uplinks are stored. */
  readonly size: number;
  /** true: every request is answered 404, as for an application whose Storage Integration is not enabled. */
  notEnabled: boolean;
  /** A number: the answer stops mid-object after that many results (a dropped connection). null: whole answers. */
  cutAfter: number | null;
  close(): Promise<void>;
}

export async function startTtsStorageServer(options: { appId: string; apiKey: string; host?: string }): Promise<TtsStorageServer> {
  const stored: Array<{ at: bigint; uplink: object }> = [];
  const requests: StorageRequest[] = [];
  const state = { notEnabled: false, cutAfter: null as number | null };
  const path = `/api/v3/as/applications/${options.appId}/packages/storage/uplink_message`;

  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const query = Object.fromEntries(url.searchParams);
    const record = (status: number): void => {
      requests.push({ path: url.pathname, query, authorization: req.headers.authorization, accept: req.headers.accept, status });
    };
    const fail = (status: number, code: number, message: string): void => {
      record(status);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code, message, details: [] }));
    };
    const refusal =
      req.method !== 'GET'
        ? ([405, 12, 'method not allowed'] as const)
        : req.headers.authorization !== `Bearer ${options.apiKey}`
          ? ([401, 16, 'error:pkg/auth:unauthenticated (unauthenticated)'] as const)
          : url.pathname !== path
            ? ([404, 5, 'error:pkg/web:not_found (not found)'] as const)
            : state.notEnabled
              ? ([404, 5, 'error:pkg/applicationserver/io/packages/storage:storage_not_enabled (storage integration not enabled)'] as const)
              : null;
    if (refusal !== null) {
      fail(refusal[0], refusal[1], refusal[2]);
      return;
    }
    const after = query['after'] !== undefined ? nanos(query['after']) : null;
    const before = query['before'] !== undefined ? nanos(query['before']) : null;
    if (after === undefined || before === undefined) {
      fail(400, 3, 'error:pkg/storage:invalid_time (invalid time)');
      return;
    }
    const limit = query['limit'] !== undefined ? Number(query['limit']) : Infinity;
    const descending = query['order'] === '-received_at';
    const picked = stored
      .filter((s) => (after === null || s.at > after) && (before === null || s.at < before))
      .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0) * (descending ? -1 : 1))
      .slice(0, limit);
    const eventStream = req.headers.accept?.includes('text/event-stream') === true;
    const delimiter = eventStream ? '\n\n' : '\n';
    record(200);
    res.writeHead(200, { 'content-type': eventStream ? 'text/event-stream' : 'application/json' });
    picked.forEach(({ uplink }, i) => {
      const line = JSON.stringify({ result: uplink });
      if (state.cutAfter !== null && i >= state.cutAfter) {
        res.write(line.slice(0, Math.floor(line.length / 2)));
        res.destroy();
        return;
      }
      res.write(line + delimiter);
    });
    if (!res.destroyed) res.end();
  };

  const server = createServer(answer);
  server.listen(0, options.host ?? '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    requests,
    add: (...uplinks) => {
      for (const uplink of uplinks) {
        const receivedAt = (uplink as { received_at?: unknown }).received_at;
        const at = typeof receivedAt === 'string' ? nanos(receivedAt) : undefined;
        if (at === undefined) throw new Error('a stored uplink needs received_at');
        stored.push({ at, uplink });
      }
    },
    get size() {
      return stored.length;
    },
    get notEnabled() {
      return state.notEnabled;
    },
    set notEnabled(value: boolean) {
      state.notEnabled = value;
    },
    get cutAfter() {
      return state.cutAfter;
    },
    set cutAfter(value: number | null) {
      state.cutAfter = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** RFC 3339 with up to nanoseconds → epoch nanoseconds; undefined when it is not a time. */
function nanos(iso: string): bigint | undefined {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`);
  if (!Number.isFinite(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
