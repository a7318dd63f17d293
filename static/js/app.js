// Small progressive enhancements; every page works without JavaScript.
// Loaded in <head>: the class below lets the CSS collapse the navigation only when the menu
// button can open it again (without JavaScript the navigation simply stays open).
document.documentElement.classList.add("js");

document.addEventListener("change", (event) => {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  const message = event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Navigation menu on narrow screens: the button toggles it, Escape closes it and gives the
// focus back to the button.
function setMenuOpen(button, open) {
  button.setAttribute("aria-expanded", open ? "true" : "false");
  document.getElementById(button.getAttribute("aria-controls"))?.classList.toggle("open", open);
}
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-menu-toggle]");
  if (button) setMenuOpen(button, button.getAttribute("aria-expanded") !== "true");
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const button = document.querySelector('[data-menu-toggle][aria-expanded="true"]');
  if (!button) return;
  setMenuOpen(button, false);
  button.focus();
});
