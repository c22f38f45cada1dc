// Start: what the server says about setup and the session, then the shell.
import { render } from 'preact';
import { call, client } from './api/client';
import { App } from './app';
import { mapPagePath } from './router';
import { readReturns } from './screens/sign-in/returns';
import { ensureFactors, refreshSession, setupNeeded } from './store';
import './styles/base.css';
import './styles/layout.css';
import './styles/forms.css';
import './styles/alerts-tables.css';
import './styles/dialogs.css';

async function boot(): Promise<void> {
  document.documentElement.lang = document.documentElement.lang || 'en';
  readReturns();
  mapPagePath();
  try {
    setupNeeded.value = (await call(client.GET('/api/v1/setup'))).needed;
  } catch {
    setupNeeded.value = false;
  }
  if (!setupNeeded.value) await refreshSession();
  void ensureFactors(); // in the background: sign-in's second step and the device lists use it
  const root = document.getElementById('app');
  if (root) render(<App />, root);
}

void boot();
