// Trunk's initializer (index.html, data-initializer): while the app
// downloads, the page says how far it is; if it cannot start, it says why
// instead of staying blank. The app removes #boot when it draws.

// A setup link carries the register's token in its fragment (#setup=…).
// It leaves the address bar and the history here, before anything else
// runs and whether or not this register is set up; the first-run page
// reads it once from `tillSetupLink`. A link opened on a page already
// open (only the fragment changes) leaves the same way.
function takeSetupLink() {
  if (location.hash.startsWith("#setup=")) {
    globalThis.tillSetupLink = location.hash;
    history.replaceState(history.state, "", location.pathname + location.search);
  }
}
takeSetupLink();
addEventListener("hashchange", takeSetupLink);
export default function initializer() {
  const status = () => document.getElementById("boot-status");
  return {
    onProgress({ current, total }) {
      const el = status();
      if (el && total > 0) {
        const percent = Math.min(100, Math.round((100 * current) / total));
        el.textContent = `Loading the register… ${percent} %`;
      }
    },
    onFailure(error) {
      const el = status();
      if (!el) return;
      el.className = "error";
      el.setAttribute("role", "alert");
      el.textContent = `Till could not start: ${error?.message ?? error}. Check this tablet's connection to the back office, then reload the page.`;
    },
  };
}
