import { describe, expect, it, vi } from 'vitest';
import { OutpostError, type Allowed, type EntityDef } from '../api';
import {
  FormModel,
  RecordStore,
  activeStageIndex,
  choicesFor,
  commandArgs,
  commandsFor,
  failureText,
  formLayout,
  keepUnsaved,
  missingSteps,
  statusesFor,
  takeUnsaved,
  type Fields,
} from './form.svelte';
import { lead, opportunity, row, salesCore, salesFlow, task } from '../../test/form-fixtures';
import type { FakeCore } from '../../test/fake-core';
import { recordDetail } from '../../test/offers';

/** What `record_get` answers for a record of `def` with `fields` (as the core computes it). */
const detail = (def: EntityDef, fields: Fields, extra: { allowed?: Allowed; followed?: boolean } = {}) =>
  recordDetail(def, row(def.name, 'r1', fields), extra);

function store(core: FakeCore, entity: string, id: string | null, touched = vi.fn()) {
  const def = core.metadata.entities.find((e) => e.name === entity);
  if (!def) throw new Error(`no ${entity}`);
  return new RecordStore(core.metadata, def, id, { run: core.run, touched });
}

describe('the form model', () => {
  it('is dirty only while an editor holds something other than what was loaded', () => {
    const model = new FormModel(lead);
    model.load({ subject: 'Solar roof', estimatedvalue: '1200.50' }, {});
    expect(model.dirty, 'a freshly loaded form has no changes').toBe(false);
    model.setText('subject', 'Solar roof and battery');
    expect(model.changed).toEqual(['subject']);
    model.setText('subject', 'Solar roof');
    expect(model.dirty, 'typing the old value back is no change').toBe(false);
    model.setText('estimatedvalue', '99');
    model.discard();
    expect(model.dirty, 'discard puts every editor back').toBe(false);
    expect(model.texts.estimatedvalue).toBe('1200.50');
  });

  it('sends only the changed fields, as canonical values, with a cleared field as null', () => {
    const model = new FormModel(lead);
    model.load({ subject: 'Solar', companyname: 'Contoso', estimatedvalue: '10', donotphone: 'false' }, {});
    model.setText('companyname', '');
    model.setText('estimatedvalue', ' 2500.5 ');
    model.setText('donotphone', 'true');
    expect(model.changes()).toEqual({ companyname: null, estimatedvalue: '2500.5', donotphone: 'true' });
  });

  it('says what is wrong with a field before saving, and forgets it once fixed', () => {
    const model = new FormModel(lead);
    model.load({ subject: 'Solar' }, {});
    model.setText('subject', '');
    model.setText('estimatedvalue', '12,5x');
    model.setText('estimatedclosedate', 'next week');
    expect(model.validate()).toBe(false);
    expect(model.errors).toEqual({
      subject: 'Topic is required',
      estimatedvalue: 'Estimated value must be a number like 1234.50',
      estimatedclosedate: 'Estimated close date must be a date (yyyy-mm-dd)',
    });
    expect(model.firstError(), 'the first message in form order gets the focus').toBe('subject');
    model.setText('subject', 'Solar again');
    expect(model.errors.subject, 'a field with a message is checked again as it is typed').toBeUndefined();
  });

  it('checks every required field of the form when creating, not only the changed ones', () => {
    const model = new FormModel(lead, true);
    expect(model.validate()).toBe(false);
    expect(Object.keys(model.errors)).toEqual(['subject']);
    model.setText('subject', 'New lead');
    expect(model.validate()).toBe(true);
    expect(model.changes()).toEqual({ subject: 'New lead' });
  });

  it('leaves fields nobody may set out of a new record, and shows them read-only on an existing one', () => {
    const creating = formLayout(lead, true).tabs.flatMap((t) => t.sections.flatMap((s) => s.fields.map((f) => f.name)));
    expect(creating).not.toContain('ownerid');
    const existing = new FormModel(lead);
    expect(existing.order).toContain('ownerid');
    expect(existing.editable('ownerid'), 'the owner changes through Assign').toBe(false);
    expect(existing.editable('subject')).toBe(true);
    existing.readOnly = true;
    existing.setText('subject', 'sneaky');
    expect(existing.editable('subject')).toBe(false);
    expect(existing.changes(), 'a read-only form sends nothing').toEqual({});
  });

  it('offers the status reasons of the record’s own state only', () => {
    const status = lead.attributes.find((a) => a.name === 'statuscode');
    if (!status) throw new Error('no status');
    expect(choicesFor(status, { statecode: '0' }).map((o) => o.label)).toEqual(['New', 'Contacted']);
    expect(choicesFor(status, { statecode: '2' }).map((o) => o.label)).toEqual(['Lost', 'Cannot Contact']);
  });

  it('sets and clears a lookup with the name it shows', () => {
    const model = new FormModel(lead);
    model.setLookup('parentaccountid', 'account:a1', 'Contoso');
    expect(model.labels.parentaccountid).toBe('Contoso');
    expect(model.changes()).toEqual({ parentaccountid: 'account:a1' });
    model.setLookup('parentaccountid', null);
    expect(model.dirty).toBe(false);
  });

  it('keeps unsaved edits of a record the person left, once', () => {
    const model = new FormModel(lead);
    model.load({ subject: 'A' }, {});
    model.setText('subject', 'B');
    keepUnsaved('lead/l1', model);
    expect(takeUnsaved('lead/l1')?.texts).toEqual({ subject: 'B' });
    expect(takeUnsaved('lead/l1'), 'given back only once').toBeNull();
  });
});

