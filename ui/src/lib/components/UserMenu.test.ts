import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import UserMenu from './UserMenu.svelte';
import { SessionStore } from '../state/session.svelte';
import { OutpostError } from '../api';
import { fakeApi, makeStatus } from '../../test/fake-api';
import { FakeCore } from '../../test/fake-core';
import { ShellStore } from '../state/shell.svelte';

describe('UserMenu', () => {
  afterEach(() => {
    localStorage.clear();
    document.documentElement.removeAttribute('data-theme');
  });

  it('switches the theme and keeps the choice', async () => {
    const session = new SessionStore(fakeApi().api);
    render(UserMenu, { props: { session, shell: new ShellStore(new FakeCore().run) } });
    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('theme-dark'));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBe('dark'));
    expect(localStorage.getItem('outpost.theme')).toBe('dark');
    await fireEvent.click(screen.getByTestId('theme-system'));
    await waitFor(() => expect(document.documentElement.dataset.theme).toBeUndefined());
  });

  it('signs out keeping the data, and names the unsent work before deleting it', async () => {
    const core = new FakeCore();
    const signOuts: unknown[] = [];
    let unsent = { changes: 2, sync_errors: 1, resolutions: 0, drafts: 0 };
    core.handlers.session_unsent = () => unsent;
    core.handlers.session_sign_out = (args) => {
      signOuts.push(args);
      if (args.wipe && JSON.stringify(args.discard ?? null) !== JSON.stringify(unsent)) {
        throw new OutpostError('unsent_work', 'the work that would be lost is not named');
      }
      return makeStatus({ signed_in: false });
    };
    const session = new SessionStore(fakeApi().api);
    render(UserMenu, { props: { session, shell: new ShellStore(core.run) } });
    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('sign-out'));
    await waitFor(() => expect(signOuts).toEqual([{ wipe: false }]));

    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('sign-out-wipe'));
    expect((await screen.findByTestId('wipe-unsent')).textContent).toMatch(/2 changes and 1 sync error/);
    const confirm = screen.getByTestId<HTMLButtonElement>('wipe-confirm');
    expect(confirm.disabled, 'nothing is deleted until the user ticks the named loss').toBe(true);

    // More work is made while the dialog is open: the yes given for less is refused.
    await fireEvent.click(screen.getByTestId('wipe-discard'));
    unsent = { changes: 3, sync_errors: 1, resolutions: 0, drafts: 1 };
    await fireEvent.click(confirm);
    await waitFor(() => expect(screen.getByTestId('wipe-unsent').textContent).toMatch(/3 changes, 1 sync error and 1 draft/));
    expect(signOuts).toHaveLength(2);
    expect(confirm.disabled, 'the user must say yes again').toBe(true);

    await fireEvent.click(screen.getByTestId('wipe-discard'));
    await fireEvent.click(confirm);
    await waitFor(() => expect(signOuts).toHaveLength(3));
    expect(signOuts[2]).toEqual({ wipe: true, discard: unsent });
  });

  it('deletes at once when nothing is unsent', async () => {
    const core = new FakeCore();
    const signOuts: unknown[] = [];
    core.handlers.session_unsent = () => ({ changes: 0, sync_errors: 0, resolutions: 0, drafts: 0 });
    core.handlers.session_sign_out = (args) => {
      signOuts.push(args);
      return makeStatus({ signed_in: false });
    };
    const session = new SessionStore(fakeApi().api);
    render(UserMenu, { props: { session, shell: new ShellStore(core.run) } });
    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('sign-out-wipe'));
    const confirm = await screen.findByTestId<HTMLButtonElement>('wipe-confirm');
    await waitFor(() => expect(confirm.disabled).toBe(false));
    expect(screen.queryByTestId('wipe-unsent')).toBeNull();
    await fireEvent.click(confirm);
    await waitFor(() => expect(signOuts).toEqual([{ wipe: true }]));
  });
});
