"""Accessibility checks of the booth and the verification page in real Chromium, on every screen,
in Spanish and English, at a phone's width (320 CSS px, WCAG 1.4.10 reflow) and a desktop's:

* the page's language is set; one visible h1 per screen, and focus moves to it on each screen;
* every visible form control and button has an accessible name (label, aria-label(ledby), text);
* no duplicate ids; images have an alt attribute;
* text contrast at least 4.5:1 (3:1 for large text), computed from the rendered colours against
  the effective background (WCAG 2.1 AA, 1.4.3); disabled controls are exempt but checked anyway;
* buttons and links styled as buttons are at least 44×44 px (2.5.5, AAA, as a mobile target);
* keyboard focus is visible (an outline) on the buttons;
* no horizontal scrolling at 320 px; no CSP violation or script error.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from e2etools import Live, watch

from servertools import prepare
from sivei.ballot.credentials import voting_link

AUDIT = r"""
() => {
  const problems = [];
  for (const el of document.querySelectorAll("[hidden]")) {
    if (getComputedStyle(el).display !== "none") problems.push(`hidden but displayed: #${el.id}`);
  }
  const visible = (el) => {
    for (let n = el; n; n = n.parentElement) if (getComputedStyle(n).display === "none") return false;
    const s = getComputedStyle(el);
    if (s.display === "none" || s.visibility === "hidden") return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const lang = document.documentElement.lang;
  if (!["es", "en"].includes(lang)) problems.push(`html lang=${lang}`);
  const h1 = [...document.querySelectorAll("h1")].filter(visible);
  if (h1.length !== 1) problems.push(`${h1.length} visible h1`);
  const ids = new Map();
  for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) problems.push(`duplicate id ${id}`);
  for (const img of document.querySelectorAll("img")) if (!img.hasAttribute("alt")) problems.push("img without alt");
  const nameOf = (el) => {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const by = el.getAttribute("aria-labelledby");
    if (by) return by.split(/\s+/).map((i) => (document.getElementById(i) || {}).textContent || "").join(" ");
    if (el.id) {
      const l = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      if (l) return l.textContent;
    }
    if (el.closest("label")) return el.closest("label").textContent;
    if (["BUTTON", "A"].includes(el.tagName)) return el.textContent;
    return "";
  };
  for (const el of document.querySelectorAll("input, select, textarea, button, a[href]")) {
    if (!visible(el) || el.type === "hidden") continue;
    if (!nameOf(el).trim()) problems.push(`no accessible name: ${el.outerHTML.slice(0, 80)}`);
    const big = el.tagName === "BUTTON" || el.classList.contains("boton");
    if (big) {
      const r = el.getBoundingClientRect();
      const size = `${Math.round(r.width)}x${Math.round(r.height)}`;
      if (r.width < 44 || r.height < 44) problems.push(`target ${size}: ${el.textContent.trim()}`);
    }
  }
  const rgb = (c) => {
    const m = c.match(/[\d.]+/g).map(Number);
    return { r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    if (!t.textContent.trim()) continue;
    const el = t.parentElement;
    if (!el || !visible(el) || el.closest("noscript, .skip")) continue;
    const s = getComputedStyle(el);
    const fg = rgb(s.color);
    const bg = background(el);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    checked++;
    const text = t.textContent.trim().slice(0, 40);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)}: "${text}"`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push(`horizontal scroll: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  }
  return { problems, checked };
}
"""


def audit(page: Any, where: str) -> None:
    shots = os.environ.get("SIVEI_E2E_CAPTURAS")  # a folder: keep a screenshot of every screen audited
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{re.sub(r'[^a-z0-9]+', '-', where.lower())}.png"), full_page=True)
    result = page.evaluate(AUDIT)
    assert result["checked"] > 3, where
    assert result["problems"] == [], (where, result["problems"])


def focus_is_visible(page: Any, selector: str) -> None:
    page.locator(selector).focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    style = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                          "return [s.outlineStyle, s.outlineWidth]; }")
    assert style[0] != "none" and style[1] != "0px", (selector, style)


def shown(page: Any, screen: str, *, focused: bool = True) -> None:
    """The screen is visible and (after a change of screen) focus is on its heading."""
    page.wait_for_selector(f"#{screen}:not([hidden])", timeout=30_000)
    if focused:
        assert page.evaluate("document.activeElement && document.activeElement.tagName") == "H1", screen


def test_booth_screens_are_accessible(browser: Any, live_server: Any, tmp_path: Path) -> None:
    live: Live = live_server(voters=2)
    prepare(live.setup)
    kit = live.kit
    voter = kit.roll[0]
    style = kit.manifest.style_for_entity(voter.entity).id
    first_contest = kit.manifest.style_contests(style)[0][1]
    context = browser.new_context(viewport={"width": 320, "height": 640}, accept_downloads=True)
    try:
        page = live.voter_page(context, voter.voter_id)
        if not page.url.endswith("/votar"):
            page.goto(live.url("/votar"))
        for lang in ("es", "en"):
            if lang == "en":
                page.locator("#idioma").click()
                assert page.locator("html").get_attribute("lang") == "en"
            shown(page, "p-credencial", focused=lang == "es")
            audit(page, f"credencial {lang}")
            focus_is_visible(page, "#f-credencial button[type=submit]")
            if lang == "es":
                page.fill("#credencial", "ABCDE")  # an error message is shown and announced
                page.locator("#f-credencial button[type=submit]").click()
                page.locator("#credencial-error").wait_for(state="visible")
                audit(page, "credencial con error")
                assert "credencial-error" in (page.locator("#credencial").get_attribute("aria-describedby") or "")
                continue
        page.fill("#credencial", kit.deliveries[voter.voter_id].credential)
        page.locator("#f-credencial button[type=submit]").click()
        shown(page, "p-boleta")
        audit(page, "boleta, sin marcas")
        party = next(o for o in first_contest.options if o.kind == "party")
        page.locator(f"#c-{first_contest.id} input[value='{party.id}']").check()
        audit(page, "boleta, con opciones desactivadas")
        # The contest's live region says the resulting vote; its options point at it.
        box = page.locator(f"#c-{first_contest.id} input[value='{party.id}']")
        assert box.get_attribute("aria-describedby") == f"c-{first_contest.id}-voto"
        assert page.locator(f"#c-{first_contest.id}-voto").get_attribute("aria-live") == "polite"
        page.locator("#f-boleta button[type=submit]").click()
        shown(page, "p-revision")
        audit(page, "revisión")
        focus_is_visible(page, "#cifrar")
        page.locator("#cifrar").click()
        shown(page, "p-codigo")
        audit(page, "código de rastreo")
        page.locator("#impugnar").click()
        shown(page, "p-impugnada")
        audit(page, "impugnada")
        page.locator("#votar-otra-vez").click()
        shown(page, "p-boleta")
        page.locator("#f-boleta button[type=submit]").click()
        shown(page, "p-revision")
        page.locator("#cifrar").click()
        shown(page, "p-codigo")
        page.locator("#depositar").click()
        shown(page, "p-recibo")
        audit(page, "recibo")
        page.goto(live.url("/votar"))
        shown(page, "p-votado")
        audit(page, "ya votó")

        # The login screen of the booth opened from a credential authority's link, not logged in yet.
        anonymous = browser.new_context(viewport={"width": 320, "height": 640})
        try:
            link_page = anonymous.new_page()
            watch(link_page, live.errors)
            link_page.goto(voting_link(live.base, kit.deliveries[kit.roll[1].voter_id].credential))
            shown(link_page, "p-sesion", focused=False)
            assert link_page.locator("#sesion-enlace").is_visible()
            audit(link_page, "inicia sesión, con enlace")
            focus_is_visible(link_page, "#sesion-entrar")
            link_page.locator("#idioma").click()
            audit(link_page, "log in, with a link (en)")
        finally:
            anonymous.close()

        # The verification page served by the voting server loads the context by itself.
        verify = context.new_page()
        watch(verify, live.errors)
        verify.goto(live.url("/static/verificar/index.html"))
        verify.wait_for_selector("#contexto-huella:not([hidden])")
        audit(verify, "verificación")
        verify.locator("#idioma").click()
        assert verify.locator("html").get_attribute("lang") == "en"
        audit(verify, "verification (en)")
        verify.locator("#texto").fill(json.dumps({"not": "a ballot"}))
        verify.locator("#verificar").click()
        verify.wait_for_selector("#resultado:not([hidden])")
        audit(verify, "verification, a bad file")
    finally:
        context.close()
    assert live.errors == []
