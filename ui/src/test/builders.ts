/**
 * What the component and state tests arrange, built once: org metadata (attributes,
 * entities with their main form), sync error rows, a fake core that takes resolutions,
 * and a shell signed in on a fake core.
 */
import type { AttributeDef, EntityDef, SyncErrorResolveArgs, SyncErrorRow, View } from '../lib/api';
import { ShellStore } from '../lib/state/shell.svelte';
import type { FakeCore } from './fake-core';

/** An attribute: optional, updatable and not secured unless `extra` says otherwise. */
export function attr(name: string, label: string, kind: AttributeDef['kind'], extra: Partial<AttributeDef> = {}): AttributeDef {
  return { name, label, kind, requirement: 'optional', updatable: true, secured: false, ...extra };
}

/**
 * A user-owned entity found by its primary field, whose main form has a tab per
 * `[label, fields, section?]` (one section each, labelled `section` or as the tab).
 */
export function entity(def: {
  name: string;
  label: string;
  plural?: string;
  primary: string;
  attributes: AttributeDef[];
  tabs: [string, string[], string?][];
  views?: View[];
}): EntityDef {
  return {
    name: def.name,
    label: def.label,
    plural: def.plural ?? `${def.label}s`,
    ownership: 'user',
    primary_field: def.primary,
    attributes: def.attributes,
    quick_find: [def.primary],
    forms: [
      {
        name: 'main',
        tabs: def.tabs.map(([label, fields, section = label]) => ({
          name: label.toLowerCase(),
          label,
          sections: [{ name: section.toLowerCase(), label: section, fields }],
        })),
      },
    ],
    views: def.views ?? [],
  };
}

/** A sync error as `sync_errors` lists it: a conflict on Alpha's phone (account a1) unless `overrides` say otherwise. */
export function syncError(overrides: Partial<SyncErrorRow> = {}): SyncErrorRow {
  return {
    op_id: 'op-1',
    kind: 'update',
    entity: 'account',
    id: 'a1',
    name: 'Alpha',
    code: 'conflict',
    message: 'Changed on the server too: telephone1',
    conflicts: [{ field: 'telephone1', before: '555-0100', mine: '555-0300', server: '555-0200' }],
    fields: [],
    changes: { telephone1: '555-0300' },
    waiting: [],
    resolving: false,
    resolution: null,
    created_on: '2026-11-28T09:30:00Z',
    ...overrides,
  };
}

/** A change the server refused because a required field (the account's name) was emptied. */
export function refusedError(overrides: Partial<SyncErrorRow> = {}): SyncErrorRow {
  return syncError({
    op_id: 'op-2',
    code: 'invalid',
    message: 'name is required',
    conflicts: [],
    fields: [{ field: 'name', code: 'required', message: 'Account name is required' }],
    changes: { name: null },
    ...overrides,
  });
}

/**
 * Makes `core` take resolutions the way the core does: each one is recorded (the array
 * answered); a kept change stays listed as resolving until a sync sends it, the others
 * leave `core.errors` at once (taking the server's drops the change, a resubmit becomes
 * a new change).
 */
export function takeResolutions(core: FakeCore): SyncErrorResolveArgs[] {
  const resolved: SyncErrorResolveArgs[] = [];
  core.handlers.sync_error_resolve = (args) => {
    resolved.push(args);
    // As the core does: listed as resolved here until a sync carries the resolution.
    const resolution = args.resolution.action;
    core.errors = core.errors.map((e) => (e.op_id === args.op_id ? { ...e, resolving: true, resolution } : e));
    return null;
  };
  return resolved;
}

/** A shell on `core` with its metadata and status loaded, in `module` when one is given. */
export async function loadedShell(core: FakeCore, module: string | null = null): Promise<ShellStore> {
  const shell = new ShellStore(core.run);
  await shell.load();
  if (module !== null) shell.moduleId = module;
  await shell.refreshStatus();
  return shell;
}
