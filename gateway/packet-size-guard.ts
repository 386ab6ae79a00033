import { Duplex } from 'node:stream';

/**
 * Neither aedes nor mqtt-packet bounds a packet's size: the parser buffers whatever the fixed header
 * announces (up to 256 MB, MQTT 3.1.1 §2.2.3), even before CONNECT is authenticated. This guard reads only
 * the fixed headers as bytes pass and destroys the connection as soon as a packet announces more than
 * `maxPacketBytes`, before its body is buffered anywhere.
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

/**
 * Wraps a connection so that aedes reads through the scanner; writes go straight to the connection.
 * `onOversize` is called once, before the connection is destroyed.
 */
export function guardPacketSize(inner: Duplex, maxPacketBytes: number, onOversize: (guarded: Duplex, announcedBytes: number) => void): Duplex {
  const scanner = new PacketSizeScanner(maxPacketBytes);
  const guarded: Duplex = new Duplex({
    read: () => {
      inner.resume();
    },
    write: (chunk: Buffer, _encoding, callback) => {
      inner.write(chunk, callback);
    },
    final: (callback) => {
      inner.end(callback);
    },
    destroy: (err, callback) => {
      inner.destroy();
      callback(err);
    },
  });
  inner.on('data', (chunk: Buffer) => {
    const announced = scanner.scan(chunk);
    if (announced !== null) {
      onOversize(guarded, announced);
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) inner.pause();
  });
  let ended = false;
  inner.on('end', () => {
    ended = true;
    guarded.push(null);
  });
  inner.on('error', (err) => guarded.destroy(err));
  // After a clean end, let aedes read what is still buffered (a DISCONNECT must not be lost, or the will fires).
  inner.on('close', () => {
    if (!ended) guarded.destroy();
  });
  return guarded;
}
