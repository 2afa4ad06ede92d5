/** Pure formatting helpers for the UI (no state, easy to test). */
import { counted } from './display';

export function pendingLabel(count: number): string {
  return count <= 0 ? 'No changes waiting to sync' : `${counted(count, 'change', 'changes')} waiting to sync`;
}

export function lastSyncLabel(iso: string | null, locale?: string): string {
  if (iso === null || iso === '') return 'Never synced';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return `Last sync: ${iso}`;
  return `Last sync: ${date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'medium' })}`;
}
