/** Pure formatting helpers for the UI (no state, easy to test). */
import type { RecordRow } from '../api';

export function pendingLabel(count: number): string {
  if (count <= 0) return 'No changes waiting to sync';
  if (count === 1) return '1 change waiting to sync';
  return `${count} changes waiting to sync`;
}

export function lastSyncLabel(iso: string | null, locale?: string): string {
  if (iso === null || iso === '') return 'Never synced';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return `Last sync: ${iso}`;
  return `Last sync: ${date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'medium' })}`;
}

export function formatRevenue(value: string | null | undefined, locale?: string): string {
  if (value === null || value === undefined) return '';
  const trimmed = value.trim();
  if (trimmed === '') return '';
  const number = Number(trimmed);
  if (!Number.isFinite(number)) return trimmed;
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(number);
}

export function field(row: RecordRow, key: string): string {
  return row.fields[key] ?? '';
}

/**
 * The id a lookup value (`entity:id`, the canonical text of ADR 0005) points at, when it
 * points at a record of `entity`; null otherwise.
 */
export function lookupId(value: string | null | undefined, entity: string): string | null {
  if (value === null || value === undefined) return null;
  const prefix = `${entity}:`;
  return value.startsWith(prefix) && value.length > prefix.length
    ? value.slice(prefix.length)
    : null;
}

/** Sort account rows by name (case- and accent-insensitive, numbers naturally), then id. */
export function sortByName(rows: readonly RecordRow[]): RecordRow[] {
  const collator = new Intl.Collator(undefined, { sensitivity: 'base', numeric: true });
  return [...rows].sort((a, b) => {
    const byName = collator.compare(field(a, 'name'), field(b, 'name'));
    return byName !== 0 ? byName : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}
