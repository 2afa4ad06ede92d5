import { describe, expect, it, vi } from 'vitest';
import { OutpostError } from '../api';
import { FakeCore } from '../../test/fake-core';
import { loadedShell } from '../../test/builders';
import { STATUS_POLL_MS, STATUS_POLL_SYNCING_MS } from './shell.svelte';

describe('a sync the user runs', () => {
  it('says how it went and reloads the screens once, with or without a new sync time', async () => {
    const core = new FakeCore();
    const shell = await loadedShell(core);
    const before = shell.dataVersion;
    await shell.syncNow();
    expect(shell.toast?.text).toMatch(/^Synced — 0 sent, 0 received/);
    expect(shell.sync?.last_sync_at, 'the status shows the new sync').toBe('2026-11-28T11:00:00Z');
    expect(shell.dataVersion).toBe(before + 1);
    core.online = false;
    await shell.syncNow();
    expect(shell.toast).toEqual({
      text: 'Offline — your changes are kept and will sync when the server is back',
      tone: 'info',
    });
    expect(shell.dataVersion).toBe(before + 2);
  });

  it('shows its progress at once, then reads the status at the syncing pace until it ends', async () => {
    vi.useFakeTimers();
    try {
      const core = new FakeCore();
      const shell = await loadedShell(core);
      const stop = shell.startPolling();
      await vi.advanceTimersByTimeAsync(0);
      const reads = () => core.callsOf('sync_status').length;
      let finish = (): void => undefined;
      const ended = new Promise<void>((resolve) => (finish = resolve));
      core.handlers.sync_now = async () => {
        await ended;
        return { pushed: 0, pulled: 40, conflicts: 0, errors: 0, parked: 0, resolved: 0, finished_at: '' };
      };
      core.sync = { ...core.sync, syncing: true, progress: { done: 20, remaining: 20, seconds_left: 2 } };
      const before = reads();
      const sync = shell.syncNow();
      await vi.advanceTimersByTimeAsync(0);
      expect(reads(), 'the status is read when the sync starts, not at the next slow poll').toBe(before + 1);
      expect(shell.sync?.progress?.done).toBe(20);
      await vi.advanceTimersByTimeAsync(STATUS_POLL_SYNCING_MS);
      expect(reads(), 'then at the syncing pace').toBe(before + 2);
      core.sync = { ...core.sync, syncing: false, progress: null };
      finish();
      await sync;
      await vi.advanceTimersByTimeAsync(STATUS_POLL_SYNCING_MS);
      const settled = reads();
      await vi.advanceTimersByTimeAsync(STATUS_POLL_MS - STATUS_POLL_SYNCING_MS - 1);
      expect(reads(), 'back to the slow pace once it ended').toBe(settled);
      stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps one polling loop when stopped and started again while a read is under way', async () => {
    vi.useFakeTimers();
    try {
      const core = new FakeCore();
      const shell = await loadedShell(core);
      const reads = () => core.callsOf('sync_status').length;
      let release = (): void => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const status = core.sync;
      core.handlers.sync_status = async () => {
        await held;
        return status;
      };
      const stop = shell.startPolling();
      // The screen goes and comes back while the first read waits.
      stop();
      const stopAgain = shell.startPolling();
      delete core.handlers.sync_status;
      release();
      await vi.advanceTimersByTimeAsync(0);
      const settled = reads();
      await vi.advanceTimersByTimeAsync(STATUS_POLL_MS * 3);
      expect(reads() - settled, 'one read per interval, not two loops').toBe(3);
      stopAgain();
      await vi.advanceTimersByTimeAsync(STATUS_POLL_MS * 2);
      expect(reads() - settled, 'none once stopped').toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says what to do when sync waits for an update of the app, or failed', async () => {
    const core = new FakeCore();
    const shell = await loadedShell(core);
    core.failNext.sync_now = new OutpostError('metadata_pending', 'metadata v2 waits');
    await shell.syncNow();
    expect(shell.toast).toEqual({ text: 'An update of the app waits for your yes before sync goes on', tone: 'info' });
    core.failNext.sync_now = new OutpostError('server', 'HTTP 500');
    await shell.syncNow();
    expect(shell.toast).toEqual({ text: 'Sync failed: HTTP 500', tone: 'error' });
  });
});

describe('navigation', () => {
  it('goes to a new draft for a new record in a drafts module, from a link or an address, in place', async () => {
    const shell = await loadedShell(new FakeCore(), 'quick-capture');
    history.replaceState(null, '', '#/drafts');
    const entries = history.length;
    shell.go({ kind: 'new', entity: 'account' });
    expect(shell.route).toEqual({ kind: 'new-draft', entity: 'account' });
    expect(location.hash).toBe('#/new-draft/account');
    history.replaceState(null, '', '#/new/account');
    shell.followAddress();
    expect(shell.route).toEqual({ kind: 'new-draft', entity: 'account' });
    expect(location.hash).toBe('#/new-draft/account');
    shell.go({ kind: 'drafts' }, { replace: true });
    expect(location.hash).toBe('#/drafts');
    expect(history.length, 'a redirect adds no history entry').toBe(entries + 1);
    history.replaceState(null, '', '#/');
  });
});
