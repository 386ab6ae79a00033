import { useState } from 'preact/hooks';
import type { Crop, StationCredentials } from '../../../contracts/api.js';
import { type DevicePreset, DevicePresetSchema, type StationSource, StationSourceSchema, isLorawan } from '../../../contracts/devices.js';
import type { Me } from '../../../contracts/dashboard.js';
import type { Language } from '../../../contracts/people.js';
import { canWrite, isAdmin } from '../api.js';
import { endpoints } from '../endpoints.js';
import { useList } from '../use-api.js';
import { Field, FormError, num, useAction, val } from '../forms.js';
import { type Key, useT } from '../i18n.js';
import { FarmersPanel } from './registry-farmers.js';

type Tab = Extract<Key, 'stations' | 'farmers' | 'officers' | 'communeStations'>; // each tab's name is its word
const TABS: Tab[] = ['stations', 'farmers', 'officers', 'communeStations'];

export function RegistryPage({ me }: { me: Me }) {
  const t = useT();
  const [tab, setTab] = useState<Tab>('stations');
  const admin = isAdmin(me);
  return (
    <section>
      <h1>{t('registry')}</h1>
      {/* Officers keep farmers, communes and opt-outs; only a viewer reads without changing anything. */}
      {!canWrite(me) && (
        <p class="hint" data-testid="read-only">
          {t('readOnly')}
        </p>
      )}
      <div class="buttons tabs" role="tablist">
        {TABS.map((k) => (
          <button
            type="button"
            role="tab"
            aria-selected={tab === k}
            class={tab === k ? 'current' : ''}
            data-testid={`registry-tab-${k}`}
            onClick={() => setTab(k)}
          >
            {t(k)}
          </button>
        ))}
      </div>
      {tab === 'stations' && <StationsPanel admin={admin} />}
      {tab === 'farmers' && <FarmersPanel admin={admin} officer={canWrite(me)} />}
      {tab === 'officers' && <OfficersPanel admin={admin} />}
      {tab === 'communeStations' && <CommunesPanel admin={admin} />}
    </section>
  );
}

