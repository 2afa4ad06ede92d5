import { describe, expect, it } from 'vitest';
import { createApp } from './app.svelte';
import { account, fakeApi, makeStatus } from '../../test/fake-api';

describe('createApp wiring', () => {
  it('refreshes the status after a save and the list after a sync', async () => {
    const { api } = fakeApi({
      status: makeStatus({ pending_ops: 0 }),
      rows: [account('a', { name: 'Alpha' })],
    });
    const { session, accounts } = createApp(api);
    await session.refresh();
    await accounts.load();

    accounts.startEdit('a');
    accounts.updateDraft({ name: 'Alpha 2' });
    await accounts.save();
    expect(session.status?.pending_ops).toBe(1);
    expect(accounts.rows[0]?.pending).toBe(true);

    await session.syncNow();
    expect(session.status?.pending_ops).toBe(0);
    expect(accounts.rows[0]?.pending).toBe(false);
  });

  it('reloads the list when a status shows a sync it did not start', async () => {
    const { api, backend } = fakeApi({
      status: makeStatus({ last_sync_at: '2026-11-28T10:00:00Z' }),
      rows: [account('a', { name: 'Alpha' })],
    });
    const { session, accounts } = createApp(api);
    await session.refresh();
    await accounts.load();
    let loads = 0;
    const load = accounts.load.bind(accounts);
    accounts.load = async () => {
      loads += 1;
      await load();
    };
    await session.refresh();
    expect(loads).toBe(0);
    backend.status = makeStatus({ last_sync_at: '2026-11-28T10:05:00Z' });
    await session.refresh();
    await Promise.resolve();
    expect(loads).toBe(1);
  });
});
