"""In-person voting at consulates in real headless Chromium: the official's page (looking people up,
serving them, kiosks) and the kiosk mode of the booth.

* Two voters in a row on ONE kiosk — a registered voter with their letter's QR code (typed into the
  focused field, as a USB QR reader does), then an unregistered voter with a card of the consulate's
  pool (after a card of another consulate is refused) who verifies a ballot and votes again — and
  nothing of the first is left when the second starts: no storage, no cache entry, no cookie but the
  kiosk's, no history entry, nothing of theirs in the page.
* One vote per person across channels: a voter who voted by internet is refused at the consulate; a
  voter who voted at the kiosk is refused by internet, and one registered for the kiosk cannot vote
  by internet.
* An unregistered voter is served once, refused at a second consulate, and the consulate's cap
  refuses the next one.
* axe-core (and the booth's own checks) on every new screen, in Spanish and English.
"""

from __future__ import annotations

import re
from typing import Any

from e2etools import HAVE_AUTH, OPERATOR_PASSWORD, Live, watch
from test_booth_a11y import axe_violations, both_languages

from servertools import prepare, sealed_operator_totp
from sivei.ballot.credentials import voting_link
from sivei_server.db import session_scope
from sivei_server.models import ROLE_CONSULATE, Operator

TIMEOUT = 30_000
KIOSK = {"width": 1024, "height": 768}
DESK = {"width": 1280, "height": 900}
# LAX: cap 2 and two registered voters; MAD: cap 2 and one.
CONSULATES = {"LAX": (2, 2), "MAD": (2, 1)}
UNREGISTERED = ("GARCIA800101090H01", "LOPEZM850202150M02", "PEREZJ900303120H03")


def shown(page: Any, screen: str) -> None:
    try:
        page.wait_for_selector(f"#{screen}:not([hidden])", timeout=TIMEOUT)
    except Exception:
        print("DEBUG", page.url, page.locator("body").inner_text()[:2000])
        raise


def add_official(live: Live, username: str, code: str) -> str | None:
    """A consulate's staff member; with the authentication module, with password and authenticator."""
    import pyotp

    secret = pyotp.random_base32()
    with session_scope(live.setup.engine) as s:
        if HAVE_AUTH:
            from sivei_server.auth import codes

            settings = live.app.extensions["sivei_auth_settings"]
            s.add(Operator(username=username, role=ROLE_CONSULATE, consulate=code,
                           totp_secret=sealed_operator_totp(live.app, username, secret),
                           password_hash=codes.hash_password(settings, OPERATOR_PASSWORD)))
        else:
            from sivei_server.passwords import hash_password

            s.add(Operator(username=username, role=ROLE_CONSULATE, consulate=code,
                           password_hash=hash_password("x" * 16)))
    return secret if HAVE_AUTH else None


def official(live: Live, context: Any, username: str, totp: str | None) -> Any:
    return live.operator_page(context, username=username, totp=totp, landing="/consulado")


def official_audit(page: Any, where: str) -> None:
    """A staff page: one visible h1, and no axe-core violation."""
    h1 = page.locator("h1:visible")
    assert h1.count() == 1, where
    assert axe_violations(page) == [], where


def search(page: Any, text: str) -> str:
    page.fill("#texto", text)
    page.get_by_role("button", name=re.compile("Buscar|Look up")).click()
    page.wait_for_load_state()
    return str(page.locator("main").inner_text())


def serve_unregistered(page: Any, number: str, kiosk: str | None = None) -> str:
    page.fill("#clave", number)
    page.check("#identificacion")
    if kiosk is not None:
        page.select_option("#quiosco-sin-registro", label=kiosk)
    page.get_by_role("button", name=re.compile("Registrar y emitir|Record and issue")).click()
    page.wait_for_load_state()
    return str(page.locator("#mensaje").inner_text())


def kiosk_state(page: Any) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("""async () => ({
        local: localStorage.length, session: sessionStorage.length, history: history.length,
        cookie: document.cookie, idb: (await indexedDB.databases()).length, caches: (await caches.keys()).length,
        text: document.body.innerText, field: document.getElementById("credencial").value })""")
    return state


