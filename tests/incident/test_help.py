"""The officer's guide (Súgó, /help): every signed-in role reads it (anonymous: the sign-in page),
the header links to it from every page and each task's page to its section, the printable
version has one guide a sheet, both languages have the same guides, sections, pictures and
steps, and — what keeps the guide from going stale — every page, button, field or word a guide
names is on that page, in that guide's language, on the demo district."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path


from conftest import csrf_from

def guides():
    from incident.views.help import GUIDES

    return GUIDES


def guide_slugs() -> tuple[str, ...]:
    return tuple(guide.slug for guide in guides())


def languages() -> tuple[str, ...]:
    from incident.views.help import GUIDE_LANGUAGES

    return GUIDE_LANGUAGES


def sign_in(client, user, lang="hu"):
    page = client.get("/login")
    client.post("/login", data={"email": user["email"], "password": user["password"],
                                "csrf_token": csrf_from(page.get_data(as_text=True))})
    client.get(f"/lang/{lang}")


# Reading the marks of a guide and the words of a page.

class Marks(HTMLParser):
    """The marks of a guide's page (``templates/help/_marks.html``): kind, endpoint, text; the
    sections' ids, the pictures, and the steps of the walks (each a list of its marks)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.marks, self.sections, self.shots, self.walks = [], [], [], {}
        self._open = []  # (mark dict, depth) being read
        self._walk, self._step = None, None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self._depth += 1
        if tag == "section" and a.get("id"):
            self.sections.append(a["id"])
        if tag == "figure" and a.get("data-shot"):
            self.shots.append(a["data-shot"])
        if tag == "ol" and a.get("data-walk"):
            self._walk = a["data-walk"]
            self.walks[self._walk] = []
        if tag == "li" and self._walk:
            self._step = []
            self.walks[self._walk].append(self._step)
        if a.get("data-kind"):
            mark = {"kind": a["data-kind"], "endpoint": a.get("data-endpoint"), "text": "",
                    "prefix": a.get("data-match") == "prefix", "first": a.get("data-which") == "first"}
            self._open.append((mark, self._depth))
            self.marks.append(mark)
            if self._step is not None:
                self._step.append(mark)

    def handle_endtag(self, tag):
        if self._open and self._open[-1][1] == self._depth:
            mark, _ = self._open.pop()
            mark["text"] = " ".join(mark["text"].split())
        if tag == "ol" and self._walk:
            self._walk, self._step = None, None
        self._depth -= 1

    def handle_data(self, data):
        for mark, _ in self._open:
            mark["text"] += data


def read_marks(page_html: str) -> Marks:
    parser = Marks()
    parser.feed(page_html)
    return parser


# What each kind of mark must be on its page: the whole texts of which elements it is looked for in.
KIND_PLACES = {
    "menu": {"menu"},
    "page": {"h1", "title"},
    "link": {"a", "a.button"},
    "button": {"button", "summary", "a.button"},
    "field": {"label"},
    "check": {"label"},
    "choose": {"label"},
    "see": {"any"},
    "term": {"words"},
}
PLACES = ("a", "a.button", "button", "summary", "label", "h1", "title", "option", "menu", "any")
# Elements with no end tag, and those whose end tag HTML lets a page leave out before a sibling.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SELF_CLOSING_SIBLINGS = {"li", "option", "p", "tr", "td", "th", "dt", "dd"}


def normalised(text: str) -> str:
    return " ".join(text.split())


def names(name: str, text: str, prefix: bool = False) -> bool:
    """Whether the mark's ``text`` names the element whose whole text is ``name``: the same words
    (spaces aside, capitals counted), or, for a mark of a name with a changing end
    (``prefix=True``), its first words (not the start of a longer word)."""
    if name == text:
        return True
    return prefix and name.startswith(text) and not name[len(text)].isalnum()


