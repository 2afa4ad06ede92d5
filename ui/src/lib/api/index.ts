/**
 * The one typed API between the UI and the Outpost core.
 *
 * Inside the Tauri shell every call goes through `invoke` (IPC); in a plain
 * browser it goes to the bridge server on the same origin
 * (`POST /api/invoke/<command>`). Both transports are normalised so that a
 * failure is always thrown as an {@link OutpostError} carrying a stable
 * {@link ErrorCode}. The UI branches on `code`, never on message text.
 *
 * This folder is the only place allowed to import `@tauri-apps/api`
 * (enforced by ESLint).
 */
import { invoke } from '@tauri-apps/api/core';
import { ERROR_CODES } from './bindings';
import type { Commands, ErrorCode, SessionStatus, SignInArgs } from './bindings';

export type * from './bindings';

/** Error thrown by every API function. */
export class OutpostError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'OutpostError';
    this.code = code;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

function isApiErrorShape(value: unknown): value is { code: unknown; message?: unknown } {
  return typeof value === 'object' && value !== null && 'code' in value;
}

/** Turn anything a transport may reject with into an {@link OutpostError}. */
export function toOutpostError(error: unknown): OutpostError {
  if (error instanceof OutpostError) return error;
  if (isApiErrorShape(error)) {
    const message =
      typeof error.message === 'string' && error.message !== ''
        ? error.message
        : `Outpost reported an error (${String(error.code)})`;
    return isErrorCode(error.code)
      ? new OutpostError(error.code, message)
      : new OutpostError('internal', message);
  }
  if (typeof error === 'string') return new OutpostError('internal', error);
  if (error instanceof Error) return new OutpostError('internal', error.message);
  return new OutpostError('internal', 'Unexpected error from the Outpost service');
}

interface TauriWindow {
  __TAURI_INTERNALS__?: unknown;
}

/** True when running inside the Tauri shell. */
export function inTauri(): boolean {
  return (
    typeof window !== 'undefined' &&
    (window as unknown as TauriWindow).__TAURI_INTERNALS__ !== undefined &&
    (window as unknown as TauriWindow).__TAURI_INTERNALS__ !== null
  );
}

/**
 * The shell has one command, `core`, that runs any core command by name (the same
 * dispatch as the bridge's), so it needs no list of its own to keep equal to the core's.
 */
async function viaTauri<T>(cmd: string, args: object | undefined): Promise<T> {
  try {
    return await invoke<T>('core', args === undefined ? { command: cmd } : { command: cmd, args });
  } catch (error) {
    throw toOutpostError(error);
  }
}

const BRIDGE_KEY = 'outpost.bridgeKey';

/**
 * The browser bridge's key for this run: taken from the address `outpost bridge` printed
 * (`#key=…`, a fragment, so it never reaches a server), kept for this tab only, and
 * removed from the address bar so it is not bookmarked or shared by accident.
 */
export function bridgeKey(): string | null {
  if (typeof window === 'undefined') return null;
  const fromUrl = new URLSearchParams(window.location.hash.slice(1)).get('key');
  if (fromUrl !== null && fromUrl !== '') {
    window.sessionStorage.setItem(BRIDGE_KEY, fromUrl);
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
  }
  return window.sessionStorage.getItem(BRIDGE_KEY);
}

async function viaBridge<T>(cmd: string, args: object | undefined): Promise<T> {
  let response: Response;
  const key = bridgeKey();
  try {
    response = await fetch(`/api/invoke/${cmd}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
      },
      body: JSON.stringify(args ?? {}),
    });
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new OutpostError(
      'internal',
      `Cannot reach the Outpost service (request "${cmd}" failed: ${detail})`,
    );
  }

  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new OutpostError('internal', `Reading the answer to "${cmd}" failed: ${detail}`);
  }

  let body: unknown;
  let parsed = false;
  try {
    body = JSON.parse(text);
    parsed = true;
  } catch {
    // not JSON; handled below
  }

  if (!response.ok) {
    if (parsed && isApiErrorShape(body)) throw toOutpostError(body);
    throw new OutpostError(
      'internal',
      `The Outpost service answered HTTP ${response.status} to "${cmd}"`,
    );
  }
  if (!parsed) {
    throw new OutpostError('internal', `The Outpost service sent an unreadable answer to "${cmd}"`);
  }
  return body as T;
}

/** A core command's name (`Commands`, generated from `outpost_core::commands`). */
export type CommandName = keyof Commands;

/** Runs a core command by name, over IPC in the app and over HTTP in a browser. */
export function run<K extends CommandName>(
  cmd: K,
  ...args: Commands[K][0] extends void ? [] : [Commands[K][0]]
): Promise<Commands[K][1]> {
  return call<Commands[K][1]>(cmd, args[0] as object | undefined);
}

function call<T>(cmd: string, args?: object): Promise<T> {
  return inTauri() ? viaTauri<T>(cmd, args) : viaBridge<T>(cmd, args);
}

/** Command `session_status`. */
export function sessionStatus(): Promise<SessionStatus> {
  return call<SessionStatus>('session_status');
}

/** Command `session_sign_in`. */
export function sessionSignIn(args: SignInArgs): Promise<SessionStatus> {
  return call<SessionStatus>('session_sign_in', args);
}

/** The API as one object, so state modules can take a fake in tests. */
export interface OutpostApi {
  sessionStatus: typeof sessionStatus;
  sessionSignIn: typeof sessionSignIn;
}

export const api: OutpostApi = { sessionStatus, sessionSignIn };

