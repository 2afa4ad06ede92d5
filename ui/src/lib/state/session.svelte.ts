import { toOutpostError, type OutpostApi, type SessionStatus, type ErrorCode } from '../api';
import { signedOutMessage, signInErrorMessage } from './messages';
import { unencryptedServer } from './server-address';

export { unencryptedServer };

export type SessionApi = Pick<OutpostApi, 'sessionStatus' | 'sessionSignIn'>;

export const POLL_INTERVAL_MS = 5000;

export interface SignInForm {
  server_url: string;
  username: string;
  password: string;
  /** The user allows a plain `http://` server that is not on this machine. */
  allow_http: boolean;
}


/** Session status and the sign-in form (syncing is the shell's: `ShellStore.syncNow`). */
export class SessionStore {
  /** Last status the backend reported; null until the first successful call. */
  status = $state<SessionStatus | null>(null);
  /** Set (to the technical detail) while the backend cannot be asked for its status. */
  statusError = $state<string | null>(null);
  statusErrorCode = $state<ErrorCode | null>(null);

  form = $state<SignInForm>({ server_url: '', username: '', password: '', allow_http: false });
  signingIn = $state(false);
  signInError = $state<string | null>(null);

  signedIn = $derived(this.status?.signed_in === true);
  /** Why the last session ended by itself (server ended it, or wiped the device). */
  signedOutNotice = $derived(
    this.status?.signed_in === true
      ? null
      : signedOutMessage(this.status?.signed_out_reason),
  );

  #api: SessionApi;
  #refreshing: Promise<void> | null = null;

  constructor(api: SessionApi) {
    this.#api = api;
  }

  #applyStatus(status: SessionStatus): void {
    this.status = status;
    this.statusError = null;
    this.statusErrorCode = null;
    if (this.form.server_url === '' && status.server_url !== null) {
      this.form.server_url = status.server_url;
    }
    if (this.form.username === '' && status.username !== null) {
      this.form.username = status.username;
    }
  }

  /** Change sign-in form fields (what the inputs are bound to). */
  updateForm(patch: Partial<SignInForm>): void {
    this.form = { ...this.form, ...patch };
  }

  /** Ask the backend for the session status; concurrent calls share one request. */
  refresh(): Promise<void> {
    if (this.#refreshing) return this.#refreshing;
    this.#refreshing = (async () => {
      try {
        this.#applyStatus(await this.#api.sessionStatus());
      } catch (error) {
        const e = toOutpostError(error);
        this.statusError = e.message;
        this.statusErrorCode = e.code;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /** Poll the status every `intervalMs`; returns a function that stops polling. */
  startPolling(intervalMs: number = POLL_INTERVAL_MS): () => void {
    const id = setInterval(() => {
      void this.refresh();
    }, intervalMs);
    return () => clearInterval(id);
  }

  /** Sign in with the form values. Returns true on success. */
  async signIn(): Promise<boolean> {
    if (this.signingIn) return false;
    const server_url = this.form.server_url.trim();
    const username = this.form.username.trim();
    const password = this.form.password;
    if (server_url === '' || username === '' || password === '') {
      this.signInError = 'Enter the server address, your user name and your password';
      return false;
    }
    this.signingIn = true;
    this.signInError = null;
    try {
      // The first download waits for the user to open an offline module (C1).
      const status = await this.#api.sessionSignIn({
        server_url,
        username,
        password,
        download: false,
        ...(this.form.allow_http && unencryptedServer(server_url) ? { allow_http: true } : {}),
      });
      this.form.password = '';
      this.#applyStatus(status);
      if (!status.signed_in) {
        this.signInError = 'Sign-in did not complete. Please try again.';
        return false;
      }
      return true;
    } catch (error) {
      this.signInError = signInErrorMessage(error);
      return false;
    } finally {
      this.signingIn = false;
    }
  }
}
