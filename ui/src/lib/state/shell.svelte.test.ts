import { describe, expect, it } from 'vitest';
import { OutpostError } from '../api';
import { FakeCore } from '../../test/fake-core';
import { loadedShell } from '../../test/builders';

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
