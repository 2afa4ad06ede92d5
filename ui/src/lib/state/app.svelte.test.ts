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
});
