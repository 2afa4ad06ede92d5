import { api as realApi, run as realRun, type OutpostApi } from '../api';
import { SessionStore } from './session.svelte';
import { ShellStore, type Run } from './shell.svelte';

export interface OutpostApp {
  session: SessionStore;
  shell: ShellStore;
}

/** Create the app's stores. */
export function createApp(api: OutpostApi = realApi, run: Run = realRun): OutpostApp {
  const shell = new ShellStore(run);
  // The shell reloads screens after every sync it sees (`refreshStatus`, `syncNow`).
  const session = new SessionStore(api);
  return { session, shell };
}
