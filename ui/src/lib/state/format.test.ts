import { describe, expect, it } from 'vitest';
import { lastSyncLabel, pendingLabel } from './format';

describe('format', () => {
  it('pendingLabel', () => {
    expect(pendingLabel(0)).toBe('No changes waiting to sync');
    expect(pendingLabel(1)).toBe('1 change waiting to sync');
    expect(pendingLabel(2)).toBe('2 changes waiting to sync');
  });

  it('lastSyncLabel', () => {
    expect(lastSyncLabel(null)).toBe('Never synced');
    expect(lastSyncLabel('garbage')).toBe('Last sync: garbage');
    const label = lastSyncLabel('2024-05-01T10:00:00Z', 'en-GB');
    expect(label).toMatch(/^Last sync: /);
    expect(label).toContain('2024');
  });
});
