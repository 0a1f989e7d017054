// The composer's product picker: search results come from htmx; a click adds a chip with a hidden
// `products` input (at most data-max), × removes it. Works without htmx for the chips already rendered.
(() => {
  const root = document.querySelector("[data-product-picker]");
  if (!root) return;
  const chips = root.querySelector("[data-product-chips]");
  const count = root.querySelector("[data-product-count]");
  const search = root.querySelector("[data-product-search]");
  const results = root.querySelector("[data-product-results]");
  const max = Number(root.dataset.max || 5);
  const picked = () => [...chips.querySelectorAll("input[name=products]")].map((i) => i.value);
  const update = () => { count.textContent = `${picked().length}/${max}`; };
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") e.preventDefault(); });
  root.addEventListener("click", (e) => {
    const remove = e.target.closest("[data-product-chip] button");
    if (remove) { remove.parentElement.remove(); update(); return; }
    const item = e.target.closest("[data-pick-product]");
    if (!item) return;
    const id = item.dataset.pickProduct;
    if (picked().includes(id) || picked().length >= max) return;
    const chip = document.createElement("span");
    chip.className = "chip chip-removable";
    chip.dataset.productChip = id;
    chip.append(item.dataset.title);
    const input = document.createElement("input");
    input.type = "hidden"; input.name = "products"; input.value = id;
    const button = document.createElement("button");
    button.type = "button"; button.textContent = "×"; button.setAttribute("aria-label", root.dataset.removeLabel);
    chip.append(input, button);
    chips.append(chip);
    results.innerHTML = "";
    search.value = "";
    update();
  });
})();
