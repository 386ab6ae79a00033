import { z } from 'zod';
import { parseClockAnchor } from './clock.js';

/**
 * Environment of each process (README "Configuration"). `loadEnv` is called once in `main`;
 * nothing else reads `process.env`. An empty variable counts as unset.
 */
const port = (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback);
const optionalString = z.string().min(1).optional();
const url = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

export const LogLevelSchema = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
/** HEAP_POLICY (server/heap-policy.ts). */
export const HeapPolicySchema = z.enum(['compact', 'fast']);
export type HeapPolicy = z.infer<typeof HeapPolicySchema>;

const common = {
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  LOG_LEVEL: LogLevelSchema.default('info'),
  TZ_NAME: z.string().min(1).default('Asia/Ho_Chi_Minh'),
  /**
   * How V8 grows this process's heaps: `compact` (V8's --optimize-for-size, set at start: heaps kept close to what is
   * live; ~20 % less peak ingest) or `fast` (V8's defaults: room in proportion to the allocation rate). server/heap-policy.ts.
   */
  HEAP_POLICY: HeapPolicySchema.default('compact'),
  /**
   * Unset: the registry is the SQLite file DATA_DIR/frostwatch.db (one district, one machine). `postgres://…`: the
   * registry, rule state, alerts, outbox and sessions live in PostgreSQL, shared by every process of a cluster
   * (docs/scale-out.md); DATA_DIR still holds this machine's token key copy and spool.
   */
  /**
   * Unset: the wall clock. `<simulated ISO time>@<wall-clock epoch ms>x<speed>`: this process runs on that simulated
   * time line — every process of a cluster given the same value shares it (a demo or test night at high speed).
   */
  SIM_CLOCK: z
    .string()
    .transform((text, ctx) => {
      const anchor = parseClockAnchor(text);
      if (anchor === null) {
        ctx.addIssue({
          code: 'custom',
          message: 'SIM_CLOCK: expected <ISO time>@<epoch ms>x<speed>, e.g. 2025-01-15T16:00:00+07:00@1764810000000x600',
        });
        return z.NEVER;
      }
      return anchor;
    })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
    .optional(),
};

const gateway = {
  MQTT_PORT: port(1883),
  /** MQTT over WebSocket, for browsers and test clients; 0 picks a free port. */
  MQTT_WS_PORT: port(8083),
  /** MQTT over TLS, served only when TLS_CERT_FILE and TLS_KEY_FILE are set; 0 picks a free port. */
  MQTT_TLS_PORT: port(8883),
  /** Interface of plain MQTT (MQTT_PORT) alone; default HOST. 127.0.0.1 keeps unencrypted MQTT off the network. */
  MQTT_HOST: optionalString,
  /** Open MQTT connections at most (all transports); unset → gateway/limits.ts (2,000). */
  MQTT_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).optional(),
  /** Sustained publishes per second per station before it is slowed down; unset → gateway/limits.ts (20). */
  MQTT_MAX_PUBLISH_PER_S: z.coerce.number().positive().max(100_000).optional(),
  /**
   * `on`: the plain MQTT port sits behind a TCP balancer that sends the PROXY protocol (v1 or v2, HAProxy's send-proxy),
   * so lockouts, limits and logs see the station's own address; a connection without the header is closed.
   */
  MQTT_PROXY_PROTOCOL: z.enum(['on', 'off']).default('off'),
};

/** Certificate files (PEM) of this process's listeners: set both to serve MQTT over TLS, wss and HTTPS; neither for plain. */
const tlsServer = {
  TLS_CERT_FILE: optionalString,
  TLS_KEY_FILE: optionalString,
};

/** A CA certificate (PEM) this process's clients trust besides the system's (mqtts://, wss://, https:// to our own servers). */
const tlsClient = {
  TLS_CA_FILE: optionalString,
};

const influx = {
  /** Unset → `frostwatch up` runs and supervises a local influxd in DATA_DIR/influxdb. */
  INFLUX_URL: url.optional(),
  /** v2/v3: API token. 1.x with auth: `user:password`. */
  INFLUX_TOKEN: optionalString,
  INFLUX_ORG: optionalString,
  /** On 1.x the database, `db/rp` form allowed; on 2.x/3.x the bucket. */
  INFLUX_BUCKET: z
    .string()
    .regex(/^[^/\s]+(\/[^/\s]+)?$/, 'expected a bucket or database name, optionally db/rp')
    .default('frostwatch'),
  /** Port of the managed influxd; 0 picks a free one. */
  INFLUX_PORT: port(0),
  /**
   * Days raw readings are kept (a season plus the next: 400); their 10-minute means are kept forever
   * (docs/operations.md, "Retention and downsampling").
   */
  RAW_RETENTION_DAYS: z.coerce.number().int().min(2).max(36_500).default(400),
};

