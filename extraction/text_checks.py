"""Cheap checks on a text before spaCy reads it: is it text at all, which language, how much is read.

Why before spaCy: the pipeline's cost grows with the number of tokens, and junk is nearly all
tokens (every undecodable byte and every punctuation mark is one). 200 KB of random bytes given
as text took 20-48 s and 1.1 GB and came out as about 900 "entities"; French, German or Chinese
came out silently empty; a long text was silently cut. Everything here is a few regular-expression
passes over at most ``MAX_CHARS`` characters (milliseconds), so junk is refused before a pipeline
is loaded or run, and the extraction record says what happened (``ArticleExtraction.language``
and ``.warnings``) instead of being silently empty or silently short.

The thresholds were measured on the demo corpus (46 abstracts), English, French, German,
Spanish, Italian, Dutch, Portuguese and Chinese case-report paragraphs, and on junk: 200 KB of
random bytes decoded as UTF-8 with replacement, as Latin-1 and as Windows-1252, base64 (with and
without line breaks), a hex dump, random printable ASCII and random "words" of printable ASCII
(``tests/test_bad_input_extraction.py`` keeps the cases). Real text sits far from every limit:
no U+FFFD, no control characters, 92-98% letters, no spaceless run over 40 characters, >= 97%
word-like tokens; each kind of junk fails at least one limit by a wide margin (random bytes: 44%
U+FFFD as UTF-8, 24% controls as Latin-1, 12% as Windows-1252; base64 100% spaceless runs; hex
31-37% letters; random printable ASCII 93% spaceless runs, or 40% word-like tokens when spaced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# --- "is this text?" -------------------------------------------------------------------------

MAX_UNDECODABLE = 0.02  # share of U+FFFD: what bytes that are not UTF-8 become; random bytes 44%
MAX_CONTROL = 0.01  # share of C0/C1 control characters other than tab and line breaks; random bytes 12-24%
MIN_LETTERS = 0.5  # letters per visible (non-space) character; real text 0.92-0.98, hex 0.31-0.37
BLOB_RUN = 40  # a whitespace-free run longer than this is not a word (base64 lines are 76)
MAX_BLOB = 0.5  # share of visible characters in such runs; base64 ~1.0, real text ~0
MIN_WORDLIKE = 0.6  # share of tokens that look like words; real text >= 0.97, spaced random ASCII 0.40
MIN_MEASURED = 16  # visible characters below which only the two byte-level limits apply

# C0/C1 controls except tab, LF, CR; they are never text (and XML 1.0 cannot even carry them).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What spaCy reads as a space instead: the controls above, zero-width space, BOM / zero-width
# no-break space. Replaced one for one, so every offset still indexes the original text.
_BLANKED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\ufeff]")
# Scripts written without spaces between words: their runs are not blobs and not "tokens".
_SPACELESS = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
                        "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_STRIP = "\"'([{<“‘«„≥≤~±*•·.,;:!?)]}>”’»%†‡§"
_WORDLIKE = re.compile(r"[^\W_](?:[\w'’./+=<>×·\-–]*[^\W_])?")


@dataclass(frozen=True, slots=True)
class TextStats:
    """What the "is this text?" limits look at."""

    chars: int
    visible: int  # not whitespace
    letters: int
    undecodable: int  # U+FFFD
    control: int
    blob: int  # visible characters in whitespace-free runs over BLOB_RUN characters
    tokens: int  # whitespace-separated runs, outside scripts written without spaces
    wordlike: int  # tokens that are a word, a number, a symbol like CD40LG or IL-2, after punctuation

    def refusal(self) -> str | None:
        """Why this is not text, in a few words, or None when it passes."""
        def pct(n: int, d: int) -> str:
            return f"{100 * n / d:.0f}%"

        if not self.chars:
            return None
        if self.undecodable > MAX_UNDECODABLE * self.chars:
            return f"{pct(self.undecodable, self.chars)} of its characters are undecodable bytes (U+FFFD)"
        if self.control > MAX_CONTROL * self.chars:
            return f"{pct(self.control, self.chars)} of its characters are control characters"
        if self.visible < MIN_MEASURED:
            return None
        if self.letters < MIN_LETTERS * self.visible:
            return f"only {pct(self.letters, self.visible)} of its characters are letters"
        if self.blob > MAX_BLOB * self.visible:
            return (f"{pct(self.blob, self.visible)} of it is runs of over {BLOB_RUN} characters without a space "
                    "(encoded data such as base64 or hex?)")
        if self.tokens >= 8 and self.wordlike < MIN_WORDLIKE * self.tokens:
            return f"only {pct(self.wordlike, self.tokens)} of its tokens look like words"
        return None


def text_stats(text: str) -> TextStats:
    blob = tokens = wordlike = 0
    for token in text.split():
        if _SPACELESS.search(token):
            continue
        tokens += 1
        if len(token) > BLOB_RUN:
            blob += len(token)
        if _WORDLIKE.fullmatch(token.strip(_STRIP)):
            wordlike += 1
    return TextStats(chars=len(text), visible=len(text) - sum(map(str.isspace, text)),
                     letters=sum(map(str.isalpha, text)), undecodable=text.count("\ufffd"),
                     control=len(_CONTROL.findall(text)), blob=blob, tokens=tokens, wordlike=wordlike)


def refusal(text: str) -> str | None:
    """Why ``text`` is refused as "not text", or None."""
    reason = text_stats(text).refusal()
    return f"does not look like text: {reason}" if reason else None


def blank_controls(text: str) -> str:
    """Control characters, zero-width spaces and BOMs as spaces, one for one (offsets unchanged).

    Below the refusal limit they are stray, but spaCy keeps them inside tokens: "rituximab\\x00"
    is no drug and "CD40LG\\x01" a gene with a control character in its text.
    """
    return _BLANKED.sub(" ", text) if _BLANKED.search(text) else text


def decode_text(raw: bytes) -> tuple[str, str | None]:
    """Bytes of a text file as text, and a note when they were not plain UTF-8.

    UTF-8 (with or without BOM) and BOM-marked UTF-16 decode as such. Other bytes: a few stray
    invalid bytes (<= 1% of the characters) become U+FFFD; more, and the file is read as
    Windows-1252 (a legacy French or German file) when that reads as text; otherwise the
    replaced UTF-8 is returned and the text check refuses it for its undecodable bytes.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "decoded as UTF-16 (byte order mark)"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    text = raw.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad <= 0.01 * len(text):
        return text, f"not valid UTF-8: {bad} undecodable byte sequence(s) replaced by U+FFFD"
    legacy = raw.decode("cp1252", errors="replace")
    if refusal(legacy) is None:
        return legacy, "not valid UTF-8: read as Windows-1252"
    return text, None


