import { useState } from 'preact/hooks';
import type { Alert, AlertStatus } from '../../../contracts/alerts.js';
import type { Me } from '../../../contracts/dashboard.js';
import { canWrite, errorText } from '../api.js';
import { endpoints } from '../endpoints.js';
import { useApi } from '../use-api.js';
import { fmtTime, useLang, useT } from '../i18n.js';
import { levelText } from '../levels.js';
import { useLiveEvents } from '../live.js';

const TABS: AlertStatus[] = ['active', 'acknowledged', 'cleared'];

export function AlertsPage({ me }: { me: Me }) {
  const t = useT();
  const [tab, setTab] = useState<AlertStatus>('active');
  const { data: alerts, error, reload } = useApi(() => endpoints.alerts(tab), [tab]);
  useLiveEvents({ alert: reload });

  return (
    <section>
      <h1>{t('alerts')}</h1>
      <div class="buttons tabs" role="tablist">
        {TABS.map((s) => (
          <button
            type="button"
            role="tab"
            aria-selected={tab === s}
            class={tab === s ? 'current' : ''}
            data-testid={`tab-${s}`}
            onClick={() => setTab(s)}
          >
            {t(s)}
          </button>
        ))}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {alerts === null ? (
        <p>{t('loading')}</p>
      ) : alerts.length === 0 ? (
        <p>{t('noAlerts')}</p>
      ) : (
        <ul class="alerts" data-testid="alert-list">
          {alerts.map((a) => (
            <AlertRow key={a.id} alert={a} me={me} onChanged={reload} />
          ))}
        </ul>
      )}
      <UnreachedList />
    </section>
  );
}

function AlertRow({ alert, me, onChanged }: { alert: Alert; me: Me; onChanged: () => void }) {
  const t = useT();
  const lang = useLang();
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const ack = async (): Promise<void> => {
    try {
      await endpoints.acknowledge(alert.id);
      onChanged();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <li class={`alert level-${alert.level}`} data-testid={`alert-${alert.id}`} data-status={alert.status}>
      <div class="alert-head">
        <button type="button" class="link" aria-expanded={open} data-testid={`alert-toggle-${alert.id}`} onClick={() => setOpen(!open)}>
          {open ? '▾' : '▸'} <strong>{alert.stationId}</strong> · {t(`kind_${alert.kind}`)} · {levelText(alert.level, t)}
        </button>
        <span class="sub">
          {t('opened')} {fmtTime(alert.openedAt, lang)}
          {alert.acknowledgedBy && ` · ✓ ${alert.acknowledgedBy}`}
        </span>
        {alert.status === 'active' && canWrite(me) && (
          <button type="button" class="primary" data-testid={`ack-${alert.id}`} onClick={() => void ack()}>
            {t('acknowledge')}
          </button>
        )}
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {open && <AlertDetailView id={alert.id} />}
    </li>
  );
}

function AlertDetailView({ id }: { id: number }) {
  const t = useT();
  const lang = useLang();
  const { data: detail, error } = useApi(() => endpoints.alert(id), [id]);
  if (error) return <p class="error">{error}</p>;
  if (!detail) return <p>{t('loading')}</p>;
  return (
    <div class="alert-detail" data-testid={`alert-detail-${id}`}>
      <h3>{t('history')}</h3>
      <ul>
        {(detail.events ?? []).map((e) => (
          <li>
            {fmtTime(e.at, lang)} · <strong>{e.transition}</strong> · {e.reason}
          </li>
        ))}
      </ul>
      <h3>{t('deliveries')}</h3>
      <div class="table-wrap">
        <table data-testid={`deliveries-${id}`}>
          <thead>
            <tr>
              <th>{t('who')}</th>
              <th>{t('channel')}</th>
              <th>{t('status')}</th>
              <th>{t('time')}</th>
            </tr>
          </thead>
          <tbody>
            {(detail.deliveries ?? []).map((d) => (
              <tr>
                <td>
                  {d.recipientName ?? d.recipientKind} <span class="sub">{d.phone}</span>
                </td>
                <td>{d.channel}</td>
                <td>
                  {d.status}
                  {d.lastError && <div class="sub warn">{d.lastError}</div>}
                </td>
                <td>{fmtTime(d.updatedAt, lang)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

function UnreachedList() {
  const t = useT();
  const lang = useLang();
  const { data: rows, error } = useApi(() => endpoints.unreached(18), []);
  return (
    <section class="card" data-testid="unreached">
      <h2>{t('unreached')}</h2>
      {error && <p class="error">{error}</p>}
      {rows && rows.length === 0 && <p>{t('nobodyUnreached')}</p>}
      {rows && rows.length > 0 && (
        <ul>
          {rows.map((r) => (
            <li data-testid={`unreached-${r.eventId}-${r.recipientId}`}>
              <strong>{r.recipientName ?? r.recipientKind}</strong> {r.phone} · {r.stationId ?? '—'} · {r.statuses.join(', ')} ·{' '}
              {fmtTime(r.lastUpdatedAt, lang)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
