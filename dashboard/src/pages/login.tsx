import { useState } from 'preact/hooks';
import type { Me } from '../../../contracts/dashboard.js';
import { errorText } from '../api.js';
import { endpoints } from '../endpoints.js';
import { useT } from '../i18n.js';

export function LoginPage({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const t = useT();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await endpoints.signIn(username.trim(), password));
    } catch (err) {
      setError(`${t('signInFailed')}: ${errorText(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card login" data-testid="login-form" onSubmit={(e) => void submit(e)}>
      <h1>{t('signIn')}</h1>
      <label>
        {t('username')}
        <input
          data-testid="login-username"
          name="username"
          autocomplete="username"
          required
          autocapitalize="none"
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
      </label>
      <label>
        {t('password')}
        <input
          data-testid="login-password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {error && (
        <p class="error" role="alert" data-testid="login-error">
          {error}
        </p>
      )}
      <button type="submit" class="primary" data-testid="login-submit" disabled={busy}>
        {t('signIn')}
      </button>
    </form>
  );
}
