import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// During `npm run dev` in a plain browser, forward /api to a running bridge
// server when OUTPOST_BRIDGE_URL is set (the production build is served by the
// bridge itself, or embedded in the Tauri shell, so no proxy is needed there).
const bridge = process.env.OUTPOST_BRIDGE_URL;

export default defineConfig({
  plugins: [svelte()],
  base: '/',
  clearScreen: false,
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  server: {
    port: 1420,
    strictPort: true,
    proxy: bridge ? { '/api': { target: bridge, changeOrigin: true } } : undefined,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
});
