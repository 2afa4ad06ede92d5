/** Pure formatting helpers for the UI (no state, easy to test). */

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
