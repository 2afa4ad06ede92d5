import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import GridPage from '../../pages/GridPage.svelte';
import SearchPage from '../../pages/SearchPage.svelte';
import { OutpostError } from '../../api';
import { FakeCore, makeSyncStatus, row } from '../../../test/fake-core';
import { loadedShell } from '../../../test/builders';

const shellOf = (core: FakeCore) => loadedShell(core, 'field-sales');

afterEach(() => {
  localStorage.clear();
  history.replaceState(null, '', '#/');
});

describe('GridPage', () => {
  it('shows the view with its total, a Not synced badge in words and the last sync time', async () => {
    const core = new FakeCore();
    core.records = [row('account', 'a1', { name: 'Alpha' }), { ...row('account', 'a2', { name: 'Beta' }), pending: true }];
    render(GridPage, { props: { shell: await shellOf(core), entity: 'account' } });
    expect(await screen.findByRole('heading', { name: 'Accounts' })).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('grid-total').textContent).toMatch(/2 accounts/));
    const rows = screen.getAllByTestId('grid-row');
    expect(rows.map((r) => within(r).getAllByRole('gridcell')[1]?.textContent?.trim())).toEqual(['Alpha', 'Beta ↑ Not synced']);
    expect(screen.getByTestId('grid-last-sync').textContent).toMatch(/Data as of/);
    const header = screen.getByTestId('grid-sort-name').parentElement;
    expect(header?.getAttribute('aria-sort')).toBe('ascending');
    expect(screen.queryByTestId('grid-mark-complete'), 'accounts are not activities').toBeNull();
  });

  it('sorts by a header, and works from the keyboard: arrows, Space selects, Enter opens', async () => {
    const core = new FakeCore();
    core.records = ['Alpha', 'Beta', 'Gamma'].map((name, i) => row('account', `a${i}`, { name }));
    const shell = await shellOf(core);
    render(GridPage, { props: { shell, entity: 'account' } });
    await waitFor(() => expect(screen.getAllByTestId('grid-row')).toHaveLength(3));
    await fireEvent.click(screen.getByTestId('grid-sort-name'));
    await waitFor(() => expect(screen.getByTestId('grid-sort-name').dataset.sort).toBe('descending'));
    expect(core.callsOf('view_page').at(-1)?.order_by).toBe('name desc');
    await waitFor(() => expect(screen.getAllByTestId('grid-row')[0]?.textContent).toMatch(/Gamma/));

    const grid = screen.getByTestId('grid');
    grid.focus();
    await fireEvent.keyDown(grid, { key: 'ArrowDown' });
    await fireEvent.keyDown(grid, { key: ' ' });
    await waitFor(() => expect(screen.getByTestId('grid-selection').textContent).toMatch(/1 selected/));
    const selected = screen.getAllByTestId('grid-row').find((r) => r.getAttribute('aria-selected') === 'true');
    expect(selected?.textContent).toMatch(/Beta/);
    expect(grid.getAttribute('aria-activedescendant')).toBe(selected?.id);
    await fireEvent.keyDown(grid, { key: 'a', ctrlKey: true });
    await waitFor(() => expect(screen.getByTestId('grid-selection').textContent).toMatch(/3 selected/));
    await fireEvent.keyDown(grid, { key: 'Escape' });
    await waitFor(() => expect(screen.queryByTestId('grid-selection')).toBeNull());
    await fireEvent.keyDown(grid, { key: 'Enter' });
    expect(shell.route).toEqual({ kind: 'record', entity: 'account', id: 'a1' });
  });

  it('marks the selected tasks complete and says which one failed and why', async () => {
    const core = new FakeCore();
    core.records = [row('task', 't1', { subject: 'Call back' }), row('task', 't2', { subject: 'Send offer' })];
    core.handlers.command_run = (args) => {
      if (args.command !== 'activity_mark_complete') throw new Error('unexpected');
      if (args.id === 't2') throw new OutpostError('refused', 'Send offer was canceled; it cannot be completed');
      const record = core.records.find((r) => r.id === args.id);
      if (!record) throw new OutpostError('not_found', 'gone');
      record.fields.statecode = '1';
      return { record, created: [] };
    };
    const shell = await shellOf(core);
    render(GridPage, { props: { shell, entity: 'task' } });
    await waitFor(() => expect(screen.getAllByTestId('grid-row')).toHaveLength(2));
    const complete = screen.getByTestId<HTMLButtonElement>('grid-mark-complete');
    expect(complete.disabled, 'nothing selected yet').toBe(true);
    await fireEvent.click(screen.getByTestId('grid-select-all'));
    expect(complete.textContent).toMatch(/Mark complete \(2\)/);
    await fireEvent.click(complete);
    const failed = await screen.findByTestId('grid-complete-failed');
    expect(failed.textContent).toMatch(/1 marked complete/);
    expect(failed.textContent).toMatch(/Send offer — Send offer was canceled/);
    expect(shell.toast?.text).toMatch(/1 of 2 tasks marked complete/);
    await waitFor(() => expect(screen.getAllByTestId('grid-row')).toHaveLength(1));
  });

  it('says so when the view is empty, and when the entity is not available offline', async () => {
    const core = new FakeCore();
    const shell = await shellOf(core);
    shell.sync = makeSyncStatus({
      entities: [
        {
          entity: 'contact',
          available: false,
          reason: 'Your administrator has switched offline off for contacts.',
          last_sync_at: '2026-11-27T08:00:00Z',
          sync_interval_minutes: 15,
        },
      ],
    });
    render(GridPage, { props: { shell, entity: 'contact' } });
    expect((await screen.findByTestId('grid-empty')).textContent).toMatch(/There are no contacts in “Active contacts”/);
    expect(screen.getByTestId('grid-unavailable').textContent).toMatch(/Not available offline: Your administrator/);
    expect(screen.getByTestId('grid-last-sync').textContent).toBe(
      `Data as of ${new Date('2026-11-27T08:00:00Z').toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`,
    );
  });

  it('offers New and Mark complete only when the role allows them', async () => {
    const core = new FakeCore();
    core.records = [row('task', 't1', { subject: 'Call back' })];
    // The fake's own page, as a role without create or write privileges sees it.
    const limited = async (args: Parameters<NonNullable<typeof core.handlers.view_page>>[0]) => {
      delete core.handlers.view_page;
      const page = await core.run('view_page', args);
      core.handlers.view_page = limited;
      return { ...page, can_create: false, can_write: false };
    };
    core.handlers.view_page = limited;
    render(GridPage, { props: { shell: await shellOf(core), entity: 'task' } });
    await waitFor(() => expect(screen.getAllByTestId('grid-row')).toHaveLength(1));
    expect(screen.queryByTestId('grid-new')).toBeNull();
    expect(screen.queryByTestId('grid-mark-complete')).toBeNull();
  });

  it('shows an error it can retry', async () => {
    const core = new FakeCore();
    core.records = [row('account', 'a1', { name: 'Alpha' })];
    core.failNext.view_list = new OutpostError('not_signed_in', 'Sign in to read the offline data');
    render(GridPage, { props: { shell: await shellOf(core), entity: 'account' } });
    const error = await screen.findByTestId('grid-error');
    expect(error.textContent).toMatch(/could not be shown: Sign in to read the offline data/);
    await fireEvent.click(within(error).getByRole('button', { name: 'Try again' }));
    await waitFor(() => expect(screen.getAllByTestId('grid-row')).toHaveLength(1));
  });
});

describe('SearchPage', () => {
  it('groups the results by entity and opens one; says clearly when nothing matched', async () => {
    const core = new FakeCore();
    core.records = [row('account', 'a1', { name: 'Northwind' }), row('task', 't1', { subject: 'Call Northwind' })];
    const shell = await shellOf(core);
    const view = render(SearchPage, { props: { shell, text: 'northwind', entity: null } });
    const accounts = await screen.findByTestId('search-group-account');
    expect(within(accounts).getByRole('heading').textContent).toMatch(/Accounts \(1\)/);
    expect(screen.getByTestId('search-group-task').textContent).toMatch(/Call Northwind/);
    expect(core.callsOf('search').at(-1)?.entities).toEqual(['account', 'contact', 'task']);
    const link = within(accounts).getByTestId('search-hit');
    expect(link.getAttribute('href')).toBe('#/record/account/a1');

    await fireEvent.change(screen.getByTestId('search-entity'), { target: { value: 'task' } });
    expect(shell.route).toEqual({ kind: 'search', text: 'northwind', entity: 'task' });
    await view.rerender({ shell, text: 'zzz', entity: 'task' });
    expect((await screen.findByTestId('search-nothing')).textContent).toBe('Nothing matched “zzz” in tasks.');
  });
});