describe('commands', () => {
  it('offers each entity its own commands, only on open records the user may change', () => {
    expect(commandsFor(lead, detail(lead, { statecode: '0' }))).toEqual(['qualify', 'disqualify', 'follow', 'assign', 'delete']);
    expect(commandsFor(opportunity, detail(opportunity, { statecode: '0' }))).toEqual(['close_won', 'close_lost', 'follow', 'assign', 'delete']);
    expect(commandsFor(task, detail(task, { statecode: '0' }))).toEqual(['mark_complete', 'convert', 'follow', 'assign', 'delete']);
    expect(commandsFor(lead, detail(lead, { statecode: '1' })), 'a qualified lead cannot be qualified again').toEqual([
      'follow',
      'assign',
      'delete',
    ]);
    expect(
      commandsFor(lead, detail(lead, { statecode: '0' }, { allowed: { write: false, delete: false, assign: false, append_to: false }, followed: true })),
      'what the role does not allow is absent',
    ).toEqual(['unfollow']);
  });

  it('takes reasons from the status reasons the core offers each command with', () => {
    expect(statusesFor(detail(lead, { statecode: '0' }), 'disqualify').map((s) => s.label)).toEqual(['Lost', 'Cannot Contact']);
    expect(statusesFor(detail(opportunity, { statecode: '0' }), 'close_lost').map((s) => s.value)).toEqual([4, 5]);
  });

  it('builds each command’s arguments, or says what is missing', () => {
    const key = { entity: 'lead', id: 'l1' };
    expect(commandArgs('qualify', key, {})).toEqual({ ok: false, error: 'Choose at least one record to create from the lead.' });
    expect(commandArgs('qualify', key, { createAccount: true, createOpportunity: true })).toEqual({
      ok: true,
      args: { command: 'lead_qualify', lead_id: 'l1', create_account: true, create_contact: false, create_opportunity: true },
    });
    expect(commandArgs('disqualify', key, { status: '' }).ok).toBe(false);
    expect(commandArgs('disqualify', key, { status: '5' })).toEqual({ ok: true, args: { command: 'lead_disqualify', lead_id: 'l1', status: 5 } });
    const opp = { entity: 'opportunity', id: 'o1' };
    expect(commandArgs('close_won', opp, { revenue: 'lots' }).ok).toBe(false);
    expect(commandArgs('close_won', opp, { revenue: '', description: ' ' })).toEqual({
      ok: true,
      args: { command: 'opportunity_close_won', id: 'o1', actual_revenue: null, description: null },
    });
    expect(commandArgs('close_lost', opp, { status: '5', competitor: 'Fabrikam' })).toEqual({
      ok: true,
      args: { command: 'opportunity_close_lost', id: 'o1', status: 5, competitor: 'Fabrikam', description: null },
    });
    const inc = { entity: 'incident', id: 'c1' };
    expect(commandArgs('resolve', inc, { status: '5', subject: '' }).ok).toBe(false);
    expect(commandArgs('resolve', inc, { status: '5', subject: 'Fixed', minutes: '1.5' }).ok).toBe(false);
    expect(commandArgs('resolve', inc, { status: '5', subject: 'Fixed', minutes: '30' })).toEqual({
      ok: true,
      args: { command: 'case_resolve', id: 'c1', status: 5, subject: 'Fixed', time_spent_minutes: 30 },
    });
    expect(commandArgs('assign', key, { owner: 'systemuser:u2' })).toEqual({
      ok: true,
      args: { command: 'assign', entity: 'lead', id: 'l1', owner_entity: 'systemuser', owner_id: 'u2' },
    });
  });

  it('frames the core’s refusal by its code, keeping its message', () => {
    expect(failureText(new OutpostError('refused', 'lead l1: it is Qualified, so it cannot be updated'), 'Saving')).toBe(
      'Not done: lead l1: it is Qualified, so it cannot be updated',
    );
    expect(failureText(new OutpostError('forbidden', 'no'), 'Saving')).toBe('You may not do this: no');
    expect(failureText(new OutpostError('internal', 'boom'), 'Saving')).toBe('Saving failed: boom');
  });
});

