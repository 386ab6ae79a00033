import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from './api.js';

/** Runs a form action, keeping the server's 400 message to show next to the form. */
export function useAction(): { busy: boolean; error: string | null; run: (fn: () => Promise<void>) => Promise<boolean> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(errorText(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function Field(props: { label: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      {props.children}
    </label>
  );
}

export function FormError({ error, testid }: { error: string | null; testid: string }) {
  return error ? (
    <p class="error" role="alert" data-testid={testid}>
      {error}
    </p>
  ) : null;
}

/** Text of an input by name, read at submit: the forms stay uncontrolled and short. */
export function val(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement ? el.value.trim() : '';
}
/** A number field; NaN when empty or malformed, which the server then rejects with its own message. */
export const num = (form: HTMLFormElement, name: string): number => (val(form, name) === '' ? Number.NaN : Number(val(form, name)));
