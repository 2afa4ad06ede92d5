import { describe, expect, it, vi } from 'vitest';
import { OutpostError, type EntityDef, type ViewPageArgs, type ViewPageResult } from '../api';
import { FakeCore, row } from '../../test/fake-core';
import { GridStore, JUMP_PAGE_SIZE, nextSort, visibleRange } from './grid.svelte';
import { entityDef } from './display';

function def(core: FakeCore, name: string): EntityDef {
  const found = entityDef(core.metadata, name);
  if (!found) throw new Error(`the fake org has no ${name}`);
  return found;
}

/** The built-in view_page of a second fake over the same records (a handler that wraps it). */
function builtInViewPage(core: FakeCore) {
  const base = new FakeCore();
  return (args: ViewPageArgs): Promise<ViewPageResult> => {
    base.records = core.records;
    return base.run('view_page', args);
  };
}

/** `n` active accounts named `Account 0001`… (zero-padded so they sort by number). */
function accounts(core: FakeCore, n: number) {
  core.records = Array.from({ length: n }, (_, i) =>
    row('account', `a${String(i + 1).padStart(5, '0')}`, { name: `Account ${String(i + 1).padStart(5, '0')}` }),
  );
}

describe('grid paging', () => {
  it('opens on the default view with its first page, total and column labels', async () => {
    const core = new FakeCore();
    accounts(core, 250);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    expect(grid.viewId, 'the default view is chosen first').toBe('account-active');
    expect(grid.rows).toHaveLength(100);
    expect(grid.total).toBe(250);
    expect(grid.count, 'the grid is as tall as the whole view').toBe(250);
    expect(grid.columns.map((c) => c.label)).toEqual(['Account name', 'Phone', 'Annual revenue', 'Primary contact']);
    expect(core.callsOf('view_page')[0]).toMatchObject({ view_id: 'account-active', after: null, limit: 100, order_by: null });
  });

  it('loads the next page with the previous cursor when the window nears the end', async () => {
    const core = new FakeCore();
    accounts(core, 250);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    await grid.want(50);
    expect(grid.rows, 'far from the end: nothing more is read').toHaveLength(100);
    await grid.want(80);
    expect(grid.rows).toHaveLength(200);
    expect(core.callsOf('view_page')[1]).toMatchObject({ after: '100', limit: 100 });
    await grid.want(249);
    expect(grid.rows).toHaveLength(250);
    expect(grid.next).toBeNull();
    expect(grid.count).toBe(250);
    await grid.want(260);
    expect(core.callsOf('view_page'), 'no page is read past the last').toHaveLength(3);
  });

  it('reads bigger pages when the window jumps far ahead (a dragged scrollbar)', async () => {
    const core = new FakeCore();
    accounts(core, 3000);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    await grid.want(2500);
    const pages = core.callsOf('view_page').slice(1);
    expect(pages.every((p) => (p.limit ?? 0) <= JUMP_PAGE_SIZE), 'never more than a jump page').toBe(true);
    expect(pages.length, 'a jump takes a few big pages, not 25 small ones').toBeLessThanOrEqual(4);
    expect(grid.rows.length).toBeGreaterThan(2500);
    expect(grid.rows[2500]?.fields.name).toBe('Account 02501');
  });

  it('answers only the newest request when an older one comes back late', async () => {
    const core = new FakeCore();
    accounts(core, 5);
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    let first = true;
    const real = builtInViewPage(core);
    core.handlers.view_page = async (args): Promise<ViewPageResult> => {
      if (first) {
        first = false;
        await slow;
        return { ...(await real(args)), rows: [] };
      }
      return real(args);
    };
    const grid = new GridStore(core.run, def(core, 'account'));
    const stale = grid.init();
    await vi.waitFor(() => expect(core.callsOf('view_page')).toHaveLength(1));
    const fresh = grid.toggleSort('name');
    await fresh;
    release();
    await stale;
    expect(grid.rows.map((r) => r.fields.name)[0], 'the sorted page stays').toBe('Account 00005');
  });

  it('says what went wrong when the view cannot be read, and reads it again', async () => {
    const core = new FakeCore();
    accounts(core, 3);
    core.failNext.view_page = new OutpostError('invalid_input', 'account has no view `gone`');
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    expect(grid.error).toBe('account has no view `gone`');
    expect(grid.rows).toHaveLength(0);
    await grid.load();
    expect(grid.error).toBeNull();
    expect(grid.rows).toHaveLength(3);
  });

  it('names the records behind lookups from the page labels', async () => {
    const core = new FakeCore();
    core.records = [
      row('account', 'a1', { name: 'Alpha', primarycontactid: 'contact:c1', revenue: '1234.5' }),
      row('account', 'a2', { name: 'Beta', primarycontactid: 'contact:c9' }),
    ];
    const real = builtInViewPage(core);
    core.handlers.view_page = async (args) => ({
      ...(await real(args)),
      labels: { 'contact:c1': 'Carla Contact' },
    });
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    const contact = grid.columns.find((c) => c.name === 'primarycontactid');
    const revenue = grid.columns.find((c) => c.name === 'revenue');
    if (!contact || !revenue) throw new Error('columns missing');
    const [alpha, beta] = grid.rows;
    if (!alpha || !beta) throw new Error('rows missing');
    expect(grid.cell(alpha, contact)).toBe('Carla Contact');
    expect(grid.cell(beta, contact)).toBe('(not on this device)');
    expect(grid.cell(alpha, revenue)).toBe((1234.5).toLocaleString(undefined, { minimumFractionDigits: 2 }));
  });
});

