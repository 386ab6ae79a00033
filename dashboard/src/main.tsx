import './zod-config.js';
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Me } from '../../contracts/dashboard.js';
import { canWrite, setUnauthorizedListener } from './api.js';
import { endpoints } from './endpoints.js';
import { setFarmClock, setFarmTimeZone } from './time-zone.js';
import { I18n, type Lang, loadLang, makeT, saveLang } from './i18n.js';
import { AlertsPage } from './pages/alerts.js';
import { AuditPage } from './pages/audit.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { RegistryPage } from './pages/registry.js';
import { ReportsPage } from './pages/reports.js';
import { StationPage } from './pages/station.js';
import { SurveyPage } from './pages/survey.js';
import { useLatestGate } from './use-api.js';
import './styles.css';

/** Hash routes: the server serves index.html anyway, and hashes survive any proxy prefix. */
function useRoute(): string[] {
  const read = (): string[] =>
    location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = (): void => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function App() {
  const [lang, setLang] = useState<Lang>(loadLang);
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const route = useRoute();
  const i18n = useMemo(() => ({ lang, t: makeT(lang) }), [lang]);
  const t = i18n.t;

  useEffect(() => {
    document.documentElement.lang = lang;
    saveLang(lang);
  }, [lang]);
  useEffect(() => {
    setUnauthorizedListener(() => setMe(null));
    endpoints.me().then(setMe, () => setMe(null));
  }, []);
  // The farms' time zone, once signed in: pages drawn before it arrives are drawn again in it.
  // Asked again at each sign-in: only the newest answer lands (use-api.ts).
  const [, setZone] = useState<string | null>(null);
  const zoneGate = useLatestGate();
  useEffect(() => {
    if (!me) return;
    zoneGate.track(
      endpoints.uiConfig,
      (config) => {
        setFarmTimeZone(config.timeZone);
        setFarmClock(config.clock);
        setZone(config.timeZone);
      },
      () => undefined, // keep the default zone; the pages still work
    );
  }, [me]);

  const page = route[0] ?? 'overview';
  const logout = async (): Promise<void> => {
    await endpoints.signOut().catch(() => undefined);
    setMe(null);
  };
  const langToggle = (
    <button type="button" class="lang" data-testid="lang-toggle" onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')}>
      {lang === 'vi' ? 'EN' : 'VI'}
    </button>
  );

  return (
    <I18n.Provider value={i18n}>
      <header class="top no-print">
        <a href="#/overview" class="brand">
          ❄ frostwatch
        </a>
        {me && (
          <nav>
            {(
              [
                'overview',
                'alerts',
                ...(canWrite(me) ? (['survey'] as const) : []),
                'registry',
                'reports',
                ...(me.role === 'admin' ? (['audit'] as const) : []),
              ] as const
            ).map((p) => (
              <a href={`#/${p}`} class={page === p ? 'current' : ''} data-testid={`nav-${p}`}>
                {t(p)}
              </a>
            ))}
          </nav>
        )}
        <span class="spacer" />
        {langToggle}
        {me && (
          <span class="who" data-testid="me">
            {me.name}{' '}
            <span class={`role role-${me.role}`} data-testid="me-role">
              {me.role}
            </span>
            {me.districtName !== null && (
              <span class="district" data-testid="me-district" title={t('district')}>
                {me.districtName}
              </span>
            )}
            <button type="button" data-testid="sign-out" onClick={() => void logout()}>
              {t('signOut')}
            </button>
          </span>
        )}
      </header>
      <main>
        {me === undefined && <p>{t('loading')}</p>}
        {me === null && <LoginPage onSignedIn={setMe} />}
        {me && page === 'overview' && <OverviewPage />}
        {me && page === 'station' && route[1] && <StationPage id={route[1]} />}
        {me && page === 'alerts' && <AlertsPage me={me} />}
        {me && page === 'registry' && <RegistryPage me={me} />}
        {me && page === 'reports' && <ReportsPage />}
        {me && page === 'survey' && <SurveyPage me={me} />}
        {me?.role === 'admin' && page === 'audit' && <AuditPage />}
      </main>
      <footer class="no-print">
        <a href="/docs" data-testid="link-docs">
          {t('docs')}
        </a>{' '}
        ·{' '}
        <a href="/health" data-testid="link-health">
          {t('health')}
        </a>
      </footer>
    </I18n.Provider>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
