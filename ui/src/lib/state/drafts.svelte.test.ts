import { describe, expect, it, vi } from 'vitest';
import { OutpostError, type DraftRow } from '../api';
import { DraftEditor, DraftsStore, OFFLINE_SAVE_MESSAGE, RecentRecord, recordName } from './drafts.svelte';
import { row } from '../../test/fake-core';
import { salesCore } from '../../test/form-fixtures';

function draft(id: string, fields: Record<string, string | null>, error: string | null = null): DraftRow {
  return { id, entity: 'account', fields, created_at: '2026-11-28T10:00:00Z', updated_at: '2026-11-28T10:00:00Z', error };
}

/** A fake core holding drafts and recently opened records. */
function draftsCore() {
  const core = salesCore();
  let drafts: DraftRow[] = [draft('d1', { name: 'Kiosk Café' }), draft('d2', { name: 'Harbour Bikes' })];
  const recent = [row('account', 'a9', { name: 'Opened Online Ltd' })];
  core.handlers.draft_list = () => drafts;
  core.handlers.recent_list = () => recent;
  core.handlers.draft_save = ({ id }) => {
    if (!core.online) throw new OutpostError('server_unreachable', 'cannot reach the server');
    const found = drafts.find((d) => d.id === id);
    if (!found) throw new OutpostError('not_found', 'no draft');
    drafts = drafts.filter((d) => d.id !== id);
    return row(found.entity, found.id, found.fields);
  };
  core.handlers.draft_delete = ({ id }) => {
    drafts = drafts.filter((d) => d.id !== id);
    return null;
  };
  core.handlers.draft_create = ({ entity, fields }) => {
    if ((fields.primarycontactid ?? '').startsWith('contact:far')) {
      throw new OutpostError('invalid_input', 'Primary contact: a draft can only point at a record available offline');
    }
    const made = { ...draft(`d${drafts.length + 1}`, fields), entity };
    drafts.push(made);
    return made;
  };
  core.handlers.draft_update = ({ id, fields }) => {
    const found = drafts.find((d) => d.id === id);
    if (!found) throw new OutpostError('not_found', 'no draft');
    found.fields = { ...found.fields, ...fields };
    return found;
  };
  core.handlers.recent_open = ({ entity, id }) => {
    const found = recent.find((r) => r.entity === entity && r.id === id);
    if (!found) throw new OutpostError('not_found', `${entity} ${id}`);
    return found;
  };
  return {
    core,
    get drafts() {
      return drafts;
    },
    set drafts(value: DraftRow[]) {
      drafts = value;
    },
  };
}

describe('the drafts list', () => {
  it('lists the drafts and the recently opened records', async () => {
    const { core } = draftsCore();
    const list = new DraftsStore({ run: core.run });
    await list.load();
    expect(list.drafts.map((d) => d.fields.name)).toEqual(['Kiosk Café', 'Harbour Bikes']);
    expect(list.recent.map((r) => r.id)).toEqual(['a9']);
  });

  it('saves one draft online: it leaves the list', async () => {
    const { core } = draftsCore();
    const touched = vi.fn();
    const list = new DraftsStore({ run: core.run, touched });
    await list.load();
    expect(await list.save('d1')).toBe('saved');
    expect(core.callsOf('draft_save')).toEqual([{ id: 'd1' }]);
    expect(list.drafts.map((d) => d.id)).toEqual(['d2']);
    expect(touched).toHaveBeenCalled();
  });

  it('keeps the draft with a clear message when offline', async () => {
    const { core } = draftsCore();
    core.online = false;
    const list = new DraftsStore({ run: core.run });
    await list.load();
    expect(await list.save('d1')).toBe('offline');
    expect(list.drafts.map((d) => d.id)).toEqual(['d1', 'd2']);
    expect(list.messages.d1).toBe(OFFLINE_SAVE_MESSAGE);
    expect(list.waiting, 'said as waiting, not as refused').toEqual(['d1']);
  });

  it('shows the server’s refusal on the draft and keeps it', async () => {
    const fake = draftsCore();
    const { core } = fake;
    core.handlers.draft_save = ({ id }) => {
      fake.drafts = fake.drafts.map((d) => (d.id === id ? { ...d, error: 'name: required' } : d));
      throw new OutpostError('server', 'name: required');
    };
    const list = new DraftsStore({ run: core.run });
    await list.load();
    expect(await list.save('d2')).toBe('refused');
    expect(list.messages.d2).toBe('Saving the draft failed: name: required');
    expect(list.drafts.find((d) => d.id === 'd2')?.error, 'the draft keeps the reason').toBe('name: required');
  });

  it('deletes a draft', async () => {
    const { core } = draftsCore();
    const list = new DraftsStore({ run: core.run });
    await list.load();
    expect(await list.remove('d2')).toBe(true);
    expect(list.drafts.map((d) => d.id)).toEqual(['d1']);
  });

  it('names a draft by its primary field, or says it has none', () => {
    const { core } = draftsCore();
    const account = core.metadata.entities.find((e) => e.name === 'account') ?? null;
    expect(recordName(account, { name: 'Kiosk' })).toBe('Kiosk');
    expect(recordName(account, { name: ' ' })).toBe('Untitled account');
  });
});

