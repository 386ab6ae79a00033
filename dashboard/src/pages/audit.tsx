import { useEffect, useState } from 'preact/hooks';
import type { AuditEntry } from '../../../contracts/audit.js';
import { errorText } from '../api.js';
import { endpoints } from '../endpoints.js';
import { fmtTime, useLang, useT } from '../i18n.js';
import { useLatestGate } from '../use-api.js';

/** The audit log, read-only, for admins (GET /api/audit is admin only): who did what, newest first. */
export function AuditPage() {
  const t = useT();
  const lang = useLang();
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Pages append: only the newest request may land (use-api.ts), so "older" pressed twice appends its page once.
  const gate = useLatestGate();

  const load = (before: number | null): void => {
    gate.track(
      () => endpoints.audit(before),
      (page) => {
        setEntries((shown) => (before === null ? page.entries : [...shown, ...page.entries]));
        setNext(page.nextBefore);
        setError(null);
      },
      (e) => setError(errorText(e)),
    );
  };
  useEffect(() => load(null), []);

  return (
    <section class="card">
      <h1>{t('audit')}</h1>
      {error && <p class="error">{error}</p>}
      <table data-testid="audit-list">
        <thead>
          <tr>
            <th>{t('time')}</th>
            <th>{t('actor')}</th>
            <th>{t('action')}</th>
            <th>{t('target')}</th>
            <th>{t('result')}</th>
            <th>{t('address')}</th>
            <th>{t('details')}</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr data-testid={`audit-${e.id}`} class={e.outcome === 'failed' ? 'failed' : ''}>
              <td>{fmtTime(e.at, lang)}</td>
              <td>{e.actor}</td>
              <td>{e.action}</td>
              <td>{e.target ?? '—'}</td>
              <td>
                {e.outcome} ({e.statusCode})
              </td>
              <td>{e.remoteAddr ?? '—'}</td>
              <td class="sub">{e.details === null ? '' : JSON.stringify(e.details)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next !== null && (
        <button type="button" data-testid="audit-older" onClick={() => load(next)}>
          {t('older')}
        </button>
      )}
    </section>
  );
}
