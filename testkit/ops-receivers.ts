import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * The outside ends of the second channel (server/ops/second-channel.ts), on 127.0.0.1: a real SMTP server
 * (`smtp-server`, the protocol nodemailer speaks, with AUTH PLAIN/LOGIN) and a healthchecks.io-compatible ping
 * receiver. Tests and `frostwatch up` demos point SMTP_URL and HEARTBEAT_URL at them.
 */

export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** The user that authenticated, if any. */
  user: string | undefined;
}

export class TestSmtpServer {
  readonly mails: ReceivedMail[] = [];
  /** Refuse every message with a 451 (a mail server that is down for delivery) while true. */
  refusing = false;
  #server: SMTPServer;
  #port = 0;

  private constructor(
    readonly user: string,
    readonly password: string,
  ) {
    this.#server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      authMethods: ['PLAIN', 'LOGIN'],
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (auth.username === this.user && auth.password === this.password) callback(null, { user: auth.username });
        else callback(new Error('Invalid username or password'));
      },
      onData: (stream, session, callback) => {
        void simpleParser(stream)
          .then((parsed) => {
            if (this.refusing) {
              const error = new Error('Temporary failure, try again later') as Error & { responseCode: number };
              error.responseCode = 451;
              callback(error);
              return;
            }
            this.mails.push({
              from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              user: typeof session.user === 'string' ? session.user : undefined,
            });
            callback();
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      },
    });
  }

  static async start(options: { user?: string; password?: string } = {}): Promise<TestSmtpServer> {
    const server = new TestSmtpServer(options.user ?? 'frostwatch', options.password ?? 'mail-secret-123');
    await new Promise<void>((resolve, reject) => {
      server.#server.server.once('error', reject);
      server.#server.listen(0, '127.0.0.1', () => resolve());
    });
    server.#port = (server.#server.server.address() as AddressInfo).port;
    return server;
  }

  /** SMTP_URL for this server, with its credentials. */
  get url(): string {
    return `smtp://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@127.0.0.1:${this.#port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export interface Ping {
  kind: 'ok' | 'fail';
  method: string;
  body: string;
  /** performance.now() on arrival. */
  atMs: number;
}

/** healthchecks.io's ping API: GET or POST <base>/<uuid> is a success, <base>/<uuid>/fail a failure; answers "OK". */
export class TestHeartbeatReceiver {
  readonly pings: Ping[] = [];
  readonly uuid = '5c1d3f70-0b7e-4f43-9d0e-6c3b2a1f0e9d';
  #server: Server | null = null;
  #port = 0;

  static async start(): Promise<TestHeartbeatReceiver> {
    const receiver = new TestHeartbeatReceiver();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0];
        const kind = path === `/${receiver.uuid}` ? 'ok' : path === `/${receiver.uuid}/fail` ? 'fail' : null;
        if (kind === null) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
          return;
        }
        receiver.pings.push({ kind, method: req.method ?? '', body: Buffer.concat(chunks).toString('utf8'), atMs: performance.now() });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    receiver.#server = server;
    receiver.#port = (server.address() as AddressInfo).port;
    return receiver;
  }

  /** HEARTBEAT_URL: the check's ping URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/${this.uuid}`;
  }

  close(): Promise<void> {
    const server = this.#server;
    if (server === null) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
