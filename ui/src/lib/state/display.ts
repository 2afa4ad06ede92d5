/**
 * Field values as a person reads and types them. Values travel as canonical text
 * (ADR 0005): numbers with `.`, dates `yyyy-mm-dd`, date-times RFC 3339 UTC, choices by
 * number, yes/no as `true`/`false`, lookups `entity:id`. Pure functions, no state.
 */
import type { AttributeDef, AttributeKind, EntityDef, Metadata } from '../api';

/** The entity definition, or null when the metadata has none of that name. */
export function entityDef(metadata: Metadata | null, name: string): EntityDef | null {
  return metadata?.entities.find((e) => e.name === name) ?? null;
}

export function attributeDef(entity: EntityDef | null, name: string): AttributeDef | null {
  return entity?.attributes.find((a) => a.name === name) ?? null;
}

/** The options of a choice, state or status attribute. */
export function optionsOf(kind: AttributeKind): { value: number; label: string }[] {
  switch (kind.type) {
    case 'choice':
    case 'state':
    case 'status':
      return kind.options.map((o) => ({ value: o.value, label: o.label }));
    default:
      return [];
  }
}

/** The record id a lookup value (`entity:id`) points at, with its entity. */
export function lookupParts(value: string | null | undefined): { entity: string; id: string } | null {
  if (value === null || value === undefined) return null;
  const at = value.indexOf(':');
  if (at <= 0 || at === value.length - 1) return null;
  return { entity: value.slice(0, at), id: value.slice(at + 1) };
}

/**
 * A value as a grid cell or a read-only field shows it. `labels` names the records
 * lookups point at (from `record_get`); without one a lookup shows as "(not on this
 * device)".
 */
export function displayValue(
  attr: AttributeDef | null,
  value: string | null | undefined,
  labels: Record<string, string> = {},
  locale?: string,
): string {
  if (value === null || value === undefined || value === '') return '';
  if (attr === null) return value;
  const kind = attr.kind;
  switch (kind.type) {
    case 'choice':
    case 'state':
    case 'status': {
      const n = Number(value);
      return optionsOf(kind).find((o) => o.value === n)?.label ?? value;
    }
    case 'bool':
      return value === 'true' ? 'Yes' : 'No';
    case 'money': {
      const n = Number(value);
      return Number.isFinite(n)
        ? new Intl.NumberFormat(locale, {
            minimumFractionDigits: Math.min(kind.precision, 2),
            maximumFractionDigits: kind.precision,
          }).format(n)
        : value;
    }
    case 'decimal':
    case 'whole_number': {
      const n = Number(value);
      return Number.isFinite(n) ? new Intl.NumberFormat(locale).format(n) : value;
    }
    case 'date_only': {
      const d = new Date(`${value}T00:00:00`);
      return Number.isNaN(d.getTime()) ? value : d.toLocaleDateString(locale, { dateStyle: 'medium' });
    }
    case 'date_time':
      return dateTimeText(value, '', locale);
    case 'lookup':
    case 'owner': {
      const label = labels[attr.name];
      if (label !== undefined) return label;
      return lookupParts(value) === null ? value : '(not on this device)';
    }
    default:
      return value;
  }
}

