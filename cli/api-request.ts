import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ApiAnswer {
  status: number;
  text: string;
}

/**
 * One HTTP(S) request to the frostwatch API. Not `fetch`: Node 20's fetch cannot be told to trust an
 * extra CA (TLS_CA_FILE) without a dependency, and turning verification off is not an option.
 */
export function apiRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
  ca?: string[],
): Promise<ApiAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: init.method, headers: init.headers, timeout: 30_000, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.origin} within 30 s`)));
    req.on('error', reject);
    req.end(init.body);
  });
}
