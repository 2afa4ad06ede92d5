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
import type {
  AppModuleInfo,
  CommandArgs,
  CommandResult,
  COMMAND_NAMES,
  DraftKey,
  DraftRow,
  DraftUpdateArgs,
  ErrorCode,
  LookupSearchArgs,
  Metadata,
  RecentListArgs,
  RecordCreateArgs,
  RecordDetail,
  RecordKey,
  RecordListArgs,
  RecordRow,
  RecordUpdateArgs,
  RecoveryInfo,
  RecoveryRestoreArgs,
  ScriptQueryArgs,
  SearchArgs,
  SearchHitRow,
  SessionStatus,
  SignInArgs,
  SignOutArgs,
  SyncErrorResolveArgs,
  SyncErrorRow,
  SyncReport,
  SyncStatus,
  Unsent,
  ViewInfo,
  ViewPageArgs,
  ViewPageResult,
  Why,
} from './bindings';

export type * from './bindings';

const ERROR_CODES: readonly ErrorCode[] = [
  'not_signed_in',
  'unauthorized',
  'server_unreachable',
  'not_found',
  'invalid_input',
  'forbidden',
  'refused',
  'wrong_key',
  'keychain',
  'server',
  'wiped',
  'metadata_pending',
  'bridge_key',
  'unsent_work',
  'internal',
];

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

async function viaTauri<T>(cmd: string, args: object | undefined): Promise<T> {
  try {
    return args === undefined ? await invoke<T>(cmd) : await invoke<T>(cmd, { args });
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

/**
 * Every command with its arguments and answer. The names are checked against the core's
 * own list (`COMMAND_NAMES`, generated from `bridge::COMMANDS`) below, so a command the
 * core drops or renames fails the type check.
 */
export interface Commands {
  session_status: [void, SessionStatus];
  session_sign_in: [SignInArgs, SessionStatus];
  session_sign_out: [SignOutArgs, SessionStatus];
  session_unsent: [void, Unsent];
  recovery_list: [void, RecoveryInfo[]];
  recovery_restore: [RecoveryRestoreArgs, Unsent];
  app_modules: [void, AppModuleInfo[]];
  metadata_get: [void, Metadata];
  metadata_accept: [void, SyncReport];
  view_list: [RecordListArgs, ViewInfo[]];
  view_page: [ViewPageArgs, ViewPageResult];
  record_list: [RecordListArgs, RecordRow[]];
  record_get: [RecordKey, RecordDetail];
  record_why: [RecordKey, Why];
  record_create: [RecordCreateArgs, RecordRow];
  record_update: [RecordUpdateArgs, RecordRow];
  record_delete: [RecordKey, null];
  command_run: [CommandArgs, CommandResult];
  search: [SearchArgs, SearchHitRow[]];
  lookup_search: [LookupSearchArgs, SearchHitRow[]];
  sync_now: [void, SyncReport];
  sync_status: [void, SyncStatus];
  sync_errors: [void, SyncErrorRow[]];
  sync_error_resolve: [SyncErrorResolveArgs, null];
  server_probe: [void, boolean];
  script_is_offline_enabled: [RecordListArgs, boolean];
  script_create: [RecordCreateArgs, RecordRow];
  script_retrieve: [RecordKey, Record<string, string | null>];
  script_retrieve_multiple: [ScriptQueryArgs, Record<string, string | null>[]];
  script_update: [RecordUpdateArgs, RecordRow];
  script_delete: [RecordKey, null];
  recent_open: [RecordKey, RecordRow];
  recent_list: [RecentListArgs, RecordRow[]];
  draft_list: [void, DraftRow[]];
  draft_create: [RecordCreateArgs, DraftRow];
  draft_update: [DraftUpdateArgs, DraftRow];
  draft_delete: [DraftKey, null];
  draft_save: [DraftKey, RecordRow];
}

export type CommandName = keyof Commands;
type CoreCommand = (typeof COMMAND_NAMES)[number];
/** Fails to compile when the UI's list and the core's differ (either way). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const commandsMatchCore: Same<CommandName, CoreCommand> = true;
void commandsMatchCore;

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

