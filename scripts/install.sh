#!/usr/bin/env bash
# Installs what frostwatch needs on a Debian machine with Node 20, then builds it.
#   scripts/install.sh                    npm packages + build (the runtime installs influxd itself when it must)
#   scripts/install.sh --test             also the Debian packages the test suite drives (influxdb, mosquitto, clients,
#                                         chromium, promtool, systemd-analyze, nats-server, postgresql)
#   scripts/install.sh --system           as root: build, then install as a service: the app in /opt/frostwatch, data in
#                                         /var/lib/frostwatch, settings in /etc/frostwatch/frostwatch.env, the systemd
#                                         units; enable and (re)start frostwatch.service. Running it again upgrades:
#                                         data and settings are kept, the previous app stays in /opt/frostwatch.previous.
#   scripts/install.sh --system --no-build
#                                         install the dist/ and dashboard/dist already built in this tree
# FROSTWATCH_ROOT=/some/dir puts every installed path under that directory (tests, packaging) and skips what acts on the
# machine itself: Debian packages, the user, ownership, systemctl.
# Safe to run again: each step is skipped when already done. docs/operations.md "Installing on a district office machine".
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  echo "install.sh: $*" >&2
  exit 1
}

mode=dev
build=yes
started=$(date +%s)
for arg in "$@"; do
  case "$arg" in
    --test) mode="test" ;;
    --system) mode=system ;;
    --no-build) build=no ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown option: $arg (try --help)" ;;
  esac
done
[ "$build" = yes ] || [ "$mode" = system ] || die "--no-build goes with --system"

# package.json "engines" (^20.19.0 || ^22.13.0), checked before npm is asked to install anything.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit((a === 20 && b >= 19) || (a === 22 && b >= 13) ? 0 : 1)' 2>/dev/null; then
  echo "frostwatch needs Node.js 20.19+ or 22.13+ (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

