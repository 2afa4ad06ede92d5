import { describe, expect, it } from 'vitest';
import { OutpostError, type EntityDef, type SearchHitRow } from '../api';
import { attr } from '../../test/builders';
import { FakeCore, row } from '../../test/fake-core';
import { SearchStore, groupHits, hitValues, searchedColumns } from './search.svelte';
import { entityDef } from './display';

function hit(entity: string, id: string, name: string, fields: Record<string, string | null> = {}): SearchHitRow {
  return { entity, id, name, record: row(entity, id, fields) };
}

const defOf = (core: FakeCore) => (name: string) => entityDef(core.metadata, name);

const visit = attr('lastvisitdate', 'Last visit', { type: 'date_only' });

const industry = attr('industrycode', 'Industry', { type: 'choice', options: [{ value: 6, label: 'Retail' }] });

describe('search grouping', () => {
  it('groups hits by entity in the module order, keeping their rank within a group', () => {
    const core = new FakeCore();
    const hits = [
      hit('contact', 'c1', 'Ann'),
      hit('account', 'a1', 'Acme'),
      hit('contact', 'c2', 'Anton'),
      hit('systemuser', 'u1', 'Anna'),
    ];
    const groups = groupHits(hits, ['account', 'contact', 'task'], defOf(core));
    expect(groups.map((g) => [g.entity, g.label, g.hits.map((h) => h.id)])).toEqual([
      ['account', 'Accounts', ['a1']],
      ['contact', 'Contacts', ['c1', 'c2']],
      ['systemuser', 'systemuser', ['u1']],
    ]);
  });

  it('shows the quick-find values as a person reads them: dates as dates, choices by label, no lookups', () => {
    const core = new FakeCore();
    const account = defOf(core)('account');
    if (!account) throw new Error('no account');
    const withDates: EntityDef = {
      ...account,
      attributes: [...account.attributes, visit, industry],
      quick_find: ['name', 'telephone1', 'lastvisitdate', 'industrycode', 'primarycontactid'],
    };
    const values = hitValues(
      withDates,
      hit('account', 'a1', 'Acme', {
        name: 'Acme',
        telephone1: '+1 555 0100',
        lastvisitdate: '2026-11-28',
        industrycode: '6',
        primarycontactid: 'contact:c1',
      }),
      'en-US',
    );
    expect(values).toEqual([
      { name: 'telephone1', label: 'Phone', text: '+1 555 0100' },
      { name: 'lastvisitdate', label: 'Last visit', text: 'Nov 28, 2026' },
      { name: 'industrycode', label: 'Industry', text: 'Retail' },
    ]);
    expect(searchedColumns(withDates)).toEqual(['Account name', 'Phone', 'Last visit', 'Industry']);
  });
});

describe('search store', () => {
  it('searches every entity of the module, then one (categorized)', async () => {
    const core = new FakeCore();
    core.records = [
      row('account', 'a1', { name: 'Northwind Traders' }),
      row('contact', 'c1', { fullname: 'Nora North' }),
      row('task', 't1', { subject: 'Call Northwind' }),
    ];
    const store = new SearchStore(core.run, defOf(core));
    await store.search('north', null, ['account', 'contact', 'task']);
    expect(core.callsOf('search').at(-1)).toEqual({ text: 'north', entities: ['account', 'contact', 'task'], limit: 100 });
    expect(store.groups.map((g) => g.entity)).toEqual(['account', 'contact', 'task']);
    expect(store.count).toBe(3);
    expect(store.done).toBe(true);

    await store.search('north', 'contact', ['account', 'contact', 'task']);
    expect(core.callsOf('search').at(-1)).toEqual({ text: 'north', entities: ['contact'], limit: 100 });
  });

  it('searches a date as typed (yyyy-mm-dd) and says when nothing matched', async () => {
    const core = new FakeCore();
    core.records = [row('task', 't1', { subject: 'Visit', scheduledend: '2026-11-28T09:00:00Z' })];
    const store = new SearchStore(core.run, defOf(core));
    await store.search('2026-11-28', 'task', ['task']);
    expect(core.callsOf('search').at(-1)?.text).toBe('2026-11-28');
    expect(store.count).toBe(1);
    await store.search('1999-01-01', 'task', ['task']);
    expect(store.done).toBe(true);
    expect(store.count).toBe(0);
    expect(store.groups).toEqual([]);
  });

  it('does not search blank text, and reports a failed search', async () => {
    const core = new FakeCore();
    const store = new SearchStore(core.run, defOf(core));
    await store.search('   ', null, ['account']);
    expect(core.callsOf('search')).toHaveLength(0);
    expect(store.done).toBe(false);
    core.failNext.search = new OutpostError('not_signed_in', 'Sign in to use the offline data');
    await store.search('acme', null, ['account']);
    expect(store.error).toBe('Sign in to use the offline data');
    expect(store.done).toBe(false);
  });
});
