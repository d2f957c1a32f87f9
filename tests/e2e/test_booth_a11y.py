"""Accessibility of every voter-facing screen in real Chromium, in Spanish and English, at a phone's
width (390 CSS px; the booth's ballot also at 320 px, WCAG 1.4.10 reflow):

* axe-core (axe-playwright-python; WCAG 2.0/2.1/2.2 A and AA rules and axe's best practices) finds no
  violation on any screen: the home page, the booth's screens (login from a link, a session that
  ended, credential, credential error, ballot with no marks / with unavailable options / with a
  write-in, review, tracking code, the ballot to verify, the session warning, sending again after
  logging in again, receipt, already voted), the public board and the verification page;
* our own checks, beside axe: one visible h1 per screen with focus moved to it; every control named;
  text contrast ≥ 4.5:1 (3:1 large); buttons ≥ 44×44 px; focus visible; no horizontal scroll; no
  CSP violation or script error;
* the voter's journey through a session that ends: the warning at 5 minutes with "Seguir votando",
  then the server ends the session before the cast — the booth keeps the credential and the signed
  ballot, the login opens in another tab, and the same ballot is sent once the voter is back.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from e2etools import HAVE_AUTH, VOTER_PASSWORD, Live, watch

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


# axe-core's rule sets for WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page: Any) -> list[tuple[str, str, list[Any]]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:4]) for v in results.response["violations"]]


def audit(page: Any, where: str) -> None:
    shots = os.environ.get("SIVEI_E2E_CAPTURAS")  # a folder: keep a screenshot of every screen audited
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{re.sub(r'[^a-z0-9]+', '-', where.lower())}.png"), full_page=True)
    result = page.evaluate(AUDIT)
    assert result["checked"] > 3, where
    assert result["problems"] == [], (where, result["problems"])
    assert axe_violations(page) == [], where


def both_languages(page: Any, where: str, toggle: str = "#idioma") -> None:
    """Audit this screen in Spanish, switch to English, audit, switch back."""
    assert page.locator("html").get_attribute("lang") == "es", where
    audit(page, f"{where} (es)")
    page.locator(toggle).click()
    assert page.locator("html").get_attribute("lang") == "en", where
    audit(page, f"{where} (en)")
    page.locator(toggle).click()
    assert page.locator("html").get_attribute("lang") == "es", where


def page_both_languages(page: Any, url: str, where: str) -> None:
    """A server-rendered page: audited at ?lang=es and ?lang=en."""
    for lang in ("es", "en"):
        page.goto(url + ("&" if "?" in url else "?") + f"lang={lang}")
        assert page.locator("html").get_attribute("lang") == lang
        audit(page, f"{where} ({lang})")


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


def test_every_screen_in_both_languages_and_a_session_that_ends(browser: Any, live_server: Any) -> None:
    live: Live = live_server(voters=2)
    prepare(live.setup)
    kit = live.kit
    voter = kit.roll[0]
    style = kit.manifest.style_for_entity(voter.entity).id
    first_contest = kit.manifest.style_contests(style)[0][1]
    c = f"#c-{first_contest.id}"
    phone = {"width": 390, "height": 844}
    anonymous = browser.new_context(viewport=phone)
    context = browser.new_context(viewport=phone, accept_downloads=True)
    try:
        # The home page and the booth opened from a credential authority's link, not logged in yet.
        home = anonymous.new_page()
        watch(home, live.errors)
        page_both_languages(home, live.url("/"), "inicio")
        assert home.get_by_role("link", name="Entrar a votar").count() == 0  # English now
        home.goto(live.url("/"))
        home.get_by_role("link", name="Entrar a votar").click()
        home.wait_for_url(re.compile(r"/cuenta/entrar\?siguiente=/votar|/votar$"))
        link_page = anonymous.new_page()
        watch(link_page, live.errors)
        link_page.goto(voting_link(live.base, kit.deliveries[kit.roll[1].voter_id].credential))
        shown(link_page, "p-sesion", focused=False)
        assert link_page.locator("#sesion-enlace").is_visible()
        both_languages(link_page, "inicia sesión, con enlace")
        focus_is_visible(link_page, "#sesion-entrar")

        page = live.voter_page(context, voter.voter_id)
        page.clock.install()  # the session's warnings are timers: moved forward below
        page.goto(live.url("/votar"))
        shown(page, "p-credencial")
        both_languages(page, "credencial")
        focus_is_visible(page, "#f-credencial button[type=submit]")
        page.fill("#credencial", "ABCDE")  # an error message is shown and announced
        page.locator("#f-credencial button[type=submit]").click()
        page.locator("#credencial-error").wait_for(state="visible")
        assert "credencial-error" in (page.locator("#credencial").get_attribute("aria-describedby") or "")
        both_languages(page, "credencial con error")
        page.fill("#credencial", kit.deliveries[voter.voter_id].credential)
        page.locator("#f-credencial button[type=submit]").click()
        shown(page, "p-boleta")
        assert "secreto" in page.locator(".secreto").inner_text().lower()
        # The parties' emblems (the sample manifest's placeholders), each checked against its SHA-256.
        parties_here = [o for o in first_contest.options if o.kind == "party"]
        assert page.locator(f"{c} img.emblema").count() == len(parties_here)
        assert page.locator(f"{c} img.emblema").first.get_attribute("alt") == ""
        both_languages(page, "boleta, sin marcas")
        page.set_viewport_size({"width": 320, "height": 640})
        audit(page, "boleta a 320 px")
        page.set_viewport_size(phone)

        # A party marked: the options it cannot be combined with are unavailable, in words too; each
        # option is named by its own label, never by the contest's "Tu voto…" line.
        party = next(o for o in first_contest.options if o.kind == "party")
        box = page.locator(f"{c} input[value='{party.id}']")
        box.check()
        assert box.get_attribute("aria-describedby") is None
        assert page.locator(f"{c}-voto").get_attribute("aria-live") == "polite"
        null_box = page.locator(f"{c} input[value='NULO']")
        assert null_box.is_disabled()
        described = (null_box.get_attribute("aria-describedby") or "").split()
        assert f"{c[1:]}-pista" in described
        assert "No disponible" in page.locator(f"#{described[0]}").inner_text()
        assert page.locator(f"#{described[0]}").is_visible()
        both_languages(page, "boleta, con opciones no disponibles")
        # English: the manifest's Spanish texts are marked as such; the booth's own are not.
        page.locator("#idioma").click()
        assert page.locator(f"{c} legend span[lang='es']").count() == 1
        assert page.locator(f"{c} label[for$='-nulo'] .principal[lang]").count() == 0
        page.locator("#idioma").click()
        box.uncheck()

        # The write-in: its name field and the notice that the name is never recorded.
        write_in = next(o for o in first_contest.options if o.kind == "write_in")
        page.locator(f"{c} input[value='{write_in.id}']").check()
        name_field = page.locator(f"{c} input[data-nombre]")
        notice = page.locator(f"#{name_field.get_attribute('aria-describedby')}")
        assert notice.is_visible() and "no se registra" in notice.inner_text()
        both_languages(page, "boleta, candidatura no registrada")
        name_field.fill("Leona Vicario")
        page.locator("#f-boleta button[type=submit]").click()
        shown(page, "p-revision")
        both_languages(page, "revisión")
        page.locator("#cifrar").click()
        shown(page, "p-codigo")
        both_languages(page, "código de rastreo")
        assert page.get_by_role("button", name="Verificar esta boleta").is_visible()
        page.locator("#impugnar").click()
        shown(page, "p-impugnada")
        both_languages(page, "boleta para verificar")
        page.locator("#votar-otra-vez").click()
        shown(page, "p-boleta")
        page.locator("#f-boleta button[type=submit]").click()
        shown(page, "p-revision")
        page.locator("#cifrar").click()
        shown(page, "p-codigo")

        # Five minutes before the session's end: the warning, "Seguir votando" closes it.
        page.clock.fast_forward("25:30")
        page.locator("#aviso-sesion").wait_for(state="visible")
        assert "5 minutos" in page.locator("#aviso-sesion-texto").inner_text()
        assert "Ciudad de México" in page.locator("#aviso-sesion-texto").inner_text()
        both_languages(page, "aviso de fin de sesión")
        page.get_by_role("button", name="Seguir votando").click()
        assert page.locator("#aviso-sesion").is_hidden()

        # The server ends the session before the cast: nothing is lost.
        from sqlalchemy import delete

        from sivei_server.db import session_scope
        from sivei_server.models import Voter, WebSession

        with session_scope(live.setup.engine) as s:
            s.execute(delete(WebSession).where(WebSession.subject_id == voter.voter_id))
            username = s.get(Voter, voter.voter_id).username if HAVE_AUTH else None
        code = page.locator("#codigo").inner_text()
        page.locator("#depositar").click()
        shown(page, "p-sesion")
        assert page.locator("#sesion-terminada").is_visible()
        assert page.locator("#sesion-lista").is_visible()
        both_languages(page, "sesión terminada")
        if HAVE_AUTH:
            with page.expect_popup() as popup_info:
                page.locator("#sesion-entrar").click()
            login = popup_info.value
            watch(login, live.errors)
            login.wait_for_url(re.compile(r"/cuenta/entrar\?siguiente=/votar/sesion"))
            login.fill("#usuario", username)
            login.fill("#clave", VOTER_PASSWORD)
            login.get_by_role("button", name="Continuar").click()
            login.wait_for_url(re.compile(r"/cuenta/codigo"))
            from sivei_server.notify import read_sms_outbox

            sms = read_sms_outbox(live.setup.config.data_dir / "sms")
            found = re.search(r"\b(\d{6})\b", sms[-1].body)
            assert found
            login.fill("#codigo", found.group(1))
            with login.expect_event("close"):
                login.get_by_role("button", name="Verificar").click()
        else:
            live.login_again(page, voter.voter_id)
            page.locator("#sesion-lista").click()
        shown(page, "p-error")
        assert page.locator("#reintentar").is_visible()
        both_languages(page, "enviar de nuevo tras iniciar sesión")
        page.locator("#reintentar").click()
        shown(page, "p-recibo")
        assert page.locator("#rec-codigo").inner_text() == code  # the same ballot, encrypted once
        assert "Ciudad de México" in page.locator("#rec-hora").inner_text()
        both_languages(page, "recibo")
        page.goto(live.url("/votar"))
        shown(page, "p-votado")
        both_languages(page, "ya votó")

        # The public board (with this ballot) and the verification page.
        board = context.new_page()
        watch(board, live.errors)
        page_both_languages(board, live.url(f"/tablero?codigo={code}"), "tablero")
        assert "Found" in board.locator("[role=status]").inner_text()
        assert "Voting opened" in board.locator("main").inner_text()
        verify = context.new_page()
        watch(verify, live.errors)
        verify.goto(live.url("/static/verificar/index.html"))
        verify.wait_for_selector("#contexto-huella:not([hidden])")
        both_languages(verify, "verificación")
        verify.locator("#texto").fill(json.dumps({"not": "a ballot"}))
        verify.locator("#verificar").click()
        verify.wait_for_selector("#resultado:not([hidden])")
        audit(verify, "verificación, un archivo que no es boleta")
    finally:
        context.close()
        anonymous.close()
    assert live.errors == []