root="${FROSTWATCH_ROOT:-}"
root="${root%/}"
if [ "$mode" = system ]; then
  if [ -n "$root" ]; then
    [[ "$root" = /* ]] || die "FROSTWATCH_ROOT must be an absolute path (got $root)"
  elif [ "$(id -u)" -ne 0 ]; then
    die "--system installs into /opt, /etc and /var/lib: run it as root (sudo scripts/install.sh --system)"
  fi
fi

want_debs=()
if [ "$mode" = test ]; then
  pairs=(influxd:influxdb influx:influxdb-client mosquitto:mosquitto mosquitto_pub:mosquitto-clients chromium:chromium promtool:prometheus systemd-analyze:systemd nats-server:nats-server pg_ctlcluster:postgresql)
elif [ "$mode" = system ]; then
  pairs=(influxd:influxdb)
else
  pairs=()
fi
for pair in "${pairs[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || want_debs+=("${pair##*:}")
done
if [ ${#want_debs[@]} -gt 0 ] && [ "$mode" = system ] && [ -n "$root" ]; then
  step "Debian packages: skipped under FROSTWATCH_ROOT (missing here: ${want_debs[*]})"
  want_debs=()
fi
if [ ${#want_debs[@]} -gt 0 ]; then
  step "Debian packages: ${want_debs[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "run as root, or install: apt-get install -y ${want_debs[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${want_debs[@]}"
fi

if [ "$build" = yes ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "npm packages (npm ci)"
    npm ci --no-audit --no-fund
  fi

  step "build (tsc, dashboard)"
  npx tsc -p tsconfig.json
  npm run --silent build:dashboard
else
  step "build: skipped (--no-build), installing the tree as built"
  for built in dist/cli/main.js dashboard/dist/index.html node_modules/.package-lock.json; do
    [ -e "$built" ] || die "--no-build: $built is missing; run scripts/install.sh (or npm ci && npm run build) first"
  done
fi

[ "$mode" = system ] || exit 0

# ---------------------------------------------------------------------------------------------------------------------
# --system: the service installation. The paths as the units name them; $root in front where files are written.
APP=/opt/frostwatch
DATA=/var/lib/frostwatch
ETC=/etc/frostwatch
UNITS=/etc/systemd/system
BIN=/usr/local/bin/frostwatch
SERVICE_USER=frostwatch

# The service runs node by absolute path, with ProtectHome=yes: a node under /home or /root cannot be reached.
node_bin=$(readlink -f "$(command -v node)")
case "$node_bin" in
  /home/* | /root/*)
    msg="node is $node_bin, which the service cannot reach (ProtectHome=yes): install Node.js 20 system-wide (e.g. NodeSource's Debian package, /usr/bin/node)"
    if [ -n "$root" ]; then note "warning: $msg"; else die "$msg"; fi
    ;;
esac

# Directories of the app that run: those tsconfig.json compiles, less the tests, their tools, benchmarks and dev scripts.
runtime_dirs=$(node -e '
  const include = JSON.parse(require("fs").readFileSync("tsconfig.json", "utf8")).include;
  console.log(include.filter((d) => !["tests", "testkit", "bench", "scripts"].includes(d)).join(" "));
')

if [ -z "$root" ]; then
  step "user: $SERVICE_USER"
  if getent passwd "$SERVICE_USER" >/dev/null; then
    note "exists"
  else
    useradd --system --user-group --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
      --comment "frostwatch frost early warning" "$SERVICE_USER"
    note "created (system user, no login)"
  fi
else
  step "user: skipped under FROSTWATCH_ROOT"
fi
# own_dir MODE OWNER:GROUP DIR: create or fix a directory (not its contents); without the user, ownership is left alone.
own_dir() {
  if [ -z "$root" ]; then install -d -m "$1" -o "${2%%:*}" -g "${2##*:}" "$root$3"; else install -d -m "$1" "$root$3"; fi
}

step "app: $root$APP.new (dist: $runtime_dirs; dashboard; production npm packages)"
stage="$root$APP.new"
rm -rf "$stage"
install -d -m 0755 "$(dirname "$stage")"
install -d -m 0755 "$stage/dist" "$stage/dashboard"
for dir in $runtime_dirs; do
  [ -d "dist/$dir" ] || die "dist/$dir is missing: the build did not finish"
  cp -R "dist/$dir" "$stage/dist/$dir"
done
cp -R dashboard/dist "$stage/dashboard/dist"
cp package.json package-lock.json "$stage/"
# The tree's own packages, less the dev ones: no network needed, and better-sqlite3's native module is the one just
# built for this Node.
cp -a node_modules "$stage/node_modules"
(cd "$stage" && npm prune --omit=dev --ignore-scripts --no-audit --no-fund --offline --loglevel=error >/dev/null)
rm -rf "$stage/node_modules/.vite" "$stage/node_modules/.cache"
find "$stage/node_modules" -mindepth 1 -maxdepth 1 -type d -empty -delete # scopes whose packages were all dev ones
{
  echo "version=$(node -p 'require("./package.json").version')"
  if commit=$(git rev-parse HEAD 2>/dev/null); then
    git diff --quiet HEAD -- 2>/dev/null || commit="$commit (with local changes)"
  else
    commit=unknown
  fi
  echo "commit=$commit"
  echo "installed=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "node=$(node --version)"
} >"$stage/INSTALLED"
chmod -R u+rwX,go+rX,go-w "$stage"
note "$(du -sh "$stage" | cut -f1) ($(find "$stage/node_modules" -mindepth 1 -maxdepth 1 | wc -l) entries in node_modules)"
# The command loads with its modules: a package pruned by mistake fails here, before the running app is touched.
node "$stage/dist/cli/main.js" --help >/dev/null || die "the staged app does not start: $stage kept for a look"

step "data: $root$DATA (0750)"
existed_data=no
[ -d "$root$DATA" ] && existed_data=yes
own_dir 0750 "$SERVICE_USER:$SERVICE_USER" "$DATA"
if [ "$existed_data" = yes ]; then note "kept (an upgrade: the new app migrates the registry at its first start)"; else note "created"; fi
registry="$root$DATA/frostwatch.db"
if [ -f "$registry" ]; then
  # The registry as the previous app left it, for a rollback to an app that does not know a new migration: online and
  # consistent (SQLite's backup API), even while the service runs. Read as the file's owner, so that SQLite's -shm and
  # -wal files, if it creates them, stay the service's.
  snapshot="$root$DATA/frostwatch.db.before-upgrade"
  as_owner=(setpriv "--reuid=$(stat -c %u "$registry")" "--regid=$(stat -c %g "$registry")" --clear-groups)
  schema=$(cd "$stage" && "${as_owner[@]}" node -e '
    const db = new (require("better-sqlite3"))(process.argv[1], { readonly: true, fileMustExist: true });
    const version = db.pragma("user_version", { simple: true });
    db.backup(process.argv[2]).then(
      () => { db.close(); console.log(version); },
      (err) => { console.error(String(err)); process.exit(1); },
    );
  ' "$registry" "$snapshot.tmp") || die "could not copy the registry $registry"
  mv -f "$snapshot.tmp" "$snapshot"
  chmod 0600 "$snapshot"
  note "registry (schema $schema) copied to $snapshot, for a rollback"
fi

step "settings: $root$ETC"
own_dir 0750 "root:$SERVICE_USER" "$ETC"
env_file="$root$ETC/frostwatch.env"
if [ -e "$env_file" ]; then
  note "frostwatch.env kept"
else
  install -m 0640 deploy/systemd/frostwatch.env "$env_file"
  [ -n "$root" ] || chown "root:$SERVICE_USER" "$env_file"
  note "frostwatch.env written (every setting commented out: edit it, then systemctl restart frostwatch)"
fi
install -m 0644 deploy/systemd/frostwatch.env "$env_file.example"
note "frostwatch.env.example refreshed (this version's settings, for comparison)"

step "systemd units: $root$UNITS"
install -d -m 0755 "$root$UNITS"
for unit in deploy/systemd/*.service deploy/systemd/*.timer; do
  # Under FROSTWATCH_ROOT the units name the paths under it, so their command lines run that installation.
  sed -e "s|/usr/bin/node|$node_bin|g" \
    -e "s|$APP|$root$APP|g" -e "s|$DATA|$root$DATA|g" -e "s|$ETC/|$root$ETC/|g" \
    "$unit" >"$root$UNITS/$(basename "$unit").tmp"
  chmod 0644 "$root$UNITS/$(basename "$unit").tmp"
  mv -f "$root$UNITS/$(basename "$unit").tmp" "$root$UNITS/$(basename "$unit")"
  note "$(basename "$unit")"
done

step "command: $root$BIN"
install -d -m 0755 "$(dirname "$root$BIN")"
cat >"$root$BIN.tmp" <<EOF
#!/bin/sh
# The frostwatch command of the installed service (scripts/install.sh --system): the admin commands work on the
# service's data (DATA_DIR=$root$DATA) as its user, so every file they create stays the service's.
# e.g.  frostwatch station add --id ld-01 ...   frostwatch users --help
export DATA_DIR="\${DATA_DIR:-$root$DATA}"
if [ "\$(id -u)" -eq 0 ] && getent passwd $SERVICE_USER >/dev/null; then
  exec runuser -u $SERVICE_USER -- "$node_bin" "$root$APP/dist/cli/main.js" "\$@"
fi
exec "$node_bin" "$root$APP/dist/cli/main.js" "\$@"
EOF
chmod 0755 "$root$BIN.tmp"
mv -f "$root$BIN.tmp" "$root$BIN"

step "app: $root$APP (the previous one kept as $root$APP.previous)"
if [ -d "$root$APP" ]; then
  rm -rf "$root$APP.previous"
  mv "$root$APP" "$root$APP.previous"
  note "previous: $(grep -E '^(version|commit)=' "$root$APP.previous/INSTALLED" 2>/dev/null | tr '\n' ' ' || echo 'unknown')"
fi
mv "$stage" "$root$APP"
note "installed: $(grep -E '^(version|commit)=' "$root$APP/INSTALLED" | tr '\n' ' ')"

step "service"
if [ -n "$root" ]; then
  note "skipped under FROSTWATCH_ROOT (no daemon-reload, enable or start)"
elif [ ! -d /run/systemd/system ]; then
  note "systemd is not running here (a container?): the units are installed but nothing was started."
  note "Run it by hand:  runuser -u $SERVICE_USER -- env DATA_DIR=$DATA MALLOC_MMAP_THRESHOLD_=1048576 $node_bin $APP/dist/cli/main.js up"
else
  systemctl daemon-reload
  # Debian's influxdb package starts its own influxd on :8086 (every interface, no authentication). frostwatch runs its
  # own on loopback unless INFLUX_URL is set, so the packaged one only costs memory and exposes a database.
  if ! grep -Eq '^[[:space:]]*INFLUX_URL=[^[:space:]]' "$env_file" && systemctl is-enabled --quiet influxdb.service 2>/dev/null; then
    systemctl disable --now influxdb.service
    note "influxdb.service (Debian's own influxd) disabled: frostwatch manages its influxd in $DATA/influxdb"
  fi
  split=()
  for role in frostwatch-gateway.service frostwatch-server.service frostwatch-worker.service; do
    systemctl is-enabled --quiet "$role" 2>/dev/null && split+=("$role")
  done
  if [ ${#split[@]} -gt 0 ]; then
    systemctl restart "${split[@]}"
    note "split deployment: restarted ${split[*]}"
  else
    systemctl enable --quiet frostwatch.service
    # The daily backup (docs/operations.md, "Backup and restore"): 13:00, kept 14 days in /var/backups/frostwatch.
    systemctl enable --now --quiet frostwatch-backup.timer
    systemctl restart frostwatch.service
    sleep 2
    if systemctl is-active --quiet frostwatch.service; then
      note "frostwatch.service enabled and (re)started; first start prints the sign-in: journalctl -u frostwatch"
    else
      systemctl --no-pager status frostwatch.service || true
      die "frostwatch.service did not stay up: journalctl -u frostwatch -n 50"
    fi
  fi
fi

step "done in $(($(date +%s) - started)) s: $root$APP, data $root$DATA, settings $env_file"
