import type { Client } from 'aedes';

/**
 * Neither aedes nor mqtt-packet bounds a packet's size: the parser buffers whatever the fixed header
 * announces (up to 256 MB, MQTT 3.1.1 §2.2.3), even before CONNECT is authenticated. This guard reads only
 * the fixed headers as bytes pass and destroys the connection as soon as a packet announces more than
 * `maxPacketBytes`, before the parser buffers its body.
 */
export class PacketSizeScanner {
  #state: 'header' | 'length' | 'body' = 'header';
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Feeds one chunk; returns the oversized length announced, or null while every packet is within bounds. */
  scan(chunk: Buffer): number | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const skip = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= skip;
        i += skip;
        if (this.#remaining === 0) this.#state = 'header';
      } else if (this.#state === 'header') {
        this.#state = 'length';
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        i += 1;
      } else {
        const byte = chunk[i] ?? 0;
        i += 1;
        const announced = this.#readLengthByte(byte);
        if (announced !== null) return announced;
      }
    }
    return null;
  }

  /** Remaining Length: 1–4 bytes, 7 bits each, low first (§2.2.3). */
  #readLengthByte(byte: number): number | null {
    this.#length += (byte & 0x7f) * this.#multiplier;
    this.#multiplier *= 128;
    this.#lengthBytes += 1;
    if (this.#length > this.maxPacketBytes) return this.#length;
    if (byte & 0x80) return this.#lengthBytes >= 4 ? this.#length : null; // a 5th length byte is malformed
    this.#remaining = this.#length;
    this.#state = this.#length === 0 ? 'header' : 'body';
    return null;
  }
}

/** The one aedes internal the guard relies on: each client parses through its own mqtt-packet parser. */
interface ParsingClient {
  _parser?: { parse(buf: Buffer): number };
}

/**
 * Puts the scanner in front of the client's own parser: every byte aedes reads from the connection (TCP, TLS or
 * the WebSocket stream) passes `parse`, from the first CONNECT byte on. A packet announcing more than
 * `maxPacketBytes` never reaches the parser; `onOversize` is called once, then the connection is destroyed.
 * Hooking the parser rather than wrapping the connection in a second stream keeps aedes reading the socket
 * itself (as a bare broker does) and saves that stream's state on each of thousands of connections.
 */
export function guardPacketSize(client: Client, maxPacketBytes: number, onOversize: (announcedBytes: number) => void): void {
  const parser = (client as unknown as ParsingClient)._parser;
  // An aedes upgrade that renamed its parser must fail loudly here, not leave the broker unguarded.
  if (typeof parser?.parse !== 'function') throw new Error('aedes client has no mqtt-packet parser: the packet size guard cannot attach');
  const scanner = new PacketSizeScanner(maxPacketBytes);
  const parse = parser.parse.bind(parser);
  parser.parse = (buf: Buffer): number => {
    const announced = scanner.scan(buf);
    if (announced === null) return parse(buf);
    // What aedes may still read before the close is this packet's body: it must not reach the parser's buffer.
    parser.parse = () => 0;
    onOversize(announced);
    client.conn.destroy();
    return 0;
  };
}