describe('grid sort and views', () => {
  it('toggles a column between ascending and descending, from the top each time', async () => {
    const core = new FakeCore();
    accounts(core, 150);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    expect(grid.effectiveSort, "the view's own order").toEqual({ field: 'name', dir: 'asc' });
    await grid.want(90);
    expect(grid.rows).toHaveLength(150);
    grid.active = 120;
    const epoch = grid.epoch;

    await grid.toggleSort('name');
    expect(grid.effectiveSort).toEqual({ field: 'name', dir: 'desc' });
    expect(core.callsOf('view_page').at(-1)).toMatchObject({ order_by: 'name desc', after: null });
    expect(grid.rows[0]?.fields.name).toBe('Account 00150');
    expect(grid.rows, 'paging starts again').toHaveLength(100);
    expect(grid.active).toBe(0);
    expect(grid.epoch).toBe(epoch + 1);

    await grid.toggleSort('name');
    expect(core.callsOf('view_page').at(-1)).toMatchObject({ order_by: 'name asc' });
    expect(grid.rows[0]?.fields.name).toBe('Account 00001');

    await grid.toggleSort('telephone1');
    expect(grid.effectiveSort).toEqual({ field: 'telephone1', dir: 'asc' });
  });

  it('switching views drops the header sort and the selection', async () => {
    const core = new FakeCore();
    accounts(core, 3);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    await grid.toggleSort('name');
    grid.toggle('a00001');
    await grid.setView('account-all');
    expect(grid.sort).toBeNull();
    expect(grid.selectedCount).toBe(0);
    expect(core.callsOf('view_page').at(-1)).toMatchObject({ view_id: 'account-all', order_by: null });
  });

  it('passes the quick filter to the view and starts again from the top', async () => {
    const core = new FakeCore();
    accounts(core, 3);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    await grid.setSearch('  acc 2 ');
    expect(core.callsOf('view_page').at(-1)).toMatchObject({ search: 'acc 2', after: null });
    const calls = core.callsOf('view_page').length;
    await grid.setSearch('acc 2');
    expect(core.callsOf('view_page'), 'the same words are not read again').toHaveLength(calls);
  });

  it('nextSort flips the same column and starts another ascending', () => {
    expect(nextSort(null, 'name')).toEqual({ field: 'name', dir: 'asc' });
    expect(nextSort({ field: 'name', dir: 'asc' }, 'name')).toEqual({ field: 'name', dir: 'desc' });
    expect(nextSort({ field: 'name', dir: 'desc' }, 'name')).toEqual({ field: 'name', dir: 'asc' });
    expect(nextSort({ field: 'name', dir: 'desc' }, 'city')).toEqual({ field: 'city', dir: 'asc' });
  });

  it('visibleRange covers the rows in view plus a margin, within the count', () => {
    expect(visibleRange(0, 480, 48, 200_000, 5)).toEqual({ first: 0, last: 15 });
    expect(visibleRange(48 * 1000, 480, 48, 200_000, 5)).toEqual({ first: 995, last: 1015 });
    expect(visibleRange(48 * 199_995, 480, 48, 200_000, 5)).toEqual({ first: 199_990, last: 200_000 });
    expect(visibleRange(0, 480, 48, 0, 5)).toEqual({ first: 0, last: 0 });
  });
});

