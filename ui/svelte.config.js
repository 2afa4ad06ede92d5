/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  compilerOptions: {
    // Svelte 5 runes only: legacy `export let` and `$:` are compile errors.
    runes: true,
  },
};
