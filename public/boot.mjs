// Trunk's initializer (index.html, data-initializer): while the app
// downloads, the page says how far it is; if it cannot start, it says why
// instead of staying blank. The app removes #boot when it draws.
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
