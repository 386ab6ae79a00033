import { type Socket, isIP } from 'node:net';
import { Command, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';

/**
 * The PROXY protocol (HAProxy's `send-proxy` / `send-proxy-v2`, AWS NLB, …): a TCP balancer in front of the gateways
 * opens each connection with one header naming the station's own address, so lockouts, limits and logs see the
 * station, not the balancer. Parsing is proxy-protocol-js's (both versions); this reads the header off the socket,
 * whatever chunks it comes in, and gives back what follows it for MQTT.
 */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ');
/** The spec's bound for a v1 line, CRLF included. */
const V1_MAX_BYTES = 107;
/** A v2 header's fixed part: signature, version and command, family, length. */
const V2_FIXED_BYTES = 16;
/** Addresses and TLVs: a balancer sends far less; a bound keeps a peer from making us buffer. */
const V2_MAX_BYTES = 16 + 1_024;

export class ProxyHeaderError extends Error {
  override readonly name = 'ProxyHeaderError';
}

/**
 * Reads the PROXY header at the start of `socket` (paused mode) and puts back what came after it. Resolves with the
 * address it names — or the socket's own for a balancer's health check (v2 LOCAL, v1 UNKNOWN). Rejects when the
 * connection does not start with a header, the header is malformed, or none came within `timeoutMs`.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (err: Error | null, address?: string, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      if (err) {
        reject(err);
        return;
      }
      if (rest && rest.length > 0) socket.unshift(rest);
      resolve(address ?? 'unknown');
    };
    const onClose = (): void => finish(new ProxyHeaderError('closed before a PROXY header'));
    const onReadable = (): void => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
        buffered = Buffer.concat([buffered, chunk]);
        let outcome: { address: string; length: number } | 'more';
        try {
          outcome = parseHeader(buffered, socket.remoteAddress ?? 'unknown');
        } catch (err) {
          finish(err instanceof Error ? err : new ProxyHeaderError(String(err)));
          return;
        }
        if (outcome !== 'more') {
          finish(null, outcome.address, buffered.subarray(outcome.length));
          return;
        }
      }
    };
    const timer = setTimeout(() => finish(new ProxyHeaderError(`no PROXY header within ${timeoutMs} ms`)), timeoutMs);
    socket.on('readable', onReadable);
    socket.once('close', onClose);
    onReadable();
  });
}

/** The header at the start of `buf`: the address it names and its length in bytes; 'more' when it is not all there yet. */
export function parseHeader(buf: Buffer, ownAddress: string): { address: string; length: number } | 'more' {
  const head = buf.subarray(0, V2_SIGNATURE.length);
  if (V2_SIGNATURE.subarray(0, head.length).equals(head)) {
    if (buf.length < V2_FIXED_BYTES) return 'more';
    const length = V2_FIXED_BYTES + buf.readUInt16BE(14);
    if (length > V2_MAX_BYTES) throw new ProxyHeaderError(`PROXY v2 header of ${length} bytes`);
    if (buf.length < length) return 'more';
    const header = parseV2(buf.subarray(0, length));
    if (header.command === Command.LOCAL) return { address: ownAddress, length };
    const address = header.proxyAddress;
    if (address instanceof IPv4ProxyAddress) return { address: address.sourceAddress.address.join('.'), length };
    if (address instanceof IPv6ProxyAddress) return { address: ipv6(address.sourceAddress.address), length };
    throw new ProxyHeaderError('PROXY v2 header without an IP source address');
  }
  const prefix = buf.subarray(0, V1_PREFIX.length);
  if (!V1_PREFIX.subarray(0, prefix.length).equals(prefix)) throw new ProxyHeaderError('the connection does not start with a PROXY header');
  const end = buf.indexOf('\r\n');
  if (end < 0) {
    if (buf.length >= V1_MAX_BYTES) throw new ProxyHeaderError('PROXY v1 line too long');
    return 'more';
  }
  const line = buf.subarray(0, end + 2).toString('latin1');
  if (line.startsWith('PROXY UNKNOWN')) return { address: ownAddress, length: end + 2 };
  let address: string;
  try {
    address = V1ProxyProtocol.parse(line).source.ipAddress;
  } catch {
    throw new ProxyHeaderError('malformed PROXY v1 line');
  }
  // The parser takes any word for an address; only an IP may key lockouts and limits.
  if (isIP(address) === 0) throw new ProxyHeaderError('PROXY v1 line without an IP source address');
  return { address, length: end + 2 };
}

function parseV2(header: Buffer): V2ProxyProtocol {
  try {
    return V2ProxyProtocol.parse(header);
  } catch {
    throw new ProxyHeaderError('malformed PROXY v2 header');
  }
}

/** 16 bytes as an IPv6 address (`2001:db8:0:0:0:0:0:1`; a v4-mapped one as Node writes it, `::ffff:a.b.c.d`). */
function ipv6(bytes: readonly number[]): string {
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(':');
}
