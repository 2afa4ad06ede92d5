import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import type { SyncErrorRow } from '../../api';
import { loadedShell, refusedError, syncError, takeResolutions } from '../../../test/builders';
import { FakeCore } from '../../../test/fake-core';
import SyncErrorsPage from '../../pages/SyncErrorsPage.svelte';

const conflict = syncError({ waiting: ['op-9'], changes: { telephone1: '555-0300' } });
const refused = refusedError({ id: 'a2', name: 'Beta', message: 'Some values were refused' });

/** An element's text with its white space collapsed. */
function text(el: Element | null | undefined): string {
  return (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

async function setup(rows: SyncErrorRow[], online = true) {
  const core = new FakeCore();
  core.errors = rows;
  core.online = online;
  const sent = takeResolutions(core);
  return { core, shell: await loadedShell(core), sent };
}

describe('the sync errors screens', () => {
  afterEach(() => {
    history.replaceState(null, '', '#/');
  });

  it('lists each error with its record, entity, what was done, why, when and what waits', async () => {
    const { shell } = await setup([conflict, refused]);
    render(SyncErrorsPage, { props: { shell, opId: null } });
    const items = await screen.findAllByTestId('error-row');
    expect(items).toHaveLength(2);
    const first = items[0] as HTMLElement;
    expect(text(first)).toMatch(/Alpha/);
    expect(text(first)).toMatch(/Conflict/);
    expect(text(first)).toMatch(/Account · Edited ·/);
    expect(text(first)).toMatch(/Changed on the server too: Phone/);
    expect(text(first)).toMatch(/1 change waiting behind it/);
    expect(first.getAttribute('href')).toBe('#/errors/op-1');
    expect(text(items[1] as HTMLElement)).toMatch(/Some values were refused/);
    expect(text(screen.getByTestId('errors-count'))).toMatch(/2 changes the server refused/);
  });

  it('moves between the errors with the arrow keys', async () => {
    const { shell } = await setup([conflict, refused]);
    render(SyncErrorsPage, { props: { shell, opId: null } });
    const items = await screen.findAllByTestId('error-row');
    (items[0] as HTMLElement).focus();
    await fireEvent.keyDown(screen.getByTestId('errors-list'), { key: 'ArrowDown' });
    expect(document.activeElement).toBe(items[1]);
    await fireEvent.keyDown(screen.getByTestId('errors-list'), { key: 'Home' });
    expect(document.activeElement).toBe(items[0]);
  });

  it('says when there is nothing to resolve', async () => {
    const { shell } = await setup([]);
    render(SyncErrorsPage, { props: { shell, opId: null } });
    expect(text(await screen.findByTestId('errors-count'))).toMatch(/No sync errors/);
  });

  it('shows a conflict side by side, marked "!", and keeps mine', async () => {
    const { shell, sent } = await setup([conflict]);
    render(SyncErrorsPage, { props: { shell, opId: 'op-1' } });
    const row = await screen.findByTestId('conflict-telephone1');
    expect(text(row.querySelector('th'))).toMatch(/!\s*Conflict: Phone/);
    expect(text(screen.getByTestId('conflict-mine-telephone1'))).toMatch(/!\s*555-0300/);
    expect(text(screen.getByTestId('conflict-server-telephone1'))).toMatch(/!\s*555-0200/);
    expect(text(screen.getByTestId('conflict-before-telephone1'))).toMatch(/555-0100/);
    expect(text(screen.getByTestId('error-waiting'))).toMatch(/1 later change to this record is held/);

    await fireEvent.click(screen.getByTestId('error-keep-mine'));
    await waitFor(() => expect(sent).toEqual([{ op_id: 'op-1', resolution: { action: 'keep_mine' } }]));
    await waitFor(() => expect(shell.route).toEqual({ kind: 'errors' }));
  });

  it("asks before taking the server's values", async () => {
    const { shell, sent } = await setup([conflict]);
    render(SyncErrorsPage, { props: { shell, opId: 'op-1' } });
    await fireEvent.click(await screen.findByTestId('error-take-server'));
    const dialog = await screen.findByTestId('take-server-confirm');
    expect(dialog.textContent).toMatch(/Your change to Alpha is dropped/);
    expect(sent).toEqual([]);
    await fireEvent.click(within(dialog).getByTestId('take-server-confirm-yes'));
    await waitFor(() => expect(sent).toEqual([{ op_id: 'op-1', resolution: { action: 'take_server' } }]));
  });

  it('edits and resubmits, prefilled with mine and checked before it is sent', async () => {
    const { shell, sent } = await setup([refused]);
    render(SyncErrorsPage, { props: { shell, opId: 'op-2' } });
    expect(text(await screen.findByTestId('error-fields'))).toMatch(/!\s*Account name: Account name is required/);
    await fireEvent.click(screen.getByTestId('error-resubmit'));
    const input = screen.getByLabelText(/Account name/) as HTMLInputElement;
    expect(input.value).toBe('');
    await fireEvent.click(screen.getByTestId('resubmit-submit'));
    expect(text(screen.getByTestId('resubmit-form'))).toMatch(/Account name is required/);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(sent).toEqual([]);
    await fireEvent.input(input, { target: { value: 'Beta Ltd' } });
    await fireEvent.click(screen.getByTestId('resubmit-submit'));
    await waitFor(() =>
      expect(sent).toEqual([{ op_id: 'op-2', resolution: { action: 'resubmit', fields: { name: 'Beta Ltd' } } }]),
    );
  });

  it('after a resolution made offline, says it is sent at the next sync', async () => {
    const { shell } = await setup([conflict], false);
    const view = render(SyncErrorsPage, { props: { shell, opId: 'op-1' } });
    expect(text(await screen.findByTestId('error-offline-note'))).toMatch(/sent at the next sync/);
    await fireEvent.click(screen.getByTestId('error-keep-mine'));
    await waitFor(() => expect(shell.route).toEqual({ kind: 'errors' }));
    await view.rerender({ shell, opId: null });
    expect(text(await screen.findByTestId('errors-notice'))).toMatch(/You are offline: it is kept on this device/);
    expect(screen.queryByTestId('errors-sync-now')).toBeNull();
    expect(text(screen.getByTestId('errors-resolved'))).toMatch(/Alpha \(Account\): keep yours/);
  });

  it('offers a sync after a resolution made online', async () => {
    const { shell, core } = await setup([conflict]);
    const view = render(SyncErrorsPage, { props: { shell, opId: 'op-1' } });
    await fireEvent.click(await screen.findByTestId('error-keep-mine'));
    await waitFor(() => expect(shell.route).toEqual({ kind: 'errors' }));
    await view.rerender({ shell, opId: null });
    await fireEvent.click(await screen.findByTestId('errors-sync-now'));
    await waitFor(() => expect(core.callsOf('sync_now')).toHaveLength(1));
  });

  it('says so when an error is gone', async () => {
    const { shell } = await setup([]);
    render(SyncErrorsPage, { props: { shell, opId: 'op-404' } });
    expect(text(await screen.findByTestId('error-gone'))).toMatch(/no longer here/);
  });
});
