import { describe, expect, it } from 'vitest';
import { OutpostError, type SyncErrorRow } from '../api';
import { refusedError, syncError, takeResolutions } from '../../test/builders';
import { FakeCore, row } from '../../test/fake-core';
import {
  ErrorsStore,
  editableFields,
  kindLabel,
  reasonText,
  resubmitFields,
  resubmitStart,
  shownValue,
  waitingText,
} from './errors.svelte';
import { attributeDef } from './display';

const conflict = (overrides: Partial<SyncErrorRow> = {}) =>
  syncError({ changes: { telephone1: '555-0300', revenue: '1200.5' }, ...overrides });

/** A fake core that records resolutions and answers sync_errors from `core.errors`. */
function setup(rows: SyncErrorRow[]) {
  const core = new FakeCore();
  core.errors = rows;
  const resolved = takeResolutions(core);
  /** The syncs the shell saw finish. */
  const sync = { seen: 1 };
  const store = new ErrorsStore(core.run, () => sync.seen);
  const account = core.metadata.entities.find((e) => e.name === 'account') ?? null;
  return { core, store, resolved, account, sync };
}

describe('sync errors', () => {
  it('lists the errors and finds one by its operation', async () => {
    const { store, core } = setup([conflict(), refusedError()]);
    await store.load();
    expect(store.loaded).toBe(true);
    expect(store.rows.map((r) => r.op_id)).toEqual(['op-1', 'op-2']);
    expect(store.find('op-2')?.name).toBe('Alpha');
    expect(store.find('gone')).toBeNull();
    expect(core.callsOf('sync_errors')).toHaveLength(1);
  });

  it('says why it cannot read the errors', async () => {
    const { store, core } = setup([]);
    core.failNext.sync_errors = new OutpostError('internal', 'store locked');
    await store.load();
    expect(store.loadError).toMatch(/Could not read the sync errors: store locked/);
    expect(store.loaded).toBe(false);
  });

  it('names the conflicting fields by label and the error codes in words', () => {
    const { account } = setup([]);
    expect(reasonText(conflict(), account)).toBe('Changed on the server too: Phone');
    expect(reasonText(conflict({ kind: 'delete', conflicts: [] }), account)).toMatch(/changed on the server/);
    expect(reasonText(refusedError({ code: 'not_found', message: '' }), account)).toMatch(/no longer on the server/);
    expect(reasonText(refusedError({ code: 'something_new', message: 'odd' }), account)).toBe('odd');
    expect(kindLabel('lead_qualify')).toBe('Qualified the lead');
    expect(kindLabel('update')).toBe('Edited');
  });

  it('counts the changes waiting behind an error (B2)', () => {
    expect(waitingText(conflict())).toBeNull();
    expect(waitingText(conflict({ waiting: ['op-3'] }))).toBe('1 change waiting behind it');
    expect(waitingText(conflict({ waiting: ['op-3', 'op-4'] }))).toBe('2 changes waiting behind it');
  });

  it('shows values as a person reads them, blank as (empty)', () => {
    const { account } = setup([]);
    expect(shownValue(attributeDef(account, 'revenue'), '1200.5', {})).toMatch(/1,200\.50|1200[.,]50/);
    expect(shownValue(attributeDef(account, 'telephone1'), null, {})).toBe('(empty)');
    expect(
      shownValue(attributeDef(account, 'primarycontactid'), 'contact:c1', { 'contact:c1': 'Carla' }),
    ).toBe('Carla');
  });

  it('keeps mine: sends keep_mine, drops the row and says it is sent with the next sync', async () => {
    const { store, resolved } = setup([conflict()]);
    await store.load();
    const failure = await store.resolve(conflict(), { action: 'keep_mine' }, true);
    expect(failure).toBeNull();
    expect(resolved).toEqual([{ op_id: 'op-1', resolution: { action: 'keep_mine' } }]);
    expect(store.rows).toEqual([]);
    expect(store.notice?.text).toMatch(/Your change to Alpha is kept\. It reaches the server with the next sync/);
    expect(store.isResolving('op-1')).toBe(true);
  });

  it("takes the server's offline: listed as resolved here for as long as the core keeps it", async () => {
    const { store, resolved, core } = setup([conflict()]);
    await store.load();
    await store.resolve(conflict(), { action: 'take_server' }, false);
    expect(resolved).toEqual([{ op_id: 'op-1', resolution: { action: 'take_server' } }]);
    expect(store.notice?.text).toMatch(/You are offline: it is kept on this device and sent at the next sync/);
    expect(store.notice?.offline).toBe(true);
    expect(store.rows).toEqual([]);
    // Read again (another screen, a restart): the core still lists it, as taken.
    await store.load();
    expect(store.resolved.map((r) => [r.opId, r.action])).toEqual([['op-1', 'take_server']]);
    // A sync carried it: the core lists it no more.
    core.errors = core.errors.filter((e) => !e.resolving);
    await store.load();
    expect(store.resolved).toEqual([]);
  });

  it('resubmits corrected fields, keeping the other changed fields', async () => {
    const { store, resolved, account } = setup([conflict()]);
    await store.load();
    const row = conflict();
    expect(editableFields(account, row).map((a) => a.name)).toEqual(['telephone1', 'revenue']);
    const start = resubmitStart(account, row);
    expect(start).toEqual({ telephone1: '555-0300', revenue: '1200.5' });
    const checked = resubmitFields(account, row, { ...start, telephone1: '555-0400' });
    expect(checked).toEqual({ ok: true, fields: { telephone1: '555-0400', revenue: '1200.5' } });
    if (!checked.ok) return;
    await store.resolve(row, { action: 'resubmit', fields: checked.fields }, true);
    expect(resolved).toEqual([
      { op_id: 'op-1', resolution: { action: 'resubmit', fields: { telephone1: '555-0400', revenue: '1200.5' } } },
    ]);
    expect(store.notice?.text).toMatch(/Your corrected change to Alpha is saved/);
  });

  it('refuses a resubmit with a wrong value, naming the field and what to do', () => {
    const { account } = setup([]);
    const row = refusedError({ changes: { name: null, revenue: 'lots' } });
    expect(editableFields(account, row).map((a) => a.name)).toEqual(['name', 'revenue']);
    const checked = resubmitFields(account, row, { name: '', revenue: 'lots' });
    expect(checked).toEqual({
      ok: false,
      errors: {
        name: 'Account name is required',
        revenue: 'Annual revenue must be a number like 1234.50',
      },
    });
    expect(resubmitFields(account, row, { name: 'Alpha Ltd', revenue: '' })).toEqual({
      ok: true,
      fields: { name: 'Alpha Ltd', revenue: null },
    });
  });

  it('never offers the owner or the status of a created record for editing', () => {
    const { account } = setup([]);
    const row = refusedError({ kind: 'create', changes: { name: 'A', ownerid: 'systemuser:u1', statecode: '0' } });
    expect(editableFields(account, row).map((a) => a.name)).toEqual(['name']);
    expect(resubmitFields(account, row, { name: 'B' })).toEqual({
      ok: true,
      fields: { name: 'B', ownerid: 'systemuser:u1', statecode: '0' },
    });
  });

  it('says so when the error was already resolved elsewhere', async () => {
    const { store, core } = setup([conflict()]);
    await store.load();
    core.failNext.sync_error_resolve = new OutpostError('not_found', 'no sync error op-1');
    const failure = await store.resolve(conflict(), { action: 'keep_mine' }, true);
    expect(failure).toMatch(/already resolved/);
    expect(store.notice).toBeNull();
    expect(store.busy).toBeNull();
  });

  it('looks up the names behind lookup values of a conflict', async () => {
    const { store, core, account } = setup([]);
    core.records = [row('contact', 'c1', { fullname: 'Carla Diaz' }), row('contact', 'c2', { fullname: 'Dan Ek' })];
    const lookupConflict = conflict({
      conflicts: [{ field: 'primarycontactid', before: null, mine: 'contact:c1', server: 'contact:c2' }],
      changes: { primarycontactid: 'contact:c1' },
    });
    await store.loadNames(lookupConflict, account, (e) => core.metadata.entities.find((d) => d.name === e)?.primary_field ?? null);
    expect(store.names).toEqual({ 'contact:c1': 'Carla Diaz', 'contact:c2': 'Dan Ek' });
  });
});