# --- language --------------------------------------------------------------------------------

# The commonest function words of each language (from frequency lists of the language's
# biomedical and general prose). A text's language is the one whose words it uses most; these
# words are near half of any running text in its language and rare in the others'.
STOPWORDS: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in {
    "en": "the of and in to a with was is for that by on as were at from this be are or an had which after "
          "his her not but it has have been we who their its than these there into during also our both",
    "fr": "le la les de des du un une et est en dans pour par sur avec au aux que qui pas ne il elle ont été "
          "ce cette ces son sa ses nous plus après chez sont d l à ou mais lors était ans deux entre leur",
    "de": "der die das und ist im in mit von den dem des ein eine einer eines einem zu auf für nicht bei "
          "wurde wurden als auch sich nach wir er sie es aus durch zur zum über werden oder hatte nach",
    "es": "el la los las de del y en un una con por para que se es al fue no su sus como más lo pero entre "
          "desde sin tras años fueron ha han este esta estos",
    "it": "il lo la le gli di del della dei delle e è in un una con per che non si al alla nel nella sono "
          "stato stata dopo anche come più tra da dal dalla anni questo",
    "pt": "o a os as de do da dos das e em no na nos nas um uma com por para que não se foi ao à pelo pela "
          "seu sua mais como após entre anos foram",
    "nl": "de het een en van in is op met te dat die voor zijn werd niet bij aan door als er ook om naar uit "
          "tot wordt of hij zij we na worden",
    "ru": "и в не на с что по у к из о для от был была было были это как а но при после или его её их",
    "ar": "في من على إلى أن عن مع هذا هذه التي الذي كان بين بعد أو قد لا ما",
}.items()}
LANGUAGE_NAMES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian",
                  "pt": "Portuguese", "nl": "Dutch", "ru": "Russian", "ar": "Arabic", "zh": "Chinese",
                  "ja": "Japanese", "ko": "Korean", "el": "Greek", "he": "Hebrew", "th": "Thai"}
