import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import App from './App.svelte';
import { createApp } from './lib/state/app.svelte';
import { OutpostError } from './lib/api';
import { account, fakeApi, makeStatus, user } from './test/fake-api';

function renderApp(fake: ReturnType<typeof fakeApi>) {
  const app = createApp(fake.api);
  render(App, { props: { app } });
  return app;
}

const demoRows = [
  account('b', { name: 'Bravo', address1_city: 'Berlin', revenue: '2000', ownerid: 'systemuser:u1' }),
  account('a', { name: 'Alpha', address1_city: 'Aachen', revenue: '1000', ownerid: 'systemuser:u1' }, true),
];

describe('App', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows a clear message (not a blank page) when the status call fails', async () => {
    const fake = fakeApi();
    fake.backend.failNext.sessionStatus = new OutpostError(
      'internal',
      'Cannot reach the Outpost service (request "session_status" failed: Failed to fetch)',
    );
    renderApp(fake);
    const alert = await screen.findByTestId('status-error');
    expect(alert.textContent).toMatch(/Cannot reach the Outpost service/);
    expect(screen.getByTestId('signin-submit')).toBeTruthy();
  });

  it('signs in, mapping unauthorized to a friendly alert', async () => {
    const fake = fakeApi({
      status: makeStatus({ signed_in: false, server_url: 'http://srv', username: null }),
      rows: demoRows,
    });
    renderApp(fake);
    const server = await screen.findByTestId<HTMLInputElement>('signin-server');
    await waitFor(() => expect(server.value).toBe('http://srv'));

    await fireEvent.input(screen.getByTestId('signin-user'), { target: { value: 'demo' } });
    await fireEvent.input(screen.getByTestId('signin-password'), { target: { value: 'wrong' } });
    await fireEvent.click(screen.getByTestId('signin-submit'));
    const error = await screen.findByTestId('signin-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe('Wrong user name or password');

    await fireEvent.input(screen.getByTestId('signin-password'), { target: { value: 'secret' } });
    await fireEvent.click(screen.getByTestId('signin-submit'));
    const grid = await screen.findByTestId('accounts-grid');
    await within(grid).findByTestId('row-a');
  });

  it('shows the city, revenue and owner by name from the demo account attributes', async () => {
    const fake = fakeApi({ rows: demoRows, users: [user('u1', 'Fiona Field')] });
    renderApp(fake);
    const grid = await screen.findByTestId('accounts-grid');
    await within(grid).findByTestId('row-a');
    expect(screen.getByTestId('cell-city-a').textContent).toBe('Aachen');
    expect(screen.getByTestId('cell-revenue-a').textContent?.trim()).toBe(
      new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(1000),
    );
    await waitFor(() => expect(screen.getByTestId('cell-owner-a').textContent).toBe('Fiona Field'));
    expect(within(grid).getByRole('columnheader', { name: 'Owner' })).toBeTruthy();
  });

  it('hides the owner column when no users are on the device', async () => {
    renderApp(fakeApi({ rows: demoRows }));
    const grid = await screen.findByTestId('accounts-grid');
    await within(grid).findByTestId('row-a');
    expect(within(grid).queryByRole('columnheader', { name: 'Owner' })).toBeNull();
    expect(screen.queryByTestId('cell-owner-a')).toBeNull();
  });

  it('says why the session ended on the sign-in screen', async () => {
    renderApp(
      fakeApi({ status: makeStatus({ signed_in: false, signed_out_reason: 'wiped' }) }),
    );
    const notice = await screen.findByTestId('signed-out-notice');
    expect(notice.textContent).toMatch(/delete its offline data/);
  });

  it('shows the grid sorted by name with a pending badge, and edits a row', async () => {
    const fake = fakeApi({ status: makeStatus({ pending_ops: 1 }), rows: demoRows });
    renderApp(fake);
    const grid = await screen.findByTestId('accounts-grid');
    await within(grid).findByTestId('row-a');
    const rows = within(grid).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.getAttribute('data-testid'))).toEqual(['row-a', 'row-b']);
    expect(screen.getByTestId('pending-a').textContent).toContain('Pending sync');
    expect(screen.queryByTestId('pending-b')).toBeNull();
    expect(grid.querySelector('caption')?.textContent).toBe('2 accounts, sorted by name');
    await waitFor(() =>
      expect(screen.getByTestId('status-pending').textContent).toBe('1 change waiting to sync'),
    );

    // Empty name: validation message, no backend call.
    await fireEvent.click(screen.getByTestId('edit-b'));
    const name = screen.getByTestId<HTMLInputElement>('edit-name');
    expect(name.value).toBe('Bravo');
    await fireEvent.input(name, { target: { value: '' } });
    await fireEvent.click(screen.getByTestId('edit-save'));
    expect((await screen.findByTestId('edit-error')).textContent).toBe('Name is required');
    expect(fake.api.recordUpdate).not.toHaveBeenCalled();

    await fireEvent.input(name, { target: { value: 'Zulu' } });
    await fireEvent.click(screen.getByTestId('edit-save'));
    await waitFor(() => expect(screen.getByTestId('cell-name-b').textContent).toBe('Zulu'));
    expect(fake.api.recordUpdate).toHaveBeenCalledWith({
      entity: 'account',
      id: 'b',
      fields: { name: 'Zulu' },
    });
    expect(screen.queryByTestId('edit-name')).toBeNull();
    expect(screen.getByTestId('pending-b')).toBeTruthy();
    await waitFor(() =>
      expect(screen.getByTestId('status-pending').textContent).toBe('2 changes waiting to sync'),
    );
  });

  it('cancels an edit without saving', async () => {
    const fake = fakeApi({ rows: demoRows });
    renderApp(fake);
    await fireEvent.click(await screen.findByTestId('edit-a'));
    await fireEvent.input(screen.getByTestId('edit-city'), { target: { value: 'Paris' } });
    await fireEvent.click(screen.getByTestId('edit-cancel'));
    expect(screen.queryByTestId('edit-city')).toBeNull();
    expect(screen.getByTestId('cell-city-a').textContent).toBe('Aachen');
    expect(fake.api.recordUpdate).not.toHaveBeenCalled();
  });

  it('syncs, and explains when the server is unreachable', async () => {
    const fake = fakeApi({ status: makeStatus({ pending_ops: 1 }), rows: demoRows });
    renderApp(fake);
    await screen.findByTestId('pending-a');
    expect(screen.getByTestId('status-online').textContent).toBe('Online');
    expect(screen.getByTestId('status-last-sync').textContent).toBe('Never synced');

    fake.backend.failNext.syncNow = new OutpostError('server_unreachable', 'refused');
    fake.backend.status = { ...fake.backend.status, online: false };
    await fireEvent.click(screen.getByTestId('sync-now'));
    const message = screen.getByTestId('sync-message');
    await waitFor(() =>
      expect(message.textContent?.trim()).toBe(
        'Offline — your changes are kept and will sync when the server is back',
      ),
    );
    expect(message.getAttribute('role')).toBe('status');
    expect(screen.getByTestId('status-online').textContent).toBe('Offline');

    fake.backend.status = { ...fake.backend.status, online: true };
    await fireEvent.click(screen.getByTestId('sync-now'));
    await waitFor(() => expect(screen.queryByTestId('pending-a')).toBeNull());
    expect(screen.getByTestId('status-pending').textContent).toBe('No changes waiting to sync');
    expect(screen.getByTestId('status-last-sync').textContent).toMatch(/^Last sync: /);
  });

  it('polls the status every 5 seconds and stops when unmounted', async () => {
    vi.useFakeTimers();
    const fake = fakeApi({ rows: demoRows });
    const app = createApp(fake.api);
    const { unmount } = render(App, { props: { app } });
    await vi.advanceTimersByTimeAsync(0);
    expect(fake.api.sessionStatus).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(fake.api.sessionStatus).toHaveBeenCalledTimes(2);
    unmount();
    await vi.advanceTimersByTimeAsync(15000);
    expect(fake.api.sessionStatus).toHaveBeenCalledTimes(2);
  });
});
