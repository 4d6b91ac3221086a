// The dashboard's shell: log in, then one page per hash route (#/overview, #/clients, ...).
// A page is render(main, arg) returning an optional stop() for its timers.
import { api, setToken, token, whenUnauthorized } from './api.js';
import { field, h, replace } from './dom.js';
import * as overview from './page-overview.js';
import * as clients from './page-clients.js';
import * as subscriptions from './page-subscriptions.js';
import * as topics from './page-topics.js';
import * as mqtt from './page-mqtt.js';
import * as users from './page-users.js';

const pages = { overview, clients, subscriptions, topics, mqtt, users };
const main = document.getElementById('main');
let stopPage;

function showLogin(message) {
  stopCurrent();
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  replace(document.getElementById('who'));
  const username = h('input', { name: 'username', autocomplete: 'username', value: 'admin', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h('form', { class: 'login', onsubmit: (e) => login(e, username.value, password.value, error) },
    h('h1', {}, 'Log in'),
    field('User', username),
    field('Password', password),
    h('button', { type: 'submit' }, 'Log in'),
    error,
    h('p', { class: 'hint' }, 'On first start the broker creates the user admin and prints its password once in its log.'));
  replace(main, form);
  password.focus();
}

async function login(event, username, password, error) {
  event.preventDefault();
  try {
    const session = await api('POST', '/api/v1/login', { body: { username, password } });
    setToken(session.token);
    await route();
  } catch (e) {
    replace(error, e.code === 'USER_LOCKED' ? 'Too many failed logins: this user is locked for ten minutes.' : `Login failed: ${e.message}`);
  }
}

async function logout() {
  await api('POST', '/api/v1/logout').catch(() => undefined);
  setToken(undefined);
  showLogin('Logged out.');
}

function stopCurrent() {
  if (stopPage) stopPage();
  stopPage = undefined;
}

async function route() {
  if (!token()) return showLogin();
  const [name, ...rest] = decodeURIComponent(location.hash.replace(/^#\/?/, '')).split('/');
  const page = pages[name] ?? overview;
  stopCurrent();
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${pages[name] ? name : 'overview'}`);
  replace(main, h('p', {}, 'Loading…'));
  try {
    const who = await api('GET', '/api/v1/session');
    replace(document.getElementById('who'), `${who.name} (${who.role})`);
    stopPage = await page.render(main, rest.join('/'));
  } catch (e) {
    if (e.status !== 401) replace(main, h('p', { class: 'error' }, `Error: ${e.message}`));
  }
}

whenUnauthorized(() => showLogin('Your session ended: log in again.'));
document.getElementById('logout').addEventListener('click', logout);
window.addEventListener('hashchange', route);
void route();
