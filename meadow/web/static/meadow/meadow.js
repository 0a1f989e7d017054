// Meadow's small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.submit();
});
function updateCounter(textarea) {
  const out = document.querySelector(`output[data-for="${textarea.id}"]`);
  if (!out) return;
  const max = Number(textarea.dataset.counter);
  // count as a person counts: grapheme clusters
  const seg = window.Intl && Intl.Segmenter ? new Intl.Segmenter() : null;
  const n = seg ? [...seg.segment(textarea.value)].length : [...textarea.value].length;
  out.textContent = `${n}/${max}`;
  out.classList.toggle("over", n > max);
}
document.addEventListener("input", (event) => {
  if (event.target.matches("textarea[data-counter]")) updateCounter(event.target);
});
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("textarea[data-counter]").forEach(updateCounter);
});