/**
 * The Things Stack v3 (docs/devices.md): the server subscribes to its MQTT server as `{app}@{tenant}` with an API key.
 * TTS_MQTT_URL unset → no TTS client.
 */
const ttsId = (what: string) =>
  z.string().regex(/^[a-z0-9](?:-?[a-z0-9]){1,35}$/, `expected ${what}: 2–36 lower-case letters, digits and single dashes`);
const tts = {
  /** e.g. mqtts://eu1.cloud.thethings.network:8883 */
  TTS_MQTT_URL: z.url({ protocol: /^(mqtts?|wss?)$/, error: 'expected an mqtts:// (or mqtt://, wss://) URL' }).optional(),
  TTS_APP_ID: ttsId('the application id').optional(),
  /** `ttn` on The Things Network; the tenant id on The Things Stack Cloud. */
  TTS_TENANT: ttsId('the tenant id').default('ttn'),
  /** An API key of the application (traffic read, downlink write, storage read); a secret, never logged. */
  TTS_API_KEY: optionalString,
  /** The Storage Integration API's base; unset → https://<host of TTS_MQTT_URL>. */
  TTS_API_URL: url.optional(),
};

/**
 * The second channel (docs/operations.md): the chain's own failures reach the officers by e-mail, not through the SMS
 * provider or SQLite that may be what failed, and an outside monitor hears a heartbeat while all is well.
 */
const ops = {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://…:465; unset → no e-mail. A secret: never logged. */
  SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'expected an smtp:// or smtps:// URL' }).optional(),
  /** The sender of those e-mails; default frostwatch@<the SMTP host>. */
  SMTP_FROM: optionalString,
  /** Who gets them: e-mail addresses, comma-separated (the district's officers and the engineer). */
  SMTP_TO: z
    .string()
    .regex(/^[^\s@,]+@[^\s@,]+(\s*,\s*[^\s@,]+@[^\s@,]+)*$/, 'expected e-mail addresses, comma-separated')
    .optional(),
  /** A healthchecks.io-compatible check URL: GET every minute while healthy, GET <url>/fail when not. A secret. */
  HEARTBEAT_URL: url.optional(),
};

