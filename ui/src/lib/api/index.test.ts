import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  OutpostError,
  run,
  sessionSignIn,
  sessionStatus,
  toOutpostError,
} from './index';
import { makeStatus } from '../../test/fake-api';

const status = makeStatus();

function jsonResponse(body: unknown, init: ResponseInit = { status: 200 }): Response {
  return new Response(JSON.stringify(body), {
    ...init,
    headers: { 'content-type': 'application/json' },
  });
}

function stubFetch(impl: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>) {
  const fetchMock = vi.fn(impl);
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

async function caught(promise: Promise<unknown>): Promise<OutpostError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(OutpostError);
    return error as OutpostError;
  }
  throw new Error('expected the promise to reject');
}

describe('bridge transport (plain browser)', () => {
  it('POSTs a command without args as an empty JSON object', async () => {
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse(status)));
    await expect(sessionStatus()).resolves.toEqual(status);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('/api/invoke/session_status');
    expect(init?.method).toBe('POST');
    expect(init?.headers).toEqual({ 'content-type': 'application/json' });
    expect(init?.body).toBe('{}');
  });

  it('takes the key from the address the bridge printed, keeps it for the tab and sends it', async () => {
    window.history.replaceState(null, '', '/#key=k123');
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse(status)));
    await sessionStatus();
    expect(window.location.hash, 'the key leaves the address bar').toBe('');
    await sessionStatus();
    expect(fetchMock.mock.calls.map((c) => c[1]?.headers)).toEqual([
      { 'content-type': 'application/json', authorization: 'Bearer k123' },
      { 'content-type': 'application/json', authorization: 'Bearer k123' },
    ]);
    window.sessionStorage.clear();
  });

  it('sends the args object as the JSON body', async () => {
    const fetchMock = stubFetch(() => Promise.resolve(jsonResponse(status)));
    const args = { server_url: 'http://srv', username: 'u', password: 'p' };
    await sessionSignIn(args);
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toBe('/api/invoke/session_sign_in');
    expect(JSON.parse(String(init?.body))).toEqual(args);
  });

  it('uses the right command for every function', async () => {
    const row = { id: 'a1', entity: 'account', fields: {}, row_version: 1, pending: false };
    const report = { pushed: 1, pulled: 2, conflicts: 0, errors: 0, parked: 0, resolved: 0, finished_at: 'x' };
    const fetchMock = stubFetch((input) => {
      const url = String(input);
      if (url.endsWith('/record_list')) return Promise.resolve(jsonResponse([row]));
      if (url.endsWith('/record_update')) return Promise.resolve(jsonResponse(row));
      return Promise.resolve(jsonResponse(report));
    });
    await expect(run('record_list', { entity: 'account' })).resolves.toEqual([row]);
    await expect(
      run('record_update', { entity: 'account', id: 'a1', fields: { name: 'N' } }),
    ).resolves.toEqual(row);
    await expect(run('sync_now')).resolves.toEqual(report);
    expect(fetchMock.mock.calls.map((c) => [String(c[0]), c[1]?.body])).toEqual([
      ['/api/invoke/record_list', '{"entity":"account"}'],
      ['/api/invoke/record_update', '{"entity":"account","id":"a1","fields":{"name":"N"}}'],
      ['/api/invoke/sync_now', '{}'],
    ]);
  });

  it('turns a non-2xx {code, message} answer into an OutpostError', async () => {
    stubFetch(() =>
      Promise.resolve(
        jsonResponse({ code: 'unauthorized', message: 'bad credentials' }, { status: 401 }),
      ),
    );
    const error = await caught(sessionSignIn({ server_url: 's', username: 'u', password: 'p' }));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toBe('bad credentials');
    expect(error.name).toBe('OutpostError');
  });

  it('maps an unknown error code to internal but keeps the message', async () => {
    stubFetch(() =>
      Promise.resolve(jsonResponse({ code: 'martian', message: 'odd' }, { status: 500 })),
    );
    const error = await caught(run('sync_now'));
    expect(error.code).toBe('internal');
    expect(error.message).toBe('odd');
  });

  it('maps a non-JSON error answer to internal with the HTTP status', async () => {
    stubFetch(() => Promise.resolve(new Response('<h1>Not Found</h1>', { status: 404 })));
    const error = await caught(sessionStatus());
    expect(error.code).toBe('internal');
    expect(error.message).toContain('404');
  });

  it('maps an unreadable 200 answer to internal', async () => {
    stubFetch(() => Promise.resolve(new Response('not json', { status: 200 })));
    const error = await caught(sessionStatus());
    expect(error.code).toBe('internal');
  });

  it('maps a network failure of fetch itself to internal with a clear message', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')));
    const error = await caught(sessionStatus());
    expect(error.code).toBe('internal');
    expect(error.message).toMatch(/Cannot reach the Outpost service/);
    expect(error.message).toContain('Failed to fetch');
  });
});

describe('Tauri transport', () => {
  afterEach(() => {
    delete (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__;
  });

  function installTauri(impl: (cmd: string, args: unknown, options: unknown) => Promise<unknown>) {
    const invoke = vi.fn(impl);
    (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = { invoke };
    const fetchMock = stubFetch(() => Promise.reject(new Error('fetch must not be used')));
    return { invoke, fetchMock };
  }

  it('invokes the one core command of the shell, naming the command', async () => {
    const { invoke, fetchMock } = installTauri(() => Promise.resolve(status));
    await expect(sessionStatus()).resolves.toEqual(status);
    expect(invoke).toHaveBeenCalledTimes(1);
    expect(invoke.mock.calls[0]?.[0]).toBe('core');
    expect(invoke.mock.calls[0]?.[1]).toEqual({ command: 'session_status' });
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('passes args beside the name', async () => {
    const { invoke } = installTauri(() => Promise.resolve([]));
    await run('record_list', { entity: 'account' });
    expect(invoke.mock.calls[0]?.[0]).toBe('core');
    expect(invoke.mock.calls[0]?.[1]).toEqual({
      command: 'record_list',
      args: { entity: 'account' },
    });
  });

  it('normalises a rejected {code, message} into an OutpostError', async () => {
    installTauri(() =>
      Promise.reject({ code: 'server_unreachable', message: 'connection refused' }),
    );
    const error = await caught(run('sync_now'));
    expect(error.code).toBe('server_unreachable');
    expect(error.message).toBe('connection refused');
  });

  it('normalises a rejected plain string (e.g. unknown command) to internal', async () => {
    installTauri(() => Promise.reject('command sync_now not found'));
    const error = await caught(run('sync_now'));
    expect(error.code).toBe('internal');
    expect(error.message).toBe('command sync_now not found');
  });
});

describe('toOutpostError', () => {
  it('passes OutpostErrors through unchanged', () => {
    const original = new OutpostError('not_found', 'gone');
    expect(toOutpostError(original)).toBe(original);
  });

  it('handles Error, odd values and missing messages', () => {
    expect(toOutpostError(new Error('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
    expect(toOutpostError(42)).toMatchObject({ code: 'internal' });
    const noMessage = toOutpostError({ code: 'keychain' });
    expect(noMessage.code).toBe('keychain');
    expect(noMessage.message).not.toBe('');
  });
});
