/**
 * Sales entities and a process flow for the form and drafts tests, shaped like the demo
 * org's (crates/domain/src/demo/sales.rs, flows.rs), added to a `FakeCore`. Commands the
 * fake does not answer are answered here with `core.handlers`.
 */
import { OutpostError, type AttributeDef, type ProcessFlow, type RecordDetail } from '../lib/api';
import { attr, entity } from './builders';
import { FakeCore, row } from './fake-core';
import { recordDetail } from './offers';

const system = (states: [number, string][], statuses: [number, string, number][]): AttributeDef[] => [
  attr('ownerid', 'Owner', { type: 'owner' }, { requirement: 'required', updatable: false }),
  attr('statecode', 'Status', { type: 'state', options: states.map(([value, label]) => ({ value, label })) }, { updatable: false }),
  attr('statuscode', 'Status reason', {
    type: 'status',
    options: statuses.map(([value, label, state]) => ({ value, label, state, default: false })),
  }),
];

export const lead = entity({
  name: 'lead',
  label: 'Lead',
  primary: 'subject',
  attributes: [
    attr('subject', 'Topic', { type: 'text', max_len: 300 }, { requirement: 'required' }),
    attr('lastname', 'Last name', { type: 'text', max_len: 50 }),
    attr('companyname', 'Company', { type: 'text', max_len: 100 }),
    attr('estimatedvalue', 'Estimated value', { type: 'money', precision: 2, min: '0', max: '1000000000' }),
    attr('estimatedclosedate', 'Estimated close date', { type: 'date_only' }),
    attr('donotphone', 'Do not allow phone calls', { type: 'bool' }),
    attr('parentaccountid', 'Existing account', { type: 'lookup', targets: ['account'] }),
    ...system(
      [
        [0, 'Open'],
        [1, 'Qualified'],
        [2, 'Disqualified'],
      ],
      [
        [1, 'New', 0],
        [2, 'Contacted', 0],
        [3, 'Qualified', 1],
        [4, 'Lost', 2],
        [5, 'Cannot Contact', 2],
      ],
    ),
  ],
  tabs: [
    ['Summary', ['subject', 'lastname', 'companyname', 'parentaccountid']],
    ['Details', ['estimatedvalue', 'estimatedclosedate', 'donotphone', 'statuscode', 'ownerid']],
  ],
});

export const opportunity = entity({
  name: 'opportunity',
  label: 'Opportunity',
  primary: 'name',
  attributes: [
    attr('name', 'Topic', { type: 'text', max_len: 300 }, { requirement: 'required' }),
    attr('customerid', 'Potential customer', { type: 'lookup', targets: ['account', 'contact'] }),
    attr('estimatedvalue', 'Est. revenue', { type: 'money', precision: 2, min: '0', max: '1000000000' }),
    attr('closeprobability', 'Probability', { type: 'whole_number', min: 0, max: 100 }),
    attr('activestageid', 'Active stage', { type: 'text', max_len: 100 }, { updatable: false }),
    ...system(
      [
        [0, 'Open'],
        [1, 'Won'],
        [2, 'Lost'],
      ],
      [
        [1, 'In Progress', 0],
        [3, 'Won', 1],
        [4, 'Canceled', 2],
        [5, 'Out-Sold', 2],
      ],
    ),
  ],
  tabs: [['Summary', ['name', 'customerid', 'estimatedvalue', 'closeprobability']]],
});

export const task = entity({
  name: 'task',
  label: 'Task',
  primary: 'subject',
  attributes: [
    attr('subject', 'Subject', { type: 'text', max_len: 200 }, { requirement: 'required' }),
    attr('regardingobjectid', 'Regarding', { type: 'lookup', targets: ['account', 'lead'] }),
    ...system(
      [
        [0, 'Open'],
        [1, 'Completed'],
        [2, 'Canceled'],
      ],
      [
        [2, 'Not Started', 0],
        [5, 'Completed', 1],
      ],
    ),
  ],
  tabs: [['General', ['subject', 'regardingobjectid']]],
});

export const salesFlow: ProcessFlow = {
  id: 'opportunity-sales-process',
  name: 'Opportunity Sales Process',
  entity: 'opportunity',
  stages: [
    {
      id: 'sales-qualify',
      name: 'Qualify',
      steps: [
        { attribute: 'customerid', required: true },
        { attribute: 'estimatedvalue', required: true },
      ],
    },
    { id: 'sales-develop', name: 'Develop', steps: [{ attribute: 'closeprobability', required: true }] },
    { id: 'sales-close', name: 'Close', steps: [] },
  ],
};

/**
 * A fake core with the sales entities, a flow, and answers for `record_get` (with
 * `allowed` and `followed` as given, the rest as the core computes it), `command_run` and `lookup_search`.
 */
export function salesCore(options: { allowed?: Partial<RecordDetail['allowed']>; followed?: boolean } = {}): FakeCore {
  const core = new FakeCore();
  core.metadata.entities = core.metadata.entities.filter((e) => e.name !== 'task');
  core.metadata.entities.push(lead, opportunity, task);
  core.metadata.flows = [salesFlow];
  core.handlers.record_get = ({ entity, id }) => {
    const record = core.records.find((r) => r.entity === entity && r.id === id);
    const def = core.metadata.entities.find((e) => e.name === entity);
    if (!record || !def) throw new OutpostError('not_found', `${entity} ${id} is not on this device`);
    return recordDetail(def, record, options);
  };
  core.handlers.lookup_search = ({ text }) =>
    core.records
      .filter((r) => r.entity === 'account')
      .filter((r) => (r.fields.name ?? '').toLowerCase().startsWith(text.toLowerCase()))
      .map((r) => ({ entity: r.entity, id: r.id, name: r.fields.name ?? null, record: r }));
  core.handlers.record_delete = ({ entity, id }) => {
    core.records = core.records.filter((r) => !(r.entity === entity && r.id === id));
    return null;
  };
  core.handlers.command_run = (args) => {
    if (args.command === 'flow_next' || args.command === 'flow_previous' || args.command === 'flow_set_active') {
      const record = core.records.find((r) => r.entity === args.entity && r.id === args.id);
      if (!record) throw new Error('missing');
      const at = Math.max(0, salesFlow.stages.findIndex((s) => s.id === record.fields.activestageid));
      const to =
        args.command === 'flow_next'
          ? at + 1
          : args.command === 'flow_previous'
            ? at - 1
            : salesFlow.stages.findIndex((s) => s.id === args.stage_id);
      record.fields.activestageid = salesFlow.stages[to]?.id ?? null;
      record.pending = true;
      return { record, created: [] };
    }
    if (args.command === 'lead_qualify') {
      const record = core.records.find((r) => r.entity === 'lead' && r.id === args.lead_id);
      if (!record) throw new Error('missing');
      record.fields.statecode = '1';
      const created = [];
      if (args.create_account) {
        core.records.push(row('account', 'acc-new', { name: record.fields.companyname ?? '' }));
        created.push({ entity: 'account', id: 'acc-new' });
      }
      return { record, created };
    }
    const id = 'id' in args ? args.id : args.lead_id;
    const record = core.records.find((r) => r.id === id) ?? null;
    if (record && args.command === 'activity_mark_complete') record.fields.statecode = '1';
    return { record, created: [] };
  };
  return core;
}

export { row };
