/**
 * The Things Stack's Storage Integration API, as the TTS client's gap fill reads it
 * (`GET /api/v3/as/applications/{app}/packages/storage/uplink_message`). The answer is not one JSON document: one
 * `{"result": ApplicationUp}` per line (NDJSON), or with `Accept: text/event-stream` per block separated by a blank
 * line (no `data:` prefix). A stream may also end with `{"error": …}`, or be cut mid-object when the connection drops.
 */

export interface StoragePage {
  /** The `result` objects, in the order they came. */
  results: unknown[];
  /** null when the answer parsed to its end; else why it ended early (cut mid-object, a stream error). */
  cutShort: string | null;
}

export interface StorageQuery {
  apiUrl: string;
  appId: string;
  apiKey: string;
  /** Exclusive lower bound on the Application Server's `received_at`. */
  afterMs: number;
  limit: number;
  signal?: AbortSignal | undefined;
}

/** Why a storage request failed as a whole: the HTTP status when there was one. */
export class StorageError extends Error {
  override readonly name = 'StorageError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

/** One page of stored uplinks after `afterMs`, oldest first. Rejects with StorageError when there is no answer to read. */
export async function fetchStoredUplinks(query: StorageQuery): Promise<StoragePage> {
  const url = new URL(`/api/v3/as/applications/${encodeURIComponent(query.appId)}/packages/storage/uplink_message`, query.apiUrl);
  url.searchParams.set('after', new Date(query.afterMs).toISOString());
  url.searchParams.set('order', 'received_at');
  url.searchParams.set('limit', String(query.limit));
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${query.apiKey}`, accept: 'text/event-stream' },
      ...(query.signal ? { signal: query.signal } : {}),
    });
  } catch (err) {
    throw new StorageError(`storage unreachable: ${causeOf(err)}`, null);
  }
  if (!response.ok) {
    const body = await response.text().catch(() => '');
    const hint = response.status === 404 ? ' (is the Storage Integration enabled for this application?)' : '';
    throw new StorageError(`storage answered ${response.status}${hint}: ${body.slice(0, 200)}`, response.status);
  }
  // Read what arrives; a connection dropped mid-answer still leaves the objects before it usable.
  let text = '';
  let readError: string | null = null;
  if (response.body) {
    const decoder = new TextDecoder();
    // Node's fetch body, typed without the DOM library: chunks are Uint8Array.
    const reader = response.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
      text += decoder.decode();
    } catch (err) {
      readError = `answer cut short: ${causeOf(err)}`;
    }
  }
  const page = parseStorageBody(text);
  return readError !== null && page.cutShort === null ? { ...page, cutShort: readError } : page;
}

/** An NDJSON or event-stream body → its results; an unparsable piece or an error object ends it (`cutShort`). */
export function parseStorageBody(body: string): StoragePage {
  const results: unknown[] = [];
  for (const block of body.split(/\r?\n[ \t]*\r?\n/)) {
    if (block.trim() === '') continue;
    // A block is one object (event-stream, possibly pretty-printed) or several lines of one object each (NDJSON).
    const { objects, complete } = parseBlock(block);
    for (const object of objects) {
      if (typeof object !== 'object' || object === null) return { results, cutShort: 'answer held something other than a result' };
      const record = object as Record<string, unknown>;
      if ('error' in record) return { results, cutShort: `storage stream error: ${errorMessage(record['error'])}` };
      if ('result' in record) results.push(record['result']);
    }
    if (!complete) return { results, cutShort: 'answer cut short (an incomplete object)' };
  }
  return { results, cutShort: null };
}

/** The objects of a block up to the first that does not parse; `complete` false when one did not. */
function parseBlock(block: string): { objects: unknown[]; complete: boolean } {
  try {
    return { objects: [JSON.parse(block)], complete: true };
  } catch {
    const objects: unknown[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.trim() === '') continue;
      try {
        objects.push(JSON.parse(line));
      } catch {
        return { objects, complete: false };
      }
    }
    return { objects, complete: true };
  }
}

function errorMessage(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'message' in error) return String(error.message);
  return JSON.stringify(error);
}

function causeOf(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