describe('grid selection', () => {
  it('selects rows one by one and all loaded rows at once', async () => {
    const core = new FakeCore();
    accounts(core, 3);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    grid.toggle('a00001');
    expect(grid.someSelected).toBe(true);
    expect(grid.allSelected).toBe(false);
    grid.toggleAll();
    expect(grid.allSelected).toBe(true);
    expect(grid.selectedCount).toBe(3);
    grid.toggleAll();
    expect(grid.selectedCount).toBe(0);
  });

  it('keeps the selection of rows still there when it reads the rows again', async () => {
    const core = new FakeCore();
    accounts(core, 3);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    grid.toggle('a00001');
    grid.toggle('a00002');
    core.records = core.records.filter((r) => r.id !== 'a00002');
    await grid.load({ keep: true });
    expect([...grid.selected]).toEqual(['a00001']);
  });

  it('moves the keyboard row within the grid', async () => {
    const core = new FakeCore();
    accounts(core, 3);
    const grid = new GridStore(core.run, def(core, 'account'));
    await grid.init();
    expect(grid.move(1)).toBe(1);
    expect(grid.move(10)).toBe(2);
    expect(grid.move(-10)).toBe(0);
    expect(grid.moveTo(2)).toBe(2);
  });
});

describe('mark complete', () => {
  it('is offered in activity grids only', async () => {
    const core = new FakeCore();
    const tasks = new GridStore(core.run, def(core, 'task'));
    const accounts = new GridStore(core.run, def(core, 'account'));
    await Promise.all([tasks.init(), accounts.init()]);
    expect(tasks.isActivity).toBe(true);
    expect(accounts.isActivity).toBe(false);
  });

  it('completes each selected activity and reports the ones that failed, with the reason', async () => {
    const core = new FakeCore();
    core.records = [
      row('task', 't1', { subject: 'Call back' }),
      row('task', 't2', { subject: 'Send offer' }),
      row('task', 't3', { subject: 'Visit' }),
    ];
    core.handlers.command_run = (args) => {
      if (args.command !== 'activity_mark_complete') throw new Error('unexpected command');
      if (args.id === 't2') throw new OutpostError('refused', 'this task is already completed');
      const record = core.records.find((r) => r.id === args.id);
      if (!record) throw new OutpostError('not_found', 'gone');
      record.fields.statecode = '1';
      return { record, created: [] };
    };
    const grid = new GridStore(core.run, def(core, 'task'));
    await grid.init();
    grid.toggle('t1');
    grid.toggle('t2');
    const outcome = await grid.markComplete();
    expect(outcome.completed).toBe(1);
    expect(outcome.failed).toEqual([{ id: 't2', name: 'Send offer', reason: 'this task is already completed' }]);
    expect(core.callsOf('command_run')).toEqual([
      { command: 'activity_mark_complete', entity: 'task', id: 't1' },
      { command: 'activity_mark_complete', entity: 'task', id: 't2' },
    ]);
    expect([...grid.selected], 'the failed one stays selected to try again').toEqual(['t2']);
    await grid.load({ keep: true });
    expect(grid.rows.map((r) => r.id), 'the completed task leaves the active view').toEqual(['t2', 't3']);
  });
});
