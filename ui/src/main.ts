import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';

// The theme the user chose on this device (the account menu); the system's otherwise.
const theme = localStorage.getItem('outpost.theme');
if (theme === 'light' || theme === 'dark') document.documentElement.setAttribute('data-theme', theme);

const target = document.getElementById('app');
if (!target) throw new Error('Outpost: #app element missing from index.html');

const app = mount(App, { target });

export default app;
