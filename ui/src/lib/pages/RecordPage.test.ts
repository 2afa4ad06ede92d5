import { afterEach, describe, expect, it } from 'vitest';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import RecordPage from './RecordPage.svelte';
import DraftsPage from './DraftsPage.svelte';
import { loadedShell } from '../../test/builders';
import { row, salesCore } from '../../test/form-fixtures';
import type { FakeCore } from '../../test/fake-core';

const shellOf = (core: FakeCore, module = 'field-sales') => loadedShell(core, module);

describe('the record page', () => {
  afterEach(() => {
    localStorage.clear();
    history.replaceState(null, '', '#/');
  });

  it('renders the form’s tabs as a tablist that arrow keys move through', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar roof', companyname: 'Contoso' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l1' } });
    const summary = await screen.findByRole('tab', { name: 'Summary' });
    expect(summary.getAttribute('aria-selected')).toBe('true');
    await fireEvent.keyDown(summary, { key: 'ArrowRight' });
    const details = screen.getByRole('tab', { name: 'Details' });
    expect(details.getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(details);
    await fireEvent.keyDown(details, { key: 'ArrowRight' });
    expect(summary.getAttribute('aria-selected'), 'the arrows wrap around').toBe('true');
  });

  it('marks a wrong field with its message before saving, and saves only the changed fields', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar roof', companyname: 'Contoso' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l1' } });
    const topic = await screen.findByLabelText(/^Topic/);
    await fireEvent.input(topic, { target: { value: '' } });
    await fireEvent.click(screen.getByTestId('record-save'));
    await waitFor(() => expect(topic.getAttribute('aria-invalid')).toBe('true'));
    const message = document.getElementById(topic.getAttribute('aria-describedby') ?? '');
    expect(message?.textContent).toMatch(/Topic is required/);
    expect(core.callsOf('record_update')).toHaveLength(0);

    await fireEvent.input(topic, { target: { value: 'Solar roof and battery' } });
    await fireEvent.click(screen.getByTestId('record-save'));
    await waitFor(() => expect(core.callsOf('record_update')).toHaveLength(1));
    expect(core.callsOf('record_update')[0]?.fields).toEqual({ subject: 'Solar roof and battery' });
    expect(await screen.findByTestId('pending-badge')).toBeTruthy();
  });

  it('offers the lead’s commands and qualifies through its dialog', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar roof', companyname: 'Contoso', lastname: 'Diaz' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l1' } });
    await fireEvent.click(await screen.findByTestId('command-qualify'));
    const dialog = await screen.findByTestId('command-dialog-qualify');
    expect(within(dialog).getByTestId<HTMLInputElement>('qualify-account').checked).toBe(true);
    await fireEvent.click(within(dialog).getByTestId('qualify-contact'));
    await fireEvent.click(within(dialog).getByTestId('qualify-opportunity'));
    await fireEvent.click(within(dialog).getByTestId('command-submit'));
    const created = await screen.findByTestId('created-account');
    expect(created.textContent).toBe('Contoso');
    expect(core.callsOf('command_run')[0]).toEqual({
      command: 'lead_qualify',
      lead_id: 'l1',
      create_account: true,
      create_contact: false,
      create_opportunity: false,
    });
    expect(screen.queryByTestId('command-qualify'), 'a qualified lead offers no qualify').toBeNull();
    expect(screen.getByTestId('readonly-badge')).toBeTruthy();
  });

  it('chooses a lookup through the dialog with the keyboard', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar roof' }), row('account', 'a1', { name: 'Alpine Ski' }), row('account', 'a2', { name: 'Alder Woods' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l1' } });
    await fireEvent.click(await screen.findByTestId('lookup-parentaccountid'));
    const search = await screen.findByTestId('lookup-search');
    await waitFor(() => expect(screen.getAllByTestId('lookup-option')).toHaveLength(2));
    await fireEvent.keyDown(search, { key: 'ArrowDown' });
    expect(search.getAttribute('aria-activedescendant')).toMatch(/-1$/);
    await fireEvent.keyDown(search, { key: 'Enter' });
    await waitFor(() => expect(screen.queryByTestId('lookup-dialog')).toBeNull());
    expect(screen.getByTestId('lookup-parentaccountid').textContent).toMatch(/Alder Woods/);
  });

  it('shows the flow bar with the active stage in words, and blocks Next with a message', async () => {
    const core = salesCore();
    core.records.push(row('opportunity', 'o1', { name: 'Big deal' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'opportunity', id: 'o1' } });
    const bar = await screen.findByTestId('flow-bar');
    expect(within(bar).getByTestId('flow-active').textContent).toMatch(/Stage 1 of 3: Qualify/);
    expect(within(bar).getByTestId('flow-stage-sales-qualify').getAttribute('aria-current')).toBe('step');
    await fireEvent.click(within(bar).getByTestId('flow-next'));
    expect((await within(bar).findByTestId('flow-message')).textContent).toMatch(/Qualify needs Potential customer and Est\. revenue/);
    expect(core.callsOf('command_run')).toHaveLength(0);
  });

  it('asks before a link leaves unsaved edits, and can discard them', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l7', { subject: 'Solar roof' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l7' } });
    const topic = await screen.findByLabelText(/^Topic/);
    const away = document.createElement('a');
    away.href = '#/grid/account';
    away.textContent = 'Accounts';
    document.body.appendChild(away);
    await fireEvent.click(away);
    expect(screen.queryByTestId('leave-dialog'), 'nothing to lose: no question').toBeNull();
    history.replaceState(null, '', '#/record/lead/l7');
    await fireEvent.input(topic, { target: { value: 'Solar roof, revised' } });
    await fireEvent.click(away);
    await screen.findByTestId('leave-dialog');
    await fireEvent.click(screen.getByTestId('leave-discard'));
    await waitFor(() => expect(location.hash).toBe('#/grid/account'));
    expect(core.callsOf('record_update')).toHaveLength(0);
    away.remove();
  });

  it('says why the record is on the device', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar roof' }));
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l1' } });
    await fireEvent.click(await screen.findByTestId('why-button'));
    expect((await screen.findByTestId('why-text')).textContent).toBe('It matches your offline profile.');
  });

  it('assigns to an owner chosen in the lookup dialog', async () => {
    const core = salesCore();
    core.records.push(row('lead', 'l1', { subject: 'Solar roof' }));
    const colleague = row('systemuser', 'u2', { fullname: 'Sam Colleague' });
    core.handlers.lookup_search = ({ field }) =>
      field === 'ownerid' ? [{ entity: 'systemuser', id: 'u2', name: 'Sam Colleague', record: colleague }] : [];
    const shell = await shellOf(core);
    render(RecordPage, { props: { shell, entity: 'lead', id: 'l1' } });
    await fireEvent.click(await screen.findByTestId('command-assign'));
    await fireEvent.click(await screen.findByText('Sam Colleague'));
    await waitFor(() =>
      expect(core.callsOf('command_run')).toEqual([
        { command: 'assign', entity: 'lead', id: 'l1', owner_entity: 'systemuser', owner_id: 'u2' },
      ]),
    );
    expect((await screen.findByTestId('command-message')).textContent).toMatch(/Assigned to Sam Colleague/);
  });

  it('creates a draft instead of a record in a drafts module', async () => {
    const core = salesCore();
    const shell = await shellOf(core, 'quick-capture');
    // The grid's New (or a typed #/new/account) asks for a new record; the shell makes it a draft.
    shell.go({ kind: 'new', entity: 'account' });
    await waitFor(() => expect(shell.route).toEqual({ kind: 'new-draft', entity: 'account' }));
  });
});

describe('the drafts page', () => {
  it('lists the drafts and says that saving waits while offline', async () => {
    const core = salesCore();
    core.online = false;
    core.handlers.draft_list = () => [
      { id: 'd1', entity: 'account', fields: { name: 'Kiosk Café' }, created_at: '2026-11-28T10:00:00Z', updated_at: '2026-11-28T10:00:00Z', error: null },
    ];
    core.handlers.recent_list = () => [];
    core.handlers.draft_save = () => {
      throw Object.assign(new Error('offline'), { code: 'server_unreachable', message: 'cannot reach the server' });
    };
    const shell = await shellOf(core, 'quick-capture');
    render(DraftsPage, { props: { shell, route: { kind: 'drafts' } } });
    const item = await screen.findByTestId('draft-d1');
    expect(screen.getByTestId('drafts-offline')).toBeTruthy();
    await fireEvent.click(within(item).getByTestId('draft-save'));
    expect((await within(item).findByTestId('draft-message')).textContent).toMatch(/You are offline/);
    expect(screen.getByTestId('draft-d1'), 'the draft is kept').toBeTruthy();
  });
});
