"""Person names in Russian and English, in any case and letter case.

- Cyrillic: natasha's NER (capitalised names in context) and pymorphy3's dictionary of first
  names, surnames and patronymics (any letter case, every grammatical case): two or more
  adjacent name words, or a surname with initials, are a name;
- Latin: a first name from gender-guesser's list of ~45,000 first names (Jörg Michael's
  ``nam_dict``) followed by a surname-like word; honorific + word (Dr. Smith); initials with
  a surname (J. R. Williams, Petrov I.); Russian surname endings (Vasiliev); one first name
  after a cue word (Thanks, Maria). A first name alone at the start of a sentence ("Will the
  blue model ...") is not a name.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

from annotate.llm.pii import Span

TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-][^\W\d_])*\.?")
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lady", "lord", "mx",
              "г-н", "г-жа"}
CUES = re.compile(r"(?:\b(?:ask|tell|thanks?(?: you)?|dear|hi|hello|hey|regards|wishes|cheers"
                  r"|sincerely|courier|driver|agent|manager|customer|client|seller|colleague"
                  r"|this is|name is|signed by|call back)\W{0,3})$", re.IGNORECASE)
RU_SURNAME_END = re.compile(r"(?:ov|ova|ev|eva|yov|yova|in|ina|sky|skiy|skaya|enko|uk|yuk"
                            r"|ich|vich)$")


def _words(text: str) -> set[str]:
    return set(text.split())


# Capitalised words that are also in the first-name list, and heads that make a place or a
# thing of the word before them ("Victoria Falls", "Washington Post").
COMMON = _words("""
mark grant bill rose june april august art jack frank guy don ray hope faith joy sun love
star summer amber ruby pearl crystal sky page chase hunter price sale black white brown
green gray grey young king major rich new great apple amazon windows order customer delivery
delivered the please thank thanks hi hello dear best regards call ship pick left send return
bank holiday christmas easter monday tuesday wednesday thursday friday saturday sunday
january february march july september october november december chapter version room battery
product rated serial model invoice promo dimensions price bought updated delivery tracking
python ubuntu sony samsung jordan victoria lincoln santa washington hilton cheese sponge
duty paris london york best note review approved paid refund ticket manager driver agent
attn contact forwarded thank ask our my me
""")
FUNCTION = _words("""
a an the and or but if in on at of to for by from with as is are was be been will may might
can could shall should would do does did have has had not no yes so all any some this that
these those there here when where what which who how why it its i you he she we they me my
your his her our their
""")
COMMON |= FUNCTION
PLACE_HEADS = _words("""
falls park street square post avenue road bay river lake hill city beach island station
airport mall center centre hotel store shop sale friday day university college bank group
inc ltd llc company corp
""")


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str

    @property
    def word(self) -> str:
        return self.text.rstrip(".")

    @property
    def is_initial(self) -> bool:
        return len(self.text) == 2 and self.text[1] == "." and self.text[0].isupper()

    @property
    def capitalised(self) -> bool:
        return self.text[0].isupper()


def tokens(text: str) -> list[Token]:
    return [Token(m.start(), m.end(), m.group(0)) for m in TOKEN.finditer(text)]


def adjacent(text: str, left: Token, right: Token) -> bool:
    """Only spaces between two tokens (a comma or a line break ends a name)."""
    return text[left.end:right.start].strip(" ") == "" and right.start - left.end <= 2


def sentence_start(text: str, token: Token) -> bool:
    before = text[:token.start].rstrip(" \t\"'«(")
    return not before or before[-1] in ".!?\n"


def name_spans(text: str) -> list[Span]:
    toks = tokens(text)
    spans = latin_names(text, toks)
    if CYRILLIC.search(text):
        spans += natasha_names(text) + dictionary_names(text, toks)
    return spans


@functools.lru_cache(maxsize=1)
def first_names() -> dict[str, int]:
    """Lower-cased first name -> highest frequency class (1-13) in any country."""
    from importlib.resources import files

    raw = (files("gender_guesser") / "data" / "nam_dict.txt").read_bytes().decode("latin-1")
    found: dict[str, int] = {}
    for line in raw.splitlines():
        if line.startswith("#") or len(line) < 31 or line[0] == "=":
            continue
        name = line[3:29].strip()
        if not name.isascii() or not name.replace("-", "").isalpha():
            continue
        freq = max((int(c, 16) for c in line[30:85] if c.strip() and c in "0123456789ABCD"),
                   default=0)
        key = name.lower()
        found[key] = max(found.get(key, 0), freq)
    return found


def _first(token: Token, min_freq: int = 1) -> bool:
    word = token.word
    parts = word.lower().split("-")
    return (word.lower() not in COMMON and len(word) > 1
            and first_names().get(parts[0], 0) >= min_freq)


def _surname_like(token: Token) -> bool:
    word = token.word
    return (len(word) > 1 and word.lower() not in FUNCTION and word.lower() not in PLACE_HEADS
            and word[0].isupper() and not token.is_initial)


def latin_names(text: str, toks: list[Token]) -> list[Span]:
    latin = [t for t in toks if t.text.isascii() or "’" in t.text]
    spans: list[Span] = []
    i = 0
    while i < len(latin):
        found = _latin_at(text, latin, i)
        if found is None:
            i += 1
            continue
        first, last, score = found
        spans.append(Span(latin[first].start, _end(latin[last]), "PERSON", score, "latin"))
        i = last + 1
    return spans


def _end(token: Token) -> int:
    return token.end if token.is_initial else token.start + len(token.word)


def _run(text: str, toks: list[Token], i: int, ok: object, limit: int = 3) -> int:
    """Index of the last token of the run of adjacent tokens from ``i`` accepted by ``ok``."""
    last = i
    while last + 1 < len(toks) and last - i + 1 < limit and adjacent(text, toks[last],
                                                                      toks[last + 1]) \
            and ok(toks[last + 1]):  # type: ignore[operator]
        last += 1
    return last


def _latin_at(text: str, toks: list[Token], i: int) -> tuple[int, int, float] | None:
    tok = toks[i]
    nxt = toks[i + 1] if i + 1 < len(toks) and adjacent(text, tok, toks[i + 1]) else None
    if tok.word.lower() in HONORIFICS and nxt is not None and nxt.capitalised:
        last = _run(text, toks, i + 1, lambda t: _surname_like(t) or t.is_initial)
        return i + 1, last, 0.95
    if tok.is_initial and nxt is not None and (nxt.is_initial or _surname_like(nxt)):
        last = _run(text, toks, i, lambda t: t.is_initial, 2)
        if last + 1 < len(toks) and adjacent(text, toks[last], toks[last + 1]) \
                and _surname_like(toks[last + 1]):
            return i, last + 1, 0.85
        return None
    if nxt is not None and nxt.is_initial and _surname_like(tok) and len(tok.word) > 2 \
            and not _first(tok):
        return i, _run(text, toks, i + 1, lambda t: t.is_initial, 2), 0.85
    return _first_name_at(text, toks, i, tok, nxt)


def _full_name_at(text: str, toks: list[Token], i: int, tok: Token, nxt: Token | None,
                  upper: bool) -> tuple[int, int, float] | None:
    """A first name and the surname after it ("IVAN PETROV", "Mary-Jane O'Neil"); a first
    name alone after a cue word ("Ask Maria")."""
    if nxt is not None and (_surname_like(nxt) or nxt.is_initial) \
            and (not upper or nxt.word.isupper()):
        last = _run(text, toks, i + 1, lambda t: _surname_like(t) and (
            not upper or _first(t) or t.is_initial), 2 if upper else 3)
        return i, last, 0.9
    if CUES.search(text[:tok.start]) and not sentence_start(text, tok):
        return i, i, 0.7
    return None


def _first_name_at(text: str, toks: list[Token], i: int, tok: Token,
                   nxt: Token | None) -> tuple[int, int, float] | None:
    upper = tok.word.isupper() and len(tok.word) > 1
    if tok.capitalised and _first(tok):
        return _full_name_at(text, toks, i, tok, nxt, upper)
    if tok.capitalised and not upper and tok.word.lower() not in FUNCTION \
            and first_names().get(tok.word.lower(), 0) and CUES.search(text[:tok.start]) \
            and not sentence_start(text, tok) and nxt is None:
        return i, i, 0.6  # "Best wishes, Mark": a first name that is also a word
    if tok.word.islower() and _first(tok, 5) and nxt is not None and nxt.word.islower() \
            and len(nxt.word) > 2 and nxt.word not in COMMON:
        return i, i + 1, 0.6
    if tok.capitalised and not upper and RU_SURNAME_END.search(tok.word) is None \
            and nxt is not None and nxt.capitalised and not nxt.word.isupper() \
            and RU_SURNAME_END.search(nxt.word) and _surname_like(tok) \
            and not sentence_start(text, tok):
        return i, i + 1, 0.8
    return None


_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _ner() -> tuple[object, object]:
    with _lock:
        from natasha import NewsEmbedding, NewsNERTagger, Segmenter

        return Segmenter(), NewsNERTagger(NewsEmbedding())


def natasha_names(text: str) -> list[Span]:
    from natasha import Doc

    segmenter, tagger = _ner()
    doc = Doc(text)
    doc.segment(segmenter)
    doc.tag_ner(tagger)
    spans = []
    for s in doc.spans:
        if s.type != "PER":
            continue
        if " " not in s.text:  # one word: a name in the dictionary, and not a word
            score = name_score(s.text)  # at the start of a sentence ("Вера в бренд")
            if "-" in s.text or score == 0 or (
                    score < 0.9 and sentence_start(text, Token(s.start, s.stop, s.text))):
                continue
        spans.append(Span(s.start, s.stop, "PERSON", 0.85, "natasha"))
    return spans


def name_score(word: str) -> float:
    """How likely pymorphy3 finds a Cyrillic word to be a first name, surname or patronymic."""
    return sum(p.score for p in _morph().parse(word.lower())  # type: ignore[attr-defined]
               if {"Name", "Surn", "Patr"} & set(p.tag.grammemes))


@functools.lru_cache(maxsize=1)
def _morph() -> object:
    with _lock:
        import pymorphy3

        return pymorphy3.MorphAnalyzer()


@functools.lru_cache(maxsize=20000)
def name_roles(word: str) -> frozenset[str]:
    """Which of Name/Surn/Patr pymorphy3 allows for a Cyrillic word (any letter case)."""
    roles: set[str] = set()
    for parse in _morph().parse(word.lower()):  # type: ignore[attr-defined]
        if parse.score >= 0.03:
            roles |= {"Name", "Surn", "Patr"} & set(parse.tag.grammemes)
    return frozenset(roles)


def dictionary_names(text: str, toks: list[Token]) -> list[Span]:
    cyr = [t for t in toks if CYRILLIC.search(t.text)]
    spans: list[Span] = []
    i = 0
    while i < len(cyr):
        last = i
        while (last + 1 < len(cyr) and adjacent(text, cyr[last], cyr[last + 1]) \
                and _name_part(cyr[last + 1]) and not cyr[last].text.endswith(".")) \
                or (last + 1 < len(cyr) and cyr[last].is_initial
                    and adjacent(text, cyr[last], cyr[last + 1]) and _name_part(cyr[last + 1])):
            last += 1
        run = cyr[i:last + 1]
        if _name_part(cyr[i]) and _is_name(run):
            spans.append(Span(run[0].start, _end(run[-1]), "PERSON", 0.8, "pymorphy3"))
            i = last + 1
        elif cyr[i].capitalised and not cyr[i].word.isupper() \
                and name_score(cyr[i].word) >= 0.9 and "-" not in cyr[i].word:
            spans.append(Span(cyr[i].start, cyr[i].end, "PERSON", 0.6, "pymorphy3"))
            i += 1
        else:
            i += 1
    return spans


def _name_part(token: Token) -> bool:
    return token.is_initial or bool(name_roles(token.word))


def _is_name(run: list[Token]) -> bool:
    if len(run) < 2:
        return False
    roles = [name_roles(t.word) for t in run if not t.is_initial]
    initials = len(run) - len(roles)
    given = any("Name" in r or "Patr" in r for r in roles)
    family = any("Surn" in r for r in roles)
    agree = len(roles) < 2 or bool(functools.reduce(
        lambda a, b: a & b, (_forms(t.word) for t in run if not t.is_initial)))
    return agree and ((given and (family or len(roles) >= 2)) or (family and initials > 0))


@functools.lru_cache(maxsize=20000)
def _forms(word: str) -> frozenset[tuple[str, str]]:
    """(gender, case) of a word's name parses: the words of one name agree ("Роза ветров"
    does not: a feminine first name and a masculine surname)."""
    forms = set()
    for parse in _morph().parse(word.lower()):  # type: ignore[attr-defined]
        if {"Name", "Surn", "Patr"} & set(parse.tag.grammemes) and parse.tag.number != "plur":
            gender = str(parse.tag.gender) if parse.tag.gender else ""
            genders = {gender} if gender in ("masc", "femn") else {"masc", "femn"}
            forms |= {(g, str(parse.tag.case)) for g in genders}
    return frozenset(forms)
