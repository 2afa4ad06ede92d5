import { describe, expect, it } from 'vitest';
import { dateTimeText, progressText } from './display';

describe('display', () => {
  it('dateTimeText reads a moment as a person does, says what is missing, keeps other text', () => {
    const iso = '2026-11-28T09:30:00Z';
    expect(dateTimeText(iso, '', 'en-GB')).toBe(
      new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' }),
    );
    expect(dateTimeText(null, 'Time unknown')).toBe('Time unknown');
    expect(dateTimeText('', 'Time unknown')).toBe('Time unknown');
    expect(dateTimeText('soon')).toBe('soon');
  });

  it('progressText counts the records and says the time left when known', () => {
    expect(progressText({ done: 1, remaining: 0, seconds_left: null })).toBe('1 record of 1');
    expect(progressText({ done: 120, remaining: 380, seconds_left: 12 })).toBe('120 records of 500 — 12 s left');
  });
});
