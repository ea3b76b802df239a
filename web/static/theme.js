// The chosen colour theme, applied before the first paint: index.html loads
// this classic script in <head>, after app.css and before the body, so the
// page never shows in the other theme first (the CSP allows no inline
// script, hence a file). "light" or "dark" in localStorage sets
// <html data-theme>, which app.css honours over the system's setting; no
// choice (or "system") leaves the system's. js/theme.js changes the choice.
(function () {
  var key = "corkboard-theme";
  function apply(v) {
    if (v === "light" || v === "dark") document.documentElement.setAttribute("data-theme", v);
    else document.documentElement.removeAttribute("data-theme");
  }
  try { apply(localStorage.getItem(key)); } catch (e) { /* storage blocked: follow the system */ }
  // Another tab changed it.
  window.addEventListener("storage", function (e) { if (e.key === key) apply(e.newValue); });
})();
