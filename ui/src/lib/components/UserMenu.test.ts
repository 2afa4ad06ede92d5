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

  it('signs out keeping the data, and asks before deleting it', async () => {
    const core = new FakeCore();
    const signOuts: unknown[] = [];
    core.handlers.session_sign_out = (args) => {
      signOuts.push(args);
      if (args.wipe && !args.discard_pending) {
        throw new OutpostError('invalid_input', '2 changes have not reached the server yet');
      }
      return makeStatus({ signed_in: false });
    };
    const session = new SessionStore(fakeApi().api);
    render(UserMenu, { props: { session, shell: new ShellStore(core.run) } });
    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('sign-out'));
    await waitFor(() => expect(signOuts).toEqual([{ wipe: false, discard_pending: false }]));

    await fireEvent.click(screen.getByTestId('user-menu'));
    await fireEvent.click(screen.getByTestId('sign-out-wipe'));
    await fireEvent.click(screen.getByTestId('wipe-confirm'));
    expect((await screen.findByTestId('wipe-error')).textContent).toMatch(/not reached the server/);
    await fireEvent.click(screen.getByTestId('wipe-discard'));
    await fireEvent.click(screen.getByTestId('wipe-confirm'));
    await waitFor(() => expect(signOuts).toHaveLength(3));
    expect(signOuts[2]).toEqual({ wipe: true, discard_pending: true });
  });
});
