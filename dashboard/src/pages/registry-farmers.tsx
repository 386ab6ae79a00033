import { useState } from 'preact/hooks';
import type { ContactRole, Farmer, FarmerImportReport, Language } from '../../../contracts/people.js';
import { endpoints } from '../endpoints.js';
import { Field, FormError, useAction, val } from '../forms.js';
import { fill, fmtTime, useLang, useT } from '../i18n.js';
import { useList } from '../use-api.js';

interface ContactDraft {
  role: ContactRole;
  name: string;
  phone: string;
}
const ROLES: ContactRole[] = ['household', 'village_head', 'officer'];

/** A farmer's opt-out asked for on their behalf (for a phone that cannot reply by SMS): confirmed before it is sent. */
interface OptOutAsk {
  farmer: Farmer;
  optedOut: boolean;
}

export function FarmersPanel({ admin, officer }: { admin: boolean; officer: boolean }) {
  const t = useT();
  const lang = useLang();
  const { rows, error, reload } = useList(endpoints.farmers);
  const history = useList(endpoints.optOuts);
  const [ask, setAsk] = useState<OptOutAsk | null>(null);
  const changed = (): void => {
    setAsk(null);
    reload();
    history.reload();
  };
  return (
    <div>
      {admin && <FarmerForm onCreated={reload} />}
      {admin && <CsvImport onImported={reload} />}
      <FormError error={error} testid="farmers-error" />
      <div class="table-wrap">
        <table data-testid="registry-farmers">
          <thead>
            <tr>
              <th>{t('name')}</th>
              <th>{t('phone')}</th>
              <th>{t('commune')}</th>
              <th>{t('stations')}</th>
              <th>{t('contacts')}</th>
              <th>{t('warningsCol')}</th>
            </tr>
          </thead>
          <tbody>
            {(rows ?? []).map((f) => (
              <tr data-testid={`farmer-${f.id}`}>
                <td>{f.name}</td>
                <td>{f.phone}</td>
                <td>{f.commune ?? '—'}</td>
                <td>
                  {f.subscriptions
                    .map((s) => (s.offsetC ? `${s.stationId} (${s.offsetC > 0 ? '+' : ''}${s.offsetC})` : s.stationId))
                    .join(', ')}
                </td>
                <td>{f.contacts.map((c) => `${c.name} (${c.role})`).join(', ')}</td>
                <td data-testid={`farmer-optout-${f.id}`} data-opted-out={f.optedOutAt !== null}>
                  {f.optedOutAt === null ? (
                    <span class="sub">{t('receiving')}</span>
                  ) : (
                    <span class="warn">
                      {fill(t('optedOutSince'), { at: fmtTime(f.optedOutAt, lang), via: f.optedOutVia ? t(`via_${f.optedOutVia}`) : '—' })}
                    </span>
                  )}
                  {officer && (
                    <div>
                      <button
                        type="button"
                        data-testid={`optout-toggle-${f.id}`}
                        onClick={() => setAsk({ farmer: f, optedOut: f.optedOutAt === null })}
                      >
                        {t(f.optedOutAt === null ? 'stopSending' : 'resumeSending')}
                      </button>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {ask && <OptOutConfirm ask={ask} onDone={changed} onCancel={() => setAsk(null)} />}
      <h3>{t('optOuts')}</h3>
      <FormError error={history.error} testid="optouts-error" />
      {history.rows?.length === 0 && <p class="sub">{t('noOptOuts')}</p>}
      {history.rows && history.rows.length > 0 && (
        <div class="table-wrap">
          <table data-testid="optouts">
            <thead>
              <tr>
                <th>{t('time')}</th>
                <th>{t('name')}</th>
                <th>{t('action')}</th>
                <th>{t('actor')}</th>
              </tr>
            </thead>
            <tbody>
              {history.rows.map((e) => (
                <tr data-testid="optout-event" data-farmer={e.farmerId} data-opted-out={e.optedOut} data-via={e.via}>
                  <td>{fmtTime(e.at, lang)}</td>
                  <td>{e.farmerName ?? `#${e.farmerId}`}</td>
                  <td>
                    {t(e.optedOut ? 'stopped' : 'resumed')} ({t(`via_${e.via}`)})
                  </td>
                  <td>{e.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function OptOutConfirm({ ask, onDone, onCancel }: { ask: OptOutAsk; onDone: () => void; onCancel: () => void }) {
  const t = useT();
  const action = useAction();
  const confirm = async (): Promise<void> => {
    const ok = await action.run(async () => {
      await endpoints.setOptOut(ask.farmer.id, ask.optedOut);
    });
    if (ok) onDone();
  };
  return (
    <div class="dialog-backdrop">
      <div class="dialog" role="dialog" aria-modal="true" data-testid="optout-dialog">
        <p>{fill(t(ask.optedOut ? 'confirmStop' : 'confirmResume'), { name: ask.farmer.name })}</p>
        <FormError error={action.error} testid="optout-error" />
        <div class="buttons">
          <button type="button" class="primary" disabled={action.busy} data-testid="optout-confirm" onClick={() => void confirm()}>
            {t(ask.optedOut ? 'stopSending' : 'resumeSending')}
          </button>
          <button type="button" data-testid="optout-cancel" onClick={onCancel}>
            {t('cancel')}
          </button>
        </div>
      </div>
    </div>
  );
}

function FarmerForm({ onCreated }: { onCreated: () => void }) {
  const t = useT();
  const action = useAction();
  const [contacts, setContacts] = useState<ContactDraft[]>([]);
  const edit = (i: number, patch: Partial<ContactDraft>): void => setContacts(contacts.map((c, j) => (j === i ? { ...c, ...patch } : c)));

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const commune = val(form, 'commune');
    const diacritics = (form.elements.namedItem('diacritics') as HTMLInputElement | null)?.checked ?? true;
    const body = {
      name: val(form, 'name'),
      phone: val(form, 'phone'),
      language: val(form, 'language') as Language, // one of the select's options; the server checks it again
      diacritics,
      ...(commune === '' ? {} : { commune }),
      stationIds: val(form, 'stationIds')
        .split(/[,\s]+/)
        .filter((s) => s !== ''),
      contacts,
    };
    if (
      await action.run(async () => {
        await endpoints.addFarmer(body);
      })
    ) {
      form.reset();
      setContacts([]);
      onCreated();
    }
  };

  return (
    <form class="card grid-form" data-testid="farmer-form" onSubmit={(e) => void submit(e)} noValidate>
      <Field label={t('name')}>
        <input name="name" required data-testid="farmer-name" />
      </Field>
      <Field label={t('phone')}>
        <input name="phone" type="tel" required placeholder="0912 345 678" data-testid="farmer-phone" />
      </Field>
      <Field label={t('language')}>
        <select name="language" data-testid="farmer-language">
          <option value="vi">Tiếng Việt</option>
          <option value="en">English</option>
        </select>
      </Field>
      <Field label={t('commune')}>
        <input name="commune" data-testid="farmer-commune" />
      </Field>
      <Field label={t('stationIds')}>
        <input name="stationIds" placeholder="ld-dasar-01, ld-langbiang-02" data-testid="farmer-stations" />
      </Field>
      <label class="check">
        <input type="checkbox" name="diacritics" defaultChecked /> {t('diacritics')}
      </label>
      <fieldset class="contacts">
        <legend>{t('contacts')}</legend>
        {contacts.map((c, i) => (
          <div class="contact" data-testid={`farmer-contact-${i}`}>
            <select value={c.role} onChange={(e) => edit(i, { role: e.currentTarget.value as ContactRole })}>
              {ROLES.map((r) => (
                <option value={r}>{r}</option>
              ))}
            </select>
            <input placeholder={t('name')} value={c.name} onInput={(e) => edit(i, { name: e.currentTarget.value })} />
            <input placeholder={t('phone')} type="tel" value={c.phone} onInput={(e) => edit(i, { phone: e.currentTarget.value })} />
            <button type="button" onClick={() => setContacts(contacts.filter((_, j) => j !== i))}>
              {t('remove')}
            </button>
          </div>
        ))}
        <button
          type="button"
          data-testid="farmer-add-contact"
          onClick={() => setContacts([...contacts, { role: ROLES[Math.min(contacts.length, 2)] ?? 'household', name: '', phone: '' }])}
        >
          + {t('addContact')}
        </button>
      </fieldset>
      <FormError error={action.error} testid="farmer-form-error" />
      <button type="submit" class="primary" disabled={action.busy} data-testid="farmer-submit">
        {t('create')}
      </button>
    </form>
  );
}

function CsvImport({ onImported }: { onImported: () => void }) {
  const t = useT();
  const action = useAction();
  const [report, setReport] = useState<FarmerImportReport | null>(null);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('file') as HTMLInputElement | null;
    const file = input?.files?.[0];
    if (!file) return;
    const text = await file.text();
    const ok = await action.run(async () => setReport(await endpoints.importFarmers(text)));
    if (ok) onImported();
  };

  return (
    <form class="card" data-testid="csv-form" onSubmit={(e) => void submit(e)}>
      <h3>{t('importCsv')}</h3>
      <p class="hint">name,phone,language,commune,station_ids,diacritics</p>
      <input type="file" name="file" accept=".csv,text/csv" required data-testid="csv-file" />
      <button type="submit" class="primary" disabled={action.busy} data-testid="csv-submit">
        {t('upload')}
      </button>
      <FormError error={action.error} testid="csv-error" />
      {report && (
        <div data-testid="csv-report">
          <p>
            {t('created')}: {report.created} · {t('updated')}: {report.updated} · {t('failed')}: {report.failed}
          </p>
          <table>
            <thead>
              <tr>
                <th>{t('row')}</th>
                <th>{t('result')}</th>
              </tr>
            </thead>
            <tbody>
              {report.rows.map((r) => (
                <tr class={r.ok ? '' : 'bad'} data-testid={`csv-row-${r.row}`}>
                  <td>{r.row}</td>
                  <td>{r.ok ? `${r.action ?? 'ok'} #${r.id ?? ''}` : r.error}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </form>
  );
}
