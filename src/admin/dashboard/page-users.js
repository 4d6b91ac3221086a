// Users and ACL rules of the broker's password and ACL files (the back end's /api/v1/users and
// /api/v1/acl; changes are written back atomically and take effect at once, as a SIGHUP would).
import { api } from './api.js';
import { field, h, replace } from './dom.js';

export async function render(main) {
  const status = h('p', { class: 'status', role: 'status' });
  const users = h('tbody');
  const acl = h('textarea', { name: 'acl', rows: 16, cols: 80, spellcheck: 'false' });
  const name = h('input', { name: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'new-password' });

  async function act(action, done) {
    try {
      await action();
      replace(status, done);
      await refresh();
    } catch (e) {
      replace(status, `Failed: ${e.message}`);
    }
  }

  async function refresh() {
    const list = await api('GET', '/api/v1/users');
    replace(users, (list.data ?? list).map((u) => h('tr', {}, h('td', {}, u.username ?? u.name), h('td', {},
      h('button', { type: 'button', class: 'danger', onclick: () => act(() => api('DELETE', `/api/v1/users/${encodeURIComponent(u.username ?? u.name)}`), 'User removed.') }, 'Remove')))));
    const rules = await api('GET', '/api/v1/acl');
    if (document.activeElement !== acl) acl.value = rules.text ?? '';
  }

  const addForm = h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); void act(() => api('PUT', `/api/v1/users/${encodeURIComponent(name.value)}`, { body: { password: password.value } }), 'User saved.'); } },
    field('User', name), field('Password', password), h('button', { type: 'submit' }, 'Add or change password'));
  const aclForm = h('form', { onsubmit: (e) => { e.preventDefault(); void act(() => api('PUT', '/api/v1/acl', { body: { text: acl.value } }), 'ACL saved and applied.'); } },
    acl, h('div', {}, h('button', { type: 'submit' }, 'Save ACL')));
  replace(main, h('h1', {}, 'Users & ACL'), status,
    h('h2', {}, 'Users of the password file'), h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, ''))), users), addForm,
    h('h2', {}, 'ACL file'), aclForm);
  try {
    await refresh();
  } catch (e) {
    replace(status, e.status === 404 ? 'The broker has no password or ACL file configured (password_file, acl_file).' : `Failed: ${e.message}`);
  }
}
