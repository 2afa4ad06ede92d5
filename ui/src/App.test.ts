import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import App from './App.svelte';
import { createApp } from './lib/state/app.svelte';
import { ShellStore, TOAST_ERROR_MS, TOAST_MS } from './lib/state/shell.svelte';
import { OutpostError } from './lib/api';
import { fakeApi, makeStatus } from './test/fake-api';
import { syncError } from './test/builders';
import { FakeCore, makeSyncStatus, row } from './test/fake-core';

function renderApp(fake: ReturnType<typeof fakeApi>, core = new FakeCore()) {
  const app = createApp(fake.api, core.run);
  render(App, { props: { app } });
  return { app, core };
}

describe('App', () => {
  afterEach(() => {
    vi.useRealTimers();
    localStorage.clear();
    history.replaceState(null, '', '#/');
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

  it('signs in without downloading, then lists the app modules', async () => {
    const fake = fakeApi({
      status: makeStatus({ signed_in: false, offline_data: false, server_url: 'http://srv', username: null }),
    });
    renderApp(fake);
    const server = await screen.findByTestId<HTMLInputElement>('signin-server');
    await waitFor(() => expect(server.value).toBe('http://srv'));
    await fireEvent.input(screen.getByTestId('signin-user'), { target: { value: 'demo' } });
    await fireEvent.input(screen.getByTestId('signin-password'), { target: { value: 'wrong' } });
    await fireEvent.click(screen.getByTestId('signin-submit'));
    const error = await screen.findByTestId('signin-error');
    expect(error.textContent).toBe('Wrong user name or password');

    await fireEvent.input(screen.getByTestId('signin-password'), { target: { value: 'secret' } });
    await fireEvent.click(screen.getByTestId('signin-submit'));
    await screen.findByTestId('module-field-sales');
    expect(screen.getByTestId('module-quick-capture').textContent).toMatch(/Offline drafts/);
    expect(fake.api.sessionSignIn).toHaveBeenLastCalledWith(
      expect.objectContaining({ download: false }),
    );
  });

  it('opening an offline module with no data asks to download it, then downloads', async () => {
    const core = new FakeCore();
    core.sync = makeSyncStatus({ last_sync_at: null, state: 'initializing' });
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    await screen.findByTestId('download-prompt');
    // Not downloaded yet is not an error: no red bars before the first download.
    expect(screen.getByTestId('sitemap-account').dataset.marker).toBe('none');
    await fireEvent.click(screen.getByTestId('download-start'));
    await waitFor(() => expect(core.callsOf('sync_now')).toHaveLength(1));
  });

  it('marks each sitemap entity green, red with its reason, or not at all', async () => {
    const core = new FakeCore();
    core.sync = makeSyncStatus();
    const contact = core.sync.entities.find((e) => e.entity === 'contact');
    if (contact) {
      contact.available = false;
      contact.reason = 'Your administrator has switched offline off for contacts.';
    }
    core.sync.entities = core.sync.entities.filter((e) => e.entity !== 'task');
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const account = await screen.findByTestId('sitemap-account');
    await waitFor(() => expect(account.dataset.marker).toBe('available'));
    expect(screen.getByTestId('sitemap-contact').dataset.marker).toBe('unavailable');
    expect(screen.getByTestId('sitemap-task').dataset.marker).toBe('none');
    expect(account.textContent).toMatch(/available offline/);
    await fireEvent.click(screen.getByTestId('sitemap-why-contact'));
    expect(screen.getByTestId('sitemap-reason-contact').textContent).toMatch(/switched offline off/);
  });

  it('shows the footer state with words and a flyout of entities and reasons', async () => {
    const core = new FakeCore();
    core.sync = makeSyncStatus({
      state: 'available_warning',
      metadata_pending: 7,
      reasons: ['An update of the app is ready.'],
    });
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const state = await screen.findByTestId('status-state');
    expect(state.textContent).toMatch(/an update is ready/);
    // The metadata prompt comes to the front (C16); "later" keeps the footer's link.
    await fireEvent.click(await screen.findByTestId('metadata-later'));
    await fireEvent.click(state);
    expect(screen.getByTestId('status-enabled').textContent).toMatch(/3 entities of 3/);
    await fireEvent.click(screen.getByTestId('status-download-update'));
    await waitFor(() => expect(core.callsOf('metadata_accept')).toHaveLength(1));
  });

  it('says an update is required in the footer while changes wait on the device', async () => {
    const core = new FakeCore();
    core.sync = makeSyncStatus({
      pending_ops: 2,
      update_required: 'this app is version 0.1.0, and your organisation needs 0.2.0 or later',
    });
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const banner = await screen.findByTestId('status-update-required');
    expect(banner.textContent).toMatch(/Update required/);
    expect(banner.getAttribute('title')).toMatch(/needs 0\.2\.0/);
    expect(screen.getByTestId('status-pending').textContent).toMatch(/2/);
  });

  it('offers the org\'s app update, installs it on yes and says why an install failed', async () => {
    const core = new FakeCore();
    const update = {
      version: '0.2.0',
      notes: 'Faster sync for large territories.',
      size: 5 * 1024 * 1024,
      blocked: null,
      installing: false,
      failed: null,
    };
    core.sync = makeSyncStatus({ pending_ops: 1, update });
    core.handlers.update_install = () => null;
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const offer = await screen.findByTestId('status-update-available');
    expect(offer.textContent).toMatch(/Update 0\.2\.0 available/);
    await fireEvent.click(offer);
    expect((await screen.findByTestId('update-notes')).textContent).toMatch(/Faster sync/);
    expect(screen.getByTestId('update-prompt').textContent).toMatch(/5\.0 MB/);
    await fireEvent.click(screen.getByTestId('update-install'));
    await waitFor(() => expect(core.callsOf('update_install')).toHaveLength(1));

    // A form with unsaved edits (it objects to the window closing): no install, and why.
    const dirty = (event: Event) => event.preventDefault();
    window.addEventListener('beforeunload', dirty);
    await fireEvent.click(screen.getByTestId('update-install'));
    expect((await screen.findByTestId('update-failed')).textContent).toMatch(/unsaved changes/);
    expect(core.callsOf('update_install')).toHaveLength(1);
    window.removeEventListener('beforeunload', dirty);

    // The install was refused: the prompt says why, and nothing else changed.
    delete core.handlers.update_install;
    core.failNext.update_install = new OutpostError(
      'invalid_input',
      "The update was refused: the package is not signed with your organization's update key.",
    );
    await fireEvent.click(screen.getByTestId('update-install'));
    expect((await screen.findByTestId('update-failed')).textContent).toMatch(/not signed/);
    await fireEvent.click(screen.getByTestId('update-later'));
    await waitFor(() => expect(screen.queryByTestId('update-prompt')).toBeNull());
    expect(screen.getByTestId('status-update-available')).toBeTruthy();
  });

  it('says why an update cannot be installed and offers it when the app is too old to sync', async () => {
    const core = new FakeCore();
    core.sync = makeSyncStatus({
      update_required: 'this app is version 0.1.0, and your organisation needs 0.2.0 or later',
      update: {
        version: '0.2.0',
        notes: '',
        size: 1024,
        blocked: 'Version 0.2.0 cannot move this device\'s offline data forward.',
        installing: false,
        failed: null,
      },
    });
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const offer = await screen.findByTestId('status-update-available');
    expect(offer.textContent).toMatch(/Install 0\.2\.0/);
    await fireEvent.click(offer);
    expect((await screen.findByTestId('update-prompt-required')).textContent).toMatch(/changes wait/);
    expect(screen.getByTestId('update-blocked').textContent).toMatch(/cannot move/);
    expect((screen.getByTestId('update-install') as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows the offline indicator at once and reconnects when tapped', async () => {
    const core = new FakeCore();
    core.online = false;
    core.records = [row('account', 'a1', { name: 'Alpha' })];
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const indicator = await screen.findByTestId('offline-indicator');
    await fireEvent.click(indicator);
    await screen.findByText(/Still offline/);
    core.online = true;
    await fireEvent.click(screen.getByTestId('offline-indicator'));
    await waitFor(() => expect(core.callsOf('sync_now')).toHaveLength(1));
    await waitFor(() => expect(screen.queryByTestId('offline-indicator')).toBeNull());
  });

  it('keeps working on the device after the session ended, the sign-in prompt dismissed', async () => {
    const fake = fakeApi({
      status: makeStatus({ signed_in: false, signed_out_reason: 'session_ended', offline_data: true }),
    });
    renderApp(fake);
    await screen.findByTestId('signin-prompt');
    await fireEvent.click(screen.getByTestId('signin-dismiss'));
    expect(screen.queryByTestId('signin-prompt')).toBeNull();
    expect(screen.getByTestId('module-field-sales')).toBeTruthy();
  });

  it('tells of new sync errors after a sync and leads to their list from the footer', async () => {
    const core = new FakeCore();
    core.records = [row('account', 'a1', { name: 'Alpha' })];
    core.handlers.sync_now = () => {
      core.errors = [
        syncError({
          conflicts: [{ field: 'telephone1', before: '1', mine: '2', server: '3' }],
          changes: { telephone1: '2' },
          created_on: '2026-11-28T10:30:00Z',
        }),
      ];
      core.sync = { ...core.sync, sync_errors: 1, last_sync_at: '2026-11-28T11:00:00Z' };
      return { pushed: 0, pulled: 0, conflicts: 1, errors: 0, parked: 0, resolved: 0, finished_at: '2026-11-28T11:00:00Z' };
    };
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    await screen.findByTestId('status-state');
    expect(screen.queryByTestId('status-errors')).toBeNull();
    await fireEvent.click(screen.getByTestId('sync-now'));
    const notification = await screen.findByTestId('errors-notification');
    expect(notification.textContent).toBe('1 new — review');
    expect(screen.getByRole('alert').textContent).toMatch(/The server refused a change: open Sync errors/);
    expect(screen.getByTestId('status-errors').textContent).toMatch(/1 sync error/);
    expect(screen.getByTestId('status-errors').getAttribute('href')).toBe('#/errors');
    history.pushState(null, '', '#/errors');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await screen.findByTestId('error-row');
    await waitFor(() => expect(screen.queryByTestId('errors-notification')).toBeNull());
  });

  it('lets a message go by itself, a failure later than good news', () => {
    vi.useFakeTimers();
    const shell = new ShellStore(new FakeCore().run);
    shell.flash('Synced', 'ok');
    vi.advanceTimersByTime(TOAST_MS);
    expect(shell.toast).toBeNull();
    shell.flash('Sync failed', 'error');
    vi.advanceTimersByTime(TOAST_MS);
    expect(shell.toast?.text).toBe('Sync failed');
    vi.advanceTimersByTime(TOAST_ERROR_MS - TOAST_MS);
    expect(shell.toast).toBeNull();
  });

  it('closes the footer flyout with Escape, focus back on the state, and with a tap elsewhere', async () => {
    renderApp(fakeApi(), new FakeCore());
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    const state = await screen.findByTestId('status-state');
    await fireEvent.click(state);
    expect(screen.getByTestId('status-flyout')).toBeTruthy();
    await fireEvent.keyDown(window, { key: 'Escape' });
    expect(screen.queryByTestId('status-flyout')).toBeNull();
    expect(document.activeElement).toBe(state);
    await fireEvent.click(state);
    await fireEvent.click(screen.getByTestId('status-pending'));
    expect(screen.queryByTestId('status-flyout')).toBeNull();
  });

  it('shows the first download with counts and time left (B6)', async () => {
    const core = new FakeCore();
    core.sync = makeSyncStatus({ last_sync_at: null, state: 'initializing' });
    let finish: () => void = () => {};
    core.handlers.sync_now = () =>
      new Promise((resolve) => {
        finish = () =>
          resolve({ pushed: 0, pulled: 500, conflicts: 0, errors: 0, parked: 0, resolved: 0, finished_at: '2026-11-28T11:00:00Z' });
      });
    renderApp(fakeApi(), core);
    await fireEvent.click(await screen.findByTestId('module-field-sales'));
    await fireEvent.click(await screen.findByTestId('download-start'));
    expect((await screen.findByTestId('download-prompt')).textContent).toMatch(/Downloading your data/);
    core.sync = { ...core.sync, syncing: true, progress: { done: 120, remaining: 380, seconds_left: 12 } };
    const progress = await screen.findByTestId('download-progress', {}, { timeout: 3000 });
    expect(progress.textContent?.replace(/\s+/g, ' ')).toMatch(/120 records of 500 — 12 s left/);
    core.sync = { ...core.sync, syncing: false, progress: null, last_sync_at: '2026-11-28T11:00:00Z', state: 'available' };
    finish();
    await waitFor(() => expect(screen.queryByTestId('download-prompt')).toBeNull());
  });
});
