import { afterEach, describe, expect, it, vi } from 'vitest';
import { OutpostError } from '../api';
import { SessionStore, unencryptedServer } from './session.svelte';
import { fakeApi, makeStatus } from '../../test/fake-api';

describe('SessionStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('loads the status and prefills the sign-in form', async () => {
    const { api } = fakeApi({
      status: makeStatus({ signed_in: false, server_url: 'http://srv:1', username: 'ann' }),
    });
    const session = new SessionStore(api);
    expect(session.status).toBeNull();
    await session.refresh();
    expect(session.signedIn).toBe(false);
    expect(session.form.server_url).toBe('http://srv:1');
    expect(session.form.username).toBe('ann');
    expect(session.statusError).toBeNull();
  });

  it('does not overwrite what the user typed', async () => {
    const { api } = fakeApi({ status: makeStatus({ signed_in: false, server_url: 'http://a' }) });
    const session = new SessionStore(api);
    session.form.server_url = 'http://typed';
    await session.refresh();
    expect(session.form.server_url).toBe('http://typed');
  });

  it('reports a failing status call instead of staying blank, and recovers', async () => {
    const { api, backend } = fakeApi();
    backend.failNext.sessionStatus = new OutpostError('internal', 'Cannot reach the Outpost service');
    const session = new SessionStore(api);
    await session.refresh();
    expect(session.status).toBeNull();
    expect(session.statusError).toMatch(/Cannot reach the Outpost service/);
    expect(session.statusErrorCode).toBe('internal');
    await session.refresh();
    expect(session.statusError).toBeNull();
    expect(session.signedIn).toBe(true);
  });

  it('shares one request between concurrent refreshes', async () => {
    const { api } = fakeApi();
    const session = new SessionStore(api);
    await Promise.all([session.refresh(), session.refresh()]);
    expect(api.sessionStatus).toHaveBeenCalledTimes(1);
  });

  it('polls every interval until stopped', async () => {
    vi.useFakeTimers();
    const { api } = fakeApi();
    const session = new SessionStore(api);
    const stop = session.startPolling(5000);
    await vi.advanceTimersByTimeAsync(4999);
    expect(api.sessionStatus).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(api.sessionStatus).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(10000);
    expect(api.sessionStatus).toHaveBeenCalledTimes(3);
    stop();
    await vi.advanceTimersByTimeAsync(20000);
    expect(api.sessionStatus).toHaveBeenCalledTimes(3);
  });

  describe('signIn', () => {
    function signedOut() {
      const fake = fakeApi({
        status: makeStatus({ signed_in: false, server_url: null, username: null }),
      });
      return { ...fake, session: new SessionStore(fake.api) };
    }

    it('validates empty fields without calling the backend', async () => {
      const { api, session } = signedOut();
      expect(await session.signIn()).toBe(false);
      expect(session.signInError).toMatch(/Enter the server address/);
      expect(api.sessionSignIn).not.toHaveBeenCalled();
    });

    it('signs in, trims inputs and clears the password', async () => {
      const { api, session } = signedOut();
      session.form.server_url = ' http://srv ';
      session.form.username = ' demo ';
      session.form.password = 'secret';
      expect(await session.signIn()).toBe(true);
      expect(api.sessionSignIn).toHaveBeenCalledWith({
        server_url: 'http://srv',
        username: 'demo',
        password: 'secret',
        download: false,
      });
      expect(session.signedIn).toBe(true);
      expect(session.form.password).toBe('');
      expect(session.signInError).toBeNull();
    });

    it('sends plain http to another machine only when the user allowed it', async () => {
      expect(unencryptedServer('http://crm.example.org')).toBe(true);
      expect(unencryptedServer('https://crm.example.org')).toBe(false);
      expect(unencryptedServer('http://127.0.0.1:8640')).toBe(false);
      expect(unencryptedServer('http://localhost:8640')).toBe(false);
      expect(unencryptedServer('http://[::1]:8640')).toBe(false);
      const { api, session } = signedOut();
      session.form.server_url = 'http://crm.example.org';
      session.form.username = 'demo';
      session.form.password = 'secret';
      session.form.allow_http = true;
      await session.signIn();
      expect(api.sessionSignIn).toHaveBeenCalledWith(expect.objectContaining({ allow_http: true }));
    });

    it('maps unauthorized to a friendly message', async () => {
      const { session } = signedOut();
      Object.assign(session.form, { server_url: 'http://srv', username: 'u', password: 'nope' });
      expect(await session.signIn()).toBe(false);
      expect(session.signInError).toBe('Wrong user name or password');
      expect(session.signedIn).toBe(false);
    });

    it('maps server_unreachable to a friendly message', async () => {
      const { session, backend } = signedOut();
      backend.failNext.sessionSignIn = new OutpostError('server_unreachable', 'ECONNREFUSED');
      Object.assign(session.form, { server_url: 'http://srv', username: 'u', password: 'secret' });
      expect(await session.signIn()).toBe(false);
      expect(session.signInError).toBe('Cannot reach the server');
      expect(session.signingIn).toBe(false);
    });
  });
});
