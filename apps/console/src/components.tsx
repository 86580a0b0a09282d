import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from './api';

/** A failed request, said plainly; field errors listed under it. */
export function ErrorNote({ error }: { error: ApiError | null | undefined }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      <p>{error.message}</p>
      {error.errors.length > 1 && (
        <ul>
          {error.errors.map((e) => (
            <li key={e.field + e.message}>
              <code>{e.field}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value}</span>;
}

export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span class="muted">—</span>;
  const d = new Date(value);
  return (
    <time dateTime={value} title={value}>
      {d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })}
    </time>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {text}
    </pre>
  );
}

/** A wide table scrolls inside its own box on a narrow screen instead of widening the page. */
export function Table({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </div>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null;
}

/** A secret shown once (a new API key, a signing secret), with a button that copies it. */
export function ShownOnce({ label, value }: { label: string; value: string }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async (input: HTMLInputElement | null) => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied.');
    } catch {
      // Clipboard access needs a secure context (https or localhost): select it for the operator instead.
      input?.select();
      setCopied(document.execCommand('copy') ? 'Copied.' : 'Selected: copy it with your keyboard.');
    }
  };
  let input: HTMLInputElement | null = null;
  return (
    <div class="shown-once">
      <label>
        {label}
        <input
          readOnly
          value={value}
          ref={(el) => {
            input = el;
          }}
          spellcheck={false}
          autocomplete="off"
          onFocus={(e) => e.currentTarget.select()}
        />
      </label>
      <button type="button" onClick={() => void copy(input)}>
        Copy
      </button>
      <p class="hint">Shown only now: Herald keeps no copy it could show again.</p>
      <p role="status" class="hint">
        {copied}
      </p>
    </div>
  );
}

/** `value` as a count cell; absent counts show as a dash rather than a made-up zero. */
export function Count({ value }: { value: number | undefined }) {
  return value === undefined ? <span class="muted">—</span> : <>{value}</>;
}
