import { useMemo, useState } from 'preact/hooks';
import type { Damage } from '../../../contracts/forecast.js';
import type { Me } from '../../../contracts/dashboard.js';
import { canWrite } from '../api.js';
import { endpoints } from '../endpoints.js';
import { farmDate } from '../farm-date.js';
import { Field, FormError, useAction } from '../forms.js';
import { fill, fmtTime, useLang, useT } from '../i18n.js';
import { useApi } from '../use-api.js';

const DAMAGES: readonly Damage[] = ['none', 'leaf_burn', 'young_trees_lost', 'severe'];

/** Communes compare as the server files them: composed (NFC) and without regard to case. */
const sameCommune = (a: string, b: string): boolean =>
  a.normalize('NFC').toLocaleLowerCase('vi') === b.normalize('NFC').toLocaleLowerCase('vi');

/**
 * The morning after, on a phone in the field: which night (by default last night: the evening before today, farm
 * time), which commune, optionally which farm, and the damage in four big buttons. The night's surveys follow below;
 * a viewer sees them and nothing to change.
 */
export function SurveyPage({ me }: { me: Me }) {
  const t = useT();
  const writer = canWrite(me);
  const [night, setNight] = useState(() => farmDate(-1));
  const { data: surveys, error, reload } = useApi(() => endpoints.surveys(night, night), [night], false);

  return (
    <section class="survey-page">
      <h1>{t('surveyTitle')}</h1>
      {!writer && (
        <p class="hint" data-testid="read-only">
          {t('readOnly')}
        </p>
      )}
      <Field label={t('surveyNight')}>
        <input
          type="date"
          value={night}
          required
          data-testid="survey-night"
          onChange={(e) => {
            if (e.currentTarget.value !== '') setNight(e.currentTarget.value);
          }}
        />
      </Field>
      {writer && <SurveyForm night={night} onSaved={reload} />}
      <h2>{fill(t('surveysOfNight'), { night })}</h2>
      <FormError error={error} testid="survey-list-error" />
      {surveys === null ? <p>{t('loading')}</p> : <SurveyList surveys={surveys} />}
    </section>
  );
}

function SurveyForm({ night, onSaved }: { night: string; onSaved: () => void }) {
  const t = useT();
  const action = useAction();
  const { data: stations } = useApi(endpoints.stations, []);
  const { data: farmers } = useApi(endpoints.farmers, []);
  const communes = useMemo(() => {
    const seen: string[] = [];
    for (const s of stations ?? []) if (!seen.some((c) => sameCommune(c, s.commune))) seen.push(s.commune);
    return seen.sort((a, b) => a.localeCompare(b, 'vi'));
  }, [stations]);
  const [picked, setCommune] = useState<string | null>(null);
  const commune = picked ?? communes[0] ?? '';
  // A farm of the commune: filed under it, or warned through one of its stations.
  const farms = useMemo(() => {
    const stationCommune = new Map((stations ?? []).map((s) => [s.id, s.commune]));
    return (farmers ?? [])
      .filter(
        (f) =>
          (f.commune !== null && sameCommune(f.commune, commune)) ||
          f.subscriptions.some((s) => sameCommune(stationCommune.get(s.stationId) ?? '', commune)),
      )
      .sort((a, b) => a.name.localeCompare(b.name, 'vi'));
  }, [stations, farmers, commune]);
  const [farmerId, setFarmerId] = useState('');
  const [damage, setDamage] = useState<Damage | null>(null);
  const [note, setNote] = useState('');
  const [saved, setSaved] = useState(false);
  const [missing, setMissing] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setSaved(false);
    if (damage === null) {
      setMissing(true);
      return;
    }
    setMissing(false);
    const body = {
      night,
      commune,
      damage,
      ...(farmerId === '' ? {} : { farmerId: Number(farmerId) }),
      ...(note.trim() === '' ? {} : { note: note.trim() }),
    };
    if (
      await action.run(async () => {
        await endpoints.addSurvey(body);
      })
    ) {
      setDamage(null);
      setNote('');
      setSaved(true);
      onSaved();
    }
  };

  return (
    <form class="card survey-form" data-testid="survey-form" onSubmit={(e) => void submit(e)} noValidate>
      <Field label={t('commune')}>
        <select
          value={commune}
          data-testid="survey-commune"
          onChange={(e) => {
            setCommune(e.currentTarget.value);
            setFarmerId('');
          }}
        >
          {communes.map((c) => (
            <option value={c}>{c}</option>
          ))}
        </select>
      </Field>
      <Field label={t('farm')}>
        <select value={farmerId} data-testid="survey-farmer" onChange={(e) => setFarmerId(e.currentTarget.value)}>
          <option value="">{t('wholeCommune')}</option>
          {farms.map((f) => (
            <option value={String(f.id)}>{f.name}</option>
          ))}
        </select>
      </Field>
      <fieldset class="damage-choices">
        <legend>{t('damage')}</legend>
        {DAMAGES.map((d) => (
          <button
            type="button"
            class={`damage damage-${d}${damage === d ? ' chosen' : ''}`}
            aria-pressed={damage === d}
            data-testid={`damage-${d}`}
            onClick={() => {
              setDamage(d);
              setMissing(false);
              setSaved(false);
            }}
          >
            {t(`damage_${d}`)}
          </button>
        ))}
      </fieldset>
      <Field label={t('note')}>
        <textarea rows={2} maxLength={500} value={note} data-testid="survey-note" onInput={(e) => setNote(e.currentTarget.value)} />
      </Field>
      <FormError error={missing ? t('chooseDamage') : action.error} testid="survey-error" />
      {saved && (
        <p class="ok" role="status" data-testid="survey-saved">
          {t('saved')}
        </p>
      )}
      <button type="submit" class="primary wide" disabled={action.busy || commune === ''} data-testid="survey-submit">
        {t('save')}
      </button>
    </form>
  );
}

function SurveyList({ surveys }: { surveys: Awaited<ReturnType<typeof endpoints.surveys>> }) {
  const t = useT();
  const lang = useLang();
  if (surveys.length === 0) return <p data-testid="survey-none">{t('noSurveys')}</p>;
  return (
    <ul class="surveys" data-testid="survey-list">
      {surveys.map((s) => (
        <li class={`survey damage-${s.damage}`} data-testid={`survey-${s.id}`} data-damage={s.damage} data-commune={s.commune}>
          <div class="survey-head">
            <strong>{s.commune}</strong> · {s.farmerName ?? t('wholeCommune')}
            <span class={`damage-tag damage-${s.damage}`}>{t(`damage_${s.damage}`)}</span>
          </div>
          {s.note !== null && <div class="survey-note">{s.note}</div>}
          <div class="sub">
            {s.recordedBy} ({t(`source_${s.source}`)}) · {fmtTime(s.recordedAt, lang)}
          </div>
        </li>
      ))}
    </ul>
  );
}
