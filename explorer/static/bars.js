// Sizes the waterfall's bars and colours the legend's swatches from their data attributes
// (the page's Content-Security-Policy allows no inline style).
for (const bar of document.querySelectorAll(".bar[data-left]")) {
  bar.style.left = bar.dataset.left + "%";
  bar.style.width = bar.dataset.width + "%";
}
for (const name of document.querySelectorAll(".span-name[data-indent]")) {
  name.style.paddingLeft = name.dataset.indent + "px";
}
for (const sw of document.querySelectorAll(".swatch[data-color]")) {
  sw.style.background = sw.dataset.color;
}
