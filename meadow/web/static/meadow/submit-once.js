// A form marked data-submit-once is sent once: a double click (or Enter pressed twice) does not post it again.
// The server keeps its own promise either way (one open payment per order); this only spares the round trip.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) return;
  if (form.dataset.submitted) {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "1";
  // Disable after the browser has read the form, so the clicked button's own value is still sent.
  setTimeout(() => {
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach((button) => {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    });
  }, 0);
});
// Coming back with the browser's Back button shows the page from its cache: make the form usable again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  document.querySelectorAll("form[data-submit-once]").forEach((form) => {
    delete form.dataset.submitted;
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach((button) => {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    });
  });
});
