// Users and ACL: the broker's password_file users and acl_file (changes are written back
// atomically and take effect at once, as a SIGHUP would), and the dashboard's own users.
import { api } from './api.js';
import { field, h, replace } from './dom.js';

const enc = encodeURIComponent;
const ROLES = ['administrator', 'publisher', 'viewer'];

/** A section that loads itself, shows what went wrong (409: file not configured) and reloads after each action. */
function section(title, load) {
  const status = h('p', { class: 'status', role: 'status' });
  const body = h('div');
  const element = h('section', { class: 'panel' }, h('h2', {}, title), body, status);
  async function refresh() {
    try {
      await load(body, act);
    } catch (e) {
      replace(body, h('p', { class: 'hint' }, e.status === 409 ? `Not available: ${e.message}.` : `Failed: ${e.message}`));
    }
  }
  async function act(action, done) {
    try {
      await action();
      replace(status, done);
      await refresh();
    } catch (e) {
      replace(status, h('span', { class: 'error' }, `Failed: ${e.message}`));
    }
  }
  return { element, refresh };
}

function submitForm(onsubmit, ...children) {
  return h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); onsubmit(e.target); } }, children);
}

async function loadMqttUsers(body, act) {
  const { data } = await api('GET', '/api/v1/mqtt/users');
  const name = h('input', { name: 'mqttUser', required: true, autocomplete: 'off' });
  const password = h('input', { name: 'mqttPassword', type: 'password', required: true, autocomplete: 'new-password' });
  replace(body,
    h('table', { class: 'mqtt-users' }, h('tbody', {}, data.map((u) => h('tr', {}, h('td', {}, u.username), h('td', {},
      h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Remove ${u.username}? Its clients are disconnected.`) && act(() => api('DELETE', `/api/v1/mqtt/users/${enc(u.username)}`), 'User removed.') }, 'Remove')))))),
    submitForm(() => act(() => api('PUT', `/api/v1/mqtt/users/${enc(name.value)}`, { body: { password: password.value } }), 'Password file saved.'),
      field('User', name), field('Password', password), h('button', { type: 'submit' }, 'Add or set password')));
}

async function loadAcl(body, act) {
  const { text } = await api('GET', '/api/v1/mqtt/acl');
  const area = h('textarea', { name: 'acl', rows: 14, cols: 80, spellcheck: 'false' });
  area.value = text;
  replace(body, submitForm(() => act(() => api('PUT', '/api/v1/mqtt/acl', { body: { text: area.value } }), 'ACL file saved and applied.'),
    area, h('div', {}, h('button', { type: 'submit' }, 'Save ACL'))));
}

async function loadDashboardUsers(body, act) {
  const { data } = await api('GET', '/api/v1/dashboard/users');
  const name = h('input', { name: 'dashUser', required: true, autocomplete: 'off' });
  const password = h('input', { name: 'dashPassword', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const role = h('select', { name: 'role' }, ROLES.map((r) => h('option', { value: r }, r)));
  replace(body,
    h('table', {}, h('tbody', {}, data.map((u) => h('tr', {}, h('td', {}, u.username), h('td', {}, u.role), h('td', {},
      h('button', { type: 'button', class: 'danger', onclick: () => confirm(`Remove dashboard user ${u.username}?`) && act(() => api('DELETE', `/api/v1/dashboard/users/${enc(u.username)}`), 'Dashboard user removed.') }, 'Remove')))))),
    submitForm(() => act(() => api('PUT', `/api/v1/dashboard/users/${enc(name.value)}`, { body: { password: password.value, role: role.value } }), 'Dashboard user saved.'),
      field('User', name), field('Password (8+)', password), field('Role', role), h('button', { type: 'submit' }, 'Add or change')));
}

function ownPassword() {
  const status = h('p', { class: 'status', role: 'status' });
  const current = h('input', { name: 'currentPassword', type: 'password', required: true, autocomplete: 'current-password' });
  const next = h('input', { name: 'newPassword', type: 'password', required: true, minlength: 8, autocomplete: 'new-password' });
  const form = submitForm(async () => {
    try {
      await api('POST', '/api/v1/dashboard/password', { body: { currentPassword: current.value, newPassword: next.value } });
      replace(status, 'Password changed: log in again.');
    } catch (e) {
      replace(status, h('span', { class: 'error' }, `Failed: ${e.message}`));
    }
  }, field('Current password', current), field('New password (8+)', next), h('button', { type: 'submit' }, 'Change my password'));
  return h('section', { class: 'panel' }, h('h2', {}, 'My password'), form, status);
}

export async function render(main, _arg) {
  const sections = [section('MQTT users (password_file)', loadMqttUsers), section('ACL (acl_file)', loadAcl), section('Dashboard users', loadDashboardUsers)];
  replace(main, h('h1', {}, 'Users & ACL'), sections.map((s) => s.element), ownPassword());
  await Promise.all(sections.map((s) => s.refresh()));
}