describe('the record store', () => {
  it('saves only the changed fields with record_update, then reads the record again', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar', companyname: 'Contoso', lastname: 'Diaz' }));
    const touched = vi.fn();
    const s = store(core, 'lead', 'l1', touched);
    await s.load();
    expect(s.commands).toContain('qualify');
    s.model.setText('companyname', 'Contoso Ltd');
    expect(await s.save()).toBe(true);
    expect(core.callsOf('record_update')).toEqual([{ entity: 'lead', id: 'l1', fields: { companyname: 'Contoso Ltd' } }]);
    expect(touched).toHaveBeenCalled();
    expect(s.model.dirty).toBe(false);
    expect(s.detail?.record.pending, 'the saved record waits to sync').toBe(true);
  });

  it('does not call the core when a field is wrong, and shows the core’s refusal next to the form', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar' }));
    const s = store(core, 'lead', 'l1');
    await s.load();
    s.model.setText('estimatedvalue', 'abc');
    expect(await s.save()).toBe(false);
    expect(core.callsOf('record_update')).toHaveLength(0);
    s.model.setText('estimatedvalue', '10');
    core.failNext.record_update = new OutpostError('refused', 'invalid change: subject: too long');
    expect(await s.save()).toBe(false);
    expect(s.error).toBe('Not done: invalid change: subject: too long');
  });

  it('creates a new record with record_create and takes its id', async () => {
    const core = salesCore();
    const s = store(core, 'lead', null);
    s.model.setText('subject', 'Walk-in');
    expect(await s.save()).toBe(true);
    expect(core.callsOf('record_create')).toEqual([{ entity: 'lead', fields: { subject: 'Walk-in' } }]);
    expect(s.id).toBe('new-1');
  });

  it('makes a record read-only when the user may not write it or it is closed', async () => {
    const core = salesCore({ allowed: { write: false } });
    core.records.push(row('lead', 'l1', { subject: 'Solar' }));
    const s = store(core, 'lead', 'l1');
    await s.load();
    expect(s.model.readOnly).toBe(true);
    const closed = salesCore();
    closed.records.push(row('lead', 'l2', { subject: 'Done', statecode: '1' }));
    const c = store(closed, 'lead', 'l2');
    await c.load();
    expect(c.model.readOnly).toBe(true);
    expect(c.commands).not.toContain('qualify');
  });

  it('runs a command, reloads, and names the records it created', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar', companyname: 'Contoso' }));
    const s = store(core, 'lead', 'l1');
    await s.load();
    const args = commandArgs('qualify', { entity: 'lead', id: 'l1' }, { createAccount: true });
    if (!args.ok) throw new Error(args.error);
    expect(await s.command(args.args)).toBeNull();
    expect(s.created).toEqual([{ entity: 'account', id: 'acc-new', name: 'Contoso' }]);
    expect(s.open, 'the qualified lead is closed').toBe(false);
    expect(s.model.readOnly).toBe(true);
  });

  it('answers a refused command with the core’s message', async () => {
    const core = salesCore();
    core.records.push(row('task', 't1', { subject: 'Call' }));
    const s = store(core, 'task', 't1');
    await s.load();
    core.failNext.command_run = new OutpostError('refused', 'task t1: it is Completed, so it cannot be completed');
    expect(await s.command({ command: 'activity_mark_complete', entity: 'task', id: 't1' })).toBe(
      'Not done: task t1: it is Completed, so it cannot be completed',
    );
  });

  it('deletes with record_delete', async () => {
    const core = salesCore();
    core.records.push(row('task', 't1', { subject: 'Call' }));
    const s = store(core, 'task', 't1');
    await s.load();
    expect(await s.remove()).toBe(true);
    expect(core.callsOf('record_delete')).toEqual([{ entity: 'task', id: 't1' }]);
  });
});

