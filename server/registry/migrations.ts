/**
 * Schema changes in order. Append a new step to the end; never edit or reorder one that shipped,
 * because `version` is what a database remembers having applied.
 */
export interface Migration {
  version: number;
  name: string;
  /** Written for SQLite; PostgreSQL runs it through `translateDdl` (pg/dialect.ts). */
  sql: string;
  /** Run after the translated `sql` on PostgreSQL only, for what has no common form. */
  postgres?: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'stations',
    sql: `
      CREATE TABLE stations (
        id               TEXT PRIMARY KEY,
        name             TEXT NOT NULL,
        commune          TEXT NOT NULL,
        lat              REAL NOT NULL,
        lon              REAL NOT NULL,
        elevation_m      REAL NOT NULL,
        crop             TEXT NOT NULL CHECK (crop IN ('arabica', 'robusta', 'young')),
        token_hash       TEXT NOT NULL,
        created_at       INTEGER NOT NULL, -- epoch ms
        token_rotated_at INTEGER          -- epoch ms; null until the first rotation
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: 'people',
    sql: `
      -- Farmers and whom to call when they do not answer. Phones are E.164.
      CREATE TABLE farmers (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        phone       TEXT NOT NULL UNIQUE,
        language    TEXT NOT NULL CHECK (language IN ('vi', 'en')),
        diacritics  INTEGER NOT NULL DEFAULT 1 CHECK (diacritics IN (0, 1)), -- 0: GSM-7 text without diacritics
        commune     TEXT,                                                     -- for subscription by commune
        created_at  INTEGER NOT NULL
      ) STRICT;
      -- The stations a farmer depends on directly; offset_c: the farm is this much warmer (+) or colder (−).
      CREATE TABLE subscriptions (
        farmer_id   INTEGER NOT NULL REFERENCES farmers(id) ON DELETE CASCADE,
        station_id  TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        offset_c    REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (farmer_id, station_id)
      ) STRICT;
      -- The representative station of a commune, for farmers subscribed by commune.
      CREATE TABLE commune_stations (
        commune     TEXT PRIMARY KEY,
        station_id  TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        offset_c    REAL NOT NULL DEFAULT 0
      ) STRICT;
      -- Escalation chain of a farmer, tried in position order when a Severe call is not acknowledged.
      CREATE TABLE contacts (
        id          INTEGER PRIMARY KEY,
        farmer_id   INTEGER NOT NULL REFERENCES farmers(id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        role        TEXT NOT NULL CHECK (role IN ('household', 'village_head', 'officer')),
        name        TEXT NOT NULL,
        phone       TEXT NOT NULL,
        UNIQUE (farmer_id, position)
      ) STRICT;
      -- Agriculture officers: station health, system notices, the end of every escalation chain.
      CREATE TABLE officers (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL,
        phone       TEXT NOT NULL UNIQUE,
        language    TEXT NOT NULL CHECK (language IN ('vi', 'en')),
        created_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX subscriptions_station ON subscriptions(station_id);
      CREATE INDEX farmers_commune ON farmers(commune);
    `,
  },
  {
    version: 3,
    name: 'alerts',
    sql: `
      CREATE TABLE alerts (
        id              INTEGER PRIMARY KEY,
        station_id      TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        kind            TEXT NOT NULL CHECK (kind IN ('frost', 'station_offline', 'sensor_fault', 'low_battery')),
        level           TEXT NOT NULL,   -- frost: watch | warning | severe; others: raised
        status          TEXT NOT NULL CHECK (status IN ('active', 'acknowledged', 'cleared')),
        opened_at       INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        acknowledged_at INTEGER,
        acknowledged_by TEXT,
        cleared_at      INTEGER
      ) STRICT;
      CREATE INDEX alerts_open ON alerts(station_id, kind) WHERE status != 'cleared';
      -- Every decision about an alert, with the inputs behind it.
      CREATE TABLE alert_events (
        id          INTEGER PRIMARY KEY,
        alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        at          INTEGER NOT NULL,   -- reading time of the decision (station time line)
        recorded_at INTEGER NOT NULL,
        transition  TEXT NOT NULL,
        level       TEXT NOT NULL,
        reason      TEXT NOT NULL,
        inputs      TEXT,               -- JSON DecisionInputs
        notify      INTEGER NOT NULL CHECK (notify IN (0, 1))
      ) STRICT;
      CREATE INDEX alert_events_alert ON alert_events(alert_id);
      -- The rule engine's per-station state, saved with each decision so a restart resumes mid-night.
      CREATE TABLE station_rule_state (
        station_id  TEXT PRIMARY KEY REFERENCES stations(id) ON DELETE CASCADE,
        state       TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'outbox',
    sql: `
      -- One row per (alert transition or notice, recipient, channel): dedupe_key makes enqueueing idempotent.
      CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        dedupe_key      TEXT NOT NULL UNIQUE,
        event_id        INTEGER REFERENCES alert_events(id) ON DELETE SET NULL,
        recipient_kind  TEXT NOT NULL CHECK (recipient_kind IN ('farmer', 'contact', 'officer')),
        recipient_id    INTEGER NOT NULL,
        channel         TEXT NOT NULL CHECK (channel IN ('sms', 'voice')),
        phone           TEXT NOT NULL,
        language        TEXT NOT NULL CHECK (language IN ('vi', 'en')),
        body            TEXT NOT NULL,   -- SMS text, or what the voice call says
        encoding        TEXT NOT NULL,   -- GSM-7 | UCS-2
        segments        INTEGER NOT NULL,
        cost_usd        REAL NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'gave_up', 'dry_run')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        provider_sid    TEXT UNIQUE,
        last_error      TEXT,
        escalation_step INTEGER NOT NULL DEFAULT 0, -- voice: 0 = the farmer, k = k-th contact of the chain
        acked_at        INTEGER,                     -- voice: keypress 1
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX outbox_due ON outbox(status, next_attempt_at) WHERE status IN ('pending', 'sending');
      CREATE INDEX outbox_event ON outbox(event_id);
    `,
  },
  {
    version: 5,
    name: 'station settings',
    sql: `
      -- Per-station rule overrides (JSON, e.g. {"leafOffsetC": 4}) and the fitted FFST model (frostwatch model fit).
      CREATE TABLE station_settings (
        station_id      TEXT PRIMARY KEY REFERENCES stations(id) ON DELETE CASCADE,
        rule_overrides  TEXT NOT NULL DEFAULT '{}',
        ffst            TEXT,            -- JSON {a, b, c, n, rmseC, fittedAt}
        updated_at      INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    name: 'users and sessions',
    sql: `
      -- People who sign in to the dashboard; password_hash is scrypt$N$r$p$salt$hash like station tokens.
      CREATE TABLE users (
        id            INTEGER PRIMARY KEY,
        username      TEXT NOT NULL UNIQUE,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'officer', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
      ) STRICT;
      -- id_hash: sha256 of the random session id in the cookie, so a copy of the database signs nobody in.
      CREATE TABLE sessions (
        id_hash       BLOB PRIMARY KEY,
        user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at    INTEGER NOT NULL,
        expires_at    INTEGER NOT NULL,  -- sliding: last_seen_at + 12 h
        last_seen_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX sessions_user ON sessions(user_id);
      CREATE INDEX sessions_expiry ON sessions(expires_at);
      -- Failed sign-ins per (lower-cased) username, for the lockout; rows of past windows are pruned.
      CREATE TABLE login_failures (
        username        TEXT PRIMARY KEY,
        failures        INTEGER NOT NULL,
        first_failed_at INTEGER NOT NULL,
        locked_until    INTEGER
      ) STRICT;
    `,
  },
  {
    version: 7,
    name: 'audit log',
    sql: `
      -- People's actions through the API and Twilio keypresses (server/audit). details: JSON of masked facts only,
      -- never a token, a password or a whole phone number.
      CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,  -- epoch ms
        actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('user', 'token', 'twilio', 'anonymous')),
        actor       TEXT NOT NULL,
        action      TEXT NOT NULL,
        target      TEXT,
        outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
        status_code INTEGER NOT NULL,
        remote_addr TEXT,
        details     TEXT
      ) STRICT;
      CREATE INDEX audit_log_action ON audit_log(action, id);
    `,
  },
  {
    version: 8,
    name: 'device sources and integration accounts',
    sql: `
      -- Where a station's readings come from (contracts/devices.ts, docs/devices.md). device_id: the DevEUI in
      -- lower-case hex for LoRaWAN, the device's MQTT topic for Wi-Fi boards; one station per (source, device).
      ALTER TABLE stations ADD COLUMN source TEXT NOT NULL DEFAULT 'native'
        CHECK (source IN ('native', 'chirpstack', 'ttn', 'tasmota', 'esphome', 'shelly'));
      ALTER TABLE stations ADD COLUMN device_id TEXT;
      ALTER TABLE stations ADD COLUMN device_preset TEXT;
      ALTER TABLE stations ADD COLUMN field_map TEXT;  -- JSON: device field name → reading field
      CREATE UNIQUE INDEX stations_device ON stations(source, device_id) WHERE device_id IS NOT NULL;
      -- MQTT accounts of other systems publishing into the broker (a ChirpStack's MQTT integration).
      CREATE TABLE integrations (
        username    TEXT PRIMARY KEY,  -- "<kind>:<name>"
        kind        TEXT NOT NULL CHECK (kind IN ('chirpstack')),
        name        TEXT NOT NULL,
        secret_hash TEXT NOT NULL,     -- scrypt, as station tokens
        created_at  INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 9,
    name: 'forecasts, pre-alerts, surveys, opt-out',
    sql: `
      -- Farmers in control (docs/operations.md, "Farmers in control"): opted_out_at set = nothing but confirmations.
      ALTER TABLE farmers ADD COLUMN opted_out_at INTEGER;   -- epoch ms; null: warned
      ALTER TABLE farmers ADD COLUMN opted_out_via TEXT;     -- sms | keypress | officer
      -- The outbox again, for two things a CHECK cannot learn by ALTER: what a row is for, and 'suppressed'
      -- (never sent, on purpose: the farmer opted out, or a newer message replaced one held for quiet hours).
      CREATE TABLE outbox_v9 (
        id              INTEGER PRIMARY KEY,
        dedupe_key      TEXT NOT NULL UNIQUE,
        event_id        INTEGER REFERENCES alert_events(id) ON DELETE SET NULL,
        recipient_kind  TEXT NOT NULL CHECK (recipient_kind IN ('farmer', 'contact', 'officer')),
        recipient_id    INTEGER NOT NULL,
        channel         TEXT NOT NULL CHECK (channel IN ('sms', 'voice')),
        phone           TEXT NOT NULL,
        language        TEXT NOT NULL CHECK (language IN ('vi', 'en')),
        body            TEXT NOT NULL,
        encoding        TEXT NOT NULL,
        segments        INTEGER NOT NULL,
        cost_usd        REAL NOT NULL,
        status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'gave_up', 'dry_run', 'suppressed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        provider_sid    TEXT UNIQUE,
        last_error      TEXT,
        escalation_step INTEGER NOT NULL DEFAULT 0,
        acked_at        INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        -- warning: the night ladder; all_clear: its end (held in quiet hours); prealert: the afternoon forecast SMS;
        -- notice: to officers; reply: a confirmation of the farmer's own choice; survey: the morning damage call.
        purpose         TEXT NOT NULL DEFAULT 'warning'
                        CHECK (purpose IN ('warning', 'all_clear', 'prealert', 'notice', 'reply', 'survey')),
        held_quiet      INTEGER NOT NULL DEFAULT 0 CHECK (held_quiet IN (0, 1)), -- waits for quiet hours to end
        answer          TEXT             -- voice: the survey keypress (none | leaf_burn | young_trees_lost | severe)
      ) STRICT;
      INSERT INTO outbox_v9 (id, dedupe_key, event_id, recipient_kind, recipient_id, channel, phone, language, body, encoding,
                             segments, cost_usd, status, attempts, next_attempt_at, provider_sid, last_error, escalation_step,
                             acked_at, created_at, updated_at, purpose)
        SELECT id, dedupe_key, event_id, recipient_kind, recipient_id, channel, phone, language, body, encoding,
               segments, cost_usd, status, attempts, next_attempt_at, provider_sid, last_error, escalation_step,
               acked_at, created_at, updated_at,
               CASE WHEN recipient_kind = 'officer' THEN 'notice' ELSE 'warning' END
        FROM outbox;
      DROP TABLE outbox;
      ALTER TABLE outbox_v9 RENAME TO outbox;
      CREATE INDEX outbox_due ON outbox(status, next_attempt_at) WHERE status IN ('pending', 'sending');
      CREATE INDEX outbox_event ON outbox(event_id);
      CREATE INDEX outbox_recipient ON outbox(recipient_kind, recipient_id, purpose);
      -- The last hourly forecast of each station's place (Open-Meteo), and how fetching it goes.
      CREATE TABLE forecast_fetches (
        station_id    TEXT PRIMARY KEY REFERENCES stations(id) ON DELETE CASCADE,
        fetched_at    INTEGER,           -- last success, epoch ms; null: never
        attempted_at  INTEGER NOT NULL,
        last_error    TEXT,              -- of the last attempt; null when it succeeded
        hours         TEXT               -- JSON [{ts, tempC, dewPointC, cloudPct, windMs}]
      ) STRICT;
      -- What the forecast said of a night, and afterwards what the station measured: the pairs the correction learns from.
      CREATE TABLE forecast_nights (
        station_id      TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        night           TEXT NOT NULL,   -- YYYY-MM-DD: the local date of the evening the night begins
        lead            TEXT NOT NULL CHECK (lead IN ('tonight', 'tomorrow')),
        fetched_at      INTEGER NOT NULL,
        forecast_min_c  REAL,
        cloud_pct       REAL,
        wind_ms         REAL,
        dew_point_c     REAL,
        observed_min_c  REAL,            -- the station's minimum, filled the morning after
        PRIMARY KEY (station_id, night, lead)
      ) STRICT;
      -- One decision per (station, night): the afternoon pre-alert, with what it rested on.
      CREATE TABLE prealerts (
        id               INTEGER PRIMARY KEY,
        station_id       TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        night            TEXT NOT NULL,
        lead             TEXT NOT NULL CHECK (lead IN ('tonight', 'tomorrow')),
        decided_at       INTEGER NOT NULL,
        forecast_min_c   REAL NOT NULL,
        corrected_min_c  REAL NOT NULL,
        cloud_pct        REAL NOT NULL,
        wind_ms          REAL NOT NULL,
        dew_point_c      REAL NOT NULL,
        UNIQUE (station_id, night)
      ) STRICT;
      -- What the morning after showed on the farms (docs/operations.md, "Damage surveys").
      CREATE TABLE surveys (
        id           INTEGER PRIMARY KEY,
        night        TEXT NOT NULL,      -- YYYY-MM-DD, the evening the night began
        commune      TEXT NOT NULL,
        farmer_id    INTEGER REFERENCES farmers(id) ON DELETE SET NULL, -- null: the commune as a whole
        damage       TEXT NOT NULL CHECK (damage IN ('none', 'leaf_burn', 'young_trees_lost', 'severe')),
        note         TEXT,
        source       TEXT NOT NULL CHECK (source IN ('officer', 'keypress')),
        recorded_by  TEXT NOT NULL,
        recorded_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX surveys_night ON surveys(night, commune);
    `,
    // Rows copied with their ids do not move an identity's sequence.
    postgres: `SELECT setval(pg_get_serial_sequence('outbox', 'id'), COALESCE((SELECT MAX(id) FROM outbox), 0) + 1, false);`,
  },
  {
    version: 10,
    name: 'outbox: unsure attempts',
    sql: `
      -- A crash or a timeout inside a request to Twilio leaves it unknown whether the message went (issue 17): the row
      -- is marked unsure, and before it is sent again Twilio's own list is asked. The attempt's wall-clock start is kept
      -- for that question: Twilio's DateSent is real time, while created_at and updated_at follow the (possibly
      -- simulated) clock.
      ALTER TABLE outbox ADD COLUMN attempted_at_wall INTEGER;
      ALTER TABLE outbox ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0 CHECK (unsure IN (0, 1));
    `,
  },
  {
    version: 11,
    name: 'cluster: sender claims, rule-state guard, members',
    sql: `
      -- PostgreSQL (docs/scale-out.md): the sender session that moved a row to 'sending', so that only a row whose sender
      -- is gone is recovered, never one another live sender is still sending. Null on SQLite, where one process sends.
      ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
      -- The newest reading time the saved state has seen: a save from an older view of the station (a worker that lost
      -- its partition, a replayed reading) never overwrites a newer one.
      ALTER TABLE station_rule_state ADD COLUMN reading_at INTEGER;
      -- The processes of a cluster, each seen every few seconds: workers divide the partitions by how many are alive.
      CREATE TABLE cluster_members (
        id          TEXT PRIMARY KEY,   -- <role>:<host>:<pid>:<random>
        role        TEXT NOT NULL CHECK (role IN ('gateway', 'worker', 'server')),
        started_at  INTEGER NOT NULL,
        seen_at     INTEGER NOT NULL,
        partitions  TEXT                -- workers: JSON array of the partitions held
      ) STRICT;
    `,
  },
  {
    version: 12,
    name: 'districts',
    sql: `
      -- A province holds districts (huyện); stations, farmers and officers belong to one (docs/operations.md, "Districts").
      -- Everything that existed before goes into the default district, so a single-district installation sees no change.
      CREATE TABLE districts (
        id          TEXT PRIMARY KEY,   -- e.g. lac-duong
        name        TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
      ) STRICT;
      INSERT INTO districts (id, name, created_at) VALUES ('lac-duong', 'Lạc Dương', 0);
      -- SQLite refuses ADD COLUMN … REFERENCES with a non-null default while foreign keys are on: the registry checks the
      -- district on every write instead (and districts are never deleted); PostgreSQL adds the constraints below.
      ALTER TABLE stations ADD COLUMN district_id TEXT NOT NULL DEFAULT 'lac-duong';
      ALTER TABLE farmers ADD COLUMN district_id TEXT NOT NULL DEFAULT 'lac-duong';
      ALTER TABLE officers ADD COLUMN district_id TEXT NOT NULL DEFAULT 'lac-duong';
      -- A dashboard user's district: they see and act in it only. Null: province-wide (admins always are).
      ALTER TABLE users ADD COLUMN district_id TEXT;
      UPDATE users SET district_id = 'lac-duong' WHERE role != 'admin';
      CREATE INDEX stations_district ON stations(district_id);
      CREATE INDEX farmers_district ON farmers(district_id);
      CREATE INDEX officers_district ON officers(district_id);
    `,
    postgres: `
      ALTER TABLE stations ADD CONSTRAINT stations_district_fk FOREIGN KEY (district_id) REFERENCES districts(id);
      ALTER TABLE farmers ADD CONSTRAINT farmers_district_fk FOREIGN KEY (district_id) REFERENCES districts(id);
      ALTER TABLE officers ADD CONSTRAINT officers_district_fk FOREIGN KEY (district_id) REFERENCES districts(id);
      ALTER TABLE users ADD CONSTRAINT users_district_fk FOREIGN KEY (district_id) REFERENCES districts(id);
    `,
  },
  {
    version: 13,
    name: 'pre-alert decisions',
    sql: `
      -- The stations each afternoon's pre-alert decision covered (docs/scale-out.md): in a cluster every worker decides
      -- for its own stations, and a district's officers get one summary once all of its stations are decided — whichever
      -- worker decides last sends it. A station taken over after its worker decided is decided by its new owner.
      CREATE TABLE prealert_decisions (
        day         TEXT NOT NULL,     -- YYYY-MM-DD, local: the afternoon of the decision
        station_id  TEXT NOT NULL REFERENCES stations(id) ON DELETE CASCADE,
        decided_at  INTEGER NOT NULL,
        fresh       INTEGER NOT NULL CHECK (fresh IN (0, 1)), -- 0: no fresh forecast, nothing could be decided
        PRIMARY KEY (day, station_id)
      ) STRICT;
    `,
  },
];
