import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { applyTheme, savedTheme } from './lib/state/theme';

// The theme the user chose on this device (the account menu); the system's otherwise.
applyTheme(savedTheme());

const target = document.getElementById('app');
if (!target) throw new Error('Outpost: #app element missing from index.html');

const app = mount(App, { target });

export default app;