describe('the business process flow', () => {
  it('finds the active stage from activestageid, the first stage when none', () => {
    expect(activeStageIndex(salesFlow, {})).toBe(0);
    expect(activeStageIndex(salesFlow, { activestageid: 'sales-develop' })).toBe(1);
    expect(activeStageIndex(salesFlow, { activestageid: 'elsewhere' })).toBe(0);
  });

  it('names each stage left behind with its empty required steps', () => {
    expect(missingSteps(salesFlow, opportunity, {}, 0, 1)).toEqual(['Qualify needs Potential customer and Est. revenue']);
    expect(missingSteps(salesFlow, opportunity, { customerid: 'account:a', estimatedvalue: '5' }, 0, 2)).toEqual([
      'Develop needs Probability',
    ]);
    expect(missingSteps(salesFlow, opportunity, {}, 2, 0), 'moving back needs nothing').toEqual([]);
  });

  it('blocks Next while required steps are empty, without asking the core', async () => {
    const core = salesCore();
    core.records.push(row('opportunity', 'o1', { name: 'Big deal' }));
    const s = store(core, 'opportunity', 'o1');
    await s.load();
    expect(await s.moveFlow({ to: 'next' })).toBe(
      'Fill in the required steps before moving to Develop: Qualify needs Potential customer and Est. revenue.',
    );
    expect(core.callsOf('command_run')).toHaveLength(0);
  });

  it('saves the steps typed in the flow bar, then moves next, previous and to a chosen stage', async () => {
    const core = salesCore();
    core.records.push(row('opportunity', 'o1', { name: 'Big deal', customerid: 'account:a1' }));
    const s = store(core, 'opportunity', 'o1');
    await s.load();
    s.model.setText('estimatedvalue', '5000');
    expect(await s.moveFlow({ to: 'next' })).toBeNull();
    expect(core.callsOf('record_update')).toEqual([{ entity: 'opportunity', id: 'o1', fields: { estimatedvalue: '5000' } }]);
    expect(core.callsOf('command_run')[0]).toEqual({
      command: 'flow_next',
      entity: 'opportunity',
      id: 'o1',
      flow_id: 'opportunity-sales-process',
    });
    expect(s.stage).toBe(1);
    expect(await s.moveFlow({ to: 'previous' })).toBeNull();
    expect(s.stage).toBe(0);
    expect(await s.moveFlow({ to: 'previous' })).toBe('Qualify is the first stage.');
    s.model.setText('closeprobability', '40');
    await s.save();
    expect(await s.moveFlow({ to: 'stage', stageId: 'sales-close' })).toBeNull();
    expect(core.callsOf('command_run').at(-1)).toEqual({
      command: 'flow_set_active',
      entity: 'opportunity',
      id: 'o1',
      flow_id: 'opportunity-sales-process',
      stage_id: 'sales-close',
    });
    expect(s.stage).toBe(2);
  });

  it('shows the core’s refusal of a move', async () => {
    const core = salesCore();
    core.records.push(row('opportunity', 'o1', { name: 'Big deal', activestageid: 'sales-develop' }));
    const s = store(core, 'opportunity', 'o1');
    await s.load();
    core.failNext.command_run = new OutpostError('refused', 'opportunity o1: it is Won, so it cannot be moved');
    expect(await s.moveFlow({ to: 'previous' })).toBe('Not done: opportunity o1: it is Won, so it cannot be moved');
  });
});
