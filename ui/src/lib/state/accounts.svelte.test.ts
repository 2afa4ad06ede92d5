import { describe, expect, it, vi } from 'vitest';
import { OutpostError } from '../api';
import { AccountsStore } from './accounts.svelte';
import { account, fakeApi, user } from '../../test/fake-api';

function setup() {
  const fake = fakeApi({
    rows: [
      account('b', { name: 'Bravo', address1_city: 'Berlin', revenue: '200', ownerid: 'systemuser:u1' }),
      account('a', { name: 'Alpha', address1_city: null, revenue: '100', ownerid: 'systemuser:u1' }),
      account('c', { name: 'Charlie', address1_city: 'Cork', revenue: '300', ownerid: 'team:t1' }, true),
    ],
    users: [user('u1', 'Fiona Field')],
  });
  const onChanged = vi.fn();
  const accounts = new AccountsStore(fake.api, { onChanged });
  return { ...fake, accounts, onChanged };
}

/** How many times the accounts (not the users) were listed. */
function accountLoads(api: ReturnType<typeof fakeApi>['api']): number {
  return api.recordList.mock.calls.filter(([args]) => args.entity === 'account').length;
}

describe('AccountsStore', () => {
  it('names owners from the users on the device; teams and unknown users stay blank', async () => {
    const { accounts } = setup();
    await accounts.load();
    expect(accounts.showOwner).toBe(true);
    const owner = (id: string) => accounts.ownerName(accounts.rows.find((r) => r.id === id)!);
    expect(owner('a')).toBe('Fiona Field');
    expect(owner('c')).toBe('');
  });

  it('hides the owner column when no users are on the device', async () => {
    const fake = fakeApi({ rows: [account('a', { name: 'Alpha', ownerid: 'systemuser:u1' })] });
    const accounts = new AccountsStore(fake.api);
    await accounts.load();
    expect(accounts.loaded).toBe(true);
    expect(accounts.showOwner).toBe(false);
  });

  it('loads accounts and sorts them by name', async () => {
    const { api, accounts } = setup();
    await accounts.load();
    expect(api.recordList).toHaveBeenCalledWith({ entity: 'account' });
    expect(api.recordList).toHaveBeenCalledWith({ entity: 'systemuser' });
    expect(accounts.loaded).toBe(true);
    expect(accounts.sorted.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(accounts.loading).toBe(false);
  });

  it('keeps the last rows and reports an error when loading fails', async () => {
    const { accounts, backend } = setup();
    await accounts.load();
    backend.failNext.recordList = new OutpostError('internal', 'db locked');
    await accounts.load();
    expect(accounts.loadError).toBe('Could not load accounts: db locked');
    expect(accounts.rows).toHaveLength(3);
    await accounts.load();
    expect(accounts.loadError).toBeNull();
  });

  it('starts an edit with the current values (null city becomes empty)', async () => {
    const { accounts } = setup();
    await accounts.load();
    accounts.startEdit('a');
    expect(accounts.editing).toEqual({ id: 'a', name: 'Alpha', city: '' });
    accounts.cancelEdit();
    expect(accounts.editing).toBeNull();
  });

  it('rejects an empty name without calling the backend', async () => {
    const { api, accounts } = setup();
    await accounts.load();
    accounts.startEdit('a');
    accounts.updateDraft({ name: '   ' });
    expect(await accounts.save()).toBe(false);
    expect(accounts.editError).toBe('Name is required');
    expect(accounts.editing).not.toBeNull();
    expect(api.recordUpdate).not.toHaveBeenCalled();
  });

  it('sends only changed fields, reloads and notifies', async () => {
    const { api, accounts, onChanged } = setup();
    await accounts.load();
    accounts.startEdit('b');
    accounts.updateDraft({ name: ' Zulu ' });
    expect(await accounts.save()).toBe(true);
    expect(api.recordUpdate).toHaveBeenCalledWith({
      entity: 'account',
      id: 'b',
      fields: { name: 'Zulu' },
    });
    expect(accountLoads(api)).toBe(2);
    expect(onChanged).toHaveBeenCalledTimes(1);
    expect(accounts.editing).toBeNull();
    expect(accounts.sorted.map((r) => r.fields.name)).toEqual(['Alpha', 'Charlie', 'Zulu']);
    expect(accounts.rows.find((r) => r.id === 'b')?.pending).toBe(true);
  });

  it('sends the city alone when only the city changed', async () => {
    const { api, accounts } = setup();
    await accounts.load();
    accounts.startEdit('a');
    accounts.updateDraft({ city: 'Aarhus' });
    await accounts.save();
    expect(api.recordUpdate).toHaveBeenCalledWith({
      entity: 'account',
      id: 'a',
      fields: { address1_city: 'Aarhus' },
    });
  });

  it('closes without a backend call when nothing changed', async () => {
    const { api, accounts, onChanged } = setup();
    await accounts.load();
    accounts.startEdit('a');
    expect(await accounts.save()).toBe(true);
    expect(accounts.editing).toBeNull();
    expect(api.recordUpdate).not.toHaveBeenCalled();
    expect(onChanged).not.toHaveBeenCalled();
  });

  it('keeps the editor open with a message when saving fails', async () => {
    const { accounts, backend, onChanged } = setup();
    await accounts.load();
    accounts.startEdit('a');
    accounts.updateDraft({ name: 'New' });
    backend.failNext.recordUpdate = new OutpostError('internal', 'disk full');
    expect(await accounts.save()).toBe(false);
    expect(accounts.editError).toBe('Could not save: disk full');
    expect(accounts.editing?.name).toBe('New');
    expect(accounts.saving).toBe(false);
    expect(onChanged).not.toHaveBeenCalled();
  });

  it('reloads the list when the record is gone', async () => {
    const { api, accounts, backend } = setup();
    await accounts.load();
    accounts.startEdit('a');
    accounts.updateDraft({ name: 'New' });
    backend.rows = backend.rows.filter((r) => r.id !== 'a');
    expect(await accounts.save()).toBe(false);
    expect(accounts.editError).toMatch(/no longer exists/);
    expect(accountLoads(api)).toBe(2);
    expect(accounts.rows.map((r) => r.id)).not.toContain('a');
  });
});