function StationsPanel({ admin }: { admin: boolean }) {
  const t = useT();
  const { rows, error, reload } = useList(endpoints.stations);
  const action = useAction();
  const [creds, setCreds] = useState<StationCredentials | null>(null);
  const [source, setSource] = useState<StationSource>('native');
  const [createdSource, setCreatedSource] = useState<StationSource>('native');
  const lorawan = isLorawan(source);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const body = {
      id: val(form, 'id'),
      name: val(form, 'name'),
      commune: val(form, 'commune'),
      lat: num(form, 'lat'),
      lon: num(form, 'lon'),
      elevationM: num(form, 'elevationM'),
      crop: val(form, 'crop') as Crop, // one of the select's options; the server checks it again
      source,
      ...(source === 'native' ? {} : { deviceId: lorawan ? val(form, 'deviceId').toLowerCase() : val(form, 'deviceId') }),
      ...(lorawan ? { preset: val(form, 'preset') as DevicePreset } : {}), // the select's options, checked again by the server
    };
    const ok = await action.run(async () => {
      setCreds(await endpoints.addStation(body));
      setCreatedSource(source);
    });
    if (ok) {
      form.reset();
      setSource('native');
      reload();
    }
  };

  return (
    <div>
      {admin && (
        <form class="card grid-form" data-testid="station-form" onSubmit={(e) => void submit(e)} noValidate>
          <Field label="ID">
            <input name="id" required placeholder="ld-dasar-01" data-testid="station-id" />
          </Field>
          <Field label={t('name')}>
            <input name="name" required data-testid="station-name" />
          </Field>
          <Field label={t('commune')}>
            <input name="commune" required data-testid="station-commune" />
          </Field>
          <Field label={t('lat')}>
            <input name="lat" inputMode="decimal" required data-testid="station-lat" />
          </Field>
          <Field label={t('lon')}>
            <input name="lon" inputMode="decimal" required data-testid="station-lon" />
          </Field>
          <Field label={t('elevation')}>
            <input name="elevationM" inputMode="decimal" required data-testid="station-elevation" />
          </Field>
          <Field label={t('crop')}>
            <select name="crop" data-testid="station-crop">
              <option>arabica</option>
              <option>robusta</option>
              <option>young</option>
            </select>
          </Field>
          <Field label={t('source')}>
            <select
              name="source"
              data-testid="station-source"
              value={source}
              onChange={(e) => setSource(StationSourceSchema.parse(e.currentTarget.value))}
            >
              {StationSourceSchema.options.map((s) => (
                <option value={s}>{s}</option>
              ))}
            </select>
          </Field>
          {source !== 'native' && (
            <Field label={t('deviceId')}>
              <input
                name="deviceId"
                required
                placeholder={lorawan ? 'a84041000181c62d' : 'frost-sensor-1'}
                title={t(lorawan ? 'deviceIdHintLorawan' : 'deviceIdHintTopic')}
                data-testid="station-device-id"
              />
            </Field>
          )}
          {lorawan && (
            <Field label={t('preset')}>
              <select name="preset" data-testid="station-preset">
                {DevicePresetSchema.options.map((p) => (
                  <option value={p}>{p}</option>
                ))}
              </select>
            </Field>
          )}
          <FormError error={action.error} testid="station-form-error" />
          <button type="submit" class="primary" disabled={action.busy} data-testid="station-submit">
            {t('create')}
          </button>
        </form>
      )}
      {creds && <TokenDialog creds={creds} source={createdSource} onClose={() => setCreds(null)} />}
      <FormError error={error} testid="stations-error" />
      <div class="table-wrap">
        <table data-testid="registry-stations">
          <thead>
            <tr>
              <th>ID</th>
              <th>{t('name')}</th>
              <th>{t('commune')}</th>
              <th>
                {t('lat')}, {t('lon')}
              </th>
              <th>{t('elevation')}</th>
              <th>{t('crop')}</th>
              <th>{t('source')}</th>
              <th>{t('refused')}</th>
            </tr>
          </thead>
          <tbody>
            {(rows ?? []).map((s) => (
              <tr data-testid={`registry-station-${s.id}`}>
                <td>
                  <a href={`#/station/${encodeURIComponent(s.id)}`}>{s.id}</a>
                </td>
                <td>{s.name}</td>
                <td>{s.commune}</td>
                <td>
                  {s.lat.toFixed(4)}, {s.lon.toFixed(4)}
                </td>
                <td>{s.elevationM}</td>
                <td>{s.crop}</td>
                <td data-testid={`source-${s.id}`}>
                  {s.source === 'native' ? 'native' : `${s.source} · ${s.deviceId ?? ''}`}
                  <br />
                  <small>
                    {t('samplingLabel')}: {t(`sampling_${s.sampling}`)}
                  </small>
                </td>
                <td data-testid={`refused-${s.id}`} class={s.refused.length > 0 ? 'warn' : ''}>
                  {s.refused.length === 0 ? '—' : s.refused.map((r) => `${r.reason} ×${r.count}`).join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function TokenDialog({ creds, source, onClose }: { creds: StationCredentials; source: StationSource; onClose: () => void }) {
  const t = useT();
  const [copied, setCopied] = useState(false);
  const copy = async (): Promise<void> => {
    // Undefined outside a secure context (the dashboard on a LAN address over plain HTTP), whatever lib.dom says:
    // then nothing is copied and the token stays on screen to select by hand.
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) return;
    await clipboard.writeText(creds.token);
    setCopied(true);
  };
  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" data-testid="token-dialog">
        <p>
          <strong>{creds.id}</strong>
        </p>
        <p>{t('tokenOnce')}</p>
        {source !== 'native' && (
          <p class="hint" data-testid="token-source-hint">
            {t(isLorawan(source) ? 'tokenLorawan' : 'tokenWifi')}
          </p>
        )}
        <code class="token" data-testid="token-value">
          {creds.token}
        </code>
        <div class="buttons">
          <button type="button" class="primary" data-testid="token-copy" onClick={() => void copy()}>
            {copied ? t('copied') : t('copy')}
          </button>
          <button type="button" data-testid="token-close" onClick={onClose}>
            {t('close')}
          </button>
        </div>
      </div>
    </div>
  );
}

function OfficersPanel({ admin }: { admin: boolean }) {
  const t = useT();
  const { rows, error, reload } = useList(endpoints.officers);
  const action = useAction();
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const body = { name: val(form, 'name'), phone: val(form, 'phone'), language: val(form, 'language') as Language };
    if (
      await action.run(async () => {
        await endpoints.addOfficer(body);
      })
    ) {
      form.reset();
      reload();
    }
  };
  return (
    <div>
      {admin && (
        <form class="card grid-form" data-testid="officer-form" onSubmit={(e) => void submit(e)} noValidate>
          <Field label={t('name')}>
            <input name="name" required data-testid="officer-name" />
          </Field>
          <Field label={t('phone')}>
            <input name="phone" type="tel" required data-testid="officer-phone" />
          </Field>
          <Field label={t('language')}>
            <select name="language">
              <option value="vi">Tiếng Việt</option>
              <option value="en">English</option>
            </select>
          </Field>
          <FormError error={action.error} testid="officer-form-error" />
          <button type="submit" class="primary" disabled={action.busy} data-testid="officer-submit">
            {t('create')}
          </button>
        </form>
      )}
      <FormError error={error} testid="officers-error" />
      <table data-testid="registry-officers">
        <thead>
          <tr>
            <th>{t('name')}</th>
            <th>{t('phone')}</th>
            <th>{t('language')}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((o) => (
            <tr data-testid={`officer-${o.id}`}>
              <td>{o.name}</td>
              <td>{o.phone}</td>
              <td>{o.language}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CommunesPanel({ admin }: { admin: boolean }) {
  const t = useT();
  const { rows, error, reload } = useList(endpoints.communes);
  const action = useAction();
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const commune = val(form, 'commune');
    const offset = val(form, 'offsetC');
    const body = { stationId: val(form, 'stationId'), offsetC: offset === '' ? 0 : Number(offset) };
    const ok = await action.run(async () => {
      await endpoints.setCommuneStation(commune, body);
    });
    if (ok) {
      form.reset();
      reload();
    }
  };
  return (
    <div>
      {admin && (
        <form class="card grid-form" data-testid="commune-form" onSubmit={(e) => void submit(e)} noValidate>
          <Field label={t('commune')}>
            <input name="commune" required data-testid="commune-name" />
          </Field>
          <Field label={t('station')}>
            <input name="stationId" required data-testid="commune-station" />
          </Field>
          <Field label={t('offset')}>
            <input name="offsetC" inputMode="decimal" data-testid="commune-offset" />
          </Field>
          <FormError error={action.error} testid="commune-form-error" />
          <button type="submit" class="primary" disabled={action.busy} data-testid="commune-submit">
            {t('save')}
          </button>
        </form>
      )}
      <FormError error={error} testid="communes-error" />
      <table data-testid="registry-communes">
        <thead>
          <tr>
            <th>{t('commune')}</th>
            <th>{t('station')}</th>
            <th>{t('offset')}</th>
          </tr>
        </thead>
        <tbody>
          {(rows ?? []).map((c) => (
            <tr>
              <td>{c.commune}</td>
              <td>{c.stationId}</td>
              <td>{c.offsetC}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
