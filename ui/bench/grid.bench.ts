/**
 * The grid benchmark (`cargo xtask bench ui`): the view of the entity with the most rows,
 * opened, scrolled steadily, then jumped to its middle and its end. Frame times are the
 * gaps between animation frames while the page scrolls; a frame "still loading" has a
 * row in sight that shows "Loading…". The figures go, as JSON, to `OUTPOST_BENCH_OUT`.
 */
import { writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { env, openModule } from '../e2e/helpers';

const FRAMES = 600;
const STEP_PX = 48;

/** Milliseconds until every row in sight of the grid is loaded (checked each frame). */
async function untilLoaded(page: Page, scroll: 'middle' | 'end'): Promise<number> {
  return page.evaluate(async (where) => {
    const grid = document.querySelector<HTMLElement>('[data-testid="grid"]');
    if (!grid) throw new Error('no grid');
    const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
    await frame();
    const started = performance.now();
    grid.scrollTop = where === 'middle' ? grid.scrollHeight / 2 : grid.scrollHeight;
    const box = grid.getBoundingClientRect();
    for (;;) {
      const now = await frame();
      const loading = [...grid.querySelectorAll<HTMLElement>('.row.placeholder')].some((row) => {
        const r = row.getBoundingClientRect();
        return r.bottom > box.top && r.top < box.bottom;
      });
      const shown = grid.querySelectorAll('[data-testid="grid-row"]').length > 0;
      if (!loading && shown) return now - started;
      if (now - started > 120_000) throw new Error(`rows at the ${where} never loaded`);
    }
  }, scroll);
}

test('the grid over the view with the most rows', async ({ page }) => {
  const entity = env('OUTPOST_BENCH_ENTITY');
  const rows = Number(env('OUTPOST_BENCH_ROWS'));
  await openModule(page, env('OUTPOST_BENCH_MODULE'));
  await page.goto(`/#/grid/${entity}`);
  const grid = page.getByTestId('grid');
  // The default view may be empty for this user (My Active Contacts): its total shows.
  await expect(page.getByTestId('grid-total')).toBeVisible({ timeout: 60_000 });

  // Open: choose the view, until its first rows are on screen.
  const view = env('OUTPOST_BENCH_VIEW');
  const opened = Date.now();
  await page.getByTestId('grid-view').selectOption(view);
  await expect(page.getByTestId('grid-total')).toContainText(rows.toLocaleString('en-US'), { timeout: 60_000 });
  await expect(page.getByTestId('grid-row').first()).toBeVisible();
  const openMs = Date.now() - opened;

  // Steady scroll: one step per animation frame.
  const scrolled = await grid.evaluate(
    async (el, { frames, step }) => {
      const frame = () => new Promise<number>((resolve) => requestAnimationFrame(resolve));
      const box = el.getBoundingClientRect();
      const gaps: number[] = [];
      let loading = 0;
      let last = await frame();
      for (let i = 0; i < frames; i++) {
        el.scrollTop += step;
        const now = await frame();
        gaps.push(now - last);
        last = now;
        const stillLoading = [...el.querySelectorAll<HTMLElement>('.row.placeholder')].some((row) => {
          const r = row.getBoundingClientRect();
          return r.bottom > box.top && r.top < box.bottom;
        });
        if (stillLoading) loading++;
      }
      return { gaps, loading };
    },
    { frames: FRAMES, step: STEP_PX },
  );
  const gaps = [...scrolled.gaps].sort((a, b) => a - b);
  const at = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))];

  const jumpMiddle = await untilLoaded(page, 'middle');
  const jumpEnd = await untilLoaded(page, 'end');
  await page.screenshot({ path: '../target/playwright/bench-grid.png' });

  writeFileSync(
    env('OUTPOST_BENCH_OUT'),
    JSON.stringify({
      open_ms: openMs,
      frames: FRAMES,
      step_px: STEP_PX,
      rows_per_second: Math.round((STEP_PX / 48) * 60),
      frame_median_ms: at(0.5),
      frame_p95_ms: at(0.95),
      frame_max_ms: gaps[gaps.length - 1],
      frames_over_50ms: gaps.filter((g) => g > 50).length,
      frames_loading: scrolled.loading,
      jump_middle_ms: jumpMiddle,
      jump_end_ms: jumpEnd,
    }),
  );
});