_WORD = re.compile(r"[^\W\d_]+")
_SCRIPTS: dict[str, re.Pattern[str]] = {
    "han": re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "kana": re.compile("[\u3040-\u30ff]"),
    "hangul": re.compile("[\uac00-\ud7af\u1100-\u11ff]"),
    "cyrillic": re.compile("[\u0400-\u04ff]"),
    "greek": re.compile("[\u0370-\u03ff]"),
    "arabic": re.compile("[\u0600-\u06ff]"),
    "hebrew": re.compile("[\u0590-\u05ff]"),
    "thai": re.compile("[\u0e00-\u0e7f]"),
    "devanagari": re.compile("[\u0900-\u097f]"),
}
MIN_STOPWORDS = 2  # stop words of the winning language, at least
MIN_SHARE = 0.08  # ... and at least this share of the words (English prose ~0.4, English titles 0.1-0.3)
MIN_LEAD = 1.25  # ... and this many times the runner-up's
WARN_UNDETERMINED = 100  # letters: below this an undecidable language ("und") is no warning (a bare title)
ENGLISH_ONLY = ("extraction is English-only, so only entities with a lexicon id (genes, drugs, immune defects) "
                "are kept and patients may be missing")


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or "und" when undecidable.

    Scripts decide Chinese, Japanese, Korean, Greek, Hebrew and Thai (Greek letters in an English
    text, "IFN-γ", are far too few to outweigh its Latin ones); stop-word profiles decide between
    English, French, German, Spanish, Italian, Portuguese, Dutch (Latin script), Russian
    (Cyrillic) and Arabic (Arabic script). No model and no dependency: a handful of languages is
    what PubMed abstracts not in English are written in, and this is only for a warning.
    """
    counts = {name: len(rx.findall(text)) for name, rx in _SCRIPTS.items()}
    letters = sum(map(str.isalpha, text))
    script, top = max(counts.items(), key=lambda kv: kv[1])
    if top > letters - sum(counts.values()):  # a non-Latin script outweighs the Latin letters
        if script in ("han", "kana"):
            return "ja" if counts["kana"] >= 0.1 * (counts["han"] + counts["kana"]) else "zh"
        fixed = {"hangul": "ko", "greek": "el", "hebrew": "he", "thai": "th"}
        if script in fixed:
            return fixed[script]
        candidates = {"cyrillic": ("ru",), "arabic": ("ar",)}.get(script, ())
    else:
        candidates = ("en", "fr", "de", "es", "it", "pt", "nl")
    if not candidates:
        return "und"
    words = _WORD.findall(text.lower())
    hits = sorted(((sum(w in STOPWORDS[lang] for w in words), lang == "en", lang) for lang in candidates),
                  reverse=True)
    best, second = hits[0][0], hits[1][0] if len(hits) > 1 else 0
    if best >= MIN_STOPWORDS and best >= MIN_SHARE * len(words) and best >= MIN_LEAD * second:
        return hits[0][2]
    return "und"


def language_warning(language: str, text: str) -> str | None:
    """The warning a non-English (or, for enough text, undecidable) language deserves."""
    if language == "en":
        return None
    if language == "und":
        if sum(map(str.isalpha, text)) < WARN_UNDETERMINED:
            return None
        return f"language not recognised as English: {ENGLISH_ONLY}"
    return f"text is in {LANGUAGE_NAMES.get(language, language)} ({language}), not English: {ENGLISH_ONLY}"


# --- length ----------------------------------------------------------------------------------

def truncate(text: str, limit: int) -> tuple[str, str | None]:
    """The prefix of ``text`` that is read, and a warning naming the limit and what was dropped.

    The cut falls on the last line break within the limit if that is in its last tenth, else on
    the last space, so no word is cut in two. A prefix: offsets into it are offsets into the text.
    """
    if len(text) <= limit:
        return text, None
    cut = text.rfind("\n", 0, limit + 1)
    if cut < 0.9 * limit:
        cut = max(text.rfind(" ", 0, limit + 1), text.rfind("\n", 0, limit + 1))
    if cut < 0.9 * limit:
        cut = limit
    dropped = len(text) - cut
    return text[:cut], (f"text truncated at the extraction limit of {limit:,} characters: the first {cut:,} of "
                        f"{len(text):,} characters were read, {dropped:,} ({100 * dropped / len(text):.0f}%) "
                        "were not")


# --- together --------------------------------------------------------------------------------

REFUSED = "not extracted: "  # the warning of a refused text starts with this


@dataclass(frozen=True, slots=True)
class CheckedText:
    """What the extractor does with one article's text."""

    text: str | None  # what spaCy reads: a prefix of the article text, controls blanked; None = refused
    language: str
    warnings: tuple[str, ...]
    english: bool = True  # False: a language warning was given, keep only normalised entities


def check_text(text: str, limit: int) -> CheckedText:
    """Truncate to ``limit``, refuse junk, detect the language; the order keeps every step bounded."""
    read, truncated = truncate(text, limit)
    why = refusal(read)
    if why:
        return CheckedText(None, "und", (REFUSED + why,), english=False)
    language = detect_language(read)
    foreign = language_warning(language, read)
    warnings = tuple(w for w in (truncated, foreign) if w)
    return CheckedText(blank_controls(read), language, warnings, english=foreign is None)


def refused(warnings: list[str] | tuple[str, ...]) -> str | None:
    """The refusal among an extraction's warnings (why its text was not extracted), or None."""
    return next((w.removeprefix(REFUSED) for w in warnings if w.startswith(REFUSED)), None)