/** The text an editor shows for a canonical value (`<input type=datetime-local>` etc.). */
export function editorText(attr: AttributeDef, value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (attr.kind.type === 'date_time') {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return value;
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  return value;
}

/**
 * The canonical value of what an editor holds, or an error a person can act on. Blank
 * is null (a cleared field). The core checks everything again; this catches typing
 * mistakes before a round trip and says which field is wrong.
 */
export function parseEditor(
  attr: AttributeDef,
  text: string,
): { ok: true; value: string | null } | { ok: false; error: string } {
  const t = text.trim();
  if (t === '') {
    return attr.requirement === 'required'
      ? { ok: false, error: `${attr.label} is required` }
      : { ok: true, value: null };
  }
  const kind = attr.kind;
  switch (kind.type) {
    case 'text':
    case 'memo':
      return text.length > kind.max_len
        ? { ok: false, error: `${attr.label} is at most ${kind.max_len} characters` }
        : { ok: true, value: text };
    case 'whole_number':
    case 'big_int': {
      if (!/^-?\d+$/.test(t)) return { ok: false, error: `${attr.label} must be a whole number` };
      if (kind.type === 'whole_number') {
        const n = Number(t);
        if (n < kind.min || n > kind.max) {
          return { ok: false, error: `${attr.label} must be between ${kind.min} and ${kind.max}` };
        }
      }
      return { ok: true, value: t };
    }
    case 'decimal':
    case 'money': {
      const normal = t.replace(/\s/g, '');
      if (!/^-?\d+(\.\d+)?$/.test(normal)) {
        return { ok: false, error: `${attr.label} must be a number like 1234.50` };
      }
      const places = normal.split('.')[1]?.length ?? 0;
      if (places > kind.precision) {
        return {
          ok: false,
          error: `${attr.label} has at most ${kind.precision} decimal places`,
        };
      }
      const n = Number(normal);
      if (n < Number(kind.min) || n > Number(kind.max)) {
        return { ok: false, error: `${attr.label} must be between ${kind.min} and ${kind.max}` };
      }
      return { ok: true, value: normal };
    }
    case 'date_only':
      return /^\d{4}-\d{2}-\d{2}$/.test(t)
        ? { ok: true, value: t }
        : { ok: false, error: `${attr.label} must be a date (yyyy-mm-dd)` };
    case 'date_time': {
      const d = new Date(t);
      return Number.isNaN(d.getTime())
        ? { ok: false, error: `${attr.label} must be a date and time` }
        : { ok: true, value: d.toISOString().replace(/\.\d{3}Z$/, 'Z') };
    }
    case 'bool':
      return t === 'true' || t === 'false'
        ? { ok: true, value: t }
        : { ok: false, error: `${attr.label} must be yes or no` };
    case 'choice':
    case 'state':
    case 'status':
      return optionsOf(kind).some((o) => String(o.value) === t)
        ? { ok: true, value: t }
        : { ok: false, error: `Choose one of the options for ${attr.label}` };
    case 'lookup':
    case 'owner':
      return lookupParts(t) === null
        ? { ok: false, error: `Choose a record for ${attr.label}` }
        : { ok: true, value: t };
  }
}

/**
 * A moment (RFC 3339) as a person reads it (`Nov 28, 2026, 10:49 PM`); `missing` when
 * there is none, and text that is not a date as it is.
 */
export function dateTimeText(iso: string | null | undefined, missing = '', locale?: string): string {
  if (iso === null || iso === undefined || iso === '') return missing;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Progress of a download or sync (`120 records of 500 — 12 s left`). */
export function progressText(progress: { done: number; remaining: number; seconds_left: number | null }): string {
  const of = `${counted(progress.done, 'record', 'records')} of ${(progress.done + progress.remaining).toLocaleString()}`;
  return progress.seconds_left === null ? of : `${of} — ${duration(progress.seconds_left)} left`;
}

/** A count with its noun (`1 account`, `3 accounts`). */
export function counted(count: number, one: string, many: string): string {
  return `${count.toLocaleString()} ${count === 1 ? one : many}`;
}

/** Seconds as a person reads a wait (`about 2 min`). */
export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return `about ${hours} h ${minutes % 60} min`;
}

/**
 * What unsent work amounts to, in words ("2 changes, 1 sync error and 1 draft"), or
 * `null` when there is none.
 */
export function unsentText(unsent: {
  changes: number;
  sync_errors: number;
  resolutions: number;
  drafts: number;
}): string | null {
  const parts = [
    [unsent.changes, 'change', 'changes'],
    [unsent.sync_errors, 'sync error', 'sync errors'],
    [unsent.resolutions, 'resolution not yet sent', 'resolutions not yet sent'],
    [unsent.drafts, 'draft', 'drafts'],
  ] as const;
  const words = parts.filter(([n]) => n > 0).map(([n, one, many]) => counted(n, one, many));
  if (words.length === 0) return null;
  const last = words.pop() as string;
  return words.length === 0 ? last : `${words.join(', ')} and ${last}`;
}