describe('a draft’s form', () => {
  const account = () => {
    const { core } = draftsCore();
    const def = core.metadata.entities.find((e) => e.name === 'account');
    if (!def) throw new Error('no account');
    return { core, def };
  };

  it('makes a new draft with draft_create, after checking the required fields', async () => {
    const { core, def } = account();
    const editor = new DraftEditor(core.metadata, def, null, { run: core.run });
    expect(await editor.save()).toBe(false);
    expect(editor.model.errors.name).toBe('Account name is required');
    editor.model.setText('name', 'Street Stall');
    editor.model.setText('telephone1', '555 0100');
    expect(await editor.save()).toBe(true);
    expect(core.callsOf('draft_create')).toEqual([{ entity: 'account', fields: { name: 'Street Stall', telephone1: '555 0100' } }]);
    expect(editor.id).toBe('d3');
  });

  it('shows why the core refuses a lookup to a record not available offline', async () => {
    const { core, def } = account();
    const editor = new DraftEditor(core.metadata, def, null, { run: core.run });
    editor.model.setText('name', 'Street Stall');
    editor.model.setLookup('primarycontactid', 'contact:far-away', 'Far Away');
    expect(await editor.save()).toBe(false);
    expect(editor.error).toBe('Check the values: Primary contact: a draft can only point at a record available offline');
  });

  it('changes an existing draft with only its changed fields', async () => {
    const { core, def } = account();
    const editor = new DraftEditor(core.metadata, def, 'd1', { run: core.run });
    await editor.load();
    expect(editor.model.texts.name).toBe('Kiosk Café');
    editor.model.setText('telephone1', '555 0199');
    expect(await editor.save()).toBe(true);
    expect(core.callsOf('draft_update')).toEqual([{ id: 'd1', fields: { telephone1: '555 0199' } }]);
  });

  it('says so when the draft is gone', async () => {
    const { core, def } = account();
    const editor = new DraftEditor(core.metadata, def, 'gone', { run: core.run });
    await editor.load();
    expect(editor.loadError).toMatch(/not on this device any more/);
  });
});

describe('a recently opened record', () => {
  it('opens read-only with recent_open', async () => {
    const { core } = draftsCore();
    const def = core.metadata.entities.find((e) => e.name === 'account');
    if (!def) throw new Error('no account');
    const recent = new RecentRecord(def, { run: core.run });
    await recent.load('a9');
    expect(recent.model.texts.name).toBe('Opened Online Ltd');
    expect(recent.model.editable('name')).toBe(false);
    await recent.load('never-opened');
    expect(recent.loadError).toMatch(/Open it again when you are online/);
  });
});
