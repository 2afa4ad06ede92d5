import { describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import RecoveryBanner from './RecoveryBanner.svelte';
import { SessionStore } from '../state/session.svelte';
import { fakeApi, makeStatus } from '../../test/fake-api';
import { FakeCore } from '../../test/fake-core';
import { ShellStore } from '../state/shell.svelte';

describe('RecoveryBanner', () => {
  it('offers the signed-in user their sealed work back, and restores it', async () => {
    const core = new FakeCore();
    const restored: unknown[] = [];
    const unsent = { changes: 2, sync_errors: 1, resolutions: 0, drafts: 0 };
    core.handlers.recovery_list = () => [
      { id: 'r1', created_on: '2026-12-07T10:00:00Z', username: 'demo', server_url: null, unsent, restorable: true },
      { id: 'r2', created_on: '2026-12-07T10:00:00Z', username: 'other', server_url: null, unsent, restorable: false },
    ];
    core.handlers.recovery_restore = (args) => {
      restored.push(args);
      return unsent;
    };
    const { api } = fakeApi({ status: makeStatus({ recoveries: 2 }) });
    const session = new SessionStore(api);
    await session.refresh();
    render(RecoveryBanner, { props: { session, shell: new ShellStore(core.run) } });
    const banners = await screen.findAllByTestId('recovery-banner');
    expect(banners, "another user's file is not offered").toHaveLength(1);
    expect(banners[0]?.textContent).toMatch(/2 changes and 1 sync error/);
    await fireEvent.click(screen.getByTestId('recovery-restore'));
    await waitFor(() => expect(restored).toEqual([{ id: 'r1' }]));
  });
});