def says(page_text: str, text: str) -> bool:
    """Whether ``text`` is said in ``page_text`` as whole words (not the start or end of a longer one)."""
    return re.search(r"(?<!\w)" + re.escape(text) + r"(?!\w)", page_text) is not None


class PageWords(HTMLParser):
    """The whole texts of a page's elements, by what shows them: links (the main menu's entries
    apart, links styled as buttons apart too), buttons (and the summaries that open a part of a
    page), labels (and legends; a list or text box inside a label is not its text), the title
    (without the app's name) and the h1, every element's text (``any``), and all of the page's
    words (``text``, where a term is looked for). Scripts and styles are not text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.words = {place: [] for place in PLACES}
        self._open = []  # [tag, place or None, text]
        self._nav = []  # whether each open nav is the main menu
        self._text = []

    def _place(self, tag, a):
        classes = (a.get("class") or "").split()
        if tag == "a":
            return "menu" if any(self._nav) else "a.button" if "button" in classes else "a"
        return {"button": "button", "summary": "summary", "label": "label", "legend": "label", "h1": "h1",
                "title": "title", "option": "option"}.get(tag)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.words["button"].append(normalised(a["value"]))
        if tag in VOID:
            return
        if tag in SELF_CLOSING_SIBLINGS and self._open and self._open[-1][0] == tag:
            self._close(tag)
        if tag == "nav":
            self._nav.append("mainnav" in (a.get("class") or "").split())
        self._open.append([tag, self._place(tag, a), ""])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self._close(tag)

    def _close(self, tag):
        if not any(opened == tag for opened, _, _ in self._open):
            return  # an end tag without its start: nothing to close
        while self._open:
            opened, place, text = self._open.pop()
            if opened == "nav":
                self._nav.pop()
            if opened not in ("script", "style"):
                text = normalised(text)
                if place == "title":
                    text = text.rsplit(" · ", 1)[0]  # "Új riasztás · Riadó"
                if place:
                    self.words[place].append(text)
                self.words["any"].append(text)
            if opened == tag:
                return

    def handle_endtag(self, tag):
        if tag == "select":
            self._close("option") if self._open and self._open[-1][0] == "option" else None
        self._close(tag)

    def handle_data(self, data):
        if any(opened in ("script", "style") for opened, _, _ in self._open):
            return
        self._text.append(data)
        # A list's choices and a text box's text are their own, not the text of the label around them.
        inside = max((i for i, (opened, _, _) in enumerate(self._open) if opened in ("select", "textarea")), default=-1)
        for item in self._open[inside + 1:]:
            item[2] += data

    @property
    def text(self) -> str:
        return normalised(" ".join(self._text))

    def has(self, kind: str, text: str, prefix: bool = False) -> bool:
        """Whether an element of the page where a mark of ``kind`` is looked for has ``text`` for its
        whole text (or, with ``prefix``, for its first words); a term, whether the page says it."""
        if KIND_PLACES[kind] == {"words"}:
            return says(self.text, text)
        return any(names(name, text, prefix) for place in KIND_PLACES[kind] for name in self.words[place])


def words_of(page_html: str) -> PageWords:
    parser = PageWords()
    parser.feed(page_html)
    return parser


def test_the_page_words_reader_knows_a_button_from_a_label():
    words = words_of('<nav class="mainnav"><a href="/alerts">Riasztások</a></nav><label for="b">Az üzenet '
                     'szövege</label><button>Küldés most 8 címzettnek</button><script>var x = "Mentés";</script>'
                     '<label>Fajta <select><option>mind</option><option>szivattyú</select></label>'
                     '<a class="button" href="/close">Az esemény lezárása…</a><a href="/x">Súgó</a>')
    assert words.has("button", "Küldés most 8 címzettnek") and not words.has("field", "Küldés most 8 címzettnek")
    assert words.has("button", "Küldés most", prefix=True) and not words.has("button", "Küldés most")
    assert words.has("field", "Az üzenet szövege") and not words.has("button", "Az üzenet szövege")
    assert words.has("menu", "Riasztások") and not words.has("see", "Mentés") and not words.has("term", "Mentés")
    assert words.has("choose", "Fajta")  # a list's choices are not its label's words
    assert words.has("button", "Az esemény lezárása", prefix=True) and words.has("link", "Az esemény lezárása…")
    assert words.has("link", "Súgó") and not words.has("button", "Súgó")


def test_the_check_finds_a_name_that_is_not_on_its_page(client, make_user):
    """What the guide check does with a page: the compose page's real button is found, a button
    that is not there (or a label named as a button) is not."""
    sign_in(client, make_user("officer"))
    words = words_of(client.get("/alerts/new").get_data(as_text=True))
    assert words.has("button", "Tovább: címzettek és költség ellenőrzése")
    assert words.has("field", "Az üzenet szövege") and not words.has("button", "Az üzenet szövege")
    assert not words.has("button", "Riasztás azonnali küldése")
    assert not words.has("menu", "Tovább: címzettek és költség ellenőrzése")
    # A piece of a real button's name is not its name: the start, the end, in other capitals.
    assert not words.has("button", "Tovább")
    assert not words.has("button", "címzettek és költség ellenőrzése", prefix=True)
    assert not words.has("button", "tovább: címzettek és költség ellenőrzése")


def test_the_check_does_not_find_a_renamed_button_in_a_longer_name(app, client, make_user):
    """A checklist task's "Kész" renamed "Elvégezve": the incident's page still has the button
    "Készültségi fok módosítása", which is not the button "Kész", not even as a marked beginning
    (a beginning is whole words)."""
    from factories import create_incident

    incident = create_incident(app, title="Csőtörés")
    sign_in(client, make_user("officer"))
    words = words_of(client.get(f"/incidents/{incident['id']}").get_data(as_text=True))
    assert words.has("button", "Készültségi fok módosítása")
    assert not words.has("button", "Kész") and not words.has("button", "Kész", prefix=True)
    assert not words.has("button", "Készültségi fok") and words.has("button", "Készültségi fok", prefix=True)
    assert not words.has("see", "Kész") and not words.has("term", "Kész")


# Access and links.

def test_every_signed_in_role_reads_every_guide_and_the_printable_version(app, make_user):
    for role in ("viewer", "press", "officer", "admin"):
        client = app.test_client()
        sign_in(client, make_user(role))
        index = client.get("/help")
        assert index.status_code == 200, role
        body = index.get_data(as_text=True)
        assert [f"/help/{guide.slug}" for guide in guides()] == re.findall(r'href="(/help/[\w-]+)" data-guide=', body)
        page = client.get("/help/callout")
        assert page.status_code == 200 and "Riasztás küldése" in page.get_data(as_text=True), role
        printable = client.get("/help/print")
        assert printable.status_code == 200, role
        assert printable.get_data(as_text=True).count('data-testid="guide-sheet"') == len(guides())


def test_each_role_sees_the_guides_of_its_tasks_marked_as_its_own(app, make_user):
    """A role does all a lower one does: an admin (often the officer too) has every guide marked,
    and so has an officer; a press officer the notices and what a viewer reads."""
    expected = {
        "viewer": ["incident", "statuses"],
        "press": ["incident", "notices", "statuses"],
        "officer": ["first-steps", "callout", "incident", "drill", "reception", "notices", "statuses", "outages"],
        "admin": [guide.slug for guide in guides()],
    }
    for role, slugs in expected.items():
        client = app.test_client()
        sign_in(client, make_user(role))
        body = client.get("/help").get_data(as_text=True)
        marked = re.findall(r'<li class="yours">\s*<a href="/help/([\w-]+)"', body)
        assert marked == slugs, role
        assert body.count('class="yours-tag"') == len(slugs), role


def test_anonymous_readers_are_sent_to_sign_in(client):
    for path in ("/help", "/help/callout", "/help/print"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


def test_an_unknown_guide_is_a_404(client, make_user):
    sign_in(client, make_user("viewer"))
    assert client.get("/help/nincs-ilyen").status_code == 404
    assert client.get("/help/%C2%B2").status_code == 404


def test_the_guide_is_in_english_for_an_english_reader(client, make_user):
    sign_in(client, make_user("viewer"), lang="en")
    page = client.get("/help/callout").get_data(as_text=True)
    assert "Sending a call-out" in page and 'lang="en"' in page
    assert "Continue: check recipients and cost" in page and "Tovább: címzettek" not in page


def test_the_printable_version_puts_each_guide_on_a_sheet(client, make_user, app):
    sign_in(client, make_user("viewer"))
    page = client.get("/help/print").get_data(as_text=True)
    sheets = re.findall(r'<article class="guide guide-sheet" id="([\w-]+)"', page)
    assert sheets == [guide.slug for guide in guides()]
    css = client.get("/static/css/help.css").get_data(as_text=True)
    print_rules = css[css.index("@media print"):]
    assert re.search(r"\.guide-sheet \{[^}]*break-before: page", print_rules)
    # Nothing from another host, and no id twice (the guides' sections are named after their guide).
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)
    # The pictures load with the page, so that they are printed.
    from browser.guide import guide_pictures

    assert page.count('<img src="/static/help/hu/') == len(guide_pictures("hu")) and 'loading="lazy"' not in page
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_page_s_header_links_to_the_help(client, make_user, app):
    from factories import create_incident

    incident = create_incident(app, title="Csőtörés")
    sign_in(client, make_user("viewer"))
    for path in ("/", f"/incidents/{incident['id']}", "/alerts", "/account"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(r'<a href="/help" data-testid="help-nav"[^>]*>Help</a>|<a href="/help" data-testid="help-nav"[^>]*>Súgó</a>', page), path


TASK_PAGES = [
    # (page, the guide and section it links to)
    ("/alerts/new", "callout", "callout-compose"),
    ("/incidents/new", "incident", "incident-report"),
    ("/reception/desk", "reception", "reception-desk"),
    ("/notices", "notices", "notices-write"),
    ("/notices/new", "notices", "notices-write"),
    ("/contacts/import", "first-steps", "first-steps-import"),
    ("/resources/import", "first-steps", "first-steps-import"),
    ("/contacts", "first-steps", "first-steps-contacts"),
    ("/alerts/outbox", "drill", "drill-replies"),
    ("/watch", "statuses", "statuses-feeds"),
]


def test_where_a_task_starts_a_help_link_leads_to_its_section(client, make_user):
    sign_in(client, make_user("admin"))
    sections = {}
    for path, slug, section in TASK_PAGES:
        page = client.get(path).get_data(as_text=True)
        links = re.findall(r'<a class="help-link[^"]*" href="([^"]+)" data-testid="help-link"', page)
        assert f"/help/{slug}#{section}" in links, (path, links)
        # Named after its guide for a screen reader's list of links (the header's is just "Súgó").
        title = next(guide.title("hu") for guide in guides() if guide.slug == slug)
        assert f'aria-label="Súgó: {title}"' in page, path
        if slug not in sections:
            sections[slug] = read_marks(client.get(f"/help/{slug}").get_data(as_text=True)).sections
        assert section in sections[slug], (path, section)


def test_an_incident_s_page_links_to_the_incident_guide_and_a_drill_s_to_the_drill_guide(client, make_user, app):
    from factories import create_incident

    real = create_incident(app, title="Csőtörés")
    drill = create_incident(app, title="GYAKORLAT – csőtörés", drill=True)
    sign_in(client, make_user("officer"))
    assert 'href="/help/incident#incident-status"' in client.get(f"/incidents/{real['id']}").get_data(as_text=True)
    assert 'href="/help/drill#drill-run"' in client.get(f"/incidents/{drill['id']}").get_data(as_text=True)


# The two languages and the pictures.

def rendered_marks(client, lang):
    out = {}
    client.get(f"/lang/{lang}")
    for slug in guide_slugs():
        response = client.get(f"/help/{slug}")
        assert response.status_code == 200
        out[slug] = read_marks(response.get_data(as_text=True))
    return out


def test_every_guide_is_written_in_each_guide_language_and_nothing_else(app):
    """The guides' languages are the folders of templates/help/, each holding every guide (and no
    other file): a guide missing in a language would be a 500 for its readers."""
    from incident.views.help import DEFAULT_LANGUAGE

    folder = Path(app.template_folder) / "help"
    assert {path.name for path in folder.iterdir() if path.is_dir()} == set(languages())
    assert DEFAULT_LANGUAGE in languages()
    for lang in languages():
        assert {path.name for path in (folder / lang).iterdir()} == {f"{slug}.html" for slug in guide_slugs()}, lang


def test_a_page_in_a_language_the_guides_are_not_written_in_shows_them_in_hungarian(client, make_user, monkeypatch):
    """A third language of the app (its pages translated, its guides not yet): the guides in the
    default language, not a missing template."""
    from babel import Locale

    import incident.views.help as help_views

    sign_in(client, make_user("viewer"))
    # The app speaks German (wherever its list of languages is read), the guides do not.
    monkeypatch.setattr("incident.config.LOCALES", ("hu", "en", "de"))
    monkeypatch.setattr(help_views, "LOCALES", ("hu", "en", "de"), raising=False)
    monkeypatch.setattr(help_views, "get_locale", lambda: Locale("de"))
    for path in ("/help", "/help/callout", "/help/print"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Riasztás küldése" in client.get("/help/callout").get_data(as_text=True)


def test_both_languages_have_the_same_guides_sections_pictures_and_steps(client, make_user):
    sign_in(client, make_user("viewer"))
    hu, en = rendered_marks(client, "hu"), rendered_marks(client, "en")
    for slug in guide_slugs():
        assert hu[slug].sections == en[slug].sections, slug
        assert all(section.startswith(slug + "-") for section in hu[slug].sections), slug
        assert hu[slug].shots == en[slug].shots, slug
        # The walks a new colleague follows: the same steps, each doing the same on the same page.
        shape = {walk: [[(m["kind"], m["endpoint"], m["prefix"], m["first"]) for m in step] for step in steps]
                 for walk, steps in hu[slug].walks.items()}
        assert shape == {walk: [[(m["kind"], m["endpoint"], m["prefix"], m["first"]) for m in step] for step in steps]
                         for walk, steps in en[slug].walks.items()}, slug
    assert set(hu["callout"].walks) == {"callout"} and set(hu["drill"].walks) == {"drill"}


def test_every_picture_a_guide_shows_has_been_made_and_no_other(client, make_user):
    """The pictures' folder of each language holds the pictures its guides show, and nothing
    else (a picture no guide shows any longer is deleted); the pictures' test takes the same
    ones (it reads the guides' shot marks: they are the pictures the rendered guides show)."""
    from browser.guide import guide_pictures

    from incident.views.help import SHOTS

    sign_in(client, make_user("viewer"))
    for lang in languages():
        shown = [name for marks in rendered_marks(client, lang).values() for name in marks.shots]
        assert len(shown) == len(set(shown)), f"{lang}: a picture shown twice"
        assert set(shown) == guide_pictures(lang), lang
        for name in shown:
            path = SHOTS / lang / f"{name}.png"
            assert path.is_file(), f"{path} is missing: run make guide"
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        made = {path.name for path in (SHOTS / lang).iterdir()}
        assert made == {f"{name}.png" for name in shown}, f"{lang}: no guide shows {sorted(made - {f'{n}.png' for n in shown})}"


def test_the_statuses_guide_explains_every_twilio_code_an_officer_meets(client, make_user):
    from alerts.labels import TWILIO_ERROR_LABELS

    codes = set(TWILIO_ERROR_LABELS) | {21211, 21610, 21614, 30003, 30005, 30006, 30007, 30008}
    sign_in(client, make_user("viewer"))
    for lang in languages():
        client.get(f"/lang/{lang}")
        page = client.get("/help/statuses").get_data(as_text=True)
        explained = {int(code) for code in re.findall(r'<th scope="row" data-code="(\d+)">', page)}
        assert explained == codes, lang


# The names in the guides are on the pages.

def sample_pages(app, client, admin, press):
    """The demo district in the states the guides describe, and for each endpoint a guide names
    the requests (as the admin) that show its page: ``{endpoint: [(method, url, form)]}``."""
    from sqlalchemy import select

    from alerts.notices import operations as notice_ops
    from factories import assign, committed, create_incident, move_incident
    from incident.audit import set_actor
    from incident.demo import load_demo
    from incident.extensions import db
    from incident.models import AlertGroup, Evacuee, Incident, Plan, Resource

    with app.app_context():
        set_actor(None, "demo")
        load_demo()
        drill = db.session.execute(select(Incident).where(Incident.title.like("%gázszivárgás%"))).scalar_one()
        flood_drill = db.session.execute(select(Incident).where(Incident.title.like("%árvízvédelmi%"))).scalar_one()
        shelter = db.session.execute(select(Resource).where(Resource.kind == "shelter")).scalars().first()
        pump = db.session.execute(select(Resource).where(Resource.kind == "pump")).scalars().first()
        group = db.session.execute(select(AlertGroup).where(AlertGroup.name == "Polgármesteri Titkárság")).scalar_one()
        # The level II plan, applied to the flood drill (at level I, its own plan applied by the
        # demo) so that it has tasks to tick; a flood at level I offers the level I plan.
        plan = db.session.execute(select(Plan).where(Plan.hazard == "flood", Plan.level == 2)).scalar_one()
        ids = {"drill": drill.id, "flood_drill": flood_drill.id, "shelter": shelter.id, "pump": pump.id,
               "group": group.id, "plan": plan.id}
    reported = create_incident(app, title="Gázszag a Sas utcában")
    offering = create_incident(app, title="Árhullám a Duna pesti oldalán", kind="flood", readiness_level=1)
    contained = create_incident(app, title="Csőtörés az Október 6. utcában")
    move_incident(app, contained["id"], "active")
    assign(app, contained["id"], ids["pump"], 1)
    move_incident(app, contained["id"], "contained")

    def as_press(make):
        def run():
            from flask import g

            from incident.models import User

            g._login_user = db.session.get(User, press["id"])
            return make()
        return committed(app, run)

    draft = as_press(lambda: notice_ops.create_notice({"title": "Vihar", "body": "Kidőlt fák a körúton."}))
    pending = as_press(lambda: notice_ops.create_notice({"title": "Lezárás", "body": "A rakpart lezárva."}))
    as_press(lambda: notice_ops.submit_notice(pending["id"]))
    published = as_press(lambda: notice_ops.create_notice({"title": "Ivóvíz", "body": "Lajtos kocsi a Hold utcában."}))
    as_press(lambda: notice_ops.submit_notice(published["id"]))
    committed(app, lambda: notice_ops.approve_notice(published["id"]))  # by the system, not the author

    token = csrf_from(client.get("/alerts/new").get_data(as_text=True))
    client.post(f"/incidents/{ids['flood_drill']}/plans", data={"plan_id": ids["plan"], "csrf_token": token})
    # Someone checked in at the desk (which then remembers its incident and shelter).
    client.post("/reception/desk", data={"csrf_token": token, "incident_id": ids["drill"], "shelter_id": ids["shelter"],
                                         "name_0": "Kovács Anna", "birth_year_0": "1948"})
    with app.app_context():
        evacuee = db.session.execute(select(Evacuee.id)).scalar_one()
    # The admin signed in on another computer too (the account page offers to sign that one out).
    other = app.test_client()
    sign_in(other, admin)
    # An alert whose escalation is still due (the queue is not run: it stays as it is).
    sent = client.post("/alerts/send", data={
        "csrf_token": token, "idempotency_key": "help-sample", "body": "Próbariasztás", "groups": ids["group"],
        "require_ack": "1", "channels_shown": "1", "channels": "sms", "escalation_minutes": "10",
        "escalation_channel": "sms"})
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    escalating = sent.headers["Location"]
    compose = {"csrf_token": token, "body": "Próbariasztás", "groups": ids["group"], "require_ack": "1",
               "channels_shown": "1", "channels": "sms"}
    return {
        "alerts.new": [("GET", "/alerts/new", None), ("POST", "/alerts/new", compose)],
        "alerts.detail": [("GET", "/alerts/1", None), ("GET", escalating, None)],
        "incidents.detail": [("GET", f"/incidents/{i}", None)
                             for i in (ids["drill"], ids["flood_drill"], reported["id"], offering["id"],
                                       contained["id"], 1)],
        "incidents.report": [("GET", f"/incidents/{ids['drill']}/report", None)],
        "incidents.close": [("GET", f"/incidents/{contained['id']}/close", None)],
        "after_action.report": [("GET", "/incidents/1/after-action", None)],
        "notices.detail": [("GET", f"/notices/{n['id']}", None) for n in (draft, pending, published)],
        "notices.media": [("GET", f"/notices/media/{ids['drill']}", None)],
        "reception.evacuee": [("GET", f"/reception/evacuees/{evacuee}", None)],
        "registry.contacts.new": [("GET", "/contacts/new", None)],
    }


def test_every_name_a_guide_gives_is_on_its_page_in_its_language(app, client, make_user):
    """A guide that names a page, a button, a field or a word that is no longer there fails here,
    with the guide, the language and the name. Pages are read as the admin sees them (who sees
    every button), in the states the guides describe."""
    admin, press = make_user("admin"), make_user("press")
    sign_in(client, admin)
    samples = sample_pages(app, client, admin, press)
    endpoints = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    missing, seen = [], 0
    try:
        for lang in languages():
            marks = rendered_marks(client, lang)
            cache = {}

            def words(request):
                method, url, form = request
                key = (method, url, tuple(sorted((form or {}).items())))
                if key not in cache:
                    response = client.post(url, data=form) if method == "POST" else client.get(url)
                    assert response.status_code == 200, (lang, url, response.status_code)
                    cache[key] = words_of(response.get_data(as_text=True))
                return cache[key]

            for slug, found in marks.items():
                for mark in found.marks:
                    kind, endpoint, text, prefix = mark["kind"], mark["endpoint"], mark["text"], mark["prefix"]
                    if kind in ("typed", "option", "record"):
                        continue  # what to type or choose, a record made in an earlier step: not Riadó's words
                    where = f"{lang}/{slug}: {kind} “{text}”{'…' if prefix else ''} on {endpoint}"
                    if endpoint not in endpoints:
                        missing.append(f"{where}: no such page")
                        continue
                    requests = samples.get(endpoint)
                    if requests is None:
                        rule = endpoints[endpoint]
                        assert not rule.arguments, f"{where}: give the test a sample page of {endpoint}"
                        requests = [("GET", rule.rule, None)]
                    if not any(words(request).has(kind, text, prefix) for request in requests):
                        near = sorted({name for request in requests for name in words(request).words["any"]
                                       if text.lower() in name.lower() and len(name) < 120})[:3]
                        missing.append(f"{where}: not on the page" + (f" (it has: {near})" if near else ""))
                    seen += 1
    finally:
        app.extensions["huey"].flush()
    assert not missing, "\n".join(missing)
    assert seen > 300  # the check ran over the guides' marks, in both languages
