/**
 * The theme the user chose on this device (the account menu): light, dark, or the
 * system's (no `data-theme`, so app.css follows `prefers-color-scheme`).
 */
export type Theme = 'system' | 'light' | 'dark';

const KEY = 'outpost.theme';

/** The theme kept on this device; the system's when none was chosen. */
export function savedTheme(): Theme {
  const saved = typeof localStorage === 'undefined' ? null : localStorage.getItem(KEY);
  return saved === 'light' || saved === 'dark' ? saved : 'system';
}

/** Shows the app in `theme`. */
export function applyTheme(theme: Theme): void {
  if (theme === 'system') document.documentElement.removeAttribute('data-theme');
  else document.documentElement.setAttribute('data-theme', theme);
}

/** Shows the app in `theme` and keeps the choice on this device. */
export function chooseTheme(theme: Theme): void {
  applyTheme(theme);
  localStorage.setItem(KEY, theme);
}