const server = {
  HTTP_PORT: port(8080),
  /** Addresses (or CIDRs, comma-separated) of reverse proxies whose X-Forwarded-For is believed: rate limits count the real client. */
  HTTP_TRUSTED_PROXIES: z
    .string()
    .regex(/^[0-9a-fA-F.:/]+(\s*,\s*[0-9a-fA-F.:/]+)*$/, 'expected IP addresses or CIDRs, comma-separated')
    .optional(),
  /** Map tiles for the dashboard, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; unset → stations on a plain map. */
  MAP_TILE_URL: z
    .string()
    .regex(/^https?:\/\/.*\{z\}.*\{x\}.*\{y\}/, 'expected an http(s) tile URL template with {z}, {x} and {y}')
    .optional(),
  ADMIN_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  PUBLIC_URL: url.optional(),
  /** The broker to consume readings from when the server runs on its own (`frostwatch server`). */
  INGEST_MQTT_URL: z.url({ protocol: /^(mqtts?|wss?|tcp)$/, error: 'expected an mqtt:// or ws:// URL' }).optional(),
  /**
   * Where the rule engine runs: `thread` (a worker thread of its own, so the ingest thread only ingests) or `inline`
   * (on the ingest thread, as before issue 15: one thread less, ~80 µs more per reading on the ingest path).
   */
  RULE_ENGINE: z.enum(['thread', 'inline']).default('thread'),
  /**
   * The sampling interval the rule engine asks of each station (retained config, docs/protocol.md): `SAMPLING_FAST_S`
   * while a frost night may be forming, `SAMPLING_RELAXED_S` otherwise. Raise both for radios that cannot send once a
   * minute (LoRaWAN duty cycles); the model handles sparse cadences (docs/frost-model.md).
   */
  SAMPLING_FAST_S: z.coerce.number().int().min(10).max(3_600).default(60),
  SAMPLING_RELAXED_S: z.coerce.number().int().min(10).max(3_600).default(300),
  /** Upper bound of the on-disk spool that holds readings InfluxDB has not taken yet. */
  SPOOL_MAX_MB: z.coerce.number().int().min(1).max(1_000_000).default(1_024),
  TWILIO_ACCOUNT_SID: optionalString,
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_FROM: optionalString,
  TWILIO_MESSAGING_SERVICE_SID: optionalString,
  TWILIO_API_URL: url.default('https://api.twilio.com'),
  /** SMS segments sent per second: 1 for a long code, more for a short code or a messaging service. */
  SMS_SEGMENTS_PER_S: z.coerce.number().positive().max(1_000).default(1),
  /**
   * Voice calls started per second: Twilio's default for an account is 1 (its "CPS"); an account with a higher limit
   * sets it here. A thousand farmers on a Severe night are 17 minutes of calls at 1.
   */
  VOICE_CALLS_PER_S: z.coerce.number().positive().max(1_000).default(1),
  /** Price of one SMS segment, for the cost shown with each message (an estimate; set your contract's). */
  SMS_SEGMENT_COST_USD: z.coerce.number().min(0).max(10).default(0.08),
  /** How long to wait for the keypress after a Severe call before calling the next person of the chain. */
  VOICE_ACK_TIMEOUT_S: z.coerce.number().int().min(30).max(86_400).default(600),
  /**
   * The hourly weather forecast behind the afternoon pre-alert (docs/frost-model.md): an Open-Meteo API or a compatible
   * one (an office's own instance); `off` disables forecasts and pre-alerts.
   */
  FORECAST_URL: z
    .union([z.literal('off'), url])
    .default('https://api.open-meteo.com')
    .describe('Open-Meteo-compatible base URL, or off'),
  /**
   * Local hours when farmers are not woken for what can wait: the all-clear and the morning survey call wait until
   * they end. Warnings of the night (Watch, Warning, Severe) are never held. `off`: nothing is held.
   */
  QUIET_HOURS: z
    .string()
    .regex(/^(off|([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])$/, 'expected HH:MM-HH:MM (local) or off')
    .default('21:00-06:00'),
  /**
   * Whether farmers can answer the SMS number (two-way SMS): `on` and messages end "reply DUNG to stop" and the inbound
   * webhook acts on replies; `off` (Vietnam's long codes and sender IDs take no replies) and they end "to stop, press 9
   * in a call or tell your officer".
   */
  SMS_REPLIES: z.enum(['on', 'off']).default('off'),
  /**
   * The morning survey call (docs/operations.md): farmers whose station reached `severe` (or `warning`) last night are
   * called after 07:00 to key in the damage; `off`: no calls, surveys come from officers only.
   */
  SURVEY_CALLS: z.enum(['off', 'severe', 'warning']).default('severe'),
  /** `/metrics` requires `Authorization: Bearer <METRICS_TOKEN>` when set (Prometheus' `authorization` block). */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  ...ops,
  ...tts,
};

/** A province cluster (docs/scale-out.md): the readings log on NATS JetStream. */
const cluster = {
  /** NATS servers of the readings log, comma-separated: `nats://10.0.0.1:4222,nats://10.0.0.2:4222`. */
  NATS_URL: z
    .string()
    .regex(/^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/, 'NATS_URL must be nats:// URLs separated by commas')
    .optional(),
  /** Partitions of the readings log: the same number in every nats-server's mapping and every worker. */
  PARTITIONS: z.coerce.number().int().min(1).max(1_024).default(12),
  /** Copies of the readings log: 3 survives the loss of one NATS server (1 only for a single-node trial). */
  NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(3),
};

export const GatewayEnvSchema = z.object({ ...common, ...gateway, ...tlsServer, ...cluster, ADMIN_TOKEN: server.ADMIN_TOKEN });
export const ServerEnvSchema = z.object({ ...common, ...influx, ...server, ...tlsServer, ...tlsClient });
export const UpEnvSchema = z.object({ ...common, ...gateway, ...influx, ...server, ...tlsServer });
export const SimEnvSchema = z.object({
  ...common,
  MQTT_PORT: gateway.MQTT_PORT,
  HTTP_PORT: server.HTTP_PORT,
  ADMIN_TOKEN: server.ADMIN_TOKEN,
  ...tlsClient,
});
export const AdminEnvSchema = z.object({ ...common });
/** `frostwatch worker`: a cluster's reader of the readings log; PostgreSQL and NATS are what it is for, so both are required. */
export const WorkerEnvSchema = z.object({
  ...common,
  ...influx,
  ...server,
  ...cluster,
  ...tlsClient,
  DATABASE_URL: common.DATABASE_URL.unwrap(),
  NATS_URL: cluster.NATS_URL.unwrap(),
  INFLUX_URL: influx.INFLUX_URL.unwrap(),
});
export type WorkerEnv = z.infer<typeof WorkerEnvSchema>;

export type GatewayEnv = z.infer<typeof GatewayEnvSchema>;
export type ServerEnv = z.infer<typeof ServerEnvSchema>;
export type UpEnv = z.infer<typeof UpEnvSchema>;
export type SimEnv = z.infer<typeof SimEnvSchema>;
export type AdminEnv = z.infer<typeof AdminEnvSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parse the environment against `schema`; a bad value throws a one-line error naming the variable. */
export function loadEnv<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? 'environment');
  const value = present[name];
  const shown = value === undefined ? '' : ` (got "${isSecretName(name) ? '***' : value}")`;
  throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'}${shown}`);
}

function isSecretName(name: string): boolean {
  return /TOKEN|SECRET|PASSWORD|AUTH|API_KEY|SMTP_URL|HEARTBEAT_URL/.test(name);
}
