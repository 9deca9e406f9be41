// Warden's review console: a dependency-free page that talks to the same REST API with the
// same bearer tokens. Nothing is fetched from outside this Warden (no CDN). Every view is a
// URL (#page/id?filters), so a decision, a container, a policy version or an audit row can
// be linked to.

import { $, api, auth, h } from './lib.js';
import { chain } from './pages/chain.js';
import { containers, event, story } from './pages/containers.js';
import { decisions } from './pages/decisions.js';
import { exceptions } from './pages/exceptions.js';
import { node, nodes } from './pages/nodes.js';
import { overview } from './pages/overview.js';
import { policies, policy } from './pages/policies.js';
import { report, reports } from './pages/reports.js';
import { usage } from './pages/usage.js';

const views = {
  overview,
  containers,
  container: story,
  story,
  decisions,
  event,
  policies,
  policy,
  exceptions,
  usage,
  reports,
  report,
  chain,
  nodes,
  node,
};
/** Detail views light up the nav entry of their list. */
const navOf = {
  container: 'containers',
  story: 'containers',
  event: 'chain',
  policy: 'policies',
  report: 'reports',
  node: 'nodes',
};

const loginForm = $('#login');

function showLogin(message) {
  $('#view').replaceChildren(loginForm);
  loginForm.hidden = false;
  $('#login-error').textContent = message ?? '';
  $('#token').focus();
}
auth.onUnauthorized(showLogin);

loginForm.addEventListener('submit', (e) => {
  e.preventDefault();
  auth.set($('#token').value.trim());
  route();
});

/**
 * The Nodes page is listed once the fleet has more than one node (one Warden alone is its only
 * node). Asked once per sign-in; a token that may not read /nodes simply does not get the link.
 */
let fleetChecked = false;
function showNodesWhenSeveral() {
  if (fleetChecked) return;
  fleetChecked = true;
  api('/nodes')
    .then((list) => ($('#nav-nodes').hidden = list.length < 2))
    .catch(() => (fleetChecked = false));
}

// Each navigation's number: a page whose data came after the user moved on writes nothing (a
// slow overview finishing after a click on Nodes used to replace the Nodes page with itself).
let navigation = 0;

async function route(e) {
  if (!auth.token) return showLogin();
  const mine = ++navigation;
  showNodesWhenSeveral();
  const [path, query] = (location.hash.slice(1) || 'overview').split('?');
  const [name, ...rest] = path.split('/');
  const viewName = views[name] ? name : 'overview';
  const view = $('#view');
  view.setAttribute('aria-busy', 'true');
  view.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  document.querySelectorAll('nav.main a').forEach((a) => {
    const on = a.getAttribute('href') === `#${navOf[viewName] ?? viewName}`;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
  try {
    const fresh = h('div', { id: `view-${viewName}` });
    await views[viewName](fresh, new URLSearchParams(query ?? ''), decodeURIComponent(rest.join('/')));
    if (mine !== navigation) return;
    view.replaceChildren(fresh);
    document.title = `${fresh.querySelector('h2')?.textContent ?? 'Warden'} · Warden review console`;
    // After a navigation, the keyboard continues in the new page, not in the nav it left.
    if (e?.type === 'hashchange') view.focus();
  } catch (err) {
    if (auth.token && mine === navigation)
      view.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
  } finally {
    if (mine === navigation) view.removeAttribute('aria-busy');
  }
}

window.addEventListener('hashchange', route);
route();