def vote_on_kiosk(page: Any, text: str) -> str:
    """The voter holds their QR code to the reader (it types the link and Enter), marks nothing,
    encrypts and casts; returns the tracking code."""
    page.fill("#credencial", text)
    page.press("#credencial", "Enter")
    shown(page, "p-boleta")
    page.get_by_role("button", name="Revisar mi voto").click()
    shown(page, "p-revision")
    page.get_by_role("button", name="Cifrar mi voto").click()
    shown(page, "p-codigo")
    code = str(page.locator("#codigo").inner_text())
    page.get_by_role("button", name="Depositar mi voto").click()
    shown(page, "p-recibo")
    assert page.locator("#rec-codigo").inner_text() == code
    return code


def test_consulate_kiosk_journeys_one_vote_per_person_and_accessibility(browser: Any, live_server: Any) -> None:
    live: Live = live_server(voters=7, consulates=CONSULATES)
    kit = live.kit
    prepare(live.setup)
    # Staff members (each logs in once here: an authenticator code is accepted once).
    lax_totp, mad_totp = add_official(live, "pedro", "LAX"), add_official(live, "marta", "MAD")
    helpers = {name: add_official(live, name, code) for name, code in
               (("luis", "LAX"), ("lucia", "LAX"), ("mateo", "MAD"))}
    lax_voters = [v.voter_id for v in kit.roll if v.consulate == "LAX"]
    internet_voter = next(v.voter_id for v in kit.roll if v.consulate is None)
    desk, desk2 = browser.new_context(viewport=DESK), browser.new_context(viewport=DESK)
    kiosk_ctx, kiosk2_ctx = browser.new_context(viewport=KIOSK), browser.new_context(viewport=KIOSK)
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    mad_kiosk_ctx = browser.new_context(viewport=KIOSK)
    try:
        # A device that is not a kiosk gets no booth.
        stray = phone.new_page()
        watch(stray, live.errors)
        for lang in ("es", "en"):
            stray.goto(live.url(f"/quiosco?lang={lang}"))
            assert stray.locator("h1").inner_text() in ("Este equipo no es un quiosco registrado",
                                                        "This device is not an enrolled kiosk")
            official_audit(stray, f"no es quiosco ({lang})")

        # The official's page, both languages.
        lax = official(live, desk, "pedro", lax_totp)
        official_audit(lax, "consulado (es)")
        lax.goto(live.url("/consulado?lang=en"))
        assert lax.locator("html").get_attribute("lang") == "en"
        official_audit(lax, "consulado (en)")
        lax.goto(live.url("/consulado?lang=es"))

        # The official turns the kiosk device into kiosk LAX-1 (and a second device into LAX-2).
        for ctx, name, staff in ((kiosk_ctx, "LAX-1", "luis"), (kiosk2_ctx, "LAX-2", "lucia")):
            enrolling = official(live, ctx, staff, helpers[staff])
            enrolling.locator("summary", has_text="Convertir este equipo").click()
            enrolling.fill("#nombre", name)
            enrolling.get_by_role("button", name="Registrar este equipo como quiosco").click()
            enrolling.wait_for_url(re.compile(r"/quiosco$"))
            shown(enrolling, "p-quiosco")
            if name == "LAX-1":
                kiosk = enrolling
        assert "LAX-1" in kiosk.locator("#t-quiosco").inner_text()
        both_languages(kiosk, "quiosco libre")
        assert not kiosk.locator("header nav").count()  # no way out of the booth
        before = kiosk_state(kiosk)
        assert (before["local"], before["session"], before["idb"], before["caches"]) == (0, 0, 0, 0)
        assert {c["name"] for c in kiosk_ctx.cookies()} <= {"sivei-quiosco", "sivei-csrf", "sivei-idioma"}

        # -- voter 1: registered at LAX, looked up by their voter-ID number ------------------------------------
        a = lax_voters[0]
        text = search(lax, kit.cards[a])
        assert "Registrado para votar en este consulado; no ha votado." in text
        official_audit(lax, "votante registrado encontrado (es)")
        lax.goto(live.url("/consulado?lang=en"))  # a look-up changes nothing: the same one, in English
        assert "Registered to vote at this consulate; has not voted." in search(lax, kit.cards[a])
        official_audit(lax, "votante registrado encontrado (en)")
        lax.goto(live.url("/consulado?lang=es"))
        search(lax, kit.cards[a])
        lax.select_option("#quiosco-registrado", label="LAX-1")
        lax.get_by_role("button", name="Emitir sesión en el quiosco").click()
        lax.wait_for_load_state()
        assert "Sesión emitida en el quiosco «LAX-1»" in lax.locator("#mensaje").inner_text()
        official_audit(lax, "sesión emitida (es)")
        shown(kiosk, "p-credencial")
        assert kiosk.locator("#quiosco-carta").is_visible() and not kiosk.locator("#quiosco-tarjeta").is_visible()
        assert kiosk.evaluate("document.activeElement.id") in ("credencial", "t-credencial")
        both_languages(kiosk, "quiosco: credencial de la carta")
        first_code = vote_on_kiosk(kiosk, voting_link(live.base, kit.deliveries[a].credential))
        both_languages(kiosk, "quiosco: recibo")
        assert not kiosk.locator("#rec-archivo").count()  # nothing to download on a kiosk
        kiosk.get_by_role("button", name="Terminar").click()
        kiosk.wait_for_load_state()
        shown(kiosk, "p-quiosco")
        after = kiosk_state(kiosk)
        assert (after["local"], after["session"], after["idb"], after["caches"]) == (0, 0, 0, 0)
        assert after["history"] == before["history"]  # the voter's journey left no history entry
        assert first_code not in after["text"] and after["field"] == ""
        assert {c["name"] for c in kiosk_ctx.cookies()} <= {"sivei-quiosco", "sivei-csrf", "sivei-idioma"}

        # -- voter 2, right after on the same kiosk: unregistered, with a card of the LAX pool --------------------
        lax.goto(live.url("/consulado"))  # the kiosks' state now: LAX-1 is free again
        message = serve_unregistered(lax, UNREGISTERED[0], "LAX-1")
        assert "Entréguele una tarjeta de credencial del consulado" in message
        shown(kiosk, "p-credencial")
        assert kiosk.locator("#quiosco-tarjeta").is_visible() and not kiosk.locator("#quiosco-carta").is_visible()
        assert first_code not in kiosk.locator("body").inner_text()
        both_languages(kiosk, "quiosco: tarjeta del consulado")
        kiosk.fill("#credencial", voting_link(live.base, kit.pools["MAD"][0]))  # another consulate's card
        kiosk.press("#credencial", "Enter")
        error = kiosk.locator("#credencial-error")
        error.wait_for(state="visible")
        assert "no es una tarjeta de este consulado" in error.inner_text()
        both_languages(kiosk, "quiosco: tarjeta de otro consulado")
        kiosk.fill("#credencial", voting_link(live.base, kit.pools["LAX"][0]))
        kiosk.press("#credencial", "Enter")
        shown(kiosk, "p-boleta")
        assert kiosk.locator("#contiendas fieldset").count() == 1  # the unregistered voters' ballot
        both_languages(kiosk, "quiosco: boleta de personas sin registro")
        kiosk.get_by_role("button", name="Revisar mi voto").click()
        kiosk.get_by_role("button", name="Cifrar mi voto").click()
        shown(kiosk, "p-codigo")
        kiosk.get_by_role("button", name="Verificar esta boleta").click()
        shown(kiosk, "p-impugnada")
        assert kiosk.locator("#imp-qr-img").is_visible() and not kiosk.locator("#imp-archivo").count()
        both_languages(kiosk, "quiosco: boleta para verificar")
        kiosk.get_by_role("button", name="Votar de nuevo").click()
        shown(kiosk, "p-boleta")
        kiosk.get_by_role("button", name="Revisar mi voto").click()
        kiosk.get_by_role("button", name="Cifrar mi voto").click()
        shown(kiosk, "p-codigo")
        kiosk.get_by_role("button", name="Depositar mi voto").click()
        shown(kiosk, "p-recibo")
        second_code = kiosk.locator("#rec-codigo").inner_text()
        assert second_code != first_code and first_code not in kiosk.locator("body").inner_text()
        kiosk.get_by_role("button", name="Terminar").click()
        kiosk.wait_for_load_state()
        shown(kiosk, "p-quiosco")
        assert kiosk_state(kiosk)["history"] == before["history"]

        # -- served once: refused at a second consulate; the cap --------------------------------------------------
        mad = official(live, desk2, "marta", mad_totp)
        # MAD has no kiosk yet: the official is told so (no button to serve anybody).
        assert "No hay quioscos libres" in mad.locator("main").inner_text()
        enrolling = official(live, mad_kiosk_ctx, "mateo", helpers["mateo"])
        enrolling.locator("summary", has_text="Convertir este equipo").click()
        enrolling.fill("#nombre", "MAD-1")
        enrolling.get_by_role("button", name="Registrar este equipo como quiosco").click()
        enrolling.wait_for_url(re.compile(r"/quiosco$"))
        mad.goto(live.url("/consulado"))
        message = serve_unregistered(mad, UNREGISTERED[0])
        assert "ya fue atendida en el consulado LAX" in message
        official_audit(mad, "ya atendida en otro consulado (es)")
        mad.goto(live.url("/consulado?lang=en"))
        message = serve_unregistered(mad, UNREGISTERED[0])
        assert "already served at consulate LAX" in message
        official_audit(mad, "ya atendida en otro consulado (en)")
        # LAX's cap is 2: a second person is served (on LAX-1, in English), a third is refused.
        lax.goto(live.url("/consulado?lang=en"))
        assert "Hand them one of the consulate's credential cards" in serve_unregistered(lax, UNREGISTERED[1], "LAX-1")
        official_audit(lax, "sesión emitida, sin registro (en)")
        message = serve_unregistered(lax, UNREGISTERED[2], "LAX-2")
        assert "This consulate reached its cap of 2 voters" in message
        official_audit(lax, "tope alcanzado (en)")
        lax.goto(live.url("/consulado?lang=es"))
        message = serve_unregistered(lax, UNREGISTERED[2], "LAX-2")  # refused again: nothing was recorded
        assert "Se alcanzó el tope de 2 personas sin registro previo" in message
        official_audit(lax, "tope alcanzado (es)")
        assert lax.locator("#sin-registro").inner_text() == "2 de 2"

        # -- one vote per person across internet and kiosks ------------------------------------------------------
        voters_ctx = [browser.new_context(viewport={"width": 390, "height": 844}) for _ in range(3)]
        web = live.voter_page(voters_ctx[0], internet_voter)
        if not web.url.endswith("/votar"):
            web.goto(live.url("/votar"))
        shown(web, "p-credencial")
        web.fill("#credencial", kit.deliveries[internet_voter].credential)
        web.get_by_role("button", name="Continuar").click()
        shown(web, "p-boleta")
        web.get_by_role("button", name="Revisar mi voto").click()
        web.get_by_role("button", name="Cifrar mi voto").click()
        shown(web, "p-codigo")
        web.get_by_role("button", name="Depositar mi voto").click()
        shown(web, "p-recibo")
        text = search(lax, kit.cards[internet_voter])
        assert "Ya votó por internet." in text and "Emitir sesión" not in text
        official_audit(lax, "ya votó por internet (es)")
        lax.goto(live.url("/consulado?lang=en"))
        assert "Already voted by internet." in search(lax, kit.cards[internet_voter])
        official_audit(lax, "ya votó por internet (en)")
        lax.goto(live.url("/consulado?lang=es"))
        # the reverse: the kiosk voter on the internet booth, and a registered kiosk voter who has not voted
        booth = live.voter_page(voters_ctx[1], a)
        if not booth.url.endswith("/votar"):
            booth.goto(live.url("/votar"))
        shown(booth, "p-votado")
        other = live.voter_page(voters_ctx[2], lax_voters[1])
        if not other.url.endswith("/votar"):
            other.goto(live.url("/votar"))
        shown(other, "p-error")
        assert "Te registraste para votar en persona en el consulado LAX" in other.locator("#error-texto").inner_text()
        both_languages(other, "registrado en un consulado, en la cabina por internet")
        assert "Ya votó en un quiosco del consulado LAX." in search(lax, a)
        official_audit(lax, "ya votó en un quiosco (es)")
        lax.goto(live.url("/consulado?lang=en"))
        assert "Already voted at a kiosk of consulate LAX." in search(lax, a)
        official_audit(lax, "ya votó en un quiosco (en)")
        assert live.errors == []
        for ctx in voters_ctx:
            ctx.close()
    finally:
        for ctx in (desk, desk2, kiosk_ctx, kiosk2_ctx, phone, mad_kiosk_ctx):
            ctx.close()
