import { describe, expect, it } from 'vitest';
import {
  formatRevenue,
  lastSyncLabel,
  lookupId,
  pendingLabel,
  sortByName,
} from './format';
import { account } from '../../test/fake-api';

describe('format', () => {
  it('lookupId reads the id of an entity:id lookup of the given entity only', () => {
    expect(lookupId('systemuser:u1', 'systemuser')).toBe('u1');
    expect(lookupId('team:t1', 'systemuser')).toBeNull();
    expect(lookupId('systemuser:', 'systemuser')).toBeNull();
    expect(lookupId(null, 'systemuser')).toBeNull();
    expect(lookupId(undefined, 'systemuser')).toBeNull();
  });

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

  it('formatRevenue', () => {
    expect(formatRevenue('1250000', 'en-US')).toBe('1,250,000');
    expect(formatRevenue('12.5', 'en-US')).toBe('12.5');
    expect(formatRevenue('n/a')).toBe('n/a');
    expect(formatRevenue(null)).toBe('');
    expect(formatRevenue(undefined)).toBe('');
    expect(formatRevenue('  ')).toBe('');
  });

  it('sortByName sorts case-insensitively and naturally, then by id, without mutating', () => {
    const rows = [
      account('3', { name: 'beta' }),
      account('1', { name: 'Alpha 10' }),
      account('2', { name: 'alpha 9' }),
      account('5', { name: 'Beta' }),
      account('4', {}),
    ];
    const sorted = sortByName(rows);
    expect(sorted.map((r) => r.id)).toEqual(['4', '2', '1', '3', '5']);
    expect(rows.map((r) => r.id)).toEqual(['3', '1', '2', '5', '4']);
  });
});
