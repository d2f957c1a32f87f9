// The verification pages' two languages: written in Spanish, with each page's English texts as constants.

/**
 * Put the page in `lang`: every element marked `data-i18n` (its content) or `data-i18n-label` (its
 * aria-label) takes the page's English text, or goes back to the Spanish it was written in, which is
 * remembered in `spanish` the first time. Both texts are the page's own constants (never record data).
 */
export function applyPageTexts(lang, EN, spanish) {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll("[data-i18n]")) {
    if (!spanish.has(node)) spanish.set(node, node.innerHTML);
    const key = node.dataset.i18n;
    node.innerHTML = lang === "en" && EN[key] !== undefined ? EN[key] : spanish.get(node);
  }
  for (const node of document.querySelectorAll("[data-i18n-label]")) {
    if (!spanish.has(node)) spanish.set(node, node.getAttribute("aria-label"));
    node.setAttribute("aria-label", lang === "en" ? EN[node.dataset.i18nLabel] : spanish.get(node));
  }
}
